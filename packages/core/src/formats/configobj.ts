/**
 * The ConfigObj INI dialect DVC writes `.dvc/config` in, read and written byte for byte as
 * configobj 5.0.8 does (spec §5.2). Hand-written on purpose: the regular expressions and quoting
 * rules below are ports of configobj's own (`_sectionmarker`, `_keyword`, `_valueexp`,
 * `_listvalueexp`, `_multiline`, `_quote`, `_write_line`, `_write_marker`), so that a file mlv
 * rewrites is the file DVC would have written.
 *
 * Only what DVC uses is supported: one level of `[section]`, `key = value` lines, list values,
 * triple-quoted values and `#` comments (which are read and dropped, as DVC drops them).
 */
import { ConfigError, FormatError } from "../errors.js";

/** A value as read: a string, or a list for an unquoted comma-separated value (`a, b`). */
export type ConfigValue = string | string[];
/** The keys of one section, in file order. */
export type ConfigSection = Map<string, ConfigValue>;
/**
 * Sections in file order, by name as written but lowercased (`core`, `remote "storage"`).
 * Keys that come before any section header (DVC never writes them) are in section `""`.
 */
export type ConfigData = Map<string, ConfigSection>;

// Ports of configobj's expressions (its VERBOSE regexes with whitespace and comments removed).
const SECTION_MARKER =
  /^(\s*)((?:\[\s*)+)((?:"\s*\S.*?\s*")|(?:'\s*\S.*?\s*')|(?:[^'"\s].*?))((?:\s*\])+)(\s*(?:#.*)?)?$/;
const KEYWORD = /^(\s*)((?:".*?")|(?:'.*?')|(?:[^'"=].*?))\s*=\s*(.*)$/;
const VALUE =
  /^(?:(?:((?:(?:(?:".*?")|(?:'.*?')|(?:[^'",#][^,#]*?))\s*,\s*)*)((?:".*?")|(?:'.*?')|(?:[^'",#\s][^,]*?)|(?:(?<!,)))?)|(,))(\s*(?:#.*)?)?$/;
const LIST_ITEM = /((?:".*?")|(?:'.*?')|(?:[^'",#]?.*?))\s*,\s*/g;
const TRIPLE = {
  "'''": { single: /^'''(.*?)'''(\s*(?:#.*)?)?$/, last: /^(.*?)'''(\s*(?:#.*)?)?$/ },
  '"""': { single: /^"""(.*?)"""(\s*(?:#.*)?)?$/, last: /^(.*?)"""(\s*(?:#.*)?)?$/ },
} as const;

/** Characters that force quoting at the start or end of a value (configobj's `wspace_plus`). */
const WSPACE_PLUS = " \r\n\v\t'\"";
const INDENT = "    ";

/** Python's str.splitlines(): configobj splits on every one of these. */
function splitLines(text: string): string[] {
  const lines: string[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const isBreak =
      c === 0x0a ||
      c === 0x0d ||
      c === 0x0b ||
      c === 0x0c ||
      (c >= 0x1c && c <= 0x1e) ||
      c === 0x85 ||
      c === 0x2028 ||
      c === 0x2029;
    if (!isBreak) continue;
    lines.push(text.slice(start, i));
    if (c === 0x0d && text.charCodeAt(i + 1) === 0x0a) i++;
    start = i + 1;
  }
  if (start < text.length) lines.push(text.slice(start));
  return lines;
}

/** configobj's `_unquote`; an empty item (as in `a,,b`) is an error, signalled by `undefined`. */
function unquote(value: string): string | undefined {
  if (!value) return undefined;
  const q = value[0];
  if ((q === '"' || q === "'") && value[value.length - 1] === q) return value.slice(1, -1);
  return value;
}

/** configobj's `_handle_value` (list_values on): a value with its comment removed, or undefined if malformed. */
function parseValue(raw: string): ConfigValue | undefined {
  const m = VALUE.exec(raw);
  if (!m) return undefined;
  const listValues = m[1];
  let single = m[2];
  if (m[3] !== undefined) return []; // a lone comma: the empty list
  // Python's `(...)?` captures '' where JavaScript leaves an empty optional group unset; the only
  // case where that changes the result is a value with no list part (an empty value).
  if (single === undefined && listValues === "") single = "";
  let last: string | undefined;
  if (single !== undefined && !(listValues && !single)) {
    last = unquote(single || '""');
  }
  if (!listValues) return last;
  const items: string[] = [];
  for (const item of listValues.matchAll(LIST_ITEM)) {
    const value = unquote(item[1] ?? "");
    if (value === undefined) return undefined;
    items.push(value);
  }
  if (last !== undefined) items.push(last);
  return items;
}

/**
 * Parse ConfigObj text. Section names and keys are lowercased (DVC's `_lower_keys`); comments are
 * dropped. `file` names the file in errors, which are FormatErrors with the 1-based line number.
 */
export function parseConfigObj(text: string, file: string): ConfigData {
  const lines = splitLines(text.startsWith("\ufeff") ? text.slice(1) : text);
  const data: ConfigData = new Map();
  let section: ConfigSection | undefined;
  let sectionLabel = "";
  let rawKeys = new Set<string>();
  const rawSections = new Set<string>();

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? "";
    const lineNo = i + 1;
    const stripped = line.trim();
    if (!stripped || stripped.startsWith("#")) continue;

    const marker = SECTION_MARKER.exec(line);
    if (marker) {
      const open = (marker[2] ?? "").split("[").length - 1;
      const close = (marker[4] ?? "").split("]").length - 1;
      if (open !== close) throw new FormatError(file, `unbalanced brackets in section header '${stripped}'`, lineNo);
      if (open !== 1) throw new FormatError(file, `nested sections are not supported: '${stripped}'`, lineNo);
      const rawName = unquote(marker[3] ?? "") ?? "";
      if (rawSections.has(rawName)) throw new FormatError(file, `duplicate section '[${rawName}]'`, lineNo);
      rawSections.add(rawName);
      const name = rawName.toLowerCase();
      section = new Map();
      sectionLabel = `section '[${rawName}]'`;
      rawKeys = new Set();
      data.set(name, section); // a case variant of an earlier section replaces it, as in DVC
      continue;
    }

    const keyword = KEYWORD.exec(line);
    if (!keyword) throw new FormatError(file, `expected 'key = value', got '${stripped}'`, lineNo);
    const rawKey = unquote(keyword[2] ?? "") ?? "";
    const rawValue = keyword[3] ?? "";
    let value: ConfigValue | undefined;
    const quot = rawValue.slice(0, 3);
    if (quot === "'''" || quot === '"""') {
      const res = parseMultiline(quot, rawValue, lines, i);
      if (!res) throw new FormatError(file, `unterminated or malformed ${quot}-quoted value of '${rawKey}'`, lineNo);
      value = res.value;
      i = res.lastIndex;
    } else {
      value = parseValue(rawValue);
      if (value === undefined)
        throw new FormatError(
          file,
          `cannot read the value of '${rawKey}': ${rawValue} (check its quotes and commas)`,
          lineNo,
        );
    }

    if (rawKeys.has(rawKey))
      throw new FormatError(file, `duplicate key '${rawKey}' in ${section ? sectionLabel : "the top level"}`, lineNo);
    rawKeys.add(rawKey);
    if (!section) {
      section = new Map();
      data.set("", section);
    }
    section.set(rawKey.toLowerCase(), value);
  }
  return data;
}

/** configobj's `_multiline`: the value, and the index of the line holding the closing quotes. */
function parseMultiline(
  quot: "'''" | '"""',
  value: string,
  lines: string[],
  index: number,
): { value: string; lastIndex: number } | undefined {
  const re = TRIPLE[quot];
  const one = re.single.exec(value);
  if (one) return { value: one[1] ?? "", lastIndex: index };
  let acc = value.slice(3);
  if (acc.includes(quot)) return undefined;
  let i = index;
  let line: string | undefined;
  while (i < lines.length - 1) {
    i++;
    acc += "\n";
    const candidate = lines[i] ?? "";
    if (candidate.includes(quot)) {
      line = candidate;
      break;
    }
    acc += candidate;
  }
  if (line === undefined) return undefined;
  const last = re.last.exec(line);
  if (!last) return undefined;
  return { value: acc + (last[1] ?? ""), lastIndex: i };
}

function cannotQuote(value: string): ConfigError {
  return new ConfigError(
    `the value ${JSON.stringify(value)} cannot be written to a config file: it holds both kinds of quotes where configobj cannot quote them`,
    { value },
  );
}

/** configobj's `_get_single_quote`. */
function singleQuote(value: string): string {
  if (value.includes("'") && value.includes('"')) throw cannotQuote(value);
  return value.includes('"') ? `'${value}'` : `"${value}"`;
}

/**
 * configobj's `_quote` for one string (list_values on, write_empty_values off). `multiline` is
 * false for keys, section names and list items: they cannot use triple quotes.
 */
export function quoteString(value: string, multiline = true): string {
  if (value === "") return '""';
  const hasSingle = value.includes("'");
  const hasDouble = value.includes('"');
  const needTriple = multiline && ((hasSingle && hasDouble) || value.includes("\n"));
  let quoted: string | undefined;
  if (needTriple) {
    if (value.includes('"""') && value.includes("'''")) throw cannotQuote(value);
    return value.includes("'''") ? `"""${value}"""` : `'''${value}'''`;
  }
  if (value.includes("\n")) throw cannotQuote(value);
  const first = value[0] ?? "";
  const last = value[value.length - 1] ?? "";
  if (!WSPACE_PLUS.includes(first) && !WSPACE_PLUS.includes(last) && !value.includes(",")) {
    quoted = value.includes("#") ? singleQuote(value) : value;
  } else {
    quoted = singleQuote(value);
  }
  return quoted;
}

/** configobj's `_quote` for a value: lists are written `a, b`, `a,` (one item) or `,` (empty). */
export function quoteValue(value: ConfigValue): string {
  if (typeof value === "string") return quoteString(value, true);
  if (value.length === 0) return ",";
  if (value.length === 1) return `${quoteString(value[0] ?? "", false)},`;
  return value.map((v) => quoteString(v, false)).join(", ");
}

/**
 * Write `data` as configobj 5.0.8 writes it: top-level keys first (unindented), then each section
 * as `[name]` (quoted like a value, so `['remote "x"']`) with its keys indented four spaces, lines
 * joined by `newline` and a final newline (an empty file is just the newline, as configobj does).
 * Comments are not written. An empty section is written as a bare header, as configobj does: DVC
 * drops empty plain sections before writing, which is the caller's business.
 */
export function serializeConfigObj(data: ConfigData, newline = "\n"): string {
  const out: string[] = [];
  const writeKeys = (section: ConfigSection, indent: string) => {
    for (const [key, value] of section) out.push(`${indent}${quoteString(key, false)} = ${quoteValue(value)}`);
  };
  const top = data.get("");
  if (top) writeKeys(top, "");
  for (const [name, section] of data) {
    if (name === "") continue;
    out.push(`[${quoteString(name, false)}]`);
    writeKeys(section, INDENT);
  }
  const text = out.join(newline);
  return text.endsWith(newline) ? text : text + newline;
}
