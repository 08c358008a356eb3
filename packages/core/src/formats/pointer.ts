/**
 * `.dvc` pointer files (spec §1): reading with line-numbered validation, writing a new file byte
 * for byte as DVC does, and rewriting an existing file the way DVC's `apply_diff` does (keys keep
 * their places, comments survive).
 */
import {
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  type YAMLMap,
  type YAMLSeq,
} from "yaml";
import { FormatError } from "../errors.js";
import { MAX_HANDWRITTEN_YAML_BYTES, yamlLimitProblem } from "./yaml-limits.js";
import {
  applyDiff,
  applyDiffToNode,
  deepEqual,
  keyString,
  toPlain as plainOf,
  prepareForEdit,
  printEdited,
  setKey,
} from "./yaml-roundtrip.js";
import { dumpYaml, type YamlValue } from "./yaml-scalar.js";

export { setKey };

/** `md5`: a 3.x out (`hash: md5`). `md5-dos2unix`: a 2.x out, without a `hash` key (spec §1.5). */
export type HashName = "md5" | "md5-dos2unix";

/** One entry of `outs`, as read. */
export interface Out {
  /** As written in the file: posix separators, relative to the `.dvc` file's directory (plus `wdir`). */
  path: string;
  /** The hash value, lowercase; ends in `.dir` for a directory. Absent for an out without a hash. */
  md5?: string;
  hashName: HashName;
  size?: number;
  nfiles?: number;
  isexec?: boolean;
  /** Whether `md5` names a `.dir` object. */
  isDir: boolean;
  /** An absolute path or a URL: an output outside the repository, which mlv does not handle. */
  external: boolean;
  /** 1-based line of the entry in the file, for messages. */
  line: number;
  /** The whole mapping as read, in file order, with hash values coerced to strings as DVC does. */
  raw: Record<string, unknown>;
}

/** A parsed `.dvc` file. */
export interface PointerFile {
  /** The name used in messages. */
  file: string;
  outs: Out[];
  /** The top-level keys other than `outs` (md5, frozen, deps, wdir, desc, meta, ...), in file order. */
  top: Record<string, unknown>;
  /** `top.wdir` when set: out paths are relative to `dirname(file)/wdir`. */
  wdir?: string;
  /** The text the file was parsed from. */
  text: string;
}

/** An out to write. Keys mlv does not own go in `extra` and are written as given. */
export interface OutWrite {
  path: string;
  md5?: string;
  /** Default `md5`. `md5-dos2unix` writes no `hash` key (a 2.x out kept as it was). */
  hashName?: HashName;
  size?: number;
  nfiles?: number;
  /** Written only when true. */
  isexec?: boolean;
  /**
   * Other keys of the out (desc, type, labels, meta, cache, remote, push, files, cloud, ...).
   * `updatePointer` takes them from the existing out at the same position when this is undefined.
   */
  extra?: Readonly<Record<string, unknown>>;
}

const TOP_LEVEL_KEYS = ["md5", "wdir", "deps", "outs", "locked", "frozen", "meta", "always_changed", "desc"];
/** Order of the top-level keys in a file DVC writes (`dvc/stage/utils.py::get_dump`). */
const TOP_LEVEL_ORDER = ["desc", "md5", "cmd", "wdir", "frozen", "deps", "outs", "always_changed", "meta"];
/** Keys of an out that mlv computes; every other key is carried through untouched. */
const OWNED_OUT_KEYS = new Set(["md5", "size", "nfiles", "isexec", "hash", "path"]);
/** Order of the keys of an out in a file DVC writes (`Output.dumpd`, spec §1.3). */
const OUT_ORDER = [
  "md5",
  "size",
  "nfiles",
  "isexec",
  "version_id",
  "etag",
  "checksum",
  "cloud",
  "hash",
  "path",
  "fs_config",
  "desc",
  "type",
  "labels",
  "meta",
  "cache",
  "metric",
  "plot",
  "persist",
  "remote",
  "push",
  "files",
];
const OUT_KEYS = new Set(OUT_ORDER);
/** Keys whose value DVC coerces from int to str (`CHECKSUM_SCHEMA`). */
export const HASH_KEYS = new Set(["md5", "etag", "checksum"]);
const MD5_RE = /^[0-9a-fA-F]{32}(\.dir)?$/;

function describe(value: unknown): string {
  if (typeof value === "string") return `'${value}'`;
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return String(value);
}

/** An absolute path (posix, UNC or drive letter) or a URL. */
export function isExternalPath(path: string): boolean {
  return (
    path.startsWith("/") ||
    path.startsWith("\\\\") ||
    /^[A-Za-z]:[\\/]/.test(path) ||
    /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(path)
  );
}

/** A node as a plain value; with `coerce`, hash values (md5, etag, checksum) as DVC coerces them to str. */
function toPlain(node: unknown, doc: Document, coerce: boolean, key?: string): unknown {
  return plainOf(node, doc, coerce ? HASH_KEYS : undefined, key);
}

interface Parsed {
  doc: Document;
  lines: LineCounter;
}

/** How much alias expansion a pointer file may ask for (yaml's count); DVC writes none. */
const MAX_ALIASES = 100;

function parseYaml(text: string, file: string): Parsed {
  const tooBig = yamlLimitProblem(text, MAX_HANDWRITTEN_YAML_BYTES);
  if (tooBig !== undefined)
    throw new FormatError(file, `${tooBig}: a .dvc file mlv or DVC writes is small and shallow; restore it from git`);
  const lines = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter: lines,
    version: "1.2",
    schema: "core",
    uniqueKeys: true,
    prettyErrors: false,
    keepSourceTokens: false,
  });
  const err = doc.errors[0];
  if (err)
    throw new FormatError(
      file,
      `not valid YAML: ${err.message.replace(/\s+/g, " ").trim()}: fix the syntax, or restore the file from git`,
      // An error at the end of the input (an unclosed quote) is reported on the last line.
      lines.linePos(Math.min(err.pos[0], text.replace(/[\r\n]+$/, "").length)).line,
      err,
    );
  // yaml's own alias accounting: an alias bomb (a few lines expanding to billions of nodes) fails here, at once.
  if (text.includes("*"))
    try {
      doc.toJS({ maxAliasCount: MAX_ALIASES });
    } catch (aliasErr) {
      throw new FormatError(
        file,
        `uses YAML aliases too heavily (${(aliasErr as Error).message}): a .dvc file DVC writes has none; restore the file from git`,
        undefined,
        aliasErr,
      );
    }
  return { doc, lines };
}

/**
 * The one-output file as `mlv add` and `dvc add` write it, matched whole: md5, size, optional
 * nfiles and isexec, `hash: md5`, and a path of plain characters.
 */
const CANONICAL_POINTER =
  /^outs:\n- md5: ([0-9a-f]{32}(?:\.dir)?)\n {2}size: (0|[1-9][0-9]{0,14})\n(?: {2}nfiles: (0|[1-9][0-9]{0,14})\n)?( {2}isexec: true\n)? {2}hash: md5\n {2}path: ([A-Za-z0-9_][A-Za-z0-9_./-]*)\n$/;
/** Plain scalars that YAML's core schema reads as something other than a string. */
export const NOT_A_STRING =
  /^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|0o[0-7]+|0x[0-9a-fA-F]+|null|Null|NULL|true|True|TRUE|false|False|FALSE)$/;

/**
 * A canonical pointer file read without the YAML parser, or undefined for any other text. The
 * result is exactly what `parsePointerYaml` gives (tests compare the two); it exists because
 * commands read every pointer of a project, or of thousands of commits, at each start, where the
 * YAML parser costs about half a millisecond a file before the JIT warms up.
 */
function parseCanonicalPointer(text: string, file: string): PointerFile | undefined {
  const m = CANONICAL_POINTER.exec(text);
  if (m === null) return undefined;
  const [, md5, sizeText, nfilesText, isexec, path] = m as unknown as [
    string,
    string,
    string,
    string | undefined,
    string | undefined,
    string,
  ];
  if (NOT_A_STRING.test(path)) return undefined;
  const size = Number(sizeText);
  const raw: Record<string, unknown> = { md5, size };
  if (nfilesText !== undefined) raw.nfiles = Number(nfilesText);
  if (isexec !== undefined) raw.isexec = true;
  raw.hash = "md5";
  raw.path = path;
  const out: Out = { path, hashName: "md5", isDir: md5.endsWith(".dir"), external: false, line: 2, raw, md5, size };
  if (nfilesText !== undefined) out.nfiles = Number(nfilesText);
  if (isexec !== undefined) out.isexec = true;
  return { file, outs: [out], top: {}, text };
}

/** Parse and validate a `.dvc` file (spec §1.2, §1.3). Accepts LF and CRLF line endings. */
export function parsePointer(text: string, file: string): PointerFile {
  return parseCanonicalPointer(text, file) ?? parsePointerYaml(text, file);
}

/** `parsePointer` through the YAML parser always, whatever the text. */
export function parsePointerYaml(text: string, file: string): PointerFile {
  const { doc, lines } = parseYaml(text, file);
  const lineOf = (node: unknown, fallback = 1): number => {
    const range = (node as { range?: [number, number, number] } | null)?.range;
    return range ? lines.linePos(range[0]).line : fallback;
  };
  const fail = (node: unknown, detail: string, fallback?: number, hint?: string): never => {
    throw new FormatError(file, detail, lineOf(node, fallback), undefined, hint);
  };
  const resolve = (node: unknown): unknown => (isAlias(node) ? node.resolve(doc) : node);

  const root = resolve(doc.contents);
  const top: Record<string, unknown> = {};
  const outs: Out[] = [];
  if (root === null || (isScalar(root) && root.value === null)) return { file, outs, top, text };
  if (!isMap(root))
    fail(root, `a .dvc file must be a YAML mapping with an 'outs' list, got ${describe(toPlain(root, doc, false))}`);

  for (const pair of (root as YAMLMap).items) {
    const key = keyString(pair.key);
    const valueNode = resolve(pair.value);
    const value = toPlain(valueNode, doc, true, key);
    const at = valueNode ?? pair.key;
    if (!TOP_LEVEL_KEYS.includes(key)) {
      if (key === "cmd")
        fail(pair.key, "'cmd' is not allowed in a .dvc file since DVC 3: move the command into a dvc.yaml stage");
      fail(
        pair.key,
        `unknown top-level key '${key}': a .dvc file may only hold ${TOP_LEVEL_KEYS.join(", ")}; remove it`,
      );
    }
    if (key === "outs") {
      if (value === null) continue;
      if (!isSeq(valueNode))
        fail(at, `'outs' must be a list of outputs ('- path: NAME' entries), got ${describe(value)}`);
      for (const item of (valueNode as YAMLSeq).items) outs.push(parseOut(resolve(item), doc, fail, lineOf));
      continue;
    }
    switch (key) {
      case "md5":
        if (value !== null && typeof value !== "string") fail(at, `'md5' must be a string, got ${describe(value)}`);
        break;
      case "wdir":
      case "desc":
        if (value !== null && typeof value !== "string") fail(at, `'${key}' must be a string, got ${describe(value)}`);
        break;
      case "locked":
      case "frozen":
      case "always_changed":
        if (typeof value !== "boolean") fail(at, `'${key}' must be true or false, got ${describe(value)}`);
        break;
      case "deps":
        if (value === null) break;
        if (!isSeq(valueNode)) fail(at, `'deps' must be a list, got ${describe(value)}`);
        for (const item of (valueNode as YAMLSeq).items) {
          const dep = resolve(item);
          if (!isMap(dep))
            fail(
              dep,
              `each entry of 'deps' must be a mapping with a 'path', got ${describe(toPlain(dep, doc, false))}`,
            );
          const path = (toPlain(dep, doc, true) as Record<string, unknown>).path;
          if (typeof path !== "string") fail(dep, "dependency has no 'path' string: add 'path: SOURCE'");
        }
        break;
    }
    setKey(top, key, value);
  }
  const pointer: PointerFile = { file, outs, top, text };
  if (typeof top.wdir === "string") pointer.wdir = top.wdir;
  return pointer;
}

function parseOut(
  node: unknown,
  doc: Document,
  fail: (node: unknown, detail: string, fallback?: number, hint?: string) => never,
  lineOf: (node: unknown) => number,
): Out {
  if (!isMap(node))
    fail(node, `each entry of 'outs' must be a mapping with a 'path', got ${describe(toPlain(node, doc, false))}`);
  const map = node as YAMLMap;
  const raw = toPlain(map, doc, true) as Record<string, unknown>;
  const valueNode = (key: string): unknown => {
    const pair = map.items.find((p) => keyString(p.key) === key);
    return pair?.value ?? pair?.key ?? map;
  };
  for (const pair of map.items) {
    const key = keyString(pair.key);
    if (!OUT_KEYS.has(key))
      fail(pair.key, `unknown key '${key}' in output: remove it (allowed: ${OUT_ORDER.join(", ")})`);
  }
  const check = (key: string, ok: (v: unknown) => boolean, what: string): void => {
    if (key in raw && !ok(raw[key])) fail(valueNode(key), `'${key}' must be ${what}, got ${describe(raw[key])}`);
  };
  const isString = (v: unknown) => typeof v === "string";
  const isCount = (v: unknown) => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
  const isBool = (v: unknown) => typeof v === "boolean";
  const isMapping = (v: unknown) => v !== null && typeof v === "object" && !Array.isArray(v);

  if (!("path" in raw))
    fail(map, "output has no 'path': add 'path: NAME' (the file or directory, relative to the .dvc file)");
  check("path", (v) => typeof v === "string" && v !== "", "a non-empty string");
  check("size", isCount, "a non-negative integer");
  check("nfiles", isCount, "a non-negative integer");
  check("isexec", isBool, "true or false");
  check("hash", isString, "a string ('md5')");
  for (const key of ["version_id", "desc", "type", "remote"]) check(key, (v) => v === null || isString(v), "a string");
  for (const key of ["cache", "push", "persist"]) check(key, isBool, "true or false");
  check("labels", (v) => v === null || (Array.isArray(v) && v.every(isString)), "a list of strings");
  check("cloud", (v) => v === null || isMapping(v), "a mapping of remote names");
  check("fs_config", (v) => v === null || isMapping(v), "a mapping");
  check(
    "files",
    (v) => v === null || (Array.isArray(v) && v.every((f) => isMapping(f) && typeof f.relpath === "string")),
    "a list of mappings with a 'relpath'",
  );

  const path = raw.path as string;
  const external = isExternalPath(path);
  let md5: string | undefined;
  const md5Value = raw.md5;
  if (md5Value !== undefined && md5Value !== null && md5Value !== "") {
    if (typeof md5Value !== "string" || !MD5_RE.test(md5Value))
      fail(
        valueNode("md5"),
        `'md5' must be 32 hex characters, got ${describe(md5Value)}: restore the file from git, or add the data again`,
        undefined,
        "Run 'mlv add' on the data again to record its hash.",
      );
    md5 = (md5Value as string).toLowerCase();
  }
  const hash = raw.hash;
  if (hash !== undefined && hash !== "md5" && !external)
    fail(
      valueNode("hash"),
      `'hash' must be 'md5', got ${describe(hash)}: fix it, or remove the key for a DVC 2 output`,
    );

  const out: Out = {
    path,
    hashName: hash === undefined ? "md5-dos2unix" : "md5",
    isDir: md5?.endsWith(".dir") ?? false,
    external,
    line: lineOf(map),
    raw,
  };
  if (md5 !== undefined) out.md5 = md5;
  if (typeof raw.size === "number") out.size = raw.size;
  if (typeof raw.nfiles === "number") out.nfiles = raw.nfiles;
  if (typeof raw.isexec === "boolean") out.isexec = raw.isexec;
  return out;
}

/** The keys of an out that mlv does not own, as they are in `raw`. */
function extraOf(out: Out): Record<string, unknown> {
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(out.raw)) if (!OWNED_OUT_KEYS.has(k)) setKey(extra, k, v);
  return extra;
}

/** An out as `Output.dumpd` orders it. */
function dumpOut(out: OutWrite, extra: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(extra)) if (!OWNED_OUT_KEYS.has(k) && v !== undefined) setKey(values, k, v);
  if (out.md5 !== undefined) values.md5 = out.md5;
  if (out.size !== undefined) values.size = out.size;
  if (out.nfiles !== undefined) values.nfiles = out.nfiles;
  if (out.isexec === true) values.isexec = true;
  if ((out.hashName ?? "md5") === "md5") values.hash = "md5";
  values.path = out.path;
  return ordered(values, OUT_ORDER);
}

function ordered(values: Record<string, unknown>, order: readonly string[]): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const key of order) if (Object.hasOwn(values, key)) setKey(result, key, values[key]);
  for (const [k, v] of Object.entries(values)) if (!Object.hasOwn(result, k)) setKey(result, k, v);
  return result;
}

function toOutWrite(out: Out): OutWrite {
  const w: OutWrite = { path: out.path, hashName: out.hashName };
  if (out.md5 !== undefined) w.md5 = out.md5;
  if (out.size !== undefined) w.size = out.size;
  if (out.nfiles !== undefined) w.nfiles = out.nfiles;
  if (out.isexec !== undefined) w.isexec = out.isexec;
  return w;
}

function isPointerFile(file: PointerFile | { outs: readonly OutWrite[] }): file is PointerFile {
  return "text" in file && "top" in file;
}

/**
 * The text of a new `.dvc` file, byte-identical to what DVC writes (spec §1.3, §1.4): top-level
 * keys in `get_dump` order without empty or false values, each out in `Output.dumpd` order, LF
 * line endings.
 */
export function serializePointer(file: PointerFile | { outs: readonly OutWrite[] }): string {
  const values: Record<string, unknown> = {};
  if (isPointerFile(file)) {
    for (const [k, v] of Object.entries(file.top)) setKey(values, k, v);
    values.outs = file.outs.map((o) => dumpOut(toOutWrite(o), extraOf(o)));
  } else {
    values.outs = file.outs.map((o) => dumpOut(o, o.extra ?? {}));
  }
  // get_dump leaves out empty and false values.
  for (const [k, v] of Object.entries(values))
    if (!v || (Array.isArray(v) && v.length === 0) || (typeof v === "object" && Object.keys(v as object).length === 0))
      delete values[k];
  return dumpYaml(ordered(values, TOP_LEVEL_ORDER) as YamlValue);
}

/**
 * Rewrite an existing `.dvc` file with new outs, the way DVC does (spec §1.3, "Rewriting an existing
 * file"): existing keys keep their places and only changed values change, new keys are appended
 * at the end of their mapping in `dumpd` order, the hash/meta keys mlv owns (md5, size, nfiles,
 * isexec, hash) are deleted when the new out has none, the keys mlv does not own are kept, comments
 * are kept, and `outs` is replaced whole when the number of outs changed.
 *
 * Outs are matched by position. When the outs are unchanged the original text is returned as it
 * is, so a 2.x file re-saved without a content change stays byte-identical.
 *
 * As DVC does, a file that is not a stage with `deps` (an import) loses its top-level `md5`, which
 * DVC only computes for imports.
 */
export function updatePointer(old: PointerFile, outs: readonly OutWrite[]): string {
  const newOuts = outs.map((o, i) => {
    const prev = old.outs[i];
    return dumpOut(o, o.extra ?? (prev ? extraOf(prev) : {}));
  });
  const oldOuts = old.outs.map((o) => o.raw);
  if (deepEqual(newOuts, oldOuts)) return old.text;

  const { doc } = parseYaml(old.text, old.file);
  const oldData = (toPlain(doc.contents, doc, true) ?? {}) as Record<string, unknown>;
  const srcValues: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(oldData)) setKey(srcValues, k, v);
  srcValues.outs = newOuts;
  if (!Array.isArray(srcValues.deps) || srcValues.deps.length === 0) delete srcValues.md5;
  const src = ordered(srcValues, TOP_LEVEL_ORDER);

  const crlf = old.text.includes("\r\n");
  const withEol = (text: string): string => (crlf ? text.replace(/\n/g, "\r\n") : text);

  // A file our emitter reproduces exactly (anything DVC or mlv wrote, without comments): apply the
  // diff to plain data and emit it, which gives exactly DVC's bytes.
  if (isMap(doc.contents) && dumpYaml(oldData as YamlValue) === old.text.replace(/\r\n/g, "\n")) {
    applyDiff(src, oldData);
    return withEol(dumpYaml(oldData as YamlValue));
  }

  // Anything else (comments, flow collections, other formatting): apply the diff to the Document
  // so comments stay, and let ruamel's quoting rules choose each string's style, as ruamel
  // re-decides them on every dump.
  let contents = doc.contents;
  if (!isMap(contents)) {
    contents = doc.createNode({}) as YAMLMap;
    doc.contents = contents;
  }
  prepareForEdit(doc, old.text);
  applyDiffToNode(src, contents as YAMLMap, doc);
  return withEol(printEdited(doc, old.text));
}
