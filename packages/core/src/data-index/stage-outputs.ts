/**
 * The entries a pipeline contributes to the data index: each stage with its `dvc.lock` entry, and
 * each stage output as a tracked output. Shared by the workspace walk and the walk over a commit.
 */
import { join, posix } from "node:path";
import { FormatError } from "../errors.js";
import type { LockedStage, LockFile, PipelineFile, PipelineStage } from "../formats/pipeline.js";
import type { Out } from "../formats/pointer.js";
import { guardOutputPath } from "./path-guard.js";
import type { TrackedOut } from "./types.js";

const LOCKED_HASH = /^[0-9a-f]{32}(\.dir)?$/;

/** The `dvc.lock` beside a `dvc.yaml`. */
function lockPathOf(yamlPath: string): string {
  const folder = posix.dirname(yamlPath);
  return folder === "." ? "dvc.lock" : `${folder}/dvc.lock`;
}

function isExternal(path: string): boolean {
  return posix.isAbsolute(path) || /^[A-Za-z]:[\\/]/.test(path) || /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(path);
}

/**
 * The stages of a resolved `dvc.yaml` with their lock entries, and their outputs as tracked
 * outputs (hash fields from the lock; `raw` holds the lock entry's keys and the `dvc.yaml` flags).
 * Outputs outside the project (absolute paths, URLs) are refused, as in `.dvc` files.
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
      if (isExternal(so.path))
        throw new FormatError(
          `${file.path}:${stage.name}`,
          `output '${so.path}' is outside the repository; mlv tracks data inside it only (DVC 3 dropped such outputs too): make it a path inside the project`,
        );
      guardOutputPath(`${file.path}:${stage.name}`, so.path, so.rel);
      const recorded = entry?.outs.find((e) => e.path === so.path);
      const md5 = recorded?.md5;
      if (md5 !== undefined && (recorded?.hashName ?? "md5").startsWith("md5") && !LOCKED_HASH.test(md5))
        throw new FormatError(
          lockPathOf(file.path),
          `stage '${stage.name}': output '${so.path}' has md5 '${md5}', not 32 hex characters (with '.dir' for a folder): restore dvc.lock from git, or run the stage again`,
        );
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
