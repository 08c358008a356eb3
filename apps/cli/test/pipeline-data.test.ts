/**
 * Stage outputs (`dvc.yaml` + `dvc.lock`) in the data commands, on a pipeline project the real DVC
 * built: what mlv moves, keeps and restores must be what DVC would, and DVC must agree afterwards.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  dvc,
  makePipelineProject,
  mustDvc,
  type PipelineProject,
  requireDvc,
} from "../../../test-fixtures/dvc-peer.js";
import { objectPath, type Sandbox, sandbox } from "./helpers.js";

const DVC = requireDvc("the pipeline data tests");
const CLEAN = "Data and pipelines are up to date.\n";

/** A project DVC built and pushed, then stripped to what a fresh clone has: git's files only. */
function freshClone(): { s: Sandbox; p: PipelineProject } {
  const s = sandbox();
  const p = makePipelineProject(s.repo, { remote: s.remote });
  s.mustGit("clean", "-q", "-f", "-d", "-X");
  return { s, p };
}

/** A second run: one more raw row, re-added and reproduced by DVC, and committed. */
function secondRun(s: Sandbox, push = false): void {
  s.write("data/raw/train/b.csv", `${s.read("data/raw/train/b.csv")}5,epsilon\n`);
  mustDvc(s.repo, "add", "data/raw");
  mustDvc(s.repo, "repro");
  if (push) mustDvc(s.repo, "push");
  s.mustGit("commit", "-q", "-am", "second run");
}

/** Every data file of the project (cached outputs only: `cache: false` ones live in git). */
function expectWorkspace(s: Sandbox, p: PipelineProject): void {
  for (const [rel, text] of Object.entries(p.files)) expect(s.read(rel), rel).toBe(text);
}

describe("stage outputs never run", () => {
  it("push and pull say which outputs have no version in dvc.lock, and move the rest", () => {
    const s = sandbox({ init: "dvc" });
    s.useRemote();
    s.write("dvc.yaml", "stages:\n  train:\n    cmd: python train.py\n    outs:\n    - model.pkl\n");
    const pushed = s.mlv("push");
    expect(pushed.code).toBe(0);
    expect(pushed.stderr).toContain("WARNING: Output 'model.pkl'(stage: 'train') is missing version info.");
    const pulled = s.mlv("pull");
    expect(pulled.code).toBe(0);
    expect(pulled.stderr).toContain("Output 'model.pkl'(stage: 'train') is missing version info.");
    expect(s.exists("model.pkl")).toBe(false);
  });

  it("so does a .dvc file whose output has no hash", () => {
    const s = sandbox({ init: "dvc" });
    s.useRemote();
    s.write("model.pkl.dvc", "outs:\n- path: model.pkl\n");
    const pushed = s.mlv("push");
    expect(pushed.code).toBe(0);
    expect(pushed.stderr).toContain("WARNING: Output 'model.pkl'(stage: 'model.pkl.dvc') is missing version info.");
  });
});

describe.skipIf(!DVC)("stage outputs in data commands, against the real DVC", () => {
  it("a fresh clone's pull restores every stage output; status is then clean for mlv and DVC", () => {
    const { s, p } = freshClone();
    expect(s.exists("model.pkl")).toBe(false);
    // before: every output missing and not in cache, as DVC says
    const before = s.mlv("status", "--json");
    expect(JSON.parse(before.stdout)).toEqual(JSON.parse(mustDvc(s.repo, "status", "--json").stdout));
    const r = s.mlv("pull");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expectWorkspace(s, p);
    expect(s.mlv("status")).toEqual({ code: 0, stdout: CLEAN, stderr: "" });
    expect(JSON.parse(mustDvc(s.repo, "status", "--json").stdout)).toEqual({});
    expect(s.mustGit("status", "--porcelain").stdout).toBe("");
  });

  it("gc -w -c keeps every stage output, in the cache and on the remote", () => {
    const s = sandbox();
    const p = makePipelineProject(s.repo, { remote: s.remote });
    const remoteBefore = s.remoteFiles();
    const r = s.mlv("gc", "-w", "-c", "-f");
    expect(r.code).toBe(0);
    expect(s.remoteFiles()).toEqual(remoteBefore);
    for (const out of Object.values(p.outs))
      if (out.cached) expect(s.exists(s.cacheObject(out.md5)), out.path).toBe(true);
    expect(JSON.parse(mustDvc(s.repo, "status", "-c", "--json").stdout)).toEqual({});
  });

  it("push of a DVC-made pipeline to an empty remote leaves DVC's status -c clean", () => {
    const s = sandbox();
    makePipelineProject(s.repo);
    s.must("remote", "add", "-d", "storage", s.remote);
    const r = s.mlv("push");
    expect(r.code).toBe(0);
    expect(JSON.parse(mustDvc(s.repo, "status", "-c", "--json").stdout)).toEqual({});
    expect(s.mlv("status", "-c").stdout).toBe("Cache and remote 'storage' are in sync.\n");
    // the metrics file (`cache: false`) is git's, never the remote's
    expect(s.remoteFiles()).not.toContain(
      objectPath(s.read("dvc.lock").match(/metrics\.json\n.*\n\s+md5: (\w+)/)![1]!),
    );
  });

  it("checkout restores deleted stage outputs; a stage target restores that stage's only", () => {
    const s = sandbox();
    const p = makePipelineProject(s.repo);
    s.rm("model.pkl");
    s.rm("data/prepared");
    expect(s.mlv("checkout", "train").code).toBe(0);
    expect(s.read("model.pkl")).toBe(p.files["model.pkl"]);
    expect(s.exists("data/prepared")).toBe(false);
    expect(s.mlv("checkout", "dvc.yaml:prepare").code).toBe(0);
    expectWorkspace(s, p);
  });

  it("gc -A -c keeps an older run's outputs, which a checkout of that commit then pulls", () => {
    const s = sandbox();
    const p = makePipelineProject(s.repo, { remote: s.remote });
    secondRun(s, true);
    expect(s.read("model.pkl")).not.toBe(p.files["model.pkl"]);
    expect(s.mlv("gc", "-A", "-c", "-f").code).toBe(0);
    s.mustGit("checkout", "-q", "HEAD~1");
    s.mustGit("clean", "-q", "-f", "-d", "-X");
    expect(s.mlv("pull").code).toBe(0);
    expectWorkspace(s, p);
    // and -w alone (this commit's outputs only) removes the other run's from the cache, not this one's
    expect(s.mlv("gc", "-w", "-f").code).toBe(0);
    expect(JSON.parse(mustDvc(s.repo, "status", "--json").stdout)).toEqual({});
  });

  it("list -R --dvc-only shows stage outputs as DVC does", () => {
    const s = sandbox();
    makePipelineProject(s.repo);
    const sorted = (text: string) =>
      (JSON.parse(text) as { path: string; isout: boolean; isdir: boolean }[])
        .map(({ path, isout, isdir }) => ({ path, isout, isdir }))
        .sort((a, b) => (a.path < b.path ? -1 : 1));
    const mine = s.mlv("list", ".", "-R", "--dvc-only", "--json");
    expect(mine.code).toBe(0);
    expect(sorted(mine.stdout)).toEqual(sorted(mustDvc(s.repo, "list", ".", "-R", "--dvc-only", "--json").stdout));
  });

  it("diff between two runs names the stage outputs that changed, as DVC does", () => {
    const s = sandbox();
    makePipelineProject(s.repo);
    secondRun(s);
    const mine = s.mlv("diff", "HEAD~1", "HEAD", "--json");
    expect(mine.code).toBe(0);
    const theirs = dvc(s.repo, "diff", "HEAD~1", "HEAD", "--json");
    expect(JSON.parse(mine.stdout)).toEqual(JSON.parse(theirs.stdout));
  });

  it("versions of a stage output follow its record in dvc.lock", () => {
    const s = sandbox();
    const p = makePipelineProject(s.repo);
    secondRun(s);
    const r = s.mlv("versions", "model.pkl", "--json");
    expect(r.code).toBe(0);
    const versions = JSON.parse(r.stdout) as { md5: string }[];
    expect(versions.map((v) => v.md5)).toEqual([
      s.read("dvc.lock").match(/model\.pkl\n\s+hash: md5\n\s+md5: (\w+)/)![1],
      p.outs["model.pkl"]!.md5,
    ]);
  });

  it("get and import a stage output of a pipeline repository, from its remote", () => {
    const { s, p } = freshClone(); // the source has no cache: its remote serves the data
    const plain = join(s.dir, "plain");
    mkdirSync(plain);
    const got = s.mlvWith({ cwd: "../plain" }, "get", "../repo", "model.pkl");
    expect(got.code, got.stderr).toBe(0);
    expect(readFileSync(join(plain, "model.pkl"), "utf8")).toBe(p.files["model.pkl"]);

    const user = join(s.dir, "user");
    mkdirSync(user);
    execFileSync("git", ["init", "-q"], { cwd: user });
    mustDvc(user, "init", "-q");
    const imported = s.mlvWith({ cwd: "../user" }, "import", "../repo", "data/prepared");
    expect(imported.code, imported.stderr).toBe(0);
    expect(readFileSync(join(user, "prepared/train.csv"), "utf8")).toBe(p.files["data/prepared/train.csv"]);
    expect(JSON.parse(mustDvc(user, "status", "--json").stdout)).toEqual({});
  });

  it("metrics show reads the metrics declared in stages, as DVC does", () => {
    const s = sandbox();
    makePipelineProject(s.repo);
    const mine = JSON.parse(s.must("metrics", "show", "--json").stdout) as Record<string, { data: unknown }>;
    const theirs = JSON.parse(mustDvc(s.repo, "metrics", "show", "--json").stdout) as Record<string, { data: unknown }>;
    expect(mine.workspace?.data).toEqual(theirs[""]?.data);
    expect(Object.keys(mine.workspace?.data ?? {})).toEqual(["eval/metrics.json"]);
  });
});
