/** One object from a remote into the cache: a temporary file beside its place, its hash verified, then renamed into place. */
import { createWriteStream, statSync } from "node:fs";
import { chmod, open, readFile, truncate, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import { pipeline } from "node:stream/promises";
import { PARTIAL_SUFFIX } from "../atomic-write.js";
import { objectKey, tmpName } from "../cache/object-cache.js";
import { MlvError, RemoteError, translateFsError } from "../errors.js";
import { parseDirManifest } from "../formats/dir-manifest.js";
import { dos2unixFileMd5 } from "../hash/dos2unix.js";
import { md5File, md5Hex } from "../hash/md5.js";
import { TrailingFileMd5 } from "../hash/trailing-md5.js";
import { watchGrowth } from "../progress.js";
import type { Project } from "../project/project.js";
import type { ReadableRemote } from "../remote.js";
import { withRetry } from "./retry.js";
import type { UsedObject } from "./used-objects.js";

/** Hears the bytes of one download attempt received so far (a retry starts again from 0). */
export type OnBytes = (bytes: number) => void;

/** Fetch one object from the remote into a temporary file beside its place in the cache. */
export async function downloadToTemp(
  project: Project,
  remote: ReadableRemote,
  o: UsedObject,
  onBytes?: OnBytes,
): Promise<{ tmp: string; dest: string }> {
  const key = objectKey(o.oid, o.hashName);
  const dest = project.cache.path(o.oid, o.hashName);
  await project.cache.ensureDir(dirname(dest));
  const tmp = tmpName(dirname(dest));
  try {
    onBytes?.(0);
    if (remote.capabilities.readFile && remote.readFile) await watchGrowth(tmp, remote.readFile(key, tmp), onBytes);
    else {
      const source = await remote.read(key);
      if (onBytes) {
        let got = 0;
        source.on("data", (chunk: Buffer) => {
          got += chunk.length;
          onBytes(got);
        });
      }
      await pipeline(source, createWriteStream(tmp, { flags: "wx" }));
    }
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw translateFsError(err, dest);
  }
  return { tmp, dest };
}

/** The error for a downloaded object whose bytes hash to `actual` instead of its id. */
export function corrupt(remote: ReadableRemote, o: UsedObject, actual: string): MlvError {
  const key = objectKey(o.oid, o.hashName);
  return new MlvError(
    "ECORRUPT",
    `downloaded '${key}' from ${remote.displayUrl} but its content hashes to ${actual}, not ${o.oid}: the object on the remote is corrupt; it was not used`,
    { data: { key, actual } },
  );
}

/** Download one object into the cache: temporary file, hash verified, then renamed into place. Its size. */
export async function download(
  project: Project,
  remote: ReadableRemote,
  o: UsedObject,
  onBytes?: OnBytes,
): Promise<number> {
  const { tmp } = await downloadToTemp(project, remote, o, onBytes);
  try {
    let actual: string;
    if (o.oid.endsWith(".dir")) actual = `${md5Hex(await readFile(tmp))}.dir`;
    else actual = o.hashName === "md5" ? (await md5File(tmp)).md5 : await dos2unixFileMd5(tmp);
    if (actual !== o.oid) throw corrupt(remote, o, actual);
    if (o.oid.endsWith(".dir")) parseDirManifest(await readFile(tmp), objectKey(o.oid, o.hashName));
    const size = statSync(tmp).size;
    await chmod(tmp, 0o444);
    await project.cache.commitTemp(tmp, o.oid, o.hashName);
    return size;
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw translateFsError(err, tmp);
  }
}

/** Objects at least this big (size known from their pointer) download resumably when the remote reads ranges. */
export const RESUMABLE_FROM = 64 * 1024 * 1024;
/**
 * One ranged read; several are in flight, written to the partial file strictly in order. 8 MiB, the
 * size awscli and rclone use: servers that pay per request (moto copies the whole object for each
 * range) took twice as long with 4 MiB ranges. Three in flight: four made a 1 GiB pull over HTTP
 * peak at 210 MiB, two made one over SFTP 1.13x rclone's time (three: 0.98x, 183 MiB).
 */
const RANGE_BYTES = 8 * 1024 * 1024;
const RANGES_IN_FLIGHT = 3;

/**
 * Download a big object resumably, retrying dropped transfers from where they stopped. The size
 * comes from a pointer file, which may be wrong: if the object turns out shorter, longer or other
 * than that, it is downloaded whole the plain way instead, which does not depend on it.
 */
export async function downloadBig(
  project: Project,
  remote: ReadableRemote,
  o: UsedObject,
  size: number,
  onBytes?: OnBytes,
): Promise<number> {
  try {
    return await withRetry(() => downloadResumable(project, remote, o, size, onBytes));
  } catch (err) {
    const code = (err as MlvError).code;
    if (code !== "ECORRUPT" && code !== "ETRUNCATED" && code !== "ERANGE") throw err;
    await unlink(`${project.cache.path(o.oid, o.hashName)}${PARTIAL_SUFFIX}`).catch(() => {});
    return withRetry(() => download(project, remote, o, onBytes));
  }
}

/** Whether `o` (of `size` bytes, when known) is downloaded by `downloadBig`. */
export function isResumable(remote: ReadableRemote, o: UsedObject, size: number | undefined): size is number {
  return (
    remote.capabilities.rangedRead === true && o.hashName === "md5" && size !== undefined && size >= RESUMABLE_FROM
  );
}

/**
 * Download a big object into `<its cache path>.mlv-partial` as ranges fetched in parallel and
 * written in order, hashing as they are written, so the partial file is always a true prefix of
 * the object. An interrupted download (a dropped connection, a killed command) leaves it for the
 * next attempt, which hashes what is there and fetches only the rest. The whole is verified
 * before it enters the cache; if a resumed prefix proves wrong, it starts once more from zero.
 */
export async function downloadResumable(
  project: Project,
  remote: ReadableRemote,
  o: UsedObject,
  size: number,
  onBytes?: OnBytes,
): Promise<number> {
  const key = objectKey(o.oid, o.hashName);
  const dest = project.cache.path(o.oid, o.hashName);
  const partial = `${dest}${PARTIAL_SUFFIX}`;
  await project.cache.ensureDir(dirname(dest));
  try {
    let have = statSync(partial, { throwIfNoEntry: false })?.size ?? 0;
    if (have > size) {
      await truncate(partial, 0);
      have = 0;
    }
    let actual = await appendRanges(remote, key, partial, have, size, onBytes);
    if (actual !== o.oid && have > 0) {
      await truncate(partial, 0); // the kept prefix was not the object's: fetch it whole
      actual = await appendRanges(remote, key, partial, 0, size, onBytes);
    }
    if (actual !== o.oid) {
      await unlink(partial).catch(() => {});
      throw corrupt(remote, o, actual);
    }
    await chmod(partial, 0o444);
    await project.cache.commitTemp(partial, o.oid, o.hashName);
    return size;
  } catch (err) {
    throw translateFsError(err, dest);
  }
}

/** Hash the first `have` bytes of `partial`, then fetch and append the object's bytes up to `size`. The md5 of all. */
async function appendRanges(
  remote: ReadableRemote,
  key: string,
  partial: string,
  have: number,
  size: number,
  onBytes?: OnBytes,
): Promise<string> {
  const file = await open(partial, have > 0 ? "r+" : "w");
  const hash = new TrailingFileMd5(partial);
  let hashed = false;
  try {
    if (have > 0) hash.written(have);
    onBytes?.(have);
    let next = have;
    const inFlight: Promise<Buffer[]>[] = [];
    const fetchNext = () => {
      if (next >= size) return;
      const start = next;
      next += RANGE_BYTES;
      const pending = readRange(remote, key, start, Math.min(RANGE_BYTES, size - start));
      pending.catch(() => {}); // awaited in order below; a later range failing first must not go unhandled
      inFlight.push(pending);
    };
    for (let i = 0; i < RANGES_IN_FLIGHT; i++) fetchNext();
    let at = have;
    while (inFlight.length > 0) {
      const chunks = await inFlight.shift()!;
      fetchNext();
      // Written as the chunks arrived (no copy into one buffer); the hashing thread then reads them back.
      await file.writev(chunks, at);
      for (const chunk of chunks) at += chunk.length;
      hash.written(at);
      onBytes?.(at);
    }
    hashed = true;
    return await hash.digest();
  } finally {
    if (!hashed) await hash.abandon();
    await file.close();
  }
}

/** Exactly `length` bytes of `key` from `offset`, as received; fewer is a dropped transfer (transient: retried, resumed). */
async function readRange(remote: ReadableRemote, key: string, offset: number, length: number): Promise<Buffer[]> {
  const stream = await remote.read(key, { offset, length });
  const chunks: Buffer[] = [];
  let got = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    if (got + chunk.length > length) {
      stream.destroy();
      throw new RemoteError(
        "ERANGE",
        `${remote.displayUrl} sent more than the ${length} bytes asked of '${key}' at ${offset}`,
        {
          data: { key, offset, length },
        },
      );
    }
    chunks.push(chunk);
    got += chunk.length;
  }
  // Nothing at all from a range: the object ends before the size its pointer records (not worth a
  // retry). Some bytes then the end: a transfer cut short, retried from what arrived.
  if (got !== length)
    throw new RemoteError(
      "ETRUNCATED",
      `${remote.displayUrl} ended '${key}' early: ${got} of ${length} bytes from offset ${offset}`,
      { transient: got > 0, data: { key, offset, length, got } },
    );
  return chunks;
}
