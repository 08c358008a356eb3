/**
 * Writing `dvc.yaml` as DVC does (pipelines spec §1.9): a stage definition serialized in DVC's
 * key and list order, merged into an existing file with the same key-preserving diff as `.dvc`
 * files (comments and the other stages kept), a stage's `frozen` flag set or cleared, a stage
 * removed. Pure text in, text out.
 */
import { posix } from "node:path";
import { FormatError } from "../errors.js";
import { compareCodePoints } from "./dir-manifest.js";
import { type EditableYaml, isContainer, parseForEdit, rewriteMapping, setKey } from "./yaml-roundtrip.js";
import { dumpYaml, type YamlValue } from "./yaml-scalar.js";

/** The params file bare keys belong to. */
export const DEFAULT_PARAMS_FILE = "params.yaml";

/** Where an output is listed: `outs`, `metrics` or `plots`. */
export type OutKind = "outs" | "metrics" | "plots";

/** One output of a stage definition. */
export interface OutDefinition {
  /** As written, relative to the stage's `wdir`. */
  path: string;
  kind: OutKind;
  /** desc, type, labels, meta, cache, persist, remote, push and (plots) the plot properties; any order. */
  flags?: Readonly<Record<string, unknown>>;
}

/** A params dependency: a file (relative to `wdir`) and its keys, or null for the whole file. */
export interface ParamsDefinition {
  file: string;
  keys: readonly string[] | null;
}

/** A stage of `dvc.yaml` as DVC holds it before writing it (not parametrized: nothing to interpolate). */
export interface StageDefinition {
  desc?: string;
  cmd: string | readonly string[];
  /** Posix, relative to the `dvc.yaml`'s folder; `.` or absent for that folder itself. */
  wdir?: string;
  deps: readonly string[];
  /** One entry per file, keys in any order. */
  params: readonly ParamsDefinition[];
  outs: readonly OutDefinition[];
  frozen?: boolean;
  alwaysChanged?: boolean;
  meta?: unknown;
}

const ANNOTATION_FLAGS = ["desc", "type", "labels", "meta"] as const;
const PLOT_PROPS = new Set(["template", "x", "y", "x_label", "y_label", "title", "header"]);

function isEmpty(value: unknown): boolean {
  if (value === undefined || value === null || value === "" || value === false) return true;
  if (Array.isArray(value)) return value.length === 0;
  return isContainer(value) && Object.keys(value).length === 0;
}

/** An output's flags in DVC's order: annotations, `cache: false`, `persist: true`, plot properties, remote, `push: false`. */
function orderedFlags(flags: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const key of ANNOTATION_FLAGS) if (!isEmpty(flags[key])) setKey(result, key, flags[key]);
  if (flags.cache === false) result.cache = false;
  if (flags.persist === true) result.persist = true;
  for (const [key, value] of Object.entries(flags)) if (PLOT_PROPS.has(key)) setKey(result, key, value);
  if (typeof flags.remote === "string" && flags.remote !== "") result.remote = flags.remote;
  if (flags.push === false) result.push = false;
  return result;
}

function sortedStrings(values: Iterable<string>): string[] {
  return [...values].sort(compareCodePoints);
}

/** The `params` list (§1.9): files by path, bare `params.yaml` keys at the front, `{file: null}` for a whole file. */
function paramsValue(params: readonly ParamsDefinition[]): YamlValue[] {
  let list: YamlValue[] = [];
  for (const dep of [...params].sort((a, b) => compareCodePoints(a.file, b.file))) {
    const keys = dep.keys === null ? [] : sortedStrings(dep.keys);
    if (keys.length === 0) list.push({ [dep.file]: null });
    else if (dep.file === DEFAULT_PARAMS_FILE) list = [...keys, ...list];
    else list.push({ [dep.file]: keys });
  }
  return list;
}

/** A `wdir` as DVC writes it: normalised posix, undefined for the `dvc.yaml`'s own folder. */
function normalizeWdir(wdir: string | undefined): string | undefined {
  if (wdir === undefined || wdir === "") return undefined;
  const normal = posix.normalize(wdir.replaceAll("\\", "/")).replace(/(.)\/+$/, "$1");
  return normal === "." ? undefined : normal;
}

/**
 * The mapping DVC writes for a stage (spec §1.9): `desc, cmd, wdir, deps, params, outs, metrics,
 * plots, frozen, always_changed, meta`, each left out when empty or false; deps sorted; outputs
 * sorted together by path and then split by kind; each output a bare path or `{path: flags}`.
 */
export function stageDefinitionValue(stage: StageDefinition): { [key: string]: YamlValue } {
  const value: Record<string, unknown> = {};
  if (!isEmpty(stage.desc)) value.desc = stage.desc;
  value.cmd = typeof stage.cmd === "string" ? stage.cmd : [...stage.cmd];
  const wdir = normalizeWdir(stage.wdir);
  if (wdir !== undefined) value.wdir = wdir;
  if (stage.deps.length > 0) value.deps = sortedStrings(stage.deps);
  if (stage.params.length > 0) value.params = paramsValue(stage.params);
  const outs = [...stage.outs].sort((a, b) => compareCodePoints(a.path, b.path));
  for (const kind of ["outs", "metrics", "plots"] as const) {
    const items = outs
      .filter((o) => o.kind === kind)
      .map((o) => {
        const flags = orderedFlags(o.flags ?? {});
        return Object.keys(flags).length === 0 ? o.path : { [o.path]: flags };
      });
    if (items.length > 0) value[kind] = items;
  }
  if (stage.frozen) value.frozen = true;
  if (stage.alwaysChanged) value.always_changed = true;
  if (!isEmpty(stage.meta)) value.meta = stage.meta;
  return value as { [key: string]: YamlValue };
}

// ---------------------------------------------------------------------------------------------
// A written stage, read back as DVC loads it (for freeze/unfreeze and `--force`)

function asRecord(value: unknown): Record<string, unknown> {
  return isContainer(value) && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function outsOf(list: unknown, kind: OutKind): OutDefinition[] {
  const byPath = new Map<string, OutDefinition>();
  for (const item of Array.isArray(list) ? list : []) {
    const entries: [string, unknown][] =
      typeof item === "string" ? [[item, {}]] : Object.entries(asRecord(item)).map(([k, v]) => [k, v]);
    for (const [path, flags] of entries) {
      // A path listed twice has its flags merged, later ones winning; `checkpoint` is no longer read.
      const merged: Record<string, unknown> = { ...(byPath.get(path)?.flags ?? {}) };
      for (const [k, v] of Object.entries(asRecord(flags))) if (k !== "checkpoint") setKey(merged, k, v);
      byPath.set(path, { path, kind, flags: merged });
    }
  }
  return [...byPath.values()];
}

/** `params` entries merged per file (§1.6): keys concatenated, a file tracked whole anywhere is whole. */
function paramsOf(list: unknown): ParamsDefinition[] {
  const files = new Map<string, string[] | null>();
  const add = (file: string, keys: string[] | null) => {
    const had = files.get(file);
    if (had === null) return;
    files.set(file, keys === null || keys.length === 0 ? null : [...(had ?? []), ...keys]);
  };
  for (const item of Array.isArray(list) ? list : []) {
    if (typeof item === "string") add(DEFAULT_PARAMS_FILE, [item]);
    else
      for (const [file, keys] of Object.entries(asRecord(item)))
        add(file, Array.isArray(keys) ? keys.map(String) : null);
  }
  // Bare keys of params.yaml are dropped when the file is also tracked whole.
  return [...files].map(([file, keys]) => ({ file, keys }));
}

/**
 * A stage definition from the mapping written in `dvc.yaml` (not parametrized), as DVC loads it:
 * outputs of one path merged, params merged per file, `checkpoint` dropped. Serializing the result
 * gives what DVC writes back for that stage.
 */
export function stageDefinitionOf(raw: unknown): StageDefinition {
  const stage = asRecord(raw);
  const cmd = Array.isArray(stage.cmd) ? stage.cmd.map(String) : String(stage.cmd ?? "");
  const definition: StageDefinition = {
    cmd,
    deps: Array.isArray(stage.deps) ? stage.deps.map(String) : [],
    params: paramsOf(stage.params),
    outs: [...outsOf(stage.outs, "outs"), ...outsOf(stage.metrics, "metrics"), ...outsOf(stage.plots, "plots")],
  };
  if (typeof stage.desc === "string") definition.desc = stage.desc;
  if (typeof stage.wdir === "string") definition.wdir = stage.wdir;
  if (stage.frozen === true) definition.frozen = true;
  if (stage.always_changed === true) definition.alwaysChanged = true;
  if (stage.meta !== undefined && stage.meta !== null) definition.meta = stage.meta;
  return definition;
}

/**
 * What `stage add --force` keeps of the stage it replaces (DVC's `restore_fields`): the old `desc`
 * and `meta` (a new description is ignored), and for each output still listed at the same path
 * its annotations, `remote` and `push`.
 */
export function restoreFields(stage: StageDefinition, old: StageDefinition): StageDefinition {
  const oldOuts = new Map(old.outs.map((o) => [o.path, o.flags ?? {}]));
  const restored: StageDefinition = {
    ...stage,
    outs: stage.outs.map((out) => {
      const previous = oldOuts.get(out.path);
      if (previous === undefined) return out;
      const flags: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(out.flags ?? {}))
        if (!(ANNOTATION_FLAGS as readonly string[]).includes(k) && k !== "remote" && k !== "push") setKey(flags, k, v);
      for (const k of [...ANNOTATION_FLAGS, "remote", "push"])
        if (previous[k] !== undefined) setKey(flags, k, previous[k]);
      return { ...out, flags };
    }),
  };
  delete restored.desc;
  delete restored.meta;
  if (old.desc !== undefined) restored.desc = old.desc;
  if (old.meta !== undefined) restored.meta = old.meta;
  return restored;
}

/** A stage DVC cannot write back: made by `foreach`/`matrix`, or using `vars` or `${...}` (DVC's `_check_if_parametrized`). */
export function isParametrized(raw: unknown): boolean {
  const record = asRecord(raw);
  if ("foreach" in record || "matrix" in record || "vars" in record || "do" in record) return true;
  const hasTemplate = (value: unknown): boolean => {
    if (typeof value === "string") return value.includes("${");
    if (Array.isArray(value)) return value.some(hasTemplate);
    if (isContainer(value)) return Object.entries(value).some(([k, v]) => k.includes("${") || hasTemplate(v));
    return false;
  };
  return hasTemplate(raw);
}

// ---------------------------------------------------------------------------------------------
// Editing the file

function stagesOf(parsed: EditableYaml, file: string): Record<string, unknown> | undefined {
  const stages = parsed.data.stages;
  if (stages === undefined) return undefined;
  if (!isContainer(stages) || Array.isArray(stages))
    throw new FormatError(file, "'stages' must be a mapping of stage names to definitions: fix the file first");
  return stages as Record<string, unknown>;
}

/** The definition of stage `name` as written (plain data), or undefined when the file has no such key. */
export function writtenStage(text: string, file: string, name: string): unknown {
  const stages = stagesOf(parseForEdit(text, file), file);
  return stages && Object.hasOwn(stages, name) ? stages[name] : undefined;
}

/**
 * The text of `dvc.yaml` after writing stage `name` (DVC's `_dump_pipeline_file`): a new stage is
 * appended at the end of `stages` (created at the end of the file when missing); an existing one
 * is merged with `apply_diff`, so unchanged keys keep their places and comments. `old` undefined:
 * a new file. An empty file, or one holding only comments, is written anew.
 */
export function writeStage(old: string | undefined, file: string, name: string, value: YamlValue): string {
  if (old === undefined) return dumpYaml({ stages: { [name]: value } });
  const parsed = parseForEdit(old, file);
  const stages = { ...stagesOf(parsed, file) };
  setKey(stages, name, value);
  const next = { ...parsed.data };
  next.stages = stages;
  return rewriteMapping(old, parsed, next);
}

/**
 * The text of `dvc.yaml` without stage `name` (DVC's `remove_stage`), or undefined when no stage
 * is left: DVC then deletes the file, whatever else it holds. Unchanged when there is no such stage.
 */
export function removeStage(old: string, file: string, name: string): string | undefined {
  const parsed = parseForEdit(old, file);
  const stages = stagesOf(parsed, file);
  if (stages === undefined || !Object.hasOwn(stages, name)) return old;
  const left = { ...stages };
  delete left[name];
  if (Object.keys(left).length === 0) return undefined;
  const next = { ...parsed.data };
  next.stages = left;
  return rewriteMapping(old, parsed, next);
}
