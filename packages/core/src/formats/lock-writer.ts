/**
 * Writing `dvc.lock` as DVC 3 does (pipelines spec §3.2-§3.6) and the run-cache entries derived
 * from a stage's lock entry (§3.8).
 *
 * A stage entry is built fresh (`lockStageValue`) and put into the file under its name: an
 * existing stage keeps its position, a new one is appended, every other stage stays. A file our
 * emitter reproduces exactly (anything DVC or mlv wrote) is edited as plain data and dumped again.
 * Any other file is edited as a `yaml` Document so that comments survive where ruamel keeps them:
 * ruamel attaches a comment to the token before it, so the comment on a stage's key line (and
 * the comment lines right under it) stays with the key, while comments inside the old entry and
 * the comment lines after it go with the entry; after a flow entry (`z: {cmd: x}  # c`) they
 * belong to its key. The other stages are written again as ruamel's round trip writes them:
 * strings re-quoted and re-folded (`printEdited`), numbers and dates as written.
 */
import { createHash } from "node:crypto";
import {
  type Document,
  isMap,
  isScalar,
  isSeq,
  type Node,
  type Pair,
  parseDocument,
  Scalar,
  visit,
  YAMLMap,
  type YAMLSeq,
} from "yaml";
import { compareCodePoints, escapeJson } from "./dir-manifest.js";
import { entriesInFileOrder, parseYaml, pyRepr } from "./params-file.js";
import { LOCK_FILE, type ParamValue, PipelineFormatError } from "./pipeline.js";
import { HASH_KEYS, type HashName } from "./pointer.js";
import { keyString, prepareForEdit, printEdited } from "./yaml-roundtrip.js";
import { dumpYaml, emitScalar, PyFloat, resolvesToNonString, type YamlValue } from "./yaml-scalar.js";

/** One dep or out to write (§3.3). A legacy entry (hashName md5-dos2unix) with `raw` is written as raw, unchanged. */
export interface LockEntryWrite {
  path: string;
  hashName: HashName;
  /** The md5 (ends in `.dir` for a folder); for a URL dep, the value of the `etag`/`checksum` key its `raw` has. */
  md5?: string;
  size?: number;
  nfiles?: number;
  /** Written only when true. */
  isexec?: boolean;
  /** The entry as read from the lock, in file order. */
  raw?: Record<string, unknown>;
}

export interface LockStageWrite {
  /** The command after interpolation, string or list as `dvc.yaml` has it. */
  cmd: string | string[];
  deps: LockEntryWrite[];
  /** params file as written in dvc.yaml → key → value (values with Python types: PyFloat, bigint) */
  params: Record<string, Record<string, ParamValue>>;
  outs: LockEntryWrite[];
}

/** The params file whose values come first (§3.4), as the lock names it whatever the stage's wdir. */
const DEFAULT_PARAMS_FILE = "params.yaml";
/** Keys left out of the run-cache hashes, at every level (§3.8). */
const RUN_CACHE_EXCLUDED = new Set(["size", "nfiles"]);

// ---------------------------------------------------------------------------------------------
// The stage entry

/** Plain values (as the lock and params readers give them) as emitter values; mappings keep their file order. */
function toYaml(value: unknown): YamlValue {
  if (value === null || value === undefined) return null;
  if (
    typeof value === "string" ||
    typeof value === "number" ||
    typeof value === "boolean" ||
    typeof value === "bigint" ||
    value instanceof PyFloat
  )
    return value;
  if (Array.isArray(value)) return value.map(toYaml);
  if (value instanceof Map) return new Map([...value.entries()].map(([k, v]) => [String(k), toYaml(v)]));
  if (typeof value === "object")
    return new Map(entriesInFileOrder(value as Record<string, unknown>).map(([k, v]) => [k, toYaml(v)]));
  return String(value);
}

function byPath(entries: readonly LockEntryWrite[]): LockEntryWrite[] {
  return [...entries].sort((a, b) => compareCodePoints(a.path, b.path));
}

/** The key the hash value goes under: `md5`, or the `etag`/`checksum` a URL dependency's entry had. */
function hashKeyOf(entry: LockEntryWrite): string {
  const raw = entry.raw;
  if (raw && !Object.hasOwn(raw, "md5"))
    for (const key of ["etag", "checksum"]) if (Object.hasOwn(raw, key)) return key;
  return "md5";
}

/** A dep or out in `_dumpd` order: path, hash, md5, size, nfiles, isexec (§3.3). */
function entryValue(entry: LockEntryWrite): YamlValue {
  if (entry.hashName === "md5-dos2unix" && entry.raw) return toYaml(entry.raw);
  const value = new Map<string, YamlValue>([["path", entry.path]]);
  if (entry.hashName !== "md5-dos2unix") value.set("hash", "md5");
  if (entry.md5 !== undefined) value.set(hashKeyOf(entry), entry.md5);
  if (entry.size !== undefined) value.set("size", entry.size);
  if (entry.nfiles !== undefined) value.set("nfiles", entry.nfiles);
  if (entry.isexec === true) value.set("isexec", true);
  return value;
}

/** `params.yaml` first, the other files by path; keys sorted at the top level only (§3.4). */
function paramsValue(params: LockStageWrite["params"]): Map<string, YamlValue> {
  const files = Object.keys(params).sort(compareCodePoints);
  const ordered = files.includes(DEFAULT_PARAMS_FILE)
    ? [DEFAULT_PARAMS_FILE, ...files.filter((f) => f !== DEFAULT_PARAMS_FILE)]
    : files;
  const value = new Map<string, YamlValue>();
  for (const file of ordered) {
    const values = params[file] as Record<string, ParamValue>;
    const keys = Object.keys(values).sort(compareCodePoints);
    value.set(file, new Map(keys.map((key) => [key, toYaml(values[key])])));
  }
  return value;
}

/**
 * The stage entry as DVC dumps it (§3.2-§3.4): key order, deps/outs sorted by path (code points),
 * params.yaml first then other files sorted, top-level keys sorted within a file.
 */
export function lockStageValue(stage: LockStageWrite): YamlValue {
  const value = new Map<string, YamlValue>([["cmd", Array.isArray(stage.cmd) ? [...stage.cmd] : stage.cmd]]);
  if (stage.deps.length > 0) value.set("deps", byPath(stage.deps).map(entryValue));
  const params = paramsValue(stage.params);
  if (params.size > 0) value.set("params", params);
  if (stage.outs.length > 0) value.set("outs", byPath(stage.outs).map(entryValue));
  return value;
}

// ---------------------------------------------------------------------------------------------
// Run cache

/** Python's `json.dumps(value, sort_keys=True)`, without the excluded keys at any level. */
function runCacheJson(value: YamlValue): string {
  if (value === null) return "null";
  if (typeof value === "boolean" || typeof value === "bigint") return String(value);
  if (typeof value === "number" || value instanceof PyFloat) {
    const n = typeof value === "number" ? value : value.value;
    if (typeof value === "number" && Number.isInteger(n)) return String(n);
    if (Number.isNaN(n)) return "NaN";
    if (!Number.isFinite(n)) return n > 0 ? "Infinity" : "-Infinity";
    return pyRepr(n);
  }
  if (typeof value === "string") return `"${escapeJson(value)}"`;
  if (Array.isArray(value)) return `[${value.map(runCacheJson).join(", ")}]`;
  const entries = (value instanceof Map ? [...value.entries()] : Object.entries(value)) as [string, YamlValue][];
  return `{${entries
    .filter(([key]) => !RUN_CACHE_EXCLUDED.has(key))
    .sort(([a], [b]) => compareCodePoints(a, b))
    .map(([key, item]) => `"${escapeJson(key)}": ${runCacheJson(item)}`)
    .join(", ")}}`;
}

function sha256(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/**
 * Run-cache key and value (§3.8, P-7): sha256 hex of Python json.dumps(sort_keys=True) of the lock
 * entry without `size`/`nfiles`; for the key, `outs` is the list of out paths.
 */
export function runCacheKeys(stage: LockStageWrite): { key: string; value: string } {
  const entry = lockStageValue(stage) as Map<string, YamlValue>;
  const keyEntry = new Map(entry);
  if (keyEntry.has("outs"))
    keyEntry.set(
      "outs",
      byPath(stage.outs).map((out) => out.path),
    );
  return { key: sha256(runCacheJson(keyEntry)), value: sha256(runCacheJson(entry)) };
}

/** The text of a run-cache entry file (the lock entry without name/schema, same emitter). */
export function runCacheEntryText(stage: LockStageWrite): string {
  return dumpYaml(lockStageValue(stage));
}

// ---------------------------------------------------------------------------------------------
// Editing dvc.lock

function invalidLock(detail: string, line?: number): PipelineFormatError {
  return new PipelineFormatError(
    LOCK_FILE,
    `'${LOCK_FILE}' is invalid: ${detail}: fix it, or delete it to record every stage again`,
    line,
  );
}

/** The lock's data (mappings as Maps, in file order), or null for an empty file. */
function readLockData(text: string): Map<string, YamlValue> | null {
  const { value } = parseYaml(text, invalidLock, HASH_KEYS);
  if (value === null) return null;
  const data = toYaml(value);
  if (!(data instanceof Map)) throw invalidLock("expected a mapping with 'schema' and 'stages'");
  return data;
}

/** The text of `data`, when dumping it gives `text` back: a file DVC or mlv wrote. */
function isCanonical(data: Map<string, YamlValue>, text: string): boolean {
  return dumpYaml(data) === text;
}

function freshLock(name: string, entry: YamlValue): string {
  return dumpYaml(
    new Map<string, YamlValue>([
      ["schema", "2.0"],
      ["stages", new Map([[name, entry]])],
    ]),
  );
}

/**
 * dvc.lock text after recording `stage` under `name` (§3.6): existing stage keeps its position,
 * new one appended, other stages/comments kept; `old` undefined/empty → new file with schema '2.0'.
 * Line endings are LF, as DVC writes them on POSIX.
 */
export function updateLockText(old: string | undefined, name: string, stage: LockStageWrite): string {
  const entry = lockStageValue(stage);
  const text = (old ?? "").replace(/\r\n/g, "\n");
  const data = readLockData(text);
  if (data === null) return freshLock(name, entry);
  const body = stageBody(name, entry);
  // A name too long for a simple key (`? name`) is rare enough to cost the file's comments.
  if (body === undefined || isCanonical(data, text)) {
    let stages = data.get("stages");
    if (!(stages instanceof Map)) {
      stages = new Map<string, YamlValue>();
      data.set("stages", stages);
    }
    (stages as Map<string, YamlValue>).set(name, entry);
    return dumpYaml(data);
  }
  return editDocument(text, (edit) => edit.put(name, body));
}

/**
 * dvc.lock text without the stage `name`; undefined when no stage is left (the file is deleted).
 * A lock without that stage is returned unchanged, as DVC leaves such a file alone.
 */
export function removeLockStage(old: string, name: string): string | undefined {
  const text = old.replace(/\r\n/g, "\n");
  const data = readLockData(text);
  const stages = data?.get("stages");
  if (!(stages instanceof Map) || !stages.has(name)) return old;
  if (stages.size === 1) return undefined;
  if (isCanonical(data as Map<string, YamlValue>, text)) {
    stages.delete(name);
    return dumpYaml(data as Map<string, YamlValue>);
  }
  return editDocument(text, (edit) => edit.remove(name));
}

/** What a stage's replacement keeps from the old text: its key-line comment and the comment lines ruamel attached to the key. */
interface StageSplice {
  node: Scalar;
  /** Whole lines printed before the key line, as they were (the file's trailing comments, when the stage is appended after a block stage). */
  before?: string;
  /** The key-line comment (`# ...`) and the column it was at. */
  comment?: { text: string; column: number };
  /** Whole lines (comments, blank lines) printed right under the key line, as they were. */
  lines: string;
  /** The new entry, indented under its key, without a final newline. */
  body: string;
}

/** A value printed as a hole, then filled: a stage's new entry, or a number or date as its source text. */
type Filler = { kind: "source"; text: string } | StageSplice;

function codePoints(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

function lineStart(text: string, offset: number): number {
  return text.lastIndexOf("\n", offset - 1) + 1;
}

function lineEnd(text: string, offset: number): number {
  const end = text.indexOf("\n", offset);
  return end < 0 ? text.length : end;
}

/** The comment (`# ...`) on the line of `offset`, after it, and the column where it starts. */
function commentAfter(text: string, offset: number): { text: string; column: number } | undefined {
  const rest = text.slice(offset, lineEnd(text, offset));
  const hash = rest.indexOf("#");
  if (hash < 0) return undefined;
  return { text: rest.slice(hash).trimEnd(), column: codePoints(text.slice(lineStart(text, offset), offset + hash)) };
}

interface LockEdit {
  /** Replace or append stage `name`, whose entry is `body` (see `stageBody`). */
  put(name: string, body: string): void;
  remove(name: string): void;
}

/** The entry of stage `name` indented under its key in `stages`, as our emitter writes it. */
function stageBody(name: string, entry: YamlValue): string | undefined {
  const head = `stages:\n  ${emitScalar(name, true)}:\n`;
  const full = dumpYaml(new Map([["stages", new Map([[name, entry]])]]));
  return full.startsWith(head) ? full.slice(head.length, -1) : undefined;
}

/**
 * Apply `change` to the lock as a `yaml` Document and print it as ruamel would: comments kept
 * where ruamel keeps them, scalars of the other stages written by our emitter.
 */
function editDocument(text: string, change: (edit: LockEdit) => void): string {
  const doc = parseDocument(text, { version: "1.2", schema: "core", uniqueKeys: true, prettyErrors: false });
  const error = doc.errors[0];
  if (error) throw invalidLock(error.message.replace(/\s+/g, " ").trim());
  prepareForEdit(doc, text);
  if (!isMap(doc.contents)) doc.contents = new YAMLMap() as never;
  const root = doc.contents as unknown as YAMLMap;
  let stagesPair = root.items.find((p) => keyString(p.key) === "stages") as Pair<unknown, unknown> | undefined;
  if (!stagesPair) {
    stagesPair = doc.createPair("stages", new YAMLMap()) as Pair<unknown, unknown>;
    root.items.push(stagesPair as never);
  }
  if (!isMap(stagesPair.value)) stagesPair.value = new YAMLMap();
  const stages = stagesPair.value as YAMLMap;
  stages.flow = false;

  const trailing = takeTrailingComments(doc, text, root, stagesPair as Pair<Node, Node>);
  const isLast = (index: number) => index === stages.items.length - 1;
  const splices = new Map<Scalar, StageSplice>();
  change({
    put(name, body) {
      const index = stages.items.findIndex((p) => keyString(p.key) === name);
      const node = new Scalar("");
      if (index < 0) {
        stages.items.push(doc.createPair(name, node) as never);
        // Comments after the last stage's entry stay right after it, before the new stage.
        splices.set(node, { node, lines: "", body, ...(trailing.ownedByLastStage && { before: trailing.text }) });
        if (trailing.ownedByLastStage) trailing.text = "";
        return;
      }
      if (isLast(index) && trailing.ownedByLastStage) trailing.text = "";
      const pair = stages.items[index] as Pair<Node, Node | null>;
      splices.set(node, {
        node,
        ...keptWithKey(text, pair, stages.items[index + 1] as Pair<Node, Node> | undefined),
        body,
      });
      dropCommentsAfter(stages, index);
      (pair.key as Node).comment = undefined;
      pair.value = node;
    },
    remove(name) {
      const index = stages.items.findIndex((p) => keyString(p.key) === name);
      if (index < 0) return;
      const removed = stages.items[index] as Pair<Node, Node | null>;
      const next = stages.items[index + 1] as Pair<Node, Node> | undefined;
      // The comments above the removed stage belong to the stage before it: they stay.
      if (next) {
        next.key.commentBefore = removed.key.commentBefore;
        next.key.spaceBefore = removed.key.spaceBefore;
      } else {
        const keyStart = removed.key.range?.[0];
        const above = keyStart === undefined ? "" : commentLinesAbove(text, lineStart(text, keyStart));
        trailing.text = above + (trailing.ownedByLastStage ? "" : trailing.text);
      }
      stages.items.splice(index, 1);
    },
  });
  return printWithFillers(doc, text, splices, keepLinesUnderKeys(text, stages)) + trailing.text;
}

/** The comment and blank lines right above the line starting at `start`, as they are. */
function commentLinesAbove(text: string, start: number): string {
  let from = start;
  while (from > 0) {
    const previous = lineStart(text, from - 1);
    if (!/^[ \t]*(?:#.*)?$/.test(text.slice(previous, from - 1))) break;
    from = previous;
  }
  return text.slice(from, start);
}

/**
 * The comment lines after the document's last value, taken out of the Document to be printed as
 * they were. ruamel attaches them to the last token: when the last stage is a block entry, they
 * go with it (right after it when a stage is appended, dropped when it is rewritten or removed);
 * otherwise they stay at the end.
 */
function takeTrailingComments(
  doc: Document,
  text: string,
  root: YAMLMap,
  stagesPair: Pair<Node, Node>,
): { text: string; ownedByLastStage: boolean } {
  const none = { text: "", ownedByLastStage: false };
  const collections: (YAMLMap | YAMLSeq)[] = [];
  let node: unknown = root;
  while ((isMap(node) || isSeq(node)) && !node.flow && node.items.length > 0) {
    collections.push(node);
    const last = node.items.at(-1);
    if (isMap(node)) {
      const pair = last as Pair<Node, Node | null>;
      node = pair.value?.range ? pair.value : pair.key;
    } else node = last;
  }
  const end = (node as Node | null)?.range?.[1];
  if (
    end === undefined ||
    (isScalar(node) && (node.type === Scalar.BLOCK_LITERAL || node.type === Scalar.BLOCK_FOLDED))
  )
    return none;
  const start = Math.min(text.length, lineEnd(text, end) + 1);
  const rest = text.slice(start);
  if (!rest.includes("#") || !rest.split("\n").every((line) => /^[ \t]*(?:#.*)?$/.test(line))) return none;
  doc.comment = null;
  for (const collection of collections) collection.comment = null;
  const lastEntry = ((stagesPair.value as YAMLMap).items.at(-1) as Pair<Node, Node | null> | undefined)?.value;
  const ownedByLastStage =
    root.items.at(-1) === stagesPair && (isMap(lastEntry) || isSeq(lastEntry)) && !lastEntry.flow;
  return { text: rest, ownedByLastStage };
}

/**
 * The comment lines between an untouched stage's key and its entry, which ruamel keeps with the
 * key and prints as they were (`yaml` would indent them as the entry): taken out of the Document,
 * by stage key.
 */
function keepLinesUnderKeys(text: string, stages: YAMLMap): Map<Node, string> {
  const kept = new Map<Node, string>();
  for (const item of stages.items) {
    const pair = item as Pair<Node, Node | null>;
    const value = pair.value;
    if (!(isMap(value) || isSeq(value)) || value.flow) continue; // a rewritten stage's value is its hole
    const { lines } = keptWithKey(text, pair, undefined);
    if (lines === "") continue;
    kept.set(pair.key, lines);
    value.commentBefore = undefined;
    const first = value.items[0] as Node | Pair<Node, Node> | undefined;
    const firstNode = first && "key" in first ? first.key : first;
    if (firstNode) {
      firstNode.commentBefore = undefined;
      firstNode.spaceBefore = false;
    }
  }
  return kept;
}

/**
 * The key-line comment of a stage and the lines ruamel keeps with its key: for a block entry, the
 * comment lines between the key and the entry; for a flow entry (`z: {cmd: x}  # c`), the lines
 * after it up to the next stage.
 */
function keptWithKey(
  text: string,
  pair: Pair<Node, Node | null>,
  next: Pair<Node, Node> | undefined,
): { comment?: { text: string; column: number }; lines: string } {
  const key = pair.key;
  const value = pair.value;
  const keyEnd = key.range?.[1];
  const valueRange = value?.range ?? undefined;
  if (keyEnd === undefined) return { lines: "" };
  if ((isMap(value) || isSeq(value)) && !value.flow && valueRange) {
    const comment = commentAfter(text, keyEnd);
    const from = lineEnd(text, keyEnd) + 1;
    const to = lineStart(text, valueRange[0]);
    return { ...(comment && { comment }), lines: to > from ? text.slice(from, to) : "" };
  }
  const end = valueRange?.[1] ?? keyEnd;
  const comment = commentAfter(text, end);
  const nextStart = next?.key.range?.[0];
  const from = lineEnd(text, end) + 1;
  const to = nextStart === undefined ? from : lineStart(text, nextStart);
  return { ...(comment && { comment }), lines: to > from ? text.slice(from, to) : "" };
}

/** ruamel drops the comment lines after a stage it rewrites or removes: they belong to its old entry. */
function dropCommentsAfter(stages: YAMLMap, index: number): void {
  const next = stages.items[index + 1] as Pair<Node, Node> | undefined;
  if (!next) return;
  next.key.commentBefore = undefined;
  next.key.spaceBefore = false;
}

/**
 * Two characters absent from `text` (noncharacters) that mark places while `yaml` prints the
 * document: a hole that stands for a scalar, and the end of a key line with lines kept under it.
 */
function unusedCharacters(text: string): (string | undefined)[] {
  const unused: string[] = [];
  // U+FDD0..U+FDD2 are the marks of yaml-roundtrip's printer.
  for (let cp = 0xfdd3; cp <= 0xfdef && unused.length < 2; cp++) {
    const ch = String.fromCodePoint(cp);
    if (!text.includes(ch)) unused.push(ch);
  }
  return unused;
}

/** Whether ruamel's round trip keeps this plain scalar's text: an int, float or date as written. */
function keepsSource(node: Scalar, source: string): boolean {
  return (
    node.type === Scalar.PLAIN &&
    node.value !== null &&
    typeof node.value !== "boolean" &&
    !source.includes("\n") &&
    resolvesToNonString(source)
  );
}

function printWithFillers(
  doc: Document,
  text: string,
  splices: ReadonlyMap<Scalar, StageSplice>,
  linesUnderKeys: ReadonlyMap<Node, string>,
): string {
  const [hole, mark] = unusedCharacters(text);
  if (hole === undefined || mark === undefined)
    throw invalidLock("the file holds every character mlv could use to edit it");
  // A key whose lines are kept ends its line with `mark`, in its comment.
  const underKeys: string[] = [];
  for (const [key, lines] of linesUnderKeys) {
    key.comment = `${key.comment ?? ""}${mark}`;
    underKeys.push(lines);
  }
  const fillers: Filler[] = [];
  visit(doc, {
    Scalar(key, node, path) {
      if (key === "key") return;
      const splice = splices.get(node);
      if (splice) {
        node.value = hole;
        fillers.push(splice);
        return;
      }
      // Scalars in flow collections follow other quoting rules: `yaml` prints those as they are.
      if (path.some((p) => (isMap(p) || isSeq(p)) && p.flow)) return;
      if (node.type === Scalar.BLOCK_LITERAL || node.type === Scalar.BLOCK_FOLDED) return;
      // `printEdited` writes strings as ruamel does (quoting, folding); ruamel keeps numbers and dates as written.
      const source = node.range ? text.slice(node.range[0], node.range[1]) : undefined;
      if (source !== undefined && keepsSource(node, source)) {
        fillers.push({ kind: "source", text: source });
        node.value = hole;
      }
    },
  });
  const printed = printEdited(doc, text);
  let nextFiller = 0;
  let nextKey = 0;
  const lines = printed.split("\n").map((line) => {
    if (line.endsWith(mark)) {
      const head = line.slice(0, -mark.length).replace(/ +#$/, "");
      return `${head}\n${(underKeys[nextKey++] as string).replace(/\n$/, "")}`;
    }
    const at = line.indexOf(hole);
    if (at < 0) return line;
    return fillLine(line, at, fillers[nextFiller++] as Filler);
  });
  return lines.join("\n");
}

/** The line with its hole at `at` filled; an end-of-line comment keeps its column. */
function fillLine(line: string, at: number, filler: Filler): string {
  const prefix = line.slice(0, at);
  const rest = line.slice(at + 1);
  if ("body" in filler) {
    const head = prefix.trimEnd();
    const comment = filler.comment
      ? `${" ".repeat(Math.max(1, filler.comment.column - codePoints(head)))}${filler.comment.text}`
      : "";
    return `${filler.before ?? ""}${head}${comment}\n${filler.lines}${filler.body}`;
  }
  const filled = `${prefix}${filler.text}`;
  const comment = /^( +)(#.*)$/.exec(rest);
  if (!comment) return `${filled}${rest}`;
  // The comment was placed after the one-character hole: it goes back to its column, or one space after the value.
  const hashColumn = at + 1 + (comment[1] as string).length;
  return `${filled}${" ".repeat(Math.max(1, hashColumn - filled.length))}${comment[2]}`;
}
