/**
 * The data index: everything a project tracks, from `.dvc` files and from `dvc.yaml` stages (their
 * hashes in `dvc.lock`), as one list of outputs. Every data command reads it, so a kind of entry is
 * learned here once (see stage-outputs.ts for the entries of a pipeline, shared with the walk over
 * git commits in history-outs.ts).
 */
import { type Dirent, existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join, posix, resolve, sep } from "node:path";
import { FormatError, TargetNotFoundError, UsageError } from "../errors.js";
import { parseLockFile } from "../formats/dvc-lock.js";
import { loadPipelineFile } from "../formats/dvc-yaml.js";
import { LOCK_FILE, type LockedStage, PIPELINE_FILE, type PipelineReader } from "../formats/pipeline.js";
import type { Project } from "../project/project.js";
import { loadPointer } from "./pointer-outs.js";
import { stageOutputs } from "./stage-outputs.js";
import type { TrackedOut } from "./types.js";

export interface DataIndex {
  /** Every output: of `.dvc` files and of stages, owners in path order, a file's stages in file order. */
  outs: TrackedOut[];
  /** Every stage of every `dvc.yaml`, in the same order, with its lock entry. */
  stages: LockedStage[];
}

/** The parsing options of `.dvc/config` (`[parsing]`) that change how `${dict}` expands in commands. */
function parsingOptions(project: Project): Parameters<typeof loadPipelineFile>[3] {
  const bool = project.config.get("parsing.bool");
  const list = project.config.get("parsing.list");
  return {
    parsing: {
      bool: bool === "boolean_optional" ? "boolean_optional" : "store_true",
      list: list === "append" ? "append" : "nargs",
    },
  };
}

/** Files of the workspace for the pipeline loader (params and vars files), by posix path from the root. */
function workspaceReader(root: string): PipelineReader {
  return {
    async read(path) {
      try {
        return await readFile(join(root, ...path.split("/")), "utf8");
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT" || (err as NodeJS.ErrnoException).code === "ENOTDIR")
          return undefined;
        throw new FormatError(path, `cannot be read: ${(err as Error).message}`, undefined, err);
      }
    },
  };
}

/** The `dvc.yaml` at `rel` (posix from the root) and its `dvc.lock`, read from the workspace. */
async function loadWorkspacePipeline(
  project: Project,
  rel: string,
): Promise<{ stages: LockedStage[]; outs: TrackedOut[] }> {
  const abs = join(project.root, ...rel.split("/"));
  const text = readFileSync(abs, "utf8");
  const file = await loadPipelineFile(rel, text, workspaceReader(project.root), parsingOptions(project));
  const lockRel = rel.slice(0, -PIPELINE_FILE.length) + LOCK_FILE;
  const lockAbs = join(dirname(abs), LOCK_FILE);
  const lock = existsSync(lockAbs) ? parseLockFile(readFileSync(lockAbs, "utf8"), lockRel) : undefined;
  return stageOutputs(file, lock, project.root);
}

/**
 * One walk over the workspace: `.dvc` files and `dvc.yaml` files anywhere below the root, skipping
 * `.git`, `.dvc`, `node_modules`, `.dvcignore`d paths, nested projects and the tracked folders
 * themselves (which can be huge, and hide pipeline files from DVC too).
 */
export async function collectIndex(project: Project): Promise<DataIndex> {
  const owners: { rel: string; outs: TrackedOut[]; stages: LockedStage[] }[] = [];
  const visit = async (abs: string, rel: string) => {
    let entries: Dirent[];
    try {
      entries = readdirSync(abs, { withFileTypes: true });
    } catch {
      return;
    }
    const tracked = new Set<string>();
    for (const e of entries) {
      const childRel = rel ? `${rel}/${e.name}` : e.name;
      const isFile = e.isFile() || e.isSymbolicLink();
      if (!isFile || project.ignore.isIgnored(childRel, false)) continue;
      let found: { outs: TrackedOut[]; stages: LockedStage[] } | undefined;
      if (e.name.endsWith(".dvc")) found = { outs: loadPointer(project, join(abs, e.name)), stages: [] };
      else if (e.name === PIPELINE_FILE) found = await loadWorkspacePipeline(project, childRel);
      if (!found) continue;
      owners.push({ rel: childRel, ...found });
      for (const o of found.outs) tracked.add(o.abs);
    }
    for (const e of entries) {
      if (!e.isDirectory() || e.name === "node_modules" || e.name === ".git" || e.name === ".dvc") continue;
      const childAbs = join(abs, e.name);
      const childRel = rel ? `${rel}/${e.name}` : e.name;
      if (tracked.has(childAbs) || project.ignore.isIgnored(childRel, true)) continue;
      if (existsSync(join(childAbs, ".dvc"))) continue; // a nested repository
      await visit(childAbs, childRel);
    }
  };
  await visit(project.root, "");
  // Owners in path order (stable: a file's stages keep their order).
  owners.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  return { outs: owners.flatMap((o) => o.outs), stages: owners.flatMap((o) => o.stages) };
}

/** Every tracked output of the workspace (see `collectIndex`). */
export async function collectOuts(project: Project): Promise<TrackedOut[]> {
  return (await collectIndex(project)).outs;
}

/**
 * A stage target (§5.1): `path/dvc.yaml` (all its stages), `[path:]name` (a stage, or a `foreach`
 * group), the path being a `dvc.yaml` relative to `cwd` (default the one in `cwd`).
 */
function parseStageTarget(project: Project, target: string, cwd: string): { file: string; name?: string } {
  const at = target.indexOf("@");
  const head = at < 0 ? target : target.slice(0, at);
  const colon = head.lastIndexOf(":");
  const named = colon >= 0 && !/[\\/]/.test(head.slice(colon + 1));
  const bareFile = !named && at < 0 && posix.basename(target.replaceAll("\\", "/")) === PIPELINE_FILE;
  const path = named ? head.slice(0, colon) : bareFile ? target : "";
  const file = project.relOf(resolve(cwd, path || PIPELINE_FILE));
  if (bareFile) return { file };
  return { file, name: named ? target.slice(colon + 1) : target };
}

function stagesNamed(index: DataIndex, wanted: { file: string; name?: string }): LockedStage[] {
  return index.stages.filter(
    ({ stage }) =>
      stage.file === wanted.file &&
      (wanted.name === undefined || stage.name === wanted.name || stage.group === wanted.name),
  );
}

/** The items of `list` whose key was not seen before, in order. */
function unique<T>(list: T[], key: (item: T) => unknown): T[] {
  const seen = new Set<unknown>();
  return list.filter((item) => {
    const k = key(item);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/**
 * What command-line targets name (relative to `cwd`): a `.dvc` file, a tracked path (or a folder
 * holding tracked paths), a `dvc.yaml` (all its stages), `dvc.yaml:stage`, or a stage or
 * `foreach` group name of the `dvc.yaml` in `cwd`. Everything when there are no targets.
 */
export async function selectTargets(
  project: Project,
  targets: readonly string[],
  cwd: string = process.cwd(),
  known?: DataIndex,
): Promise<DataIndex> {
  if (targets.length === 0) return known ?? collectIndex(project);
  const outs: TrackedOut[] = [];
  const stages: LockedStage[] = [];
  let walked = known;
  for (const target of targets) {
    if (target.endsWith(LOCK_FILE))
      throw new UsageError(
        `'${target}' is a lock file: did you mean '${target.slice(0, -LOCK_FILE.length)}${PIPELINE_FILE}'?`,
        {
          target,
        },
      );
    const abs = resolve(cwd, target);
    // Fast paths that need no walk: a `.dvc` file, or a path with a `.dvc` file beside it.
    if (abs.endsWith(".dvc") && existsSync(abs) && statSync(abs).isFile()) {
      project.assertInside(abs, target);
      outs.push(...loadPointer(project, abs));
      continue;
    }
    const sibling = `${abs}.dvc`;
    if (!target.includes(":") && existsSync(sibling)) {
      project.assertInside(abs, target);
      const own = loadPointer(project, sibling).filter((o) => o.abs === abs);
      if (own.length > 0) {
        outs.push(...own);
        continue;
      }
    }
    walked ??= await collectIndex(project);
    const index = walked;
    // A path that exists or holds tracked outputs is a path; anything else names stages.
    const asPath =
      !target.includes(":") &&
      (existsSync(abs) || index.outs.some((o) => o.abs === abs || o.abs.startsWith(abs + sep)));
    if (!asPath || posix.basename(target) === PIPELINE_FILE) {
      const wanted = parseStageTarget(project, target, cwd);
      const picked = stagesNamed(index, wanted);
      if (picked.length === 0)
        throw new TargetNotFoundError(
          target,
          wanted.name === undefined
            ? `does not exist and is not tracked: '${wanted.file}' has no stages`
            : `does not exist and is not tracked: it is neither an output nor a stage name in '${wanted.file}'`,
          wanted.name === undefined ? undefined : "See 'mlv stage list' for the stages.",
        );
      const chosen = new Set(picked);
      stages.push(...picked);
      outs.push(...index.outs.filter((o) => o.stage !== undefined && chosen.has(o.stage)));
      continue;
    }
    const tracked = index.outs;
    project.assertInside(abs, target);
    const matches = tracked.filter((o) => o.abs === abs || o.abs.startsWith(abs + sep));
    if (matches.length === 0) {
      const inside = tracked.find((o) => abs.startsWith(o.abs + sep));
      if (inside)
        throw new UsageError(
          `'${target}' is inside '${inside.rel}', which ${inside.owner} tracks as a whole: use '${inside.rel}' as the target`,
          { target },
        );
      throw new TargetNotFoundError(
        target,
        "does not exist and is not tracked: it is neither a .dvc file, a stage nor a tracked path",
        "See 'mlv status' and 'mlv stage list'.",
      );
    }
    outs.push(...matches);
  }
  return { outs: unique(outs, (o) => `${o.ownerPath}\0${o.abs}`), stages: unique(stages, (s) => s) };
}
