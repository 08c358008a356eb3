import { describe, expect, it } from "vitest";
import { FormatError } from "../src/errors.js";
import {
  decodeUtf8,
  getDotted,
  isPyTuple,
  parseParamsFile,
  pyEquals,
  pyRepr,
  pyStr,
  pythonJson,
  unsupportedType,
} from "../src/formats/params-file.js";
import { type ParamValue, PyFloat } from "../src/formats/pipeline.js";

function failure(fn: () => unknown): FormatError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(FormatError);
    return err as FormatError;
  }
  throw new Error("expected a FormatError");
}

/** P-4: the params.yaml of the lock rendering vector. */
const P4_YAML = `f1: 1e-5
f2: 0.00001
f3: 1.0
f4: 100000000000000000000
f5: .inf
f6: 3.14159265358979
f7: 1.5e+20
i1: 0x1f
i2: 0o17
s1: "123"
s2: "x: y"
s3: yes
s4: ~
s6: "multi\\nline"
s7: ünï
s8: ""
b1: True
l1: []
d1: {}
d2: {z: 1, a: 2}
`;

describe("YAML params files (P-4)", () => {
  const data = parseParamsFile(P4_YAML, "params.yaml");

  it("keeps floats apart from ints, and prints them as Python does", () => {
    for (const key of ["f1", "f2", "f3", "f5", "f6", "f7"]) expect(data[key]).toBeInstanceOf(PyFloat);
    expect(data.f3).toEqual(new PyFloat(1));
    const reprs = ["f1", "f2", "f3", "f5", "f6", "f7"].map((key) => pyRepr((data[key] as PyFloat).value));
    expect(reprs).toEqual(["1e-05", "1e-05", "1.0", "inf", "3.14159265358979", "1.5e+20"]);
  });

  it("reads big, hex and octal ints exactly", () => {
    expect(data.f4).toBe(100000000000000000000n);
    expect(data.i1).toBe(31);
    expect(data.i2).toBe(15);
  });

  it("reads strings, null, booleans and collections as YAML 1.2 does", () => {
    expect(data).toMatchObject({ s1: "123", s2: "x: y", s3: "yes", s4: null, s6: "multi\nline", s7: "ünï", s8: "" });
    expect(data.b1).toBe(true);
    expect(data.l1).toEqual([]);
    expect(data.d1).toEqual({});
    expect(Object.keys(data.d2 as object)).toEqual(["z", "a"]);
  });

  it("reads more of ruamel's scalars: underscores, leading zeros, `1.`, -.inf, `no`", () => {
    const more = parseParamsFile("a: 1_000\nb: 012\nc: 1.\nd: -.inf\ne: no\nf: 0b101\ng: _1\n", "p.yaml");
    expect(more).toEqual({
      a: 1000,
      b: 12,
      c: new PyFloat(1),
      d: new PyFloat(Number.NEGATIVE_INFINITY),
      e: "no",
      f: 5,
      g: "_1",
    });
  });

  it("gives {} for an empty file, and applies merge keys", () => {
    expect(parseParamsFile("", "params.yaml")).toEqual({});
    const merged = parseParamsFile("a: &x {p: 1, q: 2}\nc: &y {q: 5, r: 6}\nb: {z: 0, <<: [*x, *y], p: 9}\n", "p.yaml");
    expect(merged.b).toEqual({ q: 2, r: 6, p: 9, z: 0 });
    expect(Object.keys(merged.b as object)).toEqual(["q", "r", "p", "z"]);
  });

  it("keeps timestamps as text, marked as the date types DVC's context refuses", () => {
    const dated = parseParamsFile("d: 2020-01-01\nt: 2020-01-01 10:00:00\nl: [2021-02-03]\n", "params.yaml");
    expect(dated).toEqual({ d: "2020-01-01", t: "2020-01-01 10:00:00", l: ["2021-02-03"] });
    expect(unsupportedType(dated, "d")).toBe("date");
    expect(unsupportedType(dated, "t")).toBe("datetime");
    expect(unsupportedType(dated.l as object, 0)).toBe("date");
  });

  it("fails on a corrupted file, on duplicate keys and on an alias bomb", () => {
    expect(failure(() => parseParamsFile("a: [1\n", "params.yaml")).message).toBe(
      "unable to read: 'params.yaml', YAML file structure is corrupted",
    );
    expect(failure(() => parseParamsFile("a: 1\na: 2\n", "p.yaml")).message).toContain(
      "YAML file structure is corrupted",
    );
    const levels = ["a: &a [x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      levels.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${prev}`).join(", ")}]`,
      );
    }
    const started = Date.now();
    expect(failure(() => parseParamsFile(`${levels.join("\n")}\n`, "bomb.yaml")).message).toContain("corrupted");
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("refuses a file that is not a mapping", () => {
    expect(failure(() => parseParamsFile("- 1\n", "l.yaml")).message).toBe(
      "expected a dictionary, got 'list' in file 'l.yaml'",
    );
  });
});

describe("JSON params files", () => {
  it("keeps Python's types (P-4's p.json)", () => {
    const text =
      '{"j1": 1e-5, "j2": 1.0, "j3": 10000000000000000000000, "j4": null, "j5": "é", "j6": [1, {"b": 2, "a": 1}]}';
    const data = parseParamsFile(text, "p.json");
    expect(data).toEqual({
      j1: new PyFloat(1e-5),
      j2: new PyFloat(1),
      j3: 10000000000000000000000n,
      j4: null,
      j5: "é",
      j6: [1, { b: 2, a: 1 }],
    });
    expect(Object.keys((data.j6 as ParamValue[])[1] as object)).toEqual(["b", "a"]);
  });

  it("reads NaN and Infinity, escapes, and the last of duplicate keys", () => {
    const data = parseParamsFile('{"a": NaN, "b": -Infinity, "c": "\\u00e9\\n", "d": 1, "d": 2}', "P.JSON");
    expect(Number.isNaN((data.a as PyFloat).value)).toBe(true);
    expect(data.b).toEqual(new PyFloat(Number.NEGATIVE_INFINITY));
    expect(data.c).toBe("é\n");
    expect(data.d).toBe(2);
  });

  it("gives {} for null and fails on an empty file", () => {
    expect(parseParamsFile("null", "p.json")).toEqual({});
    expect(failure(() => parseParamsFile("", "p.json")).message).toBe(
      "unable to read: 'p.json', JSON file structure is corrupted",
    );
    expect(failure(() => parseParamsFile('{"a": 1,}', "p.json")).message).toContain("JSON file structure is corrupted");
  });
});

describe("TOML params files", () => {
  it("reads the whole file with tables as mappings, ints and floats apart", () => {
    const data = parseParamsFile(
      'alpha = 1.5\nbig = 100000000000000000000\n[model]\ndepth = 3\nrate = 1.0\nname = "x"\n[[runs]]\nseed = 1\n',
      "cfg.toml",
    );
    expect(data).toEqual({
      alpha: new PyFloat(1.5),
      big: 100000000000000000000n,
      model: { depth: 3, rate: new PyFloat(1), name: "x" },
      runs: [{ seed: 1 }],
    });
  });

  it("marks dates, and fails on a corrupted file", () => {
    const data = parseParamsFile("d = 2020-01-01\n", "c.toml");
    expect(unsupportedType(data, "d")).toBe("date");
    expect(failure(() => parseParamsFile("a = \n", "c.toml")).message).toBe(
      "unable to read: 'c.toml', TOML file structure is corrupted",
    );
  });
});

describe("Python params files", () => {
  const PY = `import os
from dataclasses import dataclass

LR = 0.001
EPOCHS: int = 10
NAME = 'x' "y"
RAW = r'a\\b'
ESC = "tab\\there \\x41\\u00e9"
NEG = -3
BIG = 100000000000000000000
SIZES = [1, 2,
         3]
SHAPE = (1, 2)
ONE = (1,)
MAPPING = {'a': 1, "b": [True, None]}
UNIQUE = {1, 2, 1}
HEX = 0x1F
FLAG = False
SKIPPED = os.getcwd()
FSTRING = f"{LR}"
A = B = 1
x, y = 1, 2

@dataclass
class Train:
    lr = 0.5
    seed: int = 7

    def __init__(self):
        self.bs = 32
        local = 5

    def other(self):
        self.nope = 1

if __name__ == "__main__":
    IGNORED = 1
`;

  it("reads top-level literals, classes and self attributes of __init__", () => {
    const data = parseParamsFile(PY, "params.py");
    expect(data).toEqual({
      LR: new PyFloat(0.001),
      EPOCHS: 10,
      NAME: "xy",
      RAW: "a\\b",
      ESC: "tab\there Aé",
      NEG: -3,
      BIG: 100000000000000000000n,
      SIZES: [1, 2, 3],
      SHAPE: [1, 2],
      ONE: [1],
      MAPPING: { a: 1, b: [true, null] },
      UNIQUE: [1, 2],
      HEX: 31,
      FLAG: false,
      Train: { lr: new PyFloat(0.5), seed: 7, bs: 32 },
    });
    expect(isPyTuple(data.SHAPE)).toBe(true);
    expect(pyStr(data.SHAPE as ParamValue)).toBe("(1, 2)");
    expect(pyStr(data.ONE as ParamValue)).toBe("(1,)");
    expect(unsupportedType(data, "SHAPE")).toBe("tuple");
    expect(unsupportedType(data, "UNIQUE")).toBe("set");
  });

  it("fails on a file Python cannot parse", () => {
    expect(failure(() => parseParamsFile("A = (1,\n", "p.py")).message).toBe(
      "unable to read: 'p.py', Python file structure is corrupted",
    );
    expect(failure(() => parseParamsFile("  A = 1\n", "p.py")).message).toContain("Python file structure is corrupted");
  });
});

describe("reading bytes", () => {
  it("refuses invalid UTF-8 with DVC's message", () => {
    const bytes = new Uint8Array([0x61, 0x3a, 0x20, 0xff, 0x0a]);
    expect(failure(() => parseParamsFile(bytes, "params.yaml")).message).toBe(
      "unable to read: 'params.yaml', is not valid utf-8",
    );
    expect(failure(() => decodeUtf8(bytes, "p.json")).message).toBe("unable to read: 'p.json', is not valid utf-8");
    expect(parseParamsFile(new TextEncoder().encode("a: é\n"), "params.yaml")).toEqual({ a: "é" });
  });
});

describe("Python semantics", () => {
  it("pyEquals is Python's ==", () => {
    expect(pyEquals(1, new PyFloat(1))).toBe(true);
    expect(pyEquals(true, 1)).toBe(true);
    expect(pyEquals(new PyFloat(1), true)).toBe(true);
    expect(pyEquals(0, false)).toBe(true);
    expect(pyEquals("1", 1)).toBe(false);
    expect(pyEquals(null, 0)).toBe(false);
    expect(pyEquals({ a: 1, b: [1, 2] }, { b: [1, 2], a: new PyFloat(1) })).toBe(true);
    expect(pyEquals([1, 2], [2, 1])).toBe(false);
    expect(pyEquals(100000000000000000000n, new PyFloat(1e20))).toBe(true);
    expect(pyEquals(new PyFloat(Number.NaN), new PyFloat(Number.NaN))).toBe(false);
    const tuple = parseParamsFile("T = (1, 2)\n", "p.py").T as ParamValue;
    expect(pyEquals(tuple, [1, 2])).toBe(true);
  });

  it("pyStr is Python's str()", () => {
    expect(pyStr(true)).toBe("True");
    expect(pyStr(null)).toBe("None");
    expect(pyStr(new PyFloat(0.01))).toBe("0.01");
    expect(pyStr(new PyFloat(1))).toBe("1.0");
    expect(pyStr(new PyFloat(1e-5))).toBe("1e-05");
    expect(pyStr([1, 2])).toBe("[1, 2]");
    expect(pyStr(["x", "y"])).toBe("['x', 'y']");
    expect(pyStr({ a: 1 })).toBe("{'a': 1}");
    expect(pyStr(["it's", 'say "hi"', "both ' \""])).toBe(`["it's", 'say "hi"', 'both \\' "']`);
    expect(pyStr("plain")).toBe("plain");
  });

  it("pyRepr writes floats as Python's repr", () => {
    const cases: [number, string][] = [
      [1e-5, "1e-05"],
      [1.5e20, "1.5e+20"],
      [1e16, "1e+16"],
      [1234567890123456, "1234567890123456.0"],
      [0.0001, "0.0001"],
      [0.1, "0.1"],
      [3, "3.0"],
      [-2.5, "-2.5"],
      [-0, "-0.0"],
      [Number.POSITIVE_INFINITY, "inf"],
      [Number.NEGATIVE_INFINITY, "-inf"],
      [Number.NaN, "nan"],
    ];
    for (const [value, text] of cases) expect(pyRepr(value)).toBe(text);
  });

  it("pythonJson is json.dumps, keys sorted on request", () => {
    const value: ParamValue = { b: 1, a: [new PyFloat(1), new PyFloat(1e-5), "é", null, true, 10n ** 22n] };
    expect(pythonJson(value)).toBe('{"b": 1, "a": [1.0, 1e-05, "\\u00e9", null, true, 10000000000000000000000]}');
    expect(pythonJson(value, { sortKeys: true })).toBe(
      '{"a": [1.0, 1e-05, "\\u00e9", null, true, 10000000000000000000000], "b": 1}',
    );
    expect(pythonJson(new PyFloat(Number.POSITIVE_INFINITY))).toBe("Infinity");
  });

  it("getDotted looks keys up as dpath does", () => {
    const data: ParamValue = { a: { b: [10, 20, { c: 1 }] }, "x.y": 5, n: null };
    expect(getDotted(data, "a.b.1")).toBe(20);
    expect(getDotted(data, "a.b.-1")).toEqual({ c: 1 });
    expect(getDotted(data, "a.b.2.c")).toBe(1);
    expect(getDotted(data, "a.b.01")).toBe(20);
    expect(getDotted(data, "n")).toBeNull();
    expect(getDotted(data, "x.y")).toBeUndefined();
    expect(getDotted(data, "a.b.5")).toBeUndefined();
    expect(getDotted(data, "a.c")).toBeUndefined();
    expect(getDotted(data, "a.b.1.z")).toBeUndefined();
  });
});
