/**
 * Opening an SSH connection the way OpenSSH would: `~/.ssh/config` for the host, user, port and
 * identities; the host key checked against known_hosts; keys, the agent and passwords tried in
 * order. ssh2 itself is imported here, on the first connection, never when the package loads.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import type { Socket } from "node:net";
import { homedir } from "node:os";
import { join } from "node:path";
import {
  askSecret,
  ConfigError,
  isNetworkErrorCode,
  PermissionDeniedError,
  RemoteError,
  RemoteUnreachableError,
} from "@mlv/core";
import type { AnyAuthMethod, AuthenticationType, Client, ConnectConfig, ParsedKey } from "ssh2";
import {
  type HostKeyVerdict,
  knownHostsName,
  preferredHostKeyAlgorithms,
  readKnownHosts,
  verifyHostKey,
} from "./known-hosts.js";
import { DEFAULT_TIMEOUT_S, type SftpSettings } from "./settings.js";
import { expandPath, localUser, lookupHost } from "./ssh-config.js";

type Ssh2 = typeof import("ssh2");
let ssh2Promise: Promise<Ssh2> | undefined;

/** ssh2, loaded once, on the first connection. */
export function loadSsh2(): Promise<Ssh2> {
  ssh2Promise ??= import("ssh2").then((m) => ((m as { default?: Ssh2 }).default ?? m) as Ssh2);
  return ssh2Promise;
}

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
  constructor(remote: string, message: string, data: Record<string, unknown>) {
    super("EHOSTKEY", `remote ${remote}: ${message}`, { data: { remote, ...data } });
  }
}

function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

function hostKeyError(remote: string, target: Target, verdict: HostKeyVerdict, blob: Buffer): HostKeyError {
  const fp = fingerprint(blob);
  const scan = `ssh-keyscan ${target.port === 22 ? "" : `-p ${target.port} `}${target.host} >> ~/.ssh/known_hosts`;
  const connectOnce = `ssh ${target.port === 22 ? "" : `-p ${target.port} `}${target.user}@${target.host}`;
  const data = { host: target.host, port: target.port, fingerprint: fp };
  if (verdict.status === "unknown") {
    return new HostKeyError(
      remote,
      `the host key of ${target.knownHostsName} is not known (it is in none of ${target.knownHostsFiles.join(", ")}), so the server cannot be trusted. ` +
        `Check that its fingerprint is ${fp}, then add it: '${scan}', or connect once with '${connectOnce}' and answer yes`,
      data,
    );
  }
  if (verdict.status === "revoked") {
    return new HostKeyError(
      remote,
      `the host key of ${target.knownHostsName} (${fp}) is marked @revoked in ${verdict.entry.file}:${verdict.entry.line}: refusing to connect`,
      data,
    );
  }
  if (verdict.status === "changed") {
    const where = verdict.entries.map((e) => `${e.file}:${e.line}`).join(", ");
    return new HostKeyError(
      remote,
      `the host key of ${target.knownHostsName} has CHANGED: the server sent ${fp}, which differs from the key in ${where}. ` +
        `Someone could be intercepting the connection, or the server was reinstalled. If you are sure the new key is right, ` +
        `remove the old one with 'ssh-keygen -R "${target.knownHostsName}"' and add the new one: '${scan}'`,
      data,
    );
  }
  return new HostKeyError(remote, `the host key of ${target.knownHostsName} was refused`, data);
}

interface Attempt {
  /** What is tried, for the error message ("publickey /home/u/.ssh/id_ed25519", "password"). */
  what: string;
  /** ssh2's name of the method, to skip methods the server does not offer. */
  kind: AuthenticationType;
  make: () => Promise<AnyAuthMethod | undefined>;
}

/** A connected, authenticated client; throws mapped MlvErrors. */
export async function connect(settings: SftpSettings, target: Target, remote: string): Promise<Client> {
  const ssh2 = await loadSsh2();
  const known = readKnownHosts(target.knownHostsFiles);
  let hostKeyProblem: HostKeyError | undefined;
  let fatal: unknown;
  const tried: string[] = [];
  const skipped: string[] = [];

  const attempts: Attempt[] = [];
  const keyAttempt = (path: string, explicit: boolean): Attempt => ({
    what: `publickey ${path}`,
    kind: "publickey",
    make: async () => {
      let data: Buffer;
      try {
        data = readFileSync(path);
      } catch (err) {
        if (explicit) {
          throw new ConfigError(
            `remote '${settings.name}': keyfile '${path}' cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): check the 'keyfile' option`,
            { remote: settings.name, keyfile: path },
          );
        }
        return undefined;
      }
      let parsed = ssh2.utils.parseKey(data, settings.passphrase);
      if (parsed instanceof Error && /no passphrase/i.test(parsed.message)) {
        if (settings.askPassphrase) {
          const pass = await askSecret(settings.name, "passphrase", `Enter passphrase for key '${path}': `);
          parsed = ssh2.utils.parseKey(data, pass);
        } else if (explicit) {
          throw new ConfigError(
            `remote '${settings.name}': keyfile '${path}' is encrypted: set its passphrase with 'mlv remote modify --local ${settings.name} passphrase VALUE', or 'ask_passphrase true' to be asked`,
            { remote: settings.name, keyfile: path },
          );
        } else {
          skipped.push(`${path} (encrypted, no passphrase)`);
          return undefined;
        }
      }
      if (parsed instanceof Error) {
        if (explicit || settings.passphrase !== undefined)
          throw new ConfigError(
            `remote '${settings.name}': cannot use keyfile '${path}': ${/decrypt|passphrase|bad/i.test(parsed.message) ? "wrong passphrase" : parsed.message}`,
            { remote: settings.name, keyfile: path },
          );
        skipped.push(`${path} (${parsed.message})`);
        return undefined;
      }
      const key = (Array.isArray(parsed) ? parsed[0] : parsed) as ParsedKey;
      return { type: "publickey", username: target.user, key };
    },
  });
  const explicitKeys = target.identities.filter((i) => i.explicit || existsSync(i.path));
  for (const id of explicitKeys.filter((i) => i.explicit)) attempts.push(keyAttempt(id.path, true));
  if (target.agent !== undefined) {
    const agent = target.agent;
    attempts.push({
      what: "publickey via the SSH agent",
      kind: "publickey",
      make: async () => (existsSync(agent) ? { type: "agent", username: target.user, agent } : undefined),
    });
  }
  for (const id of explicitKeys.filter((i) => !i.explicit)) attempts.push(keyAttempt(id.path, false));
  if (settings.password !== undefined || settings.askPassword) {
    let password: Promise<string> | undefined;
    const getPassword = () => {
      password ??=
        settings.password !== undefined
          ? Promise.resolve(settings.password)
          : askSecret(settings.name, "password", `${target.label}'s password: `);
      return password;
    };
    attempts.push({
      what: "password",
      kind: "password",
      make: async () => ({ type: "password", username: target.user, password: await getPassword() }),
    });
    attempts.push({
      what: "keyboard-interactive",
      kind: "keyboard-interactive",
      make: async () => {
        const pw = await getPassword();
        return {
          type: "keyboard-interactive",
          username: target.user,
          prompt: (_n, _i, _l, prompts, finish) => finish(prompts.map(() => pw)),
        };
      },
    });
  }

  const authHandler = (
    methodsLeft: AuthenticationType[] | null,
    _partial: boolean | null,
    next: (m: unknown) => void,
  ) => {
    void (async () => {
      while (attempts.length > 0) {
        const a = attempts.shift()!;
        if (methodsLeft && !methodsLeft.includes(a.kind)) continue;
        let method: AnyAuthMethod | undefined;
        try {
          method = await a.make();
        } catch (err) {
          fatal = err;
          next(false);
          return;
        }
        if (method === undefined) continue;
        tried.push(a.what);
        next(method);
        return;
      }
      next(false);
    })();
  };

  const client = new ssh2.Client();
  const preferred = preferredHostKeyAlgorithms(known, target.knownHostsName);
  const config: ConnectConfig = {
    host: target.host,
    port: target.port,
    username: target.user,
    readyTimeout: target.timeoutMs,
    // A connection silent for about `timeout` is given up: its operations fail instead of waiting.
    keepaliveInterval: Math.max(1000, Math.min(15_000, Math.round((target.timeoutMs ?? 30_000) / 3))),
    keepaliveCountMax: 3,
    authHandler: authHandler as unknown as ConnectConfig["authHandler"],
    hostVerifier: (blob: Buffer) => {
      const verdict = verifyHostKey(known, target.knownHostsName, blob);
      if (verdict.status === "trusted") return true;
      hostKeyProblem = hostKeyError(settings.displayUrl, target, verdict, blob);
      return false;
    },
  };
  if (preferred.length > 0)
    config.algorithms = {
      serverHostKey: { remove: preferred, prepend: preferred } as unknown as NonNullable<
        ConnectConfig["algorithms"]
      >["serverHostKey"],
    };

  await new Promise<void>((resolve, reject) => {
    let settled = false;
    // Stays attached: ssh2 may emit more errors after the first (e.g. the socket closing after a timeout).
    client.on("error", (err: Error & { level?: string; code?: string }) => {
      if (settled) return;
      settled = true;
      client.end();
      reject(mapConnectError(err, { settings, target, remote, tried, skipped, hostKeyProblem, fatal }));
    });
    client.once("ready", () => {
      if (settled) return;
      settled = true;
      client.setNoDelay(true);
      resolve();
    });
    client.connect(config);
    // Small requests (open, close, rename, small writes) must not wait for Nagle's algorithm.
    client.setNoDelay(true);
    coalesceWrites(client);
  });
  return client;
}

/**
 * ssh2 writes every SSH packet to the socket on its own: one system call (and, without Nagle, one
 * TCP segment) each. Corking the socket until the end of the current tick sends the packets that
 * concurrent operations produce together in one writev instead.
 */
function coalesceWrites(client: Client): void {
  const sock = (client as unknown as { _sock?: Socket })._sock;
  if (!sock || typeof sock.cork !== "function") return;
  const write = sock.write;
  let corked = false;
  const uncork = () => {
    corked = false;
    sock.uncork();
  };
  sock.write = function (this: Socket, ...args: unknown[]) {
    if (!corked) {
      corked = true;
      sock.cork();
      process.nextTick(uncork);
    }
    return (write as (...a: unknown[]) => boolean).apply(this, args);
  } as Socket["write"];
}

interface ErrorContext {
  settings: SftpSettings;
  target: Target;
  remote: string;
  tried: string[];
  skipped: string[];
  hostKeyProblem: HostKeyError | undefined;
  fatal: unknown;
}

export function mapConnectError(err: Error & { level?: string; code?: string }, ctx: ErrorContext): Error {
  const { remote, target } = ctx;
  if (ctx.fatal) return ctx.fatal as Error;
  if (ctx.hostKeyProblem) return ctx.hostKeyProblem;
  if (err.level === "client-authentication") {
    const skipped = ctx.skipped.length > 0 ? `; skipped ${ctx.skipped.join(", ")}` : "";
    const tried = ctx.tried.length > 0 ? ctx.tried.join(", ") : "nothing (no key file, agent or password available)";
    return new PermissionDeniedError(
      remote,
      `authentication as ${target.label} failed; tried ${tried}${skipped}. Check the user and the 'keyfile' ` +
        `(mlv remote modify ${ctx.settings.name} keyfile PATH), that its public key is in the server's authorized_keys, or set a password`,
      err,
    );
  }
  if (err.level === "client-timeout")
    return new RemoteUnreachableError(
      remote,
      `no SSH handshake with ${target.host}:${target.port} within ${target.timeoutMs / 1000} s: check the host and port, or raise 'timeout'`,
      err,
    );
  if (err.level === "client-dns" || err.code === "ENOTFOUND" || err.code === "EAI_AGAIN")
    return new RemoteUnreachableError(remote, `cannot resolve host '${target.host}': check the URL's host name`, err);
  if (isNetworkErrorCode(err.code))
    return new RemoteUnreachableError(
      remote,
      `cannot connect to ${target.host}:${target.port} (${err.code}): check that an SSH server runs there and the host and port are right`,
      err,
    );
  return new RemoteError("ESSH", `remote ${remote}: SSH connection to ${target.label} failed: ${err.message}`, {
    cause: err,
    data: { remote },
    transient: err.level === "client-socket" || /closed|reset|timed out/i.test(err.message),
  });
}
