import { type Stats, statSync } from "node:fs";
import type { HashCache } from "../cache/hash-cache.js";
import type { HashName, ObjectCache } from "../cache/object-cache.js";
import { DiskFullError, isDiskFull, MlvError, translateFsError } from "../errors.js";
import { dirManifestOid, serializeDirManifest } from "../formats/dir-manifest.js";
import { dos2unixFileMd5 } from "../hash/dos2unix.js";
import { md5File } from "../hash/md5.js";
import type { HashPool } from "../hash/pool.js";
import { ProgressCounter, type ProgressListener } from "../progress.js";
import type { DvcIgnore } from "./dvcignore.js";
import { type ScannedTree, scanTree } from "./scan.js";

/** Files at most this big are hashed in the worker pool; bigger ones stream on the main thread. */
const SMALL_FILE = 4 << 20;
/** Below this many files to hash, starting worker threads costs more than it saves. */
const POOL_THRESHOLD = 200;

/** What hashing workspace paths uses of a project (a `Project` is one). */
export interface HashingContext {
  readonly cache: ObjectCache;
  readonly hashCache: HashCache;
  readonly ignore: DvcIgnore;
  /** Posix path from the project root. */
  relOf(abs: string): string;
  /** Worker threads shared by the whole command. */
  workers(): HashPool;
}

export interface DirEntryState {
  relpath: string;
  md5: string;
  size: number;
  isexec: boolean;
}

export type WorkspaceState =
  | { kind: "missing" }
  | { kind: "file"; md5: string; size: number; isexec: boolean; st: Stats }
  | {
      kind: "dir";
      md5: string;
      size: number;
      nfiles: number;
      manifest: Buffer;
      entries: DirEntryState[];
      /** mlv's temporary files inside the folder (absolute): not part of it, maybe a killed command's. */
      temps: string[];
    };

/** What `status` compares with a record: a path's hash, without a folder's listing. */
export type WorkspaceSummary =
  | { kind: "missing" }
  | { kind: "file"; md5: string; size: number; isexec: boolean }
  | { kind: "dir"; md5: string; size: number; nfiles: number };

export interface HashOptions {
  /** Also put every file into the cache (add). */
  store?: boolean;
  /** How many files the folder held when last recorded: decides whether to walk it in parallel. */
  expectedFiles?: number;
  /** Progress: files and bytes done so far (within big files too), out of the totals. */
  onProgress?: ProgressListener;
}

function isExec(st: Stats): boolean {
  return (st.mode & 0o111) !== 0;
}

/**
 * The current content of a workspace path, hashed the way its pointer says (md5, or legacy
 * md5-dos2unix). Unchanged files are answered from the hash cache without being read.
 */
export async function hashWorkspacePath(
  project: HashingContext,
  abs: string,
  hashName: HashName,
  options: HashOptions = {},
): Promise<WorkspaceState> {
  const found = statWorkspacePath(project, abs);
  if (found.kind === "missing") return found;
  if (found.kind === "dir") {
    const scanned = await scanTree(abs, found.rel, project.ignore, () => project.workers(), options.expectedFiles);
    return hashScanned(project, abs, found.rel, scanned, hashName, options);
  }
  return hashFile(project, abs, found.rel, found.st, hashName, options);
}

/**
 * The hash of a workspace path as `status` needs it: a folder whose listing is unchanged since it
 * was last hashed is answered from the hash cache as a whole, without a lookup per file.
 */
export async function summarizeWorkspacePath(
  project: HashingContext,
  abs: string,
  hashName: HashName,
  options: Pick<HashOptions, "expectedFiles"> = {},
): Promise<WorkspaceSummary> {
  const found = statWorkspacePath(project, abs);
  if (found.kind === "missing") return found;
  if (found.kind === "file") {
    const { md5, size, isexec } = await hashFile(project, abs, found.rel, found.st, hashName, {});
    return { kind: "file", md5, size, isexec };
  }
  const scanning = scanTree(abs, found.rel, project.ignore, () => project.workers(), options.expectedFiles);
  // Read the hash cache while the workers walk.
  const hashCache = project.hashCache;
  const scanned = await scanning;
  const digest = listingDigest(scanned);
  const known = hashCache.getDir(dirKey(found.rel, hashName), digest);
  if (known) return { kind: "dir", ...known };
  const state = await hashScanned(project, abs, found.rel, scanned, hashName, options, digest);
  if (state.kind !== "dir") return state;
  return { kind: "dir", md5: state.md5, size: state.size, nfiles: state.nfiles };
}

type Found = { kind: "missing" } | { kind: "dir"; rel: string } | { kind: "file"; rel: string; st: Stats };

function statWorkspacePath(project: HashingContext, abs: string): Found {
  let st: Stats;
  try {
    st = statSync(abs);
  } catch {
    return { kind: "missing" };
  }
  const rel = project.relOf(abs);
  if (project.ignore.isIgnored(rel, st.isDirectory())) return { kind: "missing" };
  if (st.isDirectory()) return { kind: "dir", rel };
  // Reading a FIFO would wait for a writer forever (and a device could be endless): never open one.
  if (!st.isFile())
    throw new MlvError(
      "ENOTFILE",
      `'${rel}' is ${st.isFIFO() ? "a FIFO (named pipe)" : st.isSocket() ? "a socket" : "a device"}, not a file or a folder: mlv only tracks files and folders; move it away`,
      { data: { path: rel } },
    );
  return { kind: "file", rel, st };
}

async function hashFile(
  project: HashingContext,
  abs: string,
  rel: string,
  st: Stats,
  hashName: HashName,
  options: HashOptions,
): Promise<WorkspaceState & { kind: "file" }> {
  const progress = new ProgressCounter(options.onProgress, "add", 1, st.size);
  const file = progress.file();
  const md5 = await hashOneFile(
    project,
    abs,
    rel,
    st,
    hashName,
    options.store ?? false,
    progress.enabled ? (n) => file.set(n) : undefined,
  );
  file.done(st.size);
  return { kind: "file", md5, size: st.size, isexec: isExec(st), st };
}

/** The hash cache's key for a folder hashed one way. */
function dirKey(rel: string, hashName: HashName): string {
  return hashName === "md5" ? rel : `${rel}\0${hashName}`;
}

/**
 * A digest of a folder's listing: every file's path, inode, mtime, size and mode, in walk order.
 * The folder's hash is a function of these as long as each file's own (inode, mtime, size) vouches
 * for its content, which is the hash cache's rule for single files too.
 */
function listingDigest(scanned: ScannedTree): string {
  return `${scanned.rels.length}:${scanned.digest}`;
}

async function hashOneFile(
  project: HashingContext,
  abs: string,
  key: string,
  st: Stats,
  hashName: HashName,
  store: boolean,
  onBytes?: (bytes: number) => void,
) {
  const cacheKey = hashName === "md5" ? key : `${key}\0dos2unix`;
  const known = project.hashCache.get(cacheKey, st);
  if (known && (!store || hashName !== "md5" || project.cache.exists(known))) return known;
  let md5: string;
  try {
    if (hashName !== "md5") md5 = await dos2unixFileMd5(abs);
    else md5 = store ? (await project.cache.addFile(abs, onBytes)).md5 : (await md5File(abs, onBytes)).md5;
  } catch (err) {
    throw translateFsError(err, abs);
  }
  project.hashCache.set(cacheKey, st, md5);
  return md5;
}

async function hashScanned(
  project: HashingContext,
  abs: string,
  rel: string,
  scanned: ScannedTree,
  hashName: HashName,
  options: HashOptions,
  digest?: string,
): Promise<WorkspaceState> {
  const { rels, nums, temps } = scanned;
  const getPool = () => project.workers();
  const count = rels.length;
  const store = options.store ?? false;
  let totalBytes = 0;
  for (let i = 0; i < count; i++) totalBytes += nums[i * 4 + 2]!;
  const counter = new ProgressCounter(options.onProgress, "add", count, totalBytes);
  const progress = (n: number, bytes: number) => counter.addFiles(n, bytes);
  counter.start();

  const md5s: string[] = new Array(count);
  const small: number[] = [];
  const large: number[] = [];
  const hc = project.hashCache;
  const cache = project.cache;
  const suffix = hashName === "md5" ? "" : "\0dos2unix";
  const st = { ino: 0, mtimeMs: 0, size: 0 };
  let cachedBytes = 0;
  for (let i = 0; i < count; i++) {
    st.ino = nums[i * 4]!;
    st.mtimeMs = nums[i * 4 + 1]!;
    st.size = nums[i * 4 + 2]!;
    const known = hc.get(`${rel}/${rels[i]}${suffix}`, st);
    if (known && (!store || hashName !== "md5" || cache.exists(known))) {
      md5s[i] = known;
      cachedBytes += st.size;
    } else if (hashName === "md5" && st.size <= SMALL_FILE) small.push(i);
    else large.push(i);
  }
  if (count - small.length - large.length > 0) progress(count - small.length - large.length, cachedBytes);

  if (small.length >= POOL_THRESHOLD) {
    if (store) await cache.ensureDir(cache.objectsDir);
    const results = await getPool().hashAll(
      small.map((i) => `${abs}/${rels[i]}`),
      { objectsDir: store ? cache.objectsDir : undefined },
      progress,
    );
    for (let k = 0; k < small.length; k++) {
      const r = results[k]!;
      const i = small[k]!;
      if (r.error) {
        const err = Object.assign(new Error(r.error.message), { code: r.error.code });
        const file = `${abs}/${rels[i]}`;
        throw store && isDiskFull(err)
          ? new DiskFullError(file, err, `copying '${file}' into the cache '${cache.root}'`)
          : translateFsError(err, file);
      }
      md5s[i] = r.md5;
      hc.set(`${rel}/${rels[i]}`, r, r.md5);
    }
  } else {
    large.push(...small);
  }
  for (const i of large) {
    const fileAbs = `${abs}/${rels[i]}`;
    const fst = statSync(fileAbs);
    const file = counter.file();
    const onBytes = counter.enabled ? (n: number) => file.set(n) : undefined;
    md5s[i] = await hashOneFile(project, fileAbs, `${rel}/${rels[i]}`, fst, hashName, store, onBytes);
    file.done(fst.size);
  }

  const entries: DirEntryState[] = new Array(count);
  for (let i = 0; i < count; i++) {
    entries[i] = {
      relpath: rels[i]!,
      md5: md5s[i]!,
      size: nums[i * 4 + 2]!,
      isexec: (nums[i * 4 + 3]! & 0o111) !== 0,
    };
  }
  const manifest = serializeDirManifest(entries);
  const md5 = dirManifestOid(manifest);
  if (store) await cache.addBytes(md5, manifest, hashName);
  hc.setDir(dirKey(rel, hashName), digest ?? listingDigest(scanned), { md5, size: totalBytes, nfiles: count });
  return { kind: "dir", md5, size: totalBytes, nfiles: count, manifest, entries, temps };
}

/** Below this many objects, stat'ing on the main thread beats handing the work to the workers. */
const MODES_IN_WORKERS = 500;
/** About the bytes of one entry of a `.dir` listing: a listing this big names `MODES_IN_WORKERS` objects. */
const LISTING_IN_WORKERS = MODES_IN_WORKERS * 80;

/**
 * Whether a file object, or a `.dir` object and every file it lists, is valid in the cache (spec
 * §3.3): a read-only (0444) object is trusted; any other is rehashed, and deleted if corrupt.
 */
export async function isInCache(project: HashingContext, oid: string, hashName: HashName): Promise<boolean> {
  const cache = project.cache;
  if (!oid.endsWith(".dir")) return cache.isValid(oid, hashName);
  if (!(await cache.isValid(oid, hashName))) return false;
  const listing = cache.path(oid, hashName);
  if (hashName === "md5" && (statSync(listing, { throwIfNoEntry: false })?.size ?? 0) >= LISTING_IN_WORKERS) {
    // A big listing is read where its objects are stat'ed, in the workers: only the objects that
    // are not read-only come back.
    const found = await project.workers().dirObjectModes(cache.objectsDir, listing);
    if (found) {
      if (found.odd.length === 0) return true;
      const entries = await cache.readDirObject(oid, hashName);
      return checkModes(project, entries, found.odd, hashName);
    }
  }
  const entries = await cache.readDirObject(oid, hashName);
  let modes: ArrayLike<number>;
  if (entries.length >= MODES_IN_WORKERS && hashName === "md5")
    modes = await project.workers().objectModes(
      cache.objectsDir,
      entries.map((e) => e.md5),
    );
  else
    modes = entries.map((e) => {
      const st = statSync(cache.path(e.md5, hashName), { throwIfNoEntry: false });
      return st?.isFile() ? st.mode & 0o777 : -1;
    });
  const odd: number[] = [];
  for (let i = 0; i < entries.length; i++) if (modes[i] !== 0o444) odd.push(i, modes[i]!);
  return checkModes(project, entries, odd, hashName);
}

/** The objects that are not read-only, as (entry index, mode or -1 when missing) in listing order. */
async function checkModes(
  project: HashingContext,
  entries: { md5: string }[],
  odd: ArrayLike<number>,
  hashName: HashName,
): Promise<boolean> {
  for (let k = 0; k < odd.length; k += 2) {
    if (odd[k + 1] === -1) return false;
    if (!(await project.cache.isValid(entries[odd[k]!]!.md5, hashName))) return false;
  }
  return true;
}
