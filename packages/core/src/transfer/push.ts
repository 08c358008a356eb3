/**
 * `mlv push`: a plan (the objects the outputs use, less those the remote has), then its upload. A
 * folder's files go first and its `.dir` last, and only when every file made it (spec §4.2), so a
 * `.dir` on a remote always means a complete folder.
 */
import { createReadStream, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname } from "node:path";
import { pipeline } from "node:stream";
import pMap from "p-map";
import { sharedSignal } from "../abort.js";
import { objectKey } from "../cache/object-cache.js";
import { isImport, type TrackedOut } from "../data-index/types.js";
import { MlvError } from "../errors.js";
import { dos2unixFileMd5 } from "../hash/dos2unix.js";
import { md5File } from "../hash/md5.js";
import { md5FileOffThread } from "../hash/trailing-md5.js";
import { verifyingStream } from "../hash/verify.js";
import { ProgressCounter } from "../progress.js";
import type { Project } from "../project/project.js";
import type { Remote } from "../remote.js";
import { remoteTempPrefix, sweepStaleRemoteTemps } from "../remote-temps.js";
import { defaultJobs, remoteContains } from "./remote-contains.js";
import { failureOf, type TransferOptions, type TransferResult } from "./result.js";
import { withRetry } from "./retry.js";
import { type UsedObject, usedObjects } from "./used-objects.js";

/** A file object to upload, with its size in the cache. */
export interface PlannedUpload {
  object: UsedObject;
  size: number;
}

/** What a push will upload, decided before anything moves. */
export interface PushPlan {
  /** Every object considered, a folder's files before its `.dir` (what is not uploaded, failed or missing was there already). */
  objects: UsedObject[];
  /** Keys the remote already has. */
  onRemote: Set<string>;
  /** Files to upload, by remote key. */
  uploads: Map<string, PlannedUpload>;
  /** Folders whose `.dir` goes up once all their files are on the remote, in order. */
  listings: { dir: UsedObject; files: UsedObject[] }[];
  /** Paths in neither a valid cache object nor the remote. */
  missing: string[];
  totalBytes: number;
}

/**
 * The push plan of `outs`. Only valid cache objects leave the machine (spec §3.3): read-only ones
 * are trusted, any other is rehashed, and a corrupt one is dropped from the cache and planned as
 * missing.
 */
export async function planPush(
  project: Project,
  outs: TrackedOut[],
  remote: Remote,
  options: Pick<TransferOptions, "jobs" | "signal"> = {},
): Promise<PushPlan> {
  const jobs = options.jobs ?? defaultJobs(remote);
  // `push: false` keeps an output off remotes (it can still be fetched from one), and imported
  // data belongs to its source repository's remote, as in DVC.
  const used = await usedObjects(
    project,
    outs.filter((o) => o.out.raw?.push !== false && !isImport(o)),
  );
  const objects: UsedObject[] = [];
  for (const o of used.objects) objects.push(...o.files, ...(o.dir ? [o.dir] : []));
  const onRemote = await remoteContains(
    remote,
    objects.map((o) => objectKey(o.oid, o.hashName)),
    jobs,
  );
  const missing: string[] = [];
  for (const d of used.missingDirs) if (!onRemote.has(objectKey(d.oid, d.hashName))) missing.push(d.path);

  const uploads = new Map<string, PlannedUpload>();
  let totalBytes = 0;
  for (const o of objects) {
    options.signal?.throwIfAborted();
    const key = objectKey(o.oid, o.hashName);
    if (onRemote.has(key) || o.oid.endsWith(".dir") || uploads.has(key)) continue;
    const st = statSync(project.cache.path(o.oid, o.hashName), { throwIfNoEntry: false });
    if (!st || ((st.mode & 0o777) !== 0o444 && !(await project.cache.isValid(o.oid, o.hashName)))) {
      missing.push(o.path);
      continue;
    }
    uploads.set(key, { object: o, size: st.size });
    totalBytes += st.size;
  }
  const missingPaths = new Set(missing);
  const listings = used.objects.flatMap(({ dir, files }) =>
    dir && !onRemote.has(objectKey(dir.oid, dir.hashName)) && !missingPaths.has(dir.path) ? [{ dir, files }] : [],
  );
  return { objects, onRemote, uploads, listings, missing, totalBytes };
}

/** Carry out a push plan: the files, then each folder's `.dir` whose files are all on the remote and whose `.dir` is valid. */
export async function applyPush(
  project: Project,
  remote: Remote,
  plan: PushPlan,
  options: TransferOptions = {},
): Promise<TransferResult> {
  const jobs = options.jobs ?? defaultJobs(remote);
  const result: TransferResult = { transferred: 0, skipped: 0, failed: [], missing: [...plan.missing] };
  // Progress counts the files people know and their bytes as they go out; a folder's listing
  // (`.dir`) is neither, so the count ends at the total.
  const progress = new ProgressCounter(options.onProgress, "push", plan.uploads.size, plan.totalBytes);
  progress.start();
  const failedKeys = new Set<string>();
  // The adapter calls under way listen to one signal of their own (see sharedSignal).
  const adapterSignal = sharedSignal(options.signal, jobs);
  try {
    // Storage that turns out to refuse writes (EREADONLY) ends the push: every other upload would fail the same way.
    let refused: MlvError | undefined;
    const upload = async (key: string, o: UsedObject, size: number, counted = true) => {
      const local = project.cache.path(o.oid, o.hashName);
      const expected = o.oid.replace(/\.dir$/, "");
      const corrupt = (actual: string) => changedInCache(key, expected, actual);
      const file = counted && progress.enabled ? progress.file() : undefined;
      try {
        await withRetry(async () => {
          file?.set(0); // a retry sends the file again from its start
          // Bytes are checked as they are sent: corrupt ones never reach the remote under this name.
          if (!remote.capabilities.writeFile || !remote.writeFile) {
            const source = createReadStream(local);
            if (file) source.on("data", (chunk) => file.add(chunk.length));
            const body = pipeline(source, verifyingStream(expected, o.hashName, corrupt), () => {});
            return remote.write(key, body, size, { signal: adapterSignal.signal });
          }
          // The adapter reads the file itself (its SDK's parallel upload). One that awaits a check
          // gets the bytes checked while they go out, and commits only if they were right.
          // Checking and sending each count for half the file's bytes, so a big file moves all along.
          if (remote.capabilities.awaitsCheck) {
            let hashed = 0;
            let sent = 0;
            const show = () => file?.set(Math.floor((hashed + sent) / 2));
            const onHashed = (n: number) => {
              hashed = n;
              show();
            };
            const hashing =
              o.hashName === "md5" && size >= OFF_THREAD_FROM && offThread.running < OFF_THREAD_MAX
                ? offThread.run(() => md5FileOffThread(local, size, onHashed))
                : hashOf(local, o.hashName, onHashed);
            const checked = hashing.then((actual) => {
              if (actual !== expected) throw corrupt(actual);
            });
            checked.catch(() => {}); // the adapter awaits it; failing before then is not unhandled
            const onProgress = (n: number) => {
              sent = Math.min(n, size);
              show();
            };
            return remote.writeFile(key, local, size, { onProgress, signal: adapterSignal.signal, checked });
          }
          // Otherwise check it first.
          const half = file && ((n: number) => file.set(Math.floor(n / 2)));
          const actual = await hashOf(local, o.hashName, half);
          if (actual !== expected) throw corrupt(actual);
          const sent = file && ((n: number) => file.set(Math.floor((size + Math.min(n, size)) / 2)));
          return remote.writeFile(key, local, size, { onProgress: sent, signal: adapterSignal.signal });
        });
        result.transferred++;
      } catch (err) {
        if (err instanceof MlvError && err.code === "EREADONLY") {
          refused ??= err;
          return;
        }
        failedKeys.add(key);
        result.failed.push(failureOf(o.path, err));
      }
      file?.done(size);
    };
    // Items are taken from the iterator as slots free up: no promise per object up front. Once
    // aborted, no new upload starts; those under way finish before the call rejects.
    const uploadPlanned = ([key, { object, size }]: [string, PlannedUpload]) =>
      options.signal?.aborted || refused ? undefined : upload(key, object, size);
    // The smallest file goes up alone first: storage that refuses writes (a web server answering
    // 405) says so on one small request, before any other upload starts.
    const first = smallest(plan.uploads);
    if (first) await uploadPlanned(first);
    if (refused) throw refused;
    // A remote that is a folder on this machine, and many files: the worker threads check and
    // copy them, each read once (through the adapter, each was checked, then copied).
    const inPlace =
      plan.uploads.size >= POOL_THRESHOLD && remote.capabilities.localFiles === true && remote.localPath !== undefined;
    const viaWorkers: [string, PlannedUpload][] = [];
    const viaAdapter: [string, PlannedUpload][] = [];
    for (const entry of plan.uploads)
      if (entry[0] !== first?.[0])
        (inPlace && entry[1].object.hashName === "md5" ? viaWorkers : viaAdapter).push(entry);
    const remoteTemp = remoteTempPrefix();
    // What killed uploads left in the folders written to goes first, as the adapter does it.
    const folders = new Set(viaWorkers.map(([key]) => dirname(remote.localPath!(key))));
    await pMap(folders, sweepStaleRemoteTemps, { concurrency: 8 });
    const copying =
      viaWorkers.length === 0
        ? Promise.resolve()
        : project
            .workers()
            .copyObjects(
              viaWorkers.length,
              (start, end) => {
                options.signal?.throwIfAborted();
                return viaWorkers.slice(start, end).map(([key, { object }]) => ({
                  src: project.cache.path(object.oid, object.hashName),
                  dest: remote.localPath!(key),
                  oid: object.oid,
                  remoteTemp,
                }));
              },
              (n, bytes) => progress.addFiles(n, bytes),
            )
            .then((results) => {
              for (const [k, r] of results.entries()) {
                const [key, { object }] = viaWorkers[k]!;
                if (!r.error) {
                  result.transferred++;
                  continue;
                }
                failedKeys.add(key);
                const err =
                  r.error.code === "ECORRUPT"
                    ? changedInCache(key, object.oid, r.error.message)
                    : new Error(r.error.message);
                result.failed.push(failureOf(object.path, err));
              }
            });
    await Promise.all([copying, pMap(viaAdapter, uploadPlanned, { concurrency: jobs })]);
    if (refused) throw refused;
    options.signal?.throwIfAborted();

    for (const { dir, files: listed } of plan.listings) {
      options.signal?.throwIfAborted();
      const incomplete = listed.some((f) => {
        const k = objectKey(f.oid, f.hashName);
        return failedKeys.has(k) || (!plan.onRemote.has(k) && !plan.uploads.has(k));
      });
      if (incomplete) {
        result.failed.push({
          path: dir.path,
          message: "not all of its files could be pushed; its listing (.dir) was held back",
        });
        continue;
      }
      if (!(await project.cache.isValid(dir.oid, dir.hashName))) {
        result.missing.push(dir.path);
        continue;
      }
      await upload(
        objectKey(dir.oid, dir.hashName),
        dir,
        statSync(project.cache.path(dir.oid, dir.hashName)).size,
        false,
      );
      if (refused) throw refused;
    }
    result.skipped = Math.max(
      0,
      plan.objects.length - result.transferred - result.failed.length - result.missing.length,
    );
    return result;
  } finally {
    adapterSignal.release();
  }
}

/** From this many files on, a push to a remote on this machine copies them in worker threads. */
const POOL_THRESHOLD = 200;

/** The error for a cache object whose bytes no longer hash to its id: it is not uploaded. */
function changedInCache(key: string, expected: string, actual: string): MlvError {
  return new MlvError(
    "ECORRUPT",
    `the cache object '${key}' hashes to ${actual}, not ${expected}: its bytes changed in the cache, so it was not uploaded: add the file again, or fetch a good copy from another remote`,
    {
      data: { key, actual, expected },
      hint: "Add the file again ('mlv add'), or fetch a good copy from another remote ('mlv fetch -r NAME').",
    },
  );
}

/** Objects from this size on are checked on a worker thread, beside the upload's own work on the main one. */
const OFF_THREAD_FROM = 8 * 1024 * 1024;
/** Checking threads at once (each is a Node thread of its own); further checks run on the main thread. */
const OFF_THREAD_MAX = Math.max(1, availableParallelism());
const offThread = {
  running: 0,
  async run<T>(work: () => Promise<T>): Promise<T> {
    this.running++;
    try {
      return await work();
    } finally {
      this.running--;
    }
  },
};

/** The hash of a cache object's bytes under its hash name (`md5`, or `md5-dos2unix` of DVC 2 objects). */
async function hashOf(
  path: string,
  hashName: UsedObject["hashName"],
  onBytes?: (bytes: number) => void,
): Promise<string> {
  return hashName === "md5" ? (await md5File(path, onBytes)).md5 : dos2unixFileMd5(path);
}

/** The planned upload with the fewest bytes. */
function smallest(uploads: Map<string, PlannedUpload>): [string, PlannedUpload] | undefined {
  let best: [string, PlannedUpload] | undefined;
  for (const entry of uploads) if (!best || entry[1].size < best[1].size) best = entry;
  return best;
}

/** `mlv push`: upload what `outs` use and the remote lacks. */
export async function push(
  project: Project,
  outs: TrackedOut[],
  remote: Remote,
  options: TransferOptions = {},
): Promise<TransferResult> {
  return applyPush(project, remote, await planPush(project, outs, remote, options), options);
}
