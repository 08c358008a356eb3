/**
 * Recording a stage (pipelines spec §5.4 steps 6-8): its dependencies and params hashed and read,
 * its outputs hashed into the cache and linked back, `.gitignore` entries for cached outputs, and
 * the stage's entry written into `dvc.lock`. Shared by `repro` and `commit`.
 */
import { existsSync, readFileSync } from "node:fs";
import { chmod, copyFile, mkdir, stat, unlink } from "node:fs/promises";
import { basename, dirname, join, posix } from "node:path";
import { removeStaleTemps, tmpName, writeFileAtomic } from "../atomic-write.js";
import { MlvError, translateFsError } from "../errors.js";
import { addGitignoreEntry, escapeGitignoreEntry } from "../formats/gitignore.js";
import { type LockEntryWrite, type LockStageWrite, updateLockText } from "../formats/lock-writer.js";
import { getDotted } from "../formats/params-file.js";
import { LOCK_FILE, type LockedStage, type ParamValue, type PipelineStage } from "../formats/pipeline.js";
import { relinkWorkspace } from "../ops/add.js";
import { materialise } from "../ops/checkout.js";
import type { Project } from "../project/project.js";
import { hashWorkspacePath, type WorkspaceSummary } from "../workspace/hasher.js";
import type { StatusMemo } from "./status.js";

/** The lock file beside a stage's `dvc.yaml`, absolute. */
export function lockPathOf(project: Project, stage: PipelineStage): string {
  return join(project.root, ...posix.dirname(stage.file).split("/"), LOCK_FILE);
}

export function workspacePathOf(project: Project, rel: string): string {
  return join(project.root, ...rel.split("/"));
}

function entryOf(path: string, state: Exclude<WorkspaceSummary, { kind: "missing" }>): LockEntryWrite {
  if (state.kind === "dir") return { path, hashName: "md5", md5: state.md5, size: state.size, nfiles: state.nfiles };
  return { path, hashName: "md5", md5: state.md5, size: state.size, isexec: state.isexec || undefined };
}

/** A path from the project root → the path shown in messages (relative to where the user is). */
export type Display = (rel: string) => string;

const fromRoot: Display = (rel) => rel;

/** The values a stage's params dependencies have now, as the lock records them (§3.4). */
export async function paramsValues(
  memo: StatusMemo,
  stage: PipelineStage,
  display: Display = fromRoot,
): Promise<Record<string, Record<string, ParamValue>>> {
  const values: Record<string, Record<string, ParamValue>> = {};
  for (const dep of stage.params) {
    const data = await memo.paramsFile(dep.rel);
    if (data === undefined)
      throw new MlvError(
        "ENOPARAMS",
        `dependency '${display(dep.rel)}' does not exist: create the params file, or remove it from the stage's params`,
        { data: { file: dep.rel } },
      );
    const recorded: Record<string, ParamValue> = {};
    if (dep.keys === null) Object.assign(recorded, data);
    else {
      const missing = dep.keys.filter((key) => getDotted(data, key) === undefined);
      if (missing.length > 0)
        throw new MlvError("ENOPARAMS", `Parameters '${missing.join(", ")}' are missing from '${display(dep.rel)}'.`, {
          data: { file: dep.rel, keys: missing },
        });
      for (const key of dep.keys) recorded[key] = getDotted(data, key) as ParamValue;
    }
    values[dep.path] = { ...values[dep.path], ...recorded };
  }
  return values;
}

/**
 * The stage's dependencies as they are now: hashed (a legacy entry whose content did not change
 * stays as it was recorded, §3.3) and params read. A missing dependency fails.
 */
export async function hashDeps(
  memo: StatusMemo,
  locked: LockedStage,
  display: Display = fromRoot,
): Promise<LockEntryWrite[]> {
  const { stage, lock } = locked;
  return Promise.all(
    stage.deps.map(async (dep): Promise<LockEntryWrite> => {
      const recorded = lock?.deps.find((d) => d.path === dep.path);
      const abs = workspacePathOf(memo.project, dep.rel);
      if (recorded?.hashName === "md5-dos2unix") {
        const legacy = await memo.hash(abs, "md5-dos2unix", recorded.nfiles);
        if (legacy.kind !== "missing" && legacy.md5 === recorded.md5)
          return { path: dep.path, hashName: "md5-dos2unix", raw: recorded.raw };
      }
      const state = await memo.hash(abs, "md5", recorded?.nfiles);
      if (state.kind === "missing")
        throw new MlvError(
          "ENOTARGET",
          `dependency '${display(dep.rel)}' does not exist: create it, or run the stage that makes it`,
          { data: { path: dep.rel } },
        );
      return entryOf(dep.path, state);
    }),
  );
}

/** The inputs a run-cache key is made of: hashed deps, params, and the outputs' paths only. */
export async function stageInputs(
  memo: StatusMemo,
  locked: LockedStage,
  display: Display = fromRoot,
): Promise<LockStageWrite> {
  const { stage } = locked;
  const [deps, params] = await Promise.all([hashDeps(memo, locked, display), paramsValues(memo, stage, display)]);
  return { cmd: stage.cmd, deps, params, outs: stage.outs.map((o) => ({ path: o.path, hashName: "md5" })) };
}

export interface SaveOptions {
  /** Put cached outputs into the cache (false for `--no-commit`: hashed only). */
  commit: boolean;
  /** Also store outputs marked `cache: false` (metrics and plots a run-cache entry must restore). */
  storeUncached?: boolean;
  /** `.gitignore` files written are added here. */
  gitFiles: Set<string>;
  /** Told about an output that is an empty file (its path from the root). */
  onEmpty?: (rel: string) => void;
  /** How paths are shown in errors; default from the root. */
  display?: Display;
}

/**
 * Hash a stage's outputs (into the cache when committing), link them back as `cache.type` says and
 * keep cached ones out of git. An output the command did not produce fails. Returns the outputs'
 * lock entries, in `dvc.yaml` order.
 */
export async function saveOutputs(
  project: Project,
  locked: LockedStage,
  options: SaveOptions,
): Promise<LockEntryWrite[]> {
  const { stage, lock } = locked;
  const display = options.display ?? fromRoot;
  const scm = await project.scm();
  const entries: LockEntryWrite[] = [];
  for (const out of stage.outs) {
    const abs = workspacePathOf(project, out.rel);
    // Data in both git and the cache would be two sources of truth; DVC refuses it the same way.
    if (out.cache && scm && (await scm.isTracked(abs)))
      throw new MlvError(
        "ESCMTRACKED",
        `output '${display(out.rel)}' is already tracked by SCM (e.g. Git). Remove it from git first: git rm -r --cached '${display(out.rel)}' && git commit -m "stop tracking ${display(out.rel)}"`,
        { data: { path: out.rel } },
      );
    const recorded = lock?.outs.find((o) => o.path === out.path);
    const store = options.commit && (out.cache || !!options.storeUncached);
    let entry: LockEntryWrite | undefined;
    if (recorded?.hashName === "md5-dos2unix") {
      // An unchanged 2.x entry stays as written; its object goes where 2.x caches keep it (P-12).
      const legacy = await hashWorkspacePath(project, abs, "md5-dos2unix", { expectedFiles: recorded.nfiles });
      if (legacy.kind === "file" && legacy.md5 === recorded.md5) {
        if (store && out.cache) await storeLegacyFile(project, abs, legacy.md5);
        entry = { path: out.path, hashName: "md5-dos2unix", raw: recorded.raw };
      } else if (legacy.kind === "dir" && legacy.md5 === recorded.md5)
        entry = { path: out.path, hashName: "md5-dos2unix", raw: recorded.raw };
    }
    if (!entry) {
      const state = await hashWorkspacePath(project, abs, "md5", { store, expectedFiles: recorded?.nfiles });
      if (state.kind === "missing")
        throw new MlvError("ENOOUTPUT", `output '${display(out.rel)}' does not exist`, { data: { path: out.rel } });
      if (state.kind === "file" && state.size === 0) options.onEmpty?.(out.rel);
      if (store && out.cache) await relinkWorkspace(project, abs, state);
      entry = entryOf(out.path, state);
    }
    if (out.cache && scm && !(await scm.isIgnored(abs))) {
      const gitignore = join(dirname(abs), ".gitignore");
      removeStaleTemps(dirname(abs)); // a killed run's .gitignore temporary
      if (await addGitignoreEntry(gitignore, `/${escapeGitignoreEntry(basename(abs))}`))
        options.gitFiles.add(gitignore);
    }
    entries.push(entry);
  }
  return entries;
}

/** Put a file into the cache under its 2.x (md5-dos2unix) name, and link it back as `cache.type` says. */
async function storeLegacyFile(project: Project, abs: string, oid: string): Promise<void> {
  if (!project.cache.exists(oid, "md5-dos2unix")) {
    await mkdir(project.cache.root, { recursive: true });
    const tmp = tmpName(project.cache.root);
    try {
      await copyFile(abs, tmp);
      await chmod(tmp, 0o444);
      await project.cache.commitTemp(tmp, oid, "md5-dos2unix");
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw translateFsError(err, abs);
    }
  }
  const types = project.linkTypes().filter((t) => t !== "reflink");
  if (types[0] !== "hardlink" && types[0] !== "symlink") return;
  const isexec = ((await stat(abs)).mode & 0o111) !== 0;
  await materialise(project, "md5-dos2unix", [{ oid, dest: abs, rel: project.relOf(abs), isexec }], types);
}

/** What writing a stage's lock entry did, for the messages DVC prints. */
export interface LockWrite {
  /** The lock file did not exist (or was empty). */
  created: boolean;
  /** The stage's entry differs from what was recorded. */
  updated: boolean;
  path: string;
}

/** Record `entry` for the stage in its `dvc.lock` (§3.6), keeping every other stage as it was. */
export async function writeStageLock(
  project: Project,
  stage: PipelineStage,
  entry: LockStageWrite,
): Promise<LockWrite> {
  const path = lockPathOf(project, stage);
  const old = existsSync(path) ? readFileSync(path, "utf8") : undefined;
  const text = updateLockText(old, stage.name, entry);
  const created = !old;
  const updated = text !== old;
  if (updated) {
    removeStaleTemps(dirname(path)); // a killed run's lock temporary
    await writeFileAtomic(path, text);
  }
  return { created, updated, path };
}
