/**
 * `dvc.yaml` as DVC 3 loads it (pipelines spec §1-§2): validated as written, then parametrized
 * (the context of `params.yaml` and `vars`, `${...}` interpolation, `foreach`, `matrix`) into
 * stages with DVC's names, their paths resolved from the project root and their params merged.
 */
import { posix } from "node:path";
import {
  entriesInFileOrder,
  isNonStringKey,
  isParamsMapping,
  parseYaml,
  parseYamlDocument,
  pyStr,
  pythonInt,
  pythonTypeName,
  readParamsData,
  unsupportedType,
} from "./params-file.js";
import {
  anyOf,
  anything,
  bool,
  type Check,
  dict,
  isMapping,
  list,
  listOf,
  mapOf,
  nullable,
  type ParamsDep,
  type ParamValue,
  type PipelineFile,
  PipelineFormatError,
  type PipelineReader,
  type PipelineStage,
  record,
  SchemaViolation,
  type StageOut,
  str,
  validationError,
} from "./pipeline.js";
import { isExternalPath, setKey } from "./pointer.js";
import { MAX_HANDWRITTEN_YAML_BYTES } from "./yaml-limits.js";

/** The `[parsing]` section of `.dvc/config`: how a mapping interpolated into `cmd` becomes flags. */
export interface ParsingOptions {
  /** `store_true` (default): `false` gives nothing; `boolean_optional`: `--no-<key>`. */
  bool?: "store_true" | "boolean_optional";
  /** `nargs` (default): `--k a b`; `append`: `--k a --k b`. */
  list?: "nargs" | "append";
}

export interface PipelineLoadOptions {
  parsing?: ParsingOptions;
}

type Mapping = { [key: string]: ParamValue };

const DEFAULT_PARAMS_FILE = "params.yaml";

// ---------------------------------------------------------------------------------------------
// Schema (`dvc/schema.py::MULTI_STAGE_SCHEMA`), checked before any interpolation

const ANNOTATIONS = { desc: str, type: str, labels: listOf(str), meta: anything };
const OUT_FLAGS = { ...ANNOTATIONS, cache: bool, persist: bool, checkpoint: bool, remote: str, push: bool };
const PLOT_PROPS = { template: str, x: str, y: str, x_label: str, y_label: str, title: str, header: bool };
const PLOT_FLAGS = record({ ...OUT_FLAGS, ...PLOT_PROPS });
const VARS = listOf(anyOf(dict, str));

const STAGE_DEFINITION = record(
  {
    matrix: mapOf(anyOf(str, list)),
    cmd: anyOf(str, list),
    wdir: str,
    deps: listOf(str),
    params: listOf(anyOf(str, dict)),
    vars: VARS,
    frozen: bool,
    meta: anything,
    desc: str,
    always_changed: bool,
    outs: listOf(anyOf(str, mapOf(record(OUT_FLAGS)))),
    metrics: listOf(anyOf(str, mapOf(record(OUT_FLAGS)))),
    plots: listOf(anyOf(str, mapOf(anyOf(PLOT_FLAGS, listOf(PLOT_FLAGS))))),
  },
  ["cmd"],
);
const FOREACH_IN = record({ foreach: anyOf(dict, list, str), do: STAGE_DEFINITION }, ["foreach", "do"]);

/** A stage with `foreach` or `do` follows the `foreach`/`do` schema, any other the plain one. */
const STAGE: Check = (value, at, parent) => {
  const generated = isMapping(value) && ("foreach" in value || "do" in value);
  (generated ? FOREACH_IN : STAGE_DEFINITION)(value, at, parent);
};

const PLOT_DEFINITION = record({
  x: anyOf(str, mapOf(str)),
  y: anyOf(str, listOf(str), mapOf(anyOf(str, listOf(str)))),
  x_label: str,
  y_label: str,
  title: str,
  template: str,
});
const ARTIFACT = record({ path: str, ...ANNOTATIONS }, ["path"]);

const PIPELINE_FILE = record({
  datasets: anything,
  plots: listOf(anyOf(str, mapOf(nullable(PLOT_DEFINITION)))),
  stages: mapOf(STAGE),
  vars: VARS,
  params: listOf(str),
  metrics: listOf(str),
  artifacts: mapOf(ARTIFACT),
});

// ---------------------------------------------------------------------------------------------
// Failures, worded as DVC's

type FailureKind = "parse" | "missing" | "merge" | "loaded" | "load" | "reserved";

/** A failure during resolution, before DVC's "failed to parse <where> in '<file>':" preamble. */
class ResolveFailure extends Error {
  constructor(
    message: string,
    readonly kind: FailureKind,
  ) {
    super(message);
  }
}

/** DVC puts parse, redefinition and already-loaded failures on a line of their own. */
const OWN_LINE: ReadonlySet<FailureKind> = new Set(["parse", "merge", "loaded"]);

// ---------------------------------------------------------------------------------------------
// The context: values with where they came from (`dvc/parsing/context.py`)

interface Meta {
  /** The params file (posix from the root) or `vars[i]` / `<stage>.vars[i]`; none for generated values. */
  source?: string;
  path: readonly string[];
  /** Defined in `dvc.yaml` itself or generated: never reported as a params key used. */
  local: boolean;
}

function childMeta(meta: Meta, key: string | number): Meta {
  return { ...meta, path: [...meta.path, String(key)] };
}

abstract class CtxNode {
  constructor(readonly meta: Meta) {}
  abstract get value(): ParamValue;
}

class CtxValue extends CtxNode {
  constructor(
    readonly scalar: ParamValue,
    meta: Meta,
  ) {
    super(meta);
  }
  get value(): ParamValue {
    return this.scalar;
  }
}

class CtxList extends CtxNode {
  constructor(
    readonly items: CtxNode[],
    meta: Meta,
  ) {
    super(meta);
  }
  get value(): ParamValue {
    return this.items.map((item) => item.value);
  }
}

class CtxDict extends CtxNode {
  constructor(
    readonly entries: Map<string, CtxNode>,
    meta: Meta,
  ) {
    super(meta);
  }
  get value(): ParamValue {
    const mapping: Mapping = {};
    for (const [key, node] of this.entries) setKey(mapping, key, node.value);
    return mapping;
  }
  /** A copy whose mappings can be merged into without touching this one; lists and values are shared. */
  clone(): CtxDict {
    const entries = new Map<string, CtxNode>();
    for (const [key, node] of this.entries) entries.set(key, node instanceof CtxDict ? node.clone() : node);
    return new CtxDict(entries, this.meta);
  }
}

/** A value of the iteration of `foreach`/`matrix`: a context node (from `${...}`), or a value written in `dvc.yaml`. */
type Item = CtxNode | ParamValue;

const LOCAL: Meta = { path: [], local: true };

/** A value as a context node; refuses the types DVC's context refuses (`date`, `tuple`...). */
function toNode(value: Item, meta: Meta, file: string, container?: object, key?: string | number): CtxNode {
  if (value instanceof CtxNode) return value;
  const unsupported = container === undefined || key === undefined ? undefined : unsupportedType(container, key);
  if (unsupported !== undefined)
    throw new PipelineFormatError(
      file,
      `Unsupported value of type '${unsupported}' in '${meta.source ?? "<local>"}:${meta.path.join(".")}'`,
    );
  if (Array.isArray(value))
    return new CtxList(
      value.map((item, i) => toNode(item, childMeta(meta, i), file, value, i)),
      meta,
    );
  if (isParamsMapping(value)) {
    const entries = new Map<string, CtxNode>();
    for (const [k, v] of Object.entries(value))
      if (!isNonStringKey(value, k)) entries.set(k, toNode(v, childMeta(meta, k), file, value, k));
    return new CtxDict(entries, meta);
  }
  return new CtxValue(value, meta);
}

/** Params keys read through `${...}`: file → dotted keys. */
type Tracked = Map<string, Set<string>>;

function addTracked(tracked: Tracked, file: string, key: string): void {
  const keys = tracked.get(file) ?? new Set<string>();
  tracked.set(file, keys);
  keys.add(key);
}

class Context {
  constructor(
    readonly root: CtxDict,
    /** Params files loaded: path → the keys loaded, or null for the whole file. */
    readonly imports: Map<string, string[] | null> = new Map(),
    /** `item` and `key` while a `foreach`/`matrix` stage is generated. */
    readonly reserved: ReadonlySet<string> = new Set(),
  ) {}

  static empty(): Context {
    return new Context(new CtxDict(new Map(), LOCAL));
  }

  clone(): Context {
    const imports = new Map([...this.imports].map(([path, keys]) => [path, keys && [...keys]] as const));
    return new Context(this.root.clone(), imports, this.reserved);
  }

  /** This context with `entries` set on top and reserved (DVC's `set_temporarily(..., reserve=True)`). */
  withReserved(entries: ReadonlyMap<string, CtxNode>): Context {
    const root = new CtxDict(new Map([...this.root.entries, ...entries]), this.root.meta);
    return new Context(root, this.imports, new Set([...this.reserved, ...entries.keys()]));
  }

  /** Merge loaded values in; an existing leaf cannot be set again. `item` names the vars entry for messages. */
  mergeUpdate(update: CtxDict, item?: string): void {
    const reserved = [...this.reserved].filter((key) => update.entries.has(key));
    if (reserved.length > 0) {
      const keys = reserved.length === 1 ? reserved[0] : `${reserved.slice(0, -1).join(", ")} and ${reserved.at(-1)}`;
      const where = item === undefined ? "" : ` in '${item}'`;
      throw new ResolveFailure(
        `attempted to modify reserved key${reserved.length > 1 ? "s" : ""} ${keys}${where}`,
        "reserved",
      );
    }
    mergeInto(this.root, update);
  }

  /** The node at `expr` (`a.b`, `a.0`, `a[0]`); "Could not find" when absent. */
  select(expr: string, tracked?: Tracked): CtxNode {
    let node: CtxNode | undefined = this.root;
    for (const raw of expr.replaceAll("[", ".").replaceAll("]", "").split(".")) {
      const part = raw.trim();
      if (node instanceof CtxDict) node = node.entries.get(part);
      else if (node instanceof CtxList) {
        const index = pythonInt(part);
        node = index === undefined ? undefined : node.items.at(index);
      } else node = undefined;
      if (node === undefined) throw new ResolveFailure(`Could not find '${expr}'`, "missing");
    }
    if (tracked !== undefined && !node.meta.local && !(node instanceof CtxDict) && node.meta.source)
      addTracked(tracked, node.meta.source, node.meta.path.join("."));
    return node;
  }
}

function mergeInto(into: CtxDict, update: CtxDict): void {
  for (const [key, node] of update.entries) {
    const existing = into.entries.get(key);
    if (existing instanceof CtxDict && node instanceof CtxDict) mergeInto(existing, node);
    else if (existing !== undefined)
      throw new ResolveFailure(
        `cannot redefine '${node.meta.path.join(".")}' from '${node.meta.source ?? "None"}' as it already exists in '${existing.meta.source ?? "None"}'`,
        "merge",
      );
    else into.entries.set(key, node);
  }
}

// ---------------------------------------------------------------------------------------------
// `${...}`: the template, the expression grammar, and DVC's `to_str`

const TEMPLATE = /(?<!\\)\$\{([^\n]*?)\}/g;

function templates(text: string): RegExpExecArray[] {
  return [...text.matchAll(TEMPLATE)];
}

const WORD = /[^.[\]]+/y;

/**
 * The key an expression names (`dict[3].foo` → `dict.3.foo`): `word ("." word | "[" word "]")*`,
 * spaces kept (they are stripped at lookup). A parse failure carries DVC's caret diagram.
 */
function parseExpression(inner: string): string {
  let pos = 0;
  const word = (): string | undefined => {
    WORD.lastIndex = pos;
    const found = WORD.exec(inner);
    if (found !== null) pos = WORD.lastIndex;
    return found?.[0];
  };
  const first = word();
  if (first === undefined) throw expressionError(inner, pos, "Expected !W:(.[])");
  const parts = [first];
  while (pos < inner.length) {
    const start = pos;
    const opener = inner[pos++];
    let next = opener === "." || opener === "[" ? word() : undefined;
    if (opener === "[" && next !== undefined && inner[pos++] !== "]") next = undefined;
    if (next === undefined) {
      pos = start;
      break;
    }
    parts.push(next);
  }
  if (pos < inner.length) throw expressionError(inner, pos, "Expected end of text");
  return parts.join(".");
}

function expressionError(inner: string, pos: number, expected: string): ResolveFailure {
  const embraced = `\${${inner}}`;
  const at = pos + 2;
  return new ResolveFailure(
    `${embraced}\n${" ".repeat(at)}^\nParseException: ${expected}, found '${embraced[at]}'  (at char ${at}), (line:1, col:${at + 1})`,
    "parse",
  );
}

/** Python's `shlex.quote`. */
function shellQuote(text: string): string {
  if (text === "") return "''";
  return /[^\w@%+=:,./-]/.test(text) ? `'${text.replaceAll("'", `'"'"'`)}'` : text;
}

/** Nested mappings flattened to dotted keys; empty mappings vanish (`flatten_dict`). */
function flattenMapping(mapping: Mapping, prefix = ""): [string, ParamValue][] {
  return Object.entries(mapping).flatMap(([key, value]): [string, ParamValue][] =>
    isParamsMapping(value) ? flattenMapping(value, `${prefix}${key}.`) : [[`${prefix}${key}`, value]],
  );
}

/** A mapping in `cmd` as command-line flags (spec §2.3). */
function cliFlags(mapping: Mapping, parsing: ParsingOptions): string {
  const pieces: string[] = [];
  for (const [key, value] of flattenMapping(mapping)) {
    if (typeof value === "boolean") {
      if (value) pieces.push(`--${key}`);
      else if (parsing.bool === "boolean_optional") pieces.push(`--no-${key}`);
    } else if (typeof value === "string") pieces.push(`--${key} ${shellQuote(value)}`);
    else if (Array.isArray(value)) pieces.push(...listFlags(key, value, parsing));
    else pieces.push(`--${key} ${pyStr(value)}`);
  }
  return pieces.join(" ");
}

function listFlags(key: string, items: readonly ParamValue[], parsing: ParsingOptions): string[] {
  return items.map((item, i) => {
    if (Array.isArray(item) || isParamsMapping(item))
      throw new ResolveFailure(`Cannot interpolate nested iterable in '${key}'`, "parse");
    const text = typeof item === "string" ? shellQuote(item) : pyStr(item);
    return parsing.list === "append" || i === 0 ? `--${key} ${text}` : text;
  });
}

/** DVC's `to_str`: `true`/`false`, Python's `str()` (`None`, `1e-05`), and a mapping as flags. */
function toStr(value: ParamValue, parsing: ParsingOptions): string {
  if (typeof value === "boolean") return value ? "true" : "false";
  if (isParamsMapping(value)) return cliFlags(value, parsing);
  return pyStr(value);
}

/** Python's `str()` of an iteration value: a context node prints as Python prints its value (`True`). */
function itemStr(item: Item, parsing: ParsingOptions): string {
  return item instanceof CtxNode ? pyStr(item.value) : toStr(item, parsing);
}

/** A mapping written in `dvc.yaml` (not a context node). */
function isPlainMapping(item: Item): item is Mapping {
  return !(item instanceof CtxNode) && isParamsMapping(item);
}

function isCollection(item: Item): boolean {
  return item instanceof CtxDict || item instanceof CtxList || Array.isArray(item) || isPlainMapping(item);
}

function typeNameOf(item: Item): string {
  return pythonTypeName(item instanceof CtxNode ? item.value : item);
}

/** Outside `foreach`/`matrix` only scalars interpolate, and a mapping into `cmd` (spec §2.3). */
function checkInterpolatable(value: ParamValue, key: string | undefined): void {
  if (key === undefined || !(Array.isArray(value) || isParamsMapping(value))) return;
  if (isParamsMapping(value) && key === "cmd") return;
  throw new ResolveFailure(`Cannot interpolate data of type '${pythonTypeName(value)}'`, "parse");
}

interface ResolveOptions {
  /** The definition key being resolved (`cmd`, `outs`...); undefined for `foreach`/`matrix` data and top-level sections. */
  key?: string;
  /** Expressions were checked already (generated stages); look them up as written. */
  skipChecks?: boolean;
  tracked?: Tracked;
}

class Interpolator {
  constructor(
    private readonly context: Context,
    private readonly parsing: ParsingOptions,
  ) {}

  /** Every string of `data` (mapping keys too) resolved; values keep their type for exact `${...}`. */
  resolve(data: ParamValue, options: ResolveOptions): ParamValue {
    return this.walk(data, options, (text) => {
      const resolved = this.resolveString(text, options);
      return resolved instanceof CtxNode ? resolved.value : resolved;
    }) as ParamValue;
  }

  /** Like `resolve`, but an exact `${...}` gives the context node itself (for `foreach` and `matrix`). */
  resolveItems(data: ParamValue): Item {
    return this.walk(data, {}, (text) => this.resolveString(text, {}, true));
  }

  private walk(data: ParamValue, options: ResolveOptions, onString: (text: string) => Item): Item {
    if (typeof data === "string") return onString(data);
    if (Array.isArray(data)) return data.map((item) => this.walk(item, options, onString)) as ParamValue;
    if (!isParamsMapping(data)) return data;
    const mapping: Record<string, Item> = {};
    for (const [key, value] of Object.entries(data)) {
      const resolvedKey = this.resolve(key, options);
      setKey(
        mapping,
        typeof resolvedKey === "string" ? resolvedKey : pyStr(resolvedKey),
        this.walk(value, options, onString),
      );
    }
    return mapping as ParamValue;
  }

  resolveString(text: string, options: ResolveOptions, keepNode = false): ParamValue | CtxNode {
    const matches = templates(text);
    const expression = (inner: string) => (options.skipChecks ? inner : parseExpression(inner));
    const only = matches[0];
    if (matches.length === 1 && only !== undefined && only[0] === text) {
      const node = this.context.select(expression(only[1] as string), options.tracked);
      checkInterpolatable(node.value, options.key);
      return keepNode ? node : node.value;
    }
    let out = "";
    let index = 0;
    for (const match of matches) {
      const value = this.context.select(expression(match[1] as string), options.tracked).value;
      checkInterpolatable(value, options.key);
      out += text.slice(index, match.index) + toStr(value, this.parsing);
      index = match.index + match[0].length;
    }
    return (out + text.slice(index)).replaceAll("\\${", "${");
  }
}

/** Every string of a value, mapping keys included. */
function strings(data: ParamValue): string[] {
  if (typeof data === "string") return [data];
  if (Array.isArray(data)) return data.flatMap(strings);
  if (isParamsMapping(data)) return Object.entries(data).flatMap(([key, value]) => [key, ...strings(value)]);
  return [];
}

/** Parse every `${...}` of a value, for DVC's syntax check before resolving. */
function checkExpressions(data: ParamValue): void {
  for (const text of strings(data)) for (const match of templates(text)) parseExpression(match[1] as string);
}

// ---------------------------------------------------------------------------------------------
// Paths

function parentOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? "" : path.slice(0, slash);
}

/** `path` relative to `base` (both posix from the root), normalised; `""` for the root; URLs and absolute paths as they are. */
function fromRoot(base: string, path: string): string {
  if (isExternalPath(path)) return path;
  const normal = posix.normalize(posix.join(base, path)).replace(/(.)\/+$/, "$1");
  return normal === "." ? "" : normal;
}

/** A file DVC refuses as a dependency or output: a `.dvc` file or a `dvc.yaml`. */
function isDvcFile(path: string): boolean {
  return path.endsWith(".dvc") || posix.basename(path) === "dvc.yaml";
}

// ---------------------------------------------------------------------------------------------
// Definitions: plain stages, `foreach` and `matrix` groups

interface ResolvedStage {
  data: Mapping;
  tracked: Tracked;
}

/** A `foreach` or `matrix` group: the stage template, and per generated key the values it sets (`item`, `key`). */
interface Group {
  template: Mapping;
  members: Map<string, ReadonlyMap<string, CtxNode>>;
}

class PipelineLoader {
  private readonly texts = new Map<string, Promise<string | undefined>>();
  private readonly dir: string;
  private readonly parsing: ParsingOptions;
  private readonly top = Context.empty();
  private readonly groups = new Map<string, Group>();
  private readonly checkedTemplates = new Set<string>();

  constructor(
    private readonly path: string,
    private readonly reader: PipelineReader,
    options: PipelineLoadOptions,
  ) {
    this.dir = parentOf(path);
    this.parsing = options.parsing ?? {};
  }

  // --- errors

  private failure(where: string, failure: ResolveFailure): PipelineFormatError {
    const separator = OWN_LINE.has(failure.kind) ? "\n" : " ";
    return new PipelineFormatError(
      this.path,
      `failed to parse ${where} in '${this.path}':${separator}${failure.message}`,
    );
  }

  /** Run `fn`, reporting the failures of `kinds` as "failed to parse <where>". */
  private guard<T>(where: string, kinds: readonly FailureKind[], fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof ResolveFailure && kinds.includes(err.kind)) throw this.failure(where, err);
      throw err;
    }
  }

  private async guardAsync<T>(where: string, kinds: readonly FailureKind[], fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof ResolveFailure && kinds.includes(err.kind)) throw this.failure(where, err);
      throw err;
    }
  }

  private noInterpolation(data: ParamValue, where: string): void {
    if (strings(data).some((text) => templates(text).length > 0))
      throw new PipelineFormatError(
        this.path,
        `failed to parse '${where}' in '${this.path}': interpolating is not allowed`,
      );
  }

  // --- the context

  private read(path: string): Promise<string | undefined> {
    const text = this.texts.get(path) ?? this.reader.read(path);
    this.texts.set(path, text);
    return text;
  }

  /** `vars` entries (and first `params.yaml` for the top context) merged into `context`, paths relative to `wdir`. */
  private async loadVars(context: Context, vars: readonly ParamValue[], wdir: string, stage?: string): Promise<void> {
    for (const [index, item] of vars.entries()) {
      if (typeof item === "string") await this.mergeFile(context, item, wdir);
      else {
        const source = `${stage === undefined ? "" : `${stage}.`}vars[${index}]`;
        context.mergeUpdate(toNode(item, { source, path: [], local: true }, this.path) as CtxDict);
      }
    }
  }

  /** A `path` or `path:k1,k2` vars entry (`Context.merge_from`). */
  private async mergeFile(context: Context, item: string, wdir: string): Promise<void> {
    const colon = item.indexOf(":");
    const path = fromRoot(wdir, colon < 0 ? item : item.slice(0, colon));
    const keysText = colon < 0 ? "" : item.slice(colon + 1);
    const keys = keysText === "" ? null : keysText.split(",").filter((key) => key !== "");
    const imported = context.imports.get(path);
    if (imported !== undefined) {
      if (keys === null && imported === null) return; // the whole file again
      checkLoaded(imported, item, keys);
    }
    context.mergeUpdate(await this.loadFile(path, keys), item);
    if (imported === undefined) context.imports.set(path, keys);
    else if (keys !== null && imported !== null) imported.push(...keys);
  }

  private async loadFile(path: string, keys: readonly string[] | null): Promise<CtxDict> {
    const text = await this.read(path);
    if (text === undefined) throw new ResolveFailure(`'${path}' does not exist`, "load");
    const data = readParamsData(text, path);
    if (!isParamsMapping(data))
      throw new ResolveFailure(`expected a dictionary, got '${pythonTypeName(data)}' in file '${path}'`, "load");
    const meta: Meta = { source: path, path: [], local: false };
    if (keys === null || keys.length === 0) return toNode(data, meta, this.path) as CtxDict;
    const entries = new Map<string, CtxNode>();
    for (const key of keys) {
      if (!Object.hasOwn(data, key)) throw new ResolveFailure(`could not find '${key}' in '${path}'`, "load");
      entries.set(key, toNode(data[key] as ParamValue, childMeta(meta, key), this.path, data, key));
    }
    return new CtxDict(entries, meta);
  }

  /** The context of the whole file: `params.yaml` next to it if present, then `vars`. */
  async loadTopContext(vars: readonly ParamValue[]): Promise<void> {
    this.noInterpolation(vars as ParamValue, "vars");
    const defaultParams = fromRoot(this.dir, DEFAULT_PARAMS_FILE);
    await this.guardAsync("'vars'", ["merge", "loaded", "load", "reserved"], async () => {
      if ((await this.read(defaultParams)) !== undefined) await this.mergeFile(this.top, DEFAULT_PARAMS_FILE, this.dir);
      await this.loadVars(this.top, vars, this.dir);
    });
  }

  // --- stages

  /** Resolve one stage definition (`EntryDefinition.resolve_stage`). */
  private async resolveEntry(
    name: string,
    definition: Mapping,
    context: Context,
    generated: boolean,
  ): Promise<ResolvedStage> {
    if (!generated) this.checkSyntax(definition, name);
    const interpolator = new Interpolator(context, this.parsing);
    const wdir = this.guard(`'stages.${name}.wdir'`, ["parse", "missing"], () =>
      typeof definition.wdir === "string" && definition.wdir !== ""
        ? fromRoot(this.dir, toStr(interpolator.resolve(definition.wdir, {}), this.parsing))
        : this.dir,
    );
    const vars = (definition.vars ?? []) as ParamValue[];
    this.noInterpolation(vars, `stages.${name}.vars`);
    let stageContext = context;
    if (vars.length > 0) {
      stageContext = context.clone();
      await this.guardAsync(`'stages.${name}.vars'`, ["loaded"], () => this.loadVars(stageContext, vars, wdir, name));
    }
    const tracked: Tracked = new Map();
    const stageInterpolator = new Interpolator(stageContext, this.parsing);
    const data: Mapping = {};
    for (const [key, value] of Object.entries(definition)) {
      if (key === "vars") continue;
      const resolved = this.guard(`'stages.${name}.${key}'`, ["parse", "missing"], () =>
        stageInterpolator.resolve(value, { key, skipChecks: generated, tracked }),
      );
      setKey(data, key, resolved);
    }
    return { data, tracked };
  }

  /** A stage with its failures worded as DVC's (`failed to parse stage 'name'`). */
  private resolveStage(
    name: string,
    definition: Mapping,
    context: Context,
    generated: boolean,
  ): Promise<ResolvedStage> {
    return this.guardAsync(`stage '${name}'`, ["merge", "load", "reserved"], () =>
      this.resolveEntry(name, definition, context, generated),
    );
  }

  private checkSyntax(definition: Mapping, name: string): void {
    for (const [key, value] of Object.entries(definition))
      this.guard(`'stages.${name}.${key}'`, ["parse"], () => checkExpressions(value));
  }

  /** The group a definition generates stages from, if it has `matrix` or `foreach`. */
  private groupOf(name: string, definition: Mapping): Group | undefined {
    if ("matrix" in definition) {
      const template: Mapping = {};
      for (const [key, value] of Object.entries(definition)) if (key !== "matrix") setKey(template, key, value);
      return { template, members: this.matrixMembers(name, definition.matrix as ParamValue) };
    }
    if ("foreach" in definition)
      return {
        template: definition.do as Mapping,
        members: this.foreachMembers(name, definition.foreach as ParamValue),
      };
    return undefined;
  }

  /** `foreach` keys (spec §2.4): a mapping's keys, else list items, else list indices when an item is a collection. */
  private foreachMembers(name: string, data: ParamValue): Map<string, ReadonlyMap<string, CtxNode>> {
    const iterable = this.guard(`'stages.${name}.foreach'`, ["parse", "missing"], () =>
      new Interpolator(this.top, this.parsing).resolveItems(data),
    );
    if (!isCollection(iterable))
      throw new PipelineFormatError(
        this.path,
        `failed to resolve 'stages.${name}.foreach' in '${this.path}': expected list/dictionary, got ${typeNameOf(iterable)}`,
      );
    const item = (value: Item) => toNode(value, childMeta(LOCAL, "item"), this.path);
    const members = new Map<string, ReadonlyMap<string, CtxNode>>();
    if (iterable instanceof CtxDict || isPlainMapping(iterable)) {
      for (const [key, value] of entriesOf(iterable))
        members.set(
          key,
          new Map([
            ["item", item(value)],
            ["key", new CtxValue(key, childMeta(LOCAL, "key"))],
          ]),
        );
      return members;
    }
    const items = itemsOf(iterable) ?? [];
    const byIndex = items.some(isCollection);
    items.forEach((value, i) => {
      members.set(byIndex ? String(i) : itemStr(value, this.parsing), new Map([["item", item(value)]]));
    });
    return members;
  }

  /** The cartesian product of the axes, last axis fastest (spec §2.5). */
  private matrixMembers(name: string, data: ParamValue): Map<string, ReadonlyMap<string, CtxNode>> {
    const resolved = this.guard(`'stages.${name}.matrix'`, ["parse", "missing"], () =>
      new Interpolator(this.top, this.parsing).resolveItems(data),
    );
    const axes = entriesOf(resolved).map(([axis, values]) => {
      const items = itemsOf(values);
      if (items === undefined)
        throw new PipelineFormatError(
          this.path,
          `failed to resolve 'stages.${name}.matrix' in '${this.path}': expected list, got ${typeNameOf(values)}`,
        );
      return items.map((value, i) => ({
        axis,
        value,
        fragment: isCollection(value) ? `${axis}${i}` : itemStr(value, this.parsing),
      }));
    });
    const members = new Map<string, ReadonlyMap<string, CtxNode>>();
    for (const combination of cartesian(axes)) {
      const key = combination.map((choice) => choice.fragment).join("-");
      const item = new Map<string, CtxNode>();
      for (const { axis, value } of combination)
        item.set(axis, toNode(value, { ...LOCAL, path: ["item", axis] }, this.path));
      members.set(
        key,
        new Map<string, CtxNode>([
          ["key", new CtxValue(key, childMeta(LOCAL, "key"))],
          ["item", new CtxDict(item, childMeta(LOCAL, "item"))],
        ]),
      );
    }
    return members;
  }

  /** Stage names in file order, groups expanded in place, the first of equal names kept (spec §2.6). */
  private stageNames(definitions: Mapping): string[] {
    const names = new Set<string>();
    for (const [name, definition] of entriesInFileOrder(definitions)) {
      const group = this.groupOf(name, definition as Mapping);
      if (group === undefined) names.add(name);
      else {
        this.groups.set(name, group);
        for (const key of group.members.keys()) names.add(`${name}@${key}`);
      }
    }
    return [...names];
  }

  /**
   * The stage DVC gives for a name: split at the last `@`, a group's member wins over a plain stage
   * of the same name; a name with `@` that no group generates is not found.
   */
  private async resolveName(name: string, definitions: Mapping): Promise<PipelineStage> {
    const at = name.lastIndexOf("@");
    const groupName = at < 0 ? name : name.slice(0, at);
    const group = at < 0 ? undefined : this.groups.get(groupName);
    const values = group?.members.get(name.slice(at + 1));
    if (group !== undefined && values !== undefined) {
      if (!this.checkedTemplates.has(groupName)) {
        this.checkSyntax(group.template, groupName);
        this.checkedTemplates.add(groupName);
      }
      const resolved = await this.resolveStage(name, group.template, this.top.withReserved(values), true);
      return this.buildStage(name, resolved, groupName);
    }
    const definition = Object.hasOwn(definitions, name) && !this.groups.has(name) ? definitions[name] : undefined;
    if (at >= 0 || definition === undefined)
      throw new PipelineFormatError(this.path, `Stage '${name}' not found inside '${this.path}' file`);
    return this.buildStage(name, await this.resolveStage(name, definition as Mapping, this.top, false));
  }

  async stages(definitions: Mapping): Promise<PipelineStage[]> {
    const stages: PipelineStage[] = [];
    for (const name of this.stageNames(definitions)) stages.push(await this.resolveName(name, definitions));
    return stages;
  }

  // --- from resolved data to a stage

  private buildStage(name: string, { data, tracked }: ResolvedStage, group?: string): PipelineStage {
    const wdirText = data.wdir;
    const wdir = fromRoot(this.dir, wdirText === undefined || wdirText === "" ? "." : pathText(wdirText));
    const deps = ((data.deps ?? []) as ParamValue[]).map((dep) => {
      const path = pathText(dep);
      if (isDvcFile(path)) throw new PipelineFormatError(this.path, `DVC file '${path}' cannot be a dependency.`);
      return { path, rel: fromRoot(wdir, path) };
    });
    const stage: PipelineStage = {
      name,
      file: this.path,
      wdir,
      cmd: commandOf(data.cmd, this.parsing),
      deps,
      params: this.paramsDeps((data.params ?? []) as ParamValue[], wdir),
      outs: (["outs", "metrics", "plots"] as const).flatMap((kind) =>
        this.outputs((data[kind] ?? []) as ParamValue[], kind, wdir),
      ),
      frozen: data.frozen === true,
      alwaysChanged: data.always_changed === true,
      interpolatedParams: tracked,
    };
    if (group !== undefined) stage.group = group;
    if (data.desc !== undefined && data.desc !== null) stage.desc = pyStr(data.desc);
    return stage;
  }

  /** `params` merged per file (spec §1.6): bare keys belong to `params.yaml`; a file tracked whole drops its keys. */
  private paramsDeps(items: readonly ParamValue[], wdir: string): ParamsDep[] {
    const whole = new Set<string>();
    for (const item of items)
      if (isParamsMapping(item)) for (const [file, keys] of Object.entries(item)) if (isFalsy(keys)) whole.add(file);
    const files = new Map<string, string[]>();
    const keysOf = (file: string): string[] => {
      const keys = files.get(file) ?? [];
      files.set(file, keys); // an existing file keeps its place
      return keys;
    };
    for (const item of items) {
      if (!isParamsMapping(item)) {
        if (!whole.has(DEFAULT_PARAMS_FILE)) keysOf(DEFAULT_PARAMS_FILE).push(pyStr(item));
        continue;
      }
      for (const [file, keys] of Object.entries(item)) {
        if (whole.has(file)) files.set(file, []);
        else if (!Array.isArray(keys))
          throw new PipelineFormatError(
            this.path,
            `Expected list of params for custom params file '${file}', got '${pythonTypeName(keys)}'.`,
          );
        else keysOf(file).push(...keys.map(pyStr));
      }
    }
    return [...files].map(([path, keys]) => {
      if (isDvcFile(path)) throw new PipelineFormatError(this.path, `DVC file '${path}' cannot be a dependency.`);
      return { path, rel: fromRoot(wdir, path), keys: keys.length === 0 ? null : keys };
    });
  }

  /** One of `outs`, `metrics`, `plots`: the same path listed twice has its flags merged (spec §1.5). */
  private outputs(items: readonly ParamValue[], kind: StageOut["kind"], wdir: string): StageOut[] {
    const flagsByPath = new Map<string, Record<string, unknown>>();
    for (const item of items) {
      if (!isParamsMapping(item)) {
        const path = pathText(item);
        if (!flagsByPath.has(path)) flagsByPath.set(path, {});
        continue;
      }
      for (const [path, flags] of Object.entries(item)) {
        if (!isParamsMapping(flags))
          throw new PipelineFormatError(this.path, `Expected dict for '${path}', got: '${pythonTypeName(flags)}'`);
        const merged = flagsByPath.get(path) ?? {};
        for (const [flag, value] of Object.entries(flags)) setKey(merged, flag, value);
        flagsByPath.set(path, merged);
      }
    }
    return [...flagsByPath].map(([path, flags]) => {
      if (isDvcFile(path)) throw new PipelineFormatError(this.path, `DVC file '${path}' cannot be an output.`);
      const out: StageOut = {
        path,
        rel: fromRoot(wdir, path),
        kind,
        cache: flags.cache !== false,
        persist: flags.persist === true,
        push: flags.push !== false,
        flags,
      };
      if (typeof flags.remote === "string") out.remote = flags.remote;
      return out;
    });
  }

  // --- top-level sections

  /** A top-level entry (`params.0`, `plots.1`, `artifacts.name`) resolved with the file's context. */
  private resolveTop(data: ParamValue, where: string): ParamValue {
    return this.guard(`'${where}'`, ["parse", "missing"], () => {
      checkExpressions(data);
      return new Interpolator(this.top, this.parsing).resolve(data, {});
    });
  }

  private artifacts(definitions: Mapping): Record<string, unknown> {
    const artifacts: Record<string, unknown> = {};
    for (const [name, definition] of entriesInFileOrder(definitions)) {
      const resolvedName = this.guard(`'artifacts.${name}'`, ["parse", "missing"], () => {
        parseAll(name);
        return new Interpolator(this.top, this.parsing).resolveString(name, {});
      });
      if (typeof resolvedName !== "string")
        throw new PipelineFormatError(
          this.path,
          `failed to resolve 'artifacts.${name}' in '${this.path}': expected str, got ${typeNameOf(resolvedName)}`,
        );
      setKey(artifacts, resolvedName, this.resolveTop(definition, `artifacts.${name}`));
    }
    return artifacts;
  }

  async load(text: string): Promise<PipelineFile> {
    const data = this.validated(text);
    await this.loadTopContext((data.vars ?? []) as ParamValue[]);
    const stages = await this.stages((data.stages ?? {}) as Mapping);
    const topPaths = (key: "params" | "metrics") =>
      ((data[key] ?? []) as ParamValue[]).map((item, i) =>
        fromRoot(this.dir, pathText(this.resolveTop(item, `${key}.${i}`))),
      );
    const interpolatedParams: Tracked = new Map();
    for (const stage of stages)
      for (const [file, keys] of stage.interpolatedParams ?? [])
        for (const key of keys) addTracked(interpolatedParams, file, key);
    return {
      path: this.path,
      stages,
      params: topPaths("params"),
      metrics: topPaths("metrics"),
      plots: ((data.plots ?? []) as ParamValue[]).map((item, i) => this.resolveTop(item, `plots.${i}`)),
      artifacts: this.artifacts((data.artifacts ?? {}) as Mapping),
      interpolatedParams,
    };
  }

  /** The file as read and checked against DVC's schema ("'dvc.yaml' validation failed: ..."). */
  private validated(text: string): Mapping {
    const yaml = parseYaml(
      text,
      (detail, line) => new PipelineFormatError(this.path, `'${this.path}' is invalid: ${detail}`, line),
      undefined,
      MAX_HANDWRITTEN_YAML_BYTES,
    );
    const data = yaml.value ?? {};
    try {
      PIPELINE_FILE(data, []);
    } catch (err) {
      if (!(err instanceof SchemaViolation)) throw err;
      // The fast reader keeps no lines: read the file again with the full parser to name the line.
      const full = parseYamlDocument(text, (detail) => new PipelineFormatError(this.path, detail));
      let located = err;
      try {
        PIPELINE_FILE(full.value ?? {}, []);
      } catch (again) {
        if (again instanceof SchemaViolation) located = again;
      }
      const line = located.at.length > 1 && located.parent !== undefined ? full.lineOf(located.parent) : undefined;
      throw validationError(this.path, located, line);
    }
    return data as Mapping;
  }
}

/** Parse a lone `${...}`-bearing string's expressions (the artifact name check). */
function parseAll(text: string): void {
  for (const match of templates(text)) parseExpression(match[1] as string);
}

/** The key/value pairs of a mapping item. */
function entriesOf(item: Item): [string, Item][] {
  if (item instanceof CtxDict) return [...item.entries];
  if (isPlainMapping(item)) return Object.entries(item);
  return [];
}

/** What Python iterates over: a list's items, a mapping's keys, a string's characters; undefined for scalars. */
function itemsOf(item: Item): Item[] | undefined {
  if (item instanceof CtxList) return item.items;
  if (item instanceof CtxDict) return [...item.entries.keys()];
  if (item instanceof CtxNode) return undefined;
  if (Array.isArray(item)) return item;
  if (isPlainMapping(item)) return Object.keys(item);
  if (typeof item === "string") return Array.from(item);
  return undefined;
}

function* cartesian<T>(axes: readonly T[][]): Generator<T[]> {
  if (axes.length === 0) {
    yield [];
    return;
  }
  const [first, ...rest] = axes as [T[], ...T[][]];
  for (const choice of first) for (const tail of cartesian(rest)) yield [choice, ...tail];
}

/** Python's truthiness, for `- file:` (null), `- file: []` and the like: the whole file. */
function isFalsy(value: ParamValue): boolean {
  if (value === null || value === false || value === "" || value === 0 || value === 0n) return true;
  if (Array.isArray(value)) return value.length === 0;
  return isParamsMapping(value) && Object.keys(value).length === 0;
}

function pathText(value: ParamValue): string {
  return typeof value === "string" ? value : pyStr(value);
}

/** `cmd` as a string or list of strings; a mapping (an exact `${dict}`) as its flags. */
function commandOf(cmd: ParamValue | undefined, parsing: ParsingOptions): string | string[] {
  if (Array.isArray(cmd)) return cmd.map(pathText);
  if (isParamsMapping(cmd)) return toStr(cmd, parsing);
  return cmd === undefined ? "" : pathText(cmd);
}

function checkLoaded(imported: readonly string[] | null, item: string, keys: readonly string[] | null): void {
  const partial = keys !== null && keys.length > 0;
  if (!partial && imported !== null)
    throw new ResolveFailure(`cannot load '${item}' as it's partially loaded already`, "loaded");
  if (partial && imported === null)
    throw new ResolveFailure(`cannot partially load '${item}' as it's already loaded.`, "loaded");
  if (partial && imported !== null && keys.some((key) => imported.includes(key)))
    throw new ResolveFailure(`cannot load '${item}' as it's partially loaded already`, "loaded");
}

/**
 * Load a `dvc.yaml` (`path`: posix from the project root, also the name used in messages), with
 * params and vars files read through `reader`. Fails with PipelineFormatErrors worded as DVC's:
 * "'dvc.yaml' validation failed: ...", "failed to parse 'stages.s.cmd' in 'dvc.yaml': Could not find 'x'".
 */
export async function loadPipelineFile(
  path: string,
  text: string,
  reader: PipelineReader,
  options: PipelineLoadOptions = {},
): Promise<PipelineFile> {
  return new PipelineLoader(path, reader, options).load(text);
}
