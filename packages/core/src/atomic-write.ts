import { randomBytes } from "node:crypto";
import { rename, unlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { translateFsError } from "./errors.js";

/**
 * A temporary file's name in `dir`: `.mlv-<pid>-<random>.tmp`, which every walk of the workspace
 * recognises (TEMP_FILE), so a killed command's leftovers are never taken for data.
 */
export function tmpName(dir: string): string {
  return join(dir, `.mlv-${process.pid}-${randomBytes(9).toString("base64url")}.tmp`);
}

/** The names temporary files get, from `tmpName` and from the worker threads. */
export const TEMP_FILE = /^\.mlv-[0-9]+-[A-Za-z0-9_-]+\.tmp$/;

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
