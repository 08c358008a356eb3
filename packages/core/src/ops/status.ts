/**
 * `mlv status` without `-c`: every `.dvc` file's outputs and every `dvc.yaml` stage against what
 * was recorded, in DVC's shape (pipelines spec §4, format spec §8.2).
 */
import pMap from "p-map";
import type { TrackedOut } from "../data-index/types.js";
import type { LockedStage } from "../formats/pipeline.js";
import {
  type DepState,
  type OutState,
  outputState,
  type ParamKeyState,
  type StageStatus,
  StatusMemo,
  stageStatus,
} from "../pipeline/status.js";
import type { OperationOptions } from "../progress.js";
import type { Project } from "../project/project.js";

export type { OutState } from "../pipeline/status.js";

/** Owners whose status is computed at the same time; each one hashes its paths concurrently too. */
const CONCURRENT_OWNERS = 4;

/** What to report on: outputs and stages as `selectTargets` (or `collectIndex`) gives them. */
export interface StatusSelection {
  outs: TrackedOut[];
  stages: LockedStage[];
}

/** The status of one `.dvc` file or one stage, paths from the project root. */
export interface OwnerStatus {
  /** The `.dvc` file, or the stage's `dvc.yaml`: posix path from the root. */
  file: string;
  /** The stage's name; absent for a `.dvc` file. */
  stage?: string;
  /** A frozen stage (or import) hides its dependencies: `dvc status` warns about each one it looks at. */
  frozen: boolean;
  /** DVC's list for it; empty when nothing changed. */
  status: StageStatus;
}

/** DVC's `status --json` object: owner (as addressed from the current folder) → its status list. */
export type DvcStatusJson = Record<string, StageStatus>;

type Owner =
  | { kind: "pointer"; file: string; frozen: boolean; outs: TrackedOut[] }
  | { kind: "stage"; locked: LockedStage; only?: Set<string> };

/**
 * The status of everything selected, one entry per `.dvc` file and per stage, unchanged ones
 * included (with an empty list), in selection order: the order of the walk without targets,
 * else the order of the targets. A path shared by several owners is hashed once.
 */
export async function projectStatus(
  project: Project,
  selection: StatusSelection,
  options: OperationOptions = {},
): Promise<OwnerStatus[]> {
  const memo = new StatusMemo(project);
  const owners = ownersOf(selection);
  let done = 0;
  return pMap(
    owners,
    async (owner) => {
      options.signal?.throwIfAborted();
      const status = await ownerStatus(memo, owner);
      done++;
      options.onProgress?.({
        phase: "status",
        target: ownerName(status),
        files: done,
        totalFiles: owners.length,
        bytes: 0,
        totalBytes: 0,
      });
      return status;
    },
    { concurrency: CONCURRENT_OWNERS },
  );
}

/** An owner named from the root, as the data index names it: `data.dvc`, `dvc.yaml:train`. */
function ownerName(owner: { file: string; stage?: string }): string {
  return owner.stage === undefined ? owner.file : `${owner.file}:${owner.stage}`;
}

async function ownerStatus(memo: StatusMemo, owner: Owner): Promise<OwnerStatus> {
  if (owner.kind === "pointer")
    return { file: owner.file, frozen: owner.frozen, status: await pointerStatus(memo, owner.outs) };
  const { stage } = owner.locked;
  const status = await stageStatus(memo.project, owner.locked, { memo, outs: owner.only });
  return { file: stage.file, stage: stage.name, frozen: stage.frozen, status };
}

/** A `.dvc` file's outputs against their recorded hashes (format spec §8.2). */
async function pointerStatus(memo: StatusMemo, outs: TrackedOut[]): Promise<StageStatus> {
  const states = await Promise.all(
    outs.map((o) => outputState(memo, o.abs, { ...o.out, hashName: o.hashName }, o.out.raw?.cache !== false)),
  );
  const changed: Record<string, OutState> = {};
  states.forEach((state, i) => {
    if (state) changed[outs[i]!.rel] = state;
  });
  return Object.keys(changed).length > 0 ? [{ "changed outs": changed }] : [];
}

/**
 * The owners of the selection, in order. Outputs come grouped by `.dvc` file, or by stage (a
 * stage reached only through outputs named as targets reports just those outputs); stages come
 * whole. The two lists are merged keeping both orders; where they say nothing (a `.dvc` file
 * against a stage without outputs) owners go by file path, as the walk orders them.
 */
function ownersOf(selection: StatusSelection): Owner[] {
  const byOuts = new Map<unknown, Owner>();
  for (const out of selection.outs) {
    const key = out.stage ?? out.ownerPath;
    let owner = byOuts.get(key);
    if (!owner) {
      owner = out.stage
        ? { kind: "stage", locked: out.stage, only: new Set() }
        : { kind: "pointer", file: out.owner, frozen: out.pointer?.top.frozen === true, outs: [] };
      byOuts.set(key, owner);
    }
    if (owner.kind === "stage") owner.only?.add(out.rel);
    else owner.outs.push(out);
  }
  const stages = selection.stages.map((locked) => {
    const owner = byOuts.get(locked);
    if (owner?.kind === "stage") owner.only = undefined; // selected as a whole
    return owner ?? ({ kind: "stage", locked } as const);
  });
  return mergeOrders([...byOuts.values()], stages);
}

function fileOf(owner: Owner): string {
  return owner.kind === "pointer" ? owner.file : owner.locked.stage.file;
}

/** Merge two ordered lists sharing some items, keeping the order of each. */
function mergeOrders(first: Owner[], second: Owner[]): Owner[] {
  const inFirst = new Set(first);
  const inSecond = new Set(second);
  const merged: Owner[] = [];
  const emitted = new Set<Owner>();
  let i = 0;
  let j = 0;
  const takeFirst = (a: Owner, b: Owner) => {
    if (a === b || inFirst.has(b)) return true; // b comes later in `first`
    if (inSecond.has(a)) return false; // a comes later in `second`
    return fileOf(a) <= fileOf(b);
  };
  while (i < first.length || j < second.length) {
    const a = first[i];
    const b = second[j];
    if (a && emitted.has(a)) i++;
    else if (b && emitted.has(b)) j++;
    else {
      const next = !b || (a && takeFirst(a, b)) ? first[i++]! : second[j++]!;
      emitted.add(next);
      merged.push(next);
    }
  }
  return merged;
}

/**
 * How DVC names an owner in `status` (§4.6): a `.dvc` file by its path; a stage by its name when
 * its `dvc.yaml` is the one in the current folder, else `<path to dvc.yaml>:<name>`. `display`
 * turns a path from the root into the path shown (relative to the current folder).
 */
export function ownerAddress(owner: { file: string; stage?: string }, display: (rel: string) => string): string {
  const file = display(owner.file);
  if (owner.stage === undefined) return file;
  return file === "dvc.yaml" ? owner.stage : `${file}:${owner.stage}`;
}

/**
 * The changed owners, in order, each with its address and its status, every path shown through
 * `display` (a path from the root → the path shown; default unchanged). A list rather than an
 * object: a stage named `1` keeps its place, where an object would move it first.
 */
export function addressedStatus(
  owners: OwnerStatus[],
  display: (rel: string) => string = (rel) => rel,
): { address: string; status: StageStatus }[] {
  return owners
    .filter((owner) => owner.status.length > 0)
    .map((owner) => ({
      address: ownerAddress(owner, display),
      status: owner.status.map((item) => displayPaths(item, display)),
    }));
}

/** DVC's `status --json` object (see `addressedStatus`). */
export function toDvcStatusJson(owners: OwnerStatus[], display?: (rel: string) => string): DvcStatusJson {
  return Object.fromEntries(addressedStatus(owners, display).map(({ address, status }) => [address, status]));
}

function displayPaths(item: StageStatus[number], display: (rel: string) => string): StageStatus[number] {
  if (typeof item === "string") return item;
  const rename = <T>(changes: Record<string, T>) =>
    Object.fromEntries(Object.entries(changes).map(([path, state]) => [display(path), state]));
  if ("changed deps" in item) return { "changed deps": rename(item["changed deps"]) };
  return { "changed outs": rename(item["changed outs"]) };
}

/** A changed output, of a `.dvc` file or of a stage. */
export interface OutStatusEntry {
  /** The `.dvc` file, or the stage as `<dvc.yaml path>:<name>`, from the root. */
  pointer: string;
  path: string;
  state: OutState;
}

/**
 * A stage's dependency that differs from `dvc.lock`: a path, a params file as a whole (`new`:
 * nothing recorded for it), or one key of a params file.
 */
export interface DepStatusEntry {
  pointer: string;
  dep: string;
  key?: string;
  state: DepState | ParamKeyState;
}

/** The stage as a whole. */
export interface StageStatusEntry {
  pointer: string;
  state: "always changed" | "changed command";
}

/** One change `Project#status` reports: one line of `mlv status`, paths from the root. */
export type StatusEntry = OutStatusEntry | DepStatusEntry | StageStatusEntry;

/** The changes of `projectStatus`, one entry per line of DVC's text output. */
export function statusEntries(owners: OwnerStatus[]): StatusEntry[] {
  return owners.flatMap((owner) => {
    const pointer = ownerName(owner);
    return owner.status.flatMap((item): StatusEntry[] => {
      if (typeof item === "string") return [{ pointer, state: item }];
      if ("changed outs" in item)
        return Object.entries(item["changed outs"]).map(([path, state]) => ({ pointer, path, state }));
      return Object.entries(item["changed deps"]).flatMap(([dep, state]): StatusEntry[] =>
        typeof state === "string"
          ? [{ pointer, dep, state }]
          : Object.entries(state).map(([key, keyState]) => ({ pointer, dep, key, state: keyState })),
      );
    });
  });
}

/**
 * The changed outputs of `.dvc` files, flat (the status of outputs before pipelines existed).
 * Prefer `projectStatus`, which also covers stages.
 */
export async function workspaceStatus(project: Project, outs: TrackedOut[]): Promise<StatusEntry[]> {
  return statusEntries(await projectStatus(project, { outs, stages: [] }));
}
