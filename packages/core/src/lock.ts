/**
 * The repository lock: one writer at a time, among mlv processes and together with DVC.
 *
 * DVC locks a repository with zc.lockfile (spec §6.4): it takes `flock(LOCK_EX | LOCK_NB)` on
 * `.dvc/tmp/lock`, writes " <pid>\n" into it, retries for about 3 s, and never deletes the file.
 * The kernel drops a flock when its holder dies, so DVC's lock can never go stale. mlv does two things:
 *
 * 1. It takes the same flock, so that mlv and DVC exclude each other. Node has no flock(2) and the
 *    npm packages that wrap it (fs-ext and forks) are native addons that need a compiler or a
 *    prebuilt binary fetched at install time (spec §10 item 6). So mlv runs util-linux's `flock(1)`
 *    as a child process holding the lock: `flock -x -n .dvc/tmp/lock sh -c 'echo locked; read _'`.
 *    The child keeps the lock until its stdin reaches end-of-file, which happens when we release it
 *    *or when this process dies in any way* (even SIGKILL), so the lock cannot outlive us either.
 *    Where `flock(1)` is not installed (macOS, Windows, minimal images), this part is skipped:
 *    mlv processes still exclude each other through (2), but a concurrent DVC run is not excluded.
 *    mlv never deletes, renames or truncates-while-unlocked `.dvc/tmp/lock`, so DVC is never broken.
 *
 * 2. It creates its own marker `.dvc/tmp/mlv.lock` with O_EXCL, holding JSON {pid, host, command,
 *    started}. It names the holder in error messages, and it is the lock between mlv processes where
 *    flock is not available. A marker whose process is gone (same host, pid no longer alive) is stale
 *    and taken over; while we hold the flock, any marker from this host is stale by definition.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync, unlinkSync } from "node:fs";
import { mkdir, open, readFile, stat, unlink, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { basename, join } from "node:path";
import { LockError, translateFsError } from "./errors.js";

export interface RepoLockOptions {
  /** How long to keep trying while another process holds the lock, in ms. Default 3000 (as DVC). */
  waitMs?: number;
  /** The command line shown to whoever finds the lock taken, e.g. "mlv push". */
  command?: string;
  /** Also take DVC's flock on `.dvc/tmp/lock` when `flock(1)` is installed. Default true. */
  flock?: boolean;
  /** Remove the marker if the process exits without calling release(). Default true. */
  releaseOnExit?: boolean;
}

export interface RepoLock {
  /** mlv's marker file, `<dvcDir>/tmp/mlv.lock`. */
  readonly path: string;
  /** Whether DVC's flock on `<dvcDir>/tmp/lock` is held too (false where `flock(1)` is missing). */
  readonly flocked: boolean;
  /** Give the lock up. Safe to call more than once. */
  release(): Promise<void>;
}

/** What the marker file holds. */
export interface LockHolder {
  pid: number;
  host: string;
  command: string;
  started: string;
}

const POLL_MS = 150;
/** A marker still empty after this long was left by a process that died while creating it. */
const EMPTY_MARKER_GRACE_MS = 5000;
/** A stale-lock breaker older than this was left by a process that died while breaking. */
const BREAKER_GRACE_MS = 10_000;

let flockMissing = false;

/**
 * Take the repository lock of the repository whose `.dvc` folder is `dvcDir`, waiting up to
 * `waitMs` for another holder, then throwing LockError naming it ("process 1234 (mlv push)").
 */
export async function acquireRepoLock(dvcDir: string, opts: RepoLockOptions = {}): Promise<RepoLock> {
  const tmpDir = join(dvcDir, "tmp");
  const dvcLockPath = join(tmpDir, "lock");
  const markerPath = join(tmpDir, "mlv.lock");
  await mkdir(tmpDir, { recursive: true }).catch((err: unknown) => {
    throw translateFsError(err, tmpDir);
  });

  const me: LockHolder = {
    pid: process.pid,
    host: hostname(),
    command: opts.command ?? defaultCommand(),
    started: new Date().toISOString(),
  };
  const markerText = `${JSON.stringify(me)}\n`;
  const deadline = Date.now() + (opts.waitMs ?? 3000);

  for (;;) {
    let child: ChildProcess | undefined;
    let busy: { lockPath: string; holder: string } | undefined;

    if (opts.flock !== false && !flockMissing) {
      const got = await tryFlock(dvcLockPath);
      if (got === "unavailable") flockMissing = true;
      else if (got === "busy")
        busy = { lockPath: dvcLockPath, holder: await describeFlockHolder(dvcLockPath, markerPath) };
      else child = got;
    }

    if (busy === undefined) {
      let marker: Awaited<ReturnType<typeof takeMarker>>;
      try {
        marker = await takeMarker(markerPath, markerText, me.host, child !== undefined);
      } catch (err) {
        if (child !== undefined) await stopFlock(child);
        throw err;
      }
      if (marker === true) {
        if (child !== undefined) await writeDvcPid(dvcLockPath);
        return holdLock(markerPath, markerText, child, opts.releaseOnExit !== false);
      }
      if (child !== undefined) await stopFlock(child);
      if (marker !== "retry") busy = { lockPath: markerPath, holder: describeHolder(marker, me.host) };
    }

    if (busy !== undefined && Date.now() >= deadline)
      throw new LockError(busy.lockPath, busy.holder, busy.lockPath === markerPath);
    await sleep(busy === undefined ? 5 : Math.min(POLL_MS, Math.max(1, deadline - Date.now())));
  }
}

function defaultCommand(): string {
  const script = process.argv[1];
  return [script === undefined ? basename(process.argv0) : basename(script), ...process.argv.slice(2)].join(" ");
}

function sleep(ms: number): Promise<void> {
  return new Promise((ok) => setTimeout(ok, ms));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM"; // alive, but another user's
  }
}

function describeHolder(holder: LockHolder | undefined, myHost: string): string {
  if (holder === undefined) return "an mlv process that is starting";
  const where = holder.host === myHost ? "" : ` on ${holder.host}`;
  return `process ${holder.pid}${where} (${holder.command})`;
}

function parseHolder(text: string): LockHolder | undefined {
  try {
    const v = JSON.parse(text) as Partial<LockHolder>;
    if (typeof v.pid !== "number" || typeof v.host !== "string") return undefined;
    return { pid: v.pid, host: v.host, command: String(v.command ?? "mlv"), started: String(v.started ?? "") };
  } catch {
    return undefined;
  }
}

/**
 * Create the marker. Returns true when it is ours, "retry" after removing a stale one, or the live
 * holder (undefined while its creator is still writing it).
 */
async function takeMarker(
  path: string,
  text: string,
  myHost: string,
  flocked: boolean,
): Promise<true | "retry" | LockHolder | undefined> {
  try {
    await writeFile(path, text, { flag: "wx" });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw translateFsError(err, path);
  }
  let found: string;
  try {
    found = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return "retry"; // released meanwhile
    throw err;
  }
  const holder = parseHolder(found);
  if (flocked && holder !== undefined && holder.host !== myHost) return holder; // another host: no flock there
  if (flocked) {
    // Every mlv on this host takes the flock first, which we hold: the marker is stale. Take it over.
    await writeFile(path, text);
    return true;
  }
  if (holder === undefined) {
    // Empty or torn: its creator is writing it right now, or died doing so.
    const age = await stat(path).then(
      (st) => Date.now() - st.mtimeMs,
      () => 0,
    );
    if (age < EMPTY_MARKER_GRACE_MS) return undefined;
  } else if (holder.host !== myHost || isAlive(holder.pid)) {
    return holder;
  }
  await breakStaleMarker(path, found);
  return "retry";
}

/**
 * Remove a stale marker without racing another process that is doing the same: only the holder of
 * `<marker>.break` may delete it, and only if it still holds the stale content.
 */
async function breakStaleMarker(path: string, staleText: string): Promise<void> {
  const breaker = `${path}.break`;
  try {
    await writeFile(breaker, String(process.pid), { flag: "wx" });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    const age = await stat(breaker).then(
      (st) => Date.now() - st.mtimeMs,
      () => 0,
    );
    if (age > BREAKER_GRACE_MS) await unlink(breaker).catch(() => {});
    return;
  }
  try {
    const now = await readFile(path, "utf8").catch(() => undefined);
    if (now === staleText) await unlink(path).catch(() => {});
  } finally {
    await unlink(breaker).catch(() => {});
  }
}

/**
 * Take `flock -x -n` on `path` through a `flock(1)` child. Resolves with the child holding the lock,
 * "busy" if another process holds it, or "unavailable" if `flock(1)` cannot be run here.
 */
function tryFlock(path: string): Promise<ChildProcess | "busy" | "unavailable"> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (v: ChildProcess | "busy" | "unavailable") => {
      if (settled) return;
      settled = true;
      resolve(v);
    };
    let child: ChildProcess;
    try {
      // detached: its own process group, so a Ctrl-C aimed at mlv does not drop the lock while mlv
      // is still cleaning up; it goes when mlv releases it or exits (its stdin then closes).
      child = spawn("flock", ["-x", "-n", path, "sh", "-c", "echo locked; read _"], {
        stdio: ["pipe", "pipe", "ignore"],
        detached: true,
      });
    } catch {
      settle("unavailable");
      return;
    }
    child.on("error", () => settle("unavailable"));
    child.on("exit", (code) => settle(code === 1 ? "busy" : "unavailable"));
    child.stdout?.once("data", () => {
      child.stdout?.destroy();
      // Neither the child nor its pipes keep the event loop alive: a forgotten lock must not hang the CLI.
      child.unref();
      (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
      settle(child);
    });
  });
}

/** Let the flock child exit, which releases the flock, and wait until it has. */
function stopFlock(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  child.ref(); // keep the event loop alive until the lock is really released
  return new Promise((ok) => {
    child.once("exit", () => ok());
    child.stdin?.end();
  });
}

/** Record our pid in DVC's lock file, as zc.lockfile does (" <pid>\n"); we hold its flock. */
async function writeDvcPid(path: string): Promise<void> {
  try {
    const fh = await open(path, "r+");
    try {
      await fh.write(` ${process.pid}\n`, 0);
      await fh.truncate(` ${process.pid}\n`.length);
    } finally {
      await fh.close();
    }
  } catch {
    // Only informative: DVC does not need it.
  }
}

/** Who holds the flock: the mlv marker's process if it is the one in DVC's lock file, else that pid. */
async function describeFlockHolder(dvcLockPath: string, markerPath: string): Promise<string> {
  const myHost = hostname();
  const marker = parseHolder(await readFile(markerPath, "utf8").catch(() => ""));
  const text = await readFile(dvcLockPath, "utf8").catch(() => "");
  const pid = Number.parseInt(text.trim(), 10);
  if (marker !== undefined && marker.pid === pid) return describeHolder(marker, myHost);
  if (pid > 0 && isAlive(pid)) return `process ${pid} (${commandLineOf(pid) ?? "probably DVC"})`;
  if (marker !== undefined && marker.host === myHost && isAlive(marker.pid)) return describeHolder(marker, myHost);
  return "another process (DVC or mlv)";
}

/** The command line of a local process, where /proc shows it. */
function commandLineOf(pid: number): string | undefined {
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
    const line = args.join(" ").replace(/\s+/g, " ");
    return line.length > 160 ? `${line.slice(0, 157)}...` : line || undefined;
  } catch {
    return undefined;
  }
}

function holdLock(markerPath: string, markerText: string, child: ChildProcess | undefined, onExit: boolean): RepoLock {
  let released = false;
  const removeMarkerSync = () => {
    try {
      if (readFileSync(markerPath, "utf8") === markerText) unlinkSync(markerPath);
    } catch {
      // gone already
    }
  };
  const exitHook = () => {
    released = true;
    removeMarkerSync();
    child?.kill();
  };
  if (onExit) process.once("exit", exitHook);
  return {
    path: markerPath,
    flocked: child !== undefined,
    async release() {
      if (released) return;
      released = true;
      process.off("exit", exitHook);
      try {
        // Ours only: never remove a marker that another process has taken over.
        if ((await readFile(markerPath, "utf8")) === markerText) await unlink(markerPath);
      } catch {
        // gone already
      }
      if (child !== undefined) await stopFlock(child);
    },
  };
}
