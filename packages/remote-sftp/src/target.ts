/**
 * Where and as whom to connect, and the error for an untrusted host key: the part of connecting
 * that the package exports. Kept apart from connect.ts so that the published types never mention
 * ssh2's, which users need not install.
 */
import { homedir } from "node:os";
import { join } from "node:path";
import { RemoteError } from "@mlv/core";
import { knownHostsName } from "./known-hosts.js";
import { DEFAULT_TIMEOUT_S, type SftpSettings } from "./settings.js";
import { expandPath, localUser, lookupHost } from "./ssh-config.js";

/** Where and as whom to connect, once ~/.ssh/config has been applied. */
export interface Target {
  host: string;
  port: number;
  user: string;
  /** `user@host:port`, for messages. */
  label: string;
  /** The name looked up in known_hosts (`host` or `[host]:port`, or the HostKeyAlias). */
  knownHostsName: string;
  knownHostsFiles: string[];
  /** Private keys to try, in order; `explicit` ones must exist. */
  identities: { path: string; explicit: boolean }[];
  /** The agent socket, when the agent may be used. */
  agent?: string;
  timeoutMs: number;
}

export function resolveTarget(settings: SftpSettings, env: NodeJS.ProcessEnv = process.env): Target {
  const cfg = lookupHost(settings.host, settings.user === undefined ? {} : { user: settings.user });
  const host = cfg.hostName ?? settings.host;
  const port = settings.port ?? cfg.port ?? 22;
  const user = settings.user ?? cfg.user ?? localUser();
  const tokens = { host, user, port };
  const home = homedir();

  const identities: Target["identities"] = [];
  if (settings.keyfile !== undefined) identities.push({ path: expandPath(settings.keyfile, tokens), explicit: true });
  for (const f of cfg.identityFiles) identities.push({ path: expandPath(f, tokens), explicit: false });
  if (identities.length === 0)
    for (const name of ["id_ed25519", "id_ecdsa", "id_rsa"])
      identities.push({ path: join(home, ".ssh", name), explicit: false });

  let agent: string | undefined;
  if (settings.allowAgent && cfg.identitiesOnly !== true) {
    const a = cfg.identityAgent;
    if (a === undefined || a === "SSH_AUTH_SOCK") agent = env.SSH_AUTH_SOCK || undefined;
    else if (a.toLowerCase() !== "none") agent = a.startsWith("$") ? env[a.slice(1)] : expandPath(a, tokens);
  }

  const userKnown = cfg.userKnownHostsFiles ?? ["~/.ssh/known_hosts", "~/.ssh/known_hosts2"];
  const globalKnown = cfg.globalKnownHostsFiles ?? ["/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"];
  const knownHostsFiles = [...userKnown, ...globalKnown]
    .filter((f) => f.toLowerCase() !== "none")
    .map((f) => expandPath(f, tokens));

  const target: Target = {
    host,
    port,
    user,
    label: `${user}@${host}${port === 22 ? "" : `:${port}`}`,
    knownHostsName: knownHostsName(cfg.hostKeyAlias ?? host, port),
    knownHostsFiles,
    identities,
    timeoutMs:
      settings.timeoutMs ?? (cfg.connectTimeoutS === undefined ? DEFAULT_TIMEOUT_S * 1000 : cfg.connectTimeoutS * 1000),
  };
  if (agent !== undefined) target.agent = agent;
  return target;
}

/** The host key was not trusted: never transient, the message says how to add or replace it. */
export class HostKeyError extends RemoteError {
  constructor(remote: string, message: string, data: Record<string, unknown>, hint?: string) {
    super("EHOSTKEY", `remote ${remote}: ${message}`, { data: { remote, ...data }, hint });
  }
}
