import { type Config, openRemote, type Remote, type TrackedOut } from "@mlv/core";

/**
 * Adapter packages by URL scheme, imported only when a command talks to such a remote. Schemes
 * not listed here are looked up by convention (`@mlv/remote-<scheme>`, `mlv-remote-<scheme>`).
 */
const BUILTINS: Record<string, string> = {
  local: "@mlv/remote-local",
  s3: "@mlv/remote-s3",
  gs: "@mlv/remote-gcs",
  azure: "@mlv/remote-azure",
  ssh: "@mlv/remote-sftp",
  sftp: "@mlv/remote-sftp",
};

const importPackage = (name: string): Promise<unknown> => import(name);

export function connect(config: Config, name: string | undefined) {
  const builtins = Object.fromEntries(
    Object.entries(BUILTINS).map(([scheme, pkg]) => [scheme, () => importPackage(pkg)]),
  );
  return openRemote(config, name, {
    builtins,
    importPackage,
  });
}

/**
 * Run `fn` once per remote the outputs go to: an output's own `remote:` key picks its remote
 * (spec §4.2), the others use the default; `-r NAME` sends everything to NAME.
 */
export async function perRemote<T>(
  config: Config,
  outs: TrackedOut[],
  explicit: string | undefined,
  fn: (remote: Remote, outs: TrackedOut[], name: string) => Promise<T>,
): Promise<T[]> {
  const groups = new Map<string | undefined, TrackedOut[]>();
  for (const out of outs) {
    const own = out.out.raw?.remote;
    const key = explicit ?? (typeof own === "string" ? own.toLowerCase() : undefined);
    groups.set(key, [...(groups.get(key) ?? []), out]);
  }
  if (groups.size === 0) groups.set(explicit, []);
  const results: T[] = [];
  for (const [name, group] of groups) {
    const { remote, name: resolved } = await connect(config, name);
    try {
      results.push(await fn(remote, group, resolved));
    } finally {
      await remote.close?.();
    }
  }
  return results;
}
