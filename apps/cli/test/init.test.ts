import { describe, expect, it } from "vitest";
import { DVC_GITIGNORE, sandbox } from "./helpers.js";

describe("mlv init", () => {
  it("creates .dvc as DVC 3 does and stages it in git", () => {
    const s = sandbox();
    const r = s.mlv("init");
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(s.stat(".dvc").isDirectory()).toBe(true);
    expect(s.bytes(".dvc/config").length).toBe(0);
    expect(s.read(".dvc/.gitignore")).toBe(DVC_GITIGNORE);
    expect(s.stat(".dvcignore").isFile()).toBe(true);
    const staged = s.mustGit("diff", "--cached", "--name-only").stdout.trim().split("\n").sort();
    expect(staged).toEqual([".dvc/.gitignore", ".dvc/config", ".dvcignore"]);
  });

  it("refuses a folder that is not a git repository and says what to do", () => {
    const s = sandbox({ git: false });
    const r = s.mlv("init");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/git init/);
    expect(r.stderr).toMatch(/--no-scm/);
    expect(s.exists(".dvc")).toBe(false);
  });

  it("--no-scm works outside git and records no_scm = True under [core]", () => {
    const s = sandbox({ git: false });
    expect(s.mlv("init", "--no-scm").code).toBe(0);
    expect(s.read(".dvc/config")).toBe("[core]\n    no_scm = True\n");
    expect(s.exists(".dvcignore")).toBe(true);
    // A --no-scm repository works without git: add writes no .gitignore.
    s.write("foo", "foo");
    expect(s.mlv("add", "foo").code).toBe(0);
    expect(s.exists("foo.dvc")).toBe(true);
    expect(s.exists(".gitignore")).toBe(false);
  });

  it("refuses to initialise twice, and -f starts over", () => {
    const s = sandbox({ init: "mlv" });
    const again = s.mlv("init");
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/\.dvc/);
    expect(again.stderr).toMatch(/-f/);
    s.write(".dvc/config", "[core]\n    remote = old\n");
    const forced = s.mlv("init", "-f");
    expect(forced.code).toBe(0);
    expect(s.bytes(".dvc/config").length).toBe(0);
    expect(s.read(".dvc/.gitignore")).toBe(DVC_GITIGNORE);
  });

  it("-q prints nothing", () => {
    const s = sandbox();
    const r = s.mlv("init", "-q");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe("");
  });
  it("in a subfolder of a git repository it refuses, as DVC does without --subdir", () => {
    const s = sandbox();
    s.write("sub/keep", "");
    const r = s.mlvWith({ cwd: "sub" }, "init");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/git/);
    expect(s.exists("sub/.dvc")).toBe(false);
  });
});
