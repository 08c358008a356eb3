/**
 * git's object database, read through isomorphic-git: commits, trees and blobs by id, and the
 * entry at a path below a tree. Objects never change, so what is read is kept for the life of the
 * reader (trees up to a bound) and, through the HistoryIndex, between commands.
 */
import { posix } from "node:path";
import type { TreeEntry } from "isomorphic-git";
import { MlvError, UsageError } from "../errors.js";
import { toPosix } from "../paths.js";
import type { HistoryIndex } from "./history-index.js";
import { type Git, gitErrorCode, loadGit } from "./load.js";
import { keepUndeltifiedObjects } from "./pack-cache.js";
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

export const FULL_OID = /^[0-9a-f]{40}$/;
export const SYMLINK_MODE = "120000";

/** A commit id as people read it: its first 7 characters. */
export function short(oid: string): string {
  return oid.slice(0, 7);
}

/** A git timestamp (seconds since the epoch) as ISO 8601 in UTC, to the second: `2024-05-01T12:00:00Z`. */
export function isoDate(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

export function splitPath(path: string): string[] {
  return path.split("/").filter((p) => p !== "" && p !== ".");
}

/** The object id of an entry kept as "<mode> <oid>" (see `GitObjects.entryAtPath`); undefined for "" (none). */
export function objectIdOf(entry: string): string | undefined {
  return entry === "" ? undefined : entry.slice(entry.indexOf(" ") + 1);
}

/**
 * A bounded map of promises, least recently used first out: concurrent requests share one read;
 * failed reads are forgotten. `weigh` gives a value's share of `limit` (1 each by default), so that
 * a bound on entries of parsed trees holds whatever the trees' sizes.
 */
export class Memo<V> {
  private readonly map = new Map<string, { value: Promise<V>; weight: number }>();
  private total = 0;
  constructor(
    private readonly limit: number,
    private readonly weigh: (value: V) => number = () => 1,
  ) {}

  get(key: string, load: () => Promise<V>): Promise<V> {
    const found = this.map.get(key);
    if (found !== undefined) {
      this.map.delete(key);
      this.map.set(key, found);
      return found.value;
    }
    const slot = { value: load(), weight: 0 };
    this.map.set(key, slot);
    slot.value.then(
      (v) => {
        if (this.map.get(key) !== slot) return;
        slot.weight = this.weigh(v);
        this.total += slot.weight;
        this.trim(slot);
      },
      () => {
        if (this.map.get(key) !== slot) return;
        this.map.delete(key);
        this.total -= slot.weight;
      },
    );
    return slot.value;
  }

  /** Drop the least recently used until within the limit, never `keep` (just loaded). */
  private trim(keep: { weight: number }): void {
    for (const [key, slot] of this.map) {
      if (this.total <= this.limit && this.map.size <= this.limit) return;
      if (slot === keep) continue;
      this.map.delete(key);
      this.total -= slot.weight;
    }
  }
}

export class GitObjects {
  /** isomorphic-git's cache of parsed packfiles and objects read from them, shared by every call. */
  private readonly gitCache: object = {};
  private readonly fs = new SnapshotFs();
  private readonly commits = new Map<string, Promise<CommitInfo>>();
  /** The commits of `commits` known without waiting. */
  private readonly settledCommits = new Map<string, CommitInfo>();
  /** Parsed trees, bounded by their entries in all (about 200 bytes each). */
  private readonly trees = new Memo<Map<string, TreeEntry>>(20_000, (entries) => Math.max(1, entries.size));
  /** The read in progress, if any: reads wait for it (see readObject). */
  private queue: Promise<void> = Promise.resolve();

  /** `gitRoot`: the git work tree (the folder holding `.git`); `index`: what earlier commands learnt. */
  constructor(
    readonly gitRoot: string,
    readonly index: HistoryIndex,
  ) {}

  /** What every isomorphic-git call takes. */
  args() {
    return { fs: this.fs, dir: this.gitRoot, cache: this.gitCache };
  }

  /**
   * An object read through isomorphic-git. When it finds nothing, the file system snapshot may be
   * stale (objects written or repacked meanwhile): forget it and try once more.
   */
  readObject<T>(read: (git: Git) => Promise<T>): Promise<T> {
    // One read at a time: reading a packed object is CPU work, and reads run side by side would
    // each inflate the same delta chain before any of them could keep its base.
    const result = this.queue.then(() => this.readNow(read));
    this.queue = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  private async readNow<T>(read: (git: Git) => Promise<T>): Promise<T> {
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

  failure(err: unknown, what: string): MlvError {
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
  knownCommit(oid: string): CommitInfo | undefined {
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
  async commitIfPresent(oid: string): Promise<CommitInfo | undefined> {
    try {
      return await this.commit(oid);
    } catch (err) {
      if (err instanceof MlvError && err.data.gitCode === "NotFoundError") return undefined;
      throw err;
    }
  }

  tree(oid: string): Promise<Map<string, TreeEntry>> {
    return this.trees.get(oid, async () => {
      try {
        const { tree } = await this.readObject((git) => git.readTree({ ...this.args(), oid }));
        return new Map(tree.map((e) => [e.path, e]));
      } catch (err) {
        throw this.failure(err, `tree ${oid}`);
      }
    });
  }

  async blob(oid: string): Promise<Buffer> {
    try {
      const { blob } = await this.readObject((git) => git.readBlob({ ...this.args(), oid }));
      return Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
    } catch (err) {
      throw this.failure(err, `blob ${oid}`);
    }
  }

  /** The entry at `parts` below a tree, reading only the trees along the path; the tree itself for no parts. */
  async entryAt(treeOid: string, parts: readonly string[]): Promise<TreeEntry | undefined> {
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
  async entryAtPath(treeOid: string, parts: readonly string[]): Promise<string> {
    const path = parts.join("/");
    let entry = this.index.entry(path, treeOid);
    if (entry === undefined) {
      const found = await this.entryAt(treeOid, parts);
      entry = found === undefined ? "" : `${found.mode} ${found.oid}`;
      this.index.putEntry(path, treeOid, entry);
    }
    return entry;
  }

  /** The blob a file path names in a tree, following symbolic links that stay inside the tree. */
  async fileAt(treeOid: string, path: string): Promise<TreeEntry | undefined> {
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

  /** A path from the git root (native or posix, leading "/" and "./" allowed) as its parts; UsageError when it leaves the repository. */
  gitPathParts(path: string): string[] {
    const normal = posix.normalize(toPosix(path).replace(/^\/+/, ""));
    if (normal === ".." || normal.startsWith("../"))
      throw new UsageError(`'${path}' is outside the git repository '${this.gitRoot}'`, { path });
    return splitPath(normal);
  }
}
