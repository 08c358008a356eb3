/**
 * The entries a pipeline contributes to the data index: each stage with its `dvc.lock` entry, and
 * each stage output as a tracked output. Shared by the workspace walk and the walk over a commit.
 */
import { join, posix } from "node:path";
import type { LockedStage, LockFile, PipelineFile, PipelineStage } from "../formats/pipeline.js";
import type { Out } from "../formats/pointer.js";
import { guardOutputPath } from "./path-guard.js";
import type { TrackedOut } from "./types.js";

function isExternal(path: string): boolean {
  return posix.isAbsolute(path) || /^[A-Za-z]:[\\/]/.test(path) || /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(path);
}

/**
 * The stages of a resolved `dvc.yaml` with their lock entries, and their outputs as tracked
 * outputs (hash fields from the lock; `raw` holds the lock entry's keys and the `dvc.yaml` flags).
 * Outputs outside the project (absolute paths, URLs) are not data mlv moves and are left out.
 * `projectRoot` is where the project is, or would be, in the workspace.
 */
export function stageOutputs(
  file: PipelineFile,
  lock: LockFile | undefined,
  projectRoot: string,
): { stages: LockedStage[]; outs: TrackedOut[] } {
  const ownerPath = join(projectRoot, ...file.path.split("/"));
  const stages: LockedStage[] = [];
  const outs: TrackedOut[] = [];
  for (const stage of file.stages) {
    const entry = lock?.stages.get(stage.name);
    const locked: LockedStage = entry ? { stage, lock: entry } : { stage };
    stages.push(locked);
    for (const so of stage.outs) {
      if (isExternal(so.path)) continue;
      guardOutputPath(`${file.path}:${stage.name}`, so.path, so.rel);
      const recorded = entry?.outs.find((e) => e.path === so.path);
      const md5 = recorded?.md5;
      const out: Out = {
        path: so.path,
        md5,
        hashName: recorded?.hashName ?? "md5",
        size: recorded?.size,
        nfiles: recorded?.nfiles,
        isexec: recorded?.isexec,
        isDir: md5?.endsWith(".dir") ?? false,
        external: false,
        line: 0,
        raw: { ...recorded?.raw, ...so.flags, cache: so.cache, push: so.push },
      };
      outs.push({
        ownerPath,
        owner: `${file.path}:${stage.name}`,
        stage: locked,
        out,
        abs: join(projectRoot, ...so.rel.split("/")),
        rel: so.rel,
        hashName: out.hashName,
        isDir: out.isDir,
      });
    }
  }
  return { stages, outs };
}

/**
 * A stand-in for a `dvc.yaml` that cannot be resolved: one stage per lock entry, its outputs at
 * the lock's paths (relative to the `dvc.yaml`'s folder), cached and pushed. What keeps a
 * recorded version's data from being taken for unused.
 */
export function lockOnlyPipeline(path: string, lock: LockFile | undefined): PipelineFile {
  const folder = posix.dirname(path);
  const wdir = folder === "." ? "" : folder;
  const stages: PipelineStage[] = [...(lock?.stages ?? [])].map(([name, entry]) => ({
    name,
    file: path,
    wdir,
    cmd: entry.cmd,
    deps: [],
    params: [],
    outs: entry.outs.map((o) => ({
      path: o.path,
      rel: posix.normalize(posix.join(wdir, o.path)),
      kind: "outs",
      cache: true,
      persist: false,
      push: true,
      flags: {},
    })),
    frozen: false,
    alwaysChanged: false,
  }));
  return { path, stages, params: [], metrics: [], plots: [], artifacts: {}, interpolatedParams: new Map() };
}
