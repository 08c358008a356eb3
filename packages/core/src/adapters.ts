import { dirname, isAbsolute } from "node:path";
import type { Config } from "./config.js";
import { AdapterNotFoundError, MlvError, NoDefaultRemoteError } from "./errors.js";
import type { ReadableRemote, RemoteAdapter, RemoteConfig } from "./remote.js";

/** A way to load an adapter package: an import relative to whoever ships the built-ins. */
export type AdapterLoader = () => Promise<unknown>;

export interface AdapterSources {
  /** Adapters shipped with the application, by URL scheme ("local" for plain paths and file://). */
  builtins?: Record<string, AdapterLoader>;
  /**
   * Imports a package by name; defaults to a plain dynamic import (from where @mlv/core is
   * installed). `projectDir`, when known, is the repository whose remote is being opened: a host
   * installed elsewhere (a global CLI) looks in its node_modules first.
   */
  importPackage?: (name: string, projectDir?: string) => Promise<unknown>;
}

/** What an adapter is looked up for, to find it and to say what is missing. */
export interface AdapterContext {
  /** The remote whose URL has the scheme, named in the error when no adapter is installed. */
  remote?: string;
  /** The repository's folder, passed on to `importPackage`. */
  projectDir?: string;
}

/**
 * The first-party adapter package of each URL scheme whose package name is not simply
 * `@mlv/remote-<scheme>` (or that several schemes share). Not a closed list: a scheme missing here
 * is looked up by convention (`@mlv/remote-<scheme>`, then `mlv-remote-<scheme>`).
 */
export const DEFAULT_ADAPTER_PACKAGES: Readonly<Record<string, string>> = Object.freeze({
  local: "@mlv/remote-local",
  s3: "@mlv/remote-s3",
  gs: "@mlv/remote-gcs",
  azure: "@mlv/remote-azure",
  ssh: "@mlv/remote-sftp",
  sftp: "@mlv/remote-sftp",
  http: "@mlv/remote-http",
  https: "@mlv/remote-http",
});

/** The scheme of a remote URL; plain paths and `file://` are "local". */
export function urlScheme(url: string): string {
  const m = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url);
  if (!m || isAbsolute(url) || /^[a-z]:[\\/]/i.test(url)) return "local";
  const scheme = m[1]!.toLowerCase();
  return scheme === "file" ? "local" : scheme;
}

function isAdapter(value: unknown): value is RemoteAdapter {
  const v = value as RemoteAdapter | undefined;
  return !!v && typeof v.create === "function" && Array.isArray(v.schemes);
}

function adapterOf(mod: unknown): RemoteAdapter | undefined {
  const m = mod as { default?: unknown } | undefined;
  if (isAdapter(m?.default)) return m.default;
  if (isAdapter(m)) return m;
  return undefined;
}

/**
 * Find the adapter for a scheme: the built-ins first, then the first-party package of the scheme
 * (`DEFAULT_ADAPTER_PACKAGES`), then an installed `@mlv/remote-<scheme>` or `mlv-remote-<scheme>`,
 * so a third-party package adds a scheme without any change here.
 */
export async function resolveAdapter(
  scheme: string,
  sources: AdapterSources = {},
  context: AdapterContext = {},
): Promise<RemoteAdapter> {
  const builtin = sources.builtins?.[scheme];
  if (builtin) {
    const adapter = adapterOf(await builtin());
    if (adapter) return adapter;
  }
  const firstParty = Object.hasOwn(DEFAULT_ADAPTER_PACKAGES, scheme) ? DEFAULT_ADAPTER_PACKAGES[scheme] : undefined;
  const candidates = [...new Set([firstParty, `@mlv/remote-${scheme}`, `mlv-remote-${scheme}`])].filter(
    (n): n is string => n !== undefined,
  );
  const importPackage = sources.importPackage ?? ((name: string) => import(name));
  for (const name of candidates) {
    let mod: unknown;
    try {
      mod = await importPackage(name, context.projectDir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // The package itself is missing: try the next name. A package of its own that is missing is a
      // broken install, reported below with the name of what is missing.
      const missing = code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND";
      if (missing && (err as Error).message.includes(`'${name}'`)) continue;
      throw new MlvError("EADAPTER", `the storage adapter '${name}' failed to load: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const adapter = adapterOf(mod);
    if (!adapter)
      throw new MlvError(
        "EADAPTER",
        `'${name}' is installed but does not export an mlv storage adapter as its default export`,
      );
    return adapter;
  }
  // A first-party scheme has one package to install; another scheme, the names it may go by.
  throw new AdapterNotFoundError(scheme, firstParty ? [firstParty] : candidates, context.remote);
}

/** The remote named `name`, or the default remote, with its adapter created (no I/O yet). */
export async function openRemote(
  config: Config,
  name: string | undefined,
  sources: AdapterSources = {},
): Promise<{ name: string; remote: ReadableRemote; config: RemoteConfig }> {
  const remoteName = name ?? config.defaultRemote();
  if (!remoteName) throw new NoDefaultRemoteError();
  return createRemote(config.remote(remoteName), sources, config.dvcDir ? dirname(config.dvcDir) : undefined);
}

/**
 * A remote from its resolved settings (a config's section, or one a program builds), its adapter
 * created (no I/O yet); `projectDir` is where adapters installed in the project are looked for.
 */
export async function createRemote(
  remoteConfig: RemoteConfig,
  sources: AdapterSources = {},
  projectDir?: string,
): Promise<{ name: string; remote: ReadableRemote; config: RemoteConfig }> {
  for (const flag of ["version_aware", "worktree"]) {
    if (String(remoteConfig.options[flag] ?? "").toLowerCase() === "true")
      throw new MlvError(
        "EUNSUPPORTED",
        `remote '${remoteConfig.name}' sets '${flag} = true': mlv supports content-addressed remotes only; use DVC for version-aware remotes`,
      );
  }
  const adapter = await resolveAdapter(urlScheme(remoteConfig.url), sources, {
    remote: remoteConfig.name,
    ...(projectDir ? { projectDir } : {}),
  });
  return { name: remoteConfig.name, remote: await adapter.create(remoteConfig), config: remoteConfig };
}
