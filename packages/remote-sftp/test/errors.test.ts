/**
 * What users see when something is wrong: refused keys, unknown or changed host keys, nothing
 * listening, missing objects, folders the SSH user may not write; secrets never shown.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import {
  ConfigError,
  ObjectNotFoundError,
  PermissionDeniedError,
  type Remote,
  RemoteUnreachableError,
} from "@mlv/core";
import adapter, { HostKeyError } from "@mlv/remote-sftp";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { freePort, generateKey } from "../../../test-fixtures/servers/sshd.js";
import { info, newFolder, newRemote, noServer, readOnlyFolder, sshd, urlOf } from "./helpers.js";

async function failure(p: Promise<unknown>): Promise<Error & { code?: string; transient?: boolean; hint?: string }> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected the call to fail");
}

describe.skipIf(noServer)("sftp errors", () => {
  let dir = "";
  const homes: string[] = [];
  const remotes: Remote[] = [];
  const drops: (() => void)[] = [];
  const defaultHome = sshd.home;

  /** A HOME of its own for one test (known_hosts, config), restored afterwards. */
  const useHome = (files: { knownHosts?: string; config?: string } = {}) => {
    const home = mkdtempSync(join(dir, "home-"));
    mkdirSync(join(home, ".ssh"), { mode: 0o700 });
    writeFileSync(join(home, ".ssh", "known_hosts"), files.knownHosts ?? `${info().knownHostsLine}\n`);
    if (files.config !== undefined) writeFileSync(join(home, ".ssh", "config"), files.config);
    homes.push(home);
    process.env.HOME = home;
    return home;
  };
  const create = async (url: string, options: Record<string, string>) => {
    const remote = await adapter.create({ name: "storage", url, options });
    remotes.push(remote);
    return remote;
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "mlv-sftp-errors-"));
  });
  afterEach(async () => {
    for (const r of remotes.splice(0)) await r.close?.();
    for (const d of drops.splice(0)) d();
    process.env.HOME = defaultHome;
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("a key the server does not accept: PermissionDeniedError naming user@host and what was tried", async () => {
    const wrong = join(dir, "wrong_key");
    generateKey(wrong, "wrong");
    const remote = await create(urlOf("x"), { keyfile: wrong });
    const err = await failure(remote.exists("files/md5/00/0000"));
    expect(err).toBeInstanceOf(PermissionDeniedError);
    expect(err.transient).toBe(false);
    expect(err.message).toContain(`${info().user}@127.0.0.1:${info().port}`);
    expect(err.message).toContain(`publickey ${wrong}`);
    expect(err.message).toContain(urlOf("x"));
    expect(err.hint).toContain("mlv remote modify storage keyfile PATH");
    // Refused once, then every later call fails the same way without logging in again.
    const again = await failure(remote.exists("files/md5/00/0001"));
    expect(again).toBe(err);
  });

  it("a password the server does not take never appears in the error", async () => {
    const password = `pw-${randomBytes(8).toString("hex")}`;
    useHome(); // no default identities in this HOME: only the password is tried
    const remote = await create(urlOf("x"), { password });
    const err = await failure(remote.list("")[Symbol.asyncIterator]().next());
    expect(err).toBeInstanceOf(PermissionDeniedError);
    expect(err.message).not.toContain(password);
    expect(JSON.stringify((err as PermissionDeniedError).data)).not.toContain(password);
    expect(err.message).toMatch(/tried nothing|tried password|keyboard-interactive/);
  });

  it("a password in the URL is neither shown in displayUrl nor in errors", async () => {
    const password = `Pw${randomBytes(6).toString("hex")}`;
    useHome();
    const s = info();
    const remote = await create(`ssh://${s.user}:${password}@127.0.0.1:${s.port}${s.remoteRoot}/x`, {});
    expect(remote.displayUrl).not.toContain(password);
    const err = await failure(remote.exists("files/md5/00/0000"));
    expect(err).toBeInstanceOf(PermissionDeniedError);
    expect(err.message).not.toContain(password);
  });

  it("an unknown host key is refused, with how to add it", async () => {
    useHome({ knownHosts: "" });
    const remote = await create(urlOf("x"), { keyfile: info().clientKey });
    const err = await failure(remote.exists("files/md5/00/0000"));
    expect(err).toBeInstanceOf(HostKeyError);
    expect(err.code).toBe("EHOSTKEY");
    expect(err.transient).toBe(false);
    expect(err.message).toContain(`[127.0.0.1]:${info().port}`);
    expect(err.message).toMatch(/SHA256:[A-Za-z0-9+/]{43}/);
    // What to do is the hint, printed on its own line.
    expect(err.hint).toContain(`ssh-keyscan -p ${info().port} 127.0.0.1 >> ~/.ssh/known_hosts`);
    expect(err.message).not.toContain("ssh-keyscan");
  });

  it("a changed host key is refused, naming the known_hosts line", async () => {
    const other = join(dir, "other_host");
    const pub = generateKey(other, "other");
    const home = useHome({
      knownHosts: `# old key\n[127.0.0.1]:${info().port} ${pub.split(" ").slice(0, 2).join(" ")}\n`,
    });
    const remote = await create(urlOf("x"), { keyfile: info().clientKey });
    const err = await failure(remote.exists("files/md5/00/0000"));
    expect(err).toBeInstanceOf(HostKeyError);
    expect(err.message).toContain("CHANGED");
    expect(err.message).toContain(`${join(home, ".ssh", "known_hosts")}:2`);
    expect(err.hint).toContain(`ssh-keygen -R "[127.0.0.1]:${info().port}"`);
  });

  it("a key for the host without its port does not count ([host]:port is another name)", async () => {
    useHome({ knownHosts: `127.0.0.1 ${info().hostPublicKey.split(" ").slice(0, 2).join(" ")}\n` });
    const remote = await create(urlOf("x"), { keyfile: info().clientKey });
    expect(await failure(remote.exists("k"))).toBeInstanceOf(HostKeyError);
  });

  it("hashed known_hosts entries (ssh-keygen -H) are trusted", async () => {
    const home = useHome();
    const file = join(home, ".ssh", "known_hosts");
    const r = spawnSync("ssh-keygen", ["-H", "-f", file], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(file, "utf8")).toMatch(/^\|1\|/);
    const remote = await create(urlOf("x"), { keyfile: info().clientKey });
    expect(await remote.exists("files/md5/00/0000")).toBe(false);
  });

  it("nothing listening: RemoteUnreachableError, transient", async () => {
    const port = await freePort();
    const remote = await create(`ssh://${info().user}@127.0.0.1:${port}/data/x`, { keyfile: info().clientKey });
    const err = await failure(remote.exists("files/md5/00/0000"));
    expect(err).toBeInstanceOf(RemoteUnreachableError);
    expect(err.transient).toBe(true);
    expect(err.message).toContain("ECONNREFUSED");
    expect(err.message).toContain(`127.0.0.1:${port}`);
    expect(err.hint).toMatch(/run the command again/);
  });

  it("a silent server: RemoteUnreachableError after 'timeout' seconds", async () => {
    const { createServer } = await import("node:net");
    const server = createServer(() => {}); // accepts, never says anything
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    const port = (server.address() as { port: number }).port;
    try {
      const remote = await create(`ssh://u@127.0.0.1:${port}/x`, { timeout: "0.5" });
      const err = await failure(remote.exists("k"));
      expect(err).toBeInstanceOf(RemoteUnreachableError);
      expect(err.message).toMatch(/within 0.5 s/);
    } finally {
      server.close();
    }
  });

  it("missing objects: ObjectNotFoundError from read and readFile", async () => {
    const { remote, folder } = await newRemote();
    remotes.push(remote);
    drops.push(folder.drop);
    await expect(remote.read("files/md5/00/1111")).rejects.toBeInstanceOf(ObjectNotFoundError);
    await expect(remote.readFile!("files/md5/00/1111", join(dir, "out"))).rejects.toBeInstanceOf(ObjectNotFoundError);
  });

  it("a folder the SSH user may not write: PermissionDeniedError", async () => {
    const ro = readOnlyFolder();
    drops.push(ro.drop);
    const remote = await create(ro.url, { keyfile: info().clientKey });
    const err = await failure(remote.write("files/md5/ab/cdef", Readable.from([Buffer.from("x")]), 1));
    expect(err).toBeInstanceOf(PermissionDeniedError);
    expect(err.message).toContain("files/md5/ab/cdef");
    const file = join(dir, "src");
    writeFileSync(file, "hello");
    expect(await failure(remote.writeFile!("files/md5/ab/cdef", file, 5))).toBeInstanceOf(PermissionDeniedError);
  });

  it("an encrypted keyfile without passphrase: ConfigError saying what to set; with it: works", async () => {
    const folder = newFolder();
    drops.push(folder.drop);
    const enc = join(dir, "enc_key");
    generateKey(enc, "enc", "correct horse"); // not in the server's authorized_keys
    const remote = await create(folder.url, { keyfile: enc });
    const err = await failure(remote.exists("k"));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toContain("is encrypted");
    expect(err.hint).toContain("mlv remote modify --local storage passphrase VALUE");
    const wrong = await create(folder.url, { keyfile: enc, passphrase: "wrong one" });
    const err2 = await failure(wrong.exists("k"));
    expect(err2).toBeInstanceOf(ConfigError);
    expect(err2.message).toContain("wrong passphrase");
    expect(err2.message).not.toContain("wrong one");
    const right = await create(folder.url, { keyfile: enc, passphrase: "correct horse" });
    const err3 = await failure(right.exists("k")); // decrypted, then refused by the server (not authorized)
    expect(err3).toBeInstanceOf(PermissionDeniedError);
    expect(err3.message).toContain(`publickey ${enc}`);
    expect(err3.message).not.toContain("correct horse");
  });

  it("ask_password without a terminal: ConfigError saying to set the password instead", async () => {
    useHome();
    const remote = await create(urlOf("x"), { ask_password: "true" });
    const err = await failure(remote.exists("k"));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(/not a TTY/);
    expect(err.hint).toContain("mlv remote modify --local storage password");
  });

  it("a missing keyfile: ConfigError naming it", async () => {
    const remote = await create(urlOf("x"), { keyfile: join(dir, "nope") });
    const err = await failure(remote.exists("k"));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toContain(join(dir, "nope"));
    expect(err.hint).toContain("mlv remote modify storage keyfile PATH");
  });

  it("~/.ssh/config: a Host alias gives HostName, User, Port and IdentityFile", async () => {
    const folder = newFolder();
    drops.push(folder.drop);
    const s = info();
    useHome({
      config: [
        "Host other",
        "  HostName 192.0.2.1",
        "",
        "Host mlv-test-*",
        "  HostName 127.0.0.1",
        `  User ${s.user}`,
        `  Port ${s.port}`,
        `  IdentityFile ${s.clientKey}`,
        "",
        "Host *",
        "  User nobody-else",
        "  Port 1",
        "",
      ].join("\n"),
    });
    const remote = await create(`ssh://mlv-test-alias${s.remoteRoot}/${folder.name}`, {});
    await remote.write("files/md5/ab/cdef", Readable.from([Buffer.from("via alias")]), 9);
    expect(readFileSync(join(folder.local, "files/md5/ab/cdef"), "utf8")).toBe("via alias");
  });

  it("the SSH agent is used when SSH_AUTH_SOCK is set, and not with allow_agent false", async () => {
    const which = spawnSync("ssh-agent", ["-s"], { encoding: "utf8" });
    if (which.error || which.status !== 0) return; // no ssh-agent binary: covered by the unit tests
    const sock = /SSH_AUTH_SOCK=([^;]+);/.exec(which.stdout)?.[1];
    const pid = /SSH_AGENT_PID=(\d+);/.exec(which.stdout)?.[1];
    expect(sock && pid).toBeTruthy();
    try {
      const add = spawnSync("ssh-add", [info().clientKey], {
        env: { ...process.env, SSH_AUTH_SOCK: sock },
        encoding: "utf8",
      });
      expect(add.status, add.stderr).toBe(0);
      useHome();
      process.env.SSH_AUTH_SOCK = sock!;
      const folder = newFolder();
      drops.push(folder.drop);
      const viaAgent = await create(folder.url, {});
      expect(await viaAgent.exists("files/md5/00/0000")).toBe(false);
      const noAgent = await create(folder.url, { allow_agent: "false" });
      const err = await failure(noAgent.exists("files/md5/00/0000"));
      expect(err).toBeInstanceOf(PermissionDeniedError);
      expect(err.message).not.toContain("via the SSH agent");
    } finally {
      delete process.env.SSH_AUTH_SOCK;
      process.kill(Number(pid), "SIGTERM");
    }
  });
});

describe("importing the package", () => {
  it("does not load ssh2", () => {
    const script = `
      await import("@mlv/remote-sftp");
      const { createRequire } = await import("node:module");
      const loaded = Object.keys(createRequire(import.meta.url).cache).filter((k) => /[\\\\/]ssh2[\\\\/]/.test(k));
      console.log(JSON.stringify(loaded));`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
      cwd: join(import.meta.dirname, ".."),
      encoding: "utf8",
    });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([]);
  });
});
