/**
 * The files that say what a project tracks (`.dvc` files, and `dvc.yaml` with its `dvc.lock`) as
 * one commit holds them: found by walking its tree the way the workspace walk does, their texts
 * remembered in the HistoryIndex. Reading what they track is the data index's job.
 */
import ignore, { type Ignore } from "ignore";
import type { TreeEntry } from "isomorphic-git";
import { LOCK_FILE, PIPELINE_FILE } from "../formats/pipeline.js";
import { type PointerFile, parsePointer } from "../formats/pointer.js";
import { type CommitInfo, type GitObjects, Memo, objectIdOf, SYMLINK_MODE, short, splitPath } from "./objects.js";
import type { GitRefs } from "./refs.js";

/** `.dvcignore` rules in force in a folder: the rules' own id, and the path from their folder to this one. */
interface InheritedRules {
  id: string;
  rules: Ignore;
  prefix: string;
}

/** A tracking file found in a tree. */
interface TrackingEntry {
  /** From the walked tree, posix. */
  path: string;
  oid: string;
  symlink: boolean;
}

/** Paths every walk leaves out, anywhere (spec §2.4), and folders the workspace walk never enters. */
const BUILTIN = new Set([".git", ".hg", ".dvc"]);
const SKIPPED_DIRS = new Set([...BUILTIN, "node_modules"]);

function isTrackingFile(name: string): boolean {
  return name.endsWith(".dvc") || name === PIPELINE_FILE || name === LOCK_FILE;
}

/** Codepoint order, as the workspace walk sorts. */
function byString(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export class TrackingFiles {
  // Bounded by the entries they hold in all, whatever the size of each.
  private readonly lists = new Memo<TrackingEntry[]>(20_000, (list) => list.length + 1);
  private readonly ignoreFiles = new Memo<Ignore | null>(10_000);
  private readonly blobs = new Memo<Map<string, string>>(20_000, (files) => files.size + 1);

  constructor(
    private readonly objects: GitObjects,
    private readonly refs: GitRefs,
  ) {}

  /**
   * Every `.dvc` file of a commit below `subdir` (the mlv project's folder; the git root when
   * absent), as paths from the git root, sorted. Like the workspace walk, it skips `.git`, `.dvc`,
   * `node_modules`, nested projects and whatever that commit's `.dvcignore` files exclude.
   */
  async pointerFiles(commitish: string, subdir?: string): Promise<string[]> {
    return (await this.entriesAt(commitish, subdir)).entries.filter((e) => e.path.endsWith(".dvc")).map((e) => e.path);
  }

  /**
   * The pointer file at `relPath` (from the git root, posix) in a commit, parsed; undefined when
   * there is no such file. Throws a FormatError naming `<commit>:<path>` when it cannot be read.
   */
  async pointerAt(commitish: string, relPath: string): Promise<PointerFile | undefined> {
    const commit = await this.refs.commitOf(commitish);
    const parts = this.objects.gitPathParts(relPath);
    const path = parts.join("/");
    const entry = await this.objects.entryAtPath(commit.tree, parts);
    // A regular file reached through folders only: no symbolic link can change what the path names.
    const blob = /^100(644|755) /.test(entry) ? objectIdOf(entry) : (await this.objects.fileAt(commit.tree, path))?.oid;
    return blob === undefined ? undefined : parsePointer(await this.text(blob), `${short(commit.oid)}:${path}`);
  }

  /** Every tracking file of a commit below `sub` (normalised, "" for the git root): path → the blob it holds, symbolic links followed. */
  resolved(commit: CommitInfo, sub: string): Promise<Map<string, string>> {
    return this.blobs.get(`${sub}\0${commit.oid}`, async () => {
      const { entries } = await this.entriesAt(commit.oid, sub || undefined);
      const resolved = await Promise.all(
        entries.map(
          async (e) => [e.path, e.symlink ? (await this.objects.fileAt(commit.tree, e.path))?.oid : e.oid] as const,
        ),
      );
      return new Map(resolved.filter((r): r is readonly [string, string] => r[1] !== undefined));
    });
  }

  /** The text of a tracking file's blob, remembered in the index. */
  async text(blob: string): Promise<string> {
    let text = this.objects.index.pointerText(blob);
    if (text === undefined) {
      text = (await this.objects.blob(blob)).toString("utf8");
      this.objects.index.putPointerText(blob, text);
    }
    return text;
  }

  /** The text of a tracking file's blob when the index already holds it; undefined otherwise. */
  knownText(blob: string): string | undefined {
    return this.objects.index.pointerText(blob);
  }

  private async entriesAt(
    commitish: string,
    subdir: string | undefined,
  ): Promise<{ commit: CommitInfo; sub: string; entries: TrackingEntry[] }> {
    const commit = await this.refs.commitOf(commitish);
    const sub = this.objects.gitPathParts(subdir ?? "").join("/");
    const top = await this.objects.entryAt(commit.tree, splitPath(sub));
    if (top?.type !== "tree") return { commit, sub, entries: [] };
    const found = await this.entriesIn(top.oid, []);
    const entries = sub === "" ? found : found.map((e) => ({ ...e, path: `${sub}/${e.path}` }));
    return { commit, sub, entries };
  }

  /** The tracking files below a tree (paths relative to it), under the `.dvcignore` rules of its ancestors. */
  private entriesIn(treeOid: string, inherited: readonly InheritedRules[]): Promise<TrackingEntry[]> {
    const key = [treeOid, ...inherited.map((r) => `${r.id}:${r.prefix}`)].join("\0");
    return this.lists.get(key, async () => {
      const entries = await this.objects.tree(treeOid);
      const rulesHere = [...inherited];
      const own = entries.get(".dvcignore");
      if (own?.type === "blob" && own.mode !== SYMLINK_MODE) {
        const rules = await this.ignoreRules(own.oid);
        if (rules) rulesHere.push({ id: own.oid, rules, prefix: "" });
      }
      const ignored = (name: string, isDir: boolean) =>
        rulesHere.some((r) => r.rules.ignores(`${r.prefix}${name}${isDir ? "/" : ""}`));
      const found: TrackingEntry[] = [];
      const folders: TreeEntry[] = [];
      for (const [name, e] of entries) {
        if (BUILTIN.has(name)) continue;
        if (e.type === "blob" && isTrackingFile(name) && !ignored(name, false))
          found.push({ path: name, oid: e.oid, symlink: e.mode === SYMLINK_MODE });
        else if (e.type === "tree" && !SKIPPED_DIRS.has(name) && !ignored(name, true)) folders.push(e);
      }
      const below = await Promise.all(
        folders.map(async (folder) => {
          // A folder with its own `.dvc` is a nested project, with tracking files of its own.
          if ((await this.objects.tree(folder.oid)).get(".dvc")?.type === "tree") return [];
          const inner = rulesHere.map((r) => ({ ...r, prefix: `${r.prefix}${folder.path}/` }));
          const list = await this.entriesIn(folder.oid, inner);
          return list.map((e) => ({ ...e, path: `${folder.path}/${e.path}` }));
        }),
      );
      return [...found, ...below.flat()].sort((a, b) => byString(a.path, b.path));
    });
  }

  /** A `.dvcignore` file's rules, or null when it holds only comments and blank lines. */
  private ignoreRules(blobOid: string): Promise<Ignore | null> {
    return this.ignoreFiles.get(blobOid, async () => {
      const text = (await this.objects.blob(blobOid)).toString("utf8");
      return text.split(/\r?\n/).some((l) => l.trim() !== "" && !l.startsWith("#")) ? ignore().add(text) : null;
    });
  }
}
