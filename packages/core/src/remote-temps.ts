import { createHash, randomBytes } from "node:crypto";
import { readdir, stat, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";

/**
 * Temporary files on a remote that is a file system (a folder, SFTP): an upload writes
 * `.mlv-<pid>-<host tag>-<random>-<n>.tmp` beside the object and renames it into place. A killed
 * upload leaves one behind; adapters remove those they meet that are stale, with one rule for all.
 */

/** This machine in temporary names: a short digest of its host name (names stay plain ASCII). */
const HOST_TAG = createHash("md5").update(hostname()).digest("hex").slice(0, 8);
const OWN_TEMP = /^\.mlv-([0-9]+)-([0-9a-f]{8})-[A-Za-z0-9_-]+\.tmp$/;
/** A temporary file this old is stale whoever wrote it: no single object upload lasts a day. */
const STALE_AGE_MS = 24 * 60 * 60 * 1000;

/** The start of this process's temporary names (`.mlv-<pid>-<host>-<random>-`); add a counter and `.tmp`. */
export function remoteTempPrefix(): string {
  return `.mlv-${process.pid}-${HOST_TAG}-${randomBytes(6).toString("base64url")}-`;
}

/**
 * A temporary file's name as mlv and DVC write them on remotes: `.<token>.tmp` (mlv's own, and
 * DVC's `put_file`), or `<object name>.<token>.tmp` (DVC's `move`, a 22-character url-safe token).
 */
export function isRemoteTempName(name: string): boolean {
  if (!name.endsWith(".tmp")) return false;
  return name.charCodeAt(0) === 46 /* . */ || DVC_MOVE_TEMP.test(name);
}

const DVC_MOVE_TEMP = /.\.[A-Za-z0-9_-]{22}\.tmp$/;

/** The rule `isStaleRemoteTemp` follows, in words for people (e.g. in `gc -c`'s report). */
export const STALE_REMOTE_TEMP_RULE =
  "temporary files of interrupted uploads: this machine's whose mlv process has ended, and anyone's older than a day";

/**
 * Whether a temporary file (name, modification time) can go: this machine's whose process is
 * gone, or anyone's a day old (a remote may be shared by machines whose processes we cannot see).
 */
export function isStaleRemoteTemp(name: string, mtimeMs: number, now = Date.now()): boolean {
  if (!isRemoteTempName(name)) return false;
  const own = OWN_TEMP.exec(name);
  if (own !== null && own[2] === HOST_TAG && !isAlive(Number(own[1]))) return true;
  return now - mtimeMs > STALE_AGE_MS;
}

/** Whether a process with this id runs on this machine (one we may not signal runs too). */
export function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Remove from a folder on this machine (a local remote's) the temporary files that
 * `isStaleRemoteTemp` says can go; best effort, it never fails.
 */
export async function sweepStaleRemoteTemps(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!isRemoteTempName(name)) continue;
    const path = join(dir, name);
    const mtimeMs = await stat(path).then(
      (st) => st.mtimeMs,
      () => Date.now(),
    );
    if (isStaleRemoteTemp(name, mtimeMs)) await unlink(path).catch(() => {});
  }
}
