/**
 * `push/fetch/pull --run-cache`: DVC's run cache (pipelines spec §3.8) between the cache and a
 * remote. An entry is the file `runs/<key[0:2]>/<key>/<value>`, below the cache's root locally and
 * below the remote's root remotely (beside `files/`, not under it). Only these files move, never
 * the objects their outputs name: DVC moves none either, the outputs come with the ordinary push
 * or fetch of the workspace.
 *
 * The run cache can only be had by listing the remote. An adapter whose storage cannot list (a
 * plain HTTP server) throws an MlvError `EUNSUPPORTED` from `list()`; the run cache is then skipped
 * without a word, as DVC skips it on HTTP remotes.
 *
 * Entries are named after their content's hash, so one already at the other end is not sent again
 * (DVC re-sends all of them each time, to the same effect). What a remote hands over is trusted
 * only once its name is an entry's (no other path below `runs/` is ever written) and its content
 * reads as a stage's lock entry with hashed outputs.
 */
import { lstat, mkdir, readdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";
import pMap from "p-map";
import { type AdapterSources, openRemote } from "../adapters.js";
import { writeFileAtomic } from "../atomic-write.js";
import { MlvError, translateFsError } from "../errors.js";
import { parseLockFile } from "../formats/dvc-lock.js";
import type { LockStage } from "../formats/pipeline.js";
import type { Project } from "../project/project.js";
import { isWritable, type ReadableRemote } from "../remote.js";
import { defaultJobs } from "./remote-contains.js";
import { describe, type TransferOptions, type TransferResult } from "./result.js";
import { withRetry } from "./retry.js";

/** Where the run cache lives, below the cache's root and below the remote's. */
export const RUN_CACHE_PREFIX = "runs/";

const HEX64 = /^[0-9a-f]{64}$/;
/** DVC's entries are a few kilobytes; anything this big from a remote is not one. */
const MAX_ENTRY_BYTES = 8 * 1024 * 1024;

/** One run-cache entry: `key` names a stage's command and inputs, `value` the run's lock entry. */
export interface RunCacheEntry {
  key: string;
  value: string;
}

/** An entry found but not moved, and why. */
export interface RefusedRunCacheEntry {
  /** The remote key (`runs/…`), or the cache path relative to the repository. */
  path: string;
  reason: string;
}

export interface RunCacheResult extends TransferResult {
  /** Entries left where they were: a name that is no entry's, or content that is not a lock entry. */
  refused: RefusedRunCacheEntry[];
  /** The remote cannot list (a plain HTTP remote): nothing was moved, as DVC does. */
  unsupported: boolean;
}

export interface RunCacheTransferOptions extends TransferOptions {
  /** The remote by name; default the default remote (`core.remote`). Outputs' own `remote:` keys do not apply. */
  remote?: string;
  /** How storage adapters are found (see `resolveAdapter`). */
  adapters?: AdapterSources;
}

/** The key of an entry, on a remote or below the cache's root: `runs/ab/ab…/cd…`. */
export function runCacheEntryKey(entry: RunCacheEntry): string {
  return `${RUN_CACHE_PREFIX}${entry.key.slice(0, 2)}/${entry.key}/${entry.value}`;
}

/**
 * The entry a key names, or undefined unless it is exactly `runs/<key[0:2]>/<key>/<value>` with
 * both parts 64 lowercase hex digits: the only names ever written into the cache.
 */
export function parseRunCacheKey(key: string): RunCacheEntry | undefined {
  const parts = key.split("/");
  if (parts.length !== 4 || `${parts[0]}/` !== RUN_CACHE_PREFIX) return undefined;
  const [, shard, entryKey, value] = parts as [string, string, string, string];
  if (!HEX64.test(entryKey) || !HEX64.test(value) || shard !== entryKey.slice(0, 2)) return undefined;
  return { key: entryKey, value };
}

/** Where an entry lives in the cache. */
export function runCacheEntryPath(project: Project, entry: RunCacheEntry): string {
  return join(project.cache.root, ...runCacheEntryKey(entry).split("/"));
}

/**
 * Throw unless `text` is a run-cache entry: a stage's lock entry (`cmd`, `deps`, `params`, `outs`,
 * as in dvc.lock without the stage's name) with at least one output, each with its hash. `where`
 * names the entry in the message.
 */
export function checkRunCacheEntry(text: string, where: string): void {
  readRunCacheEntry(text, where);
}

/** The stage entry a run-cache entry holds; throws MlvError EFORMAT as `checkRunCacheEntry` says. */
export function readRunCacheEntry(text: string, where: string): LockStage {
  // An entry is a stage's body in dvc.lock: read it as the one stage of a lock file.
  const body = text
    .split("\n")
    .map((line) => (line === "" ? line : `    ${line}`))
    .join("\n");
  const wrapped = `schema: '2.0'\nstages:\n  run:\n${body}`;
  let stage: LockStage | undefined;
  try {
    stage = parseLockFile(wrapped, where).stages.get("run");
  } catch (err) {
    if (!(err instanceof MlvError)) throw err;
    // Say it of the entry itself: its keys and lines, not those of the lock file around it.
    const message = err.message
      .replaceAll("stages -> run -> ", "")
      .replace(/, line (\d+)$/, (_, line: string) => `, line ${Number(line) - 3}`);
    throw new MlvError("EFORMAT", message, { data: { file: where }, cause: err });
  }
  if (!stage || stage.outs.length === 0 || !stage.outs.every((o) => o.md5))
    throw new MlvError("EFORMAT", `${where}: not a run-cache entry: it names no output with a hash`, {
      data: { file: where },
    });
  return stage;
}

/** The well-named entries of the cache's run cache; anything else there (temporary files, strays) is left out. */
export async function localRunCacheEntries(project: Project): Promise<RunCacheEntry[]> {
  const root = join(project.cache.root, "runs");
  const names = (dir: string) => readdir(dir).catch(() => [] as string[]);
  const entries: RunCacheEntry[] = [];
  for (const shard of (await names(root)).sort())
    for (const key of (await names(join(root, shard))).sort()) {
      const files = await readdir(join(root, shard, key), { withFileTypes: true }).catch(() => []);
      for (const file of files.filter((f) => f.isFile()).sort((a, b) => (a.name < b.name ? -1 : 1))) {
        const entry = parseRunCacheKey(`${RUN_CACHE_PREFIX}${shard}/${key}/${file.name}`);
        if (entry) entries.push(entry);
      }
    }
  return entries;
}

/** Every key below `runs/` on the remote, or undefined when the remote cannot list. */
async function remoteRunCacheKeys(remote: ReadableRemote): Promise<string[] | undefined> {
  const list = remote.list?.bind(remote);
  if (list === undefined) return undefined;
  try {
    return await withRetry(async () => {
      const keys: string[] = [];
      for await (const key of list(RUN_CACHE_PREFIX)) keys.push(key);
      return keys;
    });
  } catch (err) {
    if (err instanceof MlvError && err.code === "EUNSUPPORTED") return undefined;
    throw err;
  }
}

/** At most MAX_ENTRY_BYTES of a stream, or undefined when it is longer. */
async function readSmall(stream: Readable): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_ENTRY_BYTES) {
      stream.destroy();
      return undefined;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function emptyResult(): RunCacheResult {
  return { transferred: 0, skipped: 0, failed: [], missing: [], refused: [], unsupported: false };
}

/**
 * Upload the cache's run-cache entries the remote lacks. An entry whose content is not a lock
 * entry stays home (refused). Counts are entries: uploaded, and already on the remote.
 */
export async function pushRunCache(
  project: Project,
  remote: ReadableRemote,
  options: TransferOptions = {},
): Promise<RunCacheResult> {
  // As with storage that cannot list, a run cache that cannot be written is skipped, not an error.
  if (!isWritable(remote)) return { ...emptyResult(), unsupported: true };
  const result = emptyResult();
  const local = await localRunCacheEntries(project);
  if (local.length === 0) return result;
  const remoteKeys = await remoteRunCacheKeys(remote);
  if (remoteKeys === undefined) return { ...result, unsupported: true };
  const onRemote = new Set(remoteKeys);
  const uploads = local.filter((e) => !onRemote.has(runCacheEntryKey(e)));
  result.skipped = local.length - uploads.length;
  let files = 0;
  let bytes = 0;
  const upload = async (entry: RunCacheEntry) => {
    const key = runCacheEntryKey(entry);
    const file = runCacheEntryPath(project, entry);
    const path = project.relOf(file);
    // Entries are small: read once, checked, and those very bytes sent.
    let data: Buffer;
    try {
      data = await readFile(file);
      checkRunCacheEntry(data.toString("utf8"), path);
    } catch (err) {
      if ((err as MlvError).code === "EFORMAT")
        result.refused.push({ path, reason: `${describe(err)}; it was not pushed (delete it from the cache)` });
      else result.failed.push({ path, message: describe(translateFsError(err, file)) });
      return;
    }
    try {
      await withRetry(() => remote.write(key, Readable.from([data]), data.length));
      result.transferred++;
    } catch (err) {
      result.failed.push({ path, message: describe(err) });
    }
    files++;
    bytes += data.length;
    options.onProgress?.({ phase: "push", files, totalFiles: uploads.length, bytes, totalBytes: 0 });
  };
  await pMap(uploads, (e) => (options.signal?.aborted ? undefined : upload(e)), {
    concurrency: options.jobs ?? defaultJobs(remote),
  });
  options.signal?.throwIfAborted();
  return result;
}

/**
 * Download the remote's run-cache entries the cache lacks, each written whole (temporary file,
 * then renamed) once its name and content are checked; a key below `runs/` that is no entry's
 * name, or content that is not a lock entry, is refused and nothing is written for it. Counts are
 * entries: downloaded, and already in the cache.
 */
export async function fetchRunCache(
  project: Project,
  remote: ReadableRemote,
  options: TransferOptions = {},
): Promise<RunCacheResult> {
  const result = emptyResult();
  const keys = await remoteRunCacheKeys(remote);
  if (keys === undefined) return { ...result, unsupported: true };
  const wanted: RunCacheEntry[] = [];
  for (const key of keys.sort()) {
    const entry = parseRunCacheKey(key);
    if (!entry) {
      result.refused.push({
        path: key,
        reason: `'${key}' on ${remote.displayUrl} is not a run-cache entry's name (runs/<2 hex>/<64 hex>/<64 hex>): it was not downloaded; delete it from the remote`,
      });
      continue;
    }
    if ((await lstat(runCacheEntryPath(project, entry)).catch(() => undefined)) !== undefined) result.skipped++;
    else wanted.push(entry);
  }
  let files = 0;
  let bytes = 0;
  const download = async (entry: RunCacheEntry) => {
    const key = runCacheEntryKey(entry);
    const file = runCacheEntryPath(project, entry);
    let data: Buffer | undefined;
    try {
      data = await withRetry(async () => readSmall(await remote.read(key)));
    } catch (err) {
      // Deleted from the remote since it was listed: nothing to fetch.
      if ((err as MlvError).code !== "ENOOBJECT")
        result.failed.push({ path: project.relOf(file), message: describe(err) });
      return;
    }
    const refuse = (why: string) =>
      result.refused.push({
        path: key,
        reason: `'${key}' on ${remote.displayUrl} ${why}: it was not used; delete it from the remote`,
      });
    if (data === undefined) return refuse(`is bigger than ${MAX_ENTRY_BYTES} bytes, so not a run-cache entry`);
    try {
      checkRunCacheEntry(data.toString("utf8"), key);
    } catch (err) {
      if (!(err instanceof MlvError)) throw err;
      return refuse(`is not a stage's lock entry (${err.message})`);
    }
    try {
      await mkdir(dirname(file), { recursive: true });
      await writeFileAtomic(file, data);
      result.transferred++;
    } catch (err) {
      result.failed.push({ path: project.relOf(file), message: describe(translateFsError(err, file)) });
      return;
    }
    files++;
    bytes += data.length;
    options.onProgress?.({ phase: "fetch", files, totalFiles: wanted.length, bytes, totalBytes: 0 });
  };
  await pMap(wanted, (e) => (options.signal?.aborted ? undefined : download(e)), {
    concurrency: options.jobs ?? defaultJobs(remote),
  });
  options.signal?.throwIfAborted();
  return result;
}

/** Run `fn` under the repository lock with the run cache's remote (`-r`, else the default) opened. */
async function withRunCacheRemote(
  project: Project,
  command: string,
  options: RunCacheTransferOptions,
  fn: (remote: ReadableRemote) => Promise<RunCacheResult>,
): Promise<RunCacheResult> {
  options.signal?.throwIfAborted();
  return project.locked(command, async () => {
    const { remote } = await openRemote(project.config, options.remote, options.adapters);
    try {
      return await fn(remote);
    } finally {
      await remote.close?.();
    }
  });
}

/** `push --run-cache`: the run cache to the remote named in `options` (default: the default remote). */
export function pushRunCacheTo(project: Project, options: RunCacheTransferOptions = {}): Promise<RunCacheResult> {
  return withRunCacheRemote(project, "mlv push", options, (remote) => pushRunCache(project, remote, options));
}

/** `fetch/pull --run-cache`: the remote's run cache into the cache (default: the default remote). */
export function fetchRunCacheInto(project: Project, options: RunCacheTransferOptions = {}): Promise<RunCacheResult> {
  return withRunCacheRemote(project, "mlv fetch", options, (remote) => fetchRunCache(project, remote, options));
}
