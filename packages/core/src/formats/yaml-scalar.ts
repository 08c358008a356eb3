/**
 * A YAML emitter that writes the same bytes as DVC: ruamel.yaml 0.17.21 in round-trip mode with
 * `default_flow_style = False` (spec §1.4). General-purpose YAML libraries choose quoting and
 * indentation differently, and every difference shows up as a git diff when DVC or mlv rewrites
 * the other's file, so the scalar rules below are a port of ruamel's `Emitter.analyze_scalar`,
 * `Emitter.choose_scalar_style` and the YAML 1.2 implicit resolvers of `ruamel/yaml/resolver.py`.
 *
 * Only the block subset that DVC writes is supported: block mappings and sequences (sequences not
 * indented under their parent key), empty collections as `[]` / `{}`, and scalars.
 *
 * Not reproduced (deliberately):
 * - Folding of long scalars. ruamel breaks a scalar that contains spaces onto continuation lines
 *   once the line passes ~80 columns; we always write it on one line. Any YAML reader reads both
 *   forms the same; only the bytes of such a line differ from DVC's.
 * - Strings holding U+0085, U+2028 or U+2029 but no `\n`: ruamel writes them as multi-line single
 *   quoted scalars; we double-quote them with escapes.
 */

/** How a string scalar is written. */
export type ScalarStyle = "plain" | "single" | "double";

/** A value the block emitter accepts: what a JSON/YAML document holds. */
export type YamlValue = null | boolean | number | string | readonly YamlValue[] | { readonly [key: string]: YamlValue };

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
  if (analysis.multiline) return "double"; // see the header: U+0085/U+2028/U+2029 without "\n"
  if (analysis.allowSingleQuoted) return "single";
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

/** Port of ruamel's `write_double_quoted` (without line folding). */
function doubleQuote(value: string): string {
  let out = '"';
  for (const ch of value) {
    const cp = ch.codePointAt(0) as number;
    const raw =
      ch !== '"' &&
      ch !== "\\" &&
      cp !== 0x85 &&
      cp !== 0x2028 &&
      cp !== 0x2029 &&
      cp !== 0xfeff &&
      ((cp >= 0x20 && cp <= 0x7e) || (cp >= 0xa0 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd));
    if (raw) out += ch;
    else {
      const short = DOUBLE_ESCAPES[ch];
      if (short !== undefined) out += `\\${short}`;
      else if (cp <= 0xff) out += `\\x${hex(cp, 2)}`;
      else if (cp <= 0xffff) out += `\\u${hex(cp, 4)}`;
      else out += `\\U${hex(cp, 8)}`;
    }
  }
  return `${out}"`;
}

/** A string as ruamel writes it in block context: plain, 'single' or "double" quoted. */
export function emitString(value: string, simpleKey = false): string {
  switch (chooseScalarStyle(value, simpleKey)) {
    case "plain":
      return value;
    case "single":
      return `'${value.replaceAll("'", "''")}'`;
    case "double":
      return doubleQuote(value);
  }
}

/** A float the way Python's `repr` (and so ruamel's `represent_float`) writes it. */
function pythonFloatRepr(value: number): string {
  if (Number.isNaN(value)) return ".nan";
  if (value === Number.POSITIVE_INFINITY) return ".inf";
  if (value === Number.NEGATIVE_INFINITY) return "-.inf";
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

/** A scalar value as ruamel writes it. `null` is written as the empty string, as DVC's dumper does. */
export function emitScalar(value: null | boolean | number | string, simpleKey = false): string {
  if (value === null) return "";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number") return Number.isSafeInteger(value) ? String(value) : pythonFloatRepr(value);
  return emitString(value, simpleKey);
}

function isScalar(value: YamlValue): value is null | boolean | number | string {
  return value === null || typeof value !== "object";
}

function isEmptyCollection(value: YamlValue): boolean {
  return Array.isArray(value) ? value.length === 0 : Object.keys(value as object).length === 0;
}

/** ruamel writes a key in the explicit `? key` form when it is multi-line or 128+ characters long. */
function isSimpleKey(key: string): boolean {
  return key.length < 128 && !/[\n\x85\u2028\u2029]/.test(key);
}

function emitMapping(
  map: { readonly [key: string]: YamlValue },
  indent: number,
  lead: string | null,
  lines: string[],
): void {
  let first = true;
  const pad = " ".repeat(indent);
  for (const [key, value] of Object.entries(map)) {
    const prefix = first && lead !== null ? lead : pad;
    first = false;
    if (!isSimpleKey(key)) {
      // The explicit `? key` form, as ruamel writes a multi-line or very long key.
      lines.push(`${prefix}? ${emitScalar(key, false)}`);
      if (isScalar(value) || isEmptyCollection(value)) lines.push(`${pad}:${inlineValue(value)}`);
      else {
        lines.push(`${pad}:`);
        if (Array.isArray(value)) emitSequence(value as readonly YamlValue[], indent + 2, null, lines);
        else emitMapping(value as { readonly [key: string]: YamlValue }, indent + 2, null, lines);
      }
      continue;
    }
    const keyText = emitScalar(key, true);
    if (isScalar(value) || isEmptyCollection(value)) {
      lines.push(`${prefix}${keyText}:${inlineValue(value)}`);
    } else if (Array.isArray(value)) {
      lines.push(`${prefix}${keyText}:`);
      emitSequence(value as readonly YamlValue[], indent, null, lines);
    } else {
      lines.push(`${prefix}${keyText}:`);
      emitMapping(value as { readonly [key: string]: YamlValue }, indent + 2, null, lines);
    }
  }
}

/** The text after `key:` for a scalar or empty collection: ` value`, or nothing for null. */
function inlineValue(value: YamlValue): string {
  if (value === null) return "";
  if (Array.isArray(value)) return " []";
  if (!isScalar(value)) return " {}";
  return ` ${emitScalar(value)}`;
}

function emitSequence(seq: readonly YamlValue[], indent: number, lead: string | null, lines: string[]): void {
  const pad = " ".repeat(indent);
  seq.forEach((item, i) => {
    const dash = `${i === 0 && lead !== null ? lead : pad}- `;
    if (item === null)
      lines.push(dash); // ruamel writes "- " with the trailing space
    else if (isScalar(item) || isEmptyCollection(item)) lines.push(`${dash}${inlineValue(item).slice(1)}`);
    else if (Array.isArray(item)) emitSequence(item as readonly YamlValue[], indent + 2, dash, lines);
    else emitMapping(item as { readonly [key: string]: YamlValue }, indent + 2, dash, lines);
  });
}

/**
 * Serialize a document the way DVC's `dump_yaml` does: block style, mappings indented by 2,
 * sequences at the indentation of their parent key, LF line endings, a final newline.
 * Key order is the insertion order of each object.
 */
export function dumpYaml(value: YamlValue): string {
  if (isScalar(value)) return `${emitScalar(value)}\n`;
  if (isEmptyCollection(value)) return Array.isArray(value) ? "[]\n" : "{}\n";
  const lines: string[] = [];
  if (Array.isArray(value)) emitSequence(value as readonly YamlValue[], 0, null, lines);
  else emitMapping(value as { readonly [key: string]: YamlValue }, 0, null, lines);
  return `${lines.join("\n")}\n`;
}
