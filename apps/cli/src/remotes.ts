import { type Config, openRemote } from "@mlv/core";

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
