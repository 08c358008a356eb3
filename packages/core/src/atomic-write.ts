import { randomBytes } from "node:crypto";
import { readdirSync, statSync, unlinkSync } from "node:fs";
import { rename, rm, stat, unlink, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { translateFsError } from "./errors.js";
import { isAlive } from "./remote-temps.js";

/**
 * A temporary file's name in `dir`: `.mlv-<pid>-<random>.tmp`, which every walk of the workspace
 * recognises (TEMP_FILE), so a killed command's leftovers are never taken for data.
 */
export function tmpName(dir: string): string {
  return join(dir, `.mlv-${process.pid}-${randomBytes(9).toString("base64url")}.tmp`);
}

/**
 * The names temporary files get, from `tmpName` and from the worker threads: exactly twelve random
 * characters, so that a file of the user's is not taken for one (and removed) by a loose match.
 */
export const TEMP_FILE = /^\.mlv-[0-9]+-[A-Za-z0-9_-]{12}\.tmp$/;

/** Write a small file so readers see the old content or the new, never half of it. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = tmpName(dirname(path));
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw translateFsError(err, path);
  }
}

/** Replace `dest` (a file or a folder) by `staged` with renames: readers see the old data or the new, never a mix. */
export async function replaceWith(staged: string, dest: string): Promise<void> {
  const existing = await stat(dest).catch(() => undefined);
  if (!existing) {
    await rename(staged, dest);
    return;
  }
  const old = tmpName(dirname(dest));
  await rename(dest, old);
  try {
    await rename(staged, dest);
  } catch (err) {
    await rename(old, dest).catch(() => {});
    throw err;
  }
  await rm(old, { recursive: true, force: true });
}

/**
 * Remove the temporary files in `dir` (not below it) whose process is gone: what a killed command
 * left. A live process's files, or those of a process now holding a recycled id, stay. Partial
 * downloads stay an hour for a retry to resume them.
 */
export function removeStaleTemps(dir: string): number {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  const now = Date.now();
  let removed = 0;
  for (const name of names) {
    if (!name.endsWith(PARTIAL_SUFFIX)) continue;
    // A partial download is kept for the next attempt to resume; one untouched for an hour is abandoned.
    const path = join(dir, name);
    const st = statSync(path, { throwIfNoEntry: false });
    if (st !== undefined && now - st.mtimeMs > PARTIAL_KEPT_MS) {
      unlinkSync(path);
      removed++;
    }
  }
  return removed + removeIfStale(names.filter((name) => TEMP_FILE.test(name)).map((name) => join(dir, name)));
}

/**
 * A download in progress in the cache: `<object path>.mlv-partial`, a fixed name, so that the next
 * attempt (after a dropped connection or a killed command) finds it and resumes from its end.
 */
export const PARTIAL_SUFFIX = ".mlv-partial";
const PARTIAL_KEPT_MS = 60 * 60 * 1000;

/** Of these temporary files (full paths), remove those whose process is gone; returns how many went. */
export function removeIfStale(temps: readonly string[]): number {
  let removed = 0;
  for (const path of temps) {
    const name = basename(path);
    if (!TEMP_FILE.test(name) || isAlive(Number(name.slice(5, name.indexOf("-", 5))))) continue;
    try {
      unlinkSync(path);
      removed++;
    } catch {
      // gone meanwhile, or not ours to remove: either way nothing to do
    }
  }
  return removed;
}
