import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BIN, sandbox } from "./helpers.js";

describe("mlv version (doctor)", () => {
  it("names the platform, the adapter of every built-in scheme and what the cache can link", () => {
    const s = sandbox({ init: "mlv" });
    s.must("remote", "add", "-d", "storage", s.remote);
    s.write("f", "x");
    s.must("add", "f");
    const text = s.must("doctor").stdout;
    expect(text).toMatch(/^mlv version: \d+\.\d+\.\d+\n-+\n/);
    expect(text).toContain(`Node.js ${process.versions.node}`);
    expect(text).toMatch(/\ts3 \(@mlv\/remote-s3 \d/);
    expect(text).toMatch(/\tssh, sftp \(@mlv\/remote-sftp /);
    // On the same filesystem, hardlink and symlink work whatever the machine.
    expect(text).toMatch(/Cache types: .*hardlink, symlink, copy/);
    expect(text).toContain("Remotes: local");
    expect(text).toContain("Repo: dvc, git");

    const json = JSON.parse(s.must("version", "--json").stdout);
    expect(json.repo.remotes).toEqual([{ name: "storage", scheme: "local", url: s.remote }]);
    expect(json.adapters.find((a: { package: string }) => a.package === "@mlv/remote-local").from).toBe("built in");
  });

  it("outside a project, still reports what is installed", () => {
    const s = sandbox({ git: false });
    const r = s.must("version");
    expect(r.stdout).toContain("Supports:");
    expect(r.stdout).toContain("Repo: none");
  });
});

describe("mlv completion", () => {
  /** What bash offers after typing `line` and pressing tab, with the script sourced. */
  function complete(dir: string, script: string, line: string, env: Record<string, string>): string[] {
    const file = join(dir, "completion.bash");
    writeFileSync(file, script);
    const words = line.split(" ");
    const program = [
      `mlv() { "${process.execPath}" "${BIN}" "$@"; }`,
      `source ${file}`,
      `COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")})`,
      `COMP_CWORD=${words.length - 1}`,
      "_mlv_complete",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: bash's array expansion, not a template
      'printf "%s\\n" "${COMPREPLY[@]}"',
    ].join("\n");
    const r = spawnSync("bash", ["-c", program], { cwd: dir, env, encoding: "utf8" });
    expect(r.stderr).toBe("");
    return r.stdout.split("\n").filter(Boolean).sort();
  }

  it("completes commands, subcommands, flags and the project's remote names in bash", () => {
    const s = sandbox({ init: "mlv" });
    s.must("remote", "add", "storage", s.remote);
    s.must("remote", "add", "backup", join(s.dir, "b"));
    const script = s.must("completion").stdout;
    const env = { ...s.env };
    expect(complete(s.repo, script, "mlv pu", env)).toEqual(["pull", "push"]);
    expect(complete(s.repo, script, "mlv remote ", env)).toEqual(
      expect.arrayContaining(["add", "default", "list", "modify", "remove", "rename"]),
    );
    expect(complete(s.repo, script, "mlv push --al", env)).toEqual(["--all-branches", "--all-commits", "--all-tags"]);
    expect(complete(s.repo, script, "mlv push -r ", env)).toEqual(["backup", "storage"]);
  });

  it("prints a zsh script through bashcompinit, and refuses other shells", () => {
    const s = sandbox({ git: false });
    expect(s.must("completion", "-s", "zsh").stdout).toContain("bashcompinit");
    const r = s.mlv("completion", "--shell", "fish");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("'fish'");
  });
});
