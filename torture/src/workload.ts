/**
 * A project shaped to keep mlv (or DVC) busy for a noticeable time: a few big files of random bytes
 * and a folder of many small ones, tracked, pushed to a local folder remote. Used by the kill -9
 * matrix and the concurrent-processes suite, with what they check after each case.
 */
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { dvcBin, dvcEnv } from "../../test-fixtures/dvc-peer.js";
import { seededRandom } from "../../test-fixtures/random.js";
import { LEFTOVER, leftovers, md5, type ObjectCheck, verifyObjects, walkFiles } from "./check.js";
import type { Tally } from "./table.js";
import { dvc, MLV_BIN, mlv, type Run, type RunOptions } from "./tools.js";

// ---- seeded randomness ----

/** The run's seed: TORTURE_SEED when given (to replay a failure), else a fresh one. */
export function suiteSeed(suite: string): number {
  const given = process.env.TORTURE_SEED;
  const seed = given !== undefined && given !== "" ? Number(given) >>> 0 : Math.floor(Math.random() * 2 ** 31);
  process.stdout.write(`${suite}: seed ${seed} (replay with TORTURE_SEED=${seed})\n`);
  return seed;
}

export { seededRandom };

// ---- the data ----

export interface DataShape {
  /** Sizes of the big files, in MiB. */
  bigMiB: readonly number[];
  /** How many small files the `small/` folder holds. */
  smallFiles: number;
}

export interface DataSet {
  /** Folder holding the pristine files, copied into every project. */
  dir: string;
  /** What is tracked: `big1.bin`, `big2.bin`, …, `small`. */
  targets: string[];
  /** Every file (relative path) and the md5 of its bytes. */
  files: Record<string, string>;
}

const MiB = 1024 * 1024;

/** Write `bytes` random bytes to `path` in 4 MiB pieces (a buffer of 300 MiB is not needed). */
export function writeRandomFile(path: string, bytes: number): string {
  const chunks: Buffer[] = [];
  for (let done = 0; done < bytes; done += 4 * MiB) chunks.push(randomBytes(Math.min(4 * MiB, bytes - done)));
  const data = Buffer.concat(chunks);
  writeFileSync(path, data);
  return md5(data);
}

/** The big files and the small-file folder, written once into `dir`. Small sizes come from `rand`. */
export function makeDataSet(dir: string, shape: DataShape, rand: () => number): DataSet {
  mkdirSync(join(dir, "small"), { recursive: true });
  const files: Record<string, string> = {};
  const targets: string[] = [];
  shape.bigMiB.forEach((size, i) => {
    const name = `big${i + 1}.bin`;
    files[name] = writeRandomFile(join(dir, name), size * MiB);
    targets.push(name);
  });
  for (let i = 0; i < shape.smallFiles; i++) {
    const rel = `small/f${String(i).padStart(5, "0")}.bin`;
    const data = randomBytes(16 + Math.floor(rand() * 4000));
    writeFileSync(join(dir, rel), data);
    files[rel] = md5(data);
  }
  targets.push("small");
  return { dir, targets, files };
}

// ---- running either tool ----

export type Tool = "mlv" | "dvc";

/** Run `mlv args` or `dvc args` in `cwd`. */
export function exec(
  tool: Tool,
  cwd: string,
  args: readonly string[],
  options: Omit<RunOptions, "cwd"> = {},
): Promise<Run> {
  if (tool === "mlv") return mlv(cwd, args, options);
  const started = dvc(cwd, args, options);
  if (started === undefined) throw new Error("the real DVC is not installed");
  return started;
}

/** The first lines of a run's output and its first error line (a crash's is below its stack), for a report note. */
export function said(r: Run): string {
  const lines = `${r.stderr}\n${r.stdout}`.split("\n").filter((l) => l.trim() !== "");
  const error = lines.find((l) => /^\w*Error\b|^ERROR/.test(l.trim()));
  const shown = [...new Set([...lines.slice(0, 3), ...(error ? [error] : [])])].join(" / ");
  return `exit ${r.code ?? r.signal}: ${shown.slice(0, 400)}`;
}

/**
 * Run `tool args` (environment as `exec` gives it) and SIGKILL it as soon as `when()` holds,
 * checked every few milliseconds: to kill at a moment of the work rather than of the clock.
 */
export function execKilledWhen(tool: Tool, cwd: string, args: readonly string[], when: () => boolean): Promise<Run> {
  const [file, argv, env] =
    tool === "mlv"
      ? [process.execPath, [MLV_BIN, ...args], { ...process.env, NO_COLOR: "1", CI: "true" }]
      : [dvcBin() ?? "dvc", [...args], { ...process.env, ...dvcEnv(cwd) }];
  return new Promise((resolve, reject) => {
    const child = spawn(file, argv, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let killed = false;
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    const poll = setInterval(() => {
      if (child.exitCode === null && when()) {
        killed = true;
        child.kill("SIGKILL");
      }
    }, 3);
    const limit = setTimeout(() => child.kill("SIGKILL"), 120_000);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearInterval(poll);
      clearTimeout(limit);
      resolve({ code, signal, stdout, stderr, killed });
    });
  });
}

function git(cwd: string, ...args: string[]): void {
  execFileSync("git", args, { cwd, env: dvcEnv(cwd), stdio: "ignore" });
}

async function must(tool: Tool, cwd: string, args: readonly string[]): Promise<void> {
  const r = await exec(tool, cwd, args);
  if (r.code !== 0) throw new Error(`${tool} ${args.join(" ")} in ${cwd}: ${said(r)}`);
}

// ---- a project ----

export interface Project {
  tool: Tool;
  root: string;
  cache: string;
  remote: string;
  targets: string[];
  /** Workspace path -> md5 of the bytes it must hold. */
  files: Record<string, string>;
  /** Every object the tracked data needs, as `files/md5/xx/yyyy…` below a cache or remote. */
  objects: string[];
  /** Objects of data added but not pushed: needed in the cache only. */
  localObjects?: string[];
  /** Pointer file -> its text right after the first `add`. */
  pointers: Record<string, string>;
}

/** Where the object with hash `h` (maybe `….dir`) lives below a cache or a remote. */
export function objectKey(h: string): string {
  return `files/md5/${h.slice(0, 2)}/${h.slice(2)}`;
}

/** The hashes a pointer file records (`md5: …` lines). */
export function pointerHashes(text: string): string[] {
  return [...text.matchAll(/md5: ([0-9a-f]{32}(?:\.dir)?)/g)].map((m) => m[1]!);
}

/** An empty project in `root`: git, `init`, a default local remote `remote`. */
export async function initProject(tool: Tool, root: string, remote: string): Promise<void> {
  mkdirSync(root, { recursive: true });
  mkdirSync(remote, { recursive: true });
  git(root, "init", "-q", "-b", "main");
  await must(tool, root, ["init", "-q"]);
  await must(tool, root, ["remote", "add", "-d", "store", remote]);
}

/**
 * A project in `root` holding a copy of `data`, tracked (one pointer per target) and pushed to
 * `remote`: the state every case starts from and must end in.
 */
export async function createProject(tool: Tool, root: string, remote: string, data: DataSet): Promise<Project> {
  rmSync(root, { recursive: true, force: true });
  rmSync(remote, { recursive: true, force: true });
  await initProject(tool, root, remote);
  for (const t of data.targets) cpSync(join(data.dir, t), join(root, t), { recursive: true });
  await must(tool, root, ["add", "-q", ...data.targets]);
  await must(tool, root, ["push", "-q"]);
  const pointers: Record<string, string> = {};
  for (const t of data.targets) pointers[`${t}.dvc`] = readFileSync(join(root, `${t}.dvc`), "utf8");
  const hashes = new Set(Object.values(data.files));
  for (const text of Object.values(pointers)) for (const h of pointerHashes(text)) hashes.add(h);
  return {
    tool,
    root,
    cache: join(root, ".dvc", "cache"),
    remote,
    targets: [...data.targets],
    files: { ...data.files },
    objects: [...hashes].map(objectKey).sort(),
    pointers,
  };
}

/** Copy the project (repository and remote) to `dir`, to bring it back later with `restore`. */
export function snapshot(p: Project, dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  cpSync(p.root, join(dir, "repo"), { recursive: true });
  cpSync(p.remote, join(dir, "remote"), { recursive: true });
}

/** Put the project back as `snapshot` saved it, at the same paths (the remote URL stays right). */
export function restore(p: Project, dir: string): void {
  rmSync(p.root, { recursive: true, force: true });
  rmSync(p.remote, { recursive: true, force: true });
  cpSync(join(dir, "repo"), p.root, { recursive: true });
  cpSync(join(dir, "remote"), p.remote, { recursive: true });
}

// ---- resets ----

/** Remove the tracked files and folders from the workspace (their pointers stay). */
export function removeWorkspaceData(p: Project): void {
  for (const t of p.targets) rmSync(join(p.root, t), { recursive: true, force: true });
}

export function emptyCache(p: Project): void {
  rmSync(p.cache, { recursive: true, force: true });
}

export function emptyRemote(p: Project): void {
  rmSync(p.remote, { recursive: true, force: true });
  mkdirSync(p.remote, { recursive: true });
}

/** Forget what was added: pointers, `.gitignore` and the cache (the files stay). */
export function untrack(p: Project): void {
  for (const file of Object.keys(p.pointers)) rmSync(join(p.root, file), { force: true });
  rmSync(join(p.root, ".gitignore"), { force: true });
  emptyCache(p);
}

/**
 * Put `count` valid but unreferenced objects (random bytes named by their md5) below `store`
 * (a cache or a remote), for gc to delete. Returns their keys.
 */
export function addGarbage(store: string, count: number, rand: () => number): string[] {
  const keys: string[] = [];
  for (let i = 0; i < count; i++) {
    const data = randomBytes(64 + Math.floor(rand() * 8000));
    const key = objectKey(md5(data));
    mkdirSync(join(store, key, ".."), { recursive: true });
    writeFileSync(join(store, key), data);
    keys.push(key);
  }
  return keys;
}

// ---- checks ----

/** What a case left, sorted by the column of the table it counts in. */
export interface Findings {
  /** Objects not matching their name, workspace files with wrong bytes, pointers changed. */
  corrupt: string[];
  /** Objects or workspace files that must be there and are not. */
  lost: string[];
  /** Temporary files, lock markers, stray files in tracked folders. */
  leftBehind: string[];
  /** Anything else that makes the case fail (status not clean, garbage kept…). */
  other: string[];
  /** The files counted in `leftBehind`, absolute. */
  leftPaths: string[];
}

export function noFindings(): Findings {
  return { corrupt: [], lost: [], leftBehind: [], other: [], leftPaths: [] };
}

/** Whether the case ended as the rule says. */
export function clean(f: Findings): boolean {
  return !f.corrupt.length && !f.lost.length && !f.leftBehind.length && !f.other.length;
}

/** Count a case in its row; true when it passed. */
export function countCase(tally: Tally, f: Findings): boolean {
  tally.tried++;
  if (f.corrupt.length) tally.corrupt++;
  if (f.lost.length) tally.lost++;
  if (f.leftBehind.length) tally.leftBehind++;
  if (clean(f)) tally.passed++;
  return clean(f);
}

/** The findings as one line for a report note. */
export function describeFindings(f: Findings): string {
  return [
    ...f.other,
    ...f.corrupt.map((s) => `corrupt: ${s}`),
    ...f.lost.map((s) => `lost: ${s}`),
    ...f.leftBehind.map((s) => `left behind: ${s}`),
  ].join("; ");
}

/**
 * Bring the project back to its state before the case: when only temporary files were left, delete
 * them (already counted); otherwise copy the saved state back.
 */
export function repair(p: Project, f: Findings, saved: string): void {
  if (clean(f)) return;
  if (f.leftBehind.length && !f.corrupt.length && !f.lost.length && !f.other.length)
    for (const abs of f.leftPaths) rmSync(abs, { force: true });
  else restore(p, saved);
}

/**
 * The md5 of files, remembered with the file's inode, size, mtime and ctime: a file that nothing
 * wrote since it was last hashed is not read again (every write changes its ctime). Hundreds of
 * cases check the same hundreds of MiB; this keeps each check to what the case changed.
 */
export class HashMemo {
  private readonly known = new Map<string, { sig: string; sum: string }>();

  /** The md5 of the regular file `abs`; undefined when it is not one. */
  md5(abs: string): string | undefined {
    let st: import("node:fs").BigIntStats;
    try {
      st = statSync(abs, { bigint: true });
    } catch {
      return undefined;
    }
    if (!st.isFile()) return undefined;
    const sig = `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
    const hit = this.known.get(abs);
    if (hit?.sig === sig) return hit.sum;
    const sum = md5(readFileSync(abs));
    this.known.set(abs, { sig, sum });
    return sum;
  }
}

/** `verifyObjects` (same rules) through `memo`: only new or rewritten objects are read. */
export function verifyObjectsMemo(root: string, memo: HashMemo): ObjectCheck {
  const result: ObjectCheck = { objects: 0, corrupt: [] };
  for (const rel of walkFiles(root)) {
    const m = /(?:^|\/)([0-9a-f]{2})\/([0-9a-f]{30})(\.dir)?$/.exec(rel);
    if (!m || LEFTOVER.test(rel) || rel.startsWith("runs/") || rel.includes("/runs/")) continue;
    const sum = memo.md5(join(root, rel));
    if (sum === undefined) continue;
    result.objects++;
    if (sum !== `${m[1]}${m[2]}`) result.corrupt.push(rel);
  }
  return result;
}

/** Workspace files that are missing or hold other bytes than `files` says. */
export function workspaceMismatch(
  root: string,
  files: Record<string, string>,
  memo = new HashMemo(),
): { missing: string[]; wrong: string[] } {
  const missing: string[] = [];
  const wrong: string[] = [];
  for (const [rel, sum] of Object.entries(files)) {
    const now = memo.md5(join(root, rel));
    if (now === undefined) missing.push(rel);
    else if (now !== sum) wrong.push(rel);
  }
  return { missing, wrong };
}

/** Keys of `objects` absent below `store`. */
export function missingObjects(store: string, objects: readonly string[]): string[] {
  return objects.filter((k) => !existsSync(join(store, k)));
}

/** Files inside the tracked folders that are not part of the data (a temporary file under any name). */
function strayFiles(p: Project): string[] {
  const stray: string[] = [];
  for (const t of p.targets) {
    const abs = join(p.root, t);
    if (!existsSync(abs) || !statSync(abs).isDirectory()) continue;
    for (const f of walkFiles(abs)) if (!(`${t}/${f}` in p.files)) stray.push(`${t}/${f}`);
  }
  return stray;
}

/** mlv's lock marker, still there once every command has ended: a lock the next run must break. */
function lockMarkers(root: string): string[] {
  const tmp = join(root, ".dvc", "tmp");
  if (!existsSync(tmp)) return [];
  return readdirSync(tmp)
    .filter((n) => n === "mlv.lock" || n === "mlv.lock.break")
    .map((n) => `.dvc/tmp/${n}`);
}

/**
 * DVC names a temporary file `<name>.<token_urlsafe(16)>.tmp`: 22 characters that may hold "-" and
 * "_", which LEFTOVER's DVC pattern (letters and digits only) misses about half of the time.
 */
const DVC_TEMP = /\.[A-Za-z0-9_-]{22}\.tmp$/;

/** `leftovers`, and DVC's temporary files whatever their token holds. */
export function tempFiles(root: string): string[] {
  const dvcTemps = walkFiles(root).filter(
    (f) => !f.startsWith(".git/") && !f.startsWith(".dvc/tmp/") && DVC_TEMP.test(f),
  );
  return [...new Set([...leftovers(root), ...dvcTemps])].sort();
}

const few = (xs: readonly string[], n = 3) =>
  xs.length > n ? `${xs.slice(0, n).join(", ")} … (${xs.length})` : xs.join(", ");

/**
 * Everything checked once all commands of a case have ended: objects of the cache and the remote
 * hash to their names and all are there, the workspace holds the expected bytes, the pointers are
 * as first written, nothing temporary or locked is left. Without `memo` every byte is read again
 * (`verifyObjects`); with it, only what changed since the last check.
 */
export function inspect(p: Project, f: Findings = noFindings(), memo?: HashMemo): Findings {
  for (const [where, store] of [
    ["cache", p.cache],
    ["remote", p.remote],
  ] as const) {
    const check = memo ? verifyObjectsMemo(store, memo) : verifyObjects(store);
    if (check.corrupt.length) f.corrupt.push(`${where} objects not matching their name: ${few(check.corrupt)}`);
    const needed = store === p.cache ? [...p.objects, ...(p.localObjects ?? [])] : p.objects;
    const missing = missingObjects(store, needed);
    if (missing.length) f.lost.push(`${where} lacks ${few(missing)}`);
  }
  const remoteLeft = tempFiles(p.remote);
  if (remoteLeft.length) f.leftBehind.push(`remote: ${few(remoteLeft)}`);
  f.leftPaths.push(...remoteLeft.map((rel) => join(p.remote, rel)));
  const ws = workspaceMismatch(p.root, p.files, memo);
  if (ws.missing.length) f.lost.push(`workspace lacks ${few(ws.missing)}`);
  if (ws.wrong.length) f.corrupt.push(`workspace files with wrong bytes: ${few(ws.wrong)}`);
  for (const [file, text] of Object.entries(p.pointers)) {
    const now = existsSync(join(p.root, file)) ? readFileSync(join(p.root, file), "utf8") : undefined;
    if (now === undefined) f.lost.push(`pointer ${file} is gone`);
    else if (pointerHashes(now).join() !== pointerHashes(text).join()) f.corrupt.push(`pointer ${file} changed`);
  }
  const left = [...new Set([...tempFiles(p.root), ...strayFiles(p), ...lockMarkers(p.root)])];
  if (left.length) f.leftBehind.push(`repository: ${few(left)}`);
  f.leftPaths.push(...left.map((rel) => join(p.root, rel)));
  return f;
}

/** `status --json` (and with `cloud`, `status -c --json`) must report nothing; else what they said. */
export async function statusProblems(p: Project, cloud = false): Promise<string[]> {
  const problems: string[] = [];
  for (const args of cloud
    ? [
        ["status", "--json"],
        ["status", "-c", "--json"],
      ]
    : [["status", "--json"]]) {
    const r = await exec(p.tool, p.root, args);
    if (r.code !== 0 || !isEmptyJsonObject(r.stdout))
      problems.push(`'${args.join(" ")}' not clean: ${said(r).slice(0, 200)}`);
  }
  return problems;
}

function isEmptyJsonObject(text: string): boolean {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === "object" && v !== null && Object.keys(v).length === 0;
  } catch {
    return false;
  }
}

/** Whether a failed run said the repository is locked and named who holds it. */
export function failedOnLock(tool: Tool, r: Run): boolean {
  const text = `${r.stderr}\n${r.stdout}`;
  if (tool === "dvc") return /Unable to acquire lock/.test(text);
  return /holds the lock/.test(text) && /process \d+/.test(text);
}
