// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the YAML texts hold DVC templates, `${...}`
/**
 * The fast reader of plain block YAML must give exactly what the full parser gives, or nothing:
 * checked on generated documents mixing what it accepts with what it must leave to the parser.
 */
import { describe, expect, it } from "vitest";
import { seededRandom } from "../../../test-fixtures/random.js";
import { entriesInFileOrder, parseYamlDocument } from "../src/formats/params-file.js";
import { type ParamValue, PyFloat } from "../src/formats/pipeline.js";
import { parseSimpleYaml } from "../src/formats/simple-yaml.js";

/** A value with its types spelled out (float vs int, key order), for deep comparison. */
function shape(value: ParamValue): unknown {
  if (value instanceof PyFloat) return { float: value.value };
  if (typeof value === "bigint") return { bigint: String(value) };
  if (Array.isArray(value)) return { list: value.map(shape) };
  if (value !== null && typeof value === "object")
    return { map: entriesInFileOrder(value as Record<string, ParamValue>).map(([k, v]) => [k, shape(v)]) };
  return value;
}

function full(text: string): unknown {
  try {
    return shape(parseYamlDocument(text, (detail) => new Error(detail)).value);
  } catch (err) {
    return { error: (err as Error).message };
  }
}

const KEYS = [
  "cmd",
  "deps",
  "outs",
  "lr",
  "train.batch",
  "data/raw.csv",
  "a-b",
  "x@1",
  "_k",
  "1",
  "<<",
  "a b",
  "Key",
  "yes",
  "true",
  "é",
];
const SCALARS = [
  "python train.py --lr ${lr}",
  "foo",
  "42",
  "-7",
  "0",
  "-0",
  "007",
  "3.14",
  "1.0",
  "-0.5",
  "1e-05",
  ".5",
  "1_000",
  "0x1f",
  "true",
  "True",
  "false",
  "null",
  "~",
  "Null",
  "yes",
  "no",
  "2024-01-02",
  "a: b",
  "a:b",
  "ends:",
  "-",
  "-x",
  "- y",
  "'quoted'",
  '"double"',
  "[1, 2]",
  "{a: 1}",
  "&anchor",
  "*alias",
  "!tag x",
  "|",
  ">",
  "?",
  ":x",
  "%x",
  "@x",
  "x #comment",
  "x#y",
  "ünï",
  "12345678901234567890",
  "9007199254740993",
  "0.1000000000000000055511151231257827",
  "=",
];

function generate(next: () => number): string {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)] as T;
  const lines: string[] = [];
  const sameIndentSeq = next() < 0.7;
  const emit = (depth: number, indent: number, kind: "map" | "seq") => {
    const count = 1 + Math.floor(next() * 3);
    const pad = " ".repeat(indent);
    for (let i = 0; i < count; i++) {
      if (next() < 0.1) lines.push(`${pad}# a comment`);
      if (next() < 0.05) lines.push("");
      const comment = next() < 0.1 ? "  # trailing" : "";
      const child = depth < 3 && next() < 0.4 ? (next() < 0.5 ? "map" : "seq") : undefined;
      if (kind === "map") {
        const key = next() < 0.85 ? pick(KEYS.slice(0, 9)) + (next() < 0.5 ? "" : String(i)) : pick(KEYS);
        if (!child) lines.push(`${pad}${key}: ${pick(SCALARS)}${comment}`);
        else {
          lines.push(`${pad}${key}:${comment}`);
          emit(depth + 1, child === "seq" && sameIndentSeq ? indent : indent + 2, child);
        }
      } else if (!child) lines.push(`${pad}- ${pick(SCALARS)}${comment}`);
      else if (child === "map" && next() < 0.7) {
        // `- key: value` with the mapping's next keys under the key.
        const key = pick(KEYS.slice(0, 9));
        lines.push(`${pad}- ${key}: ${pick(SCALARS)}`);
        const before = lines.length;
        emit(depth + 1, indent + 2, "map");
        if (lines.length === before) lines.pop();
      } else {
        lines.push(`${pad}-${comment}`);
        emit(depth + 1, indent + 2, child);
      }
    }
  };
  emit(0, 0, "map");
  if (next() < 0.05) lines.push("\ttabbed: x");
  if (next() < 0.05) lines.push("  continued line");
  return `${lines.join("\n")}\n`;
}

describe("the fast YAML reader", () => {
  it("reads DVC's own files the same as the full parser", () => {
    for (const text of [
      "stages:\n  copy:\n    cmd: cp foo bar\n    deps:\n    - foo\n    params:\n    - lr\n    - model\n    outs:\n    - bar\n",
      "lr: 0.001\nmodel:\n  depth: 3\n  act: relu\nseed: 7\n",
      "stages:\n  train:\n    cmd: sh train.sh\n    deps:\n    - train.sh\n    - data\n    outs:\n    - model\n    metrics:\n    - metrics.json:\n        cache: false\n    plots:\n    - plot.csv:\n        x: x\n        y: y\n",
      "# top\nstages:  # inline\n  a:\n    cmd: echo ${item}  # why\n    foreach:\n      - x\n      - y\n",
      "",
      "# only a comment\n",
    ]) {
      const simple = parseSimpleYaml(text);
      expect(simple, text).not.toBeUndefined();
      expect(shape(simple as ParamValue)).toEqual(full(text));
    }
  });

  it("leaves to the full parser what it does not read exactly", () => {
    for (const text of [
      "a: 'x'\n",
      "a: [1, 2]\n",
      "a: |\n  x\n",
      "a: b\na: c\n",
      "a:\n\tb: 1\n",
      "a: x\n  continued\n",
      "1: x\n",
      "a: 1e-05\n",
      "a: 0x1f\n",
      "a: 2024-01-02\n",
      "a: True\n",
      "---\na: 1\n",
      "<<: *x\n",
      "a: &x 1\n",
      "just a scalar\n",
    ])
      expect(parseSimpleYaml(text), text).toBeUndefined();
    // A key whose value the caller keeps as text (an md5 that looks like a number).
    expect(parseSimpleYaml("path: foo\nmd5: 0123\n", new Set(["md5"]))).toBeUndefined();
    expect(parseSimpleYaml("path: foo\nsize: 3\n", new Set(["md5"]))).toEqual({ path: "foo", size: 3 });
  });

  it("agrees with the full parser on every generated document it accepts", () => {
    const next = seededRandom(11);
    let accepted = 0;
    const total = 3000;
    for (let i = 0; i < total; i++) {
      const text = generate(next);
      const simple = parseSimpleYaml(text);
      if (simple === undefined) continue;
      accepted++;
      expect(shape(simple), text).toEqual(full(text));
    }
    // Enough of them are read the fast way for the comparison to mean something.
    expect(accepted).toBeGreaterThan(total / 10);
  });
});
