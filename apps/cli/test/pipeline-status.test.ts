/**
 * `mlv status` on pipelines (pipelines spec §4.4-§4.6): hand-written `dvc.yaml`, `dvc.lock` and
 * params files, checked for DVC's exact text, JSON and exit codes, from the root and from a
 * subfolder; then, where the real DVC is installed, the same edits judged by both tools.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { dvc, makePipelineProject, mustDvc, requireDvc } from "../../../test-fixtures/dvc-peer.js";
import { FOO_MD5, type Sandbox, sandbox } from "./helpers.js";

const CLEAN = "Data and pipelines are up to date.\n";

/** P-1 (spec §10): `copy` reads foo and two params, writes bar. */
const P1_YAML =
  "stages:\n  copy:\n    cmd: cp foo bar\n    deps:\n    - foo\n    params:\n    - lr\n    - model\n    outs:\n    - bar\n";
const P1_PARAMS = "lr: 0.001\nmodel:\n  depth: 3\n  act: relu\nseed: 7\n";
const P1_LOCK =
  "schema: '2.0'\nstages:\n  copy:\n    cmd: cp foo bar\n    deps:\n    - path: foo\n      hash: md5\n" +
  `      md5: ${FOO_MD5}\n      size: 3\n    params:\n      params.yaml:\n        lr: 0.001\n        model:\n` +
  `          depth: 3\n          act: relu\n    outs:\n    - path: bar\n      hash: md5\n      md5: ${FOO_MD5}\n` +
  "      size: 3\n";

/** Put `content` in the cache as `dvc repro` leaves an object: read-only. */
function cacheObject(s: Sandbox, oid: string, content: string): void {
  s.write(s.cacheObject(oid), content, 0o444);
}

/** The P-1 project as `dvc repro` leaves it. */
function p1(): Sandbox {
  const s = sandbox({ init: "dvc" });
  s.writeTree({ foo: "foo", bar: "foo", "params.yaml": P1_PARAMS, "dvc.yaml": P1_YAML, "dvc.lock": P1_LOCK });
  cacheObject(s, FOO_MD5, "foo");
  return s;
}

/** The frozen-stage warning DVC logs on stderr. */
function frozen(address: string): string {
  return `WARNING: stage: '${address}' is frozen. Its dependencies are not going to be shown in the status output.\n`;
}

describe("mlv status on a pipeline", () => {
  it("is up to date right after the run", () => {
    expect(p1().mlv("status")).toEqual({ code: 0, stdout: CLEAN, stderr: "" });
  });

  it("P-2 (a): a changed param, as text and as one line of JSON", () => {
    const s = p1();
    s.write("params.yaml", P1_PARAMS.replace("0.001", "0.002"));
    expect(s.mlv("status")).toEqual({
      code: 0,
      stdout: "copy:\n\tchanged deps:\n\t\tparams.yaml:\n\t\t\tmodified:           lr\n",
      stderr: "",
    });
    expect(s.mlv("status", "--json")).toEqual({
      code: 0,
      stdout: '{"copy": [{"changed deps": {"params.yaml": {"lr": "modified"}}}]}\n',
      stderr: "",
    });
  });

  it("P-2 (b): dep, params, out and command changed together", () => {
    const s = p1();
    s.write("foo", "FOO");
    s.rm("bar");
    s.write("params.yaml", "lr: 0.002\nmodel:\n  depth: 4\nseed: 7\n");
    s.write("dvc.yaml", P1_YAML.replace("cp foo bar", "cp -f foo bar"));
    expect(s.mlv("status").stdout).toBe(
      "copy:\n\tchanged deps:\n\t\tmodified:           foo\n\t\tparams.yaml:\n" +
        "\t\t\tmodified:           lr\n\t\t\tmodified:           model\n" +
        "\tchanged outs:\n\t\tdeleted:            bar\n\tchanged command\n",
    );
    expect(s.mlv("status", "--json").stdout).toBe(
      '{"copy": [{"changed deps": {"foo": "modified", "params.yaml": {"lr": "modified", "model": "modified"}}}, ' +
        '{"changed outs": {"bar": "deleted"}}, "changed command"]}\n',
    );
  });

  it("P-2 (c): a stage never run", () => {
    const s = sandbox({ init: "dvc" });
    s.writeTree({
      foo: "foo",
      "params.yaml": "lr: 1\ntrain:\n  batch: 2\n",
      "dvc.yaml":
        "stages:\n  prepare:\n    cmd: cp foo out\n    deps:\n    - foo\n    params:\n    - lr\n    - train.batch\n" +
        "    outs:\n    - out\n",
    });
    expect(JSON.parse(s.mlv("status", "--json").stdout)).toEqual({
      prepare: [{ "changed deps": { foo: "modified", "params.yaml": "new" } }, { "changed outs": { out: "deleted" } }],
    });
  });

  it("P-2 (f): always changed, callback, command change, deleted dep, in file order", () => {
    const s = sandbox({ init: "dvc" });
    s.writeTree({
      foo: "FOO",
      "dvc.yaml":
        "stages:\n  b:\n    cmd: cat a.txt foo\n    deps:\n    - a.txt\n    - foo\n" +
        "  a:\n    cmd: echo a > a.txt\n    outs:\n    - a.txt\n" +
        "  c:\n    cmd: echo c2\n    deps:\n    - foo\n  d:\n    cmd: echo d\n",
      "dvc.lock":
        "schema: '2.0'\nstages:\n  b:\n    cmd: cat a.txt foo\n    deps:\n" +
        `    - path: a.txt\n      hash: md5\n      md5: ${FOO_MD5}\n      size: 3\n` +
        `    - path: foo\n      hash: md5\n      md5: ${FOO_MD5}\n      size: 3\n` +
        "  c:\n    cmd: echo c\n    deps:\n" +
        "    - path: foo\n      hash: md5\n      md5: 901890a8e9c8cf6d5a1a542b229febff\n      size: 3\n" +
        "  d:\n    cmd: echo d\n",
    });
    expect(s.mlv("status", "--json").stdout).toBe(
      '{"b": [{"changed deps": {"a.txt": "deleted", "foo": "modified"}}], "a": [{"changed outs": {"a.txt": "deleted"}}], ' +
        '"c": ["changed command"], "d": ["always changed"]}\n',
    );
    expect(s.mlv("status").stdout).toBe(
      "b:\n\tchanged deps:\n\t\tdeleted:            a.txt\n\t\tmodified:           foo\n" +
        "a:\n\tchanged outs:\n\t\tdeleted:            a.txt\nc:\n\tchanged command\nd:\n\talways changed\n",
    );
  });

  it("-q prints nothing and exits 1 on changes, 0 when clean; with --json it always exits 0", () => {
    const s = p1();
    expect(s.mlv("status", "-q")).toEqual({ code: 0, stdout: "", stderr: "" });
    s.write("foo", "FOO");
    expect(s.mlv("status", "-q")).toEqual({ code: 1, stdout: "", stderr: "" });
    expect(s.mlv("-q", "status")).toEqual({ code: 1, stdout: "", stderr: "" });
    expect(s.mlv("status", "-q", "--json")).toEqual({ code: 0, stdout: "", stderr: "" });
  });

  it("warns about each frozen stage on stderr, hides its deps, and keeps quiet with -q", () => {
    const s = p1();
    s.write("dvc.yaml", `${P1_YAML}    frozen: true\n`);
    s.write("foo", "FOO");
    expect(s.mlv("status")).toEqual({ code: 0, stdout: CLEAN, stderr: frozen("copy") });
    s.rm("bar");
    expect(s.mlv("status")).toEqual({
      code: 0,
      stdout: "copy:\n\tchanged outs:\n\t\tdeleted:            bar\n",
      stderr: frozen("copy"),
    });
    expect(s.mlv("status", "--json")).toEqual({
      code: 0,
      stdout: '{"copy": [{"changed outs": {"bar": "deleted"}}]}\n',
      stderr: frozen("copy"),
    });
    expect(s.mlv("status", "-q")).toEqual({ code: 1, stdout: "", stderr: "" });
  });

  it("says so, with DVC's hint, when nothing at all is tracked", () => {
    const s = sandbox({ init: "dvc" });
    expect(s.mlv("status")).toEqual({
      code: 0,
      stdout:
        "There are no data or pipelines tracked in this project yet.\nSee <https://dvc.org/doc/start> to get started!\n",
      stderr: "",
    });
    expect(s.mlv("status", "--json")).toEqual({ code: 0, stdout: "{}\n", stderr: "" });
  });

  it("reports .dvc files and stages side by side", () => {
    const s = p1();
    s.writeTree({ "a.txt": "foo", "a.txt.dvc": `outs:\n- md5: ${FOO_MD5}\n  size: 3\n  hash: md5\n  path: a.txt\n` });
    s.write("a.txt", "fox");
    s.write("foo", "FOO");
    expect(JSON.parse(s.mlv("status", "--json").stdout)).toEqual({
      "a.txt.dvc": [{ "changed outs": { "a.txt": "modified" } }],
      copy: [{ "changed deps": { foo: "modified" } }],
    });
  });
});

/** DVC's layout of §4.6: `top` in the root `dvc.yaml`, `child` in `sub/dvc.yaml`, never run. */
function nested(): Sandbox {
  const s = sandbox({ init: "dvc" });
  s.writeTree({
    "raw.txt": "raw\n",
    "dvc.yaml":
      "stages:\n  top:\n    cmd: cp raw.txt sub/top.txt\n    deps:\n    - raw.txt\n    outs:\n    - sub/top.txt\n",
    "sub/dvc.yaml":
      "stages:\n  child:\n    cmd: cat top.txt ../raw.txt > child.txt\n    deps:\n    - ../raw.txt\n    - top.txt\n" +
      "    outs:\n    - child.txt\n",
  });
  return s;
}

describe("mlv status from a subfolder", () => {
  it("addresses stages and shows paths relative to the current folder", () => {
    const s = nested();
    expect(s.mlvWith({ cwd: "sub" }, "status").stdout).toBe(
      "../dvc.yaml:top:\n\tchanged deps:\n\t\tmodified:           ../raw.txt\n" +
        "\tchanged outs:\n\t\tdeleted:            top.txt\n" +
        "child:\n\tchanged deps:\n\t\tmodified:           ../raw.txt\n\t\tdeleted:            top.txt\n" +
        "\tchanged outs:\n\t\tdeleted:            child.txt\n",
    );
    expect(JSON.parse(s.mlv("status", "--json").stdout)).toEqual({
      top: [{ "changed deps": { "raw.txt": "modified" } }, { "changed outs": { "sub/top.txt": "deleted" } }],
      "sub/dvc.yaml:child": [
        { "changed deps": { "raw.txt": "modified", "sub/top.txt": "deleted" } },
        { "changed outs": { "sub/child.txt": "deleted" } },
      ],
    });
  });

  it("takes stage targets relative to the current folder", () => {
    const s = nested();
    const top = { "../dvc.yaml:top": expect.anything() };
    expect(JSON.parse(s.mlvWith({ cwd: "sub" }, "status", "--json", "../dvc.yaml:top").stdout)).toEqual(top);
    expect(Object.keys(JSON.parse(s.mlvWith({ cwd: "sub" }, "status", "--json", "child").stdout))).toEqual(["child"]);
    expect(Object.keys(JSON.parse(s.mlv("status", "--json", "sub/dvc.yaml:child", "top").stdout))).toEqual([
      "sub/dvc.yaml:child",
      "top",
    ]);
    expect(Object.keys(JSON.parse(s.mlv("status", "--json", "sub/dvc.yaml").stdout))).toEqual(["sub/dvc.yaml:child"]);
  });

  it("narrows a stage named through one of its outputs to that output", () => {
    const s = sandbox({ init: "dvc" });
    s.writeTree({
      "d.txt": "d",
      o1: "",
      "dvc.yaml": "stages:\n  two:\n    cmd: touch o1 o2\n    deps:\n    - d.txt\n    outs:\n    - o1\n    - o2\n",
    });
    expect(JSON.parse(s.mlv("status", "--json", "o1").stdout)).toEqual({
      two: [{ "changed deps": { "d.txt": "modified" } }, { "changed outs": { o1: "modified" } }],
    });
  });
});

const DVC = requireDvc("mlv status compared with DVC's");

describe.skipIf(!DVC)("mlv status against the real DVC", () => {
  /** Both tools' `status --json`, parsed, run in the same folder (relative to the repository). */
  function both(s: Sandbox, cwd = ".", ...args: string[]): { mlv: unknown; dvc: unknown } {
    const ours = s.mlvWith({ cwd }, "status", "--json", ...args);
    const theirs = mustDvc(join(s.repo, cwd), "status", "--json", ...args);
    expect(ours.code).toBe(0);
    return { mlv: JSON.parse(ours.stdout), dvc: JSON.parse(theirs.stdout) };
  }

  it("agrees on DVC's own project: clean, then after edits to params, data, outputs and a command", () => {
    const s = sandbox();
    makePipelineProject(s.repo);
    expect(both(s).mlv).toEqual({});

    s.write(
      "params.yaml",
      s.read("params.yaml").replace("split: 0.2", "split: 0.3").replace("n_est: 50", "n_est: 50.0"),
    );
    s.write("data/raw/train/b.csv", "3,GAMMA\n");
    s.rm("model.pkl");
    s.write("eval/plots/loss.csv", "step,loss\n");
    s.write("dvc.yaml", s.read("dvc.yaml").replace("sh src/prepare.sh", "sh -e src/prepare.sh"));
    const root = both(s);
    expect(root.mlv).toEqual(root.dvc);
    expect(Object.keys(root.mlv as object).length).toBeGreaterThan(2);

    const inData = both(s, "data");
    expect(inData.mlv).toEqual(inData.dvc);
    const targeted = both(s, ".", "train", "data/raw.dvc", "eval/plots");
    expect(targeted.mlv).toEqual(targeted.dvc);
  });

  it("agrees on a missing params key, a deleted params file and a frozen stage, warning included", () => {
    const s = sandbox();
    makePipelineProject(s.repo);
    s.write("params.yaml", s.read("params.yaml").replace("  max_features: 100\n", ""));
    mustDvc(s.repo, "freeze", "train");
    s.write("data/features/extra.tsv", "x\n");
    const r = both(s);
    expect(r.mlv).toEqual(r.dvc);
    const [ours, theirs] = [s.mlv("status"), dvc(s.repo, "status")];
    expect(ours).toEqual({ code: 0, stdout: theirs.stdout, stderr: theirs.stderr });
    s.rm("params.yaml");
    const gone = both(s);
    expect(gone.mlv).toEqual(gone.dvc);
  });

  it("agrees on nested dvc.yaml files seen from a subfolder, and on a never-run stage", () => {
    const s = sandbox();
    makePipelineProject(s.repo);
    s.write("sub/in.txt", "in\n");
    mustDvc(
      join(s.repo, "sub"),
      "stage",
      "add",
      "-q",
      "-n",
      "child",
      "-d",
      "in.txt",
      "-d",
      "../model.pkl",
      "-o",
      "c.txt",
      "cat in.txt ../model.pkl > c.txt",
    );
    for (const cwd of [".", "sub"]) {
      const r = both(s, cwd);
      expect(r.mlv).toEqual(r.dvc);
    }
    mustDvc(join(s.repo, "sub"), "repro", "-q");
    s.write("sub/in.txt", "changed\n");
    for (const cwd of [".", "sub", "data"]) {
      const r = both(s, cwd);
      expect(r.mlv).toEqual(r.dvc);
    }
    const fromSub = both(s, "sub", "../dvc.yaml:train", "child");
    expect(fromSub.mlv).toEqual(fromSub.dvc);
  });
});
