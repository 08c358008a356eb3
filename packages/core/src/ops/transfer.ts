import { createReadStream, createWriteStream, existsSync, statSync } from "node:fs";
import { chmod, readFile, unlink } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { dirname } from "node:path";
import { pipeline } from "node:stream/promises";
import pMap from "p-map";
import { type HashName, objectKey, tmpName } from "../cache/object-cache.js";
import { MlvError, RemoteError, translateFsError } from "../errors.js";
import { parseDirManifest } from "../formats/dir-manifest.js";
import type { PointerFile } from "../formats/pointer.js";
import { dos2unixFileMd5 } from "../hash/dos2unix.js";
import { md5File, md5Hex } from "../hash/md5.js";
import type { VerifyTask } from "../hash/pool.js";
import type { Remote } from "../remote.js";
import type { Repo, TrackedOut } from "../repo.js";
import { readDirObject } from "../workspace/manifests.js";
import type { ProgressListener } from "./progress.js";

/** One object a set of outputs needs, with the path a person knows it by. */
export interface UsedObject {
  oid: string;
  hashName: HashName;
  /** `data` for an output, `data/sub/file` for a file of a tracked folder. */
  readonly path: string;
}

/** A file of a tracked folder; its path is only spelled out when someone asks (50,000 strings add up). */
class DirFileObject implements UsedObject {
  constructor(
    readonly oid: string,
    readonly hashName: HashName,
    private readonly dir: string,
    private readonly relpath: string,
  ) {}

  get path(): string {
    return `${this.dir}/${this.relpath}`;
  }
}

/** The objects of one output: a file, or a `.dir` and the files it lists. */
export interface OutObjects {
  out: TrackedOut;
  dir?: UsedObject;
  files: UsedObject[];
}

export interface TransferFailure {
  path: string;
  message: string;
}

export interface TransferResult {
  /** Objects copied. */
  transferred: number;
  /** Objects that were already there. */
  skipped: number;
  failed: TransferFailure[];
  /** Objects in neither the cache nor the remote. */
  missing: string[];
}

export interface TransferOptions {
  jobs?: number;
  onProgress?: ProgressListener;
  /** Stops between objects: transfers under way finish (each is atomic), then the call rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Whether an output was made by `mlv import` (its pointer has a dependency on another repository). */
export function isImport(o: TrackedOut): o is TrackedOut & { pointer: PointerFile } {
  const deps = o.pointer?.top.deps;
  return Array.isArray(deps) && deps.some((d) => typeof d === "object" && d !== null && "repo" in d);
}

/** DVC's default: 4 transfers per core, unless the remote says better. */
export function defaultJobs(remote: Remote): number {
  return remote.capabilities.defaultJobs ?? 4 * availableParallelism();
}

/**
 * The objects used by `outs`. A folder's file list comes from its `.dir` object in the cache;
 * `fetchDir` is asked for it when the cache does not have it (fetch), and may return undefined.
 */
export async function usedObjects(
  repo: Repo,
  outs: TrackedOut[],
  fetchDir?: (dir: UsedObject) => Promise<boolean>,
): Promise<{ objects: OutObjects[]; missingDirs: UsedObject[] }> {
  const objects: OutObjects[] = [];
  const missingDirs: UsedObject[] = [];
  for (const out of outs) {
    const oid = out.out.md5;
    // Outputs kept out of the cache (`cache: false`) have nothing to transfer.
    if (!oid || out.out.raw?.cache === false) continue;
    const self: UsedObject = { oid, hashName: out.hashName, path: out.rel };
    if (!out.isDir) {
      objects.push({ out, files: [self] });
      continue;
    }
    let present = repo.cache.exists(oid, out.hashName);
    if (!present && fetchDir) present = await fetchDir(self);
    if (!present) {
      missingDirs.push(self);
      objects.push({ out, dir: self, files: [] });
      continue;
    }
    const entries = await readDirObject(repo, oid, out.hashName);
    objects.push({
      out,
      dir: self,
      files: entries.map((e) => new DirFileObject(e.md5, out.hashName, out.rel, e.relpath)),
    });
  }
  return { objects, missingDirs };
}

/**
 * Download the `.dir` objects of `outs` that the cache lacks, verified, and no file: what reading
 * tracked folders' file lists needs. Folders whose `.dir` cannot be had are left out quietly.
 */
export async function fetchDirManifests(repo: Repo, outs: TrackedOut[], remote: Remote): Promise<void> {
  await usedObjects(
    repo,
    outs.filter((o) => o.isDir),
    (dir) =>
      withRetry(() => download(repo, remote, dir)).then(
        () => true,
        () => false,
      ),
  );
}

const LIST_PAGE = 1000;

/**
 * Which of `keys` exist on the remote, deciding between one listing and per-object checks the way
 * DVC does (spec §4.3): estimate the remote's size from one small prefix, then list everything
 * when that is cheaper than asking about each object.
 */
export async function remoteContains(remote: Remote, keys: string[], jobs: number): Promise<Set<string>> {
  const found = new Set<string>();
  const wanted = [...new Set(keys)];
  if (wanted.length === 0) return found;
  const existsEach = async (list: string[]) => {
    await pMap(
      list,
      async (k) => {
        if (await withRetry(() => remote.exists(k))) found.add(k);
      },
      { concurrency: jobs },
    );
  };
  if (wanted.length === 1 || !remote.capabilities.traverse) {
    await existsEach(wanted);
    return found;
  }
  const byRoot = new Map<string, string[]>();
  for (const k of wanted) {
    const root = k.startsWith("files/md5/") ? "files/md5/" : "";
    (byRoot.get(root) ?? byRoot.set(root, []).get(root)!).push(k);
  }
  for (const [root, list] of byRoot) {
    const sample = 16 ** 3;
    let count = 0;
    for await (const _ of remote.list(`${root}00/0`)) count++;
    const remoteSize = count === 0 ? sample : count * sample;
    const pages = remoteSize / LIST_PAGE;
    const weight = remoteSize > 500_000 ? pages * 5 : pages;
    if (list.length < weight) {
      await existsEach(list);
      continue;
    }
    const want = new Set(list);
    const prefixes =
      pages < 256 / jobs ? [root] : [...Array(256).keys()].map((i) => `${root}${i.toString(16).padStart(2, "0")}/`);
    await pMap(
      prefixes,
      async (prefix) => {
        for await (const key of remote.list(prefix)) if (want.has(key)) found.add(key);
      },
      { concurrency: jobs },
    );
  }
  return found;
}

/** Retry transient remote errors (throttling, dropped connections) with exponential backoff. */
export async function withRetry<T>(fn: () => Promise<T>, attempts = 4): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts || !(err instanceof RemoteError && err.transient)) throw err;
      await new Promise((r) => setTimeout(r, 250 * 2 ** i));
    }
  }
}

export function describe(err: unknown): string {
  if (err instanceof MlvError) return err.message;
  const e = err as NodeJS.ErrnoException;
  return e?.code ? `${e.code}: ${e.message}` : String(e?.message ?? err);
}

/**
 * `mlv push`: upload what `outs` use and the remote lacks. A folder's files go first and its
 * `.dir` last, and only when every file made it (spec §4.2), so a `.dir` on a remote always means
 * a complete folder.
 */
export async function push(
  repo: Repo,
  outs: TrackedOut[],
  remote: Remote,
  options: TransferOptions = {},
): Promise<TransferResult> {
  const jobs = options.jobs ?? defaultJobs(remote);
  // `push: false` keeps an output off remotes (it can still be fetched from one), and imported
  // data belongs to its source repository's remote, as in DVC.
  const { objects, missingDirs } = await usedObjects(
    repo,
    outs.filter((o) => o.out.raw?.push !== false && !isImport(o)),
  );
  const result: TransferResult = { transferred: 0, skipped: 0, failed: [], missing: [] };
  const all: UsedObject[] = [];
  for (const o of objects) all.push(...o.files, ...(o.dir ? [o.dir] : []));
  const onRemote = await remoteContains(
    remote,
    all.map((o) => objectKey(o.oid, o.hashName)),
    jobs,
  );
  for (const d of missingDirs) if (!onRemote.has(objectKey(d.oid, d.hashName))) result.missing.push(d.path);

  // Only valid cache objects leave the machine (spec §3.3): read-only ones are trusted, any other
  // is rehashed first, and a corrupt one is dropped from the cache and reported missing.
  const uploads = new Map<string, UsedObject>();
  const sizes = new Map<string, number>();
  let totalBytes = 0;
  for (const o of all) {
    options.signal?.throwIfAborted();
    const key = objectKey(o.oid, o.hashName);
    if (onRemote.has(key) || o.oid.endsWith(".dir") || uploads.has(key)) continue;
    const st = statSync(repo.cache.path(o.oid, o.hashName), { throwIfNoEntry: false });
    if (!st || ((st.mode & 0o777) !== 0o444 && !(await repo.cache.isValid(o.oid, o.hashName)))) {
      result.missing.push(o.path);
      continue;
    }
    uploads.set(key, o);
    sizes.set(key, st.size);
    totalBytes += st.size;
  }
  const totalFiles = uploads.size;
  let files = 0;
  let bytes = 0;
  const failedKeys = new Set<string>();
  const upload = async (key: string, o: UsedObject) => {
    const local = repo.cache.path(o.oid, o.hashName);
    const size = sizes.get(key) ?? statSync(local).size;
    try {
      await withRetry(() =>
        remote.capabilities.writeFile && remote.writeFile
          ? remote.writeFile(key, local, size)
          : remote.write(key, createReadStream(local), size),
      );
      result.transferred++;
    } catch (err) {
      failedKeys.add(key);
      result.failed.push({ path: o.path, message: describe(err) });
    }
    files++;
    bytes += size;
    options.onProgress?.({ phase: "push", files, totalFiles, bytes, totalBytes });
  };
  // Items are taken from the iterator as slots free up: no promise per object up front. Once
  // aborted, no new upload starts; those under way finish before the call rejects.
  await pMap(uploads, ([key, o]) => (options.signal?.aborted ? undefined : upload(key, o)), { concurrency: jobs });
  options.signal?.throwIfAborted();

  const missingSet = new Set(result.missing);
  for (const o of objects) {
    options.signal?.throwIfAborted();
    if (!o.dir) continue;
    const dirKey = objectKey(o.dir.oid, o.dir.hashName);
    if (onRemote.has(dirKey) || missingSet.has(o.dir.path)) continue;
    const incomplete = o.files.some((f) => {
      const k = objectKey(f.oid, f.hashName);
      return failedKeys.has(k) || (!onRemote.has(k) && !uploads.has(k));
    });
    if (incomplete) {
      result.failed.push({
        path: o.dir.path,
        message: "not all of its files could be pushed; its listing (.dir) was held back",
      });
      continue;
    }
    if (!(await repo.cache.isValid(o.dir.oid, o.dir.hashName))) {
      result.missing.push(o.dir.path);
      continue;
    }
    await upload(dirKey, o.dir);
  }
  result.skipped = all.length - result.transferred - result.failed.length - result.missing.length;
  if (result.skipped < 0) result.skipped = 0;
  return result;
}

/** Fetch one object from the remote into a temporary file beside its place in the cache. */
async function downloadToTemp(repo: Repo, remote: Remote, o: UsedObject): Promise<{ tmp: string; dest: string }> {
  const key = objectKey(o.oid, o.hashName);
  const dest = repo.cache.path(o.oid, o.hashName);
  await repo.cache.ensureDir(dirname(dest));
  const tmp = tmpName(dirname(dest));
  try {
    if (remote.capabilities.readFile && remote.readFile) await remote.readFile(key, tmp);
    else await pipeline(await remote.read(key), createWriteStream(tmp, { flags: "wx" }));
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw translateFsError(err, dest);
  }
  return { tmp, dest };
}

function corrupt(remote: Remote, o: UsedObject, actual: string): MlvError {
  const key = objectKey(o.oid, o.hashName);
  return new MlvError(
    "ECORRUPT",
    `downloaded '${key}' from ${remote.displayUrl} but its content hashes to ${actual}, not ${o.oid}: the object on the remote is corrupt; it was not used`,
    { data: { key, actual } },
  );
}

/** Download one object into the cache: temporary file, hash verified, then renamed into place. */
async function download(repo: Repo, remote: Remote, o: UsedObject): Promise<number> {
  const { tmp } = await downloadToTemp(repo, remote, o);
  try {
    let actual: string;
    if (o.oid.endsWith(".dir")) actual = `${md5Hex(await readFile(tmp))}.dir`;
    else actual = o.hashName === "md5" ? (await md5File(tmp)).md5 : await dos2unixFileMd5(tmp);
    if (actual !== o.oid) throw corrupt(remote, o, actual);
    if (o.oid.endsWith(".dir")) parseDirManifest(await readFile(tmp), objectKey(o.oid, o.hashName));
    const size = statSync(tmp).size;
    await chmod(tmp, 0o444);
    await repo.cache.commitTemp(tmp, o.oid, o.hashName);
    return size;
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw translateFsError(err, tmp);
  }
}

/** From this many objects on, downloads are verified by worker threads, in batches. */
const POOL_THRESHOLD = 200;
const VERIFY_BATCH = 64;

/**
 * `mlv fetch`: download what `outs` use and the cache lacks, verifying each object's md5 before it
 * enters the cache. `.dir` objects come first, to learn the folders' file lists.
 */
export async function fetch(
  repo: Repo,
  outs: TrackedOut[],
  remote: Remote,
  options: TransferOptions = {},
): Promise<TransferResult> {
  const jobs = options.jobs ?? defaultJobs(remote);
  const result: TransferResult = { transferred: 0, skipped: 0, failed: [], missing: [] };
  const fail = (o: UsedObject, err: unknown) => {
    if ((err as MlvError).code === "ENOOBJECT") result.missing.push(o.path);
    else result.failed.push({ path: o.path, message: describe(err) });
  };
  const { objects } = await usedObjects(repo, outs, async (dir) => {
    options.signal?.throwIfAborted();
    try {
      await withRetry(() => download(repo, remote, dir));
      result.transferred++;
      return true;
    } catch (err) {
      fail(dir, err);
      return false;
    }
  });
  const needed = new Map<string, UsedObject>();
  for (const o of objects) {
    for (const f of o.files) {
      const key = objectKey(f.oid, f.hashName);
      if (needed.has(key)) continue;
      if (repo.cache.exists(f.oid, f.hashName)) result.skipped++;
      else needed.set(key, f);
    }
  }
  const totalFiles = needed.size;
  let files = 0;
  let bytes = 0;
  const done = (size: number) => {
    files++;
    bytes += size;
    options.onProgress?.({ phase: "fetch", files, totalFiles, bytes, totalBytes: 0 });
  };
  const pool = needed.size >= POOL_THRESHOLD ? repo.workers() : undefined;
  {
    // Many objects: download concurrently, verify and commit in worker threads, batch by batch.
    let batch: { task: VerifyTask; o: UsedObject }[] = [];
    const verifying: Promise<void>[] = [];
    const flush = () => {
      const items = batch;
      batch = [];
      verifying.push(
        pool!.verifyAll(items.map((i) => i.task)).then((results) => {
          for (const [k, r] of results.entries()) {
            const { o } = items[k]!;
            if (!r.error) {
              result.transferred++;
              done(r.size);
            } else
              fail(o, r.error.code === "ECORRUPT" ? corrupt(remote, o, r.error.message) : new Error(r.error.message));
          }
        }),
      );
    };
    await pMap(
      needed.values(),
      async (o) => {
        if (options.signal?.aborted) return;
        try {
          if (pool && o.hashName === "md5") {
            const { tmp, dest } = await withRetry(() => downloadToTemp(repo, remote, o));
            batch.push({ task: { tmp, dest, oid: o.oid }, o });
            if (batch.length >= VERIFY_BATCH) flush();
            return;
          }
          const size = await withRetry(() => download(repo, remote, o));
          result.transferred++;
          done(size);
        } catch (err) {
          fail(o, err);
        }
      },
      { concurrency: jobs },
    );
    if (batch.length > 0) flush();
    await Promise.all(verifying);
  }
  options.signal?.throwIfAborted();
  return result;
}

export type CloudState = "new" | "deleted" | "missing";

/**
 * `mlv status -c`: each object the outputs use, compared between the cache and the remote
 * (spec §8.2): new (only in the cache), deleted (only on the remote), missing (in neither).
 */
export async function cloudStatus(repo: Repo, outs: TrackedOut[], remote: Remote, jobs?: number) {
  const j = jobs ?? defaultJobs(remote);
  // `push: false` outputs never go to the remote, so they are not compared with it (as DVC).
  const { objects } = await usedObjects(
    repo,
    outs.filter((o) => o.out.raw.push !== false),
  );
  const all: UsedObject[] = [];
  for (const o of objects) all.push(...(o.dir ? [o.dir] : []), ...o.files);
  const onRemote = await remoteContains(
    remote,
    all.map((o) => objectKey(o.oid, o.hashName)),
    j,
  );
  const states: { path: string; state: CloudState }[] = [];
  const seen = new Set<string>();
  for (const o of all) {
    const key = `${o.oid}\0${o.path}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const local = existsSync(repo.cache.path(o.oid, o.hashName));
    const remoteHas = onRemote.has(objectKey(o.oid, o.hashName));
    if (local && !remoteHas) states.push({ path: o.path, state: "new" });
    else if (!local && remoteHas) states.push({ path: o.path, state: "deleted" });
    else if (!local && !remoteHas) states.push({ path: o.path, state: "missing" });
  }
  return states;
}
