import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";
import ts from "typescript";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { LockError } from "../src/errors.js";
import { acquireRepoLock, type RepoLock } from "../src/lock.js";

const srcDir = join(dirname(fileURLToPath(import.meta.url)), "..", "src");
const hasFlock = spawnSync("flock", ["--version"]).status === 0;
const hasPython = spawnSync("python3", ["-c", "import fcntl"]).status === 0;

let work: string;
let childScript: string;

/**
 * The other processes run plain node on lock.ts and errors.ts transpiled to JavaScript here, so the
 * test does not depend on the whole package building.
 */
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "mlv-lock-test-"));
  const lib = join(work, "lib");
  await mkdir(lib);
  await writeFile(join(lib, "package.json"), '{"type":"module"}');
  for (const name of ["lock", "errors"]) {
    const source = await readFile(join(srcDir, `${name}.ts`), "utf8");
    const out = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    });
    await writeFile(join(lib, `${name}.js`), out.outputText);
  }
  childScript = join(lib, "holder.js");
  await writeFile(
    childScript,
    `import { createInterface } from "node:readline";
import { acquireRepoLock } from ${JSON.stringify(pathToFileURL(join(lib, "lock.js")).href)};
const [dvcDir, optsJson] = process.argv.slice(2);
const say = (msg) => process.stdout.write(JSON.stringify(msg) + "\\n");
let lock;
try {
  const t0 = Date.now();
  lock = await acquireRepoLock(dvcDir, JSON.parse(optsJson));
  say({ event: "locked", flocked: lock.flocked, waitedMs: Date.now() - t0 });
} catch (err) {
  say({ event: "error", code: err.code, message: err.message });
  process.exit(3);
}
for await (const line of createInterface({ input: process.stdin })) {
  if (line === "release") { await lock.release(); say({ event: "released" }); process.exit(0); }
  if (line === "exit") process.exit(0);
}
`,
  );
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

interface Holder {
  proc: ChildProcess;
  next(): Promise<Record<string, unknown>>;
  send(line: string): void;
  exited: Promise<number | null>;
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});

function startHolder(dvcDir: string, opts: Record<string, unknown>): Holder {
  const proc = spawn(process.execPath, [childScript, dvcDir, JSON.stringify(opts)], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  children.push(proc);
  const lines = createInterface({ input: proc.stdout! })[Symbol.asyncIterator]();
  return {
    proc,
    async next() {
      const line = await lines.next();
      if (line.done) throw new Error("the child process ended without a message");
      return JSON.parse(line.value) as Record<string, unknown>;
    },
    send: (line) => proc.stdin!.write(`${line}\n`),
    exited: new Promise((ok) => proc.on("exit", (code) => ok(code))),
  };
}

async function freshRepo(): Promise<string> {
  const root = await mkdtemp(join(work, "repo-"));
  const dvcDir = join(root, ".dvc");
  await mkdir(dvcDir);
  return dvcDir;
}

/** A pid that was just used and is now free (its process has exited). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]);
  return Number(child.stdout.toString());
}

describe.each([
  { mode: "with DVC's flock", flock: true, skip: !hasFlock },
  { mode: "with the mlv marker only", flock: false, skip: false },
])("acquireRepoLock $mode", ({ flock, skip }) => {
  it.skipIf(skip)("holds the marker while locked and removes it on release; DVC's lock file stays", async () => {
    const dvcDir = await freshRepo(); // no .dvc/tmp yet
    const lock = await acquireRepoLock(dvcDir, { command: "mlv add data", flock });
    expect(lock.flocked).toBe(flock);
    const marker = JSON.parse(await readFile(join(dvcDir, "tmp", "mlv.lock"), "utf8"));
    expect(marker).toMatchObject({ pid: process.pid, host: hostname(), command: "mlv add data" });
    expect(Number.isNaN(Date.parse(marker.started))).toBe(false);
    if (flock) expect(await readFile(join(dvcDir, "tmp", "lock"), "utf8")).toBe(` ${process.pid}\n`);
    await lock.release();
    await lock.release(); // idempotent
    expect(existsSync(join(dvcDir, "tmp", "mlv.lock"))).toBe(false);
    if (flock) expect(existsSync(join(dvcDir, "tmp", "lock"))).toBe(true);
    const again = await acquireRepoLock(dvcDir, { flock, waitMs: 0 });
    await again.release();
  });

  it.skipIf(skip)("a second process waits, then fails naming the holder's pid and command", async () => {
    const dvcDir = await freshRepo();
    const first = startHolder(dvcDir, { command: "mlv push", flock });
    expect(await first.next()).toMatchObject({ event: "locked", flocked: flock });
    const t0 = Date.now();
    const second = startHolder(dvcDir, { command: "mlv pull", flock, waitMs: 700 });
    const msg = await second.next();
    expect(msg).toMatchObject({ event: "error", code: "ELOCKED" });
    expect(msg.message).toContain(`process ${first.proc.pid} (mlv push)`);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(600);
    first.send("release");
    expect(await first.next()).toMatchObject({ event: "released" });
  });

  it.skipIf(skip)("a waiting process gets the lock as soon as the holder releases it", async () => {
    const dvcDir = await freshRepo();
    const first = startHolder(dvcDir, { command: "mlv push", flock });
    expect(await first.next()).toMatchObject({ event: "locked" });
    const second = startHolder(dvcDir, { command: "mlv pull", flock, waitMs: 10_000 });
    await new Promise((ok) => setTimeout(ok, 400));
    first.send("release");
    expect(await first.next()).toMatchObject({ event: "released" });
    const got = await second.next();
    expect(got).toMatchObject({ event: "locked" });
    expect(got.waitedMs as number).toBeLessThan(5000);
    const marker = JSON.parse(await readFile(join(dvcDir, "tmp", "mlv.lock"), "utf8"));
    expect(marker).toMatchObject({ pid: second.proc.pid, command: "mlv pull" });
    second.send("release");
    await second.exited;
  });

  it.skipIf(skip)("the lock of a process killed with SIGKILL is taken over", async () => {
    const dvcDir = await freshRepo();
    const first = startHolder(dvcDir, { command: "mlv push", flock });
    expect(await first.next()).toMatchObject({ event: "locked" });
    first.proc.kill("SIGKILL");
    await first.exited;
    expect(existsSync(join(dvcDir, "tmp", "mlv.lock"))).toBe(true); // left behind, stale
    const lock = await acquireRepoLock(dvcDir, { command: "mlv gc", flock, waitMs: 2000 });
    const marker = JSON.parse(await readFile(join(dvcDir, "tmp", "mlv.lock"), "utf8"));
    expect(marker).toMatchObject({ pid: process.pid, command: "mlv gc" });
    await lock.release();
  });

  it.skipIf(skip)("a process that exits without releasing removes its marker", async () => {
    const dvcDir = await freshRepo();
    const first = startHolder(dvcDir, { command: "mlv push", flock });
    expect(await first.next()).toMatchObject({ event: "locked" });
    first.send("exit");
    expect(await first.exited).toBe(0);
    expect(existsSync(join(dvcDir, "tmp", "mlv.lock"))).toBe(false);
    const lock = await acquireRepoLock(dvcDir, { flock, waitMs: 1000 });
    await lock.release();
  });

  it.skipIf(skip)("a marker left by a process that no longer runs is taken over at once", async () => {
    const dvcDir = await freshRepo();
    await mkdir(join(dvcDir, "tmp"));
    const stale = { pid: deadPid(), host: hostname(), command: "mlv push", started: "2020-01-01T00:00:00.000Z" };
    await writeFile(join(dvcDir, "tmp", "mlv.lock"), JSON.stringify(stale));
    const lock = await acquireRepoLock(dvcDir, { flock, waitMs: 0 });
    expect(JSON.parse(await readFile(join(dvcDir, "tmp", "mlv.lock"), "utf8")).pid).toBe(process.pid);
    await lock.release();
  });

  it.skipIf(skip)("a marker from another host is respected", async () => {
    const dvcDir = await freshRepo();
    await mkdir(join(dvcDir, "tmp"));
    const other = { pid: 4242, host: "build-server-7", command: "mlv push", started: new Date().toISOString() };
    await writeFile(join(dvcDir, "tmp", "mlv.lock"), JSON.stringify(other));
    const err = await acquireRepoLock(dvcDir, { flock, waitMs: 200 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockError);
    expect((err as LockError).message).toContain("process 4242 on build-server-7 (mlv push)");
  });

  it.skipIf(skip)("is not re-entrant: a second acquire in the same process fails", async () => {
    const dvcDir = await freshRepo();
    const lock: RepoLock = await acquireRepoLock(dvcDir, { command: "mlv add", flock });
    try {
      const err = await acquireRepoLock(dvcDir, { flock, waitMs: 0 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LockError);
      expect((err as LockError).code).toBe("ELOCKED");
      expect((err as LockError).message).toContain(`process ${process.pid} (mlv add)`);
    } finally {
      await lock.release();
    }
  });
});

describe.skipIf(!hasFlock || !hasPython)("acquireRepoLock and DVC (zc.lockfile's flock)", () => {
  /** What DVC does: zc.lockfile takes flock(LOCK_EX | LOCK_NB) on .dvc/tmp/lock and writes " <pid>\n". */
  const zcLockfile = `
import fcntl, os, sys
fp = open(sys.argv[1], "a+")
try:
    fcntl.flock(fp.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
except OSError:
    print("busy", flush=True); sys.exit(0)
fp.seek(0); fp.truncate(); fp.write(" %d\\n" % os.getpid()); fp.flush()
print("locked", flush=True)
sys.stdin.readline()
`;

  it("mlv fails while DVC holds the lock, naming DVC's process", async () => {
    const dvcDir = await freshRepo();
    await mkdir(join(dvcDir, "tmp"));
    const dvc = spawn("python3", ["-c", zcLockfile, join(dvcDir, "tmp", "lock")], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    children.push(dvc);
    const lines = createInterface({ input: dvc.stdout! })[Symbol.asyncIterator]();
    expect((await lines.next()).value).toBe("locked");
    const err = await acquireRepoLock(dvcDir, { waitMs: 300 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockError);
    expect((err as LockError).message).toContain(`process ${dvc.pid} (`);
    expect(existsSync(join(dvcDir, "tmp", "mlv.lock"))).toBe(false);
    dvc.stdin!.end("\n");
    await new Promise((ok) => dvc.on("exit", ok));
    const lock = await acquireRepoLock(dvcDir, { waitMs: 1000 });
    expect(lock.flocked).toBe(true);
    await lock.release();
  });

  it("DVC cannot lock the repository while mlv holds it, and can after release", async () => {
    const dvcDir = await freshRepo();
    const lock = await acquireRepoLock(dvcDir, { command: "mlv push" });
    const tryDvc = () =>
      spawnSync("python3", ["-c", zcLockfile, join(dvcDir, "tmp", "lock")], { input: "\n" })
        .stdout.toString()
        .trim();
    expect(tryDvc()).toBe("busy");
    await lock.release();
    expect(tryDvc()).toBe("locked");
  });
});
