/**
 * Where a tracked output may be: inside the project, never in git's `.git` or a `.dvc` folder.
 * A cloned repository is someone else's input: a pointer saying `path: ../../x`, `wdir: ../..`
 * or `path: .git/hooks/post-checkout` would otherwise make checkout write there (an executable
 * git hook is code run on the next `git checkout`). Checked when pointer and lock files are read,
 * before anything is planned.
 */
import { FormatError } from "../errors.js";

/** Why mlv refuses to write an output at `rel` (posix, from the project root), or undefined when it may. */
function unsafeOutputPath(rel: string): string | undefined {
  if (rel === "" || rel === ".") return "it is the project's own folder";
  if (rel.includes("\0")) return "a path cannot hold a NUL byte";
  // `x: y` is a file name on posix systems; a drive letter only where it means one.
  const drive = process.platform === "win32" ? /^[A-Za-z]:/ : /^[A-Za-z]:[\\/]/;
  if (rel === ".." || rel.startsWith("../") || rel.startsWith("/") || drive.test(rel))
    return "it is outside the project";
  const parts = rel.split("/");
  if (parts.some((p) => p.toLowerCase() === ".git")) return "it is inside a .git folder, which belongs to git";
  if (parts.some((p) => p === ".dvc")) return "it is inside a .dvc folder, which mlv and DVC manage";
  const name = parts[parts.length - 1] ?? "";
  if (name.endsWith(".dvc") || name === "dvc.yaml" || name === "dvc.lock")
    return "it is a file that describes outputs (a .dvc file, dvc.yaml or dvc.lock), not one";
  return undefined;
}

/** Throw a FormatError naming the owner and the path when an output may not be written at `rel`. */
export function guardOutputPath(owner: string, given: string, rel: string): void {
  const why = unsafeOutputPath(rel);
  if (why !== undefined)
    throw new FormatError(
      owner,
      `output '${given}' resolves to '${rel}', and ${why}: mlv only writes inside the project. Check the path${given === rel ? "" : " and 'wdir'"}, and do not run mlv on this repository until it is fixed`,
    );
}
