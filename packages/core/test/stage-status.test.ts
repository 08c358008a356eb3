/**
 * The status of one stage (pipelines spec §4.1-§4.3) and of a whole selection, on hand-made stages
 * and lock entries over files in a temporary project: the P-2 vectors, Python equality of params,
 * legacy (2.x) lock entries, cache checks, frozen and callback stages.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, posix } from "node:path";
import { describe, expect, it } from "vitest";
import type { TrackedOut } from "../src/data-index/types.js";
import type { LockEntry, LockedStage, LockStage, ParamValue, PipelineStage } from "../src/formats/pipeline.js";
import { PyFloat } from "../src/formats/pipeline.js";
import { addressedStatus, ownerAddress, projectStatus, statusEntries, toDvcStatusJson } from "../src/ops/status.js";
import { StatusMemo, stageStatus } from "../src/pipeline/status.js";
import { Project } from "../src/project/project.js";
import { workFolder } from "./work-folder.js";

const FOO_MD5 = "acbd18db4cc2f85cedef654fccc4a4d8"; // "foo"
const P1_PARAMS = "lr: 0.001\nmodel:\n  depth: 3\n  act: relu\nseed: 7\n";

const work = workFolder("mlv-stage-status-");

let projects = 0;

/** A project folder (`.dvc` with an empty config, no git) holding `files`. */
async function project(files: Record<string, string> = {}): Promise<Project> {
  const dir = join(work, `p${++projects}`);
  mkdirSync(join(dir, ".dvc"), { recursive: true });
  writeFileSync(join(dir, ".dvc", "config"), "");
  write(dir, files);
  return Project.open(dir);
}

function write(dir: string, files: Record<string, string>): void {
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
}

interface StageDef {
  cmd?: string | string[];
  file?: string;
  deps?: string[];
  /** params file → keys (null: the whole file). */
  params?: Record<string, string[] | null>;
  outs?: string[];
  uncached?: string[];
  frozen?: boolean;
  alwaysChanged?: boolean;
}

/** A resolved stage (its wdir the folder of its `dvc.yaml`), as the loader would give it. */
function stage(name: string, def: StageDef = {}): PipelineStage {
  const file = def.file ?? "dvc.yaml";
  const wdir = posix.dirname(file) === "." ? "" : posix.dirname(file);
  const rel = (path: string) => posix.normalize(posix.join(wdir, path));
  const out = (path: string, cache: boolean) => ({
    path,
    rel: rel(path),
    kind: "outs" as const,
    cache,
    persist: false,
    push: true,
    flags: {},
  });
  return {
    name,
    file,
    wdir,
    cmd: def.cmd ?? `echo ${name}`,
    deps: (def.deps ?? []).map((path) => ({ path, rel: /^\w+:\/\/|^\//.test(path) ? path : rel(path) })),
    params: Object.entries(def.params ?? {}).map(([path, keys]) => ({ path, rel: rel(path), keys })),
    outs: [...(def.outs ?? []).map((p) => out(p, true)), ...(def.uncached ?? []).map((p) => out(p, false))],
    frozen: def.frozen ?? false,
    alwaysChanged: def.alwaysChanged ?? false,
  };
}

function entry(path: string, md5: string, extra: Partial<LockEntry> = {}): LockEntry {
  return { path, hashName: "md5", md5, raw: { path, hash: "md5", md5 }, ...extra };
}

function lock(def: {
  cmd: string | string[];
  deps?: LockEntry[];
  params?: Record<string, Record<string, ParamValue>>;
  outs?: LockEntry[];
}): LockStage {
  return { deps: [], params: {}, outs: [], ...def };
}

/** P-1 after `dvc repro`: `copy` with dep foo, params lr and model, out bar, recorded. */
function p1(): LockedStage {
  return {
    stage: stage("copy", {
      cmd: "cp foo bar",
      deps: ["foo"],
      params: { "params.yaml": ["lr", "model"] },
      outs: ["bar"],
    }),
    lock: lock({
      cmd: "cp foo bar",
      deps: [entry("foo", FOO_MD5, { size: 3 })],
      params: { "params.yaml": { lr: new PyFloat(0.001), model: { depth: 3, act: "relu" } } },
      outs: [entry("bar", FOO_MD5, { size: 3 })],
    }),
  };
}

/** The P-1 workspace, with bar's object in the cache as `dvc repro` leaves it. */
async function p1Project(): Promise<Project> {
  const repo = await project({ foo: "foo", bar: "foo", "params.yaml": P1_PARAMS });
  await repo.cache.addFile(join(repo.root, "bar"));
  return repo;
}

describe("stageStatus: the P-2 vectors", () => {
  it("is empty right after the run", async () => {
    expect(await stageStatus(await p1Project(), p1())).toEqual([]);
  });

  it("(a) a changed params value: modified under its file", async () => {
    const repo = await p1Project();
    write(repo.root, { "params.yaml": P1_PARAMS.replace("0.001", "0.002") });
    expect(await stageStatus(repo, p1())).toEqual([{ "changed deps": { "params.yaml": { lr: "modified" } } }]);
  });

  it("(b) dep, params, out and command changed together, in DVC's order", async () => {
    const repo = await p1Project();
    write(repo.root, { foo: "FOO", "params.yaml": "lr: 0.002\nmodel:\n  depth: 4\nseed: 7\n" });
    rmSync(join(repo.root, "bar"));
    const locked = p1();
    locked.stage.cmd = "cp -f foo bar";
    expect(await stageStatus(repo, locked)).toEqual([
      { "changed deps": { foo: "modified", "params.yaml": { lr: "modified", model: "modified" } } },
      { "changed outs": { bar: "deleted" } },
      "changed command",
    ]);
  });

  it("(c) a stage never run: existing deps modified, params file new, missing outs deleted", async () => {
    const repo = await project({ foo: "foo", "params.yaml": "lr: 1\ntrain:\n  batch: 2\n" });
    const prepare = stage("prepare", {
      deps: ["foo"],
      params: { "params.yaml": ["lr", "train.batch"] },
      outs: ["out"],
    });
    expect(await stageStatus(repo, { stage: prepare })).toEqual([
      { "changed deps": { foo: "modified", "params.yaml": "new" } },
      { "changed outs": { out: "deleted" } },
    ]);
  });

  it("(d) a key missing from its file, and a missing params file", async () => {
    const repo = await project({ "params.yaml": "lr: 1\n" });
    const s = stage("s", { params: { "params.yaml": ["bs"], "other.yaml": ["x"] } });
    const locked = {
      stage: s,
      lock: lock({ cmd: "echo s", params: { "params.yaml": { bs: 8 }, "other.yaml": { x: 1 } } }),
    };
    expect(await stageStatus(repo, locked)).toEqual([
      { "changed deps": { "params.yaml": { bs: "deleted" }, "other.yaml": "deleted" } },
    ]);
  });

  it("(e) a whole-file params dep: the file's keys in file order, then recorded keys it lost", async () => {
    const repo = await project({ "cfg.toml": "alpha = 1.5\nnew = 1\n[model]\ndepth = 4\n" });
    const s = stage("s", { params: { "cfg.toml": null } });
    const recorded = { alpha: new PyFloat(1.5), model: { depth: 3 }, gone: "x" };
    const locked = { stage: s, lock: lock({ cmd: "echo s", params: { "cfg.toml": recorded } }) };
    expect(await stageStatus(repo, locked)).toEqual([
      { "changed deps": { "cfg.toml": { new: "new", model: "modified", gone: "deleted" } } },
    ]);
  });

  it("(f) always changed, callback, changed command and a deleted dep", async () => {
    const repo = await project({ foo: "FOO" });
    const b = {
      stage: stage("b", { deps: ["a.txt", "foo"], outs: ["b.txt"] }),
      lock: lock({ cmd: "echo b", deps: [entry("a.txt", FOO_MD5), entry("foo", FOO_MD5)] }),
    };
    write(repo.root, { "b.txt": "b" });
    b.lock.outs = [entry("b.txt", "92eb5ffee6ae2fec3ad71c777531578f")];
    await repo.cache.addFile(join(repo.root, "b.txt"));
    const c = { stage: stage("c", { cmd: "echo c2", alwaysChanged: false }), lock: lock({ cmd: "echo c" }) };
    const d = { stage: stage("d"), lock: lock({ cmd: "echo d" }) };
    const always = { stage: stage("e", { deps: ["foo"], alwaysChanged: true }) };
    expect(await stageStatus(repo, b)).toEqual([{ "changed deps": { "a.txt": "deleted", foo: "modified" } }]);
    expect(await stageStatus(repo, c)).toEqual(["always changed", "changed command"]);
    expect(await stageStatus(repo, d)).toEqual(["always changed"]);
    expect(await stageStatus(repo, always)).toEqual([{ "changed deps": { foo: "modified" } }, "always changed"]);
  });
});

describe("stageStatus: params compare as Python's ==", () => {
  const recorded = { lr: 1, bs: 2, off: 0, name: "a", list: [1, 2], map: { a: 1, b: 2 } };
  const locked = () => ({
    stage: stage("s", { params: { "params.yaml": Object.keys(recorded) } }),
    lock: lock({ cmd: "echo s", params: { "params.yaml": recorded } }),
  });

  it("treats 1, 1.0 and true as equal, 0 and false too, and mappings without order", async () => {
    const repo = await project({
      "params.yaml": "lr: true\nbs: 2.0\noff: false\nname: a\nlist: [true, 2.0]\nmap: {b: 2, a: 1}\n",
    });
    expect(await stageStatus(repo, locked())).toEqual([]);
  });

  it("treats '1' and 1 as different, and lists in another order as different", async () => {
    const repo = await project({ "params.yaml": "lr: '1'\nbs: 2\noff: 0\nname: a\nlist: [2, 1]\nmap: {a: 1, b: 2}\n" });
    expect(await stageStatus(repo, locked())).toEqual([
      { "changed deps": { "params.yaml": { lr: "modified", list: "modified" } } },
    ]);
  });

  it("reads dotted keys through mappings, and a key the lock lacks is new", async () => {
    const repo = await project({ "params.yaml": "train:\n  batch: 4\n  lr: 0.1\n" });
    const s = stage("s", { params: { "params.yaml": ["train.batch", "train.lr"] } });
    const l = lock({ cmd: "echo s", params: { "params.yaml": { "train.batch": 4 } } });
    expect(await stageStatus(repo, { stage: s, lock: l })).toEqual([
      { "changed deps": { "params.yaml": { "train.lr": "new" } } },
    ]);
  });

  it("ignores keys added to a file tracked by key list", async () => {
    const repo = await project({ "params.yaml": "lr: 1\nbs: 2\nextra: 3\n" });
    const s = stage("s", { params: { "params.yaml": ["lr"] } });
    expect(
      await stageStatus(repo, { stage: s, lock: lock({ cmd: "echo s", params: { "params.yaml": { lr: 1 } } }) }),
    ).toEqual([]);
  });

  it("fails on a params file that is a folder", async () => {
    const repo = await project({ "params.yaml/x": "" });
    const s = stage("s", { params: { "params.yaml": ["lr"] } });
    await expect(stageStatus(repo, { stage: s })).rejects.toThrow(
      "params.yaml: is a directory, expected a parameters file",
    );
  });
});

describe("stageStatus: outputs and dependencies", () => {
  it("(P-12) keeps a legacy md5-dos2unix entry unchanged for a CRLF file", async () => {
    const repo = await project({ foo: "foo\r\n" });
    const legacy = entry("foo", "d3b07384d113edec49eaa6238ad5ff00", { hashName: "md5-dos2unix", size: 5 });
    const s = stage("s", { deps: ["foo"] });
    expect(await stageStatus(repo, { stage: s, lock: lock({ cmd: "echo s", deps: [legacy] }) })).toEqual([]);
    write(repo.root, { foo: "foo\r\nbar\r\n" });
    expect(await stageStatus(repo, { stage: s, lock: lock({ cmd: "echo s", deps: [legacy] }) })).toEqual([
      { "changed deps": { foo: "modified" } },
    ]);
  });

  it("reports a cached output whose object is missing as not in cache, an uncached one never", async () => {
    const repo = await project({ out: "foo", metrics: "foo" });
    const s = stage("s", { outs: ["out"], uncached: ["metrics"] });
    const l = lock({ cmd: "echo s", outs: [entry("metrics", FOO_MD5), entry("out", FOO_MD5)] });
    expect(await stageStatus(repo, { stage: s, lock: l })).toEqual([{ "changed outs": { out: "not in cache" } }]);
    await repo.cache.addFile(join(repo.root, "out"));
    expect(await stageStatus(repo, { stage: s, lock: l })).toEqual([]);
  });

  it("hashes folders: a changed file makes a folder dep modified", async () => {
    const repo = await project({ "data/a.txt": "a", "data/sub/b.txt": "bb" });
    const s = stage("train", { deps: ["data"] });
    const l = lock({ cmd: "echo train", deps: [entry("data", "93c05f516d12266421a528e946068785.dir", { nfiles: 2 })] });
    expect(await stageStatus(repo, { stage: s, lock: l })).toEqual([]); // P-3's recorded hash
    write(repo.root, { "data/sub/b.txt": "BB" });
    expect(await stageStatus(repo, { stage: s, lock: l })).toEqual([{ "changed deps": { data: "modified" } }]);
  });

  it("reports nothing for URL and absolute dependencies", async () => {
    const repo = await project();
    const s = stage("s", { deps: ["https://example.com/data.csv", "/etc/hostname"], outs: [] });
    expect(await stageStatus(repo, { stage: s, lock: lock({ cmd: "echo s" }) })).toEqual([]);
  });

  it("narrows the outputs to those asked for", async () => {
    const repo = await project({ foo: "FOO" });
    const s = stage("two", { deps: ["foo"], outs: ["o1", "o2"] });
    expect(await stageStatus(repo, { stage: s }, { outs: new Set(["o1"]) })).toEqual([
      { "changed deps": { foo: "modified" } },
      { "changed outs": { o1: "deleted" } },
    ]);
  });

  it("compares commands exactly: a list is never equal to a string", async () => {
    const repo = await project();
    const s = stage("c", { cmd: "echo c", outs: ["x"] });
    write(repo.root, { x: "foo" });
    await repo.cache.addFile(join(repo.root, "x"));
    const outs = [entry("x", FOO_MD5)];
    expect(await stageStatus(repo, { stage: s, lock: lock({ cmd: ["echo c"], outs }) })).toEqual(["changed command"]);
    expect(await stageStatus(repo, { stage: s, lock: lock({ cmd: "echo c", outs }) })).toEqual([]);
  });
});

describe("stageStatus: frozen and callback stages", () => {
  it("hides a frozen stage's deps but not its outs, its command or always-changed", async () => {
    const repo = await project({ foo: "FOO" });
    const s = stage("b", { deps: ["foo"], outs: ["b.txt"], frozen: true, alwaysChanged: true, cmd: "echo b2" });
    const l = lock({ cmd: "echo b", deps: [entry("foo", FOO_MD5)] });
    expect(await stageStatus(repo, { stage: s, lock: l })).toEqual([
      { "changed outs": { "b.txt": "deleted" } },
      "always changed",
      "changed command",
    ]);
  });

  it("reports a stage with neither deps nor outs as always changed, even frozen", async () => {
    const repo = await project();
    expect(await stageStatus(repo, { stage: stage("a", { frozen: true }) })).toEqual(["always changed"]);
  });
});

describe("StatusMemo", () => {
  it("hashes a path once per run however many stages use it", async () => {
    const repo = await project({ foo: "foo" });
    const memo = new StatusMemo(repo);
    const abs = join(repo.root, "foo");
    expect(memo.hash(abs, "md5")).toBe(memo.hash(abs, "md5"));
    expect(memo.hash(abs, "md5")).not.toBe(memo.hash(abs, "md5-dos2unix"));
    expect(memo.paramsFile("params.yaml")).toBe(memo.paramsFile("params.yaml"));
  });
});

/** A stage output as the data index lists it. */
function stageOut(repo: Project, locked: LockedStage, path: string): TrackedOut {
  return {
    ownerPath: join(repo.root, locked.stage.file),
    owner: `${locked.stage.file}:${locked.stage.name}`,
    stage: locked,
    out: { path, hashName: "md5", isDir: false, external: false, line: 0, raw: {} },
    abs: join(repo.root, path),
    rel: path,
    hashName: "md5",
    isDir: false,
  };
}

/** An output of a `.dvc` file, as the data index lists it. */
function pointerOut(repo: Project, file: string, path: string, md5: string): TrackedOut {
  const out = { path, md5, hashName: "md5" as const, isDir: false, external: false, line: 0, raw: {} };
  return {
    ownerPath: join(repo.root, file),
    owner: file,
    pointer: { file, outs: [out], top: {} },
    out,
    abs: join(repo.root, path),
    rel: path,
    hashName: "md5",
    isDir: false,
  };
}

describe("projectStatus", () => {
  it("reports .dvc files and stages in collection order, unchanged ones with an empty list", async () => {
    const repo = await project({ "a.txt": "foo", "z.txt": "FOO", foo: "FOO" });
    await repo.cache.addFile(join(repo.root, "a.txt"));
    const cb = { stage: stage("cb") };
    const top = { stage: stage("top", { deps: ["foo"], outs: ["top.txt"] }) };
    const child = {
      stage: stage("child", { file: "sub/dvc.yaml", deps: ["../foo"] }),
      lock: lock({ cmd: "echo child" }),
    };
    const selection = {
      outs: [
        pointerOut(repo, "a.txt.dvc", "a.txt", FOO_MD5),
        stageOut(repo, top, "top.txt"),
        pointerOut(repo, "sub/z.dvc", "z.txt", FOO_MD5),
      ],
      stages: [cb, top, child],
    };
    const owners = await projectStatus(repo, selection);
    expect(owners.map((o) => [o.file, o.stage])).toEqual([
      ["a.txt.dvc", undefined],
      ["dvc.yaml", "cb"],
      ["dvc.yaml", "top"],
      ["sub/dvc.yaml", "child"],
      ["sub/z.dvc", undefined],
    ]);
    expect(toDvcStatusJson(owners)).toEqual({
      cb: ["always changed"],
      top: [{ "changed deps": { foo: "modified" } }, { "changed outs": { "top.txt": "deleted" } }],
      "sub/dvc.yaml:child": [{ "changed deps": { foo: "modified" } }],
      "sub/z.dvc": [{ "changed outs": { "z.txt": "modified" } }],
    });
  });

  it("keeps the order of targets, and narrows a stage reached through one output", async () => {
    const repo = await project({ foo: "FOO", cached: "foo" });
    await repo.cache.addFile(join(repo.root, "cached"));
    const two = { stage: stage("two", { deps: ["foo"], outs: ["o1", "o2"] }) };
    const selection = { outs: [pointerOut(repo, "b.dvc", "b", FOO_MD5), stageOut(repo, two, "o2")], stages: [] };
    const owners = await projectStatus(repo, selection);
    expect(toDvcStatusJson(owners)).toEqual({
      "b.dvc": [{ "changed outs": { b: "deleted" } }],
      two: [{ "changed deps": { foo: "modified" } }, { "changed outs": { o2: "deleted" } }],
    });
    expect(Object.keys(toDvcStatusJson(owners))).toEqual(["b.dvc", "two"]);
  });

  it("addresses owners from the current folder, and lists changes flat for the JS API", async () => {
    const repo = await project({ "params.yaml": "lr: 2\n" });
    const top = {
      stage: stage("top", { params: { "params.yaml": ["lr"] }, cmd: "echo new" }),
      lock: lock({ cmd: "echo old", params: { "params.yaml": { lr: 1 } } }),
    };
    const child = { stage: stage("child", { file: "sub/dvc.yaml", deps: ["gone"] }) };
    const owners = await projectStatus(repo, { outs: [], stages: [top, child] });
    const fromSub = (rel: string) => (rel.startsWith("sub/") ? rel.slice(4) : `../${rel}`);
    expect(owners.map((o) => ownerAddress(o, fromSub))).toEqual(["../dvc.yaml:top", "child"]);
    expect(Object.keys(toDvcStatusJson(owners, fromSub))).toEqual(["../dvc.yaml:top", "child"]);
    expect(statusEntries(owners)).toEqual([
      { pointer: "dvc.yaml:top", dep: "params.yaml", key: "lr", state: "modified" },
      { pointer: "dvc.yaml:top", state: "changed command" },
      { pointer: "sub/dvc.yaml:child", dep: "sub/gone", state: "deleted" },
    ]);
  });

  it("keeps owners in order where an object would not: a stage named 1 after one named b", async () => {
    const repo = await project();
    const owners = await projectStatus(repo, { outs: [], stages: [{ stage: stage("b") }, { stage: stage("1") }] });
    expect(addressedStatus(owners).map((o) => o.address)).toEqual(["b", "1"]);
  });
});
