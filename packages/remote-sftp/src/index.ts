/**
 * `@mlv/remote-sftp`: DVC's `ssh://` (and `sftp://`) remotes, over SFTP with ssh2.
 *
 * `ssh://[user@]host[:port]/absolute/path`, with DVC's ssh options (spec §5.3). The connection
 * follows `~/.ssh/config`, checks the host key against known_hosts, and logs in with the keyfile,
 * the SSH agent, the default identities or a password. Nothing is read and ssh2 is not loaded
 * until a method is called.
 */
import type { Remote, RemoteAdapter, RemoteConfig } from "@mlv/core";
import { SftpRemote } from "./remote.js";
import { OPTIONS, parseSettings, SECRET_OPTIONS } from "./settings.js";

export {
  entryMatches,
  knownHostsName,
  parseKnownHosts,
  preferredHostKeyAlgorithms,
  verifyHostKey,
} from "./known-hosts.js";
export { SftpRemote } from "./remote.js";
export { OPS_PER_SESSION, parseSettings, redactUrl, remotePath, type SftpSettings } from "./settings.js";
export { lookupHost, type SshHostConfig, splitLine } from "./ssh-config.js";
export { HostKeyError, resolveTarget, type Target } from "./target.js";

const adapter: RemoteAdapter = {
  name: "ssh",
  schemes: ["ssh", "sftp"],
  options: OPTIONS,
  secretOptions: SECRET_OPTIONS,
  create(config: RemoteConfig): Remote {
    return new SftpRemote(parseSettings(config.name, config.url, config.options));
  },
};

export default adapter;
