/**
 * Versions through git: the entry point for revisions on fetch/push/gc, list, diff and versions.
 * Each function here reads through a fresh `GitHistory`; code that asks many questions of one
 * repository (every commit, a file at each) should keep one `GitHistory` and ask it instead.
 */
import { type CommitInfo, GitHistory, type PathChange } from "./history.js";

export {
  type CommitInfo,
  GitHistory,
  type PathChange,
  type SelectRevisionsOptions,
  type Signature,
} from "./history.js";
export { parseRevSpec, type RevSpec, type RevStep } from "./rev-parse.js";

/** The full id of the commit `rev` names (branch, tag, full or abbreviated id, HEAD, with `~N`/`^N`); MlvError EREV if none. */
export function resolveRevision(gitRoot: string, rev: string): Promise<string> {
  return new GitHistory(gitRoot).resolveRevision(rev);
}

/** Local branches, name → tip commit id. */
export function branchTips(gitRoot: string): Promise<Map<string, string>> {
  return new GitHistory(gitRoot).branchTips();
}

/** Tags, name → commit id (annotated tags peeled). */
export function tagTargets(gitRoot: string): Promise<Map<string, string>> {
  return new GitHistory(gitRoot).tagTargets();
}

/** Every commit reachable from the branches, tags and HEAD, each once, newest first. */
export function allCommits(gitRoot: string, options?: { remotes?: boolean }): Promise<CommitInfo[]> {
  return new GitHistory(gitRoot).allCommits(options);
}

/** The commits of `rev`'s history (default HEAD) at which `path` appeared, changed or disappeared, newest first. */
export function commitsTouching(gitRoot: string, path: string, rev?: string): Promise<PathChange[]> {
  return new GitHistory(gitRoot).commitsTouching(path, rev);
}

/** A file's bytes at a commit (path from the git root), or undefined when it has no such file. */
export function readFileAtRevision(gitRoot: string, commitOid: string, relPath: string): Promise<Buffer | undefined> {
  return new GitHistory(gitRoot).readFileAtRevision(commitOid, relPath);
}

/** The `.dvc` files of a commit below `subdir`, as paths from the git root. */
export function pointerFilesAtRevision(gitRoot: string, commitOid: string, subdir?: string): Promise<string[]> {
  return new GitHistory(gitRoot).pointerFilesAtRevision(commitOid, subdir);
}

/** The text of `.dvc/config` at a commit, or undefined. */
export function configTextAtRevision(gitRoot: string, commitOid: string, subdir?: string): Promise<string | undefined> {
  return new GitHistory(gitRoot).configTextAtRevision(commitOid, subdir);
}
