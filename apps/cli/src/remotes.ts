import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { AdapterSources, Config, ReadableRemote } from "@mlv/core";
import { forEachRemote, openRemote, type TrackedOut } from "@mlv/core/internal";

let importer = (name: string): Promise<unknown> => import(name);

/** How adapter packages are imported: the bin passes its own `import()` (see bin.ts). */
export function setPackageImporter(importPackage: (name: string) => Promise<unknown>): void {
  importer = importPackage;
}

/** `import()` of an ES module by name or file URL, through the bin's own `import()`. */
export function importModule(specifier: string): Promise<unknown> {
  return importer(specifier);
}

/**
 * Where package `name` would be imported from by a module in `dir` (through `dir`'s node_modules
 * and its parents'), as a file URL; undefined when it is not installed there. Resolved as an ES
 * module import is, so a package exporting only an "import" condition is found too.
 */
export async function findPackage(name: string, dir: string): Promise<string | undefined> {
  // Loaded on the first adapter lookup only: commands that never open a remote do not pay for it.
  const { resolve } = await import("import-meta-resolve");
  try {
    return resolve(name, pathToFileURL(join(dir, "noop.js")).href);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ERR_MODULE_NOT_FOUND") return undefined;
    throw err;
  }
}

/**
 * An adapter package, from the project's own node_modules first (the repository's folder, then the
 * working directory's), so that `npm install -D @mlv/remote-s3` in a project serves a global
 * `mlv`; then from the CLI's own dependencies and, for a global install, the packages installed
 * globally beside it.
 */
export async function importAdapterPackage(name: string, projectDir?: string): Promise<unknown> {
  for (const dir of new Set([projectDir, process.cwd()])) {
    const url = dir === undefined ? undefined : await findPackage(name, dir);
    if (url) return importer(url);
  }
  return importer(name);
}

/**
 * Where the CLI's remotes come from: packages by URL scheme (core's table of first-party ones,
 * then `@mlv/remote-<scheme>`, `mlv-remote-<scheme>`), none of them a dependency of the CLI, so
 * that an install carries no cloud SDK it does not use. The local adapter is part of the bundle:
 * it is small and shares the bundle's copy of @mlv/core, where loading the package would load a
 * second copy (about 50 ms).
 */
export const ADAPTERS: AdapterSources = {
  builtins: { local: () => import("@mlv/remote-local") },
  importPackage: importAdapterPackage,
};

export function connect(config: Config, name: string | undefined) {
  return openRemote(config, name, ADAPTERS);
}

/** `forEachRemote` with the CLI's adapters: once per remote the outputs go to. */
export function perRemote<T>(
  config: Config,
  outs: TrackedOut[],
  explicit: string | undefined,
  fn: (remote: ReadableRemote, outs: TrackedOut[], name: string) => Promise<T>,
): Promise<T[]> {
  return forEachRemote(config, outs, explicit, ADAPTERS, fn);
}
