import { describe, expect, it } from "vitest";
import { FormatError } from "../src/errors.js";
import { parseCanonicalLock, parseLockFile, parseLockYaml } from "../src/formats/dvc-lock.js";
import { PyFloat } from "../src/formats/pipeline.js";

function failure(fn: () => unknown): FormatError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(FormatError);
    return err as FormatError;
  }
  throw new Error("expected a FormatError");
}

/** P-1: the lock of the minimal stage with params. */
const P1_LOCK = `schema: '2.0'
stages:
  copy:
    cmd: cp foo bar
    deps:
    - path: foo
      hash: md5
      md5: acbd18db4cc2f85cedef654fccc4a4d8
      size: 3
    params:
      params.yaml:
        lr: 0.001
        model:
          depth: 3
          act: relu
    outs:
    - path: bar
      hash: md5
      md5: acbd18db4cc2f85cedef654fccc4a4d8
      size: 3
`;

describe("parseLockFile", () => {
  it("reads a stage's command, deps, params and outs (P-1)", () => {
    const lock = parseLockFile(P1_LOCK, "dvc.lock");
    const copy = lock.stages.get("copy");
    expect(copy?.cmd).toBe("cp foo bar");
    expect(copy?.deps).toEqual([
      {
        path: "foo",
        hashName: "md5",
        md5: "acbd18db4cc2f85cedef654fccc4a4d8",
        size: 3,
        raw: { path: "foo", hash: "md5", md5: "acbd18db4cc2f85cedef654fccc4a4d8", size: 3 },
      },
    ]);
    expect(copy?.params).toEqual({ "params.yaml": { lr: new PyFloat(0.001), model: { depth: 3, act: "relu" } } });
    expect(Object.keys(copy?.params["params.yaml"]?.model as object)).toEqual(["depth", "act"]);
    expect(copy?.outs.map((o) => [o.path, o.hashName, o.md5])).toEqual([
      ["bar", "md5", "acbd18db4cc2f85cedef654fccc4a4d8"],
    ]);
  });

  it("reads an entry without `hash` as a DVC 2.x md5-dos2unix entry (P-12)", () => {
    const lock = parseLockFile(
      "schema: '2.0'\nstages:\n  s:\n    cmd: cat foo\n    deps:\n    - path: foo\n      md5: d3b07384d113edec49eaa6238ad5ff00\n      size: 5\n",
      "dvc.lock",
    );
    const dep = lock.stages.get("s")?.deps[0];
    expect(dep?.hashName).toBe("md5-dos2unix");
    expect(dep?.md5).toBe("d3b07384d113edec49eaa6238ad5ff00");
    expect(dep?.raw).toEqual({ path: "foo", md5: "d3b07384d113edec49eaa6238ad5ff00", size: 5 });
  });

  it("keeps stages in file order, list commands, directories and exec bits", () => {
    const lock = parseLockFile(
      `schema: '2.0'
stages:
  z: {cmd: echo z}
  lst:
    cmd:
    - echo one > o1
    - echo two >> o1
    outs:
    - path: data
      hash: md5
      md5: 5EA40360F5B4EC688DF672A4DB9C17D1.dir
      size: 6
      nfiles: 2
    - path: run.sh
      hash: md5
      md5: 0123456789012345678901234567890a
      isexec: true
  m:
    cmd: echo m
`,
      "dvc.lock",
    );
    expect([...lock.stages.keys()]).toEqual(["z", "lst", "m"]);
    const lst = lock.stages.get("lst");
    expect(lst?.cmd).toEqual(["echo one > o1", "echo two >> o1"]);
    expect(lst?.outs[0]).toMatchObject({ md5: "5ea40360f5b4ec688df672a4db9c17d1.dir", size: 6, nfiles: 2 });
    expect(lst?.outs[1]).toMatchObject({ md5: "0123456789012345678901234567890a", isexec: true });
  });

  it("keeps integer-like stage names in file order", () => {
    const lock = parseLockFile("schema: '2.0'\nstages:\n  b:\n    cmd: echo b\n  10:\n    cmd: echo 10\n", "dvc.lock");
    expect([...lock.stages.keys()]).toEqual(["b", "10"]);
  });

  it("keeps a hash that reads as a number as its text, leading zeros included", () => {
    const lock = parseLockFile(
      "schema: '2.0'\nstages:\n  s:\n    cmd: x\n    outs:\n    - path: o\n      hash: md5\n      md5: 01234567890123456789012345678901\n",
      "dvc.lock",
    );
    expect(lock.stages.get("s")?.outs[0]?.md5).toBe("01234567890123456789012345678901");
  });

  it("takes a URL dependency's etag as its hash", () => {
    const lock = parseLockFile(
      "schema: '2.0'\nstages:\n  s:\n    cmd: x\n    deps:\n    - path: https://example.com/f\n      hash: md5\n      etag: '\"AbC\"'\n      size: 3\n",
      "dvc.lock",
    );
    expect(lock.stages.get("s")?.deps[0]).toMatchObject({ hashName: "md5", md5: '"AbC"', size: 3 });
  });

  it("gives no stages for an empty file", () => {
    expect(parseLockFile("", "dvc.lock").stages.size).toBe(0);
    expect(parseLockFile("schema: '2.0'\n", "dvc.lock").stages.size).toBe(0);
  });

  it("fails like DVC on a lock that breaks the schema", () => {
    const message = (text: string) => failure(() => parseLockFile(text, "dvc.lock")).message;
    expect(message("stages:\n  s:\n    cmd: echo\n")).toBe(
      "'dvc.lock' validation failed: required key not provided, in schema",
    );
    expect(message("schema: 2.0\nstages:\n  s:\n    cmd: echo\n")).toBe(
      "'dvc.lock' validation failed: invalid schema version, in schema",
    );
    expect(message("schema: '2.0'\nstages:\n  s:\n    cmd: echo\n    deps:\n    - path: x\n      foo: 1\n")).toBe(
      "'dvc.lock' validation failed: extra keys not allowed, in stages -> s -> deps -> 0 -> foo, line 6",
    );
    expect(message("schema: '2.0'\nstages:\n  s:\n    deps:\n    - path: x\n")).toBe(
      "'dvc.lock' validation failed: required key not provided, in stages -> s -> cmd, line 4",
    );
    expect(message("schema: '2.0'\nstages:\n  s:\n    cmd: echo\n    deps:\n    - path: x\n      md5: 12\n")).toBe(
      "'dvc.lock' validation failed: not a valid value, in stages -> s -> deps -> 0 -> md5, line 6",
    );
    expect(message("schema: '2.0'\nstages:\n")).toBe("'dvc.lock' validation failed: expected a dictionary, in stages");
  });

  it("names the file in errors, and fails fast on an alias bomb", () => {
    expect(failure(() => parseLockFile("schema: '2.0'\nstages: [\n", "sub/dvc.lock")).message).toMatch(
      /^'sub\/dvc\.lock' is invalid: /,
    );
    const levels = ["a: &a [x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i < 9; i++) {
      const [name, prev] = [String.fromCharCode(97 + i), String.fromCharCode(96 + i)];
      levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(", ")}]`);
    }
    expect(failure(() => parseLockFile(`${levels.join("\n")}\n`, "dvc.lock")).message).toMatch(
      /^'dvc\.lock' is invalid/,
    );
    const deep = `schema: '2.0'\nstages:\n  s:\n    cmd: ${"[".repeat(5000)}${"]".repeat(5000)}\n`;
    expect(failure(() => parseLockFile(deep, "dvc.lock")).message).toMatch(
      /^'dvc\.lock' is invalid.*nests brackets more than 200 levels deep/,
    );
  });
});

/** The lock of P-3 (pipelines spec §10): folders, an exec file, a metrics file kept out of the cache. */
const P3_LOCK = `schema: '2.0'
stages:
  train:
    cmd: sh train.sh
    deps:
    - path: data
      hash: md5
      md5: 93c05f516d12266421a528e946068785.dir
      size: 3
      nfiles: 2
    - path: train.sh
      hash: md5
      md5: c8c1b3dba40062b5b06024e0b8605378
      size: 163
    outs:
    - path: metrics.json
      hash: md5
      md5: e5f4957673dc0b55d1bf8a8581a167b9
      size: 12
    - path: model
      hash: md5
      md5: ef0f7392db4695f7ffe96c4e61ae2869.dir
      size: 1
      nfiles: 1
    - path: plot.csv
      hash: md5
      md5: 344fd2323dd33d5c058b7cf27de029e8
      size: 8
    - path: predict.sh
      hash: md5
      md5: 3e2b31c72181b87149ff995e7202c0e3
      size: 10
      isexec: true
`;

describe("the canonical lock reader", () => {
  const entry = (path: string, md5: string, size: number, extra = "") =>
    `    - path: ${path}\n      hash: md5\n      md5: ${md5}\n      size: ${size}\n${extra}`;
  const generated = [
    "schema: '2.0'\nstages:\n",
    ...Array.from(
      { length: 40 },
      (_, n) =>
        `  gen-${n}:\n    cmd: python3 src/gen.py data/gen/${n} 1000 ${n}\n    deps:\n${entry("src/gen.py", "0".repeat(32), 10)}    params:\n      params.yaml:\n        gen.files: 1000\n        lr: 0.001\n        model:\n          depth: 3\n          act: relu\n    outs:\n${entry(`data/gen/${n}`, `${"a".repeat(32)}.dir`, 12345, "      nfiles: 1000\n")}${entry("../run.sh", "b".repeat(32), 7, "      isexec: true\n")}`,
    ),
  ].join("");
  const canonical = {
    "P-1": P1_LOCK,
    "P-3": P3_LOCK,
    "40 stages with params, folders, exec files and ../ paths": generated,
    "a callback stage": "schema: '2.0'\nstages:\n  d:\n    cmd: echo d\n",
  };
  const others = {
    "a legacy entry":
      "schema: '2.0'\nstages:\n  s:\n    cmd: cp foo bar\n    deps:\n    - path: foo\n      md5: d3b07384d113edec49eaa6238ad5ff00\n      size: 5\n",
    "a list command": "schema: '2.0'\nstages:\n  s:\n    cmd:\n    - echo a\n    - echo b\n",
    "a folded command": `schema: '2.0'\nstages:\n  s:\n    cmd: echo ${"word ".repeat(20)}\n      more words\n`,
    "a quoted path": `schema: '2.0'\nstages:\n  s:\n    cmd: echo\n    outs:\n${entry("'123'", "c".repeat(32), 1)}`,
    "a date-like path": `schema: '2.0'\nstages:\n  s:\n    cmd: echo\n    outs:\n${entry("2020-01-01", "c".repeat(32), 1)}`,
    "a command YAML reads as null": "schema: '2.0'\nstages:\n  s:\n    cmd: ~\n",
    "a stage named like a number": "schema: '2.0'\nstages:\n  10:\n    cmd: echo\n",
    "params that are not a mapping": "schema: '2.0'\nstages:\n  s:\n    cmd: echo\n    params:\n      params.yaml: 3\n",
  };

  it("reads DVC's own shape without the YAML parser, to the same result", () => {
    for (const [name, text] of Object.entries(canonical)) {
      const fast = parseCanonicalLock(text);
      expect(fast, name).toBeDefined();
      expect(fast, name).toEqual(parseLockYaml(text, "dvc.lock"));
    }
  });

  it("leaves every other shape to the YAML parser", () => {
    for (const [name, text] of Object.entries(others)) expect(parseCanonicalLock(text), name).toBeUndefined();
  });
});
