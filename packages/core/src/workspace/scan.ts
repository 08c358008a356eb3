import { createHash } from "node:crypto";
import { readdirSync, type Stats, statSync } from "node:fs";
import { TEMP_FILE } from "../atomic-write.js";
import { FormatError, translateFsError } from "../errors.js";
import type { HashPool } from "../hash/pool.js";
import type { DvcIgnore } from "./dvcignore.js";
import { walkFiles } from "./walk.js";

/**
 * The files of a tracked folder with what the hash cache needs, packed to keep 50,000 files cheap:
 * `nums` holds (ino, mtimeMs, size, mode) per file, in the order of `rels`.
 */
export interface ScannedTree {
  rels: string[];
  nums: Float64Array;
  /** mlv's temporary files found in the tree (absolute paths): never data, maybe a killed command's. */
  temps: string[];
  /**
   * An md5 of the listing (paths and numbers, in walk order), computed where the walk ran. Equal
   * digests mean an equal listing when the walk took the same path (same size, same threads).
   */
  digest: string;
}

/** Below this many files (as last recorded), handing the walk to a worker thread costs more than it saves. */
const OFF_MAIN_FILES = 500;
/** From this many files, the walk is split between the worker threads. */
const PARALLEL_FILES = 2000;

/**
 * Walk a tracked folder. Without `.dvcignore` rules, large trees are walked by the worker pool,
 * one share of the top-level folders per thread: stat'ing is the cost of `status`, and two threads
 * halve it. A middling tree (or one without subfolders) is walked by one worker, so that the main
 * thread goes on with other outputs meanwhile. With rules, or for small trees, the main thread walks.
 */
export async function scanTree(
  abs: string,
  rel: string,
  ignore: DvcIgnore,
  getPool: () => HashPool,
  expectedFiles?: number,
): Promise<ScannedTree> {
  const expected = expectedFiles ?? PARALLEL_FILES;
  if (ignore.anyRulesFor(rel) || expected < OFF_MAIN_FILES) return walkInline(abs, rel, ignore);
  if (expected < PARALLEL_FILES) return scanInWorkers(getPool(), abs, [[abs, ""]]);
  const entries = readdirSync(abs, { withFileTypes: true });
  const dirs: [string, string][] = [];
  const rels: string[] = [];
  const top: number[] = [];
  const temps: string[] = [];
  for (const e of entries) {
    const name = e.name;
    if (name === ".git" || name === ".hg" || name === ".dvc") continue;
    if (TEMP_FILE.test(name)) {
      temps.push(`${abs}/${name}`);
      continue;
    }
    if (name === ".dvcignore")
      throw new FormatError(`${abs}/${name}`, `.dvcignore file should not be in collected dir path: '${abs}'`);
    const childAbs = `${abs}/${name}`;
    if (e.isDirectory()) dirs.push([childAbs, name]);
    else if (e.isFile() || e.isSymbolicLink()) {
      const st = statOrThrowClearly(childAbs);
      if (!st?.isFile()) continue;
      rels.push(name);
      top.push(st.ino, st.mtimeMs, st.size, st.mode);
    }
  }
  // The top-level files are stat'ed already; subfolders (if any) go to the workers.
  const pool = getPool();
  const shares: [string, string][][] = Array.from({ length: pool.size }, () => []);
  for (const [i, d] of dirs.entries()) shares[i % shares.length]!.push(d);
  const parts = await Promise.all(shares.filter((s) => s.length > 0).map((s) => scanInWorkers(pool, abs, s)));
  const total = top.length + parts.reduce((n, p) => n + p.nums.length, 0);
  const nums = new Float64Array(total);
  nums.set(top, 0);
  const digest = digestOf(rels, nums.subarray(0, top.length));
  let offset = top.length;
  for (const p of parts) {
    nums.set(p.nums, offset);
    offset += p.nums.length;
    for (const r of p.rels) rels.push(r);
    for (const t of p.temps) temps.push(t);
    digest.update(p.digest);
  }
  return { rels, nums, temps, digest: digest.digest("hex") };
}

/** The md5 of a listing, as the workers compute it (to be finished, or extended with theirs). */
function digestOf(rels: string[], nums: Float64Array) {
  return createHash("md5")
    .update(rels.join("\0"))
    .update(new Uint8Array(nums.buffer, nums.byteOffset, nums.byteLength));
}

/** Folders walked by one worker thread; a `.dvcignore` met inside is the error DVC gives. */
async function scanInWorkers(pool: HashPool, abs: string, roots: [string, string][]): Promise<ScannedTree> {
  try {
    return await pool.scan(roots);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EDVCIGNORE")
      throw new FormatError((err as Error).message, `.dvcignore file should not be in collected dir path: '${abs}'`);
    throw translateFsError(err, (err as NodeJS.ErrnoException).path ?? abs);
  }
}

function walkInline(abs: string, rel: string, ignore: DvcIgnore): ScannedTree {
  const temps: string[] = [];
  const files = walkFiles(abs, rel, ignore, temps);
  const nums = new Float64Array(files.length * 4);
  for (const [i, f] of files.entries()) nums.set([f.st.ino, f.st.mtimeMs, f.st.size, f.st.mode], i * 4);
  const rels = files.map((f) => f.rel);
  return { rels, nums, temps, digest: digestOf(rels, nums).digest("hex") };
}

/** A file's stat through symlinks; undefined for a dangling link (it holds no data), a clear error for a loop. */
function statOrThrowClearly(path: string): Stats | undefined {
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch (err) {
    throw translateFsError(err, path);
  }
}
