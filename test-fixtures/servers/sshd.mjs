// A real OpenSSH sshd for tests and benchmarks, on 127.0.0.1 on a free port, with keys generated
// for the run (see /work/shared/TESTING.md). Plain JavaScript so that bench/*.mjs can use it as
// well as vitest; the types are in sshd.d.mts and `sshd.ts` re-exports it for TypeScript tests.
//
//   const sshd = await startSshd();
//   // sshd.user, sshd.port, sshd.clientKey, sshd.knownHostsLine, sshd.remotePath("x") ...
//   await sshd.stop();
//
// As root (CI, this machine) sshd runs as root with a dedicated system user `mlv-sftp-test`
// (created once with `useradd`, password field `*`, never changed afterwards) chrooted into a fresh
// root-owned folder under /var/lib/mlv-test-sshd, whose `data/` folder belongs to that user. As
// any other user, sshd runs as that user without a chroot, serving a folder under the temp dir.
// Only the sshd process started here is stopped, and only the folders made here are removed.
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { freePort, stopChild, waitForReply } from "./process.mjs";

export { freePort };

export const TEST_USER = "mlv-sftp-test";
const CHROOT_BASE = "/var/lib/mlv-test-sshd";

/** sshd cannot run on this machine; the message says why. */
export class SshdUnavailableError extends Error {
  name = "SshdUnavailableError";
}

/** Where sshd is, or undefined. */
export function findSshd() {
  for (const p of ["/usr/sbin/sshd", "/usr/local/sbin/sshd", "/usr/bin/sshd"]) if (existsSync(p)) return p;
  return undefined;
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.error) throw new SshdUnavailableError(`${cmd}: ${r.error.message}`);
  return r;
}

function must(cmd, args) {
  const r = run(cmd, args);
  if (r.status !== 0) throw new SshdUnavailableError(`${cmd} ${args.join(" ")} exited ${r.status}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** Generate an ed25519 key pair at `path` (and `path.pub`); returns the public key line. */
export function generateKey(path, comment = "mlv-test", passphrase = "") {
  must("ssh-keygen", ["-q", "-t", "ed25519", "-N", passphrase, "-C", comment, "-f", path]);
  return readFileSync(`${path}.pub`, "utf8").trim();
}

/** The test user's uid/gid, creating the user when it does not exist (never modifying one that does). */
function ensureTestUser() {
  const lookup = () => {
    const r = run("getent", ["passwd", TEST_USER]);
    if (r.status !== 0) return undefined;
    const f = r.stdout.trim().split(":");
    return { uid: Number(f[2]), gid: Number(f[3]) };
  };
  let ids = lookup();
  if (!ids) {
    const r = run("useradd", [
      "--system",
      "--no-create-home",
      "--home-dir",
      "/nonexistent",
      "--shell",
      "/usr/sbin/nologin",
      "--password",
      "*", // not locked ('!'): sshd refuses locked accounts even for public keys
      TEST_USER,
    ]);
    ids = lookup(); // another run may have created it meanwhile (useradd exit 9)
    if (!ids) throw new SshdUnavailableError(`useradd ${TEST_USER} failed (exit ${r.status}): ${r.stderr.trim()}`);
  }
  const shadow = run("getent", ["shadow", TEST_USER]);
  const pw = shadow.status === 0 ? shadow.stdout.split(":")[1] : undefined;
  if (pw?.startsWith("!"))
    throw new SshdUnavailableError(
      `the existing user ${TEST_USER} is locked (password field '${pw}'): sshd refuses it; unlock it with 'usermod -p "*" ${TEST_USER}' or delete it`,
    );
  return ids;
}

/** Resolves once `port` answers with an SSH banner; false after `ms` or when sshd exited. */
function waitForBanner(port, ms, exited) {
  return waitForReply(port, ms, exited, {
    lineEnd: "\n",
    ready: (reply) => reply.startsWith("SSH-2.0-"),
    pauseMs: 50,
  });
}

/**
 * Start sshd. Options: `timeoutMs` (default 15000) to wait for its banner.
 * Throws SshdUnavailableError when it cannot run here.
 */
export async function startSshd(options = {}) {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const sshd = findSshd();
  if (!sshd)
    throw new SshdUnavailableError(
      "sshd is not installed (Debian: apt-get install -y --no-install-recommends openssh-server openssh-client)",
    );
  if (run("ssh-keygen", ["-?"]).error) throw new SshdUnavailableError("ssh-keygen is not installed");
  const isRoot = process.getuid?.() === 0;

  // Client side: keys and a HOME-like folder, all in a private temp folder.
  const clientDir = mkdtempSync(join(tmpdir(), "mlv-sshd-client-"));
  // Server side: state (host key, authorized_keys, pid) and the served folder.
  let serverDir;
  let dataDir; // on the local disk
  let remoteRoot; // the same folder as SFTP clients see it
  let user;
  try {
    if (isRoot) {
      const ids = ensureTestUser();
      user = TEST_USER;
      mkdirSync(CHROOT_BASE, { recursive: true, mode: 0o755 });
      chmodSync(CHROOT_BASE, 0o755);
      serverDir = mkdtempSync(join(CHROOT_BASE, "run-"));
      chmodSync(serverDir, 0o755); // the user reads authorized_keys below it
      const chroot = join(serverDir, "root");
      mkdirSync(chroot, { mode: 0o755 });
      dataDir = join(chroot, "data");
      mkdirSync(dataDir, { mode: 0o755 });
      chownSync(dataDir, ids.uid, ids.gid);
      remoteRoot = "/data";
      mkdirSync("/run/sshd", { recursive: true, mode: 0o755 }); // privilege separation folder
    } else {
      user = userInfo().username;
      serverDir = mkdtempSync(join(tmpdir(), "mlv-sshd-server-"));
      chmodSync(serverDir, 0o755);
      dataDir = join(serverDir, "data");
      mkdirSync(dataDir, { mode: 0o755 });
      remoteRoot = dataDir;
    }
    const etc = join(serverDir, "etc");
    mkdirSync(etc, { mode: 0o755 });
    const hostKey = join(etc, "host_ed25519");
    const hostPublicKey = generateKey(hostKey, "mlv-test-host");
    const clientKey = join(clientDir, "id_ed25519");
    const clientPublicKey = generateKey(clientKey, "mlv-test-client");
    const authorizedKeys = join(etc, "authorized_keys");
    writeFileSync(authorizedKeys, `${clientPublicKey}\n`, { mode: 0o644 });
    chmodSync(authorizedKeys, 0o644);
    const pidFile = join(etc, "sshd.pid");

    let lastError = "";
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      const args = [
        "-D",
        "-e",
        "-f",
        "/dev/null",
        "-p",
        String(port),
        "-h",
        hostKey,
        "-o",
        "ListenAddress=127.0.0.1",
        "-o",
        `PidFile=${pidFile}`,
        "-o",
        `AuthorizedKeysFile=${authorizedKeys}`,
        "-o",
        "PubkeyAuthentication=yes",
        "-o",
        "PasswordAuthentication=no",
        "-o",
        "KbdInteractiveAuthentication=no",
        "-o",
        "PermitRootLogin=no",
        "-o",
        `AllowUsers=${user}`,
        "-o",
        "Subsystem=sftp internal-sftp",
        "-o",
        "ForceCommand=internal-sftp",
        "-o",
        "AllowTcpForwarding=no",
        "-o",
        "X11Forwarding=no",
        "-o",
        "PermitTTY=no",
        "-o",
        "UsePAM=no",
        "-o",
        "StrictModes=no",
        "-o",
        "LogLevel=ERROR",
        "-o",
        "MaxStartups=100:30:200",
      ];
      if (isRoot) args.push("-o", `ChrootDirectory=${join(serverDir, "root")}`);
      const child = spawn(sshd, args, { stdio: ["ignore", "ignore", "pipe"] });
      let stderr = "";
      child.stderr.on("data", (d) => {
        if (stderr.length < 8000) stderr += d.toString();
      });
      let exited = false;
      child.once("exit", () => {
        exited = true;
      });
      child.once("error", (e) => {
        stderr += e.message;
        exited = true;
      });
      // If the caller exits without stop(): kill this sshd and remove its folders all the same.
      const killOnExit = () => {
        child.kill("SIGKILL");
        for (const d of [clientDir, serverDir]) rmSync(d, { recursive: true, force: true });
      };
      process.once("exit", killOnExit);
      if (await waitForBanner(port, timeoutMs, () => exited)) {
        const dirs = { clientDir, serverDir };
        return {
          host: "127.0.0.1",
          port,
          user,
          pid: child.pid,
          chroot: isRoot,
          remoteRoot,
          dataDir,
          clientKey,
          clientPublicKey,
          hostPublicKey,
          knownHostsLine: `[127.0.0.1]:${port} ${hostPublicKey.split(" ").slice(0, 2).join(" ")}`,
          remotePath: (sub = "") => (sub ? `${remoteRoot}/${sub}` : remoteRoot),
          localPath: (sub = "") => (sub ? join(dataDir, sub) : dataDir),
          url: (sub = "", scheme = "ssh") =>
            `${scheme}://${user}@127.0.0.1:${port}${sub ? `${remoteRoot}/${sub}` : remoteRoot}`,
          logs: () => stderr,
          makeHome(home, extra = {}) {
            const ssh = join(home, ".ssh");
            mkdirSync(ssh, { recursive: true, mode: 0o700 });
            const known = extra.knownHosts ?? `[127.0.0.1]:${port} ${hostPublicKey.split(" ").slice(0, 2).join(" ")}\n`;
            writeFileSync(join(ssh, "known_hosts"), known, { mode: 0o600 });
            if (extra.config !== undefined) writeFileSync(join(ssh, "config"), extra.config, { mode: 0o600 });
            return home;
          },
          async stop() {
            process.off("exit", killOnExit);
            await stopChild(child);
            for (const d of Object.values(dirs)) rmSync(d, { recursive: true, force: true });
          },
        };
      }
      lastError = exited
        ? `sshd exited with ${child.exitCode ?? child.signalCode}: ${stderr.trim() || "(no output)"}`
        : `sshd did not answer on 127.0.0.1:${port} within ${timeoutMs} ms: ${stderr.trim()}`;
      process.off("exit", killOnExit);
      await stopChild(child);
      if (!/Address already in use|Cannot bind/i.test(stderr)) break;
    }
    throw new SshdUnavailableError(`cannot start ${sshd}: ${lastError}`);
  } catch (err) {
    rmSync(clientDir, { recursive: true, force: true });
    if (serverDir) rmSync(serverDir, { recursive: true, force: true });
    throw err;
  }
}
