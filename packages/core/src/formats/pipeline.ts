/**
 * Pipeline files as DVC 3 reads them (pipelines spec §1-§3, §7.1): `dvc.yaml` with its
 * parametrization resolved to DVC's stage names, `dvc.lock`, and params files. Pure: files are
 * read through a `PipelineReader`, so the same code serves the workspace and a git commit.
 */
import { FormatError } from "../errors.js";
import type { HashName } from "./pointer.js";
import { PyFloat } from "./yaml-scalar.js";

/** The names a pipeline's files have, in any folder of a project. */
export const PIPELINE_FILE = "dvc.yaml";
export const LOCK_FILE = "dvc.lock";

/** A float read from a params file (defined with the emitter that writes it back). */
export { PyFloat };

/**
 * A FormatError worded as DVC words it. DVC's messages name the file themselves
 * (`failed to parse 'stages.s.cmd' in 'dvc.yaml': Could not find 'x'`), so no `file:` prefix is added.
 */
export class PipelineFormatError extends FormatError {
  constructor(file: string, message: string, line?: number, cause?: unknown) {
    super(file, message, line, cause);
    this.message = message;
  }
}

/** A value of a params or vars file, with Python's types: ints are numbers (bigint past 2^53), floats PyFloat. */
export type ParamValue =
  | null
  | boolean
  | number
  | bigint
  | PyFloat
  | string
  | ParamValue[]
  | { [key: string]: ParamValue };

/**
 * Reads files for the loader; paths are posix, from the project root. Undefined when absent.
 * Decode with `decodeUtf8` (params-file.ts) so that invalid UTF-8 fails as it does in DVC.
 */
export interface PipelineReader {
  read(path: string): Promise<string | undefined>;
}

/** One entry of a stage's `outs`, `metrics` or `plots`, after interpolation. */
export interface StageOut {
  /** As written in `dvc.yaml` (relative to the stage's `wdir`); the same string keys the lock entry. */
  path: string;
  /** Posix path from the project root (normalised `wdir/path`); the path as written for URLs and absolute paths. */
  rel: string;
  kind: "outs" | "metrics" | "plots";
  cache: boolean;
  persist: boolean;
  push: boolean;
  remote?: string;
  /** Every flag as written, in order (desc, type, labels, meta, cache, persist, remote, push, plot props...). */
  flags: Record<string, unknown>;
}

/** One params dependency: a params file, and the keys read from it (null: the whole file). */
export interface ParamsDep {
  /** As written (relative to `wdir`); `params.yaml` for bare keys. */
  path: string;
  /** Posix path from the project root. */
  rel: string;
  keys: string[] | null;
}

/** One stage of a `dvc.yaml`, `foreach`/`matrix` expanded, every `${...}` resolved. */
export interface PipelineStage {
  /** DVC's name: `train`, `build@us`, `mx@1-adam`. */
  name: string;
  /** The `foreach`/`matrix` group it was generated from (`build`), when generated. */
  group?: string;
  /** The `dvc.yaml` it comes from, posix from the project root (`dvc.yaml`, `sub/dvc.yaml`). */
  file: string;
  /** The working directory, posix from the project root (`""` for the root). */
  wdir: string;
  cmd: string | string[];
  /** Plain dependencies as written (relative to `wdir`), in order. */
  deps: { path: string; rel: string }[];
  /** Params dependencies merged per file (§1.6), in order of first appearance. */
  params: ParamsDep[];
  /** `outs`, then `metrics`, then `plots`, each in written order. */
  outs: StageOut[];
  frozen: boolean;
  alwaysChanged: boolean;
  desc?: string;
  /** Params files and keys this stage read through `${...}` (DVC's `tracked_vars`): file → dotted keys. */
  interpolatedParams?: Map<string, Set<string>>;
}

/** A `dvc.yaml`, resolved. */
export interface PipelineFile {
  /** Posix from the project root. */
  path: string;
  stages: PipelineStage[];
  /** Top-level `params:` files (posix from the project root). */
  params: string[];
  /** Top-level `metrics:` files (posix from the project root). */
  metrics: string[];
  /** Top-level `plots:`, as written (interpolated). */
  plots: unknown[];
  /** Top-level `artifacts:`, as written (interpolated). */
  artifacts: Record<string, unknown>;
  /** Params files and keys read through `${...}` (for `params diff`): file (posix from the root) → dotted keys used. */
  interpolatedParams: Map<string, Set<string>>;
}

/** One dep or out entry of `dvc.lock` (§3.3). */
export interface LockEntry {
  path: string;
  /** `md5`, or `md5-dos2unix` for a legacy (2.x) entry without `hash`. */
  hashName: HashName;
  /** The md5 (ends in `.dir` for a folder); for URL deps, the etag or checksum. */
  md5?: string;
  size?: number;
  nfiles?: number;
  isexec?: boolean;
  /** The mapping as read, in file order. */
  raw: Record<string, unknown>;
}

/** One stage entry of `dvc.lock`. */
export interface LockStage {
  cmd: string | string[];
  deps: LockEntry[];
  /** params file (as written) → key → value. */
  params: Record<string, Record<string, ParamValue>>;
  outs: LockEntry[];
}

/** A parsed `dvc.lock`: stage name → entry, in file order. */
export interface LockFile {
  stages: Map<string, LockStage>;
}

/** A stage with its `dvc.lock` entry (none when the stage never ran). */
export interface LockedStage {
  stage: PipelineStage;
  lock?: LockStage;
}

/*
 * Validation shared by the `dvc.yaml` and `dvc.lock` parsers: DVC's voluptuous schemas, checked
 * on the values as read, failing on the first bad key (in file order) with voluptuous's wording.
 */

/** A schema violation: the message, the keys leading to the bad value, and the mapping or list holding it. */
export class SchemaViolation extends Error {
  constructor(
    message: string,
    readonly at: readonly (string | number)[],
    readonly parent: object | undefined,
  ) {
    super(message);
  }
}

/** Checks a value at `at` (inside `parent`); throws a SchemaViolation. */
export type Check = (value: unknown, at: readonly (string | number)[], parent?: object) => void;

export function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof PyFloat);
}

function typeCheck(ok: (value: unknown) => boolean, message: string): Check {
  return (value, at, parent) => {
    if (!ok(value)) throw new SchemaViolation(message, at, parent);
  };
}

export const anything: Check = () => {};
export const str = typeCheck((v) => typeof v === "string", "expected str");
export const bool = typeCheck((v) => typeof v === "boolean", "expected bool");
/** Python's `int`, which a bool is too. */
export const int = typeCheck(
  (v) => (typeof v === "number" && Number.isInteger(v)) || typeof v === "bigint" || typeof v === "boolean",
  "expected int",
);
export const list = typeCheck(Array.isArray, "expected list");
export const dict = typeCheck(isMapping, "expected dict");

export function nullable(check: Check): Check {
  return (value, at, parent) => {
    if (value !== null) check(value, at, parent);
  };
}

export function listOf(item: Check): Check {
  return (value, at, parent) => {
    if (!Array.isArray(value)) throw new SchemaViolation("expected a list", at, parent);
    value.forEach((x, i) => {
      item(x, [...at, i], value);
    });
  };
}

/** A mapping from any string key to values of one schema. */
export function mapOf(item: Check): Check {
  return (value, at, parent) => {
    if (!isMapping(value)) throw new SchemaViolation("expected a dictionary", at, parent);
    for (const [key, x] of Object.entries(value)) item(x, [...at, key], value);
  };
}

/** A mapping with known keys: others are "extra keys", missing `required` ones are reported last. */
export function record(fields: Readonly<Record<string, Check>>, required: readonly string[] = []): Check {
  return (value, at, parent) => {
    if (!isMapping(value)) throw new SchemaViolation("expected a dictionary", at, parent);
    for (const [key, x] of Object.entries(value)) {
      const check = Object.hasOwn(fields, key) ? fields[key] : undefined;
      if (check === undefined) throw new SchemaViolation("extra keys not allowed", [...at, key], value);
      check(x, [...at, key], value);
    }
    for (const key of required)
      if (!Object.hasOwn(value, key)) throw new SchemaViolation("required key not provided", [...at, key], value);
  };
}

/** The first alternative that passes; else the violation that went deepest, as voluptuous reports it. */
export function anyOf(...alternatives: Check[]): Check {
  return (value, at, parent) => {
    let deepest: SchemaViolation | undefined;
    for (const check of alternatives) {
      try {
        check(value, at, parent);
        return;
      } catch (err) {
        if (!(err instanceof SchemaViolation)) throw err;
        if (deepest === undefined || err.at.length > deepest.at.length) deepest = err;
      }
    }
    if (deepest) throw deepest;
  };
}

/** `'dvc.lock' validation failed: extra keys not allowed, in stages -> s -> foo, line 7`. */
export function validationError(file: string, violation: SchemaViolation, line?: number): PipelineFormatError {
  const where = violation.at.length > 0 ? `, in ${violation.at.join(" -> ")}` : "";
  const lineText = line === undefined ? "" : `, line ${line}`;
  return new PipelineFormatError(file, `'${file}' validation failed: ${violation.message}${where}${lineText}`, line);
}
