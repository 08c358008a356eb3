import { describe, expect, it } from "vitest";
import { FormatError } from "../src/errors.js";
import { parseLockFile } from "../src/formats/dvc-lock.js";
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
  });
});
