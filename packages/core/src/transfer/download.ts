/** One object from a remote into the cache: a temporary file beside its place, its hash verified, then renamed into place. */
import { createWriteStream, statSync } from "node:fs";
import { chmod, readFile, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import { pipeline } from "node:stream/promises";
import { objectKey, tmpName } from "../cache/object-cache.js";
import { MlvError, translateFsError } from "../errors.js";
import { parseDirManifest } from "../formats/dir-manifest.js";
import { dos2unixFileMd5 } from "../hash/dos2unix.js";
import { md5File, md5Hex } from "../hash/md5.js";
import type { Project } from "../project/project.js";
import type { Remote } from "../remote.js";
import type { UsedObject } from "./used-objects.js";

/** Fetch one object from the remote into a temporary file beside its place in the cache. */
export async function downloadToTemp(
  project: Project,
  remote: Remote,
  o: UsedObject,
): Promise<{ tmp: string; dest: string }> {
  const key = objectKey(o.oid, o.hashName);
  const dest = project.cache.path(o.oid, o.hashName);
  await project.cache.ensureDir(dirname(dest));
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

/** The error for a downloaded object whose bytes hash to `actual` instead of its id. */
export function corrupt(remote: Remote, o: UsedObject, actual: string): MlvError {
  const key = objectKey(o.oid, o.hashName);
  return new MlvError(
    "ECORRUPT",
    `downloaded '${key}' from ${remote.displayUrl} but its content hashes to ${actual}, not ${o.oid}: the object on the remote is corrupt; it was not used`,
    { data: { key, actual } },
  );
}

/** Download one object into the cache: temporary file, hash verified, then renamed into place. Its size. */
export async function download(project: Project, remote: Remote, o: UsedObject): Promise<number> {
  const { tmp } = await downloadToTemp(project, remote, o);
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
