import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BIN, sandbox } from "./helpers.js";

const README = new URL("../../../README.md", import.meta.url);

/** The first `sh` block under the README's "Quick start" heading, as a newcomer would paste it. */
function quickStartBlock(): string {
  const text = readFileSync(README, "utf8");
  const section = text.slice(text.indexOf("## Quick start"));
  const m = /```sh\n([\s\S]*?)```/.exec(section);
  if (!m?.[1]) throw new Error("README.md has no sh block under '## Quick start'");
  return m[1];
}

describe("the README's quick start", () => {
  it("run line by line as written, lets a teammate's clone pull the exact model and data", () => {
    const s = sandbox({ git: false });
    const bin = join(s.dir, "bin");
    mkdirSync(bin);
    writeFileSync(join(bin, "mlv"), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`);
    chmodSync(join(bin, "mlv"), 0o755);
    const work = join(s.dir, "work");
    mkdirSync(work);

    const r = spawnSync("bash", ["-euo", "pipefail", "-c", quickStartBlock()], {
      cwd: work,
      env: { ...s.env, PATH: `${bin}:${process.env.PATH}`, GIT_CONFIG_GLOBAL: join(s.dir, "gitconfig") },
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(r.stderr).not.toContain("ERROR");
    expect(r.status).toBe(0);
    // The teammate's copy has v1.0's bytes, fetched from the remote (its cache started empty).
    expect(r.stdout.trimEnd().split("\n").at(-1)).toBe("weights v1");
    const teammate = join(work, "teammate");
    expect(readFileSync(join(teammate, "data", "train.csv"), "utf8")).toBe("1,2,3\n");
    expect(existsSync(join(work, "mlv-storage", "files", "md5"))).toBe(true);
    // What made that possible: the remote went into git with the pointers.
    expect(readFileSync(join(teammate, ".dvc", "config"), "utf8")).toContain("remote = storage");
  });

  it("reminds the user to commit .dvc/config after adding a remote, or stages it with core.autostage", () => {
    const s = sandbox({ init: "mlv" });
    const added = s.must("remote", "add", "-d", "storage", s.remote);
    expect(added.stdout).toContain("git add .dvc/config");

    s.must("config", "core.autostage", "true");
    const changed = s.must("remote", "add", "backup", join(s.dir, "backup"));
    expect(changed.stdout).not.toContain("git add");
    expect(s.mustGit("status", "--porcelain", ".dvc/config").stdout).toMatch(/^[AM] {2}\.dvc\/config/m);

    // The local level is not committed: no reminder.
    s.must("config", "core.autostage", "false");
    expect(s.must("remote", "modify", "--local", "backup", "verify", "true").stdout).toBe("");
  });

  it("refuses a remote whose scheme no adapter serves, naming the package that would", () => {
    const s = sandbox({ init: "mlv" });
    const r = s.mlv("remote", "add", "x", "foo://bucket/path");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("'foo://'");
    expect(r.stderr).toContain("mlv-remote-foo");
    expect(readFileSync(s.path(".dvc/config"), "utf8")).not.toContain("foo://");
  });
});
