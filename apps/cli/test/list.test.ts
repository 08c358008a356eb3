import { describe, expect, it } from "vitest";
import { md5, type Sandbox, sandbox } from "./helpers.js";

/** v1 (tagged): data/{a,sub/b} and model.bin tracked, README.md in git; the workspace then moves on. */
function project(s: Sandbox) {
  s.must("init");
  s.writeTree({ "data/a": "foo\n", "data/sub/b": "bar\n", "model.bin": "model v1\n", "README.md": "readme\n" });
  s.must("add", "data", "model.bin");
  s.mustGit("add", "-A");
  s.mustGit("commit", "-q", "-m", "v1");
  s.mustGit("tag", "v1.0");
  s.write("model.bin", "model v2 is longer\n");
  s.write("data/c", "baz\n");
  s.rm("data/a");
  s.must("add", "data", "model.bin");
}

const json = (stdout: string) => JSON.parse(stdout) as Record<string, unknown>[];

describe("mlv list", () => {
  it("lists git files and tracked outputs of a revision, marking the outputs", () => {
    const s = sandbox();
    project(s);
    const r = s.must("list", ".", "--rev", "v1.0");
    expect(r.stdout).toBe(".dvcignore\n.gitignore\nREADME.md\ndata\ndata.dvc\nmodel.bin\nmodel.bin.dvc\n");
    const entries = json(s.must("list", ".", "--rev", "v1.0", "--json").stdout);
    expect(entries.find((e) => e.path === "model.bin")).toEqual({
      path: "model.bin",
      isdir: false,
      isout: true,
      isexec: false,
      size: 9,
      md5: md5("model v1\n"),
    });
    expect(entries.find((e) => e.path === "data")).toMatchObject({ isdir: true, isout: true, size: 8 });
    expect(entries.find((e) => e.path === "data")?.md5).toMatch(/^[0-9a-f]{32}\.dir$/);
    expect(entries.find((e) => e.path === "README.md")).toEqual({
      path: "README.md",
      isdir: false,
      isout: false,
      isexec: false,
      size: 7,
      md5: null,
    });
  });

  it("lists the files inside a tracked folder at a revision and in the workspace", () => {
    const s = sandbox();
    project(s);
    expect(s.must("list", ".", "data", "--rev", "v1.0", "-R").stdout).toBe("a\nsub/b\n");
    expect(s.must("list", ".", "data", "-R").stdout).toBe("c\nsub/b\n");
    const r = s.must("list", ".", "data", "--rev", "v1.0", "--size", "--show-hash");
    expect(r.stdout).toBe(`4 B  ${md5("foo\n")}  a\n${" ".repeat(3)}  ${" ".repeat(32)}  sub\n`);
    const inside = json(s.must("list", ".", "data/sub/b", "--json").stdout);
    expect(inside).toEqual([{ path: "b", isdir: false, isout: true, isexec: false, size: 4, md5: md5("bar\n") }]);
  });

  it("--dvc-only -R gives the tracked files only, from another folder too", () => {
    const s = sandbox();
    project(s);
    s.write("elsewhere/x", "x");
    const r = s.mlvWith({ cwd: "elsewhere" }, "list", "..", "--dvc-only", "-R", "--rev", "v1.0");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("data/a\ndata/sub/b\nmodel.bin\n");
  });

  it("a tracked folder whose .dir object is not cached is listed as a whole, contents unknown", () => {
    const s = sandbox();
    project(s);
    s.rm(".dvc/cache");
    const r = s.mlv("list", ".", "data", "--rev", "v1.0", "--json");
    expect(r.code).toBe(0);
    const entries = json(r.stdout);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ path: "data", isdir: true, isout: true, size: 8 });
    expect(r.stderr).toContain("the files of 'data' are not listed");
    expect(r.stderr).toContain("mlv fetch --rev v1.0 data");
    // Recursive listings keep the folder as one entry; git files are listed as always.
    expect(s.must("list", ".", "-R", "--rev", "v1.0").stdout).toContain("\ndata\ndata.dvc\n");
  });

  it("names what is wrong: a URL it cannot clone, a path that is not there, a folder that is not a repository root", () => {
    const s = sandbox();
    project(s);
    const url = s.mlv("list", "http://127.0.0.1:9/repo.git");
    expect(url.code).toBe(1);
    expect(url.stderr).toContain("cannot clone 'http://127.0.0.1:9/repo.git'");
    const missing = s.mlv("list", ".", "nope/x", "--rev", "v1.0");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("'nope/x' does not exist");
    const inner = s.mlv("list", "data");
    expect(inner.code).toBe(2);
    expect(inner.stderr).toContain("not its root");
    expect(s.mlv("list", ".", "--rev", "v9").stderr).toContain("unknown revision 'v9'");
  });
});
