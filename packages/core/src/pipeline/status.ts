/**
 * The status of one `dvc.yaml` stage against its `dvc.lock` entry, as `dvc status` reports it and
 * `repro` decides on it (pipelines spec §4.1-§4.3).
 */
import { readFile, stat } from "node:fs/promises";
import { join, posix } from "node:path";
import type { HashName } from "../cache/object-cache.js";
import { FormatError } from "../errors.js";
import { getDotted, parseParamsFile, pyEquals } from "../formats/params-file.js";
import type { LockEntry, LockedStage, ParamsDep, ParamValue, PipelineStage, StageOut } from "../formats/pipeline.js";
import type { Project } from "../project/project.js";
import { isInCache, summarizeWorkspacePath, type WorkspaceSummary } from "../workspace/hasher.js";

/** How an output differs from its record, first match wins (§4.1). */
export type OutState = "not in cache" | "deleted" | "modified" | "new";
/** How a dependency differs from its record. */
export type DepState = "deleted" | "modified";
/** How one params key differs from the value recorded in `dvc.lock` (§4.2). */
export type ParamKeyState = "deleted" | "new" | "modified";
/** A whole params file (`deleted`, or `new` when nothing is recorded for it), or its changed keys. */
export type ParamsState = "deleted" | "new" | Record<string, ParamKeyState>;

// Type aliases rather than interfaces: plain JSON data, assignable to `ParamValue` for `pythonJson`.
export type ChangedDeps = { "changed deps": Record<string, DepState | ParamsState> };
export type ChangedOuts = { "changed outs": Record<string, OutState> };
/**
 * DVC's status list of one stage (or `.dvc` file), in DVC's order; empty when nothing changed.
 * Keys are posix paths from the project root (URLs and absolute paths as written).
 */
export type StageStatus = (ChangedDeps | ChangedOuts | "always changed" | "changed command")[];

/** What an output or dependency was recorded with: the `dvc.lock` entry, or a `.dvc` file's out. */
export interface Recorded {
  md5?: string;
  hashName: HashName;
  nfiles?: number;
}

/**
 * What one status run has already read: every workspace path hashed and every params file parsed
 * once, however many stages share it (a dependency of several stages, a `.dvc` output that is
 * also a stage's dependency). Valid while the workspace does not change.
 */
export class StatusMemo {
  private readonly hashes = new Map<string, Promise<WorkspaceSummary>>();
  private readonly params = new Map<string, Promise<Record<string, ParamValue> | undefined>>();

  constructor(readonly project: Project) {}

  /** The current content of a workspace path, hashed the way its record says. */
  hash(abs: string, hashName: HashName, expectedFiles?: number): Promise<WorkspaceSummary> {
    const key = `${hashName}\0${abs}`;
    let state = this.hashes.get(key);
    if (!state) {
      state = summarizeWorkspacePath(this.project, abs, hashName, { expectedFiles });
      // Callers may stop at "not in cache" without awaiting it; whoever awaits still sees an error.
      state.catch(() => {});
      this.hashes.set(key, state);
    }
    return state;
  }

  /** A params file's data (posix path from the root); undefined when it does not exist. */
  paramsFile(rel: string): Promise<Record<string, ParamValue> | undefined> {
    let data = this.params.get(rel);
    if (!data) {
      data = readParamsFile(this.project, rel);
      data.catch(() => {});
      this.params.set(rel, data);
    }
    return data;
  }
}

async function readParamsFile(project: Project, rel: string): Promise<Record<string, ParamValue> | undefined> {
  const abs = join(project.root, ...rel.split("/"));
  const st = await stat(abs).catch(() => undefined);
  if (!st) return undefined;
  if (st.isDirectory()) throw new FormatError(rel, "is a directory, expected a parameters file");
  return parseParamsFile(await readFile(abs), rel);
}

export interface StageStatusOptions {
  /** Share hashes and params files between the stages of one run (default: a memo for this call). */
  memo?: StatusMemo;
  /**
   * Only these outputs (posix paths from the root): a target naming a stage's output narrows
   * that stage's "changed outs" to it (§4.4). Default every output.
   */
  outs?: ReadonlySet<string>;
}

/**
 * The status of one stage (§4.3): changed deps (params included; none when frozen), changed
 * outs, "always changed" (flag, or a stage with neither deps nor outs), "changed command".
 */
export async function stageStatus(
  project: Project,
  locked: LockedStage,
  options: StageStatusOptions = {},
): Promise<StageStatus> {
  const memo = options.memo ?? new StatusMemo(project);
  const { stage } = locked;
  const outs = options.outs ? stage.outs.filter((o) => options.outs?.has(o.rel)) : stage.outs;
  const [deps, changedOuts] = await Promise.all([
    stage.frozen ? {} : changedDeps(memo, locked),
    changedOutputs(memo, locked, outs),
  ]);
  const status: StageStatus = [];
  if (Object.keys(deps).length > 0) status.push({ "changed deps": deps });
  if (Object.keys(changedOuts).length > 0) status.push({ "changed outs": changedOuts });
  if (stage.alwaysChanged || isCallback(stage)) status.push("always changed");
  if (locked.lock && !sameCommand(locked.lock.cmd, stage.cmd)) status.push("changed command");
  return status;
}

/** A stage with a command but neither deps (params count) nor outs: DVC runs it every time. */
export function isCallback(stage: PipelineStage): boolean {
  return stage.deps.length === 0 && stage.params.length === 0 && stage.outs.length === 0;
}

/** Strings compare exactly; a list never equals a string, even one that would run the same (§3.7). */
function sameCommand(recorded: string | string[], current: string | string[]): boolean {
  if (typeof recorded === "string" || typeof current === "string") return recorded === current;
  return recorded.length === current.length && recorded.every((part, i) => part === current[i]);
}

/**
 * URLs, absolute paths and paths that climb out of the project: mlv does not hash these (an HTTP
 * dependency's ETag, a file elsewhere on the machine), so it reports nothing for them.
 */
function isOutsideProject(rel: string): boolean {
  return (
    posix.isAbsolute(rel) ||
    /^[A-Za-z]:[\\/]/.test(rel) ||
    /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(rel) ||
    rel === ".." ||
    rel.startsWith("../")
  );
}

function recordOf(entries: LockEntry[] | undefined, path: string): LockEntry | undefined {
  return entries?.find((e) => e.path === path);
}

/** Build `{path: state}` in the given order from states computed concurrently; unchanged ones left out. */
async function changedMapping<T>(pending: [string, Promise<T | undefined>][]): Promise<Record<string, T>> {
  const states = await Promise.all(pending.map(([, state]) => state));
  const changed: Record<string, T> = {};
  pending.forEach(([path], i) => {
    const state = states[i];
    if (state !== undefined) changed[path] = state;
  });
  return changed;
}

function changedDeps(memo: StatusMemo, { stage, lock }: LockedStage): Promise<Record<string, DepState | ParamsState>> {
  const pending: [string, Promise<DepState | ParamsState | undefined>][] = [];
  for (const dep of stage.deps)
    if (!isOutsideProject(dep.rel)) pending.push([dep.rel, depState(memo, dep.rel, recordOf(lock?.deps, dep.path))]);
  for (const params of stage.params) {
    const recorded = lock && Object.hasOwn(lock.params, params.path) ? lock.params[params.path] : undefined;
    pending.push([params.rel, paramsState(memo, params, recorded)]);
  }
  return changedMapping(pending);
}

function changedOutputs(memo: StatusMemo, { lock }: LockedStage, outs: StageOut[]): Promise<Record<string, OutState>> {
  const pending: [string, Promise<OutState | undefined>][] = [];
  for (const out of outs) {
    if (isOutsideProject(out.rel)) continue;
    const recorded = recordOf(lock?.outs, out.path) ?? { hashName: "md5" as const };
    pending.push([out.rel, outputState(memo, workspacePath(memo.project, out.rel), recorded, out.cache)]);
  }
  return changedMapping(pending);
}

function workspacePath(project: Project, rel: string): string {
  return join(project.root, ...rel.split("/"));
}

/** `deleted` when missing, `modified` when its hash differs from the recorded one, or nothing is recorded. */
async function depState(memo: StatusMemo, rel: string, recorded: LockEntry | undefined): Promise<DepState | undefined> {
  const current = await memo.hash(workspacePath(memo.project, rel), recorded?.hashName ?? "md5", recorded?.nfiles);
  if (current.kind === "missing") return "deleted";
  return current.md5 === recorded?.md5 ? undefined : "modified";
}

/**
 * An output against its record (§4.1): `not in cache` (a cached output whose recorded object, or
 * a file of its folder, is missing or corrupt), `deleted`, then `modified` (which includes "never
 * recorded"). The workspace is hashed while the cache is checked.
 */
export async function outputState(
  memo: StatusMemo,
  abs: string,
  recorded: Recorded,
  cached: boolean,
): Promise<OutState | undefined> {
  const current = memo.hash(abs, recorded.hashName, recorded.nfiles);
  if (cached && recorded.md5 && !(await isInCache(memo.project, recorded.md5, recorded.hashName)))
    return "not in cache";
  const state = await current;
  if (state.kind === "missing") return "deleted";
  return state.md5 === recorded.md5 ? undefined : "modified";
}

/**
 * A params dependency (§4.2): the file `deleted`, or `new` when nothing is recorded for it; else
 * its changed keys (the keys listed, or for a whole-file dependency the file's top-level keys,
 * then recorded keys the file no longer has). Values compare as Python's `==` does.
 */
async function paramsState(
  memo: StatusMemo,
  dep: ParamsDep,
  recorded: Record<string, ParamValue> | undefined,
): Promise<ParamsState | undefined> {
  const data = await memo.paramsFile(dep.rel);
  if (data === undefined) return "deleted";
  if (recorded === undefined) return "new";
  const current = dep.keys
    ? (key: string) => getDotted(data, key)
    : (key: string) => (Object.hasOwn(data, key) ? data[key] : undefined);
  const keys = dep.keys ?? [...new Set([...Object.keys(data), ...Object.keys(recorded)])];
  const changed: Record<string, ParamKeyState> = {};
  for (const key of keys) {
    const state = paramKeyState(current(key), recorded, key);
    if (state) changed[key] = state;
  }
  return Object.keys(changed).length > 0 ? changed : undefined;
}

function paramKeyState(
  current: ParamValue | undefined,
  recorded: Record<string, ParamValue>,
  key: string,
): ParamKeyState | undefined {
  if (current === undefined) return "deleted";
  if (!Object.hasOwn(recorded, key)) return "new";
  return pyEquals(recorded[key] as ParamValue, current) ? undefined : "modified";
}
