/**
 * Folders and file sizes of one commit's tree, read through isomorphic-git without a checkout:
 * what `mlv list` shows of the files git tracks.
 */
import * as fs from "node:fs";
import { MlvError } from "../errors.js";
import { gitErrorCode, loadGit } from "./load.js";

/** One entry of a git tree. */
export interface GitTreeEntry {
  name: string;
  type: "tree" | "blob" | "commit";
  /** Git's mode: `100644`, `100755` (executable), `120000` (symbolic link), `040000`, `160000` (submodule). */
  mode: string;
  oid: string;
}

export class GitTreeReader {
  private readonly cache: object = {};
  private readonly trees = new Map<string, Promise<GitTreeEntry[]>>();

  constructor(readonly gitRoot: string) {}

  private failure(err: unknown, what: string): MlvError {
    return new MlvError(
      "EGIT",
      `cannot read ${what} from the git repository '${this.gitRoot}': ${(err as Error)?.message ?? err}`,
      {
        data: { gitRoot: this.gitRoot, gitCode: gitErrorCode(err) },
        cause: err,
      },
    );
  }

  /** The entries of a tree object, in git's order. */
  entries(treeOid: string): Promise<GitTreeEntry[]> {
    let found = this.trees.get(treeOid);
    if (found === undefined) {
      found = (async () => {
        const git = await loadGit();
        try {
          const { tree } = await git.readTree({ fs, dir: this.gitRoot, oid: treeOid, cache: this.cache });
          return tree.map((e) => ({ name: e.path, type: e.type, mode: e.mode, oid: e.oid }));
        } catch (err) {
          throw this.failure(err, `tree ${treeOid}`);
        }
      })();
      this.trees.set(treeOid, found);
    }
    return found;
  }

  /** The entry at a path (parts) below a tree; the tree itself for no parts; undefined when absent. */
  async entryAt(treeOid: string, parts: readonly string[]): Promise<GitTreeEntry | undefined> {
    let current: GitTreeEntry = { name: "", type: "tree", mode: "040000", oid: treeOid };
    for (const part of parts) {
      if (current.type !== "tree") return undefined;
      const next = (await this.entries(current.oid)).find((e) => e.name === part);
      if (next === undefined) return undefined;
      current = next;
    }
    return current;
  }

  /** A blob's size in bytes. */
  async blobSize(oid: string): Promise<number> {
    return (await this.blob(oid)).byteLength;
  }

  /** A blob's bytes. */
  async blob(oid: string): Promise<Uint8Array> {
    const git = await loadGit();
    try {
      return (await git.readBlob({ fs, dir: this.gitRoot, oid, cache: this.cache })).blob;
    } catch (err) {
      throw this.failure(err, `blob ${oid}`);
    }
  }
}
