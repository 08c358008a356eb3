import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { md5, type Sandbox, sandbox } from "./helpers.js";

/** v1 (tagged) tracks data/{a,sub/b} and model.bin; the workspace then deletes a, adds c, changes the model. */
function project(s: Sandbox) {
  s.must("init");
  s.writeTree({ "data/a": "foo\n", "data/sub/b": "bar\n", "model.bin": "model v1\n" });
  s.must("add", "data", "model.bin");
  s.mustGit("add", "-A");
  s.mustGit("commit", "-q", "-m", "v1");
  s.mustGit("tag", "v1.0");
  const v1Dir = dirHash(s);
  s.write("model.bin", "model v2\n");
  s.write("data/c", "baz\n");
  s.rm("data/a");
  return v1Dir;
}

/** The `.dir` hash data.dvc records. */
function dirHash(s: Sandbox): string {
  return /md5: (\w+\.dir)/.exec(readFileSync(s.path("data.dvc"), "utf8"))![1]!;
}

describe("mlv diff", () => {
  it("HEAD against the workspace, files inside tracked folders included, as DVC prints it", () => {
    const s = sandbox();
    project(s);
    const r = s.must("diff");
    expect(r.stdout).toBe(
      "Added:\n    data/c\n\nDeleted:\n    data/a\n\nModified:\n    data/\n    model.bin\n\nfiles summary: 1 added, 1 deleted, 1 modified\n",
    );
    // The workspace was only hashed: nothing was added to the cache or to the pointers.
    expect(s.git("status", "--porcelain").stdout).toBe("");
  });

  it("between two revisions, --json --show-hash gives DVC's shape with the hashes", () => {
    const s = sandbox();
    const v1Dir = project(s);
    s.must("add", "data", "model.bin");
    s.mustGit("add", "-A");
    s.mustGit("commit", "-q", "-m", "v2");
    const r = s.must("diff", "v1.0", "HEAD", "--json", "--show-hash");
    expect(JSON.parse(r.stdout)).toEqual({
      added: [{ path: "data/c", hash: md5("baz\n") }],
      deleted: [{ path: "data/a", hash: md5("foo\n") }],
      modified: [
        { path: "data/", hash: { old: v1Dir, new: dirHash(s) } },
        { path: "model.bin", hash: { old: md5("model v1\n"), new: md5("model v2\n") } },
      ],
      renamed: [],
    });
    // Without --show-hash, paths only; the workspace now matches HEAD.
    expect(JSON.parse(s.must("diff", "v1.0", "--json").stdout).added).toEqual([{ path: "data/c" }]);
    expect(s.must("diff").stdout).toBe("");
    expect(s.must("diff", "--json").stdout).toBe("{}\n");
  });

  it("--md prints a Markdown table; --targets narrows to some paths", () => {
    const s = sandbox();
    project(s);
    expect(s.must("diff", "--md").stdout).toBe(
      "| Status   | Path      |\n" +
        "|----------|-----------|\n" +
        "| added    | data/c    |\n" +
        "| deleted  | data/a    |\n" +
        "| modified | data/     |\n" +
        "| modified | model.bin |\n\n",
    );
    expect(s.must("diff", "--targets", "model.bin").stdout).toBe(
      "Modified:\n    model.bin\n\nfiles summary: 1 modified\n",
    );
    expect(s.must("diff", "--targets", "data/c").stdout).toBe("Added:\n    data/c\n\nfiles summary: 1 added\n");
  });

  it("a folder whose .dir object is not in the cache is reported as a whole, with its hash", () => {
    const s = sandbox();
    const v1Dir = project(s);
    s.rm(".dvc/cache");
    const r = s.must("diff", "--json", "--show-hash");
    const result = JSON.parse(r.stdout);
    expect(result.modified).toContainEqual({
      path: "data/",
      hash: { old: v1Dir, new: expect.stringMatching(/\.dir$/) },
    });
    expect(result.added).toEqual([]);
    expect(result.deleted).toEqual([]);
    expect(result["not in cache"]).toContainEqual({ path: "data/", hash: v1Dir });
  });

  it("an unknown revision is named", () => {
    const s = sandbox();
    project(s);
    const r = s.mlv("diff", "v9");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("unknown revision 'v9'");
  });
});
