// biome-ignore-all lint/suspicious/noTemplateCurlyInString: commands hold literal ${...} text
/**
 * `dumpYaml` against the real ruamel.yaml 0.17.21 that DVC 3.64 dumps with (`YAML()` round-trip,
 * `default_flow_style = False`): a few hundred generated documents (long strings folded at many
 * columns and depths, every quoting style, unicode, long keys, Python floats and big ints) must
 * come out byte for byte as ruamel writes them.
 */
import { spawnSync } from "node:child_process";
import { existsSync, realpathSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { requireDvc } from "../../../test-fixtures/dvc-peer.js";
import { dumpYaml, emitScalar, PyFloat, type YamlValue } from "../src/formats/yaml-scalar.js";

const PYTHON = "/usr/bin/python3";

/** One Python process dumps every document of the JSON list on stdin, and prints the texts as a JSON list. */
const RUAMEL_DUMP = `
import io, json, sys
import ruamel.yaml
from ruamel.yaml import YAML
if ruamel.yaml.__version__ != "0.17.21":
    sys.exit("ruamel.yaml " + ruamel.yaml.__version__ + " is not the 0.17.21 of DVC 3.64")
yaml = YAML()
yaml.default_flow_style = False
texts = []
for doc in json.load(sys.stdin):
    out = io.StringIO()
    yaml.dump(doc, out)
    texts.append(out.getvalue())
json.dump(texts, sys.stdout)
`;

import { seededRandom } from "../../../test-fixtures/random.js";

/** The reference build's Python packages, next to the `dvc` wrapper (ruamel itself is Debian's). */
function dvcPythonPath(dvc: string): string | undefined {
  const lib = join(dirname(realpathSync(dvc)), "..", "dvc-3.64.0-py311-debian12", "lib", "python");
  return existsSync(lib) ? lib : undefined;
}

/** ruamel's Python, or undefined (with a loud warning; an error under CI=true) when it cannot run. */
function ruamelPython(): { env: NodeJS.ProcessEnv } | undefined {
  const dvc = requireDvc("the YAML emitter's comparisons with ruamel");
  if (!dvc) return undefined;
  const pythonPath = dvcPythonPath(dvc);
  const env = { ...process.env, PYTHONPATH: pythonPath ?? "" };
  const probe = spawnSync(PYTHON, ["-s", "-c", "import ruamel.yaml; print(ruamel.yaml.__version__)"], {
    env,
    encoding: "utf8",
  });
  if (probe.status === 0 && probe.stdout.trim() === "0.17.21") return { env };
  const why = `${PYTHON} cannot import ruamel.yaml 0.17.21 (${probe.error?.message ?? (probe.stderr || probe.stdout).trim()}); install python3-ruamel.yaml (bash ../shared/dvc/install.sh)`;
  if (process.env.CI === "true") throw new Error(`CI=true: the YAML emitter's comparisons with ruamel need it: ${why}`);
  process.stderr.write(`\n!!! ${why}\n!!! THE YAML EMITTER'S COMPARISONS WITH RUAMEL ARE SKIPPED\n\n`);
  return undefined;
}

/** JSON that Python's `json.loads` reads back with the same types: PyFloat as a float (`1.0`), bigint as an int, Map order kept. */
function toPythonJson(value: YamlValue): string {
  if (value === null) return "null";
  if (typeof value === "boolean") return String(value);
  if (typeof value === "bigint") return String(value);
  if (typeof value === "number" || value instanceof PyFloat) {
    const n = typeof value === "number" ? value : value.value;
    if (Number.isNaN(n)) return "NaN";
    if (!Number.isFinite(n)) return n > 0 ? "Infinity" : "-Infinity";
    if (value instanceof PyFloat) return Object.is(n, -0) ? "-0.0" : Number.isInteger(n) ? `${n}.0` : String(n);
    return String(n);
  }
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(toPythonJson).join(", ")}]`;
  const entries = value instanceof Map ? [...value.entries()] : Object.entries(value);
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}: ${toPythonJson(v as YamlValue)}`).join(", ")}}`;
}

function ruamelDump(python: { env: NodeJS.ProcessEnv }, docs: readonly YamlValue[]): string[] {
  const r = spawnSync(PYTHON, ["-s", "-c", RUAMEL_DUMP], {
    input: `[${docs.map(toPythonJson).join(",\n")}]`,
    env: python.env,
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`ruamel dump failed (exit ${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as string[];
}

// ---- deterministic documents ----

const WORDS = [
  "a",
  "to",
  "the",
  "echo",
  "python",
  "train.py",
  "--epochs",
  "3",
  "--lr",
  "0.001",
  "data/prepared/train.csv",
  "&&",
  ">",
  "'a",
  "b'",
  "x:",
  "y",
  "#tag",
  "a#b",
  "-",
  "ünï",
  "中文字符",
  "😀",
  "é",
  "${item}",
  "\\n",
  "|",
  "a,b",
  "[x]",
  "{y}",
  "%s",
  "`cmd`",
  '"q"',
  "averyveryverylongwordwithoutanyspaceinsideitatall_0123456789",
];

function makeStrings(rand: () => number) {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  /** Words joined by single spaces (now and then two), up to about `length` code points. */
  const sentence = (length: number): string => {
    let text = pick(WORDS);
    while (Array.from(text).length < length) text += (rand() < 0.05 ? "  " : " ") + pick(WORDS);
    return text;
  };
  const string = (): string => {
    const length = int(0, 9) < 7 ? int(40, 200) : int(0, 40);
    switch (int(0, 11)) {
      case 0:
        return `${int(0, 999)} ${sentence(length)}`; // a leading number: single-quoted or plain
      case 1:
        return `x: ${sentence(length)}`; // ": " makes it single-quoted
      case 2:
        return `${sentence(length)} `; // a trailing space: single-quoted, never folded at the end
      case 3:
        return ` ${sentence(length)}`; // a leading space
      case 4:
        return `${sentence(length / 2)}\n${sentence(length / 2)}${rand() < 0.5 ? "\n" : ""}`; // double-quoted
      case 5:
        return `it's ${sentence(length)}`; // a quote: double-quoted
      case 6:
        return `${sentence(length / 2)}\t${sentence(length / 2)}`; // a tab: double-quoted
      case 7:
        return pick(["123", "1.5", "true", "null", "~", "", "yes", "no", "0x1f", "1e5", "2024-01-02", "-", "- a", "'"]);
      case 8:
        return `${sentence(length / 3)}\u2028${sentence(length / 3)}`;
      default:
        return sentence(length);
    }
  };
  const key = (): string => {
    switch (int(0, 9)) {
      case 0:
        return sentence(int(100, 140)); // near and past ruamel's simple-key limit
      case 1:
        return pick(["123", "10", "9", "true", "x: y", "", "- a", "it's", "a\nb", "é", "😀😀"]);
      case 2:
        return "k".repeat(int(118, 126));
      default:
        return (
          pick(["cmd", "path", "md5", "outs", "deps", "params.yaml", "lr", "model", "name", "desc", "a b"]) +
          (rand() < 0.5 ? String(int(0, 9)) : "")
        );
    }
  };
  const scalar = (): YamlValue => {
    switch (int(0, 13)) {
      case 0:
        return int(-5, 100000);
      case 1:
        return new PyFloat(pick([1, 0.001, 1e-5, 1.5e20, 3.25, -0, 1e16, 123456789.5, Infinity, -2.5]));
      case 2:
        return pick([10n ** 20n, -(10n ** 22n), 2n ** 64n]);
      case 3:
        return rand() < 0.5;
      case 4:
        return null;
      case 5:
        return rand() < 0.5 ? [] : {};
      default:
        return string();
    }
  };
  return { int, key, scalar, string };
}

function makeDocument(seed: number): YamlValue {
  const rand = seededRandom(seed);
  const { int, key, scalar } = makeStrings(rand);
  const value = (depth: number): YamlValue => {
    const r = rand();
    if (depth >= 5 || r < 0.55) return scalar();
    if (r < 0.75) return Array.from({ length: int(1, 4) }, () => value(depth + 1));
    return mapping(depth + 1);
  };
  const mapping = (depth: number): YamlValue => {
    const map = new Map<string, YamlValue>();
    const size = int(1, 5);
    while (map.size < size) map.set(key(), value(depth));
    return map;
  };
  return rand() < 0.9 ? mapping(0) : Array.from({ length: int(1, 4) }, () => value(1));
}

/** Documents shaped like the ones DVC writes, with values at the lock's depths. */
const HAND_PICKED: YamlValue[] = [
  {
    schema: "2.0",
    stages: {
      one: {
        cmd: "echo python t.py --epochs 3 --verbose --name 'a b' --tags x y --lr 0.1 --local 7 --extra 5 ${notinterp} d2",
      },
      multi: {
        cmd: "line one is here and it is fairly long so that it wraps around the limit\nsecond line\n",
      },
      lst: { cmd: [`echo ${"word ".repeat(30)}`, "x: y ".repeat(25)] },
    },
  },
  {
    params: { "params.yaml": { f1: new PyFloat(1e-5), f3: new PyFloat(1), f4: 10n ** 20n, f5: new PyFloat(Infinity) } },
  },
  { a: "b".repeat(79), c: `${"d".repeat(78)} e f`, g: `${"h".repeat(79)} i j` },
];

const DOCUMENTS: YamlValue[] = [...HAND_PICKED, ...Array.from({ length: 400 }, (_, i) => makeDocument(i + 1))];

const python = ruamelPython();

describe.skipIf(!python)("dumpYaml against ruamel.yaml 0.17.21", { timeout: 60_000 }, () => {
  it("writes every generated document byte for byte as ruamel does", () => {
    const expected = ruamelDump(python as { env: NodeJS.ProcessEnv }, DOCUMENTS);
    const mismatches = DOCUMENTS.flatMap((doc, i) => {
      const ours = dumpYaml(doc);
      return ours === expected[i] ? [] : [{ document: i, ruamel: expected[i], mlv: ours }];
    });
    expect(mismatches.slice(0, 3)).toEqual([]);
    expect(mismatches.length).toBe(0);
  });

  it("folds: the generated documents do contain folded and explicit-key lines", () => {
    const texts = DOCUMENTS.map(dumpYaml).join("");
    // A continuation line of a folded plain or single-quoted scalar, a wrapped double-quoted one, a `? key`.
    expect(texts).toMatch(/\n +[^-?:\s][^:\n]*\n/);
    expect(texts).toMatch(/\\\n +(?:\\ )?\S/);
    expect(texts).toMatch(/\n? *\? \S/);
  });
});

describe("dumpYaml", () => {
  it("folds a long command as DVC's lock shows it (P-6 'one')", () => {
    const cmd =
      "echo python t.py --epochs 3 --verbose --name 'a b' --tags x y --lr 0.1 --local 7 --extra 5 ${notinterp} d2";
    expect(dumpYaml({ stages: { one: { cmd } } })).toBe(
      "stages:\n  one:\n    cmd: echo python t.py --epochs 3 --verbose --name 'a b' --tags x y --lr 0.1 --local\n      7 --extra 5 ${notinterp} d2\n",
    );
  });

  it("wraps a double-quoted scalar with escaped line breaks (spec §3.5)", () => {
    const cmd = "line one is here and it is fairly long so that it wraps around the limit\nsecond line\n";
    expect(dumpYaml({ stages: { s: { cmd } } })).toBe(
      'stages:\n  s:\n    cmd: "line one is here and it is fairly long so that it wraps around the limit\\n\\\n      second line\\n"\n',
    );
  });

  it("writes Python floats with repr and big ints as decimals (P-4)", () => {
    expect(
      dumpYaml({
        f1: new PyFloat(1e-5),
        f3: new PyFloat(1),
        f4: 10n ** 20n,
        f5: new PyFloat(Infinity),
        f7: new PyFloat(1.5e20),
        n: new PyFloat(Number.NaN),
        z: new PyFloat(-0),
        i: 1,
      }),
    ).toBe("f1: 1e-05\nf3: 1.0\nf4: 100000000000000000000\nf5: .inf\nf7: 1.5e+20\nn: .nan\nz: -0.0\ni: 1\n");
    expect(emitScalar(new PyFloat(0.001))).toBe("0.001");
  });

  it("keeps a Map's key order, integer-like keys included", () => {
    expect(
      dumpYaml(
        new Map<string, YamlValue>([
          ["b", 1],
          ["10", 2],
          ["9", 3],
        ]),
      ),
    ).toBe("b: 1\n'10': 2\n'9': 3\n");
  });
});
