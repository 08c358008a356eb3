/**
 * A cloned repository is someone else's input: its pointer and lock files must not make mlv write
 * outside the project, into git's `.git` (a hook is code run on the next `git checkout`) or into
 * `.dvc`, and no symbolic link may carry a write elsewhere.
 */
import { existsSync, mkdirSync, readdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FOO_MD5, pointerText, type Sandbox, sandbox } from "./helpers.js";

/** A project whose cache holds "foo", and a pointer file written by hand. */
function withPointer(name: string, text: string): Sandbox {
  const s = sandbox({ init: "dvc" });
  s.write("foo", "foo");
  s.must("add", "foo");
  s.write(name, text);
  return s;
}

/** What the command printed, and that it wrote nothing where it must not. */
function expectRefused(s: Sandbox, args: string[], pointer: string, where: string): void {
  const r = s.mlv(...args);
  expect(r.code, r.stderr).toBe(1);
  expect(r.stderr).toContain(pointer);
  expect(r.stderr).toContain(where);
}

describe("paths from pointer and lock files", () => {
  it("refuses an output outside the project, by path or by wdir, writing nothing there", () => {
    const s = withPointer("evil.dvc", pointerText({ md5: FOO_MD5, size: 3, path: "../outside" }));
    expectRefused(s, ["checkout"], "evil.dvc", "'../outside'");
    expect(existsSync(join(s.dir, "outside"))).toBe(false);

    s.write("evil.dvc", `wdir: ../..\n${pointerText({ md5: FOO_MD5, size: 3, path: "planted" })}`);
    expectRefused(s, ["pull"], "evil.dvc", "outside the project");
    expect(existsSync(join(s.dir, "..", "planted"))).toBe(false);
    // nor may remove edit a .gitignore out there
    expectRefused(s, ["remove", "evil.dvc"], "evil.dvc", "outside the project");
  });

  it("refuses a git hook and the project's config as outputs", () => {
    const hook = withPointer(
      "hook.dvc",
      pointerText({ md5: FOO_MD5, size: 3, isexec: true, path: ".git/hooks/post-checkout" }),
    );
    expectRefused(hook, ["checkout"], "hook.dvc", ".git folder");
    expect(hook.exists(".git/hooks/post-checkout")).toBe(false);

    const config = withPointer("config.dvc", pointerText({ md5: FOO_MD5, size: 3, path: ".dvc/config" }));
    expectRefused(config, ["checkout"], "config.dvc", ".dvc folder");
    expect(config.read(".dvc/config")).toBe("");
  });

  it("refuses a stage output outside the project", () => {
    const s = sandbox({ init: "dvc" });
    s.write("dvc.yaml", "stages:\n  s:\n    wdir: ..\n    cmd: echo\n    outs:\n    - escaped\n");
    s.write(
      "dvc.lock",
      `schema: '2.0'\nstages:\n  s:\n    cmd: echo\n    outs:\n    - path: escaped\n      hash: md5\n      md5: ${FOO_MD5}\n      size: 3\n`,
    );
    expectRefused(s, ["checkout"], "dvc.yaml:s", "outside the project");
    expectRefused(s, ["status"], "dvc.yaml:s", "outside the project");
  });
});

describe("symbolic links in the workspace", () => {
  it("never writes through a linked parent folder", () => {
    // a pointer at the root for `sub/model`, and `sub` a link to a folder outside
    const s = withPointer("model.dvc", pointerText({ md5: FOO_MD5, size: 3, path: "sub/model" }));
    const elsewhere = join(s.dir, "elsewhere");
    mkdirSync(elsewhere);
    symlinkSync(elsewhere, s.path("sub"));
    const r = s.mlv("checkout", "-f");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("'sub' is a symbolic link");
    expect(readdirSync(elsewhere)).toEqual([]);
  });

  it("replaces a tracked folder turned into a link, and never deletes or writes in its target", () => {
    const s = sandbox({ init: "dvc" });
    s.writeTree({ "data/a": "a", "data/b": "b" });
    s.must("add", "data");
    s.rm("data");
    const elsewhere = join(s.dir, "elsewhere");
    mkdirSync(elsewhere);
    s.write("../elsewhere/precious", "mine");
    symlinkSync(elsewhere, s.path("data"));
    const refused = s.mlv("checkout");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("data");
    expect(s.mlv("checkout", "-f").code).toBe(0);
    expect(readdirSync(elsewhere)).toEqual(["precious"]);
    expect(s.lstat("data").isDirectory()).toBe(true);
    expect(s.read("data/a")).toBe("a");
  });
});
