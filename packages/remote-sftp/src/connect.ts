/**
 * Opening an SSH connection the way OpenSSH would: `~/.ssh/config` for the host, user, port and
 * identities; the host key checked against known_hosts; keys, the agent and passwords tried in
 * order. ssh2 itself is imported here, on the first connection, never when the package loads.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import type { Socket } from "node:net";
import {
  askSecret,
  ConfigError,
  isNetworkErrorCode,
  PermissionDeniedError,
  RemoteError,
  RemoteUnreachableError,
} from "@mlv/core";
import type { AnyAuthMethod, AuthenticationType, Client, ConnectConfig, ParsedKey } from "ssh2";
import { type HostKeyVerdict, preferredHostKeyAlgorithms, readKnownHosts, verifyHostKey } from "./known-hosts.js";
import type { SftpSettings } from "./settings.js";
import { HostKeyError, type Target } from "./target.js";

type Ssh2 = typeof import("ssh2");
let ssh2Promise: Promise<Ssh2> | undefined;

/** ssh2, loaded once, on the first connection. */
export function loadSsh2(): Promise<Ssh2> {
  ssh2Promise ??= import("ssh2").then((m) => ((m as { default?: Ssh2 }).default ?? m) as Ssh2);
  return ssh2Promise;
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
      `the host key of ${target.knownHostsName} (${fp}) is not known (it is in none of ${target.knownHostsFiles.join(", ")}), so the server cannot be trusted`,
      data,
      `Check that the server's fingerprint is ${fp}, then add its key: '${scan}', or connect once with '${connectOnce}' and answer yes.`,
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
        "Someone could be intercepting the connection, or the server was reinstalled",
      data,
      `If you are sure the new key is right, remove the old one with 'ssh-keygen -R "${target.knownHostsName}"' and add the new one: '${scan}'.`,
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
            `remote '${settings.name}': keyfile '${path}' cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
            { remote: settings.name, keyfile: path },
            `Point the 'keyfile' option at a readable private key: 'mlv remote modify ${settings.name} keyfile PATH'.`,
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
            `remote '${settings.name}': keyfile '${path}' is encrypted and no passphrase is set`,
            { remote: settings.name, keyfile: path },
            `Set its passphrase with 'mlv remote modify --local ${settings.name} passphrase VALUE', or 'mlv remote modify ${settings.name} ask_passphrase true' to be asked.`,
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
      `authentication as ${target.label} failed; tried ${tried}${skipped}`,
      err,
      `Check the user and the key file ('mlv remote modify ${ctx.settings.name} keyfile PATH') and that its public key is ` +
        `in the server's authorized_keys, or set a password ('mlv remote modify --local ${ctx.settings.name} password VALUE').`,
    );
  }
  if (err.level === "client-timeout")
    return new RemoteUnreachableError(
      remote,
      `no SSH handshake with ${target.host}:${target.port} within ${target.timeoutMs / 1000} s`,
      err,
      `Check the host and port, or allow more time: 'mlv remote modify ${ctx.settings.name} timeout SECONDS'.`,
    );
  if (err.level === "client-dns" || err.code === "ENOTFOUND" || err.code === "EAI_AGAIN")
    return new RemoteUnreachableError(
      remote,
      `cannot resolve host '${target.host}'`,
      err,
      "Check the host name in the remote's URL (and the network).",
    );
  if (isNetworkErrorCode(err.code))
    return new RemoteUnreachableError(
      remote,
      `cannot connect to ${target.host}:${target.port} (${err.code})`,
      err,
      "Check that an SSH server runs there and that the host and port are right, then run the command again.",
    );
  return new RemoteError("ESSH", `remote ${remote}: SSH connection to ${target.label} failed: ${err.message}`, {
    cause: err,
    data: { remote },
    transient: err.level === "client-socket" || /closed|reset|timed out/i.test(err.message),
  });
}
