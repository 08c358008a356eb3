/**
 * Walks over commits: everything reachable from the refs, a revision's history in git's
 * `--date-order`, the commits that changed one path, and the commits DVC's revision flags pick.
 */
import { type CommitInfo, type GitObjects, objectIdOf } from "./objects.js";
import type { GitRefs } from "./refs.js";

/** A commit at which the object at a path changed. */
export interface PathChange extends CommitInfo {
  /** The object at the path in this commit (a blob; a tree when the path is a folder); undefined once removed. */
  blob: string | undefined;
  /** Compared with the first parent. */
  change: "added" | "modified" | "deleted";
}

export interface SelectRevisionsOptions {
  /** Revisions by name (`main`, `v1.0`, `HEAD~2`, `1a2b3c4`). */
  revs?: readonly string[];
  allBranches?: boolean;
  allTags?: boolean;
  allCommits?: boolean;
}

/**
 * Newest first, and never a commit before one of its children (git's `--date-order`): among the
 * commits whose children are all listed, the latest committer date goes next.
 */
function dateOrder(commits: Map<string, CommitInfo>): CommitInfo[] {
  const children = new Map<string, number>();
  for (const c of commits.values())
    for (const p of c.parents) if (commits.has(p)) children.set(p, (children.get(p) ?? 0) + 1);
  // Ready commits, kept sorted so that the next one is last: oldest date first, then latest arrival.
  const ready: { c: CommitInfo; seq: number }[] = [];
  let seq = 0;
  const before = (a: { c: CommitInfo; seq: number }, b: { c: CommitInfo; seq: number }) =>
    a.c.committer.timestamp < b.c.committer.timestamp ||
    (a.c.committer.timestamp === b.c.committer.timestamp && a.seq > b.seq);
  const push = (c: CommitInfo) => {
    const item = { c, seq: seq++ };
    let lo = 0;
    let hi = ready.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (before(ready[mid]!, item)) lo = mid + 1;
      else hi = mid;
    }
    ready.splice(lo, 0, item);
  };
  for (const c of commits.values()) if (!children.has(c.oid)) push(c);
  const out: CommitInfo[] = [];
  for (let next = ready.pop(); next; next = ready.pop()) {
    out.push(next.c);
    for (const p of next.c.parents) {
      const left = children.get(p);
      if (left === undefined) continue;
      if (left === 1) {
        children.delete(p);
        push(commits.get(p)!);
      } else children.set(p, left - 1);
    }
  }
  return out;
}

export class GitLog {
  constructor(
    private readonly objects: GitObjects,
    private readonly refs: GitRefs,
  ) {}

  /** Every commit reachable from `tips`, each once. Parents missing from a shallow clone end the walk there. */
  private async reachable(tips: Iterable<string>): Promise<Map<string, CommitInfo>> {
    const found = new Map<string, CommitInfo>();
    const queued = new Set<string>();
    let frontier: string[] = [];
    const enqueue = (oid: string) => {
      if (queued.has(oid)) return;
      queued.add(oid);
      frontier.push(oid);
    };
    for (const tip of tips) enqueue(tip);
    // Tips must exist; parents may be missing (shallow clones).
    let read: (oid: string) => Promise<CommitInfo | undefined> = (oid) => this.objects.commit(oid);
    const visit = (c: CommitInfo) => {
      found.set(c.oid, c);
      for (const p of c.parents) enqueue(p);
    };
    while (frontier.length > 0) {
      // A level at a time, in order (breadth first: dateOrder breaks ties by arrival). Commits the
      // index knows are taken without waiting; the others are read from git together.
      const unknown: string[] = [];
      const level = frontier;
      frontier = [];
      for (let i = 0; i < level.length; i++) {
        const known = this.objects.knownCommit(level[i]!);
        if (known !== undefined) visit(known);
        else unknown.push(level[i]!);
      }
      if (unknown.length > 0) for (const c of await Promise.all(unknown.map(read))) if (c !== undefined) visit(c);
      read = (oid) => this.objects.commitIfPresent(oid);
    }
    return found;
  }

  /**
   * Every commit reachable from a local branch, a tag or HEAD (and remote-tracking branches with
   * `remotes`), each once, newest first with children before their parents.
   */
  async allCommits(options: { remotes?: boolean } = {}): Promise<CommitInfo[]> {
    const tips = [...(await this.refs.branchTips()).values(), ...(await this.refs.tagTargets()).values()];
    const head = await this.refs.head();
    if (head !== undefined) tips.push((await this.objects.commit(head)).oid);
    if (options.remotes) tips.push(...(await this.refs.remoteTips()));
    return dateOrder(await this.reachable(tips));
  }

  /** Every commit reachable from `rev` (default HEAD), newest first with children before their parents. */
  async history(rev = "HEAD"): Promise<CommitInfo[]> {
    return dateOrder(await this.reachable([await this.refs.resolveRevision(rev)]));
  }

  /**
   * The commits in the history of `rev` (default HEAD), newest first, at which the object at `path`
   * (from the git root, posix) appeared, changed or disappeared. A merge is listed only when the
   * result differs from every parent, so a version that came in through a merge is listed once, at
   * the commit that made it.
   */
  async commitsTouching(path: string, rev = "HEAD"): Promise<PathChange[]> {
    const parts = this.objects.gitPathParts(path);
    const commits = await this.history(rev);
    const objectAt = async (tree: string) => objectIdOf(await this.objects.entryAtPath(tree, parts));
    const inParent = async (oid: string) => {
      const parent = await this.objects.commitIfPresent(oid);
      return parent === undefined ? undefined : objectAt(parent.tree);
    };
    const changes = await Promise.all(
      commits.map(async (c): Promise<PathChange | undefined> => {
        const [own, before] = await Promise.all([objectAt(c.tree), Promise.all(c.parents.map(inParent))]);
        const changed = before.length === 0 ? own !== undefined : before.every((b) => b !== own);
        if (!changed) return undefined;
        const first = before[0];
        return { ...c, blob: own, change: own === undefined ? "deleted" : first === undefined ? "added" : "modified" };
      }),
    );
    return changes.filter((c) => c !== undefined);
  }

  /**
   * Commits picked the way DVC's `--rev`, `--all-branches`, `--all-tags` and `--all-commits` pick
   * them: commit id → the names that picked it, in the order first picked.
   */
  async selectRevisions(options: SelectRevisionsOptions): Promise<Map<string, string[]>> {
    const picked = new Map<string, string[]>();
    const add = (oid: string, name?: string) => {
      const names = picked.get(oid) ?? picked.set(oid, []).get(oid)!;
      if (name !== undefined && !names.includes(name)) names.push(name);
    };
    for (const rev of options.revs ?? []) add(await this.refs.resolveRevision(rev), rev);
    if (options.allBranches) for (const [name, oid] of await this.refs.branchTips()) add(oid, name);
    if (options.allTags) for (const [name, oid] of await this.refs.tagTargets()) add(oid, name);
    if (options.allCommits) for (const c of await this.allCommits()) add(c.oid);
    return picked;
  }
}
