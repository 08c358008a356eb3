/**
 * `mlv fetch`: a plan (the objects the outputs use, less those the cache has), then its download,
 * every object's md5 verified before it enters the cache. Planning needs the folders' file lists,
 * so the `.dir` objects the cache lacks are downloaded while planning.
 */
import { statSync } from "node:fs";
import pMap from "p-map";
import { objectKey } from "../cache/object-cache.js";
import type { TrackedOut } from "../data-index/types.js";
import { type MlvError, ObjectNotFoundError } from "../errors.js";
import type { VerifyTask } from "../hash/pool.js";
import { type FileProgress, ProgressCounter } from "../progress.js";
import type { Project } from "../project/project.js";
import type { ReadableRemote } from "../remote.js";
import { corrupt, download, downloadBig, downloadToTemp, isResumable } from "./download.js";
import { defaultJobs } from "./remote-contains.js";
import { failureOf, type TransferOptions, type TransferResult } from "./result.js";
import { withRetry } from "./retry.js";
import { type UsedObject, usedObjects } from "./used-objects.js";

/** What a fetch will download, decided once the folders' file lists are in the cache. */
export interface FetchPlan {
  /** File objects the cache lacks, by remote key. */
  downloads: Map<string, UsedObject>;
  /** Their bytes, from the pointers (a folder's `size` less its files the cache has); 0 when a pointer records none. */
  totalBytes: number;
  /**
   * The result so far: the `.dir` objects downloaded to plan (transferred, or failed and missing),
   * and the objects the cache already has (skipped).
   */
  planning: TransferResult;
}

/** Record a failed download: an object the remote lacks is missing, anything else failed. */
function noteFailure(result: TransferResult, o: UsedObject, err: unknown): void {
  if ((err as MlvError).code === "ENOOBJECT") result.missing.push(o.path);
  else result.failed.push(failureOf(o.path, err));
}

/** The fetch plan of `outs`: `.dir` objects come first (downloaded now), to learn the folders' files. */
export async function planFetch(
  project: Project,
  outs: TrackedOut[],
  remote: ReadableRemote,
  options: Pick<TransferOptions, "signal"> = {},
): Promise<FetchPlan> {
  const planning: TransferResult = { transferred: 0, skipped: 0, failed: [], missing: [] };
  const { objects } = await usedObjects(project, outs, async (dir) => {
    options.signal?.throwIfAborted();
    try {
      await withRetry(() => download(project, remote, dir));
      planning.transferred++;
      return true;
    } catch (err) {
      noteFailure(planning, dir, err);
      return false;
    }
  });
  const downloads = new Map<string, UsedObject>();
  // The bytes to come: a file's size is in its pointer; a folder's pointer has the size of all its
  // files, less those the cache has (a stat each, as costly as the existence check it replaces).
  let totalBytes = 0;
  let sized = true;
  for (const o of objects) {
    let planned = 0;
    let presentBytes = 0;
    for (const f of o.files) {
      const key = objectKey(f.oid, f.hashName);
      if (downloads.has(key)) continue;
      const st = statSync(project.cache.path(f.oid, f.hashName), { throwIfNoEntry: false });
      if (st) {
        planning.skipped++;
        presentBytes += st.size;
        continue;
      }
      downloads.set(key, f);
      planned++;
      if (!o.dir) {
        if (f.size === undefined) sized = false;
        else totalBytes += f.size;
      }
    }
    if (o.dir && planned > 0) {
      const size = o.out.out.size;
      if (size === undefined) sized = false;
      else totalBytes += Math.max(0, size - presentBytes);
    }
  }
  return { downloads, totalBytes: sized ? totalBytes : 0, planning };
}

/** From this many objects on, downloads are verified by worker threads, in batches. */
const POOL_THRESHOLD = 200;
const VERIFY_BATCH = 64;

/** Carry out a fetch plan: download each object, verify it, and commit it to the cache. */
export async function applyFetch(
  project: Project,
  remote: ReadableRemote,
  plan: FetchPlan,
  options: TransferOptions = {},
): Promise<TransferResult> {
  const jobs = options.jobs ?? defaultJobs(remote);
  const result: TransferResult = {
    ...plan.planning,
    failed: [...plan.planning.failed],
    missing: [...plan.planning.missing],
  };
  const progress = new ProgressCounter(options.onProgress, "fetch", plan.downloads.size, plan.totalBytes);
  progress.start();
  // Many objects: download concurrently, verify and commit in worker threads, batch by batch.
  const pool = plan.downloads.size >= POOL_THRESHOLD ? project.workers() : undefined;
  // Objects that are files on this machine: the workers read, check and store each one themselves,
  // as many at a time as they have threads.
  const fromFiles = pool !== undefined && remote.capabilities.localFiles === true && remote.localPath !== undefined;
  const inPlace: UsedObject[] = [];
  const downloads: UsedObject[] = [];
  for (const o of plan.downloads.values()) (fromFiles && o.hashName === "md5" ? inPlace : downloads).push(o);
  const copying =
    inPlace.length === 0
      ? Promise.resolve()
      : pool!
          .copyObjects(
            inPlace.length,
            (start, end) => {
              options.signal?.throwIfAborted();
              return inPlace.slice(start, end).map((o) => ({
                src: remote.localPath!(objectKey(o.oid, o.hashName)),
                dest: project.cache.path(o.oid, o.hashName),
                oid: o.oid,
              }));
            },
            (n, bytes) => progress.addFiles(n, bytes),
          )
          .then((results) => {
            for (const [k, r] of results.entries()) {
              const o = inPlace[k]!;
              if (!r.error) result.transferred++;
              else if (r.error.code === "ECORRUPT") noteFailure(result, o, corrupt(remote, o, r.error.message));
              else if (r.error.code === "ENOENT")
                noteFailure(result, o, new ObjectNotFoundError(remote.displayUrl, objectKey(o.oid, o.hashName)));
              else noteFailure(result, o, new Error(r.error.message));
            }
          });
  copying.catch(() => {}); // awaited with the verifications below; an abort meanwhile is not unhandled
  let batch: { task: VerifyTask; o: UsedObject; file: FileProgress }[] = [];
  const verifying: Promise<void>[] = [copying];
  const flush = () => {
    const items = batch;
    batch = [];
    verifying.push(
      pool!.verifyAll(items.map((i) => i.task)).then((results) => {
        for (const [k, r] of results.entries()) {
          const { o, file } = items[k]!;
          if (!r.error) {
            result.transferred++;
            file.done(r.size);
          } else {
            noteFailure(
              result,
              o,
              r.error.code === "ECORRUPT" ? corrupt(remote, o, r.error.message) : new Error(r.error.message),
            );
            file.done();
          }
        }
      }),
    );
  };
  await pMap(
    downloads,
    async (o) => {
      if (options.signal?.aborted) return;
      const file = progress.file();
      const onBytes = progress.enabled ? (n: number) => file.set(n) : undefined;
      try {
        if (isResumable(remote, o, o.size)) {
          const size = await downloadBig(project, remote, o, o.size, onBytes);
          result.transferred++;
          file.done(size);
          return;
        }
        if (pool && o.hashName === "md5") {
          const { tmp, dest } = await withRetry(() => downloadToTemp(project, remote, o, onBytes));
          batch.push({ task: { tmp, dest, oid: o.oid }, o, file });
          if (batch.length >= VERIFY_BATCH) flush();
          return;
        }
        const size = await withRetry(() => download(project, remote, o, onBytes));
        result.transferred++;
        file.done(size);
      } catch (err) {
        noteFailure(result, o, err);
        file.done();
      }
    },
    { concurrency: jobs },
  );
  if (batch.length > 0) flush();
  await Promise.all(verifying);
  options.signal?.throwIfAborted();
  return result;
}

/**
 * `mlv fetch`: download what `outs` use and the cache lacks, verifying each object's md5 before it
 * enters the cache.
 */
export async function fetch(
  project: Project,
  outs: TrackedOut[],
  remote: ReadableRemote,
  options: TransferOptions = {},
): Promise<TransferResult> {
  return applyFetch(project, remote, await planFetch(project, outs, remote, options), options);
}

/**
 * Download the `.dir` objects of `outs` that the cache lacks, verified, and no file: what reading
 * tracked folders' file lists needs. Folders whose `.dir` cannot be had are left out quietly.
 */
export async function fetchDirManifests(project: Project, outs: TrackedOut[], remote: ReadableRemote): Promise<void> {
  await usedObjects(
    project,
    outs.filter((o) => o.isDir),
    (dir) =>
      withRetry(() => download(project, remote, dir)).then(
        () => true,
        () => false,
      ),
  );
}
