/**
 * Versions through git: revisions resolved, histories walked and files read at any commit, all from
 * git's object database through isomorphic-git, without a checkout and without a `git` executable.
 * `GitHistory` is the one door; objects.ts, refs.ts, log.ts, tracking-files.ts and
 * tracking-changes.ts hold the parts.
 */
import { type ConfigData, parseConfigObj } from "../formats/configobj.js";
import type { PointerFile } from "../formats/pointer.js";
import { HistoryIndex } from "./history-index.js";
import { GitLog, type PathChange, type SelectRevisionsOptions } from "./log.js";
import { type CommitInfo, GitObjects, short } from "./objects.js";
import { GitRefs } from "./refs.js";
import { type AnnotatedTag, readAnnotatedTags } from "./tags.js";
import { type CommitTrackingFiles, TrackingChanges } from "./tracking-changes.js";
import { TrackingFiles } from "./tracking-files.js";

export type { PathChange, SelectRevisionsOptions } from "./log.js";
export type { CommitInfo, Signature } from "./objects.js";
export type { AnnotatedTag } from "./tags.js";
export type { CommitTrackingFiles } from "./tracking-changes.js";

/**
 * The history of one git repository, read through isomorphic-git. Objects never change, so parsed
 * commits and trees are kept for the life of the instance (trees up to a bound), and isomorphic-git
 * keeps its parsed packfiles in a shared cache. The lists of branches and tags are read once per
 * instance: make a new one to see branches or tags added since.
 */
export class GitHistory {
  private readonly index: HistoryIndex;
  private readonly objects: GitObjects;
  private readonly refs: GitRefs;
  private readonly log: GitLog;
  private readonly tracking: TrackingFiles;
  private readonly changes: TrackingChanges;

  /**
   * `gitRoot`: the git work tree (the folder holding `.git`). `indexFile`: where to keep what was
   * read between instances (see HistoryIndex); call `saveIndex()` once done.
   */
  constructor(
    readonly gitRoot: string,
    options: { indexFile?: string } = {},
  ) {
    this.index = new HistoryIndex(options.indexFile);
    this.objects = new GitObjects(gitRoot, this.index);
    this.refs = new GitRefs(this.objects);
    this.log = new GitLog(this.objects, this.refs);
    this.tracking = new TrackingFiles(this.objects, this.refs);
    this.changes = new TrackingChanges(this.objects, this.tracking);
  }

  /** Keep what this instance read from git for the next one with the same `indexFile`. */
  saveIndex(): void {
    this.index.save();
  }

  // ---------------------------------------------------------------- commits and revisions

  /** A commit by full id (an annotated tag's id gives the commit it tags). */
  commit(oid: string): Promise<CommitInfo> {
    return this.objects.commit(oid);
  }

  /**
   * The commit a revision names: a branch, a tag (annotated ones peeled to their commit), a full or
   * abbreviated commit id, `HEAD`, followed by any `~N`, `^N`. Throws an MlvError with code EREV
   * naming the revision when there is no such commit.
   */
  resolveRevision(rev: string): Promise<string> {
    return this.refs.resolveRevision(rev);
  }

  /** Local branches, name → the commit at their tip. */
  branchTips(): Promise<Map<string, string>> {
    return this.refs.branchTips();
  }

  /** Tags, name → the commit they name (annotated tags peeled); tags of trees or blobs are left out. */
  tagTargets(): Promise<Map<string, string>> {
    return this.refs.tagTargets();
  }

  /** The commit HEAD names, or undefined on a branch without commits yet. */
  head(): Promise<string | undefined> {
    return this.refs.head();
  }

  /** The annotated tags of commits whose names `wanted` accepts, with tagger, date and message. */
  annotatedTags(wanted: (name: string) => boolean): Promise<AnnotatedTag[]> {
    return readAnnotatedTags(this.objects, wanted);
  }

  /**
   * Every commit reachable from a local branch, a tag or HEAD (and remote-tracking branches with
   * `remotes`), each once, newest first with children before their parents.
   */
  allCommits(options: { remotes?: boolean } = {}): Promise<CommitInfo[]> {
    return this.log.allCommits(options);
  }

  /** Every commit reachable from `rev` (default HEAD), newest first with children before their parents. */
  history(rev = "HEAD"): Promise<CommitInfo[]> {
    return this.log.history(rev);
  }

  /**
   * The commits in the history of `rev` (default HEAD), newest first, at which the object at `path`
   * (from the git root, posix) appeared, changed or disappeared; a version that came in through a
   * merge is listed once, at the commit that made it.
   */
  commitsTouching(path: string, rev = "HEAD"): Promise<PathChange[]> {
    return this.log.commitsTouching(path, rev);
  }

  /**
   * Commits picked the way DVC's `--rev`, `--all-branches`, `--all-tags` and `--all-commits` pick
   * them: commit id → the names that picked it, in the order first picked.
   */
  selectRevisions(options: SelectRevisionsOptions): Promise<Map<string, string[]>> {
    return this.log.selectRevisions(options);
  }

  // ---------------------------------------------------------------- files at a revision

  /**
   * The bytes of the file at `relPath` (from the git root, posix) in a commit (a full id, or any
   * revision), following symbolic links inside the tree; undefined when there is no such file.
   */
  async readFileAtRevision(commitish: string, relPath: string): Promise<Buffer | undefined> {
    const commit = await this.refs.commitOf(commitish);
    const blob = await this.blobAt(commit, relPath);
    return blob === undefined ? undefined : this.objects.blob(blob);
  }

  /** The id of the blob at `relPath` (from the git root) in a commit, symbolic links followed; undefined when none. */
  async blobAt(commit: CommitInfo, relPath: string): Promise<string | undefined> {
    return (await this.objects.fileAt(commit.tree, this.objects.gitPathParts(relPath).join("/")))?.oid;
  }

  /**
   * Every `.dvc` file of a commit below `subdir` (the mlv project's folder; the git root when
   * absent), as paths from the git root, sorted. Like the workspace walk, it skips `.git`, `.dvc`,
   * `node_modules`, nested projects and whatever that commit's `.dvcignore` files exclude.
   */
  pointerFilesAtRevision(commitish: string, subdir?: string): Promise<string[]> {
    return this.tracking.pointerFiles(commitish, subdir);
  }

  /**
   * The pointer file at `relPath` (from the git root, posix) in a commit, parsed; undefined when
   * there is no such file. Throws a FormatError naming `<commit>:<path>` when it cannot be read.
   */
  pointerAtRevision(commitish: string, relPath: string): Promise<PointerFile | undefined> {
    return this.tracking.pointerAt(commitish, relPath);
  }

  /** The text of `.dvc/config` in a commit (of the project in `subdir`), or undefined when it has none. */
  async configTextAtRevision(commitish: string, subdir?: string): Promise<string | undefined> {
    const path = [...this.objects.gitPathParts(subdir ?? ""), ".dvc", "config"].join("/");
    return (await this.readFileAtRevision(commitish, path))?.toString("utf8");
  }

  /** `.dvc/config` of a commit, parsed; undefined when it has none. */
  async configAtRevision(commitish: string, subdir?: string): Promise<ConfigData | undefined> {
    const commit = await this.refs.commitOf(commitish);
    const path = [...this.objects.gitPathParts(subdir ?? ""), ".dvc", "config"].join("/");
    const text = await this.configTextAtRevision(commit.oid, subdir);
    return text === undefined ? undefined : parseConfigObj(text, `${short(commit.oid)}:${path}`);
  }

  // ---------------------------------------------------------------- tracking files, for the data index

  /** A project folder from the git root (`mlv init --subdir`) as the walks key it: posix, normalised, "" for the root. */
  projectFolder(subdir?: string): string {
    return this.objects.gitPathParts(subdir ?? "").join("/");
  }

  /**
   * The tracking files (`.dvc`, `dvc.yaml`, `dvc.lock`) of a commit below the project folder
   * `subdir`: path from the git root → the blob it holds, symbolic links followed.
   */
  async trackingFilesAt(
    commitish: string,
    subdir?: string,
  ): Promise<{ commit: CommitInfo; files: Map<string, string> }> {
    const commit = await this.refs.commitOf(commitish);
    return { commit, files: await this.tracking.resolved(commit, this.projectFolder(subdir)) };
  }

  /**
   * The tracking files of every commit in `commits`, below the project folder `subdir`, in order:
   * a commit whose first parent is also listed gives only the files it added or changed.
   */
  trackingFilesOfCommits(commits: readonly string[], subdir?: string): Promise<CommitTrackingFiles[]> {
    return this.changes.ofCommits(commits, this.projectFolder(subdir));
  }

  /** The text of a tracking file's blob, remembered in the index. */
  trackingFileText(blob: string): Promise<string> {
    return this.tracking.text(blob);
  }

  /** The text of a tracking file's blob when already known (no read); undefined otherwise. */
  knownTrackingFileText(blob: string): string | undefined {
    return this.tracking.knownText(blob);
  }
}
