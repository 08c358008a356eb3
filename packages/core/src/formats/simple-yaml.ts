/**
 * A reader for the plain block YAML that `dvc.yaml` and `params.yaml` files nearly always are:
 * block mappings and sequences, plain scalars (strings, decimal ints and floats, true/false,
 * null), full-line and end-of-line comments. `status` and `repro` read these files on every start,
 * where the general YAML parser costs tens of milliseconds of a command that should take a few.
 *
 * Anything outside that subset (quotes, flow collections, block scalars, anchors, tags, merge
 * keys, multi-line plain scalars, tabs, document markers, duplicate or number-like keys, values
 * YAML would read as dates, hex or exponents) gives undefined, and the caller uses the full parser:
 * the result is the same value either way (the tests compare the two on generated documents).
 */
import { type ParamValue, PyFloat } from "./pipeline.js";
import { resolvesToNonString } from "./yaml-scalar.js";

interface Line {
  indent: number;
  content: string;
}

/** Thrown inside the reader when the text leaves the subset; never escapes it. */
class NotSimple extends Error {}

const KEY = /^[A-Za-z_][A-Za-z0-9_.\-/@+]*$/;
const INT = /^(?:0|-?[1-9][0-9]{0,14})$/;
const FLOAT = /^-?(?:0|[1-9][0-9]{0,7})\.[0-9]{1,8}$/;
/** First characters that make a scalar something other than a plain string. */
const INDICATORS = new Set("[]{}\"'|>&*!%@`?#,:");

function scalar(text: string): ParamValue {
  if (text === "true") return true;
  if (text === "false") return false;
  if (text === "null" || text === "~") return null;
  if (INT.test(text)) return Number(text);
  if (FLOAT.test(text)) return new PyFloat(Number(text));
  if (
    INDICATORS.has(text[0] as string) ||
    text === "-" ||
    text.startsWith("- ") ||
    text.includes(": ") ||
    text.endsWith(":") ||
    resolvesToNonString(text)
  )
    throw new NotSimple();
  return text;
}

/** The lines that carry content: comments and blank lines dropped, end-of-line comments cut. */
function contentLines(text: string): Line[] {
  if (/[\t\r\ufeff]/.test(text)) throw new NotSimple();
  const lines: Line[] = [];
  for (const raw of text.split("\n")) {
    const start = raw.search(/\S/);
    if (start === -1 || raw[start] === "#") continue;
    const comment = raw.indexOf(" #", start);
    const content = (comment === -1 ? raw.slice(start) : raw.slice(start, comment)).trimEnd();
    if (content === "---" || content === "..." || (start === 0 && content.startsWith("%"))) throw new NotSimple();
    lines.push({ indent: start, content });
  }
  return lines;
}

class Reader {
  private at = 0;

  constructor(
    private readonly lines: Line[],
    private readonly textKeys: ReadonlySet<string> | undefined,
  ) {}

  document(): ParamValue {
    if (this.lines.length === 0) return null;
    const first = this.lines[0] as Line;
    if (first.indent !== 0) throw new NotSimple();
    const value = this.node(0);
    if (this.at !== this.lines.length) throw new NotSimple();
    return value;
  }

  private isItem(line: Line): boolean {
    return line.content === "-" || line.content.startsWith("- ");
  }

  private node(indent: number): ParamValue {
    const line = this.lines[this.at] as Line;
    return this.isItem(line) ? this.sequence(indent) : this.mapping(indent);
  }

  /** A value that starts on the line after `key:` or `-`: deeper, or (for a key) a sequence at the key's own indent. */
  private nested(indent: number, allowSameIndentSequence: boolean): ParamValue {
    const next = this.lines[this.at];
    if (next && next.indent > indent) return this.node(next.indent);
    if (next && allowSameIndentSequence && next.indent === indent && this.isItem(next)) return this.sequence(indent);
    return null;
  }

  private mapping(indent: number): Record<string, ParamValue> {
    const map: Record<string, ParamValue> = {};
    for (let line = this.lines[this.at]; line && line.indent === indent; line = this.lines[this.at]) {
      if (this.isItem(line)) throw new NotSimple();
      const colon = line.content.indexOf(":");
      const key = line.content.slice(0, colon);
      const rest = line.content.slice(colon + 1);
      if (
        colon <= 0 ||
        !KEY.test(key) ||
        resolvesToNonString(key) ||
        Object.hasOwn(map, key) ||
        (rest !== "" && !rest.startsWith(" "))
      )
        throw new NotSimple();
      // Keys whose values the caller keeps as text (hashes): left to the full parser.
      if (this.textKeys?.has(key)) throw new NotSimple();
      this.at++;
      map[key] = rest === "" ? this.nested(indent, true) : scalar(rest.trim());
    }
    this.checkDedent(indent);
    return map;
  }

  private sequence(indent: number): ParamValue[] {
    const list: ParamValue[] = [];
    for (
      let line = this.lines[this.at];
      line && line.indent === indent && this.isItem(line);
      line = this.lines[this.at]
    ) {
      const rest = line.content.slice(1).trimStart();
      if (rest === "") {
        this.at++;
        list.push(this.nested(indent, false));
        continue;
      }
      // `- key: value` or `- - x`: a collection whose first line starts after the dash.
      const inner = line.indent + (line.content.length - rest.length);
      if (this.isItem({ indent: inner, content: rest }) || /^[^ ]*:(?: |$)/.test(rest)) {
        this.lines[this.at] = { indent: inner, content: rest };
        list.push(this.node(inner));
        continue;
      }
      this.at++;
      list.push(scalar(rest));
    }
    this.checkDedent(indent);
    return list;
  }

  /** A collection ends at a line less indented than it; a more indented one left over is a continuation line. */
  private checkDedent(indent: number): void {
    const next = this.lines[this.at];
    if (next && next.indent > indent) throw new NotSimple();
  }
}

/**
 * The document's value, or undefined when the text is not in the simple subset or holds one of
 * `textKeys` (whose values the full parser keeps as text).
 */
export function parseSimpleYaml(text: string, textKeys?: ReadonlySet<string>): ParamValue | undefined {
  try {
    return new Reader(contentLines(text), textKeys).document();
  } catch (err) {
    if (err instanceof NotSimple) return undefined;
    throw err;
  }
}
