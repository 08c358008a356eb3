import { existsSync, lstatSync } from "node:fs";
import { chmod, copyFile, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { tmpName } from "../cache/object-cache.js";
import { loadPointer } from "../data-index/pointer-outs.js";
import { UsageError } from "../errors.js";
import { escapeGitignoreEntry, removeGitignoreEntry } from "../formats/gitignore.js";
import type { Project } from "../project/project.js";
import { walkFiles } from "../workspace/walk.js";

/**
 * `mlv remove FILE.dvc`: stop tracking. The pointer and its `.gitignore` entries go; the data
 * stays in the workspace as ordinary files (a file linked to the cache becomes a real copy first,
 * so a later `gc` cannot take its bytes away).
 */
export async function remove(project: Project, ownerPath: string): Promise<string[]> {
  if (!ownerPath.endsWith(".dvc"))
    throw new UsageError(`'${ownerPath}' is not a .dvc file: give the pointer file, e.g. '${ownerPath}.dvc'`);
  const outs = loadPointer(project, ownerPath);
  const scm = await project.scm();
  for (const out of outs) {
    if (!out.isDir) await unlinkFromCache(out.abs);
    else if (existsSync(out.abs))
      for (const f of walkFiles(out.abs, out.rel, project.ignore)) await unlinkFromCache(f.abs);
    if (scm) {
      const gitignore = join(dirname(out.abs), ".gitignore");
      await removeGitignoreEntry(gitignore, `/${escapeGitignoreEntry(basename(out.abs))}`);
    }
  }
  await unlink(ownerPath);
  return outs.map((o) => o.rel);
}

/** Make a file linked to the cache (hardlink, symlink) an ordinary, writable copy of its bytes. */
export async function unlinkFromCache(abs: string): Promise<void> {
  let st: ReturnType<typeof lstatSync>;
  try {
    st = lstatSync(abs);
  } catch {
    return;
  }
  if (!st.isSymbolicLink() && st.nlink <= 1) return;
  const tmp = tmpName(dirname(abs));
  await copyFile(abs, tmp);
  // The cache object is read-only; the user's file becomes an ordinary, writable one again.
  await chmod(tmp, (st.mode & 0o111 ? 0o777 : 0o666) & ~process.umask());
  await rename(tmp, abs);
}
