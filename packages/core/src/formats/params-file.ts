/**
 * Params and vars files as DVC reads them (pipelines spec §7.1): YAML 1.2, JSON, TOML and Python,
 * chosen by suffix, with Python's types kept (`1.0` stays a float, big ints stay exact), and the
 * Python semantics that status, `params diff` and the run cache rely on: `==`, `str()`, float
 * `repr()`, `json.dumps` and dotted lookup.
 */
import { parse as parseTomlText, TomlDate } from "smol-toml";
import {
  type Alias,
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Pair,
  parseDocument,
  Scalar,
  type ScalarTag,
  type YAMLMap,
  type YAMLSeq,
} from "yaml";
import { compareCodePoints, escapeJson } from "./dir-manifest.js";
import { type ParamValue, PipelineFormatError, PyFloat } from "./pipeline.js";
import { setKey } from "./pointer.js";
import { parseSimpleYaml } from "./simple-yaml.js";
import { yamlLimitProblem } from "./yaml-limits.js";

type Mapping = { [key: string]: ParamValue };

// ---------------------------------------------------------------------------------------------
// What plain values cannot carry: Python types that DVC's context refuses, tuples, non-string keys.

/** Per mapping or list: the Python type of entries that are kept as text (`date`, `datetime`, `complex`). */
const UNSUPPORTED = new WeakMap<object, Map<string, string>>();
/** Per mapping: keys that were not strings in the file (`1:`), which DVC's context skips. */
const NON_STRING_KEYS = new WeakMap<object, Set<string>>();
/** Lists that were Python tuples or sets. */
const PY_KIND = new WeakMap<object, "tuple" | "set">();

function markUnsupported(container: object, key: string | number, pythonType: string): void {
  const entries = UNSUPPORTED.get(container) ?? new Map<string, string>();
  UNSUPPORTED.set(container, entries);
  entries.set(String(key), pythonType);
}

function markNonStringKey(mapping: object, key: string): void {
  const keys = NON_STRING_KEYS.get(mapping) ?? new Set<string>();
  NON_STRING_KEYS.set(mapping, keys);
  keys.add(key);
}

/**
 * The Python type of `container[key]` when Python would not have a str, number, bool, None, list or
 * dict there: a YAML/TOML timestamp (`date`, `datetime`, `time`), a `tuple`, a `set` or a `complex`.
 * DVC's parametrization refuses such values ("Unsupported value of type 'date' in 'params.yaml:d'").
 */
export function unsupportedType(container: object, key: string | number): string | undefined {
  const marked = UNSUPPORTED.get(container)?.get(String(key));
  if (marked !== undefined) return marked;
  const value = (container as Record<string, unknown>)[key];
  return typeof value === "object" && value !== null ? PY_KIND.get(value) : undefined;
}

/** Whether a mapping key was not a string in the file (`1: x`, `true: y`); DVC's context ignores those. */
export function isNonStringKey(mapping: object, key: string): boolean {
  return NON_STRING_KEYS.get(mapping)?.has(key) ?? false;
}

/** Whether a list was a Python tuple (from a `.py` params file). */
export function isPyTuple(value: unknown): boolean {
  return typeof value === "object" && value !== null && PY_KIND.get(value) === "tuple";
}

/** Python's `type(value).__name__` for a params value (`int`, `float`, `str`, `list`, `dict`, `NoneType`...). */
export function pythonTypeName(value: ParamValue): string {
  if (value === null) return "NoneType";
  if (typeof value === "boolean") return "bool";
  if (typeof value === "number" || typeof value === "bigint") return "int";
  if (value instanceof PyFloat) return "float";
  if (typeof value === "string") return "str";
  if (Array.isArray(value)) return PY_KIND.get(value) ?? "list";
  return "dict";
}

// ---------------------------------------------------------------------------------------------
// Reading

/** Decode a file as DVC does: strict UTF-8 ("unable to read: '<path>', is not valid utf-8"), a BOM kept. */
export function decodeUtf8(bytes: Uint8Array, path: string): string {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (err) {
    throw new PipelineFormatError(path, `unable to read: '${path}', is not valid utf-8`, undefined, err);
  }
}

function corrupted(path: string, format: string, cause?: unknown, line?: number): PipelineFormatError {
  return new PipelineFormatError(path, `unable to read: '${path}', ${format} file structure is corrupted`, line, cause);
}

/** The lower-cased suffix of the file name, as Python's `PurePath.suffix` gives it (`.json`; none for `.json`). */
function suffixOf(path: string): string {
  const name = path.slice(path.lastIndexOf("/") + 1);
  const dot = name.lastIndexOf(".");
  return dot <= 0 || dot === name.length - 1 ? "" : name.slice(dot).toLowerCase();
}

/**
 * The data of a params or vars file, whatever its top-level type: `.json`, `.toml`, `.py`, else
 * YAML (spec §7.1). Empty YAML and falsy JSON (`null`, `[]`, `0`...) give `{}`, as in DVC.
 */
export function readParamsData(text: string | Uint8Array, path: string): ParamValue {
  const source = typeof text === "string" ? text : decodeUtf8(text, path);
  switch (suffixOf(path)) {
    case ".json":
      return falsyToEmpty(parseJson(source, path));
    case ".toml":
      return parseToml(source, path);
    case ".py":
      return parsePython(source, path);
    default:
      return falsyToEmpty(parseYaml(source, (detail, line) => corrupted(path, "YAML", detail, line)).value);
  }
}

/** A params file as a mapping; a file holding anything else fails as DVC's context does. */
export function parseParamsFile(text: string | Uint8Array, path: string): Record<string, ParamValue> {
  const data = readParamsData(text, path);
  if (!isParamsMapping(data))
    throw new PipelineFormatError(path, `expected a dictionary, got '${pythonTypeName(data)}' in file '${path}'`);
  return data;
}

export function isParamsMapping(value: ParamValue | undefined): value is Mapping {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof PyFloat);
}

/** Python's truthiness, for DVC's `load(...) or {}`. */
function falsyToEmpty(value: ParamValue): ParamValue {
  const falsy =
    value === null ||
    value === false ||
    value === "" ||
    value === 0 ||
    value === 0n ||
    (value instanceof PyFloat && value.value === 0) ||
    (Array.isArray(value) && value.length === 0) ||
    (isParamsMapping(value) && Object.keys(value).length === 0);
  return falsy ? {} : value;
}

function intValue(digits: bigint): number | bigint {
  return digits >= BigInt(Number.MIN_SAFE_INTEGER) && digits <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(digits)
    : digits;
}

// ---------------------------------------------------------------------------------------------
// YAML (ruamel `typ="safe"`, YAML 1.2): the scalar types of ruamel's resolver, merge keys, bounded aliases

/** A YAML timestamp: Python reads it as a date, which DVC's context refuses. Kept as its text. */
class Timestamp {
  constructor(
    readonly text: string,
    readonly pythonType: "date" | "datetime",
  ) {}
}

/** ruamel's implicit resolvers for YAML 1.2, each limited to the first characters ruamel tries it for. */
const BOOL_RE = /^(?:true|True|TRUE|false|False|FALSE)$/;
const FLOAT_RE =
  /^(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+|[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;
const INT_RE = /^(?=[-+0-9])(?:[-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?[0-9_]+|[-+]?0x[0-9a-fA-F_]+)$/;
const NULL_RE = /^(?:~|null|Null|NULL|)$/;
const TIMESTAMP_RE =
  /^(?:[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?)$/;

function resolveYamlInt(text: string): number | bigint {
  let body = text.replaceAll("_", "");
  const negative = body.startsWith("-");
  if (body.startsWith("-") || body.startsWith("+")) body = body.slice(1);
  // ruamel reads `012` as decimal in YAML 1.2; only 0b, 0o and 0x change the base.
  const digits = /^0[box]/.test(body) ? BigInt(body) : BigInt(body.replace(/^0+(?=.)/, ""));
  return intValue(negative ? -digits : digits);
}

function resolveYamlFloat(text: string): PyFloat {
  const body = text.replaceAll("_", "").toLowerCase();
  const sign = body.startsWith("-") ? -1 : 1;
  const unsigned = body.replace(/^[-+]/, "");
  if (unsigned === ".inf") return new PyFloat(sign * Number.POSITIVE_INFINITY);
  if (unsigned === ".nan") return new PyFloat(Number.NaN);
  return new PyFloat(sign * Number(unsigned));
}

const IMPLICIT_TAGS: ScalarTag[] = [
  { tag: "tag:yaml.org,2002:bool", default: true, test: BOOL_RE, resolve: (s) => s.toLowerCase() === "true" },
  { tag: "tag:yaml.org,2002:float", default: true, test: FLOAT_RE, resolve: resolveYamlFloat },
  { tag: "tag:yaml.org,2002:int", default: true, test: INT_RE, resolve: resolveYamlInt },
  { tag: "tag:yaml.org,2002:null", default: true, test: NULL_RE, resolve: () => null },
  {
    tag: "tag:yaml.org,2002:timestamp",
    default: true,
    test: TIMESTAMP_RE,
    resolve: (s) => new Timestamp(s, s.length > 10 ? "datetime" : "date"),
  },
];
/** The same types written with an explicit tag (`!!float 1`), which skips the implicit test. */
const EXPLICIT_TAGS: ScalarTag[] = IMPLICIT_TAGS.map((tag) => ({ ...tag, default: false, test: undefined }));

/** Alias expansion beyond this (yaml's measure) is refused, so that a "billion laughs" file fails at once. */
const MAX_ALIAS_COUNT = 100;

/** A YAML document as plain values, and the line where each mapping and list starts. */
export interface YamlData {
  value: ParamValue;
  lineOf(container: object): number | undefined;
}

/** An error for a YAML file that cannot be read, given the parser's reason and line. */
export type YamlErrorFactory = (detail: string, line?: number) => Error;

/**
 * Parse YAML as DVC's ruamel `safe` loader does (YAML 1.2): `yes`/`no` stay strings, `0x1f` is 31,
 * floats become PyFloat, timestamps stay text but are marked `date`/`datetime` (`unsupportedType`),
 * `<<` merge keys apply, duplicate keys and alias bombs fail. Values under `coerceKeys` that read as
 * numbers are kept as their source text (hash values: `md5: 0123...` keeps its leading zero).
 */
/** The file order of each mapping read from YAML: JavaScript puts integer-like keys first, Python does not. */
const KEY_ORDER = new WeakMap<object, string[]>();

/** A mapping's entries in the order its file wrote them (stage `1` after stage `b` if so written). */
export function entriesInFileOrder<T>(mapping: Readonly<Record<string, T>>): [string, T][] {
  const order = KEY_ORDER.get(mapping);
  return order ? order.map((k) => [k, mapping[k] as T]) : Object.entries(mapping);
}

export function parseYaml(
  text: string,
  invalid: YamlErrorFactory,
  coerceKeys?: ReadonlySet<string>,
  maxBytes?: number,
): YamlData {
  const tooBig = yamlLimitProblem(text, maxBytes);
  if (tooBig !== undefined) throw invalid(`the file ${tooBig}`);
  // The common plain files skip the full parser; lines are then unknown (`parseYamlDocument` has them).
  const simple = parseSimpleYaml(text, coerceKeys);
  if (simple !== undefined) return { value: simple, lineOf: () => undefined };
  return parseYamlDocument(text, invalid, coerceKeys);
}

/** `parseYaml` through the full YAML parser, whatever the text: every container's line is known. */
export function parseYamlDocument(text: string, invalid: YamlErrorFactory, coerceKeys?: ReadonlySet<string>): YamlData {
  const lines = new LineCounter();
  const doc = parseDocument(text, {
    version: "1.2",
    schema: "failsafe",
    customTags: [...IMPLICIT_TAGS, ...EXPLICIT_TAGS],
    uniqueKeys: true,
    prettyErrors: false,
    lineCounter: lines,
  });
  const error = doc.errors[0];
  if (error) throw invalid(error.message.replace(/\s+/g, " ").trim(), lines.linePos(error.pos[0]).line);
  const starts = new WeakMap<object, number>();
  const converter = new YamlConverter(doc, invalid, starts, lines, coerceKeys);
  return { value: converter.convert(doc.contents), lineOf: (container) => starts.get(container) };
}

class YamlConverter {
  private aliasesChecked = false;

  constructor(
    private readonly doc: Document,
    private readonly invalid: YamlErrorFactory,
    private readonly starts: WeakMap<object, number>,
    private readonly lines: LineCounter,
    private readonly coerceKeys: ReadonlySet<string> | undefined,
  ) {}

  convert(node: unknown, parent?: object, key?: string | number): ParamValue {
    if (isAlias(node)) return this.convert(this.resolveAlias(node), parent, key);
    if (isMap(node)) return this.convertMap(node);
    if (isSeq(node)) return this.convertSeq(node);
    if (isScalar(node)) return this.convertScalar(node, parent, key);
    return null;
  }

  private resolveAlias(node: Alias): unknown {
    if (!this.aliasesChecked) {
      // yaml's own alias accounting, run once: it throws on exponential expansion.
      try {
        this.doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
      } catch (err) {
        throw this.invalid((err as Error).message);
      }
      this.aliasesChecked = true;
    }
    return node.resolve(this.doc);
  }

  private remember(container: object, node: { range?: readonly number[] | null }): void {
    const start = node.range?.[0];
    if (start !== undefined) this.starts.set(container, this.lines.linePos(start).line);
  }

  private convertScalar(node: Scalar, parent: object | undefined, key: string | number | undefined): ParamValue {
    const value = node.value;
    const isNumber = typeof value === "number" || typeof value === "bigint" || value instanceof PyFloat;
    if (isNumber && typeof key === "string" && this.coerceKeys?.has(key)) return node.source ?? String(value);
    if (value instanceof Timestamp || value instanceof Date) {
      const text = value instanceof Timestamp ? value.text : value.toISOString();
      if (parent !== undefined && key !== undefined)
        markUnsupported(parent, key, value instanceof Timestamp ? value.pythonType : "datetime");
      return text;
    }
    if (value === null || typeof value === "boolean" || typeof value === "string") return value;
    if (isNumber) return value;
    return String(value);
  }

  private convertSeq(node: YAMLSeq): ParamValue[] {
    const list: ParamValue[] = [];
    this.remember(list, node);
    node.items.forEach((item, i) => {
      list.push(this.convert(item, list, i));
    });
    return list;
  }

  private convertMap(node: YAMLMap): Mapping {
    const mapping: Mapping = {};
    const order: string[] = [];
    this.remember(mapping, node);
    for (const pair of this.flatPairs(node)) {
      const key = this.keyOf(pair.key, mapping);
      if (!Object.hasOwn(mapping, key)) order.push(key);
      setKey(mapping, key, this.convert(pair.value, mapping, key));
    }
    KEY_ORDER.set(mapping, order);
    return mapping;
  }

  private mergePairs(value: unknown): Pair[] {
    const source = isAlias(value) ? this.resolveAlias(value) : value;
    if (isMap(source)) return this.flatPairs(source);
    if (isSeq(source)) {
      const maps = source.items.map((item) => (isAlias(item) ? this.resolveAlias(item) : item));
      if (!maps.every(isMap)) throw this.invalid("a merge key '<<' takes a mapping or a list of mappings");
      return maps.reverse().flatMap((map) => this.flatPairs(map as YAMLMap));
    }
    throw this.invalid("a merge key '<<' takes a mapping or a list of mappings");
  }

  /** A mapping's pairs as ruamel orders them: merged ones first (from the last merge source to the first), then its own. */
  private flatPairs(map: YAMLMap): Pair[] {
    const merged: Pair[] = [];
    const explicit: Pair[] = [];
    for (const pair of map.items) {
      if (isMergeKey(pair.key)) merged.push(...this.mergePairs(pair.value));
      else explicit.push(pair);
    }
    return [...merged, ...explicit];
  }

  private keyOf(node: unknown, mapping: Mapping): string {
    const value = this.convert(node);
    if (typeof value === "string") return value;
    const key = pyStr(value);
    markNonStringKey(mapping, key);
    return key;
  }
}

function isMergeKey(key: unknown): boolean {
  return isScalar(key) && key.type === Scalar.PLAIN && key.value === "<<";
}

// ---------------------------------------------------------------------------------------------
// JSON (Python's json.loads: NaN and Infinity accepted, ints exact, last duplicate key wins)

const JSON_ESCAPES: Record<string, string> = {
  '"': '"',
  "\\": "\\",
  "/": "/",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
};

class JsonReader {
  private pos = 0;

  constructor(
    private readonly text: string,
    private readonly path: string,
  ) {}

  document(): ParamValue {
    const value = this.value();
    this.space();
    if (this.pos < this.text.length) this.fail();
    return value;
  }

  private fail(): never {
    throw corrupted(this.path, "JSON", `unexpected input at offset ${this.pos}`);
  }

  private space(): void {
    while (/[ \t\n\r]/.test(this.text[this.pos] ?? "")) this.pos++;
  }

  private take(word: string): boolean {
    if (!this.text.startsWith(word, this.pos)) return false;
    this.pos += word.length;
    return true;
  }

  private value(): ParamValue {
    this.space();
    const c = this.text[this.pos];
    if (c === "{") return this.object();
    if (c === "[") return this.array();
    if (c === '"') return this.string();
    if (this.take("true")) return true;
    if (this.take("false")) return false;
    if (this.take("null")) return null;
    if (this.take("NaN")) return new PyFloat(Number.NaN);
    if (this.take("Infinity")) return new PyFloat(Number.POSITIVE_INFINITY);
    if (this.take("-Infinity")) return new PyFloat(Number.NEGATIVE_INFINITY);
    return this.number();
  }

  private number(): ParamValue {
    const m = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?/y;
    m.lastIndex = this.pos;
    const found = m.exec(this.text);
    if (found === null) this.fail();
    this.pos = m.lastIndex;
    const [text, fraction, exponent] = found;
    return fraction === undefined && exponent === undefined ? intValue(BigInt(text)) : new PyFloat(Number(text));
  }

  private string(): string {
    this.pos++; // the opening quote
    let out = "";
    for (;;) {
      const c = this.text[this.pos++];
      if (c === undefined || c < " ") this.fail();
      if (c === '"') return out;
      if (c !== "\\") {
        out += c;
        continue;
      }
      const e = this.text[this.pos++];
      if (e !== undefined && Object.hasOwn(JSON_ESCAPES, e)) out += JSON_ESCAPES[e];
      else if (e === "u" && /^[0-9a-fA-F]{4}$/.test(this.text.slice(this.pos, this.pos + 4))) {
        out += String.fromCharCode(Number.parseInt(this.text.slice(this.pos, this.pos + 4), 16));
        this.pos += 4;
      } else this.fail();
    }
  }

  private array(): ParamValue[] {
    this.pos++;
    const list: ParamValue[] = [];
    this.space();
    if (this.take("]")) return list;
    for (;;) {
      list.push(this.value());
      this.space();
      if (this.take("]")) return list;
      if (!this.take(",")) this.fail();
    }
  }

  private object(): Mapping {
    this.pos++;
    const mapping: Mapping = {};
    this.space();
    if (this.take("}")) return mapping;
    for (;;) {
      this.space();
      if (this.text[this.pos] !== '"') this.fail();
      const key = this.string();
      this.space();
      if (!this.take(":")) this.fail();
      setKey(mapping, key, this.value());
      this.space();
      if (this.take("}")) return mapping;
      if (!this.take(",")) this.fail();
    }
  }
}

function parseJson(text: string, path: string): ParamValue {
  return new JsonReader(text, path).document();
}

// ---------------------------------------------------------------------------------------------
// TOML (tomlkit, unwrapped)

function parseToml(text: string, path: string): Mapping {
  let table: Record<string, unknown>;
  try {
    // tomlkit, unlike smol-toml, refuses a byte order mark.
    if (text.startsWith("\ufeff")) throw new Error("byte order mark");
    table = parseTomlText(text, { integersAsBigInt: true });
  } catch (err) {
    throw corrupted(path, "TOML", err);
  }
  return fromToml(table) as Mapping;
}

function fromToml(value: unknown, parent?: object, key?: string | number): ParamValue {
  if (typeof value === "bigint") return intValue(value);
  if (typeof value === "number") return new PyFloat(value);
  if (typeof value === "string" || typeof value === "boolean") return value;
  if (value instanceof TomlDate) {
    if (parent !== undefined && key !== undefined)
      markUnsupported(parent, key, value.isDate() ? "date" : value.isTime() ? "time" : "datetime");
    return value.toISOString();
  }
  if (Array.isArray(value)) {
    const list: ParamValue[] = [];
    value.forEach((item, i) => {
      list.push(fromToml(item, list, i));
    });
    return list;
  }
  const mapping: Mapping = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) setKey(mapping, k, fromToml(v, mapping, k));
  return mapping;
}

// ---------------------------------------------------------------------------------------------
// Python: top-level `NAME = literal`, `NAME: T = literal`, classes and `self.x = literal` in `__init__`

type PyToken =
  | { kind: "name"; text: string }
  | { kind: "number"; text: string }
  | { kind: "string"; value: string; bytes: boolean; literal: boolean }
  | { kind: "op"; text: string };

interface LogicalLine {
  indent: number;
  tokens: PyToken[];
}

/** A statement: its tokens, and for a compound statement (`class C:`) its body. */
interface PyStatement {
  tokens: PyToken[];
  body?: PyStatement[];
}

class PySyntaxError extends Error {}

/** A value that `ast.literal_eval` refuses: the assignment is skipped, as DVC skips it. */
class NotALiteral extends Error {}

const OPERATORS = [
  "**=",
  "//=",
  ">>=",
  "<<=",
  "...",
  "!=",
  "%=",
  "&=",
  "**",
  "*=",
  "+=",
  "-=",
  "->",
  "//",
  "/=",
  ":=",
  "<<",
  "<=",
  "==",
  ">=",
  ">>",
  "@=",
  "^=",
  "|=",
  ..."()[]{},:;.=+-*/%&|^~<>@!",
];
const CLOSERS: Record<string, string> = { "(": ")", "[": "]", "{": "}" };
const STRING_START = /(?:[rR][bBfF]?|[bBfF][rR]?|[uU])?('''|"""|'|")/y;
const NUMBER =
  /(?:0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|(?:[0-9](?:_?[0-9])*(?:\.(?:[0-9](?:_?[0-9])*)?)?|\.[0-9](?:_?[0-9])*)(?:[eE][-+]?[0-9](?:_?[0-9])*)?[jJ]?)/y;
const NAME = /[\p{L}\p{Nl}_][\p{L}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}]*/uy;
const SIMPLE_ESCAPES: Record<string, string> = {
  "\\": "\\",
  "'": "'",
  '"': '"',
  a: "\x07",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
  v: "\v",
};

function sticky(re: RegExp, text: string, pos: number): RegExpExecArray | null {
  re.lastIndex = pos;
  return re.exec(text);
}

/** Python's tokenizer, reduced to what finding assignments needs: logical lines with their indentation. */
class PyTokenizer {
  private pos = 0;
  private readonly lines: LogicalLine[] = [];
  private tokens: PyToken[] = [];
  private readonly brackets: string[] = [];
  private indent = 0;
  private lineStart = true;

  constructor(private readonly text: string) {}

  run(): LogicalLine[] {
    while (this.pos < this.text.length) this.step();
    if (this.brackets.length > 0) throw new PySyntaxError("unclosed bracket");
    this.endLine();
    return this.lines;
  }

  private step(): void {
    const { text } = this;
    if (this.lineStart) this.measureIndent();
    const c = text[this.pos] as string;
    if (c === " " || c === "\t" || c === "\f") this.pos++;
    else if (c === "#") this.comment();
    else if (c === "\\" && /^\\(\r\n|\r|\n)/.test(text.slice(this.pos, this.pos + 3)))
      this.pos += text.startsWith("\\\r\n", this.pos) ? 3 : 2;
    else if (c === "\n" || c === "\r") this.newline();
    else if (sticky(STRING_START, text, this.pos)) this.string();
    else if (/[0-9]/.test(c) || (c === "." && /[0-9]/.test(text[this.pos + 1] ?? ""))) this.number();
    else if (sticky(NAME, text, this.pos)) this.name();
    else this.operator();
  }

  private comment(): void {
    while (this.pos < this.text.length && this.text[this.pos] !== "\n" && this.text[this.pos] !== "\r") this.pos++;
  }

  private measureIndent(): void {
    let column = 0;
    for (;;) {
      const c = this.text[this.pos];
      if (c === " ") column++;
      else if (c === "\t") column = (Math.floor(column / 8) + 1) * 8;
      else if (c === "\f") column = 0;
      else break;
      this.pos++;
    }
    this.indent = column;
    this.lineStart = false;
  }

  private newline(): void {
    this.pos += this.text.startsWith("\r\n", this.pos) ? 2 : 1;
    if (this.brackets.length > 0) return;
    this.endLine();
    this.lineStart = true;
  }

  private endLine(): void {
    if (this.tokens.length > 0) this.lines.push({ indent: this.indent, tokens: this.tokens });
    this.tokens = [];
  }

  private name(): void {
    const m = sticky(NAME, this.text, this.pos) as RegExpExecArray;
    this.tokens.push({ kind: "name", text: m[0] });
    this.pos += m[0].length;
  }

  private number(): void {
    const m = sticky(NUMBER, this.text, this.pos);
    if (m === null) throw new PySyntaxError("bad number");
    this.tokens.push({ kind: "number", text: m[0] });
    this.pos += m[0].length;
  }

  private operator(): void {
    const op = OPERATORS.find((o) => this.text.startsWith(o, this.pos));
    if (op === undefined) throw new PySyntaxError(`unexpected character '${this.text[this.pos]}'`);
    if (op in CLOSERS) this.brackets.push(CLOSERS[op] as string);
    else if (op === ")" || op === "]" || op === "}") {
      if (this.brackets.pop() !== op) throw new PySyntaxError(`unmatched '${op}'`);
    }
    this.tokens.push({ kind: "op", text: op });
    this.pos += op.length;
  }

  private string(): void {
    const m = sticky(STRING_START, this.text, this.pos) as RegExpExecArray;
    const quote = m[1] as string;
    const prefix = m[0].slice(0, -quote.length).toLowerCase();
    this.pos += m[0].length;
    const raw = prefix.includes("r");
    const bytes = prefix.includes("b");
    let value = "";
    let literal = !prefix.includes("f");
    for (;;) {
      if (this.pos >= this.text.length) throw new PySyntaxError("unterminated string");
      if (this.text.startsWith(quote, this.pos)) break;
      const c = this.text[this.pos] as string;
      if (quote.length === 1 && (c === "\n" || c === "\r")) throw new PySyntaxError("unterminated string");
      if (c === "\\") {
        const unescaped = raw ? this.rawEscape() : this.escape(bytes);
        if (unescaped === undefined) literal = false;
        else value += unescaped;
        continue;
      }
      if (bytes && c > "\x7f") throw new PySyntaxError("bytes can only contain ASCII characters");
      value += c;
      this.pos++;
    }
    this.pos += quote.length;
    this.tokens.push({ kind: "string", value, bytes, literal });
  }

  /** In a raw string a backslash stays, and keeps the next character (a quote) from ending the string. */
  private rawEscape(): string {
    const pair = this.text.slice(this.pos, this.pos + 2);
    this.pos += pair.length;
    return pair;
  }

  /** One escape sequence; undefined for `\N{...}`, which needs Unicode's name table. */
  private escape(bytes: boolean): string | undefined {
    const next = this.text[this.pos + 1] ?? "";
    this.pos += 2;
    if (next === "\n") return "";
    if (next === "\r") {
      if (this.text[this.pos] === "\n") this.pos++;
      return "";
    }
    if (Object.hasOwn(SIMPLE_ESCAPES, next)) return SIMPLE_ESCAPES[next];
    const octal = /^[0-7]{1,3}/.exec(this.text.slice(this.pos - 1, this.pos + 2));
    if (octal) {
      this.pos += octal[0].length - 1;
      return String.fromCodePoint(Number.parseInt(octal[0], 8) & (bytes ? 0xff : 0x1ff));
    }
    const width = next === "x" ? 2 : bytes ? 0 : next === "u" ? 4 : next === "U" ? 8 : 0;
    if (width > 0) return this.hexEscape(width);
    if (next === "N" && !bytes) return undefined;
    return `\\${next}`;
  }

  private hexEscape(width: number): string {
    const hex = this.text.slice(this.pos, this.pos + width);
    const code = Number.parseInt(hex, 16);
    if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== width || code > 0x10ffff)
      throw new PySyntaxError("truncated escape");
    this.pos += width;
    return String.fromCodePoint(code);
  }
}

const COMPOUND_KEYWORDS = new Set([
  "class",
  "def",
  "if",
  "elif",
  "else",
  "for",
  "while",
  "with",
  "try",
  "except",
  "finally",
  "async",
]);

function isOp(token: PyToken | undefined, text: string): boolean {
  return token?.kind === "op" && token.text === text;
}

/** Indices of the tokens that are `op` outside any bracket. */
function topLevelIndices(tokens: readonly PyToken[], op: string): number[] {
  const found: number[] = [];
  let depth = 0;
  tokens.forEach((token, i) => {
    if (token.kind !== "op") return;
    if (token.text in CLOSERS) depth++;
    else if (token.text === ")" || token.text === "]" || token.text === "}") depth--;
    else if (depth === 0 && token.text === op) found.push(i);
  });
  return found;
}

function splitAt(tokens: PyToken[], op: string): PyToken[][] {
  const parts: PyToken[][] = [];
  let start = 0;
  for (const i of topLevelIndices(tokens, op)) {
    parts.push(tokens.slice(start, i));
    start = i + 1;
  }
  parts.push(tokens.slice(start));
  return parts.filter((part) => part.length > 0);
}

/** The statements of a block of lines at `indent`; nested blocks become bodies. */
function parseBlock(lines: readonly LogicalLine[], start: number, indent: number): [PyStatement[], number] {
  const statements: PyStatement[] = [];
  let i = start;
  while (i < lines.length && (lines[i] as LogicalLine).indent >= indent) {
    const line = lines[i] as LogicalLine;
    if (line.indent > indent) throw new PySyntaxError("unexpected indent");
    i++;
    const first = line.tokens[0];
    const compound = (first?.kind === "name" && COMPOUND_KEYWORDS.has(first.text)) || isOp(line.tokens.at(-1), ":");
    if (!compound) {
      for (const tokens of splitAt(line.tokens, ";")) statements.push({ tokens });
      continue;
    }
    const colon = topLevelIndices(line.tokens, ":")[0] ?? line.tokens.length;
    const header = line.tokens.slice(0, colon);
    const inline = line.tokens.slice(colon + 1);
    if (inline.length > 0) {
      statements.push({ tokens: header, body: splitAt(inline, ";").map((tokens) => ({ tokens })) });
      continue;
    }
    const next = lines[i];
    if (next === undefined || next.indent <= indent) throw new PySyntaxError("expected an indented block");
    const [body, end] = parseBlock(lines, i, next.indent);
    statements.push({ tokens: header, body });
    i = end;
  }
  return [statements, i];
}

function parsePython(text: string, path: string): Mapping {
  let statements: PyStatement[];
  try {
    const lines = new PyTokenizer(text).run();
    const [parsed, end] = parseBlock(lines, 0, lines[0]?.indent ?? 0);
    if (end < lines.length || (lines[0]?.indent ?? 0) !== 0) throw new PySyntaxError("unexpected indent");
    statements = parsed;
  } catch (err) {
    if (err instanceof PySyntaxError) throw corrupted(path, "Python", err);
    throw err;
  }
  return collectAssignments(statements, false);
}

/**
 * What DVC's `_ast_tree_to_dict` keeps: single-target assignments of literals (to `NAME`, or to
 * `self.NAME`; only the latter inside `__init__`), classes as mappings, `__init__` bodies merged in.
 */
function collectAssignments(statements: readonly PyStatement[], onlySelf: boolean): Mapping {
  const result: Mapping = {};
  for (const { tokens, body } of statements) {
    const [first, second] = tokens;
    if (body !== undefined) {
      if (first?.kind !== "name" || second?.kind !== "name") continue;
      if (first.text === "class") setKey(result, second.text, collectAssignments(body, false));
      else if (first.text === "def" && second.text === "__init__")
        for (const [k, v] of Object.entries(collectAssignments(body, true))) setKey(result, k, v);
      continue;
    }
    const assignment = assignmentOf(tokens, onlySelf);
    if (assignment === undefined) continue;
    const [name, valueTokens] = assignment;
    try {
      const value = new LiteralReader(valueTokens).read();
      setKey(result, name, value.value);
      if (value.unsupported) markUnsupported(result, name, value.unsupported);
    } catch (err) {
      if (!(err instanceof NotALiteral)) throw err;
    }
  }
  return result;
}

/** The target name and value tokens of `NAME = v`, `NAME: T = v` or `self.NAME = v`. */
function assignmentOf(tokens: PyToken[], onlySelf: boolean): [string, PyToken[]] | undefined {
  const equals = topLevelIndices(tokens, "=");
  const colon = topLevelIndices(tokens, ":")[0];
  const annotated = colon !== undefined && (equals[0] === undefined || colon < equals[0]);
  if (annotated ? equals.length === 0 : equals.length !== 1) return undefined;
  const target = tokens.slice(0, annotated ? colon : equals[0]);
  const value = tokens.slice((equals[0] as number) + 1);
  const [a, dot, attr] = target;
  if (target.length === 1 && a?.kind === "name" && !onlySelf) return [a.text, value];
  if (target.length === 3 && a?.kind === "name" && a.text === "self" && isOp(dot, ".") && attr?.kind === "name")
    return [attr.text, value];
  return undefined;
}

interface Literal {
  value: ParamValue;
  /** The Python type when it is one DVC's context refuses and the value is only its text (`complex`). */
  unsupported?: string;
}

/** `ast.literal_eval` over tokens: numbers, strings, True/False/None, lists, tuples, dicts, sets. */
class LiteralReader {
  private pos = 0;

  constructor(private readonly tokens: readonly PyToken[]) {}

  read(): Literal {
    const literal = this.sequence(undefined);
    if (this.pos < this.tokens.length) throw new NotALiteral();
    return literal;
  }

  private peek(): PyToken | undefined {
    return this.tokens[this.pos];
  }

  private takeOp(text: string): boolean {
    if (!isOp(this.peek(), text)) return false;
    this.pos++;
    return true;
  }

  /** Items separated by commas up to `close` (or the end); a comma makes a bare tuple. */
  private sequence(close: string | undefined): Literal {
    const items: Literal[] = [];
    let comma = false;
    while (this.pos < this.tokens.length && !isOp(this.peek(), close ?? "")) {
      items.push(this.expression());
      if (!this.takeOp(",")) break;
      comma = true;
    }
    if (items.length === 1 && !comma) return items[0] as Literal;
    if (items.length === 0 && close === undefined) throw new NotALiteral();
    return collection(items, "tuple");
  }

  private expression(): Literal {
    const token = this.peek();
    if (isOp(token, "-") || isOp(token, "+")) return this.signedNumber();
    const atom = this.atom();
    return this.complexTail(atom);
  }

  private signedNumber(): Literal {
    const negative = isOp(this.peek(), "-");
    this.pos++;
    const operand = this.atom();
    const value = operand.value;
    if (operand.unsupported === "complex")
      return this.complexTail({ ...operand, value: `${negative ? "-" : ""}${value}` });
    if (typeof value === "number") return this.complexTail({ value: negative ? -value : value });
    if (typeof value === "bigint") return this.complexTail({ value: intValue(negative ? -value : value) });
    if (value instanceof PyFloat)
      return this.complexTail({ value: new PyFloat(negative ? -value.value : value.value) });
    throw new NotALiteral();
  }

  /** `1 + 2j`: a real number plus or minus an imaginary one. */
  private complexTail(real: Literal): Literal {
    const op = this.peek();
    if (!(isOp(op, "+") || isOp(op, "-"))) return real;
    this.pos++;
    const imaginary = this.atom();
    if (imaginary.unsupported !== "complex" || real.unsupported !== undefined) throw new NotALiteral();
    return {
      value: `(${pyStr(real.value)}${(op as { text: string }).text}${imaginary.value})`,
      unsupported: "complex",
    };
  }

  private atom(): Literal {
    const token = this.tokens[this.pos++];
    if (token === undefined) throw new NotALiteral();
    switch (token.kind) {
      case "number":
        return numberLiteral(token.text);
      case "string":
        return this.strings(token);
      case "name":
        return this.constant(token.text);
      case "op":
        return this.bracketed(token.text);
    }
  }

  /** Adjacent string literals, concatenated as Python does. */
  private strings(first: PyToken & { kind: "string" }): Literal {
    let value = first.value;
    let literal = first.literal;
    for (let next = this.peek(); next?.kind === "string"; next = this.peek()) {
      if (next.bytes !== first.bytes) throw new NotALiteral();
      value += next.value;
      literal &&= next.literal;
      this.pos++;
    }
    if (!literal) throw new NotALiteral();
    return { value };
  }

  private constant(name: string): Literal {
    if (name === "True") return { value: true };
    if (name === "False") return { value: false };
    if (name === "None") return { value: null };
    if (name === "set" && this.takeOp("(") && this.takeOp(")")) return collection([], "set");
    throw new NotALiteral();
  }

  private bracketed(open: string): Literal {
    if (open === "(") {
      const inner = this.sequence(")");
      if (!this.takeOp(")")) throw new NotALiteral();
      return inner;
    }
    if (open === "[") {
      const items = this.items("]");
      return collection(items, "list");
    }
    if (open === "{") return this.braces();
    throw new NotALiteral();
  }

  private items(close: string): Literal[] {
    const items: Literal[] = [];
    while (!this.takeOp(close)) {
      items.push(this.expression());
      if (!this.takeOp(",") && !isOp(this.peek(), close)) throw new NotALiteral();
    }
    return items;
  }

  /** `{}` and `{k: v}` are dicts, `{a, b}` a set. */
  private braces(): Literal {
    if (this.takeOp("}")) return dictLiteral([]);
    const first = this.expression();
    if (!this.takeOp(":")) {
      const rest: Literal[] = [];
      if (this.takeOp(",")) rest.push(...this.items("}"));
      else this.expectOp("}");
      return collection([first, ...rest], "set");
    }
    const pairs: [Literal, Literal][] = [[first, this.expression()]];
    while (this.takeOp(",") && !isOp(this.peek(), "}")) {
      const key = this.expression();
      this.expectOp(":");
      pairs.push([key, this.expression()]);
    }
    this.expectOp("}");
    return dictLiteral(pairs);
  }

  private expectOp(text: string): void {
    if (!this.takeOp(text)) throw new NotALiteral();
  }
}

function numberLiteral(text: string): Literal {
  const body = text.replaceAll("_", "");
  if (/[jJ]$/.test(body)) return { value: `${body.slice(0, -1)}j`, unsupported: "complex" };
  if (/^0[xXoObB]/.test(body)) return { value: intValue(BigInt(body.toLowerCase())) };
  if (/[.eE]/.test(body)) return { value: new PyFloat(Number(body)) };
  if (/^0+[1-9]/.test(body)) throw new NotALiteral(); // `01` is a syntax error in Python 3
  return { value: intValue(BigInt(body)) };
}

/** A list, tuple or set; sets drop the items equal to an earlier one. */
function collection(items: readonly Literal[], kind: "list" | "tuple" | "set"): Literal {
  const list: ParamValue[] = [];
  for (const item of items) {
    if (kind === "set" && list.some((existing) => pyEquals(existing, item.value))) continue;
    if (item.unsupported) markUnsupported(list, list.length, item.unsupported);
    list.push(item.value);
  }
  if (kind !== "list") PY_KIND.set(list, kind);
  return { value: list };
}

function dictLiteral(pairs: readonly [Literal, Literal][]): Literal {
  const mapping: Mapping = {};
  for (const [key, value] of pairs) {
    if (Array.isArray(key.value) && !isPyTuple(key.value)) throw new NotALiteral(); // unhashable
    const name = typeof key.value === "string" ? key.value : pyStr(key.value);
    if (typeof key.value !== "string") markNonStringKey(mapping, name);
    setKey(mapping, name, value.value);
    if (value.unsupported) markUnsupported(mapping, name, value.unsupported);
  }
  return { value: mapping };
}

// ---------------------------------------------------------------------------------------------
// Python semantics

/** The number behind an int, float or bool (Python's bool is an int). */
function numeric(value: ParamValue): number | bigint | undefined {
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value === "number" || typeof value === "bigint") return value;
  if (value instanceof PyFloat) return value.value;
  return undefined;
}

function numbersEqual(a: number | bigint, b: number | bigint): boolean {
  if (typeof a === typeof b) return a === b;
  const [n, big] = (typeof a === "number" ? [a, b] : [b, a]) as [number, bigint];
  return Number.isInteger(n) && BigInt(n) === big;
}

/**
 * Python's `==` on params values: `1 == 1.0 == True`, `0 == False`, `"1" != 1`, mappings
 * unordered, lists ordered, and a tuple equal to the list with the same items (spec §4.2).
 */
export function pyEquals(a: ParamValue, b: ParamValue): boolean {
  const x = numeric(a);
  const y = numeric(b);
  if (x !== undefined || y !== undefined) return x !== undefined && y !== undefined && numbersEqual(x, y);
  if (a === null || b === null || typeof a === "string" || typeof b === "string") return a === b;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => pyEquals(item, b[i] as ParamValue));
  }
  const left = a as Mapping;
  const right = b as Mapping;
  const keys = Object.keys(left);
  if (keys.length !== Object.keys(right).length) return false;
  return keys.every((key) => Object.hasOwn(right, key) && pyEquals(left[key] as ParamValue, right[key] as ParamValue));
}

/**
 * Python's `repr()` of a float: the shortest digits that read back the same, in exponent form when
 * the exponent is below -4 or at least 16 (`1e-05`, `1.5e+20`), else with a point (`3.0`); `inf`, `nan`.
 */
export function pyRepr(value: number): string {
  if (Number.isNaN(value)) return "nan";
  if (!Number.isFinite(value)) return value > 0 ? "inf" : "-inf";
  if (Object.is(value, -0)) return "-0.0";
  const [mantissa = "0", expText = "0"] = value.toExponential().split("e");
  const exp = Number(expText);
  const sign = mantissa.startsWith("-") ? "-" : "";
  const digits = mantissa.replace("-", "").replace(".", "");
  if (exp < -4 || exp >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${m}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  }
  if (exp < 0) return `${sign}0.${"0".repeat(-exp - 1)}${digits}`;
  if (digits.length > exp + 1) return `${sign}${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
  return `${sign}${digits}${"0".repeat(exp + 1 - digits.length)}.0`;
}

/** Python's `repr()` of a str: single quotes unless the text has `'` and no `"`; unprintables escaped. */
function reprString(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of text) {
    const code = ch.codePointAt(0) as number;
    if (ch === quote || ch === "\\") out += `\\${ch}`;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (ch !== " " && /[\p{C}\p{Z}]/u.test(ch))
      out +=
        code < 0x100
          ? `\\x${code.toString(16).padStart(2, "0")}`
          : code < 0x10000
            ? `\\u${code.toString(16).padStart(4, "0")}`
            : `\\U${code.toString(16).padStart(8, "0")}`;
    else out += ch;
  }
  return out + quote;
}

function pyReprValue(value: ParamValue): string {
  if (value === null) return "None";
  if (typeof value === "boolean") return value ? "True" : "False";
  if (typeof value === "bigint") return String(value);
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : pyRepr(value);
  if (value instanceof PyFloat) return pyRepr(value.value);
  if (typeof value === "string") return reprString(value);
  if (Array.isArray(value)) {
    const items = value.map(pyReprValue);
    const kind = PY_KIND.get(value);
    if (kind === "tuple") return items.length === 1 ? `(${items[0]},)` : `(${items.join(", ")})`;
    if (kind === "set") return items.length === 0 ? "set()" : `{${items.join(", ")}}`;
    return `[${items.join(", ")}]`;
  }
  const entries = Object.entries(value).map(
    ([k, v]) => `${isNonStringKey(value, k) ? k : reprString(k)}: ${pyReprValue(v)}`,
  );
  return `{${entries.join(", ")}}`;
}

/** Python's `str()`: `True`, `None`, `0.01`, `1.0`, `1e-05`, `[1, 2]`, `['x', 'y']`, `{'a': 1}`; a str as is. */
export function pyStr(value: ParamValue): string {
  return typeof value === "string" ? value : pyReprValue(value);
}

/**
 * Python's `json.dumps(value)` with its defaults (`", "` and `": "`, `ensure_ascii`, NaN and
 * Infinity allowed), floats in `repr` form; `sortKeys` sorts mapping keys at every level by code point.
 */
export function pythonJson(value: ParamValue, options: { sortKeys?: boolean } = {}): string {
  if (value === null) return "null";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "bigint") return String(value);
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : jsonFloat(value);
  if (value instanceof PyFloat) return jsonFloat(value.value);
  if (typeof value === "string") return `"${escapeJson(value)}"`;
  if (Array.isArray(value)) return `[${value.map((item) => pythonJson(item, options)).join(", ")}]`;
  const entries = Object.entries(value);
  if (options.sortKeys) entries.sort(([a], [b]) => compareCodePoints(a, b));
  return `{${entries.map(([k, v]) => `"${escapeJson(k)}": ${pythonJson(v, options)}`).join(", ")}}`;
}

function jsonFloat(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (!Number.isFinite(value)) return value > 0 ? "Infinity" : "-Infinity";
  return pyRepr(value);
}

/** Python's `int()` of a string (`01`, ` 2`, `-1`, `1_0`), or undefined where it raises. */
export function pythonInt(segment: string): number | undefined {
  return /^\s*[-+]?[0-9]+(?:_[0-9]+)*\s*$/.test(segment) ? Number(segment.replaceAll("_", "")) : undefined;
}

/**
 * `dpath.get(data, key, separator=".")`: mappings by key, lists by integer index (negative from the
 * end); undefined when missing. The key `a.b` never matches a literal key `"a.b"`.
 */
export function getDotted(data: ParamValue, key: string): ParamValue | undefined {
  if (key === "") return data;
  let current: ParamValue = data;
  for (const segment of key.split(".")) {
    if (Array.isArray(current)) {
      const index = pythonInt(segment);
      if (index === undefined || index >= current.length || index < -current.length) return undefined;
      current = current.at(index) as ParamValue;
    } else if (isParamsMapping(current) && Object.hasOwn(current, segment)) {
      current = current[segment] as ParamValue;
    } else return undefined;
  }
  return current;
}
