/**
 * `mlv diff [A [B]]`: the tracked files added, deleted and modified between two versions of the
 * project, as `dvc diff` reports them. A is a git revision (default HEAD); B a git revision or,
 * by default, the workspace, whose files are hashed through the hash cache as `status` does. Files
 * inside tracked folders are compared through the folders' `.dir` objects in the local cache.
 */
import { relative, resolve, sep } from "node:path";
import { raceAbort } from "../abort.js";
import { HistoryOuts } from "../data-index/history-outs.js";
import { collectOuts } from "../data-index/index.js";
import type { TrackedOut } from "../data-index/types.js";
import { UsageError } from "../errors.js";
import { GitHistory } from "../git/history.js";
import type { Project } from "../project/project.js";
import { hashWorkspacePath } from "../workspace/hasher.js";

export interface DiffEntry {
  /** From the project root, posix; a tracked folder ends in `/`. */
  path: string;
  hash: string;
}

export interface DiffModifiedEntry {
  path: string;
  hash: { old: string; new: string };
}

/** `dvc diff --json --show-hash`'s shape. Each list is sorted by path. */
export interface DiffResult {
  added: DiffEntry[];
  deleted: DiffEntry[];
  modified: DiffModifiedEntry[];
  /** Renames are not detected: always empty (kept for DVC's shape). */
  renamed: never[];
  /** Changed entries whose old version is not in the local cache (only against the workspace). */
  "not in cache": DiffEntry[];
}

export interface DiffOptions {
  /** The old version: a git revision; default HEAD. */
  a?: string;
  /** The new version: a git revision; default the workspace. */
  b?: string;
  /**
   * Only these paths, from the repository root (posix, whatever `process.cwd()` is): tracked
   * outputs, or files and folders inside them.
   */
  targets?: readonly string[];
  /** Abort: the call rejects with the signal's reason (nothing is written but the hash cache). */
  signal?: AbortSignal;
}

/** One version's tracked paths: path → hash, with the tracked folders whose files are not known. */
interface Side {
  hashes: Map<string, string>;
  /** Paths (ending in `/`) of tracked folders listed as a whole. */
  opaque: Set<string>;
}

function emptySide(): Side {
  return { hashes: new Map(), opaque: new Set() };
}

/** The files of a tracked folder, from its `.dir` object; undefined when that is not in the cache. */
async function manifest(project: Project, out: TrackedOut): Promise<{ relpath: string; md5: string }[] | undefined> {
  try {
    return await project.cache.readDirObject(out.out.md5!, out.hashName);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

async function revisionSide(project: Project, outs: readonly TrackedOut[], signal?: AbortSignal): Promise<Side> {
  const side = emptySide();
  for (const out of outs) {
    signal?.throwIfAborted();
    const md5 = out.out.md5;
    if (!md5) continue;
    if (!out.isDir) {
      side.hashes.set(out.rel, md5);
      continue;
    }
    const dir = `${out.rel}/`;
    side.hashes.set(dir, md5);
    const files = await manifest(project, out);
    if (files === undefined) side.opaque.add(dir);
    else for (const f of files) side.hashes.set(`${dir}${f.relpath}`, f.md5);
  }
  return side;
}

async function workspaceSide(project: Project, outs: readonly TrackedOut[], signal?: AbortSignal): Promise<Side> {
  const side = emptySide();
  for (const out of outs) {
    signal?.throwIfAborted();
    const ws = await hashWorkspacePath(project, out.abs, out.hashName, { expectedFiles: out.out.nfiles });
    if (ws.kind === "file") side.hashes.set(out.rel, ws.md5);
    else if (ws.kind === "dir") {
      side.hashes.set(`${out.rel}/`, ws.md5);
      for (const e of ws.entries) side.hashes.set(`${out.rel}/${e.relpath}`, e.md5);
    }
  }
  return side;
}

function byPath(a: { path: string }, b: { path: string }): number {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

/** The outputs tracked at a revision; none when it is HEAD of a repository without commits yet. */
async function outsAt(tracked: HistoryOuts, rev: string, subdir: string): Promise<TrackedOut[] | undefined> {
  let commit: string;
  try {
    commit = await tracked.history.resolveRevision(rev);
  } catch (err) {
    if (rev === "HEAD" && (await tracked.history.branchTips()).size === 0) return undefined;
    throw err;
  }
  return tracked.at(commit, { subdir: subdir || undefined });
}

/**
 * What changed in the tracked data from version A (default HEAD) to version B (default the
 * workspace), file by file, like `dvc diff --show-hash --json`. A tracked folder that changed is
 * listed itself (`data/`) along with the files in it that changed; when its `.dir` object is not in
 * the cache on either side, only the folder is listed.
 */
export function diff(project: Project, options: DiffOptions = {}): Promise<DiffResult> {
  return raceAbort(options.signal, () => diffOf(project, options));
}

async function diffOf(project: Project, options: DiffOptions): Promise<DiffResult> {
  const { signal } = options;
  const result: DiffResult = { added: [], deleted: [], modified: [], renamed: [], "not in cache": [] };
  const scm = await project.scm();
  if (!scm)
    throw new UsageError("mlv diff compares versions from git, and this project is not in a git repository", {
      root: project.root,
    });
  const tracked = new HistoryOuts(new GitHistory(scm.root));
  const subdir = relative(scm.root, project.root).split(sep).join("/");
  const aOuts = await outsAt(tracked, options.a ?? "HEAD", subdir);
  if (aOuts === undefined) return result; // no commits yet: nothing to compare with, as DVC
  const bOuts = options.b === undefined ? await collectOuts(project) : await outsAt(tracked, options.b, subdir);
  if (bOuts === undefined) return result;

  const wanted = (options.targets ?? []).map((t) => {
    const abs = resolve(project.root, t);
    project.assertInside(abs, t);
    return project.relOf(abs).replace(/\/+$/, "");
  });
  /** At or below a target (what is listed); `around` also takes the tracked folders holding a target. */
  const inScope = (path: string, around = false) => {
    if (wanted.length === 0) return true;
    const p = path.replace(/\/$/, "");
    return wanted.some((w) => w === "" || p === w || p.startsWith(`${w}/`) || (around && w.startsWith(`${p}/`)));
  };
  const scoped = (outs: readonly TrackedOut[]) => outs.filter((o) => inScope(o.rel, true));

  const old = await revisionSide(project, scoped(aOuts), signal);
  const now =
    options.b === undefined
      ? await workspaceSide(project, scoped(bOuts), signal)
      : await revisionSide(project, scoped(bOuts), signal);

  // A folder known on one side only is compared as a whole on both.
  const opaque = [...old.opaque, ...now.opaque];
  const hidden = (path: string) => opaque.some((dir) => path !== dir && path.startsWith(dir));
  const keys = new Set([...old.hashes.keys(), ...now.hashes.keys()]);
  for (const path of keys) {
    if (hidden(path) || !inScope(path)) continue;
    const before = old.hashes.get(path);
    const after = now.hashes.get(path);
    if (before === after) continue;
    if (before === undefined) result.added.push({ path, hash: after! });
    else if (after === undefined) result.deleted.push({ path, hash: before });
    else result.modified.push({ path, hash: { old: before, new: after } });
    if (options.b === undefined && before !== undefined && !project.cache.exists(before, "md5"))
      result["not in cache"].push({ path, hash: before });
  }
  result.added.sort(byPath);
  result.deleted.sort(byPath);
  result.modified.sort(byPath);
  result["not in cache"].sort(byPath);
  return result;
}
