/**
 * Editing a YAML file the way DVC does (ruamel.yaml round-trip mode and `apply_diff`): keys keep
 * their places, only changed values change, comments survive where ruamel keeps them, and every
 * string is re-quoted by ruamel's rules. Shared by the writers of `.dvc` files, `dvc.yaml` and
 * `dvc.lock`.
 *
 * `parseForEdit` and `rewriteMapping` do the whole of it for a file that is one mapping; the
 * steps are exported for writers that need more: parse with `yaml` (YAML 1.2 core schema),
 * `prepareForEdit(doc, text)`, change the Document (`applyDiffToNode`, or by hand), then
 * `printEdited(doc, text)`.
 */
import {
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  type Node,
  type Pair,
  parseDocument,
  Scalar,
  visit,
  type YAMLMap,
  type YAMLSeq,
} from "yaml";
import { FormatError } from "../errors.js";
import { MAX_HANDWRITTEN_YAML_BYTES, yamlLimitProblem } from "./yaml-limits.js";
import { chooseScalarStyle, dumpYaml, emitScalarAt, type YamlValue } from "./yaml-scalar.js";

/** Set a key on a plain object, safe for keys such as `__proto__`. */
export function setKey(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** A mapping key as a string (ruamel's keys are scalars; their text is what DVC compares). */
export function keyString(node: unknown): string {
  if (isScalar(node)) return String(node.value);
  return String(node);
}

/**
 * A node as a plain value. A number under one of `textKeys` becomes its source text (DVC coerces
 * hash values to str; the source text keeps leading zeros that the number lost).
 */
export function toPlain(node: unknown, doc: Document, textKeys?: ReadonlySet<string>, key?: string): unknown {
  if (isAlias(node)) return toPlain(node.resolve(doc), doc, textKeys, key);
  if (isScalar(node)) {
    const v = node.value;
    if (textKeys && key !== undefined && textKeys.has(key) && (typeof v === "number" || typeof v === "bigint"))
      return (node as Scalar & { source?: string }).source ?? String(v);
    return typeof v === "bigint" ? Number(v) : v;
  }
  if (isMap(node)) {
    const obj: Record<string, unknown> = {};
    for (const pair of node.items) {
      const k = keyString(pair.key);
      setKey(obj, k, toPlain(pair.value, doc, textKeys, k));
    }
    return obj;
  }
  if (isSeq(node)) return node.items.map((item) => toPlain(item, doc, textKeys, key));
  return node ?? null;
}

export function isContainer(v: unknown): v is object {
  return v !== null && typeof v === "object";
}

/** Equality of plain values (mappings compared without regard to key order, as Python's `==`). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (!isContainer(a) || !isContainer(b) || Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => deepEqual(x, bb[i]));
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  const ob = b as Record<string, unknown>;
  return (
    ka.length === kb.length &&
    ka.every((k) => Object.hasOwn(b, k) && deepEqual((a as Record<string, unknown>)[k], ob[k]))
  );
}

function sameContainerType(a: unknown, b: unknown): boolean {
  return isContainer(a) && isContainer(b) && Array.isArray(a) === Array.isArray(b);
}

/**
 * DVC's `apply_diff` on plain values, changing `dest` in place: lists of another length are
 * replaced whole, same-type containers are merged, changed values replaced, new keys appended,
 * keys missing from `src` deleted.
 */
export function applyDiff(src: unknown, dest: unknown): void {
  if (Array.isArray(src) && Array.isArray(dest)) {
    if (src.length !== dest.length) {
      dest.splice(0, dest.length, ...src);
      return;
    }
    src.forEach((value, i) => {
      if (sameContainerType(value, dest[i])) applyDiff(value, dest[i]);
      else if (!deepEqual(value, dest[i])) dest[i] = value;
    });
    return;
  }
  const s = src as Record<string, unknown>;
  const d = dest as Record<string, unknown>;
  for (const [key, value] of Object.entries(s)) {
    if (Object.hasOwn(d, key) && sameContainerType(value, d[key])) applyDiff(value, d[key]);
    else if (!Object.hasOwn(d, key) || !deepEqual(value, d[key])) setKey(d, key, value);
  }
  for (const key of Object.keys(d)) if (!Object.hasOwn(s, key)) delete d[key];
}

/** `applyDiff` on the nodes of a `yaml` Document, so that comments and unchanged nodes stay. */
export function applyDiffToNode(src: unknown, dest: YAMLMap | YAMLSeq, doc: Document): void {
  const replaceNode = (old: unknown, value: unknown): Node => {
    if (isScalar(old) && !isContainer(value)) {
      old.value = value;
      delete old.type;
      delete old.format;
      delete old.minFractionDigits;
      return old;
    }
    const node = doc.createNode(value) as Node;
    const prev = old as { comment?: string | null; commentBefore?: string | null } | null;
    if (prev?.comment) node.comment = prev.comment;
    if (prev?.commentBefore) node.commentBefore = prev.commentBefore;
    return node;
  };
  const sameType = (value: unknown, node: unknown): boolean =>
    isContainer(value) && (Array.isArray(value) ? isSeq(node) : isMap(node));

  if (isSeq(dest)) {
    const s = src as unknown[];
    if (s.length !== dest.items.length) {
      dest.items = s.map((v) => doc.createNode(v) as Node);
      return;
    }
    s.forEach((value, i) => {
      const node = dest.items[i];
      if (sameType(value, node)) applyDiffToNode(value, node as YAMLMap | YAMLSeq, doc);
      else if (!deepEqual(value, toPlain(node, doc))) dest.items[i] = replaceNode(node, value);
    });
    return;
  }
  const s = src as Record<string, unknown>;
  for (const [key, value] of Object.entries(s)) {
    const pair = dest.items.find((p) => keyString(p.key) === key) as Pair<unknown, unknown> | undefined;
    if (!pair) dest.items.push(doc.createPair(key, value) as Pair<unknown, unknown>);
    else if (sameType(value, pair.value)) applyDiffToNode(value, pair.value as YAMLMap | YAMLSeq, doc);
    else if (!deepEqual(value, toPlain(pair.value, doc))) pair.value = replaceNode(pair.value, value);
  }
  dest.items = dest.items.filter((p) => Object.hasOwn(s, keyString(p.key)));
}

/**
 * `key: # comment` followed by a block collection: `yaml` keeps the comment as the collection's
 * `commentBefore` and would print it on a line of its own; ruamel keeps it after the key. Move it
 * to the key node, which `yaml` prints on the key's line.
 */
export function keepKeyLineComments(doc: Document, text: string): void {
  visit(doc, {
    Pair(_, pair) {
      const key = pair.key as Node | null;
      const value = pair.value as Node | null;
      if (!isScalar(key) || !(isMap(value) || isSeq(value)) || !value.commentBefore || value.flow) return;
      if (!key.range || !value.range) return;
      const between = text.slice(key.range[1], value.range[0]);
      const firstLine = between.split("\n")[0] ?? "";
      if (!firstLine.includes("#")) return;
      const [first = "", ...rest] = value.commentBefore.split("\n");
      key.comment = first;
      value.commentBefore = rest.length > 0 ? rest.join("\n") : undefined;
    },
  });
}

/** Marks an end-of-line comment with the column it had: `#\ufdd0<column>\ufdd0 text` (U+FDD0 is a noncharacter, not found in text). */
const COLUMN_MARK = /#\ufdd0(\d+)\ufdd0/;

/**
 * ruamel writes an end-of-line comment (after a scalar or a flow collection) at the column it had
 * (or one space after a longer value);
 * `yaml` writes it one space after the value. Record each such comment's column in its text, for
 * `restoreCommentColumns` to apply once the document is printed.
 */
export function markCommentColumns(doc: Document, text: string): void {
  const mark = (node: unknown): void => {
    const endsLine = isScalar(node) || ((isMap(node) || isSeq(node)) && node.flow === true);
    if (!endsLine || !node.comment || node.comment.includes("\n") || !node.range) return;
    const hash = text.indexOf("#", node.range[1]);
    if (hash === -1 || text.slice(node.range[1], hash).includes("\n")) return;
    const column = hash - (text.lastIndexOf("\n", hash) + 1);
    node.comment = `\ufdd0${column}\ufdd0${node.comment}`;
  };
  visit(doc, {
    Pair(_, pair) {
      mark(pair.key);
      mark(pair.value);
    },
    Seq(_, seq) {
      for (const item of seq.items) mark(item);
    },
  });
}

/** Put each comment marked by `markCommentColumns` back at its column. */
export function restoreCommentColumns(text: string): string {
  if (!text.includes("\ufdd0")) return text;
  return text
    .split("\n")
    .map((line) => {
      const m = COLUMN_MARK.exec(line);
      if (!m) return line;
      const before = line.slice(0, m.index).trimEnd();
      const pad = Math.max(1, Number(m[1]) - before.length);
      return `${before}${" ".repeat(pad)}#${line.slice(m.index + m[0].length)}`;
    })
    .join("\n");
}

/** Marks the line a comment block follows: `\ufdd1<index>\ufdd1` at the end of that line's comment. */
const BLOCK_MARK = /\ufdd1(\d+)\ufdd1/g;

/** The blocks of full-line comments and blank lines of a Document, as `attachCommentBlocks` took them out. */
interface CommentBlocks {
  /** The lines before the first content line, written first. */
  head: string;
  /** Each block's lines, by the index its mark carries. */
  blocks: string[];
}

const commentBlocks = new WeakMap<Document, CommentBlocks>();

/** A line holding only a comment, or nothing. */
const COMMENT_LINE = /^[ \t]*(?:#.*)?$/;

/**
 * ruamel keeps a block of full-line comments and blank lines with the scalar (or flow collection)
 * that ends before it, whichever line that is on: removing that stage removes the comments after
 * it (even those above the next stage), and keys appended after it come after the comments. `yaml`
 * keeps such comments with the node that follows them. Take every block out of the Document and
 * mark the node that owns it in ruamel, for `printEdited` to put the block back after that node's
 * line (or to drop it with the node). A document with block scalars, directives or several
 * documents is left as `yaml` has it.
 */
function attachCommentBlocks(doc: Document, text: string): void {
  if (/^(?:---|\.\.\.|%)/m.test(text)) return;
  const owners: { end: number; node: Scalar | YAMLMap | YAMLSeq }[] = [];
  let blockScalar = false;
  visit(doc, {
    Scalar(_, node) {
      if (node.type === Scalar.BLOCK_LITERAL || node.type === Scalar.BLOCK_FOLDED) blockScalar = true;
      if (node.range) owners.push({ end: node.range[1], node });
    },
    Map(_, node) {
      if (node.flow && node.range) owners.push({ end: node.range[1], node });
    },
    Seq(_, node) {
      if (node.flow && node.range) owners.push({ end: node.range[1], node });
    },
  });
  if (blockScalar || owners.length === 0) return;
  owners.sort((a, b) => a.end - b.end);

  // The blocks of the text, each with the offset where it starts.
  const found: { start: number; text: string }[] = [];
  let offset = 0;
  for (const line of text.match(/[^\n]*\n|[^\n]+$/g) ?? []) {
    if (COMMENT_LINE.test(line.replace(/\r?\n$/, ""))) {
      const last = found[found.length - 1];
      if (last && last.start + last.text.length === offset) last.text += line;
      else found.push({ start: offset, text: line });
    }
    offset += line.length;
  }
  const firstContent = owners.reduce((min, o) => Math.min(min, o.node.range?.[0] ?? min), text.length);
  const blocks: CommentBlocks = { head: "", blocks: [] };
  for (const block of found) {
    if (block.start < firstContent) {
      blocks.head += block.text;
      continue;
    }
    let owner: Scalar | YAMLMap | YAMLSeq | undefined;
    for (const o of owners) if (o.end <= block.start) owner = o.node;
    if (!owner) continue;
    const index = blocks.blocks.push(block.text.replace(/\r\n/g, "\n")) - 1;
    owner.comment = `${owner.comment ?? ""}\ufdd1${index}\ufdd1`;
  }

  // Nothing of them is left for `yaml` to print.
  doc.commentBefore = null;
  doc.comment = null;
  visit(doc, {
    Node(_, node) {
      delete node.commentBefore;
      delete node.spaceBefore;
      if ((isMap(node) || isSeq(node)) && !node.flow) delete node.comment;
    },
  });
  commentBlocks.set(doc, blocks);
}

/** Put the blocks `attachCommentBlocks` took out back after the lines of their owners. */
function placeCommentBlocks(text: string, blocks: CommentBlocks): string {
  const lines = text.split("\n");
  const out: string[] = [];
  for (const line of lines) {
    const indexes = [...line.matchAll(BLOCK_MARK)].map((m) => Number(m[1]));
    if (indexes.length === 0) {
      out.push(line);
      continue;
    }
    // The mark alone makes an empty comment (` #`), which goes with it.
    out.push(line.replace(BLOCK_MARK, "").replace(/[ \t]*#$/, ""));
    for (const i of indexes) out.push((blocks.blocks[i] ?? "").replace(/\n$/, ""));
  }
  return blocks.head.replace(/\r\n/g, "\n") + out.join("\n");
}

export interface PrepareOptions {
  /**
   * Keep each block of full-line comments and blank lines with the line before it, as ruamel
   * does, rather than with the node after it (see `attachCommentBlocks`).
   */
  ruamelCommentBlocks?: boolean;
}

/** Ready a freshly parsed Document (of `text`) for editing: its comments where ruamel would print them. */
export function prepareForEdit(doc: Document, text: string, options: PrepareOptions = {}): void {
  keepKeyLineComments(doc, text);
  markCommentColumns(doc, text);
  if (options.ruamelCommentBlocks) attachCommentBlocks(doc, text);
}

const SCALAR_TYPE = { plain: Scalar.PLAIN, single: Scalar.QUOTE_SINGLE, double: Scalar.QUOTE_DOUBLE } as const;

/** Stands for a string value in the printed text: `\ufdd2<index>\ufdd2`. */
const VALUE_MARK = /\ufdd2(\d+)\ufdd2/g;

/**
 * Replace each string value of block context by a mark, for `foldValues` to write it as ruamel
 * does once its column is known (ruamel folds a long value past column 80; `yaml` folds otherwise
 * or not at all). Keys are never folded; values inside flow collections are left to `yaml`.
 */
function holdFoldableValues(doc: Document): string[] {
  const values: string[] = [];
  visit(doc, {
    Map(_, node) {
      if (node.flow) return visit.SKIP;
    },
    Seq(_, node) {
      if (node.flow) return visit.SKIP;
    },
    Scalar(key, node) {
      if (key === "key" || typeof node.value !== "string") return;
      if (node.type === Scalar.BLOCK_LITERAL || node.type === Scalar.BLOCK_FOLDED) return;
      node.value = `\ufdd2${values.push(node.value) - 1}\ufdd2`;
      node.type = Scalar.PLAIN;
    },
  });
  return values;
}

/** Write each value `holdFoldableValues` held as ruamel writes it at its column. */
function foldValues(text: string, values: readonly string[]): string {
  if (values.length === 0) return text;
  return text
    .split("\n")
    .map((line) =>
      line.replace(VALUE_MARK, (_, index: string, offset: number) => {
        const before = line.slice(0, offset);
        const column = Array.from(before).length;
        // A sequence item continues at its own column, a mapping value two past its key's.
        const lead = (/^(?: *- )* */.exec(before) as RegExpExecArray)[0];
        const indent = lead.length === before.length ? column : Array.from(lead).length + 2;
        return emitScalarAt(values[Number(index)] as string, column, indent);
      }),
    )
    .join("\n");
}

/**
 * Print an edited Document as ruamel would dump it: every string's quoting re-decided by ruamel's
 * rules (it re-decides them on every dump; block scalars stay), null as nothing, sequences not
 * indented under their key, no line folding, comments at their columns. `originalText` is the text
 * the Document was parsed from. LF line endings.
 */
export function printEdited(doc: Document, originalText: string): string {
  visit(doc, {
    Scalar(key, node) {
      // ruamel writes null as nothing (`key:`), whatever the source said (`~`, `null`).
      if (node.value === null) delete node.source;
      if (typeof node.value !== "string") return;
      if (node.type === Scalar.BLOCK_LITERAL || node.type === Scalar.BLOCK_FOLDED) return;
      node.type = SCALAR_TYPE[chooseScalarStyle(node.value, key === "key")];
    },
  });
  const values = holdFoldableValues(doc);
  let text = foldValues(
    doc.toString({ indentSeq: false, lineWidth: 0, flowCollectionPadding: false, nullStr: "" }),
    values,
  );
  // `yaml` puts an empty line before a comment at the end of the document; keep the original's.
  if (doc.comment) {
    const trailing = `\n${doc.comment.replace(/^(?!$)(?: $)?/gm, "#")}\n`;
    if (text.endsWith(`\n${trailing}`) && !originalText.replace(/\r\n/g, "\n").endsWith(`\n${trailing}`))
      text = text.slice(0, text.length - trailing.length - 1) + trailing;
  }
  const blocks = commentBlocks.get(doc);
  return blocks ? placeCommentBlocks(restoreCommentColumns(text), blocks) : restoreCommentColumns(text);
}

/** A YAML file parsed for editing: the Document, and its content as plain data. */
export interface EditableYaml {
  doc: Document;
  /** The top-level mapping as plain data; `{}` for an empty file or one holding only comments. */
  data: Record<string, unknown>;
}

/**
 * Parse a file that holds one mapping (or nothing), for `rewriteMapping`. Throws FormatError
 * naming `file` for invalid YAML, a file too large or deep, or a top level that is not a mapping.
 */
export function parseForEdit(text: string, file: string): EditableYaml {
  const tooBig = yamlLimitProblem(text, MAX_HANDWRITTEN_YAML_BYTES);
  if (tooBig !== undefined) throw new FormatError(file, `${tooBig}: restore it from git`);
  const doc = parseDocument(text, { version: "1.2", schema: "core", uniqueKeys: true, prettyErrors: false });
  const err = doc.errors[0];
  if (err)
    throw new FormatError(file, `not valid YAML: ${err.message.replace(/\s+/g, " ").trim()}: fix the syntax first`);
  const contents = doc.contents;
  if (contents !== null && !(isScalar(contents) && contents.value === null) && !isMap(contents))
    throw new FormatError(file, "must hold a YAML mapping at the top level: fix the file first");
  const data = isMap(contents) ? (toPlain(contents, doc) as Record<string, unknown>) : {};
  return { doc, data };
}

/**
 * The text of a mapping file after DVC rewrote it with `next`, its new content as plain data
 * (ruamel round-trip load, `apply_diff(next, old)`, dump). A file our emitter writes exactly as it
 * is (anything DVC wrote, without comments or flow style) is re-emitted from plain data, which
 * gives DVC's bytes; any other is edited as a Document so that comments and styles stay. An empty
 * file, or one holding only comments, is written anew. Keeps CRLF line endings.
 */
export function rewriteMapping(old: string, parsed: EditableYaml, next: Record<string, unknown>): string {
  const { doc, data } = parsed;
  const crlf = old.includes("\r\n");
  const withEol = (text: string): string => (crlf ? text.replace(/\n/g, "\r\n") : text);
  if (!isMap(doc.contents)) return withEol(dumpYaml(next as YamlValue));
  if (dumpYaml(data as YamlValue) === old.replace(/\r\n/g, "\n")) {
    applyDiff(next, data);
    return withEol(dumpYaml(data as YamlValue));
  }
  prepareForEdit(doc, old, { ruamelCommentBlocks: true });
  applyDiffToNode(next, doc.contents, doc);
  return withEol(printEdited(doc, old));
}
