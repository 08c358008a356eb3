/**
 * The merged tree `mlv list` walks: a folder's files as git (or the workspace) holds them, with the
 * tracked outputs laid over them, and the files inside tracked folders read from their `.dir`
 * objects in the cache.
 */
import { statSync } from "node:fs";
import type { TrackedOut } from "../data-index/types.js";
import type { ParsedDirEntry } from "../formats/dir-manifest.js";
import type { Project } from "../project/project.js";
import { type FolderSource, join2, NO_SIZE } from "./list-folders.js";

/** One file or folder of the merged tree. */
export interface Node {
  /** From the project root, posix. */
  rel: string;
  name: string;
  isdir: boolean;
  isout: boolean;
  isexec: boolean;
  size: () => Promise<number | null>;
  md5: string | null;
  /** Inside (or is) a tracked output. */
  tracked: boolean;
  /** A tracked folder whose contents are not known. */
  unknown?: { nfiles: number | null };
  children?: () => Promise<Node[]>;
}

function byName(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function parentOf(rel: string): string {
  const i = rel.lastIndexOf("/");
  return i < 0 ? "" : rel.slice(0, i);
}

/** The merged tree of one repository version: git's (or the workspace's) files, and the tracked outputs. */
export class Tree {
  private readonly outs = new Map<string, TrackedOut>();
  /** Folders (from the project root) that hold tracked outputs, at any depth. */
  readonly holdsOuts = new Set<string>();

  constructor(
    private readonly project: Project,
    private readonly folders: FolderSource,
    outs: readonly TrackedOut[],
  ) {
    for (const o of outs) {
      this.outs.set(o.rel, o);
      for (let p = parentOf(o.rel); p !== ""; p = parentOf(p)) this.holdsOuts.add(p);
    }
  }

  root(): Node {
    return this.folder("", "", () => Promise.resolve(null));
  }

  private folder(rel: string, name: string, size: () => Promise<number | null>): Node {
    return {
      rel,
      name,
      isdir: true,
      isout: false,
      isexec: false,
      size,
      md5: null,
      tracked: false,
      children: () => this.childrenOf(rel),
    };
  }

  private async childrenOf(rel: string): Promise<Node[]> {
    const named = new Map<string, Node>();
    for (const e of await this.folders.children(rel)) {
      const childRel = join2(rel, e.name);
      const out = this.outs.get(childRel);
      if (out) named.set(e.name, this.outNode(out, e.name));
      else if (e.isdir) named.set(e.name, this.folder(childRel, e.name, e.size));
      else
        named.set(e.name, {
          rel: childRel,
          name: e.name,
          isdir: false,
          isout: false,
          isexec: e.isexec,
          size: e.size,
          md5: null,
          tracked: false,
        });
    }
    // Outputs git does not track (they are git-ignored), and folders that only hold such outputs.
    for (const [outRel, out] of this.outs) {
      if (parentOf(outRel) !== rel) continue;
      const name = outRel.slice(rel === "" ? 0 : rel.length + 1);
      named.set(name, this.outNode(out, name));
    }
    for (const folderRel of this.holdsOuts) {
      if (parentOf(folderRel) !== rel) continue;
      const name = folderRel.slice(rel === "" ? 0 : rel.length + 1);
      if (!named.has(name)) named.set(name, this.folder(folderRel, name, NO_SIZE));
    }
    return [...named.values()].sort(byName);
  }

  private outNode(out: TrackedOut, name: string): Node {
    const md5 = out.out.md5 ?? null;
    const size = () => Promise.resolve(out.out.size ?? null);
    if (!out.isDir)
      return {
        rel: out.rel,
        name,
        isdir: false,
        isout: true,
        isexec: out.out.isexec ?? false,
        size,
        md5,
        tracked: true,
      };
    const node: Node = { rel: out.rel, name, isdir: true, isout: true, isexec: false, size, md5, tracked: true };
    let manifest: Promise<Map<string, Node[]> | undefined> | undefined;
    const folders = () => {
      manifest ??= this.manifestTree(out);
      return manifest;
    };
    node.children = async () => {
      const tree = await folders();
      if (tree === undefined) {
        node.unknown = { nfiles: out.out.nfiles ?? null };
        return [];
      }
      return tree.get("") ?? [];
    };
    return node;
  }

  /** A tracked folder's files, by folder (relative to it); undefined when its `.dir` object is not cached. */
  private async manifestTree(out: TrackedOut): Promise<Map<string, Node[]> | undefined> {
    const oid = out.out.md5!;
    let files: ParsedDirEntry[];
    try {
      files = await this.project.cache.readDirObject(oid, out.hashName);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
    const tree = new Map<string, Node[]>();
    const made = new Set<string>();
    const add = (dir: string, node: Node) => {
      const list = tree.get(dir) ?? tree.set(dir, []).get(dir)!;
      list.push(node);
    };
    for (const f of files) {
      const parts = f.relpath.split("/");
      for (let i = 1; i < parts.length; i++) {
        const dir = parts.slice(0, i).join("/");
        if (made.has(dir)) continue;
        made.add(dir);
        const folderNode: Node = {
          rel: `${out.rel}/${dir}`,
          name: parts[i - 1]!,
          isdir: true,
          isout: true,
          isexec: false,
          size: NO_SIZE,
          md5: null,
          tracked: true,
          children: async () => tree.get(dir) ?? [],
        };
        add(parts.slice(0, i - 1).join("/"), folderNode);
      }
      const recorded = f.extra;
      const objectPath = this.project.cache.path(f.md5, out.hashName);
      add(parts.slice(0, -1).join("/"), {
        rel: `${out.rel}/${f.relpath}`,
        name: parts[parts.length - 1]!,
        isdir: false,
        isout: true,
        isexec: recorded?.isexec === true,
        size: () =>
          Promise.resolve(
            typeof recorded?.size === "number"
              ? recorded.size
              : (statSync(objectPath, { throwIfNoEntry: false })?.size ?? null),
          ),
        md5: f.md5,
        tracked: true,
      });
    }
    for (const list of tree.values()) list.sort(byName);
    return tree;
  }
}
