/**
 * The remote a program names when it reads a revision: a remote of that revision's config, a URL
 * or local path of its own, or settings laid over the revision's (`remoteConfig`). An old commit's
 * `.dvc/config` often has no remote, or one that has since moved; the data is read all the same.
 */
import { dirname, isAbsolute, resolve } from "node:path";
import { type AdapterSources, createRemote } from "../adapters.js";
import type { Config } from "../config.js";
import { ConfigError, NoDefaultRemoteError, RemoteNotFoundError, UsageError } from "../errors.js";
import type { ReadableRemote, RemoteConfig } from "../remote.js";

export interface RemoteChoice {
  /**
   * The remote to read from when the cache lacks the data: a remote's name in the revision's config,
   * or a URL (`s3://bucket/store`) or local path (absolute, or `./`/`../` from the repository root)
   * used as is. Default the revision's default remote.
   */
  remote?: string;
  /**
   * Settings of that remote laid over what the revision's config says (`{ url: "s3://…", region:
   * "eu-west-1" }`, keys as in `.dvc/config`); with `url`, a remote the revision does not have at all.
   */
  remoteConfig?: Readonly<Record<string, string>>;
}

/** The name a remote given only by URL or `remoteConfig` goes by in messages. */
const UNNAMED = "(given)";

/** A URL or a local path rather than a remote's name. */
export function isRemoteLocation(remote: string): boolean {
  return (
    /^[a-z][a-z0-9+.-]*:\/\//i.test(remote) ||
    isAbsolute(remote) ||
    /^[a-z]:[\\/]/i.test(remote) ||
    /^\.\.?([\\/]|$)/.test(remote) ||
    remote === "~" ||
    /^~[\\/]/.test(remote)
  );
}

/** A relative local path from `base`; URLs and absolute paths as they are. */
function locate(url: string, base: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url) || isAbsolute(url) || /^[a-z]:[\\/]/i.test(url) || url.startsWith("~"))
    return url;
  return resolve(base, url);
}

function checkSettings(settings: Readonly<Record<string, unknown>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(settings)) {
    if (typeof value !== "string")
      throw new UsageError(`remoteConfig.${key} must be a string (as in .dvc/config), got ${typeof value}`, { key });
    out[key.toLowerCase()] = value;
  }
  return out;
}

/**
 * The settings of the remote `choice` names against `config` (a revision's configuration); `base`
 * is where relative local paths given by the program start (the repository root). Throws
 * NoDefaultRemoteError when nothing names a remote.
 */
export function chosenRemote(config: Config, choice: RemoteChoice, base: string): RemoteConfig {
  const given = choice.remote;
  const overrides = choice.remoteConfig === undefined ? undefined : checkSettings(choice.remoteConfig);
  if (given !== undefined && isRemoteLocation(given)) {
    if (overrides?.url !== undefined)
      throw new UsageError(
        `the remote's URL is given twice ('${given}' and remoteConfig.url '${overrides.url}'): give it once`,
        { remote: given },
      );
    return { name: UNNAMED, url: locate(given, base), options: overrides ?? {} };
  }
  const name = given?.toLowerCase() ?? config.defaultRemote();
  if (overrides === undefined) {
    if (name === undefined) throw new NoDefaultRemoteError();
    return config.remote(name);
  }
  let stored: RemoteConfig | undefined;
  if (name !== undefined) {
    try {
      stored = config.remote(name);
    } catch (err) {
      if (!(err instanceof RemoteNotFoundError && overrides.url !== undefined)) throw err;
    }
  }
  const { url, ...options } = overrides;
  const resolved = url === undefined ? stored?.url : locate(url, base);
  if (resolved === undefined)
    throw new ConfigError(
      `remoteConfig has no 'url', and the revision read has ${name === undefined ? "no default remote" : `no remote '${name}'`} to take it from: give remoteConfig.url`,
      { name },
    );
  return { name: name ?? UNNAMED, url: resolved, options: { ...stored?.options, ...options } };
}

/** Open the remote `choice` names (see `chosenRemote`), its adapter created (no I/O yet). */
export async function openChosenRemote(
  config: Config,
  choice: RemoteChoice,
  base: string,
  adapters?: AdapterSources,
): Promise<{ name: string; remote: ReadableRemote }> {
  return createRemote(chosenRemote(config, choice, base), adapters, config.dvcDir ? dirname(config.dvcDir) : base);
}
