/**
 * The commands that edit stages already written (pipelines spec §1.9): `freeze` and `unfreeze`
 * (a stage of `dvc.yaml`, or a `.dvc` file, gets or loses `frozen: true`) and `remove` (a `.dvc`
 * file, or a stage with its `dvc.lock` entry and `.gitignore` entries; `--outs` deletes its
 * outputs too). Targets are named as DVC names them: `[path/dvc.yaml:]name` or `file.dvc`.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { rm, unlink } from "node:fs/promises";
import { basename, dirname, join, relative, resolve } from "node:path";
import { writeFileAtomic } from "../atomic-write.js";
import { collectIndex, type DataIndex } from "../data-index/index.js";
import { loadPointer } from "../data-index/pointer-outs.js";
import { MlvError, UsageError } from "../errors.js";
import {
  isParametrized,
  removeStage,
  stageDefinitionOf,
  stageDefinitionValue,
  writeStage,
  writtenStage,
} from "../formats/dvc-yaml-writer.js";
import { escapeGitignoreEntry, removeGitignoreEntry } from "../formats/gitignore.js";
import { removeLockStage } from "../formats/lock-writer.js";
import { LOCK_FILE, type LockedStage, PIPELINE_FILE } from "../formats/pipeline.js";
import { parseForEdit, rewriteMapping } from "../formats/yaml-roundtrip.js";
import { remove as removePointer, unlinkFromCache } from "../ops/remove.js";
import { toPosix } from "../paths.js";
import type { Project } from "../project/project.js";
import { walkFiles } from "../workspace/walk.js";

export interface StageEditOptions {
  /** What targets are relative to; the default `dvc.yaml` is the one here. Default `process.cwd()`. */
  cwd?: string;
}

/** A file an edit changed: a `.dvc` file, or a stage of a `dvc.yaml`. */
export interface EditedTarget {
  /** The `.dvc` or `dvc.yaml` file, posix from the project root. */
  file: string;
  /** The stage, for a `dvc.yaml`. */
  stage?: string;
}

type Target = { kind: "pointer"; abs: string } | { kind: "stages"; yamlAbs: string; names?: string[] };

/** The part of a target before `@`, split as DVC's `parse_target` does: `[path:]name`. */
function splitTarget(target: string): { path: string; name?: string } {
  const at = target.indexOf("@");
  const head = at < 0 ? target : target.slice(0, at);
  const m = /^(.*?)(?::([^\\/:]*))?$/.exec(head) as RegExpExecArray;
  const path = m[1] as string;
  if (m[2] === undefined) return { path };
  return { path, name: `${m[2]}${at < 0 ? "" : target.slice(at)}` };
}

function isDvcFileName(path: string): boolean {
  const name = basename(path);
  return name === PIPELINE_FILE || name.endsWith(".dvc");
}

/** What a target names (not yet checked against the files): a `.dvc` file, or stages of a `dvc.yaml`. */
function parseTarget(target: string, cwd: string): Target {
  if (target.endsWith(LOCK_FILE))
    throw new UsageError(`Did you mean: \`${target.slice(0, -LOCK_FILE.length)}${PIPELINE_FILE}\`?`, { target });
  const { path, name } = splitTarget(target);
  if (name === undefined) {
    if (basename(target) === PIPELINE_FILE) return { kind: "stages", yamlAbs: resolve(cwd, target) };
    if (target.endsWith(".dvc")) return { kind: "pointer", abs: resolve(cwd, target) };
    return { kind: "stages", yamlAbs: join(cwd, PIPELINE_FILE), names: [target] };
  }
  if (path !== "" && !isDvcFileName(path))
    throw new UsageError(
      `bad DVC file name '${path.replace(/[\\/]+$/, "")}'. DVC files should be named '${PIPELINE_FILE}' or have a '.dvc' suffix (e.g. '${basename(path.replace(/[\\/]+$/, ""))}.dvc').`,
      { target },
    );
  return { kind: "stages", yamlAbs: resolve(cwd, path || PIPELINE_FILE), names: [name] };
}

interface SelectedStage {
  yamlAbs: string;
  /** The `dvc.yaml`, posix from the root. */
  file: string;
  name: string;
  locked: LockedStage;
}

/**
 * The stages a target names, checked: the file exists, each stage is in it, and none is
 * parametrized (DVC cannot write one back). `action` words the refusal: `dump` or `remove`.
 */
function selectStages(
  project: Project,
  index: DataIndex,
  target: Extract<Target, { kind: "stages" }>,
  cwd: string,
  action: "dump" | "remove",
): SelectedStage[] {
  const { yamlAbs } = target;
  project.assertInside(yamlAbs, relative(cwd, yamlAbs));
  const file = project.relOf(yamlAbs);
  const shown = toPosix(relative(cwd, yamlAbs));
  // A path given for its .dvc file: say which file to give.
  const pointerHint = (name: string) =>
    name !== "" && existsSync(resolve(cwd, `${name}.dvc`))
      ? `; to name the .dvc file of '${name}', give '${name}.dvc'`
      : "";
  if (!existsSync(yamlAbs))
    throw new MlvError("ENOTARGET", `'${shown}' does not exist${pointerHint(target.names?.[0] ?? "")}`, {
      data: { file },
    });
  const inFile = index.stages.filter((s) => s.stage.file === file);
  const names = target.names ?? inFile.map((s) => s.stage.name);
  const text = readFileSync(yamlAbs, "utf8");
  return names.map((name) => {
    const locked = inFile.find((s) => s.stage.name === name);
    if (!locked)
      throw new MlvError("ENOTARGET", `Stage '${name}' not found inside '${shown}' file${pointerHint(name)}`, {
        data: { file, stage: name },
        ...(pointerHint(name) ? {} : { hint: "See 'mlv stage list' for the stages." }),
      });
    if (locked.stage.group !== undefined || isParametrized(writtenStage(text, file, name)))
      throw new MlvError("EUNSUPPORTED", `cannot ${action} a parametrized stage: '${name}'`, {
        data: { file, stage: name },
      });
    return { yamlAbs, file, name, locked };
  });
}

function readText(abs: string): string {
  return readFileSync(abs, "utf8");
}

/** `frozen: true` added to (or taken from) a `.dvc` file, the rest of it unchanged. */
async function setPointerFrozen(project: Project, abs: string, frozen: boolean): Promise<void> {
  const file = project.relOf(abs);
  loadPointer(project, abs); // checks that it exists and is a valid .dvc file
  const old = readText(abs);
  const parsed = parseForEdit(old, file);
  const next = { ...parsed.data };
  if (frozen) next.frozen = true;
  else delete next.frozen;
  const text = rewriteMapping(old, parsed, next);
  if (text !== old) await writeFileAtomic(abs, text);
}

/**
 * `mlv freeze` / `mlv unfreeze`: a frozen stage is not reproduced and its dependencies are not
 * checked (§4.3). Each target is a stage (`[path/dvc.yaml:]name`) or a `.dvc` file; DVC writes
 * the whole stage back, so a hand-written stage comes out in DVC's order. Every target is checked
 * before anything is written. Returns what was written, in order (DVC reports each stage).
 */
export async function setFrozen(
  project: Project,
  targets: readonly string[],
  frozen: boolean,
  options: StageEditOptions = {},
): Promise<EditedTarget[]> {
  const cwd = options.cwd ?? process.cwd();
  const parsed = targets.map((t) => {
    const target = parseTarget(t, cwd);
    if (target.kind === "stages" && target.names === undefined)
      throw new UsageError(`Stage name not provided. Please specify the name as: \`${t}:stage_name\``, { target: t });
    return target;
  });
  const index = parsed.some((t) => t.kind === "stages") ? await collectIndex(project) : undefined;
  const plan = parsed.map((target) => {
    if (target.kind === "pointer") {
      project.assertInside(target.abs, relative(cwd, target.abs));
      return target;
    }
    return selectStages(project, index as DataIndex, target, cwd, "dump");
  });

  const edited: EditedTarget[] = [];
  for (const item of plan) {
    if (!Array.isArray(item)) {
      await setPointerFrozen(project, item.abs, frozen);
      edited.push({ file: project.relOf(item.abs) });
      continue;
    }
    for (const { yamlAbs, file, name } of item) {
      const old = readText(yamlAbs);
      const definition = { ...stageDefinitionOf(writtenStage(old, file, name)), frozen };
      const text = writeStage(old, file, name, stageDefinitionValue(definition));
      if (text !== old) await writeFileAtomic(yamlAbs, text);
      edited.push({ file, stage: name });
    }
  }
  return edited;
}

export interface RemoveOptions extends StageEditOptions {
  /** `--outs`: delete the outputs from the workspace too (otherwise they stay, as ordinary files). */
  outs?: boolean;
}

export interface RemovedTarget extends EditedTarget {
  /** The outputs no longer tracked, posix from the root. */
  paths: string[];
}

/** An output left in the workspace stops being a link into the cache, so that `gc` cannot take its bytes. */
async function unprotect(project: Project, abs: string, rel: string): Promise<void> {
  if (!existsSync(abs)) return;
  if (!statSync(abs).isDirectory()) await unlinkFromCache(abs);
  else for (const f of walkFiles(abs, rel, project.ignore)) await unlinkFromCache(f.abs);
}

async function removeStageFiles(project: Project, selected: SelectedStage, options: RemoveOptions): Promise<string[]> {
  const { yamlAbs, file, name, locked } = selected;
  const scm = await project.scm();
  const outs = locked.stage.outs;
  for (const out of outs) {
    const abs = join(project.root, ...out.rel.split("/"));
    if (options.outs) await rm(abs, { recursive: true, force: true });
    else if (out.cache) await unprotect(project, abs, out.rel);
    if (scm && out.cache)
      await removeGitignoreEntry(join(dirname(abs), ".gitignore"), `/${escapeGitignoreEntry(basename(abs))}`);
  }
  const lockAbs = join(dirname(yamlAbs), LOCK_FILE);
  if (existsSync(lockAbs)) {
    const old = readText(lockAbs);
    const lock = removeLockStage(old, name);
    if (lock === undefined) await unlink(lockAbs);
    else if (lock !== old) await writeFileAtomic(lockAbs, lock);
  }
  const text = removeStage(readText(yamlAbs), file, name);
  if (text === undefined) await unlink(yamlAbs);
  else await writeFileAtomic(yamlAbs, text);
  return outs.map((o) => o.rel);
}

/**
 * `mlv remove TARGET...`: stop tracking. A `.dvc` file goes with its `.gitignore` entries; a stage
 * (`[path/dvc.yaml:]name`, or a `dvc.yaml` for all its stages) leaves `dvc.yaml` and `dvc.lock`
 * (each file deleted once no stage is left, as DVC does) and its outputs' `.gitignore` entries.
 * Outputs stay in the workspace as ordinary files unless `outs` is set. Every target is checked
 * before anything is removed.
 */
export async function removeTargets(
  project: Project,
  targets: readonly string[],
  options: RemoveOptions = {},
): Promise<RemovedTarget[]> {
  const cwd = options.cwd ?? process.cwd();
  const parsed = targets.map((t) => parseTarget(t, cwd));
  const index = parsed.some((t) => t.kind === "stages") ? await collectIndex(project) : undefined;
  const plan = parsed.map((target) => {
    if (target.kind === "pointer") {
      project.assertInside(target.abs, relative(cwd, target.abs));
      return target;
    }
    return selectStages(project, index as DataIndex, target, cwd, "remove");
  });

  const removed: RemovedTarget[] = [];
  for (const item of plan) {
    if (!Array.isArray(item)) {
      if (removed.some((r) => r.file === project.relOf(item.abs) && r.stage === undefined)) continue;
      if (options.outs)
        for (const out of loadPointer(project, item.abs)) await rm(out.abs, { recursive: true, force: true });
      const paths = await removePointer(project, item.abs);
      removed.push({ file: project.relOf(item.abs), paths });
      continue;
    }
    for (const selected of item) {
      // A stage named twice is removed once.
      if (removed.some((r) => r.file === selected.file && r.stage === selected.name)) continue;
      const paths = await removeStageFiles(project, selected, options);
      removed.push({ file: selected.file, stage: selected.name, paths });
    }
  }
  return removed;
}
