// biome-ignore-all lint/suspicious/noTemplateCurlyInString: commands hold literal ${...} text
/**
 * Writing dvc.lock and run-cache entries: the spec's vectors byte for byte, and the real DVC 3.64
 * as the oracle for locks it writes itself (from scratch, over hand-edited files with comments,
 * and when a stage is removed).
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { dvcEnv, makePipelineProject, mustDvc, requireDvc } from "../../../test-fixtures/dvc-peer.js";
import { parseLockFile } from "../src/formats/dvc-lock.js";
import {
  type LockEntryWrite,
  type LockStageWrite,
  lockStageValue,
  removeLockStage,
  runCacheEntryText,
  runCacheKeys,
  updateLockText,
} from "../src/formats/lock-writer.js";
import { getDotted, readParamsData } from "../src/formats/params-file.js";
import type { LockStage, ParamValue } from "../src/formats/pipeline.js";
import { dumpYaml } from "../src/formats/yaml-scalar.js";

const md5 = (text: string) => createHash("md5").update(text).digest("hex");

/** A file entry as a 3.x lock records it, from the file's content. */
function file(path: string, content: string, extra: Partial<LockEntryWrite> = {}): LockEntryWrite {
  return { path, hashName: "md5", md5: md5(content), size: Buffer.byteLength(content), ...extra };
}

function stage(cmd: string | string[], parts: Partial<LockStageWrite> = {}): LockStageWrite {
  return { cmd, deps: [], params: {}, outs: [], ...parts };
}

/** `keys` of a params file, looked up as DVC does (dotted paths), with the file's types. */
function paramsOf(text: string, path: string, keys?: string[]): Record<string, ParamValue> {
  const data = readParamsData(text, path) as Record<string, ParamValue>;
  if (!keys) return data;
  return Object.fromEntries(keys.map((key) => [key, getDotted(data, key) as ParamValue]));
}

/** A lock entry as `parseLockFile` reads it, as the writer takes it. */
function toWrite(lock: LockStage): LockStageWrite {
  return { cmd: lock.cmd, deps: lock.deps, params: lock.params, outs: lock.outs };
}

const P1_PARAMS = "lr: 0.001\nmodel:\n  depth: 3\n  act: relu\nseed: 7\n";
const P1_STAGE = stage("cp foo bar", {
  deps: [file("foo", "foo")],
  params: { "params.yaml": paramsOf(P1_PARAMS, "params.yaml", ["lr", "model"]) },
  outs: [file("bar", "foo")],
});

describe("updateLockText: the spec's vectors", () => {
  it("writes P-1 byte for byte", () => {
    const text = updateLockText(undefined, "copy", P1_STAGE);
    expect(text).toBe(`schema: '2.0'
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
`);
    expect(md5(text)).toBe("dfe0092b463d0a5d751c7e846c88dd9b");
    expect(updateLockText("", "copy", P1_STAGE)).toBe(text);
  });

  it("writes P-3 byte for byte: sorted deps and outs, directories, an exec file, metrics and plots", () => {
    const text = updateLockText(
      undefined,
      "train",
      stage("sh train.sh", {
        deps: [
          { path: "train.sh", hashName: "md5", md5: "c8c1b3dba40062b5b06024e0b8605378", size: 163 },
          { path: "data", hashName: "md5", md5: "93c05f516d12266421a528e946068785.dir", size: 3, nfiles: 2 },
        ],
        outs: [
          { path: "model", hashName: "md5", md5: "ef0f7392db4695f7ffe96c4e61ae2869.dir", size: 1, nfiles: 1 },
          file("predict.sh", "#!/bin/sh\n", { isexec: true }),
          file("metrics.json", '{"acc": 0.9}', { isexec: false }),
          file("plot.csv", "x,y\n1,2\n"),
        ],
      }),
    );
    expect(md5(text)).toBe("83561de4ea36f8d41f5b6c33842d8916");
    expect(text).toContain(
      "    - path: predict.sh\n      hash: md5\n      md5: 3e2b31c72181b87149ff995e7202c0e3\n      size: 10\n      isexec: true\n",
    );
  });

  it("renders params values with Python's types (P-4)", () => {
    const paramsYaml = `f1: 1e-5
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
    const pJson =
      '{"j1": 1e-5, "j2": 1.0, "j3": 10000000000000000000000, "j4": null, "j5": "é", "j6": [1, {"b": 2, "a": 1}]}';
    const text = updateLockText(
      undefined,
      "s",
      stage("x", {
        params: { "p.json": paramsOf(pJson, "p.json"), "params.yaml": paramsOf(paramsYaml, "params.yaml") },
      }),
    );
    expect(text).toBe(`schema: '2.0'
stages:
  s:
    cmd: x
    params:
      params.yaml:
        b1: true
        d1: {}
        d2:
          z: 1
          a: 2
        f1: 1e-05
        f2: 1e-05
        f3: 1.0
        f4: 100000000000000000000
        f5: .inf
        f6: 3.14159265358979
        f7: 1.5e+20
        i1: 31
        i2: 15
        l1: []
        s1: '123'
        s2: 'x: y'
        s3: yes
        s4:
        s6: "multi\\nline"
        s7: ünï
        s8: ''
      p.json:
        j1: 1e-05
        j2: 1.0
        j3: 10000000000000000000000
        j4:
        j5: é
        j6:
        - 1
        - b: 2
          a: 1
`);
  });

  it("writes P-5's command shapes and special paths, stage after stage", () => {
    let text: string | undefined;
    text = updateLockText(
      text,
      "lst",
      stage(["echo one > o1", "echo two >> o1"], { outs: [file("o1", "one\ntwo\n")] }),
    );
    text = updateLockText(text, "multi", stage("echo a > o2\necho b >> o2\n", { outs: [file("o2", "a\nb\n")] }));
    text = updateLockText(
      text,
      "env",
      stage('echo "$DVC_STAGE $DVC_ROOT $PWD" > ../o3', {
        outs: [{ path: "../o3", hashName: "md5", md5: "c19efc26f2daf184225c400f58aebdf9", size: 34 }],
      }),
    );
    text = updateLockText(
      text,
      "quoting",
      stage("sh mk.sh", {
        outs: [
          { path: "o 4", hashName: "md5", md5: "13b9862ccc62f97c6261ef99e7114cd0", size: 8 },
          file("123", "\n"),
          file("x: y", "\n"),
          { path: "null", hashName: "md5", md5: "37a6259cc0c1dae299a7866489dff0bd", size: 4 },
          file("true", ""),
        ],
      }),
    );
    expect(text).toBe(`schema: '2.0'
stages:
  lst:
    cmd:
    - echo one > o1
    - echo two >> o1
    outs:
    - path: o1
      hash: md5
      md5: 2094b601daac3d68f5aed51d3c20f7cd
      size: 8
  multi:
    cmd: "echo a > o2\\necho b >> o2\\n"
    outs:
    - path: o2
      hash: md5
      md5: dd8c6a395b5dd36c56d23275028f526c
      size: 4
  env:
    cmd: echo "$DVC_STAGE $DVC_ROOT $PWD" > ../o3
    outs:
    - path: ../o3
      hash: md5
      md5: c19efc26f2daf184225c400f58aebdf9
      size: 34
  quoting:
    cmd: sh mk.sh
    outs:
    - path: '123'
      hash: md5
      md5: 68b329da9893e34099c7d8ad5cb9c940
      size: 1
    - path: 'null'
      hash: md5
      md5: 37a6259cc0c1dae299a7866489dff0bd
      size: 4
    - path: o 4
      hash: md5
      md5: 13b9862ccc62f97c6261ef99e7114cd0
      size: 8
    - path: 'true'
      hash: md5
      md5: d41d8cd98f00b204e9800998ecf8427e
      size: 0
    - path: 'x: y'
      hash: md5
      md5: 68b329da9893e34099c7d8ad5cb9c940
      size: 1
`);
  });

  it("folds a long command as DVC does (P-6 'one')", () => {
    const cmd =
      "echo python t.py --epochs 3 --verbose --name 'a b' --tags x y --lr 0.1 --local 7 --extra 5 ${notinterp} d2";
    expect(updateLockText(undefined, "one", stage(cmd))).toBe(
      "schema: '2.0'\nstages:\n  one:\n    cmd: echo python t.py --epochs 3 --verbose --name 'a b' --tags x y --lr 0.1 --local\n      7 --extra 5 ${notinterp} d2\n",
    );
  });

  it("keeps order, stale stages and comments of a hand-edited lock (P-13)", () => {
    let text = `schema: '2.0'
# my comment
stages:
  z: {cmd: echo z}   # flow
  m:
    cmd: echo m
  gone:
    cmd: old
`;
    for (const [name, cmd] of [
      ["a", "echo a"],
      ["z", "echo z"],
      ["m", "echo m2"],
    ] as const)
      text = updateLockText(text, name, stage(cmd));
    expect(text).toBe(`schema: '2.0'
# my comment
stages:
  z:                 # flow
    cmd: echo z
  m:
    cmd: echo m2
  gone:
    cmd: old
  a:
    cmd: echo a
`);
  });

  it("keeps an unchanged legacy entry as it was, next to 3.x entries (P-12)", () => {
    const legacy: LockEntryWrite = {
      path: "foo",
      hashName: "md5-dos2unix",
      md5: "d3b07384d113edec49eaa6238ad5ff00",
      size: 5,
      raw: { path: "foo", md5: "d3b07384d113edec49eaa6238ad5ff00", size: 5 },
    };
    const text = updateLockText(
      undefined,
      "s",
      stage("cat foo > bar", { deps: [legacy], outs: [file("bar", "foo\r\n")] }),
    );
    expect(text).toContain(
      "    deps:\n    - path: foo\n      md5: d3b07384d113edec49eaa6238ad5ff00\n      size: 5\n    outs:\n",
    );
    const read = parseLockFile(text, "dvc.lock").stages.get("s") as LockStage;
    expect(read.deps[0]?.hashName).toBe("md5-dos2unix");
    expect(updateLockText(text, "s", toWrite(read))).toBe(text);
  });

  it("reads back what it writes", () => {
    const text = updateLockText(undefined, "copy", P1_STAGE);
    const read = parseLockFile(text, "dvc.lock").stages.get("copy") as LockStage;
    expect(updateLockText(text, "copy", toWrite(read))).toBe(text);
    expect(lockStageValue(toWrite(read))).toEqual(lockStageValue(P1_STAGE));
  });
});

describe("removeLockStage", () => {
  const two = updateLockText(updateLockText(undefined, "a", stage("echo a")), "b", stage("echo b"));

  it("removes a stage and deletes the file with the last one", () => {
    const left = removeLockStage(two, "a");
    expect(left).toBe(updateLockText(undefined, "b", stage("echo b")));
    expect(removeLockStage(left as string, "b")).toBeUndefined();
  });

  it("leaves a lock without that stage as it is, byte for byte", () => {
    const handWritten = "schema: '2.0'\nstages:\n  a:   # c\n    cmd: \"echo a\"\n";
    expect(removeLockStage(handWritten, "zzz")).toBe(handWritten);
  });
});

describe("run cache (§3.8, P-7)", () => {
  const script = 'open("out", "w+").write("out"); ';

  it("gives P-1's key and value, and its entry file is the lock entry", () => {
    expect(runCacheKeys(P1_STAGE)).toEqual({
      key: "befd5952e15687c643f3c756c95ff5e618a6884f2d79b71c8217bfd8ff7abe02",
      value: "7b66e5d057e8222dcc4e062b61655092e49647c36377a23eb8e1fb51de04be36",
    });
    const lock = updateLockText(undefined, "copy", P1_STAGE);
    expect(runCacheEntryText(P1_STAGE)).toBe(
      lock
        .split("\n")
        .slice(3)
        .map((line) => line.slice(4))
        .join("\n"),
    );
  });

  it.each([
    [
      "deps and an out",
      stage("python script.py", { deps: [file("dep", "dep"), file("script.py", script)], outs: [file("out", "out")] }),
      "c7a85d71de1912c43d9c5b6218c71630d6277e8fc11e4ccf5e12b3c202234838",
      "5e2824029f8da9ef6c57131a638ceb65f27c02f16c85d71e85671c27daed0501",
    ],
    [
      "params in two files (and no other dep)",
      stage("python script.py", {
        params: { "myparams.yaml": { qux: 4, baz: 3 }, "params.yaml": { foo: 1, bar: 2 } },
        outs: [file("out", "out")],
      }),
      "8fdb377d1b4c0a303b788771b122dfba9bbbbc43f14ce41d35715cf4fea08459",
      "9ce1963a69beb1299800188647cd960b7afff101be19fd46226e32bb8be8ee44",
    ],
    [
      "a stage with wdir",
      stage("python ../script.py", {
        deps: [file("../dep", "dep"), file("../script.py", script)],
        outs: [file("out", "out")],
      }),
      "6ad5cce3347e9e96c77d4353d84e5c8cae8c9151c486c4ea3d3d79e9051800f1",
      "1fa3e1a9f785f8364ad185d62bd0813ce8794afcfc79410e985eac0443cc5462",
    ],
    [
      "a two-dep stage",
      stage("cat a.txt foo > b.txt", { deps: [file("foo", "foo"), file("a.txt", "A")], outs: [file("b.txt", "Afoo")] }),
      "03e2bfd33b410b36524b4c4a92e21a9acec5ef5300499e5c574d5c85669fbded",
      "91721a62ea3b975efdf45f096afb2664a23f97f4276c0d02a74a4a4aa279ee78",
    ],
  ])("gives P-7's key and value for %s", (_, s, key, value) => {
    expect(runCacheKeys(s)).toEqual({ key, value });
  });

  it("leaves size and nfiles out of both hashes, at every level", () => {
    const bigger = { ...P1_STAGE, outs: [{ ...(P1_STAGE.outs[0] as LockEntryWrite), size: 99, nfiles: 2 }] };
    expect(runCacheKeys(bigger)).toEqual(runCacheKeys(P1_STAGE));
    const withSize = stage("x", { params: { "params.yaml": { size: 1 } }, outs: [file("o", "o")] });
    const otherSize = stage("x", { params: { "params.yaml": { size: 2 } }, outs: [file("o", "o")] });
    expect(runCacheKeys(withSize)).toEqual(runCacheKeys(otherSize));
  });
});

// ---- against the real DVC ----

const DVC = requireDvc("the dvc.lock writer's comparisons with DVC");
const work = mkdtempSync(join(tmpdir(), "mlv-lock-writer-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function repo(name: string, files: Record<string, string>): string {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  const git = spawnSync("git", ["init", "-q", "-b", "main"], { cwd: dir, env: dvcEnv(dir) });
  if (git.status !== 0) throw new Error(`git init failed in ${dir}: ${git.stderr}`);
  mustDvc(dir, "init", "-q");
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

const read = (dir: string, path = "dvc.lock") => readFileSync(join(dir, path), "utf8");

/** The entry DVC recorded for `name`, as the writer takes it. */
function recorded(lockText: string, name: string): LockStageWrite {
  return toWrite(parseLockFile(lockText, "dvc.lock").stages.get(name) as LockStage);
}

describe.skipIf(!DVC)("updateLockText against DVC 3.64", { timeout: 120_000 }, () => {
  it("builds the get-started pipeline's lock stage after stage, as DVC did", () => {
    const p = makePipelineProject(join(work, "get-started"));
    let text: string | undefined;
    for (const name of p.stages) text = updateLockText(text, name, recorded(p.lock, name));
    expect(text).toBe(p.lock);
  });

  it("rewrites stages of a hand-edited lock with comments, one `repro -s` at a time", () => {
    const dir = repo("comments", {
      "dvc.yaml": `stages:
  z:
    cmd: echo z2
  a:
    cmd: echo a2 > a.txt
    outs:
    - a.txt
  b:
    cmd: echo ${"b ".repeat(45)}> b.txt
  c:
    cmd: echo c
`,
      "dvc.lock": `schema: '2.0'   # schema comment
# top comment
stages:   # stages comment
  # first comment
  z: {cmd: echo z}   # flow
  # before a
  a:   # key comment a
    cmd: echo a > a.txt  # cmd comment
    outs:
    - path: a.txt
      hash: md5
      md5: 60b725f10c9c85c70d97880dfe8191b3
      size: 2
  # before b
  b:    # key comment b
    # inside b
    cmd: "echo b > b.txt"   # b cmd
  # before gone
  gone:
    cmd: "old ${"word ".repeat(20)}end"    # gone comment
    outs:
    - path: "123"
      md5: 0123456789abcdef0123456789abcdef
      size: 0x10
  d: {cmd: "d"}
  lst:   # a list
    cmd:
    - "echo ${"one two ".repeat(12)}> x"
    - echo short  # short
    params:
      params.yaml:
        lr: 1e-05
        when: 2024-01-02
        name: "${"long name ".repeat(9)}"
# trailing
`,
    });
    let ours = read(dir);
    for (const name of ["a", "z", "b", "c"]) {
      mustDvc(dir, "repro", "-q", "-s", name);
      const theirs = read(dir);
      ours = updateLockText(ours, name, recorded(theirs, name));
      expect({ after: name, lock: ours }).toEqual({ after: name, lock: theirs });
    }
  });

  it("removes stages as `dvc remove` does, deleting the lock with its last stage", () => {
    const dir = repo("remove", {
      "dvc.yaml": "stages:\n  a:\n    cmd: echo a\n  b:\n    cmd: echo b\n  c:\n    cmd: echo c\n",
      "dvc.lock": `schema: '2.0'
# top comment
stages:
  z: {cmd: echo z}   # flow
  a:   # key comment a
    cmd: echo a  # cmd comment
  # before b
  b:
    cmd: "echo b"
  gone:
    cmd: "old"    # gone comment
  # before c
  c:
    cmd: echo c
# trailing
`,
    });
    let ours: string | undefined = read(dir);
    for (const name of ["c", "a", "b"]) {
      mustDvc(dir, "remove", name);
      ours = removeLockStage(ours as string, name);
      expect({ after: name, lock: ours }).toEqual({ after: name, lock: read(dir) });
    }

    const flowLast = repo("remove-flow-last", {
      "dvc.yaml": "stages:\n  a:\n    cmd: echo a\n  c:\n    cmd: echo c\n",
      "dvc.lock": "schema: '2.0'\nstages:\n  a:\n    cmd: echo a\n  c: {cmd: echo c}\n# trailing\n",
    });
    mustDvc(flowLast, "remove", "c");
    expect(
      removeLockStage("schema: '2.0'\nstages:\n  a:\n    cmd: echo a\n  c: {cmd: echo c}\n# trailing\n", "c"),
    ).toBe(read(flowLast));

    const lockOfOne = dumpYaml({ schema: "2.0", stages: { a: { cmd: "echo a" } } });
    const only = repo("remove-last", {
      "dvc.yaml": "stages:\n  a:\n    cmd: echo a\n  b:\n    cmd: echo b\n",
      "dvc.lock": lockOfOne,
    });
    mustDvc(only, "remove", "a");
    expect(existsSync(join(only, "dvc.lock"))).toBe(false);
    expect(removeLockStage(lockOfOne, "a")).toBeUndefined();
  });
});
