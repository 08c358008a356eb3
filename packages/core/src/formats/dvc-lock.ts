/**
 * `dvc.lock` as DVC 3 reads it (pipelines spec §3.1-§3.3, §3.7): `schema: '2.0'`, then per stage
 * `cmd`, `deps`, `params` and `outs`. A dep or out without `hash` is a DVC 2.x entry, hashed
 * md5-dos2unix; params values keep Python's types.
 */
import { entriesInFileOrder, isParamsMapping, parseYaml, parseYamlDocument } from "./params-file.js";
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
import { HASH_KEYS, NOT_A_STRING, setKey } from "./pointer.js";

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
  return parseCanonicalLock(text) ?? parseLockYaml(text, file);
}

/** `parseLockFile` through the YAML parser always, whatever the text. */
export function parseLockYaml(text: string, file: string): LockFile {
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
    // The fast reader keeps no lines: read the file again with the full parser to name the line.
    const full = parseYamlDocument(text, (detail) => new PipelineFormatError(file, detail), HASH_KEYS);
    let located = err;
    try {
      LOCKFILE(full.value, []);
    } catch (again) {
      if (again instanceof SchemaViolation) located = again;
    }
    // DVC shows no line for the top-level keys (`in schema`, `in stages`).
    const line = located.at.length > 1 && located.parent !== undefined ? full.lineOf(located.parent) : undefined;
    throw validationError(file, located, line);
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

// A lock file as DVC writes it, read without the YAML parser

const STAGE_NAME = /^ {2}([A-Za-z_][A-Za-z0-9_@.+-]*):$/;
/** Words some YAML reader might take for a boolean or null; such texts go through the parser. */
const WORDS = /^(?:null|true|false|yes|no|on|off|y|n)$/i;

/**
 * Whether YAML reads `text`, written plain, as that same string whatever its schema: it starts
 * with a letter, `_`, `/`, `./` or `../` (never a digit, sign, `.inf`, `~` or a date) and is no
 * boolean or null word.
 */
function plainString(text: string): boolean {
  return /^(?:[A-Za-z_/]|\.\.?\/)/.test(text) && !WORDS.test(text) && !NOT_A_STRING.test(text);
}
/** A one-line plain command that YAML reads as the same text (no quotes, indicators, `: ` or ` #`). */
const PLAIN_CMD = /^ {4}cmd: ([^-?:,[\]{}#&*!|>'"%@`\s](?:[^:#\t]|:(?! )|(?<! )#)*?)$/;
const SAFE_PATH = /^[A-Za-z0-9_.][A-Za-z0-9_./-]*$/;
const ENTRY_PATH = /^ {4}- path: (\S+)$/;
const ENTRY_FIELDS: readonly [string, RegExp][] = [
  ["hash", /^ {6}hash: (md5)$/],
  ["md5", /^ {6}md5: ([0-9a-f]{32}(?:\.dir)?)$/],
  ["size", /^ {6}size: (0|[1-9][0-9]{0,14})$/],
  ["nfiles", /^ {6}nfiles: (0|[1-9][0-9]{0,14})$/],
  ["isexec", /^ {6}isexec: (true)$/],
];

/**
 * A `dvc.lock` in the exact shape DVC writes (one-line plain commands, `hash: md5` entries with
 * plain paths), read line by line; params blocks alone go through the YAML parser, together.
 * Undefined for any other text, which the YAML parser then reads: the result is the same either
 * way (tests compare the two). It exists because `status` reads every lock at each start, where
 * the YAML parser costs tens of milliseconds for a pipeline of 40 stages.
 */
export function parseCanonicalLock(text: string): LockFile | undefined {
  if (!text.startsWith("schema: '2.0'\nstages:\n") || !text.endsWith("\n") || text.includes("\r")) return undefined;
  const lines = text.slice(0, -1).split("\n");
  const raws = new Map<string, { cmd?: string; deps?: Record<string, unknown>[]; outs?: Record<string, unknown>[] }>();
  const paramsText: string[] = [];
  const withParams: string[] = [];
  let i = 2;
  while (i < lines.length) {
    const name = STAGE_NAME.exec(lines[i]!)?.[1];
    if (name === undefined || !plainString(name) || raws.has(name)) return undefined;
    const stage: { cmd?: string; deps?: Record<string, unknown>[]; outs?: Record<string, unknown>[] } = {};
    raws.set(name, stage);
    i++;
    const cmd = PLAIN_CMD.exec(lines[i] ?? "")?.[1];
    if (cmd === undefined || !plainString(cmd) || cmd.endsWith(" ") || cmd.endsWith(":")) return undefined;
    stage.cmd = cmd;
    i++;
    while (i < lines.length && lines[i]!.startsWith("    ")) {
      const section = lines[i]!;
      i++;
      if (section === "    params:") {
        if (withParams.at(-1) === name) return undefined;
        withParams.push(name);
        paramsText.push(`s${withParams.length - 1}:`);
        for (; i < lines.length && lines[i]!.startsWith("      "); i++) paramsText.push(lines[i]!.slice(4));
        continue;
      }
      const kind = section === "    deps:" ? "deps" : section === "    outs:" ? "outs" : undefined;
      if (kind === undefined || stage[kind] !== undefined) return undefined;
      const entries: Record<string, unknown>[] = [];
      stage[kind] = entries;
      for (
        let path = ENTRY_PATH.exec(lines[i] ?? "")?.[1];
        path !== undefined;
        path = ENTRY_PATH.exec(lines[i] ?? "")?.[1]
      ) {
        if (!SAFE_PATH.test(path) || !plainString(path)) return undefined;
        const raw: Record<string, unknown> = {};
        setKey(raw, "path", path);
        i++;
        for (const [key, pattern] of ENTRY_FIELDS) {
          const value = pattern.exec(lines[i] ?? "")?.[1];
          if (value === undefined) continue;
          setKey(raw, key, key === "size" || key === "nfiles" ? Number(value) : key === "isexec" ? true : value);
          i++;
        }
        if (raw.hash === undefined || raw.md5 === undefined || raw.size === undefined) return undefined;
        entries.push(raw);
      }
      if (entries.length === 0) return undefined;
    }
  }
  if (raws.size === 0) return undefined; // `stages:` with nothing under it is null: the schema says so
  const params = paramsText.length === 0 ? {} : paramsBlocks(paramsText.join("\n"));
  if (params === undefined) return undefined;
  const stages = new Map<string, LockStage>();
  for (const [name, raw] of raws) {
    const at = withParams.indexOf(name);
    const values = at < 0 ? undefined : params[`s${at}`];
    if (at >= 0 && !isParamsMapping(values)) return undefined;
    const entry: Record<string, unknown> = { cmd: raw.cmd };
    if (raw.deps) entry.deps = raw.deps;
    if (values !== undefined) {
      if (!Object.values(values as Record<string, ParamValue>).every(isParamsMapping)) return undefined;
      entry.params = values;
    }
    if (raw.outs) entry.outs = raw.outs;
    stages.set(name, lockStage(entry));
  }
  return { stages };
}

/** The params blocks of a canonical lock, one YAML document keyed `s0`, `s1`, ...; undefined if it is not plain YAML. */
function paramsBlocks(text: string): Record<string, ParamValue> | undefined {
  try {
    const { value } = parseYaml(text, (detail) => new PipelineFormatError("dvc.lock", detail), HASH_KEYS);
    return isParamsMapping(value) ? (value as Record<string, ParamValue>) : undefined;
  } catch {
    return undefined;
  }
}
