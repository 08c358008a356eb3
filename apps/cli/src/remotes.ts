import {
  type AdapterSources,
  type Config,
  DEFAULT_ADAPTER_PACKAGES,
  forEachRemote,
  openRemote,
  type ReadableRemote,
  type TrackedOut,
} from "@mlv/core";

/**
 * Adapter packages by URL scheme (core's table of first-party packages), imported from here only
 * when a command talks to such a remote. Schemes not listed are looked up by convention
 * (`@mlv/remote-<scheme>`, `mlv-remote-<scheme>`).
 */
const BUILTINS: Readonly<Record<string, string>> = DEFAULT_ADAPTER_PACKAGES;

let importer = (name: string): Promise<unknown> => import(name);

/** How adapter packages are imported: the bin passes its own `import()` (see bin.ts). */
export function setPackageImporter(importPackage: (name: string) => Promise<unknown>): void {
  importer = importPackage;
}

const importPackage = (name: string): Promise<unknown> => importer(name);

/**
 * Where the CLI's remotes come from: its own dependencies first, then packages by naming convention.
 * The local adapter is part of the bundle: it is small and shares the bundle's copy of @mlv/core,
 * where loading the package would load a second copy (about 50 ms).
 */
export const ADAPTERS: AdapterSources = {
  builtins: {
    ...Object.fromEntries(Object.entries(BUILTINS).map(([scheme, pkg]) => [scheme, () => importPackage(pkg)])),
    local: () => import("@mlv/remote-local"),
  },
  importPackage,
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
