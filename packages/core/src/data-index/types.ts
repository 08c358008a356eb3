/**
 * The entries of the data index: what a project tracks, each output located where it is (or would
 * be) in the workspace. Built from `.dvc` files and `dvc.yaml` stages, in the workspace or at a
 * git revision; every data command works on these.
 */
import type { LockedStage } from "../formats/pipeline.js";
import type { HashName, Out, PointerFile } from "../formats/pointer.js";

/**
 * One tracked output, located in the workspace: an out of a `.dvc` file, or of a `dvc.yaml`
 * stage (its hash from `dvc.lock`).
 */
export interface TrackedOut {
  /** Absolute path of the owning file: the `.dvc` file, or the stage's `dvc.yaml`. */
  ownerPath: string;
  /** The owner as DVC names it, from the repository root: `data.dvc`, or `dvc.yaml:train`. */
  owner: string;
  /** The `.dvc` file, for an output of one. */
  pointer?: PointerFile;
  /** The stage and its lock entry, for a stage output. */
  stage?: LockedStage;
  /**
   * The output: for a stage output, `path` as written in `dvc.yaml`, the hash fields from the lock
   * and `raw` holding the flags (`cache`, `push`, `remote`, ...) with the lock's keys.
   */
  out: Out;
  /** Absolute workspace path of the data. */
  abs: string;
  /** The data's path from the repository root, posix. */
  rel: string;
  hashName: HashName;
  isDir: boolean;
}

/** A tracked output of a pointer file at some revision. Paths and `abs` are those it would have in the workspace. */
export interface RevisionOut extends TrackedOut {
  /** The owning file's path from the git root, posix (what `readFileAtRevision` takes). */
  gitPath: string;
}

/** Whether an output was made by `mlv import` (its pointer has a dependency on another repository). */
export function isImport(o: TrackedOut): o is TrackedOut & { pointer: PointerFile } {
  const deps = o.pointer?.top.deps;
  return Array.isArray(deps) && deps.some((d) => typeof d === "object" && d !== null && "repo" in d);
}
