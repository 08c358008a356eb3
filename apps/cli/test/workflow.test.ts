import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { md5, type Sandbox, sandbox } from "./helpers.js";

const CLEAN = "Data and pipelines are up to date.\n";

function snapshot(s: Sandbox) {
  const files: Record<string, string> = { "model.h5": md5(s.bytes("model.h5")) };
  for (const f of s.files("data")) files[`data/${f}`] = md5(s.bytes(`data/${f}`));
  return files;
}

function current(s: Sandbox) {
  const files: Record<string, string> = {};
  if (s.exists("model.h5")) files["model.h5"] = md5(s.bytes("model.h5"));
  for (const f of s.files("data")) files[`data/${f}`] = md5(s.bytes(`data/${f}`));
  return files;
}

describe("the README workflow with git tags", () => {
  it("tags v1.0 and v2.0, then gets v1.0's exact bytes back from the cache and from the remote", () => {
    const s = sandbox();
    s.must("init");
    s.must("remote", "add", "-d", "storage", s.remote);

    // v1: a model file (a little over 1 MiB) and a data folder
    s.write("model.h5", randomBytes((1 << 20) + 17));
    s.writeTree({
      "data/labels.csv": "image,label\nimg0,cat\nimg1,dog\n",
      "data/images/img0.bin": randomBytes(4096),
      "data/images/img1.bin": randomBytes(4097),
    });
    s.write("metrics.json", '{"accuracy": 0.81}\n');
    const add1 = s.mlv("add", "model.h5", "data/");
    expect(add1.code).toBe(0);
    expect(add1.stdout).toContain("git add model.h5.dvc .gitignore data.dvc");
    expect(s.mlv("push").stdout).toBe("5 files pushed\n");
    s.mustGit("add", "model.h5.dvc", "data.dvc", ".gitignore", "metrics.json", ".dvc/config");
    s.mustGit("commit", "-q", "-m", "model v1");
    s.mustGit("tag", "v1.0");
    const v1 = snapshot(s);
    expect(s.mustGit("status", "--porcelain").stdout).toBe("");

    // v2: the model changes
    s.write("model.h5", randomBytes((1 << 20) + 99));
    s.write("metrics.json", '{"accuracy": 0.87}\n');
    expect(s.mlv("status").stdout).toBe("model.h5.dvc:\n\tchanged outs:\n\t\tmodified:           model.h5\n");
    expect(s.mlv("add", "model.h5").code).toBe(0);
    expect(s.mlv("push").stdout).toBe("1 file pushed\n");
    s.mustGit("commit", "-q", "-am", "model v2");
    s.mustGit("tag", "v2.0");
    const v2 = snapshot(s);
    expect(v2["model.h5"]).not.toBe(v1["model.h5"]);

    // back to v1.0: git restores the pointers, mlv the data (from the cache)
    s.mustGit("checkout", "-q", "v1.0");
    expect(s.mlv("status").stdout).toBe("model.h5.dvc:\n\tchanged outs:\n\t\tmodified:           model.h5\n");
    const co = s.mlv("checkout");
    expect(co.code).toBe(0);
    expect(co.stdout).toBe("M\tmodel.h5\n");
    expect(current(s)).toEqual(v1);
    expect(s.mlv("status").stdout).toBe(CLEAN);

    // and forward again
    s.mustGit("checkout", "-q", "v2.0");
    expect(s.mlv("checkout").code).toBe(0);
    expect(current(s)).toEqual(v2);

    // a teammate with an empty cache and no data gets v1.0 from the remote
    s.mustGit("checkout", "-q", "v1.0");
    s.rm(".dvc/cache");
    s.rm("model.h5");
    s.rm("data");
    const pull = s.mlv("pull");
    expect(pull.code).toBe(0);
    expect(pull.stderr).toBe("");
    expect(current(s)).toEqual(v1);
    expect(s.mlv("status").stdout).toBe(CLEAN);
    expect(s.mlv("status", "-c").stdout).toBe("Cache and remote 'storage' are in sync.\n");
    expect(s.mustGit("status", "--porcelain").stdout).toBe("");
  });

  it("a fresh clone of the project pulls the tagged version", () => {
    const s = sandbox();
    s.must("init");
    s.must("remote", "add", "-d", "storage", s.remote);
    s.write("model.h5", "weights v1");
    s.writeTree({ "data/a.csv": "1,2\n", "data/b.csv": "3,4\n" });
    s.must("add", "model.h5", "data");
    s.must("push");
    s.mustGit("add", "-A");
    s.mustGit("commit", "-q", "-m", "v1");
    s.mustGit("tag", "v1.0");
    s.write("model.h5", "weights v2");
    s.must("add", "model.h5");
    s.must("push");
    s.mustGit("commit", "-q", "-am", "v2");

    // clone into a sibling folder of the same sandbox
    const clone = s.git("clone", "-q", "--branch", "v1.0", s.repo, `${s.dir}/clone`);
    expect(clone.code).toBe(0);
    const r = s.mlvWith({ cwd: "../clone" }, "pull");
    expect(r.code).toBe(0);
    expect(s.read("../clone/model.h5")).toBe("weights v1");
    expect(s.read("../clone/data/a.csv")).toBe("1,2\n");
    expect(s.read("../clone/data/b.csv")).toBe("3,4\n");
  });
});
