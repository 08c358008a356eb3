import { type AdapterSources, openRemote } from "../adapters.js";
import type { Config } from "../config.js";
import type { TrackedOut } from "../data-index/types.js";
import type { Remote } from "../remote.js";

/**
 * Run `fn` once per remote the outputs go to, each remote opened, then closed: an output's own
 * `remote:` key picks its remote (spec §4.2), the others use the default; `explicit` (`-r NAME`)
 * sends everything to one. With no outputs, `fn` runs once for the default (or explicit) remote.
 */
export async function forEachRemote<T>(
  config: Config,
  outs: readonly TrackedOut[],
  explicit: string | undefined,
  sources: AdapterSources,
  fn: (remote: Remote, outs: TrackedOut[], name: string) => Promise<T>,
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
  const results: T[] = [];
  for (const [name, group] of groups) {
    const { remote, name: resolved } = await openRemote(config, name, sources);
    try {
      results.push(await fn(remote, group, resolved));
    } finally {
      await remote.close?.();
    }
  }
  return results;
}
