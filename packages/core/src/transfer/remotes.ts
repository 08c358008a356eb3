import { type AdapterSources, openRemote } from "../adapters.js";
import type { Config } from "../config.js";
import type { TrackedOut } from "../data-index/types.js";
import { ReadOnlyRemoteError } from "../errors.js";
import { isWritable, type ReadableRemote, type Remote } from "../remote.js";

/**
 * Run `fn` once per remote the outputs go to: an output's own `remote:` key picks its remote
 * (spec §4.2), the others use the default; `explicit` (`-r NAME`) sends everything to one. With
 * no outputs, `fn` runs once for the default (or explicit) remote. Every remote is opened (no I/O)
 * before the first `fn` runs, so that a remote which cannot be used for `writeFor` (a read-only
 * one for push) stops the command before anything is transferred; all are closed at the end.
 */
export async function forEachRemote<T>(
  config: Config,
  outs: readonly TrackedOut[],
  explicit: string | undefined,
  sources: AdapterSources,
  fn: (remote: ReadableRemote, outs: TrackedOut[], name: string) => Promise<T>,
): Promise<T[]>;
export async function forEachRemote<T>(
  config: Config,
  outs: readonly TrackedOut[],
  explicit: string | undefined,
  sources: AdapterSources,
  fn: (remote: Remote, outs: TrackedOut[], name: string) => Promise<T>,
  writeFor: string,
): Promise<T[]>;
export async function forEachRemote<T>(
  config: Config,
  outs: readonly TrackedOut[],
  explicit: string | undefined,
  sources: AdapterSources,
  fn: (remote: Remote, outs: TrackedOut[], name: string) => Promise<T>,
  writeFor?: string,
): Promise<T[]> {
  const chosen = explicit?.toLowerCase();
  const groups = new Map<string | undefined, TrackedOut[]>();
  for (const out of outs) {
    const own = out.out.raw?.remote;
    const key = chosen ?? (typeof own === "string" ? own.toLowerCase() : undefined);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [out]);
    else group.push(out);
  }
  if (groups.size === 0) groups.set(chosen, []);
  const opened: { remote: ReadableRemote; name: string; group: TrackedOut[] }[] = [];
  try {
    for (const [name, group] of groups) {
      const { remote, name: resolved } = await openRemote(config, name, sources);
      opened.push({ remote, name: resolved, group });
      if (writeFor !== undefined && !isWritable(remote))
        throw new ReadOnlyRemoteError(resolved, remote.displayUrl, writeFor);
    }
    const results: T[] = [];
    for (const { remote, group, name } of opened) results.push(await fn(remote as Remote, group, name));
    return results;
  } finally {
    for (const { remote } of opened) await remote.close?.();
  }
}
