/**
 * The data index at git revisions: the outputs that `.dvc` files and `dvc.yaml` stages (hashes in
 * `dvc.lock`) track at a commit, or across many commits, read from git without a checkout and
 * located where they would be in the workspace. Git gives the tracking files; what they mean is
 * read here, as the workspace walk (index.ts) reads it.
 */

import { dirname, join, posix, relative, resolve } from "node:path";
import { mapInBatches } from "../batches.js";
import { FormatError } from "../errors.js";
import { parseLockFile } from "../formats/dvc-lock.js";
import { loadPipelineFile } from "../formats/dvc-yaml.js";
import { LOCK_FILE, PIPELINE_FILE, type PipelineFile, type PipelineReader } from "../formats/pipeline.js";
import { type PointerFile, parsePointer } from "../formats/pointer.js";
import { type CommitInfo, GitHistory } from "../git/history.js";
import { short, splitPath } from "../git/objects.js";
import { toPosix } from "../paths.js";
import { guardOutputPath } from "./path-guard.js";
import { lockOnlyPipeline, stageOutputs } from "./stage-outputs.js";
import type { RevisionOut } from "./types.js";

export interface OutsAtRevisionOptions {
  /** The mlv project's folder inside the git repository (`mlv init --subdir`), posix; the git root when absent. */
  subdir?: string;
  /** Skip pointer files that cannot be read, reporting each here, instead of failing on the first. */
  onInvalid?: (error: FormatError) => void;
}

/** Where a pointer file and one of its outputs are in the workspace (see `TrackedOut`). */
interface OutPaths {
  ownerPath: string;
  owner: string;
  abs: string;
  rel: string;
}

/** The folder (git path) of a `dvc.yaml` or `dvc.lock`, or undefined for a `.dvc` file. */
function pipelineFolder(path: string): string | undefined {
  const name = posix.basename(path);
  if (name !== PIPELINE_FILE && name !== LOCK_FILE) return undefined;
  return posix.dirname(path);
}

/**
 * The outputs of one git repository's commits. Outputs read from the same pointer blob at the same
 * path are shared between revisions, and kept for the life of the instance: treat them as
 * read-only.
 */
export class HistoryOuts {
  private readonly parsedOuts = new Map<string, RevisionOut[]>();
  /** Project root → pointer path → output path (with its wdir) → workspace paths. */
  private readonly outPaths = new Map<string, Map<string, Map<string, OutPaths>>>();

  constructor(readonly history: GitHistory) {}

  /** Where the project in `sub` (a normalised folder from the git root) is in the workspace. */
  private projectRoot(sub: string): string {
    return join(this.history.gitRoot, ...splitPath(sub));
  }

  /**
   * The outputs of every pointer file and `dvc.yaml` of a commit (see `pointerFilesAtRevision`),
   * with the paths they would have in the workspace, ready for `usedObjects`.
   */
  async at(commitish: string, options: OutsAtRevisionOptions = {}): Promise<RevisionOut[]> {
    const { commit, files } = await this.history.trackingFilesAt(commitish, options.subdir);
    const sub = this.history.projectFolder(options.subdir);
    const projectRoot = this.projectRoot(sub);
    const folders = new Set<string>();
    const perFile = await Promise.all(
      [...files].map(([path, blob]) => {
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
   * The outputs of every commit in `commits` (see `at`), each pointer blob at each path once, in
   * the order of `commits`. A commit whose first parent is also in `commits` contributes only the
   * tracking files it added or changed (see `GitHistory.trackingFilesOfCommits`), so all commits
   * (`allCommits`) cost one pass over what changed.
   */
  async ofCommits(commits: readonly string[], options: OutsAtRevisionOptions = {}): Promise<RevisionOut[]> {
    const sub = this.history.projectFolder(options.subdir);
    const projectRoot = this.projectRoot(sub);
    const lists = await this.history.trackingFilesOfCommits(commits, options.subdir);
    // Each pointer blob at each path once; the texts the index holds are parsed at once, the
    // others read from git together.
    const seen = new Set<string>();
    const outs: RevisionOut[] = [];
    // Read after the walk, a batch at a time: thousands of reads in flight at once held their
    // promises and what they read until the last one ended.
    const reading: (() => Promise<RevisionOut[]>)[] = [];
    for (const { oid, files } of lists)
      for (const [path, blob] of files) {
        const folder = pipelineFolder(path);
        if (folder !== undefined) {
          // A changed `dvc.yaml` or `dvc.lock`: the pipeline is read whole at that commit.
          if (seen.has(`${oid}\0${folder}`)) continue;
          seen.add(`${oid}\0${folder}`);
          reading.push(() =>
            this.history.commit(oid).then((c) => this.pipelineOuts(c, folder, sub, projectRoot, options.onInvalid)),
          );
          continue;
        }
        const key = `${path}\0${blob}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const text = this.history.knownTrackingFileText(blob);
        if (text === undefined) reading.push(() => this.outsOfPointer(path, blob, oid, projectRoot, options.onInvalid));
        else for (const o of this.outsOfText(path, blob, text, oid, projectRoot, options.onInvalid)) outs.push(o);
      }
    for (const list of await mapInBatches(reading, 64, (read) => read())) for (const o of list) outs.push(o);
    return outs;
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
    const text = await this.history.trackingFileText(blob);
    return this.outsOfText(path, blob, text, commit, projectRoot, onInvalid);
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
    const [yaml, lock] = await Promise.all([
      this.history.blobAt(commit, yamlPath),
      this.history.blobAt(commit, lockPath),
    ]);
    if (yaml === undefined) return [];
    const key = `${yamlPath}\0${yaml}\0${lock ?? ""}`;
    const known = this.parsedOuts.get(key);
    if (known) return known;
    const where = short(commit.oid);
    const lockFile =
      lock === undefined ? undefined : parseLockFile(await this.history.trackingFileText(lock), `${where}:${lockPath}`);
    const rel = sub === "" ? yamlPath : yamlPath.slice(sub.length + 1);
    const reader: PipelineReader = {
      read: async (path) =>
        (await this.history.readFileAtRevision(commit.oid, sub === "" ? path : `${sub}/${path}`))?.toString("utf8"),
    };
    let file: PipelineFile;
    try {
      file = await loadPipelineFile(rel, await this.history.trackingFileText(yaml), reader);
    } catch (err) {
      if (!(err instanceof FormatError)) throw err;
      onInvalid?.(err);
      file = lockOnlyPipeline(rel, lockFile);
    }
    const outs = stageOutputs(file, lockFile, projectRoot).outs.map((o) => ({ ...o, gitPath: yamlPath }));
    this.parsedOuts.set(key, outs);
    return outs;
  }

  private parseOuts(gitPath: string, pointer: PointerFile, projectRoot: string): RevisionOut[] {
    const file = pointer.file;
    const wdir = typeof pointer.wdir === "string" ? pointer.wdir : ".";
    return pointer.outs.map((out) => {
      if (out.external)
        throw new FormatError(file, `output '${out.path}' is outside the repository; mlv tracks data inside it only`);
      const paths = this.workspacePaths(gitPath, wdir, out.path, projectRoot);
      guardOutputPath(file, out.path, paths.rel);
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
      const ownerPath = join(this.history.gitRoot, ...gitPath.split("/"));
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
}

/** The outputs of every pointer file and `dvc.yaml` of a commit, located as they would be in the workspace. */
export function outsAtRevision(
  gitRoot: string,
  commitOid: string,
  options?: OutsAtRevisionOptions,
): Promise<RevisionOut[]> {
  return new HistoryOuts(new GitHistory(gitRoot)).at(commitOid, options);
}
