import { MlvError } from "../errors.js";
import { compareCodePoints } from "../formats/dir-manifest.js";
import { getDotted, isParamsMapping, isPyTuple, parseParamsFile, pyEquals, pyStr } from "../formats/params-file.js";
import { type ParamValue, type PipelineFile, PyFloat } from "../formats/pipeline.js";
import {
  type FileSource,
  type GitView,
  gitView,
  givenFiles,
  loadPipelines,
  pipelinePaths,
  revisionSource,
  WORKSPACE,
  workspaceSource,
} from "../ops/sources.js";
import type { Project } from "../project/project.js";

/** The default params file: its keys can be named bare in `dvc.yaml`, and the root one is always shown. */
export const DEFAULT_PARAMS_FILE = "params.yaml";

/** One file's values: flattened dotted keys in file order; lists are their Python `str()` text. */
export type FlatParams = Map<string, ParamValue>;

/** Files to show (posix from the project root) → the keys to show (null: the whole file). */
export type ParamsSelection = Map<string, Set<string> | null>;

/** One changed (or, with `all`, unchanged) param; `diff` is new − old when both are numbers (bools count). */
export interface ParamChange {
  old: ParamValue;
  new: ParamValue;
  diff?: ParamValue;
}

/** `dvc params diff --json`: file (posix from the root) → key → change; files and keys sorted. */
export type ParamsDiffResult = Record<string, Record<string, ParamChange>>;

/** The values of the workspace: file (posix from the root) → flattened key → value; files sorted. */
export type ParamsShowResult = Record<string, FlatParams>;

export interface ParamsOptions {
  /** Only these files, whole (relative to `cwd`): `--targets`. */
  targets?: readonly string[];
  /** Only the params stages depend on (and those `${...}` uses): `--deps`. */
  deps?: boolean;
  cwd?: string;
}

export interface ParamsDiffOptions extends ParamsOptions {
  /** Default `HEAD`. */
  a?: string;
  /** Default the workspace. */
  b?: string;
  /** Keep unchanged params too: `--all`. */
  all?: boolean;
}

/** Add keys of a file to a selection; a whole file stays whole. */
function select(selection: ParamsSelection, file: string, keys: Iterable<string> | null): void {
  const current = selection.get(file);
  if (current === null) return;
  if (keys === null) selection.set(file, null);
  else selection.set(file, new Set([...(current ?? []), ...keys]));
}

/**
 * The files and keys `params diff` shows for one revision (§7.4): every params dependency of every
 * stage, the keys `${...}` read, and unless `depsOnly` every top-level `params:` file and the root
 * `params.yaml` (when `hasRootParams`), whole.
 */
export function paramsSelection(
  files: readonly PipelineFile[],
  options: { depsOnly?: boolean; hasRootParams?: boolean } = {},
): ParamsSelection {
  const selection: ParamsSelection = new Map();
  for (const file of files) {
    for (const stage of file.stages) for (const dep of stage.params) select(selection, dep.rel, dep.keys);
    for (const [path, keys] of file.interpolatedParams) select(selection, path, keys);
    if (!options.depsOnly) for (const path of file.params) select(selection, path, null);
  }
  if (!options.depsOnly && options.hasRootParams) select(selection, DEFAULT_PARAMS_FILE, null);
  return selection;
}

/** A leaf value as `params diff` compares it: a list becomes its Python `str()` (`[1, 2]`, `['x', 'y']`). */
function comparable(value: ParamValue): ParamValue {
  return Array.isArray(value) && !isPyTuple(value) ? pyStr(value) : value;
}

/**
 * Nested values as dotted keys (`train.batch`), in file order; lists become Python text, empty
 * mappings disappear. `prefix` is the key of `value` itself ("" for a whole file).
 */
export function flattenParams(value: ParamValue, prefix = "", into: FlatParams = new Map()): FlatParams {
  if (isParamsMapping(value)) {
    for (const [key, inner] of Object.entries(value))
      flattenParams(inner as ParamValue, prefix ? `${prefix}.${key}` : key, into);
  } else if (prefix) into.set(prefix, comparable(value));
  return into;
}

/** The selected keys of a file's data, flattened; keys the file lacks are left out. */
export function selectedParams(data: Record<string, ParamValue>, keys: ReadonlySet<string> | null): FlatParams {
  if (keys === null) return flattenParams(data);
  const flat: FlatParams = new Map();
  for (const key of keys) {
    const value = getDotted(data, key);
    if (value !== undefined) flattenParams(value, key, flat);
  }
  return flat;
}

/** Python's `new - old` on two params values when both are numbers (a bool counts as 0 or 1). */
export function numericDiff(oldValue: ParamValue, newValue: ParamValue): ParamValue | undefined {
  const a = asNumber(oldValue);
  const b = asNumber(newValue);
  if (a === undefined || b === undefined) return undefined;
  if (a instanceof PyFloat || b instanceof PyFloat) return new PyFloat(toFloat(b) - toFloat(a));
  const difference = BigInt(b) - BigInt(a);
  return Number.isSafeInteger(Number(difference)) ? Number(difference) : difference;
}

function asNumber(value: ParamValue): number | bigint | PyFloat | undefined {
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value === "number" || typeof value === "bigint" || value instanceof PyFloat) return value;
  return undefined;
}

function toFloat(value: number | bigint | PyFloat): number {
  return value instanceof PyFloat ? value.value : Number(value);
}

/**
 * The changes between two versions of one file (either may be absent): every key of either side,
 * sorted, missing values as null; unchanged keys (Python `==`) only with `all`.
 */
export function diffFlatParams(
  before: FlatParams | undefined,
  after: FlatParams | undefined,
  all = false,
): Record<string, ParamChange> {
  const keys = [...new Set([...(before?.keys() ?? []), ...(after?.keys() ?? [])])].sort(compareCodePoints);
  const changes: Record<string, ParamChange> = {};
  for (const key of keys) {
    const oldValue = before?.get(key) ?? null;
    const newValue = after?.get(key) ?? null;
    if (!all && pyEquals(oldValue, newValue)) continue;
    const change: ParamChange = { old: oldValue, new: newValue };
    const diff = numericDiff(oldValue, newValue);
    if (diff !== undefined) change.diff = diff;
    changes[key] = change;
  }
  return changes;
}

/** The values one revision shows: selected file → flattened values; files the revision lacks are left out. */
async function readSelection(source: FileSource, selection: ParamsSelection): Promise<Map<string, FlatParams>> {
  const values = new Map<string, FlatParams>();
  for (const [file, keys] of selection) {
    const bytes = await source.read(file);
    if (bytes !== undefined) values.set(file, selectedParams(parseParamsFile(bytes, file), keys));
  }
  return values;
}

/** What a revision shows: the files `options` name, whole, else the selection of §7.4. */
async function revisionParams(
  source: FileSource,
  pipelines: readonly string[],
  targets: readonly string[] | undefined,
  depsOnly: boolean,
): Promise<Map<string, FlatParams>> {
  if (targets) return readSelection(source, new Map(targets.map((t) => [t, null])));
  const files = await loadPipelines(source, pipelines);
  const hasRootParams = (await source.read(DEFAULT_PARAMS_FILE)) !== undefined;
  return readSelection(source, paramsSelection(files, { depsOnly, hasRootParams }));
}

/** The commit a revision names, or undefined for `HEAD` in a repository without commits (DVC shows nothing). */
async function commitOf(git: GitView, rev: string): Promise<string | undefined> {
  try {
    return await git.history.resolveRevision(rev);
  } catch (err) {
    const unborn = err instanceof MlvError && err.code === "EREV" && rev === "HEAD";
    if (unborn && (await git.history.branchTips()).size === 0) return undefined;
    throw err;
  }
}

/** The source of a revision name (`workspace` is the working tree); undefined for an unborn HEAD. */
async function sourceOf(project: Project, rev: string | undefined): Promise<FileSource | undefined> {
  if (rev === undefined || rev === WORKSPACE) return workspaceSource(project);
  const git = await gitView(project);
  const commit = await commitOf(git, rev);
  return commit === undefined ? undefined : revisionSource(git, commit);
}

function targetsOf(project: Project, options: ParamsOptions): string[] | undefined {
  if (!options.targets?.length) return undefined;
  return givenFiles(project, options.targets, options.cwd ?? process.cwd(), "a params file");
}

/**
 * `dvc params diff A B`: the params that differ between two revisions (A default HEAD, B default
 * the workspace), per file and flattened key, sorted. `{}` in a repository without commits.
 */
export async function diffParams(project: Project, options: ParamsDiffOptions = {}): Promise<ParamsDiffResult> {
  const targets = targetsOf(project, options);
  const [oldSource, newSource] = await Promise.all([
    sourceOf(project, options.a ?? "HEAD"),
    sourceOf(project, options.b),
  ]);
  if (!oldSource || !newSource) return {};
  const pipelines = targets ? [] : await pipelinePaths(project);
  const [before, after] = await Promise.all([
    revisionParams(oldSource, pipelines, targets, !!options.deps),
    revisionParams(newSource, pipelines, targets, !!options.deps),
  ]);
  const result: ParamsDiffResult = {};
  const files = [...new Set([...before.keys(), ...after.keys()])].sort(compareCodePoints);
  for (const file of files) {
    const changes = diffFlatParams(before.get(file), after.get(file), options.all);
    if (Object.keys(changes).length > 0) result[file] = changes;
  }
  return result;
}

/** The params of the workspace that `params diff` would compare, per file (sorted), flattened. */
export async function showParams(project: Project, options: ParamsOptions = {}): Promise<ParamsShowResult> {
  const targets = targetsOf(project, options);
  const pipelines = targets ? [] : await pipelinePaths(project);
  const values = await revisionParams(workspaceSource(project), pipelines, targets, !!options.deps);
  const sorted = [...values].sort(([a], [b]) => compareCodePoints(a, b));
  return Object.fromEntries(sorted);
}
