/**
 * A YAML emitter that writes the same bytes as DVC: ruamel.yaml 0.17.21 in round-trip mode with
 * `default_flow_style = False` (spec §1.4, pipelines spec §3.5). General-purpose YAML libraries
 * choose quoting, indentation and line breaks differently, and every difference shows up as a git
 * diff when DVC or mlv rewrites the other's file, so the rules below are a port of ruamel's
 * `Emitter` (`analyze_scalar`, `choose_scalar_style`, `check_simple_key`, `write_plain`,
 * `write_single_quoted`, `write_double_quoted`), its YAML 1.2 implicit resolvers
 * (`ruamel/yaml/resolver.py`) and the round-trip representer's scalars (Python float `repr`,
 * `.inf`, `.nan`, null as nothing).
 *
 * Only the block subset that DVC writes is supported: block mappings and sequences (sequences not
 * indented under their parent key), empty collections as `[]` / `{}`, and scalars. Long scalars
 * are folded as ruamel folds them: a plain or single-quoted scalar breaks at a single space once
 * the line is past column 80, a double-quoted one ends its line with an escaped line break.
 */

/** A Python float (from a params file), kept apart from integers so that `1.0` prints as Python does. */
export class PyFloat {
  constructor(readonly value: number) {}
}

/** How a string scalar is written. */
export type ScalarStyle = "plain" | "single" | "double";

/**
 * A scalar the emitter accepts. A JavaScript number is an int when it is a safe integer and a
 * float otherwise; PyFloat is always a float (`1.0`), bigint always an int.
 */
export type YamlScalar = null | boolean | number | bigint | PyFloat | string;

/** A mapping: a plain object, or a Map where the key order must survive integer-like keys (`"10"`, `"9"`). */
export type YamlMapping = { readonly [key: string]: YamlValue } | ReadonlyMap<string, YamlValue>;

/** A value the block emitter accepts: what a JSON/YAML document holds, with Python's number types. */
export type YamlValue = YamlScalar | readonly YamlValue[] | YamlMapping;

// The YAML 1.2 implicit resolvers of ruamel.yaml 0.17.21 (`implicit_resolvers`, entries for (1, 2)).
// A plain scalar matching one of these would be read back as a bool, float, int, null, timestamp,
// merge key or value key instead of a string, so such strings must be quoted.
// Each resolver is tried only for scalars whose first character is in its list, as ruamel does
// (so `_1` is a string although the int pattern would match it).
const NON_STRING_PLAIN: readonly (readonly [string, RegExp])[] = [
  ["tTfF", /^(?:true|True|TRUE|false|False|FALSE)$/],
  [
    "-+0123456789.",
    /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)|[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/,
  ],
  ["-+0123456789", /^(?:[-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?[0-9_]+|[-+]?0x[0-9a-fA-F_]+)$/],
  ["<", /^(?:<<)$/],
  ["~nN", /^(?:~|null|Null|NULL)$/],
  [
    "0123456789",
    /^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$/,
  ],
  ["=", /^(?:=)$/],
  ["!&*", /^(?:!|&|\*)$/],
];

/**
 * Whether a plain scalar with this text would be read as something other than a string by
 * ruamel.yaml (YAML 1.2). Note that `yes`, `no`, `on`, `off` are strings in YAML 1.2, and ruamel
 * (hence DVC) writes them unquoted.
 */
export function resolvesToNonString(text: string): boolean {
  if (text === "") return true; // null
  const first = text[0] as string;
  return NON_STRING_PLAIN.some(([firsts, re]) => firsts.includes(first) && re.test(text));
}

const WHITESPACE_OR_END = new Set(["\0", " ", "\t", "\r", "\n", "\x85", "\u2028", "\u2029"]);
const LINE_BREAKS = new Set(["\n", "\x85", "\u2028", "\u2029"]);
const LEADING_INDICATORS = new Set("#,[]{}&*!|>'\"%@`");

interface Analysis {
  empty: boolean;
  multiline: boolean;
  allowBlockPlain: boolean;
  allowSingleQuoted: boolean;
}

/** Port of ruamel's `Emitter.analyze_scalar` for block context, `allow_unicode=True`, YAML 1.2. */
function analyzeScalar(scalar: string): Analysis {
  if (scalar === "") return { empty: true, multiline: false, allowBlockPlain: true, allowSingleQuoted: true };
  const chars = Array.from(scalar); // by code point, as Python iterates a str
  let blockIndicators = scalar.startsWith("---") || scalar.startsWith("...");
  let lineBreaks = false;
  let special = false;
  let leadingSpace = false;
  let leadingBreak = false;
  let trailingSpace = false;
  let trailingBreak = false;
  let breakSpace = false;
  let spaceBreak = false;
  let precededByWhitespace = true;
  let followedByWhitespace = chars.length === 1 || WHITESPACE_OR_END.has(chars[1] as string);
  let previousSpace = false;
  let previousBreak = false;
  const last = chars.length - 1;
  for (let index = 0; index < chars.length; index++) {
    const ch = chars[index] as string;
    if (index === 0) {
      if (LEADING_INDICATORS.has(ch)) blockIndicators = true;
      if ((ch === "?" || ch === ":") && followedByWhitespace) blockIndicators = true;
      if (ch === "-" && followedByWhitespace) blockIndicators = true;
    } else {
      if (ch === ":" && followedByWhitespace) blockIndicators = true;
      if (ch === "#" && precededByWhitespace) blockIndicators = true;
    }
    if (LINE_BREAKS.has(ch)) lineBreaks = true;
    const cp = ch.codePointAt(0) as number;
    if (!(ch === "\n" || (cp >= 0x20 && cp <= 0x7e))) {
      const unicodeOk =
        (cp === 0x85 ||
          (cp >= 0xa0 && cp <= 0xd7ff) ||
          (cp >= 0xe000 && cp <= 0xfffd) ||
          (cp >= 0x10000 && cp <= 0x10ffff)) &&
        cp !== 0xfeff;
      if (!unicodeOk) special = true;
    }
    if (ch === " ") {
      if (index === 0) leadingSpace = true;
      if (index === last) trailingSpace = true;
      if (previousBreak) breakSpace = true;
      previousSpace = true;
      previousBreak = false;
    } else if (LINE_BREAKS.has(ch)) {
      if (index === 0) leadingBreak = true;
      if (index === last) trailingBreak = true;
      if (previousSpace) spaceBreak = true;
      previousSpace = false;
      previousBreak = true;
    } else {
      previousSpace = false;
      previousBreak = false;
    }
    precededByWhitespace = WHITESPACE_OR_END.has(ch);
    followedByWhitespace = index + 2 >= chars.length || WHITESPACE_OR_END.has(chars[index + 2] as string);
  }
  let allowBlockPlain = true;
  let allowSingleQuoted = true;
  if (leadingSpace || leadingBreak || trailingSpace || trailingBreak) allowBlockPlain = false;
  if (breakSpace) allowBlockPlain = allowSingleQuoted = false;
  if (special || spaceBreak) allowBlockPlain = allowSingleQuoted = false;
  if (lineBreaks) allowBlockPlain = false;
  if (blockIndicators) allowBlockPlain = false;
  return { empty: false, multiline: lineBreaks, allowBlockPlain, allowSingleQuoted };
}

/**
 * The style ruamel (and so DVC) uses for a string: port of `Emitter.choose_scalar_style` for a
 * block-context scalar without a requested style. `simpleKey` is true for mapping keys.
 */
export function chooseScalarStyle(value: string, simpleKey = false): ScalarStyle {
  const analysis = analyzeScalar(value);
  if (!resolvesToNonString(value) && !(simpleKey && (analysis.empty || analysis.multiline)) && analysis.allowBlockPlain)
    return "plain";
  if (value.includes("'") || value.includes("\n")) return "double";
  if (analysis.allowSingleQuoted && !(simpleKey && analysis.multiline)) return "single";
  return "double";
}

const DOUBLE_ESCAPES: Record<string, string> = {
  "\0": "0",
  "\x07": "a",
  "\x08": "b",
  "\t": "t",
  "\n": "n",
  "\x0b": "v",
  "\x0c": "f",
  "\r": "r",
  "\x1b": "e",
  '"': '"',
  "\\": "\\",
  "\x85": "N",
  "\xa0": "_",
  "\u2028": "L",
  "\u2029": "P",
};

function hex(cp: number, width: number): string {
  return cp.toString(16).toUpperCase().padStart(width, "0");
}

/** The escape sequence of a character a double-quoted scalar cannot hold as is; undefined for the others. */
function doubleQuotedEscape(ch: string): string | undefined {
  const cp = ch.codePointAt(0) as number;
  const raw =
    ch !== '"' &&
    ch !== "\\" &&
    cp !== 0x85 &&
    cp !== 0x2028 &&
    cp !== 0x2029 &&
    cp !== 0xfeff &&
    ((cp >= 0x20 && cp <= 0x7e) || (cp >= 0xa0 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd));
  if (raw) return undefined;
  const short = DOUBLE_ESCAPES[ch];
  if (short !== undefined) return `\\${short}`;
  if (cp <= 0xff) return `\\x${hex(cp, 2)}`;
  if (cp <= 0xffff) return `\\u${hex(cp, 4)}`;
  return `\\U${hex(cp, 8)}`;
}

/** A float the way Python's `repr` (and so ruamel's `represent_float`) writes it. */
function pythonFloatRepr(value: number): string {
  if (Number.isNaN(value)) return ".nan";
  if (value === Number.POSITIVE_INFINITY) return ".inf";
  if (value === Number.NEGATIVE_INFINITY) return "-.inf";
  if (Object.is(value, -0)) return "-0.0";
  const [mantissa = "0", expText = "0"] = value.toExponential().split("e");
  const exp = Number(expText);
  const negative = mantissa.startsWith("-");
  const digits = mantissa.replace("-", "").replace(".", "");
  let body: string;
  if (exp >= -4 && exp < 16) {
    if (exp < 0) body = `0.${"0".repeat(-exp - 1)}${digits}`;
    else if (digits.length > exp + 1) body = `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
    else body = `${digits}${"0".repeat(exp + 1 - digits.length)}.0`;
  } else {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    body = `${m}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  }
  return negative ? `-${body}` : body;
}

/** The text of a scalar that is not a string (always written plain). `null` is the empty string, as DVC's dumper writes it. */
function nonStringText(value: Exclude<YamlScalar, string>): string {
  if (value === null) return "";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "bigint") return String(value);
  if (value instanceof PyFloat) return pythonFloatRepr(value.value);
  return Number.isSafeInteger(value) ? String(value) : pythonFloatRepr(value);
}

// ---------------------------------------------------------------------------------------------
// Writing, with ruamel's column bookkeeping (columns count code points, as Python's len does)

/** Past this column ruamel folds a scalar at its next single space (`Emitter.best_width`). */
const BEST_WIDTH = 80;

/** The output and the column the next character goes to. */
class Writer {
  private readonly parts: string[] = [];
  column = 0;

  write(text: string, width: number): void {
    this.parts.push(text);
    this.column += width;
  }

  /** `chars[start:end]`, as Python slices (empty when start >= end). */
  writeChars(chars: readonly string[], start: number, end: number): void {
    if (start >= end) return;
    this.write(chars.slice(start, end).join(""), end - start);
  }

  /** A new line, indented to `indent`. */
  newLine(indent: number): void {
    this.parts.push(`\n${" ".repeat(indent)}`);
    this.column = indent;
  }

  /** A line break character written as is (a single-quoted scalar's U+0085, U+2028, U+2029). */
  lineBreak(br: string): void {
    this.parts.push(br);
    this.column = 0;
  }

  padTo(indent: number): void {
    if (this.column < indent) this.write(" ".repeat(indent - this.column), indent - this.column);
  }

  text(): string {
    return this.parts.join("");
  }
}

/** Port of `write_plain` for a block scalar (which never holds a line break). */
function writePlain(w: Writer, chars: readonly string[], indent: number, split: boolean): void {
  let spaces = false;
  let start = 0;
  for (let end = 0; end <= chars.length; end++) {
    const ch = chars[end];
    if (spaces) {
      if (ch !== " ") {
        if (start + 1 === end && w.column > BEST_WIDTH && split) w.newLine(indent);
        else w.writeChars(chars, start, end);
        start = end;
      }
    } else if (ch === undefined || ch === " ") {
      w.writeChars(chars, start, end);
      start = end;
    }
    if (ch !== undefined) spaces = ch === " ";
  }
}

/** Port of `write_single_quoted`: folds at a single space past the width, never at either end. */
function writeSingleQuoted(w: Writer, chars: readonly string[], indent: number, split: boolean): void {
  w.write("'", 1);
  const n = chars.length;
  let spaces = false;
  let breaks = false;
  let start = 0;
  for (let end = 0; end <= n; end++) {
    const ch = chars[end];
    if (spaces) {
      if (ch !== " ") {
        if (start + 1 === end && w.column > BEST_WIDTH && split && start !== 0 && end !== n) w.newLine(indent);
        else w.writeChars(chars, start, end);
        start = end;
      }
    } else if (breaks) {
      if (ch === undefined || !LINE_BREAKS.has(ch)) {
        if (chars[start] === "\n") w.lineBreak("\n");
        for (const br of chars.slice(start, end)) w.lineBreak(br);
        w.padTo(indent);
        start = end;
      }
    } else if (ch === undefined || ch === " " || ch === "'" || LINE_BREAKS.has(ch)) {
      w.writeChars(chars, start, end);
      start = Math.max(start, end);
    }
    if (ch === "'") {
      w.write("''", 2);
      start = end + 1;
    }
    if (ch !== undefined) {
      spaces = ch === " ";
      breaks = LINE_BREAKS.has(ch);
    }
  }
  w.write("'", 1);
}

/**
 * Port of `write_double_quoted`: when the next chunk would end past the width, the line ends with
 * `\` (an escaped line break) after a space or an escape, and a leading space of the next line
 * is escaped.
 */
function writeDoubleQuoted(w: Writer, chars: readonly string[], indent: number, split: boolean): void {
  w.write('"', 1);
  const n = chars.length;
  let start = 0;
  for (let end = 0; end <= n; end++) {
    const ch = chars[end];
    const escaped = ch === undefined ? undefined : doubleQuotedEscape(ch);
    if (ch === undefined || escaped !== undefined) {
      w.writeChars(chars, start, end);
      start = Math.max(start, end);
      if (escaped !== undefined) {
        w.write(escaped, escaped.length);
        start = end + 1;
      }
    }
    if (0 < end && end < n - 1 && (ch === " " || start >= end) && w.column + (end - start) > BEST_WIDTH && split) {
      const width = Math.max(0, end - start);
      w.write(`${chars.slice(start, end).join("")}\\`, width + 1);
      if (start < end) start = end;
      w.newLine(indent);
      if (chars[start] === " ") w.write("\\", 1);
    }
  }
  w.write('"', 1);
}

/**
 * Write a scalar at the writer's column. `indent` is where a folded line continues; `split` is
 * false for simple keys, which are never folded.
 */
function writeScalar(w: Writer, value: YamlScalar, indent: number, split: boolean, simpleKey: boolean): void {
  if (typeof value !== "string") {
    const text = nonStringText(value);
    w.write(text, text.length);
    return;
  }
  const chars = Array.from(value);
  const style = chooseScalarStyle(value, simpleKey);
  if (style === "plain") writePlain(w, chars, indent, split);
  else if (style === "single") writeSingleQuoted(w, chars, indent, split);
  else writeDoubleQuoted(w, chars, indent, split);
}

/** A string as ruamel writes it in block context, on one line: plain, 'single' or "double" quoted. */
export function emitString(value: string, simpleKey = false): string {
  return emitScalar(value, simpleKey);
}

/** A scalar value as ruamel writes it, unfolded. `null` is written as the empty string, as DVC's dumper does. */
export function emitScalar(value: YamlScalar, simpleKey = false): string {
  const w = new Writer();
  writeScalar(w, value, 0, false, simpleKey);
  return w.text();
}

/**
 * A block-context value scalar as ruamel writes it when it starts at `column` (code points from
 * the line start) and folded lines continue at `indent` (the key's column + 2 for a mapping
 * value, the item's column for a sequence item). For printers that lay out the rest of the line.
 */
export function emitScalarAt(value: YamlScalar, column: number, indent: number): string {
  const w = new Writer();
  w.column = column;
  writeScalar(w, value, indent, true, false);
  return w.text();
}

function isScalar(value: YamlValue): value is YamlScalar {
  return value === null || typeof value !== "object" || value instanceof PyFloat;
}

function isMap(value: YamlValue): value is ReadonlyMap<string, YamlValue> {
  return value instanceof Map;
}

function entriesOf(mapping: YamlMapping): [string, YamlValue][] {
  return isMap(mapping) ? [...mapping.entries()] : Object.entries(mapping);
}

function isEmptyCollection(value: YamlValue): boolean {
  if (Array.isArray(value)) return value.length === 0;
  if (isMap(value)) return value.size === 0;
  return Object.keys(value as object).length === 0;
}

/**
 * Whether ruamel writes a key as a simple `key:` rather than in the explicit `? key` form: it is
 * single-line and, counted with its `!!str` tag, shorter than 128 characters.
 */
function isSimpleKey(key: string): boolean {
  let length = 5; // "!!str": ruamel counts the tag of every key, written or not
  for (const ch of key) {
    if (LINE_BREAKS.has(ch)) return false;
    length++;
  }
  return length < 128;
}

/** The flow form of an empty collection. */
function emptyText(value: YamlValue): string {
  return Array.isArray(value) ? "[]" : "{}";
}

/**
 * A mapping whose keys are at column `indent`. `inline`: the writer already stands at that column
 * (after `- ` or `? ... : `, or at the start of the document), so the first key needs no new line.
 */
function writeMapping(w: Writer, mapping: YamlMapping, indent: number, inline: boolean): void {
  entriesOf(mapping).forEach(([key, value], i) => {
    if (i > 0 || !inline) w.newLine(indent);
    if (isSimpleKey(key)) {
      writeScalar(w, key, indent + 2, false, true);
      w.write(":", 1);
      if (isScalar(value)) writeValueScalar(w, value, indent + 2);
      else if (isEmptyCollection(value)) w.write(` ${emptyText(value)}`, 3);
      else if (Array.isArray(value))
        writeSequence(w, value, indent, false); // not indented under its key
      else writeMapping(w, value as YamlMapping, indent + 2, false);
      return;
    }
    // The explicit form: `? key` (folded like a value), then `: value` on the next line.
    w.write("? ", 2);
    writeScalar(w, key, indent + 2, true, false);
    w.newLine(indent);
    w.write(":", 1);
    if (isScalar(value)) writeValueScalar(w, value, indent + 2);
    else if (isEmptyCollection(value)) w.write(` ${emptyText(value)}`, 3);
    else {
      w.write(" ", 1);
      if (Array.isArray(value)) writeSequence(w, value, indent + 2, true);
      else writeMapping(w, value as YamlMapping, indent + 2, true);
    }
  });
}

/** ` value` after a `:`; nothing for null. */
function writeValueScalar(w: Writer, value: YamlScalar, indent: number): void {
  if (value === null) return;
  w.write(" ", 1);
  writeScalar(w, value, indent, true, false);
}

/** A sequence whose dashes are at column `indent` (`inline` as for `writeMapping`). */
function writeSequence(w: Writer, items: readonly YamlValue[], indent: number, inline: boolean): void {
  items.forEach((item, i) => {
    if (i > 0 || !inline) w.newLine(indent);
    w.write("- ", 2); // ruamel writes "- " even before a null item
    if (isScalar(item)) writeScalar(w, item, indent + 2, true, false);
    else if (isEmptyCollection(item)) w.write(emptyText(item), 2);
    else if (Array.isArray(item)) writeSequence(w, item, indent + 2, true);
    else writeMapping(w, item as YamlMapping, indent + 2, true);
  });
}

/**
 * Serialize a document the way DVC's `dump_yaml` does: block style, mappings indented by 2,
 * sequences at the indentation of their parent key, long scalars folded, LF line endings, a final
 * newline. Key order is the insertion order of each object or Map.
 */
export function dumpYaml(value: YamlValue): string {
  if (isScalar(value)) return `${emitScalar(value)}\n`;
  if (isEmptyCollection(value)) return `${emptyText(value)}\n`;
  const w = new Writer();
  if (Array.isArray(value)) writeSequence(w, value, 0, true);
  else writeMapping(w, value as YamlMapping, 0, true);
  return `${w.text()}\n`;
}
