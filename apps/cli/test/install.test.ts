import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { modeOf, type Sandbox, sandbox } from "./helpers.js";

/** main holds model v1; branch `next` holds model v2 (checked out). */
function twoBranches(s: Sandbox) {
  s.must("init");
  s.write("model.bin", "model v1\n");
  s.must("add", "model.bin");
  s.mustGit("add", "-A");
  s.mustGit("commit", "-q", "-m", "v1");
  s.mustGit("checkout", "-q", "-b", "next");
  s.write("model.bin", "model v2\n");
  s.must("add", "model.bin");
  s.mustGit("add", "-A");
  s.mustGit("commit", "-q", "-m", "v2");
}

/** git with extra environment variables (the hooks it runs see them), in the sandbox's repository. */
function gitWith(s: Sandbox, env: Record<string, string>, ...args: string[]) {
  const r = spawnSync("git", args, { cwd: s.repo, env: { ...s.env, ...env }, encoding: "utf8", timeout: 60_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const HOOKS = ["post-checkout", "pre-commit", "pre-push"];

describe("mlv install", () => {
  it("a git checkout of another branch checks out that branch's data", () => {
    const s = sandbox();
    twoBranches(s);
    s.must("install");
    s.mustGit("checkout", "-q", "main");
    expect(s.read("model.bin")).toBe("model v1\n");
    s.mustGit("checkout", "-q", "next");
    expect(s.read("model.bin")).toBe("model v2\n");
    // Checking out a file (third argument 0) leaves the data alone.
    s.write("model.bin", "local edit\n");
    s.mustGit("checkout", "-q", "main", "--", "model.bin.dvc");
    expect(s.read("model.bin")).toBe("local edit\n");
  });

  it("a hook already there still runs first, and its failure still blocks the commit", () => {
    const s = sandbox();
    twoBranches(s);
    s.write(
      ".git/hooks/pre-commit",
      '#!/bin/sh\necho "lint hook ran"\n[ -z "$LINT_EXIT" ] || exit "$LINT_EXIT"\n',
      0o755,
    );
    s.must("install");
    expect(s.read(".git/hooks/pre-commit.pre-mlv")).toContain("lint hook ran");
    s.write("model.bin", "changed\n");
    s.write("notes.txt", "n");
    s.mustGit("add", "notes.txt");
    const blocked = gitWith(s, { LINT_EXIT: "3" }, "commit", "-q", "-m", "blocked");
    expect(blocked.code).not.toBe(0);
    expect(blocked.stdout + blocked.stderr).toContain("lint hook ran");
    expect(s.git("log", "--format=%s", "-1").stdout).toBe("v2\n");
    // When it passes, mlv status shows the change, and the commit goes through.
    const ok = gitWith(s, {}, "commit", "-q", "-m", "passes");
    expect(ok.code).toBe(0);
    expect(ok.stdout + ok.stderr).toContain("lint hook ran");
    expect(ok.stdout + ok.stderr).toMatch(/modified:\s+model\.bin/);
    expect(s.git("log", "--format=%s", "-1").stdout).toBe("passes\n");
  });

  it("running install twice changes nothing; hooks are executable; core.hooksPath is honoured", () => {
    const s = sandbox();
    twoBranches(s);
    s.write(".git/hooks/pre-push", "#!/bin/sh\nexit 0\n", 0o755);
    s.must("install");
    const first = HOOKS.map((h) => s.read(`.git/hooks/${h}`));
    const again = s.must("install");
    expect(again.stdout).toContain("Updated");
    expect(HOOKS.map((h) => s.read(`.git/hooks/${h}`))).toEqual(first);
    for (const h of HOOKS) {
      expect(modeOf(s.stat(`.git/hooks/${h}`)) & 0o111).toBe(0o111);
      expect(s.read(`.git/hooks/${h}`).split("# >>> mlv install >>>").length).toBe(2);
    }
    expect(readdirSync(s.path(".git/hooks")).filter((f) => f.endsWith(".pre-mlv"))).toEqual(["pre-push.pre-mlv"]);

    s.mustGit("config", "core.hooksPath", "githooks");
    s.must("install");
    expect(readdirSync(s.path("githooks")).sort()).toEqual(HOOKS);
  });

  it("pre-push runs mlv push to the default remote", () => {
    const s = sandbox();
    twoBranches(s);
    s.must("remote", "add", "-d", "storage", s.remote);
    s.mustGit("add", "-A");
    s.mustGit("commit", "-q", "-m", "remote");
    s.mustGit("init", "-q", "--bare", `${s.dir}/origin.git`);
    s.mustGit("remote", "add", "origin", `${s.dir}/origin.git`);
    s.must("install");
    const r = gitWith(s, {}, "push", "-q", "origin", "next");
    expect(r.code).toBe(0);
    expect(s.remoteFiles().length).toBe(1);
  });
});
