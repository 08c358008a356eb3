/** The objects a set of outputs uses: each output's file, or its folder's `.dir` and every file listed. */
import type { HashName } from "../cache/object-cache.js";
import type { TrackedOut } from "../data-index/types.js";
import type { Project } from "../project/project.js";

/** One object a set of outputs needs, with the path a person knows it by. */
export interface UsedObject {
  oid: string;
  hashName: HashName;
  /** `data` for an output, `data/sub/file` for a file of a tracked folder. */
  readonly path: string;
  /** The size its pointer records (a file output's; a folder's listing has none). */
  readonly size?: number;
}

/** A file of a tracked folder; its path is only spelled out when someone asks (50,000 strings add up). */
class DirFileObject implements UsedObject {
  constructor(
    readonly oid: string,
    readonly hashName: HashName,
    private readonly dir: string,
    private readonly relpath: string,
  ) {}

  get path(): string {
    return `${this.dir}/${this.relpath}`;
  }
}

/** The objects of one output: a file, or a `.dir` and the files it lists. */
export interface OutObjects {
  out: TrackedOut;
  dir?: UsedObject;
  files: UsedObject[];
}

/**
 * The objects used by `outs`. A folder's file list comes from its `.dir` object in the cache;
 * `fetchDir` is asked for it when the cache does not have it (fetch), and may return undefined.
 */
export async function usedObjects(
  project: Project,
  outs: TrackedOut[],
  fetchDir?: (dir: UsedObject) => Promise<boolean>,
): Promise<{ objects: OutObjects[]; missingDirs: UsedObject[] }> {
  const objects: OutObjects[] = [];
  const missingDirs: UsedObject[] = [];
  for (const out of outs) {
    const oid = out.out.md5;
    // Outputs kept out of the cache (`cache: false`) have nothing to transfer.
    if (!oid || out.out.raw?.cache === false) continue;
    const self: UsedObject = { oid, hashName: out.hashName, path: out.rel, size: out.isDir ? undefined : out.out.size };
    if (!out.isDir) {
      objects.push({ out, files: [self] });
      continue;
    }
    let present = project.cache.exists(oid, out.hashName);
    if (!present && fetchDir) present = await fetchDir(self);
    if (!present) {
      missingDirs.push(self);
      objects.push({ out, dir: self, files: [] });
      continue;
    }
    const entries = await project.cache.readDirObject(oid, out.hashName);
    objects.push({
      out,
      dir: self,
      files: entries.map((e) => new DirFileObject(e.md5, out.hashName, out.rel, e.relpath)),
    });
  }
  return { objects, missingDirs };
}
