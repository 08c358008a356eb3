import { describe, expect, it } from "vitest";
import { md5, type Sandbox, sandbox } from "./helpers.js";

/** Commit with a fixed author date (seconds after 2024-01-01T00:00:00Z), so that dates are known. */
function commit(s: Sandbox, message: string, minute: number): string {
  const date = `${1704067200 + minute * 60} +0200`;
  s.env.GIT_AUTHOR_DATE = date;
  s.env.GIT_COMMITTER_DATE = date;
  s.mustGit("commit", "-q", "-m", message);
  return s.mustGit("rev-parse", "--short=7", "HEAD").stdout.trim();
}

/**
 * Three versions of model.h5, each committed with its metrics.json, and commits in between that
 * change neither: v1.0 tags the first version's commit, v2.0 a later commit holding the third.
 */
function history(s: Sandbox) {
  s.must("init");
  commit(s, "init", 0);
  const models: { md5: string; sha: string }[] = [];
  for (const i of [1, 2, 3]) {
    const data = `model weights ${i}\n`.repeat(i);
    s.write("model.h5", data);
    s.must("add", "model.h5");
    s.write("metrics.json", JSON.stringify({ accuracy: 0.5 + i / 10, loss: 1 / i, train: { epochs: i * 10 } }));
    s.mustGit("add", "-A");
    const sha = commit(s, `train model v${i}\n\nlonger description`, i * 10);
    models.push({ md5: md5(data), sha });
    if (i === 1) s.mustGit("tag", "v1.0");
    s.write("README.md", `notes ${i}\n`);
    s.mustGit("add", "README.md");
    commit(s, `notes ${i}`, i * 10 + 1);
  }
  s.mustGit("tag", "-a", "v2.0", "-m", "release 2.0");
  return models;
}

describe("versions PATH", () => {
  it("lists exactly the commits that changed the pointer, newest first, with tags, md5, size and metrics", () => {
    const s = sandbox();
    const [m1, m2, m3] = history(s);
    const r = s.must("versions", "model.h5", "--metrics", "metrics.json");
    expect(r.stderr).toBe("");
    expect(r.stdout.split("\n")).toEqual([
      "Revision  Tags  Date                  Author     Message         MD5                               Size  accuracy  loss     train.epochs",
      `${m3!.sha}   v2.0  2024-01-01T00:30:00Z  Test User  train model v3  ${m3!.md5}  48 B  0.8       0.33333  30`,
      `${m2!.sha}         2024-01-01T00:20:00Z  Test User  train model v2  ${m2!.md5}  32 B  0.7       0.5      20`,
      `${m1!.sha}   v1.0  2024-01-01T00:10:00Z  Test User  train model v1  ${m1!.md5}  16 B  0.6       1        10`,
      "",
    ]);
    // The pointer file names the same output, and without --metrics there are no metric columns.
    const plain = s.must("versions", "model.h5.dvc").stdout.split("\n");
    expect(plain[0]).toBe(
      "Revision  Tags  Date                  Author     Message         MD5                               Size",
    );
    expect(plain).toHaveLength(5);
  });

  it("--json gives one object per version, and --rev walks another revision's history", () => {
    const s = sandbox();
    const [m1, m2, m3] = history(s);
    const json = JSON.parse(s.must("versions", "model.h5", "--json", "--metrics", "metrics.json").stdout);
    expect(json).toHaveLength(3);
    expect(json[0]).toMatchObject({
      rev: m3!.sha,
      tags: ["v2.0"],
      date: "2024-01-01T00:30:00Z",
      author: "Test User",
      email: "test@example.com",
      message: "train model v3",
      change: "modified",
      md5: m3!.md5,
      size: 48,
      onBranch: true,
      metrics: { accuracy: 0.8, loss: 1 / 3, "train.epochs": 30 },
    });
    expect(json[0].commit).toMatch(new RegExp(`^${m3!.sha}[0-9a-f]{33}$`));
    expect(json.map((v: { md5: string }) => v.md5)).toEqual([m3!.md5, m2!.md5, m1!.md5]);
    expect(json[2].change).toBe("added");

    const old = JSON.parse(s.must("versions", "model.h5", "--json", "--rev", "v1.0").stdout);
    // From v1.0's point of view, v2.0 is a tag off its history with a version of its own.
    expect(old.map((v: { md5: string; tags: string[]; onBranch: boolean }) => [v.md5, v.tags, v.onBranch])).toEqual([
      [m1!.md5, ["v1.0"], true],
      [m3!.md5, ["v2.0"], false],
    ]);
  });

  it("lists, marked, a tag off the branch holding a version of its own; leaves out one holding a listed version", () => {
    const s = sandbox();
    const [m1, , m3] = history(s);
    s.mustGit("checkout", "-q", "-b", "experiment", "v1.0");
    s.write("model.h5", "experimental weights\n");
    s.must("add", "model.h5");
    s.mustGit("add", "model.h5.dvc");
    const exp = commit(s, "try a wider layer", 100);
    s.mustGit("tag", "exp-1");
    s.mustGit("checkout", "-q", "-b", "same", "v1.0");
    s.write("other.txt", "x");
    s.mustGit("add", "other.txt");
    commit(s, "unrelated", 110);
    s.mustGit("tag", "same-as-v1");
    s.mustGit("checkout", "-q", "main");

    const lines = s.must("versions", "model.h5").stdout.split("\n");
    expect(lines).toHaveLength(7);
    expect(lines[1]).toContain(m3!.md5);
    expect(lines[3]).toContain(m1!.md5);
    expect(lines[4]).toMatch(
      new RegExp(`^${exp}\\*\\s+exp-1\\s+2024-01-01T01:40:00Z .* ${md5("experimental weights\n")}`),
    );
    expect(lines[5]).toBe("* a tag off the history of HEAD, holding a version of its own");
    expect(s.must("versions", "model.h5").stdout).not.toContain("same-as-v1");

    const json = JSON.parse(s.must("versions", "model.h5", "--json").stdout);
    expect(json.at(-1)).toMatchObject({ rev: exp, tags: ["exp-1"], onBranch: false });
  });

  it("shows a deletion, and blanks metrics where the file is missing", () => {
    const s = sandbox({ init: "dvc" });
    commit(s, "init", 0);
    s.write("model.h5", "a");
    s.must("add", "model.h5");
    s.mustGit("add", "-A");
    const added = commit(s, "add model", 1);
    s.write("metrics.json", '{"auc": 0.9}');
    s.mustGit("rm", "-q", "model.h5.dvc");
    s.mustGit("add", "metrics.json");
    const removed = commit(s, "drop model", 2);
    const lines = s.must("versions", "model.h5", "--metrics", "metrics.json").stdout.split("\n");
    expect(lines[0]).toBe(
      "Revision  Tags  Date                  Author     Message     MD5                               Size  auc",
    );
    expect(lines[1]).toBe(
      `${removed}         2024-01-01T00:02:00Z  Test User  drop model  (deleted)                         -     0.9`,
    );
    expect(lines[2]).toBe(`${added}         2024-01-01T00:01:00Z  Test User  add model   ${md5("a")}  1 B`);
  });

  it("fails naming the path when it was never tracked, and outside the project with a usage error", () => {
    const s = sandbox();
    history(s);
    const r = s.mlv("versions", "nothing.bin");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("'nothing.bin' has no pointer 'nothing.bin.dvc' in the history of HEAD");
    expect(r.stderr).toMatch(
      /\nTrack it with 'mlv add' and commit its \.dvc file; 'mlv list \. --dvc-only' shows what is tracked\.\n$/,
    );
    const outside = s.mlv("versions", "../elsewhere.bin");
    expect(outside.code).toBe(2);
    expect(outside.stderr).toContain("outside the project");
    const badRev = s.mlv("versions", "model.h5", "--rev", "v9");
    expect(badRev.code).toBe(1);
    expect(badRev.stderr).toContain("unknown revision 'v9'");
  });
});
