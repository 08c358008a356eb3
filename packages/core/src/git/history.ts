/**
 * Versions through git: revisions resolved, histories walked and pointer files read at any commit,
 * all from git's object database through isomorphic-git, without a checkout and without a `git`
 * executable.
 */
import { lstat } from "node:fs/promises";
import { dirname, join, posix, relative, resolve, sep } from "node:path";
import ignore, { type Ignore } from "ignore";
import type { TreeEntry } from "isomorphic-git";
import { LOCK_FILE, lockOnlyPipeline, PIPELINE_FILE, stageOutputs } from "../data-index/stage-outputs.js";
import { FormatError, MlvError, UsageError } from "../errors.js";
import { type ConfigData, parseConfigObj } from "../formats/configobj.js";
import { parseLockFile } from "../formats/dvc-lock.js";
import { loadPipelineFile } from "../formats/dvc-yaml.js";
import type { PipelineFile, PipelineReader } from "../formats/pipeline.js";
import { type PointerFile, parsePointer } from "../formats/pointer.js";
import type { TrackedOut } from "../repo.js";
import { HistoryIndex } from "./history-index.js";
import { type Git, gitErrorCode, loadGit } from "./load.js";
import { keepUndeltifiedObjects } from "./pack-cache.js";
import { parseRevSpec } from "./rev-parse.js";
import { SnapshotFs } from "./snapshot-fs.js";

/** Who made a commit, and when (`timestamp` in seconds since the epoch, `timezoneOffset` in minutes as git stores it). */
export interface Signature {
  name: string;
  email: string;
  timestamp: number;
  timezoneOffset: number;
}

/** One commit, as read from git. */
export interface CommitInfo {
  oid: string;
  /** The commit's root tree. */
  tree: string;
  /** Parent commit ids, first parent first; empty for a root commit. */
  parents: string[];
  author: Signature;
  committer: Signature;
  /** The full message, as stored (usually ending in a newline). */
  message: string;
}

/** A commit at which the object at a path changed. */
export interface PathChange extends CommitInfo {
  /** The object at the path in this commit (a blob; a tree when the path is a folder); undefined once removed. */
  blob: string | undefined;
  /** Compared with the first parent. */
  change: "added" | "modified" | "deleted";
}

/** A tracked output of a pointer file at some revision. Paths and `abs` are those it would have in the workspace. */
export interface RevisionOut extends TrackedOut {
  /** The pointer file's path from the git root, posix (what `readFileAtRevision` takes). */
  gitPath: string;
}

export interface OutsAtRevisionOptions {
  /** The mlv project's folder inside the git repository (`mlv init --subdir`), posix; the git root when absent. */
  subdir?: string;
  /** Skip pointer files that cannot be read, reporting each here, instead of failing on the first. */
  onInvalid?: (error: FormatError) => void;
}

export interface SelectRevisionsOptions {
  /** Revisions by name (`main`, `v1.0`, `HEAD~2`, `1a2b3c4`). */
  revs?: readonly string[];
  allBranches?: boolean;
  allTags?: boolean;
  allCommits?: boolean;
}

/** `fn` over `items`, `size` at a time (a cold walk of thousands of commits would otherwise hold them all in flight), results in order. */
async function mapInBatches<T, R>(items: readonly T[], size: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) out.push(...(await Promise.all(items.slice(i, i + size).map(fn))));
  return out;
}

/** A bounded map of promises: concurrent requests share one read; failed reads are forgotten. */
class Memo<V> {
  private readonly map = new Map<string, Promise<V>>();
  constructor(private readonly limit: number) {}

  get(key: string, load: () => Promise<V>): Promise<V> {
    let value = this.map.get(key);
    if (value === undefined) {
      value = load();
      if (this.map.size >= this.limit) {
        const oldest = this.map.keys().next();
        if (!oldest.done) this.map.delete(oldest.value);
      }
      this.map.set(key, value);
      value.catch(() => this.map.delete(key));
    }
    return value;
  }
}

/** `.dvcignore` rules in force in a folder: the rules' own id, and the path from their folder to this one. */
interface InheritedRules {
  id: string;
  rules: Ignore;
  prefix: string;
}

/** Where a pointer file and one of its outputs are in the workspace (see `TrackedOut`). */
interface OutPaths {
  ownerPath: string;
  owner: string;
  abs: string;
  rel: string;
}

/** A pointer file found in a tree. */
interface PointerEntry {
  /** From the walked tree, posix. */
  path: string;
  oid: string;
  symlink: boolean;
}

/** Paths every walk leaves out, anywhere (spec §2.4), and folders `collectOuts` never enters. */
const BUILTIN = new Set([".git", ".hg", ".dvc"]);
const SKIPPED_DIRS = new Set([...BUILTIN, "node_modules"]);
const SYMLINK_MODE = "120000";

/** The files that say what a project tracks: `.dvc` files, and `dvc.yaml` with its `dvc.lock`. */
function isTrackingFile(name: string): boolean {
  return name.endsWith(".dvc") || name === PIPELINE_FILE || name === LOCK_FILE;
}

/** The folder (git path) of a `dvc.yaml` or `dvc.lock`, or undefined for a `.dvc` file. */
function pipelineFolder(path: string): string | undefined {
  const name = posix.basename(path);
  if (name !== PIPELINE_FILE && name !== LOCK_FILE) return undefined;
  return posix.dirname(path);
}
const FULL_OID = /^[0-9a-f]{40}$/;

function short(oid: string): string {
  return oid.slice(0, 7);
}

function toPosix(p: string): string {
  return sep === "/" ? p : p.split(sep).join("/");
}

function splitPath(path: string): string[] {
  return path.split("/").filter((p) => p !== "" && p !== ".");
}

/** Codepoint order, as `collectOuts` sorts. */
function byString(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
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

/**
 * The history of one git repository, read through isomorphic-git. Objects never change, so parsed
 * commits and trees are kept for the life of the instance (trees up to a bound), and isomorphic-git
 * keeps its parsed packfiles in a shared cache. The lists of branches and tags are read once per
 * instance: make a new one to see branches or tags added since.
 */
export class GitHistory {
  /** isomorphic-git's cache of parsed packfiles and objects read from them, shared by every call. */
  private readonly gitCache: object = {};
  private readonly fs = new SnapshotFs();
  private readonly commits = new Map<string, Promise<CommitInfo>>();
  /** The commits of `commits` known without waiting. */
  private readonly settledCommits = new Map<string, CommitInfo>();
  private readonly trees = new Memo<Map<string, TreeEntry>>(4_096);
  private readonly pointerLists = new Memo<PointerEntry[]>(4_096);
  private readonly ignoreFiles = new Memo<Ignore | null>(10_000);
  private readonly parsedOuts = new Map<string, RevisionOut[]>();
  private readonly pointerBlobs = new Memo<Map<string, string>>(512);
  /** Project root → pointer path → output path (with its wdir) → workspace paths. */
  private readonly outPaths = new Map<string, Map<string, Map<string, OutPaths>>>();
  private refs: Promise<{ branches: Map<string, string>; tags: Map<string, string> }> | undefined;
  private readable: Promise<void> | undefined;

  private readonly index: HistoryIndex;

  /**
   * `gitRoot`: the git work tree (the folder holding `.git`). `indexFile`: where to keep what was
   * read between instances (see HistoryIndex); call `saveIndex()` once done.
   */
  constructor(
    readonly gitRoot: string,
    options: { indexFile?: string } = {},
  ) {
    this.index = new HistoryIndex(options.indexFile);
  }

  /** Keep what this instance read from git for the next one with the same `indexFile`. */
  saveIndex(): void {
    this.index.save();
  }

  private args() {
    return { fs: this.fs, dir: this.gitRoot, cache: this.gitCache };
  }

  /**
   * An object read through isomorphic-git. When it finds nothing, the file system snapshot may be
   * stale (objects written or repacked meanwhile): forget it and try once more.
   */
  private async readObject<T>(read: (git: Git) => Promise<T>): Promise<T> {
    const git = await loadGit();
    try {
      return await read(git);
    } catch (err) {
      if (gitErrorCode(err) !== "NotFoundError") throw err;
      this.fs.forget();
      return await read(git);
    } finally {
      keepUndeltifiedObjects(this.gitCache);
    }
  }

  private failure(err: unknown, what: string): MlvError {
    if (err instanceof MlvError) return err;
    return new MlvError(
      "EGIT",
      `cannot read ${what} from the git repository '${this.gitRoot}': ${(err as Error)?.message ?? err}`,
      {
        data: { gitRoot: this.gitRoot, gitCode: gitErrorCode(err) },
        cause: err,
      },
    );
  }

  private unknownRevision(rev: string, detail = `not a branch, tag or commit of ${this.gitRoot}`): MlvError {
    return new MlvError("EREV", `unknown revision '${rev}': ${detail}`, { data: { rev, gitRoot: this.gitRoot } });
  }

  // ---------------------------------------------------------------- objects

  /** A commit by full id (an annotated tag's id gives the commit it tags). */
  commit(oid: string): Promise<CommitInfo> {
    let info = this.commits.get(oid);
    if (info === undefined) {
      if (this.knownCommit(oid) !== undefined) return this.commits.get(oid)!;
      info = this.readObject((git) => git.readCommit({ ...this.args(), oid })).then(
        ({ oid: commitOid, commit }): CommitInfo => {
          const read: CommitInfo = {
            oid: commitOid,
            tree: commit.tree,
            parents: commit.parent,
            author: commit.author,
            committer: commit.committer,
            message: commit.message,
          };
          this.index.putCommit(oid, read);
          return read;
        },
        (err: unknown) => {
          throw this.failure(err, `commit ${oid}`);
        },
      );
      this.commits.set(oid, info);
      info.catch(() => this.commits.delete(oid));
    }
    return info;
  }

  /** A commit already known (read by this instance, or in the index) without waiting; undefined otherwise. */
  private knownCommit(oid: string): CommitInfo | undefined {
    const settled = this.settledCommits.get(oid);
    if (settled !== undefined) return settled;
    const known = this.index.commit(oid);
    if (known !== undefined) {
      this.settledCommits.set(oid, known);
      this.commits.set(oid, Promise.resolve(known));
    }
    return known;
  }

  /** A commit, or undefined when the object is absent (beyond the edge of a shallow clone). */
  private async commitIfPresent(oid: string): Promise<CommitInfo | undefined> {
    try {
      return await this.commit(oid);
    } catch (err) {
      if (err instanceof MlvError && err.data.gitCode === "NotFoundError") return undefined;
      throw err;
    }
  }

  private tree(oid: string): Promise<Map<string, TreeEntry>> {
    return this.trees.get(oid, async () => {
      try {
        const { tree } = await this.readObject((git) => git.readTree({ ...this.args(), oid }));
        return new Map(tree.map((e) => [e.path, e]));
      } catch (err) {
        throw this.failure(err, `tree ${oid}`);
      }
    });
  }

  private async blob(oid: string): Promise<Buffer> {
    try {
      const { blob } = await this.readObject((git) => git.readBlob({ ...this.args(), oid }));
      return Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
    } catch (err) {
      throw this.failure(err, `blob ${oid}`);
    }
  }

  /** The entry at `parts` below a tree, reading only the trees along the path; the tree itself for no parts. */
  private async entryAt(treeOid: string, parts: readonly string[]): Promise<TreeEntry | undefined> {
    if (parts.length === 0) return { mode: "040000", path: "", oid: treeOid, type: "tree" };
    let entries = await this.tree(treeOid);
    for (let i = 0; ; i++) {
      const entry = entries.get(parts[i]!);
      if (entry === undefined || i === parts.length - 1) return entry;
      if (entry.type !== "tree") return undefined;
      entries = await this.tree(entry.oid);
    }
  }

  /** `entryAt` as "<mode> <oid>" ("" for none), remembered in the index: the same tree always gives the same answer. */
  private async entryAtPath(treeOid: string, parts: readonly string[]): Promise<string> {
    const path = parts.join("/");
    let entry = this.index.entry(path, treeOid);
    if (entry === undefined) {
      const found = await this.entryAt(treeOid, parts);
      entry = found === undefined ? "" : `${found.mode} ${found.oid}`;
      this.index.putEntry(path, treeOid, entry);
    }
    return entry;
  }

  private objectId(entry: string): string | undefined {
    return entry === "" ? undefined : entry.slice(entry.indexOf(" ") + 1);
  }

  /** The blob a file path names in a tree, following symbolic links that stay inside the tree. */
  private async fileAt(treeOid: string, path: string): Promise<TreeEntry | undefined> {
    let parts = splitPath(path);
    for (let hops = 0; hops < 40 && parts.length > 0; hops++) {
      let entries = await this.tree(treeOid);
      let link: { at: number; entry: TreeEntry } | undefined;
      for (let i = 0; i < parts.length; i++) {
        const entry = entries.get(parts[i]!);
        if (entry === undefined) return undefined;
        if (entry.mode === SYMLINK_MODE) {
          link = { at: i, entry };
          break;
        }
        if (i === parts.length - 1) return entry.type === "blob" ? entry : undefined;
        if (entry.type !== "tree") return undefined;
        entries = await this.tree(entry.oid);
      }
      if (link === undefined) return undefined;
      const target = (await this.blob(link.entry.oid)).toString("utf8");
      if (posix.isAbsolute(target)) return undefined;
      const joined = posix.normalize(
        posix.join(parts.slice(0, link.at).join("/") || ".", target, ...parts.slice(link.at + 1)),
      );
      if (joined === ".." || joined.startsWith("../")) return undefined;
      parts = splitPath(joined);
    }
    return undefined;
  }

  /** A full commit id as is; anything else through `resolveRevision`. */
  private commitOf(commitish: string): Promise<CommitInfo> {
    return FULL_OID.test(commitish)
      ? this.commit(commitish)
      : this.resolveRevision(commitish).then((oid) => this.commit(oid));
  }

  // ---------------------------------------------------------------- revisions

  /**
   * The commit a revision names: a branch, a tag (annotated ones peeled to their commit), a full or
   * abbreviated commit id, `HEAD`, followed by any `~N`, `^N`. Throws an MlvError with code EREV
   * naming the revision when there is no such commit.
   */
  async resolveRevision(rev: string): Promise<string> {
    const spec = parseRevSpec(rev.trim());
    if (spec === undefined)
      throw new MlvError(
        "EREV",
        `'${rev}' is not a valid revision: give a branch, a tag or a commit id, optionally followed by ~N or ^N`,
        { data: { rev, gitRoot: this.gitRoot } },
      );
    let commit = await this.resolveName(spec.name, rev);
    for (const step of spec.steps) {
      const count = step.kind === "ancestor" ? step.n : 1;
      for (let i = 0; i < count; i++) {
        const index = step.kind === "ancestor" ? 0 : step.n - 1;
        if (index < 0) break; // `^0`: the commit itself
        const parent = commit.parents[index];
        if (parent === undefined)
          throw this.unknownRevision(
            rev,
            commit.parents.length === 0
              ? `commit ${short(commit.oid)} has no parent`
              : `commit ${short(commit.oid)} has only ${commit.parents.length} parents`,
          );
        const next = await this.commitIfPresent(parent);
        if (next === undefined)
          throw this.unknownRevision(
            rev,
            `the parent ${short(parent)} of commit ${short(commit.oid)} is not in this repository (a shallow clone?)`,
          );
        commit = next;
      }
    }
    return commit.oid;
  }

  private async resolveName(name: string, rev: string): Promise<CommitInfo> {
    const git = await loadGit();
    let target: string | undefined;
    try {
      target = await git.resolveRef({ ...this.args(), ref: name });
    } catch (err) {
      if (gitErrorCode(err) !== "NotFoundError") throw this.failure(err, `ref '${name}'`);
    }
    if (target === undefined && /^[0-9a-fA-F]{4,40}$/.test(name)) target = await this.expandAbbreviation(name, rev);
    if (target === undefined) {
      await this.assertReadable();
      throw this.unknownRevision(rev);
    }
    try {
      return await this.commit(target);
    } catch (err) {
      const code = err instanceof MlvError ? err.data.gitCode : undefined;
      if (code === "NotFoundError") throw this.unknownRevision(rev);
      if (code === "ObjectTypeError") {
        const actual = ((err as MlvError).cause as { data?: { actual?: string } }).data?.actual ?? "object";
        throw this.unknownRevision(rev, `it names a ${actual}, not a commit`);
      }
      throw err;
    }
  }

  /** An abbreviated id: the one object it abbreviates, or the one commit among several objects. */
  private async expandAbbreviation(abbrev: string, rev: string): Promise<string | undefined> {
    try {
      return await this.readObject((git) => git.expandOid({ ...this.args(), oid: abbrev.toLowerCase() }));
    } catch (err) {
      const code = gitErrorCode(err);
      if (code === "NotFoundError") return undefined;
      if (code !== "AmbiguousError") throw this.failure(err, `object '${abbrev}'`);
      const matches = ((err as { data?: { matches?: string[] } }).data?.matches ?? []).filter((m) => FULL_OID.test(m));
      const commits = (
        await Promise.all(
          matches.map((m) =>
            this.commit(m).then(
              () => m,
              () => undefined,
            ),
          ),
        )
      ).filter((m) => m !== undefined);
      if (commits.length === 1) return commits[0];
      throw new MlvError(
        "EREV",
        `ambiguous revision '${rev}': '${abbrev}' abbreviates ${matches.length} objects (${matches.map(short).join(", ")}); give more characters`,
        { data: { rev, gitRoot: this.gitRoot, matches } },
      );
    }
  }

  /**
   * Fail clearly in a linked worktree (`git worktree add`): its `.git` is a file naming a folder
   * that holds HEAD but shares branches and objects through `commondir`, which isomorphic-git does
   * not follow, so it would see a repository without branches or commits.
   */
  private assertReadable(): Promise<void> {
    this.readable ??= (async () => {
      const dotGit = await lstat(join(this.gitRoot, ".git")).catch(() => undefined);
      if (!dotGit?.isFile()) return;
      const git = await loadGit();
      const target = await git.resolveRef({ ...this.args(), ref: "HEAD", depth: 2 }).catch(() => undefined);
      if (target === undefined || (await this.resolvesTo(target))) return;
      throw new MlvError(
        "EGITWORKTREE",
        `'${this.gitRoot}' looks like a linked git worktree (its .git is a file and HEAD's branch '${target}' is not found there): mlv reads git through isomorphic-git, which cannot read those; run the command in the repository's main work tree`,
        { data: { gitRoot: this.gitRoot } },
      );
    })();
    return this.readable;
  }

  private async resolvesTo(ref: string): Promise<boolean> {
    const git = await loadGit();
    return git.resolveRef({ ...this.args(), ref }).then(
      () => true,
      () => false,
    );
  }

  private loadRefs(): Promise<{ branches: Map<string, string>; tags: Map<string, string> }> {
    this.refs ??= (async () => {
      await this.assertReadable();
      const git = await loadGit();
      const base = this.args();
      try {
        const branches = new Map<string, string>();
        for (const name of await git.listBranches(base))
          branches.set(name, await git.resolveRef({ ...base, ref: `refs/heads/${name}` }));
        const tags = new Map<string, string>();
        for (const name of await git.listTags(base)) {
          const target = await git.resolveRef({ ...base, ref: `refs/tags/${name}` });
          try {
            tags.set(name, (await this.commit(target)).oid);
          } catch (err) {
            // A tag of a tree or a blob names no revision.
            if (!(err instanceof MlvError && err.data.gitCode === "ObjectTypeError")) throw err;
          }
        }
        return { branches, tags };
      } catch (err) {
        throw this.failure(err, "the branches and tags");
      }
    })();
    this.refs.catch(() => {
      this.refs = undefined;
    });
    return this.refs;
  }

  /** Local branches, name → the commit at their tip. */
  async branchTips(): Promise<Map<string, string>> {
    return new Map((await this.loadRefs()).branches);
  }

  /** Tags, name → the commit they name (annotated tags peeled); tags of trees or blobs are left out. */
  async tagTargets(): Promise<Map<string, string>> {
    return new Map((await this.loadRefs()).tags);
  }

  /** The commit HEAD names, or undefined on a branch without commits yet. */
  private async head(): Promise<string | undefined> {
    const git = await loadGit();
    try {
      return await git.resolveRef({ ...this.args(), ref: "HEAD" });
    } catch (err) {
      if (gitErrorCode(err) === "NotFoundError") return undefined;
      throw this.failure(err, "HEAD");
    }
  }

  /** Remote-tracking branches' tips. */
  private async remoteTips(): Promise<string[]> {
    const git = await loadGit();
    const base = this.args();
    const tips: string[] = [];
    try {
      for (const { remote } of await git.listRemotes(base))
        for (const name of await git.listBranches({ ...base, remote }))
          tips.push(await git.resolveRef({ ...base, ref: `refs/remotes/${remote}/${name}` }));
    } catch (err) {
      throw this.failure(err, "the remote-tracking branches");
    }
    return tips;
  }

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
    let read: (oid: string) => Promise<CommitInfo | undefined> = (oid) => this.commit(oid);
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
        const known = this.knownCommit(level[i]!);
        if (known !== undefined) visit(known);
        else unknown.push(level[i]!);
      }
      if (unknown.length > 0) for (const c of await Promise.all(unknown.map(read))) if (c !== undefined) visit(c);
      read = (oid) => this.commitIfPresent(oid);
    }
    return found;
  }

  /**
   * Every commit reachable from a local branch, a tag or HEAD (and remote-tracking branches with
   * `remotes`), each once, newest first with children before their parents.
   */
  async allCommits(options: { remotes?: boolean } = {}): Promise<CommitInfo[]> {
    const { branches, tags } = await this.loadRefs();
    const tips = [...branches.values(), ...tags.values()];
    const head = await this.head();
    if (head !== undefined) tips.push((await this.commit(head)).oid);
    if (options.remotes) tips.push(...(await this.remoteTips()));
    return dateOrder(await this.reachable(tips));
  }

  /** Every commit reachable from `rev` (default HEAD), newest first with children before their parents. */
  async history(rev = "HEAD"): Promise<CommitInfo[]> {
    return dateOrder(await this.reachable([await this.resolveRevision(rev)]));
  }

  /**
   * The commits in the history of `rev` (default HEAD), newest first, at which the object at `path`
   * (from the git root, posix) appeared, changed or disappeared. A merge is listed only when the
   * result differs from every parent, so a version that came in through a merge is listed once, at
   * the commit that made it.
   */
  async commitsTouching(path: string, rev = "HEAD"): Promise<PathChange[]> {
    const parts = this.gitPathParts(path);
    const commits = await this.history(rev);
    const objectAt = async (tree: string) => this.objectId(await this.entryAtPath(tree, parts));
    const inParent = async (oid: string) => {
      const parent = await this.commitIfPresent(oid);
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
    for (const rev of options.revs ?? []) add(await this.resolveRevision(rev), rev);
    if (options.allBranches) for (const [name, oid] of await this.branchTips()) add(oid, name);
    if (options.allTags) for (const [name, oid] of await this.tagTargets()) add(oid, name);
    if (options.allCommits) for (const c of await this.allCommits()) add(c.oid);
    return picked;
  }

  // ---------------------------------------------------------------- files at a revision

  private gitPathParts(path: string): string[] {
    const normal = posix.normalize(toPosix(path).replace(/^\/+/, ""));
    if (normal === ".." || normal.startsWith("../"))
      throw new UsageError(`'${path}' is outside the git repository '${this.gitRoot}'`, { path });
    return splitPath(normal);
  }

  /**
   * The bytes of the file at `relPath` (from the git root, posix) in a commit (a full id, or any
   * revision), following symbolic links inside the tree; undefined when there is no such file.
   */
  async readFileAtRevision(commitish: string, relPath: string): Promise<Buffer | undefined> {
    const commit = await this.commitOf(commitish);
    const entry = await this.fileAt(commit.tree, this.gitPathParts(relPath).join("/"));
    return entry === undefined ? undefined : this.blob(entry.oid);
  }

  /**
   * Every `.dvc` file of a commit below `subdir` (the mlv project's folder; the git root when
   * absent), as paths from the git root, sorted. Like the workspace walk, it skips `.git`, `.dvc`,
   * `node_modules`, nested projects and whatever that commit's `.dvcignore` files exclude.
   */
  async pointerFilesAtRevision(commitish: string, subdir?: string): Promise<string[]> {
    return (await this.pointersAt(commitish, subdir)).entries.filter((e) => e.path.endsWith(".dvc")).map((e) => e.path);
  }

  private async pointersAt(
    commitish: string,
    subdir: string | undefined,
  ): Promise<{ commit: CommitInfo; sub: string; entries: PointerEntry[] }> {
    const commit = await this.commitOf(commitish);
    const sub = this.gitPathParts(subdir ?? "").join("/");
    const top = await this.entryAt(commit.tree, splitPath(sub));
    if (top?.type !== "tree") return { commit, sub, entries: [] };
    const found = await this.pointersIn(top.oid, []);
    const entries = sub === "" ? found : found.map((e) => ({ ...e, path: `${sub}/${e.path}` }));
    return { commit, sub, entries };
  }

  /** The pointer files below a tree (paths relative to it), under the `.dvcignore` rules of its ancestors. */
  private pointersIn(treeOid: string, inherited: readonly InheritedRules[]): Promise<PointerEntry[]> {
    const key = [treeOid, ...inherited.map((r) => `${r.id}:${r.prefix}`)].join("\0");
    return this.pointerLists.get(key, async () => {
      const entries = await this.tree(treeOid);
      const rulesHere = [...inherited];
      const own = entries.get(".dvcignore");
      if (own?.type === "blob" && own.mode !== SYMLINK_MODE) {
        const rules = await this.ignoreRules(own.oid);
        if (rules) rulesHere.push({ id: own.oid, rules, prefix: "" });
      }
      const ignored = (name: string, isDir: boolean) =>
        rulesHere.some((r) => r.rules.ignores(`${r.prefix}${name}${isDir ? "/" : ""}`));
      const found: PointerEntry[] = [];
      const folders: TreeEntry[] = [];
      for (const [name, e] of entries) {
        if (BUILTIN.has(name)) continue;
        if (e.type === "blob" && isTrackingFile(name) && !ignored(name, false))
          found.push({ path: name, oid: e.oid, symlink: e.mode === SYMLINK_MODE });
        else if (e.type === "tree" && !SKIPPED_DIRS.has(name) && !ignored(name, true)) folders.push(e);
      }
      const below = await Promise.all(
        folders.map(async (folder) => {
          // A folder with its own `.dvc` is a nested project, with pointers of its own.
          if ((await this.tree(folder.oid)).get(".dvc")?.type === "tree") return [];
          const inner = rulesHere.map((r) => ({ ...r, prefix: `${r.prefix}${folder.path}/` }));
          const list = await this.pointersIn(folder.oid, inner);
          return list.map((e) => ({ ...e, path: `${folder.path}/${e.path}` }));
        }),
      );
      return [...found, ...below.flat()].sort((a, b) => byString(a.path, b.path));
    });
  }

  /** A `.dvcignore` file's rules, or null when it holds only comments and blank lines. */
  private ignoreRules(blobOid: string): Promise<Ignore | null> {
    return this.ignoreFiles.get(blobOid, async () => {
      const text = (await this.blob(blobOid)).toString("utf8");
      return text.split(/\r?\n/).some((l) => l.trim() !== "" && !l.startsWith("#")) ? ignore().add(text) : null;
    });
  }

  /**
   * The outputs of every pointer file of a commit (see `pointerFilesAtRevision`), with the paths
   * they would have in the workspace, ready for `usedObjects`. Outputs read from the same pointer
   * blob at the same path are shared between revisions: treat them as read-only.
   */
  async outsAtRevision(commitish: string, options: OutsAtRevisionOptions = {}): Promise<RevisionOut[]> {
    const { commit, sub } = await this.pointersAt(commitish, options.subdir);
    const projectRoot = join(this.gitRoot, ...splitPath(sub));
    const pointers = await this.resolvedPointers(commit, sub);
    const folders = new Set<string>();
    const perFile = await Promise.all(
      [...pointers].map(([path, blob]) => {
        const folder = pipelineFolder(path);
        if (folder === undefined) return this.outsOfPointer(path, blob, commit.oid, projectRoot, options.onInvalid);
        folders.add(folder);
        return [];
      }),
    );
    const perPipeline = await Promise.all(
      [...folders].map((folder) => this.pipelineOuts(commit, folder, sub, projectRoot, options.onInvalid)),
    );
    return [...perFile.flat(), ...perPipeline.flat()];
  }

  /**
   * The outputs of every pointer file of every commit in `commits` (see `outsAtRevision`), each
   * pointer blob at each path once, in the order of `commits`. A commit whose first parent is also
   * in `commits` contributes only the pointers it added or changed, which the index remembers:
   * the rest are its parent's (a root commit's changes are all its pointers). So all commits
   * (`allCommits`) cost one pass over what changed.
   */
  async outsOfCommits(commits: readonly string[], options: OutsAtRevisionOptions = {}): Promise<RevisionOut[]> {
    const sub = this.gitPathParts(options.subdir ?? "").join("/");
    const projectRoot = join(this.gitRoot, ...splitPath(sub));
    const inSet = new Set(commits);
    const onlyChanges = (c: CommitInfo) => c.parents[0] === undefined || inSet.has(c.parents[0]);
    // What the index holds is taken at once; the rest is read from git, a batch at a time.
    const lists: { oid: string; pointers: [string, string][] }[] = [];
    const unknown: string[] = [];
    for (const oid of commits) {
      const commit = this.knownCommit(oid);
      const changes = commit && onlyChanges(commit) ? this.index.changes(sub, commit.oid) : undefined;
      if (commit && changes) lists.push({ oid: commit.oid, pointers: changes });
      else unknown.push(oid);
    }
    lists.push(
      ...(await mapInBatches(unknown, 64, async (oid) => {
        const commit = await this.commit(oid);
        const pointers = onlyChanges(commit)
          ? await this.pointerChanges(commit, sub)
          : [...(await this.resolvedPointers(commit, sub))];
        return { oid: commit.oid, pointers };
      })),
    );
    // Each pointer blob at each path once; the texts the index holds are parsed at once, the
    // others read from git together.
    const seen = new Set<string>();
    const outs: RevisionOut[] = [];
    const reading: Promise<RevisionOut[]>[] = [];
    for (const { oid, pointers } of lists)
      for (const [path, blob] of pointers) {
        const folder = pipelineFolder(path);
        if (folder !== undefined) {
          // A changed `dvc.yaml` or `dvc.lock`: the pipeline is read whole at that commit.
          if (seen.has(`${oid}\0${folder}`)) continue;
          seen.add(`${oid}\0${folder}`);
          reading.push(this.commit(oid).then((c) => this.pipelineOuts(c, folder, sub, projectRoot, options.onInvalid)));
          continue;
        }
        const key = `${path}\0${blob}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const text = this.index.pointerText(blob);
        if (text === undefined) reading.push(this.outsOfPointer(path, blob, oid, projectRoot, options.onInvalid));
        else for (const o of this.outsOfText(path, blob, text, oid, projectRoot, options.onInvalid)) outs.push(o);
      }
    for (const list of await Promise.all(reading)) for (const o of list) outs.push(o);
    return outs;
  }

  /** The pointers (path, blob) of a commit that its first parent does not have the same, remembered in the index. */
  private async pointerChanges(commit: CommitInfo, sub: string): Promise<[string, string][]> {
    const known = this.index.changes(sub, commit.oid);
    if (known !== undefined) return known;
    const parent = commit.parents[0] === undefined ? undefined : await this.commitIfPresent(commit.parents[0]);
    const [own, before] = await Promise.all([
      this.resolvedPointers(commit, sub),
      parent === undefined ? new Map<string, string>() : this.resolvedPointers(parent, sub),
    ]);
    const changes = [...own].filter(([path, blob]) => before.get(path) !== blob);
    this.index.putChanges(sub, commit.oid, changes);
    return changes;
  }

  /** Every pointer file of a commit (see `pointerFilesAtRevision`): path → the blob it holds, symbolic links followed. */
  private resolvedPointers(commit: CommitInfo, sub: string): Promise<Map<string, string>> {
    return this.pointerBlobs.get(`${sub}\0${commit.oid}`, async () => {
      const { entries } = await this.pointersAt(commit.oid, sub || undefined);
      const resolved = await Promise.all(
        entries.map(async (e) => [e.path, e.symlink ? (await this.fileAt(commit.tree, e.path))?.oid : e.oid] as const),
      );
      return new Map(resolved.filter((r): r is readonly [string, string] => r[1] !== undefined));
    });
  }

  /** The outputs of the pointer file `path` holding `blob` (first seen in `commit`, for messages). */
  private async outsOfPointer(
    path: string,
    blob: string,
    commit: string,
    projectRoot: string,
    onInvalid: ((error: FormatError) => void) | undefined,
  ): Promise<RevisionOut[]> {
    const known = this.parsedOuts.get(`${path}\0${blob}`);
    if (known) return known;
    return this.outsOfText(path, blob, await this.pointerText(blob), commit, projectRoot, onInvalid);
  }

  /** The text of a pointer blob, remembered in the index. */
  private async pointerText(blob: string): Promise<string> {
    let text = this.index.pointerText(blob);
    if (text === undefined) {
      text = (await this.blob(blob)).toString("utf8");
      this.index.putPointerText(blob, text);
    }
    return text;
  }

  /** `outsOfPointer` once the pointer's text is at hand. */
  private outsOfText(
    path: string,
    blob: string,
    text: string,
    commit: string,
    projectRoot: string,
    onInvalid: ((error: FormatError) => void) | undefined,
  ): RevisionOut[] {
    const key = `${path}\0${blob}`;
    const known = this.parsedOuts.get(key);
    if (known) return known;
    try {
      const outs = this.parseOuts(path, parsePointer(text, `${short(commit)}:${path}`), projectRoot);
      this.parsedOuts.set(key, outs);
      return outs;
    } catch (err) {
      if (!(err instanceof FormatError) || onInvalid === undefined) throw err;
      onInvalid(err);
      return [];
    }
  }

  /**
   * The stage outputs of the `dvc.yaml` in `folder` (a git path) of a commit, hashes from its
   * `dvc.lock`; params and vars files are read from the same commit. Remembered by the two files'
   * blobs. A `dvc.yaml` that cannot be resolved still gives the lock's outputs (reported to
   * `onInvalid` when given), so that nothing a version recorded is taken for unused.
   */
  private async pipelineOuts(
    commit: CommitInfo,
    folder: string,
    sub: string,
    projectRoot: string,
    onInvalid: ((error: FormatError) => void) | undefined,
  ): Promise<RevisionOut[]> {
    const yamlPath = folder === "." ? PIPELINE_FILE : `${folder}/${PIPELINE_FILE}`;
    const lockPath = folder === "." ? LOCK_FILE : `${folder}/${LOCK_FILE}`;
    const [yaml, lock] = await Promise.all([this.fileAt(commit.tree, yamlPath), this.fileAt(commit.tree, lockPath)]);
    if (yaml === undefined) return [];
    const key = `${yamlPath}\0${yaml.oid}\0${lock?.oid ?? ""}`;
    const known = this.parsedOuts.get(key);
    if (known) return known;
    const where = short(commit.oid);
    const lockFile =
      lock === undefined ? undefined : parseLockFile(await this.pointerText(lock.oid), `${where}:${lockPath}`);
    const rel = sub === "" ? yamlPath : yamlPath.slice(sub.length + 1);
    const reader: PipelineReader = {
      read: async (path) =>
        (await this.readFileAtRevision(commit.oid, sub === "" ? path : `${sub}/${path}`))?.toString("utf8"),
    };
    let file: PipelineFile;
    try {
      file = await loadPipelineFile(rel, await this.pointerText(yaml.oid), reader);
    } catch (err) {
      if (!(err instanceof FormatError)) throw err;
      onInvalid?.(err);
      file = lockOnlyPipeline(rel, lockFile);
    }
    const outs = stageOutputs(file, lockFile, projectRoot).outs.map((o) => ({ ...o, gitPath: yamlPath }));
    this.parsedOuts.set(key, outs);
    return outs;
  }

  /**
   * The pointer file at `relPath` (from the git root, posix) in a commit, parsed; undefined when
   * there is no such file. Throws a FormatError naming `<commit>:<path>` when it cannot be read.
   */
  async pointerAtRevision(commitish: string, relPath: string): Promise<PointerFile | undefined> {
    const commit = await this.commitOf(commitish);
    const parts = this.gitPathParts(relPath);
    const path = parts.join("/");
    const entry = await this.entryAtPath(commit.tree, parts);
    // A regular file reached through folders only: no symbolic link can change what the path names.
    const blob = /^100(644|755) /.test(entry) ? this.objectId(entry) : (await this.fileAt(commit.tree, path))?.oid;
    return blob === undefined ? undefined : parsePointer(await this.pointerText(blob), `${short(commit.oid)}:${path}`);
  }

  private parseOuts(gitPath: string, pointer: PointerFile, projectRoot: string): RevisionOut[] {
    const file = pointer.file;
    const wdir = typeof pointer.wdir === "string" ? pointer.wdir : ".";
    return pointer.outs.map((out) => {
      if (out.external)
        throw new FormatError(file, `output '${out.path}' is outside the repository; mlv tracks data inside it only`);
      const paths = this.workspacePaths(gitPath, wdir, out.path, projectRoot);
      return {
        gitPath,
        ownerPath: paths.ownerPath,
        owner: paths.owner,
        pointer,
        out,
        abs: paths.abs,
        rel: paths.rel,
        hashName: out.hashName,
        isDir: out.isDir,
      };
    });
  }

  /** Where a pointer file and an output of it would be in the workspace; the same for every version of the pointer. */
  private workspacePaths(gitPath: string, wdir: string, outPath: string, projectRoot: string): OutPaths {
    let byPointer = this.outPaths.get(projectRoot);
    if (byPointer === undefined) {
      byPointer = new Map();
      this.outPaths.set(projectRoot, byPointer);
    }
    let byOut = byPointer.get(gitPath);
    if (byOut === undefined) {
      byOut = new Map();
      byPointer.set(gitPath, byOut);
    }
    const key = wdir === "." ? outPath : `${wdir}\0${outPath}`;
    let paths = byOut.get(key);
    if (paths === undefined) {
      const ownerPath = join(this.gitRoot, ...gitPath.split("/"));
      const abs = resolve(dirname(ownerPath), wdir, outPath);
      paths = {
        ownerPath,
        owner: toPosix(relative(projectRoot, ownerPath)),
        abs,
        rel: toPosix(relative(projectRoot, abs)),
      };
      byOut.set(key, paths);
    }
    return paths;
  }

  /** The text of `.dvc/config` in a commit (of the project in `subdir`), or undefined when it has none. */
  async configTextAtRevision(commitish: string, subdir?: string): Promise<string | undefined> {
    const path = [...this.gitPathParts(subdir ?? ""), ".dvc", "config"].join("/");
    return (await this.readFileAtRevision(commitish, path))?.toString("utf8");
  }

  /** `.dvc/config` of a commit, parsed; undefined when it has none. */
  async configAtRevision(commitish: string, subdir?: string): Promise<ConfigData | undefined> {
    const commit = await this.commitOf(commitish);
    const path = [...this.gitPathParts(subdir ?? ""), ".dvc", "config"].join("/");
    const text = await this.configTextAtRevision(commit.oid, subdir);
    return text === undefined ? undefined : parseConfigObj(text, `${short(commit.oid)}:${path}`);
  }
}
