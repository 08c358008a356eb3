/**
 * `dvc.lock` as DVC 3 reads it (pipelines spec §3.1-§3.3, §3.7): `schema: '2.0'`, then per stage
 * `cmd`, `deps`, `params` and `outs`. A dep or out without `hash` is a DVC 2.x entry, hashed
 * md5-dos2unix; params values keep Python's types.
 */
import { entriesInFileOrder, isParamsMapping, parseYaml } from "./params-file.js";
import {
  anyOf,
  anything,
  bool,
  type Check,
  dict,
  int,
  type LockEntry,
  type LockFile,
  type LockStage,
  list,
  listOf,
  mapOf,
  type ParamValue,
  PipelineFormatError,
  record,
  SchemaViolation,
  str,
  validationError,
} from "./pipeline.js";
import { HASH_KEYS, setKey } from "./pointer.js";

/** `CHECKSUM_SCHEMA`: absent, empty, or at least 3 characters (numbers were kept as their text). */
const checksum: Check = (value, at, parent) => {
  if (value === null || (typeof value === "string" && (value === "" || value.length >= 3))) return;
  throw new SchemaViolation("not a valid value", at, parent);
};

const CHECKSUMS = { md5: checksum, etag: checksum, checksum };
const META = { size: int, nfiles: int, isexec: bool, version_id: str };

/** `CLOUD_SCHEMA`: one remote name → its hash and meta. */
const cloud: Check = (value, at, parent) => {
  mapOf(record({ ...META, ...CHECKSUMS }))(value, at, parent);
  if (Object.keys(value as object).length > 1)
    throw new SchemaViolation("length of value must be at most 1", at, parent);
};

const DIR_FILE = record({ ...CHECKSUMS, ...META, relpath: str, cloud }, ["relpath"]);
const ENTRY = record({ ...CHECKSUMS, ...META, path: str, cloud, files: listOf(DIR_FILE), hash: str, dataset: dict }, [
  "path",
]);
const STAGE = record(
  { cmd: anyOf(str, list), deps: listOf(ENTRY), params: mapOf(mapOf(anything)), outs: listOf(ENTRY) },
  ["cmd"],
);

const SCHEMA_VERSION: Check = (value, at, parent) => {
  if (value !== "2.0") throw new SchemaViolation("invalid schema version", at, parent);
};
const LOCKFILE = record({ schema: SCHEMA_VERSION, datasets: anything, stages: mapOf(STAGE) }, ["schema"]);

/**
 * Parse `dvc.lock` (`file` names it in messages). Empty text gives no stages. Errors are
 * PipelineFormatErrors worded as DVC's: "'dvc.lock' validation failed: required key not provided,
 * in schema", "... invalid schema version, in schema".
 */
export function parseLockFile(text: string, file: string): LockFile {
  const yaml = parseYaml(
    text,
    (detail, line) => new PipelineFormatError(file, `'${file}' is invalid: ${detail}`, line),
    HASH_KEYS,
  );
  const stages = new Map<string, LockStage>();
  if (yaml.value === null) return { stages };
  try {
    LOCKFILE(yaml.value, []);
  } catch (err) {
    if (!(err instanceof SchemaViolation)) throw err;
    // DVC shows no line for the top-level keys (`in schema`, `in stages`).
    const line = err.at.length > 1 && err.parent !== undefined ? yaml.lineOf(err.parent) : undefined;
    throw validationError(file, err, line);
  }
  const data = yaml.value as { stages?: Record<string, Record<string, unknown>> };
  for (const [name, entry] of entriesInFileOrder(data.stages ?? {})) stages.set(name, lockStage(entry));
  return { stages };
}

function lockStage(entry: Record<string, unknown>): LockStage {
  const params: Record<string, Record<string, ParamValue>> = {};
  for (const [path, values] of Object.entries((entry.params ?? {}) as Record<string, ParamValue>))
    if (isParamsMapping(values)) setKey(params, path, values);
  return {
    cmd: entry.cmd as string | string[],
    deps: ((entry.deps ?? []) as Record<string, unknown>[]).map(lockEntry),
    params,
    outs: ((entry.outs ?? []) as Record<string, unknown>[]).map(lockEntry),
  };
}

/** The hash DVC compares: `md5` (lowercased), else a URL dependency's `etag` (as is) or `checksum`. */
function hashValue(raw: Record<string, unknown>): string | undefined {
  for (const key of ["md5", "etag", "checksum"]) {
    const value = raw[key];
    if (typeof value === "string" && value !== "") return key === "etag" ? value : value.toLowerCase();
  }
  return undefined;
}

function lockEntry(raw: Record<string, unknown>): LockEntry {
  const legacy = raw.hash === undefined || raw.hash === "md5-dos2unix";
  const entry: LockEntry = { path: raw.path as string, hashName: legacy ? "md5-dos2unix" : "md5", raw };
  const md5 = hashValue(raw);
  if (md5 !== undefined) entry.md5 = md5;
  if (typeof raw.size === "number") entry.size = raw.size;
  if (typeof raw.nfiles === "number") entry.nfiles = raw.nfiles;
  if (typeof raw.isexec === "boolean") entry.isexec = raw.isexec;
  return entry;
}
