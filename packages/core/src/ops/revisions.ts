import { join, relative, resolve, sep } from "node:path";
import { HistoryOuts } from "../data-index/history-outs.js";
import type { TrackedOut } from "../data-index/types.js";
import { UsageError } from "../errors.js";
import { GitHistory } from "../git/revisions.js";
import type { Project } from "../project/project.js";

/**
 * A reader of the history of the git repository holding `project`, which keeps what it learns from git
 * in the project's `.dvc/tmp` for the next command (call `saveIndex()` once done).
 */
export function projectHistory(project: Project, gitRoot: string): GitHistory {
  return new GitHistory(gitRoot, { indexFile: join(project.dvcDir, "tmp", "mlv", "git-index.json") });
}

/** Which versions of the project an operation covers, with DVC's flags. */
export interface RevisionScope {
  /** `--rev REV` (may repeat). */
  revs?: readonly string[];
  /** `-a/--all-branches`: the tip of every local branch. */
  allBranches?: boolean;
  /** `-T/--all-tags`: every tag. */
  allTags?: boolean;
  /** `-A/--all-commits`: every commit. */
  allCommits?: boolean;
}

export function hasRevisions(scope: RevisionScope): boolean {
  return (scope.revs?.length ?? 0) > 0 || !!scope.allBranches || !!scope.allTags || !!scope.allCommits;
}

/**
 * The outputs of the workspace plus those the chosen revisions track, read from git without a
 * checkout (the workspace and HEAD are left alone). With `targets` (paths relative to `cwd`), only
 * outputs at those paths, or of those pointer files, are kept from the revisions.
 */
export async function outsInScope(
  project: Project,
  workspaceOuts: TrackedOut[],
  scope: RevisionScope,
  targets: readonly string[] = [],
  cwd: string = process.cwd(),
): Promise<TrackedOut[]> {
  if (!hasRevisions(scope)) return workspaceOuts;
  const scm = await project.scm();
  if (!scm)
    throw new UsageError("--rev, -a, -T and -A read versions from git, and this project is not in a git repository");
  const history = projectHistory(project, scm.root);
  const subdir = relative(scm.root, project.root).split(sep).join("/");
  const picked = await history.selectRevisions(scope);
  const wanted = targets.map((t) => resolve(cwd, t.replace(/[\\/]+$/, "")));
  const keep = (o: TrackedOut) =>
    wanted.length === 0 || wanted.some((w) => o.abs === w || o.ownerPath === w || o.abs.startsWith(w + sep));
  const seen = new Set<string>();
  const all: TrackedOut[] = [];
  const push = (o: TrackedOut) => {
    const key = `${o.hashName}\0${o.out.md5}\0${o.rel}`;
    if (seen.has(key)) return;
    seen.add(key);
    all.push(o);
  };
  for (const o of workspaceOuts) push(o);
  for (const o of await new HistoryOuts(history).ofCommits([...picked.keys()], { subdir: subdir || undefined }))
    if (keep(o)) push(o);
  history.saveIndex();
  return all;
}
