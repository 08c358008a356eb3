/**
 * The history walk of tracking-file changes: for each commit, the `.dvc`, `dvc.yaml` and `dvc.lock`
 * files it added or changed compared with its first parent, remembered in the HistoryIndex. All
 * commits (`-A`) then cost one pass over what changed, and the next command none.
 */
import { mapInBatches } from "../batches.js";
import type { CommitInfo, GitObjects } from "./objects.js";
import type { TrackingFiles } from "./tracking-files.js";

/** The tracking files one commit contributes to a walk: path → blob, as [path, blob] pairs. */
export interface CommitTrackingFiles {
  oid: string;
  files: [string, string][];
}

export class TrackingChanges {
  constructor(
    private readonly objects: GitObjects,
    private readonly files: TrackingFiles,
  ) {}

  /**
   * The tracking files of every commit in `commits`, below `sub` (normalised, "" for the git root),
   * in the order of `commits`. A commit whose first parent is also in `commits` contributes only
   * the files it added or changed: the rest are its parent's (a root commit's changes are all its
   * files).
   */
  async ofCommits(commits: readonly string[], sub: string): Promise<CommitTrackingFiles[]> {
    const inSet = new Set(commits);
    const onlyChanges = (c: CommitInfo) => c.parents[0] === undefined || inSet.has(c.parents[0]);
    // What the index holds is taken at once; the rest is read from git, a batch at a time.
    const lists: CommitTrackingFiles[] = [];
    const unknown: string[] = [];
    for (const oid of commits) {
      const commit = this.objects.knownCommit(oid);
      const changes = commit && onlyChanges(commit) ? this.objects.index.changes(sub, commit.oid) : undefined;
      if (commit && changes) lists.push({ oid: commit.oid, files: changes });
      else unknown.push(oid);
    }
    lists.push(
      ...(await mapInBatches(unknown, 64, async (oid) => {
        const commit = await this.objects.commit(oid);
        const files = onlyChanges(commit)
          ? await this.changesOf(commit, sub)
          : [...(await this.files.resolved(commit, sub))];
        return { oid: commit.oid, files };
      })),
    );
    return lists;
  }

  /** The tracking files (path, blob) of a commit that its first parent does not have the same, remembered in the index. */
  private async changesOf(commit: CommitInfo, sub: string): Promise<[string, string][]> {
    const known = this.objects.index.changes(sub, commit.oid);
    if (known !== undefined) return known;
    const parent = commit.parents[0] === undefined ? undefined : await this.objects.commitIfPresent(commit.parents[0]);
    const [own, before] = await Promise.all([
      this.files.resolved(commit, sub),
      parent === undefined ? new Map<string, string>() : this.files.resolved(parent, sub),
    ]);
    const changes = [...own].filter(([path, blob]) => before.get(path) !== blob);
    this.objects.index.putChanges(sub, commit.oid, changes);
    return changes;
  }
}
