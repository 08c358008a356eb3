/** Where `mlv list` reads what a folder holds: the workspace on disk, or git's tree at a commit. */
import type { Dirent } from "node:fs";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Ignore } from "ignore";
import type { GitTreeReader } from "../git/tree.js";
import type { Project } from "../project/project.js";

/** One entry of a folder, as git's tree at a commit or the workspace on disk holds it. */
export interface FolderEntry {
  name: string;
  isdir: boolean;
  isexec: boolean;
  size: () => Promise<number | null>;
}

export interface FolderSource {
  /** The entries of a folder (from the project root, posix; "" for the root); empty when absent. */
  children(rel: string): Promise<FolderEntry[]>;
}

/** Paths every walk leaves out (spec §2.4). */
const BUILTIN = new Set([".git", ".hg", ".dvc"]);
/** The size of what has none to tell (a folder git tracks). */
export const NO_SIZE = () => Promise.resolve(null);

/** A path below `dir` (posix, "" for the root). */
export function join2(dir: string, name: string): string {
  return dir === "" ? name : `${dir}/${name}`;
}

/** The folders of the workspace, `.dvcignore` rules applied. */
export function workspaceFolders(project: Project): FolderSource {
  return {
    async children(rel) {
      const abs = join(project.root, rel);
      let dirents: Dirent[];
      try {
        dirents = readdirSync(abs, { withFileTypes: true });
      } catch {
        return [];
      }
      const found: FolderEntry[] = [];
      for (const d of dirents) {
        if (BUILTIN.has(d.name)) continue;
        const childAbs = join(abs, d.name);
        const st = statSync(childAbs, { throwIfNoEntry: false });
        if (!st) continue; // a dangling link
        const isdir = st.isDirectory();
        if (project.ignore.isIgnored(join2(rel, d.name), isdir)) continue;
        found.push({
          name: d.name,
          isdir,
          isexec: !isdir && (st.mode & 0o111) !== 0,
          size: () => Promise.resolve(isdir ? null : st.size),
        });
      }
      return found;
    },
  };
}

/** The folders of a commit's tree below the project's folder `projectTree`, under the project's `.dvcignore` `rules`. */
export function commitFolders(reader: GitTreeReader, projectTree: string, rules: Ignore | null): FolderSource {
  return {
    async children(rel) {
      const entry = await reader.entryAt(projectTree, rel === "" ? [] : rel.split("/"));
      if (entry?.type !== "tree") return [];
      const found: FolderEntry[] = [];
      for (const e of await reader.entries(entry.oid)) {
        if (BUILTIN.has(e.name)) continue;
        const isdir = e.type !== "blob";
        if (rules?.ignores(`${join2(rel, e.name)}${isdir ? "/" : ""}`)) continue;
        found.push({
          name: e.name,
          isdir,
          isexec: e.mode === "100755",
          size: isdir ? NO_SIZE : () => reader.blobSize(e.oid),
        });
      }
      return found;
    },
  };
}
