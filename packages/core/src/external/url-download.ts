/**
 * The bytes of a URL source into the cache (`import-url`, `update`) or straight to a path
 * (`get-url`): each file through a temporary file, hashed as it is written, its size checked
 * against what the storage announced, then renamed into place.
 */
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { chmod, mkdir, rm, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import pMap from "p-map";
import { replaceWith, tmpName } from "../atomic-write.js";
import { MlvError, translateFsError } from "../errors.js";
import { dirManifestOid, serializeDirManifest } from "../formats/dir-manifest.js";
import { md5File } from "../hash/md5.js";
import type { ProgressListener } from "../progress.js";
import type { Project } from "../project/project.js";
import type { ReadableRemote } from "../remote.js";
import type { UrlEntry, UrlFile } from "./url-source.js";

export interface UrlDownloadOptions {
  jobs?: number;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
}

/** What a URL source became in the cache. */
export interface UrlFetched {
  isDir: boolean;
  /** A file's md5, or the folder's `.dir` oid. */
  oid: string;
  /** One entry with relpath "" for a file. */
  files: { relpath: string; oid: string; size: number }[];
  size: number;
}

const DEFAULT_JOBS = 8;

/** Download `file` to `dest` (created exclusively), hashing the bytes as they arrive. */
async function downloadTo(
  remote: ReadableRemote,
  url: string,
  file: UrlFile,
  dest: string,
): Promise<{ md5: string; size: number }> {
  let digest: { md5: string; size: number };
  if (remote.capabilities.readFile && remote.readFile) {
    await remote.readFile(file.key, dest);
    digest = await md5File(dest);
  } else {
    const hash = createHash("md5");
    let size = 0;
    const hashing = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        size += chunk.length;
        callback(null, chunk);
      },
    });
    await pipeline(await remote.read(file.key), hashing, createWriteStream(dest, { flags: "wx" }));
    digest = { md5: hash.digest("hex"), size };
  }
  const announced = file.info.size;
  if (announced !== undefined && announced !== digest.size)
    throw new MlvError(
      "ETRUNCATED",
      `'${file.relpath === "" ? url : `${url}/${file.relpath}`}' gave ${digest.size} bytes where the storage announced ${announced}: it changed during the download, or the transfer broke`,
      { data: { url, relpath: file.relpath, size: digest.size, announced }, hint: "Run the command again." },
    );
  return digest;
}

function progress(options: UrlDownloadOptions, url: string, done: number, total: number, bytes: number) {
  options.onProgress?.({ phase: "fetch", target: url, files: done, totalFiles: total, bytes, totalBytes: 0 });
}

/** Put the files of `entry` into `project`'s cache (md5 objects), and a folder's `.dir` listing. */
export async function urlToCache(
  project: Project,
  remote: ReadableRemote,
  url: string,
  entry: UrlEntry,
  options: UrlDownloadOptions = {},
): Promise<UrlFetched> {
  const cache = project.cache;
  await cache.ensureDir(cache.objectsDir);
  let done = 0;
  let bytes = 0;
  const files = await pMap(
    entry.files,
    async (file) => {
      options.signal?.throwIfAborted();
      const tmp = tmpName(cache.objectsDir);
      try {
        const digest = await downloadTo(remote, url, file, tmp);
        await chmod(tmp, 0o444);
        await cache.commitTemp(tmp, digest.md5);
        bytes += digest.size;
        progress(options, url, ++done, entry.files.length, bytes);
        return { relpath: file.relpath, oid: digest.md5, size: digest.size };
      } catch (err) {
        await unlink(tmp).catch(() => {});
        throw translateFsError(err, tmp);
      }
    },
    { concurrency: options.jobs ?? remote.capabilities.defaultJobs ?? DEFAULT_JOBS },
  );
  const size = files.reduce((n, f) => n + f.size, 0);
  if (!entry.isDir) return { isDir: false, oid: files[0]!.oid, files, size };
  const manifest = serializeDirManifest(files.map((f) => ({ relpath: f.relpath, md5: f.oid })));
  const oid = dirManifestOid(manifest);
  await cache.addBytes(oid, manifest);
  return { isDir: true, oid, files, size };
}

/** The md5 of each file of `entry` without keeping the bytes (`import-url --no-download` of a local or ssh source). */
export async function urlContentHash(
  remote: ReadableRemote,
  url: string,
  entry: UrlEntry,
  options: UrlDownloadOptions = {},
): Promise<UrlFetched> {
  let done = 0;
  let bytes = 0;
  const files = await pMap(
    entry.files,
    async (file) => {
      options.signal?.throwIfAborted();
      const hash = createHash("md5");
      let size = 0;
      for await (const chunk of await remote.read(file.key)) {
        hash.update(chunk as Buffer);
        size += (chunk as Buffer).length;
      }
      bytes += size;
      progress(options, url, ++done, entry.files.length, bytes);
      return { relpath: file.relpath, oid: hash.digest("hex"), size };
    },
    { concurrency: options.jobs ?? remote.capabilities.defaultJobs ?? DEFAULT_JOBS },
  );
  const size = files.reduce((n, f) => n + f.size, 0);
  if (!entry.isDir) return { isDir: false, oid: files[0]!.oid, files, size };
  const oid = dirManifestOid(serializeDirManifest(files.map((f) => ({ relpath: f.relpath, md5: f.oid }))));
  return { isDir: true, oid, files, size };
}

/**
 * Download `entry` to `dest` (a file, or a folder of its files), whole or not at all: everything goes
 * to a temporary path beside `dest`, which then replaces `dest` by renames.
 */
export async function urlToPath(
  remote: ReadableRemote,
  url: string,
  entry: UrlEntry,
  dest: string,
  options: UrlDownloadOptions = {},
): Promise<{ files: number; size: number }> {
  await mkdir(dirname(dest), { recursive: true });
  const staged = tmpName(dirname(dest));
  const mode = 0o666 & ~process.umask();
  let done = 0;
  let bytes = 0;
  try {
    if (entry.isDir) await mkdir(staged);
    await pMap(
      entry.files,
      async (file) => {
        options.signal?.throwIfAborted();
        const target = entry.isDir ? join(staged, ...file.relpath.split("/")) : staged;
        if (entry.isDir) await mkdir(dirname(target), { recursive: true });
        const digest = await downloadTo(remote, url, file, target);
        await chmod(target, mode); // a copy from a local cache or remote keeps its read-only mode
        bytes += digest.size;
        progress(options, url, ++done, entry.files.length, bytes);
      },
      { concurrency: options.jobs ?? remote.capabilities.defaultJobs ?? DEFAULT_JOBS },
    );
    await replaceWith(staged, dest);
  } catch (err) {
    await rm(staged, { recursive: true, force: true }).catch(() => {});
    throw translateFsError(err, dest);
  }
  return { files: entry.files.length, size: bytes };
}
