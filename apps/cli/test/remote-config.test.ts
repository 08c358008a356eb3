import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { sandbox } from "./helpers.js";

/** V-P4 (spec §5.2): `.dvc/config` after `remote add -d storage s3://mybucket/dvcstore`. */
const VP4 = "[core]\n    remote = storage\n['remote \"storage\"']\n    url = s3://mybucket/dvcstore\n";

describe("mlv remote and mlv config", () => {
  it("refuses to work with a config DVC would refuse, naming the file and key, and lets remote modify repair it", () => {
    const s = sandbox({ init: "dvc" });
    s.write(".dvc/config", "['remote \"r\"']\n    url = ../store\n    jobs = -5\n");
    const refused = s.mlv("status");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`config file '${join(s.repo, ".dvc", "config")}'`);
    expect(refused.stderr).toContain("option 'jobs' must be a whole number of at least 1, got '-5'");
    expect(s.mlv("remote", "modify", "r", "jobs", "4").code).toBe(0);
    expect(s.mlv("status").code).toBe(0);
    s.write(".dvc/config", "[bogus]\n    x = 1\n");
    expect(s.mlv("status").stderr).toContain("section '[bogus]' is not known");
  });
  it("remote add -d writes exactly DVC's V-P4 block", () => {
    const s = sandbox({ init: "dvc" });
    const r = s.mlv("remote", "add", "-d", "storage", "s3://mybucket/dvcstore");
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain("\tgit add .dvc/config\n");
    expect(s.read(".dvc/config")).toBe(VP4);
  });

  it("writes config files byte for byte as DVC 3.64.0 does (V-P7)", () => {
    const s = sandbox({ init: "dvc" });
    const steps = [
      ["remote", "add", "-d", "st", "s3://b/p"],
      ["remote", "modify", "st", "endpointurl", "http://127.0.0.1:9000"],
      ["remote", "modify", "--local", "st", "secret_access_key", 'ab#c,d e"f'],
      ["remote", "add", "az", "azure://c/p"],
      ["remote", "modify", "az", "connection_string", "DefaultEndpointsProtocol=http;AccountName=x;AccountKey=k/K+=="],
      ["remote", "add", "sh", "ssh://u@h:2222/path"],
      ["remote", "modify", "sh", "port", "2222"],
      ["config", "core.autostage", "true"],
      ["config", "cache.type", "hardlink,copy"],
    ];
    for (const step of steps) expect(s.mlv(...step).code, step.join(" ")).toBe(0);
    expect(s.read(".dvc/config")).toBe(
      [
        "[core]",
        "    remote = st",
        "    autostage = true",
        "[cache]",
        '    type = "hardlink,copy"',
        "['remote \"st\"']",
        "    url = s3://b/p",
        "    endpointurl = http://127.0.0.1:9000",
        "['remote \"az\"']",
        "    url = azure://c/p",
        "    connection_string = DefaultEndpointsProtocol=http;AccountName=x;AccountKey=k/K+==",
        "['remote \"sh\"']",
        "    url = ssh://u@h:2222/path",
        "    port = 2222",
        "",
      ].join("\n"),
    );
    expect(s.read(".dvc/config.local")).toBe("['remote \"st\"']\n    secret_access_key = 'ab#c,d e\"f'\n");
  });

  it("remote list shows every remote with its URL and marks the default", () => {
    const s = sandbox({ init: "dvc" });
    s.must("remote", "add", "-d", "storage", "s3://mybucket/dvcstore");
    s.must("remote", "add", "backup", "gs://other/place");
    const r = s.mlv("remote", "list");
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines.find((l) => l.startsWith("storage"))).toMatch(/^storage\s+s3:\/\/mybucket\/dvcstore/);
    expect(lines.find((l) => l.startsWith("backup"))).toMatch(/^backup\s+gs:\/\/other\/place/);
  });

  it("remote modify sets an option and --unset removes it", () => {
    const s = sandbox({ init: "dvc" });
    s.must("remote", "add", "-d", "storage", "s3://mybucket/dvcstore");
    expect(s.mlv("remote", "modify", "storage", "region", "eu-west-1").code).toBe(0);
    expect(s.read(".dvc/config")).toBe(`${VP4}    region = eu-west-1\n`);
    expect(s.mlv("remote", "modify", "storage", "--unset", "region").code).toBe(0);
    expect(s.read(".dvc/config")).toBe(VP4);
  });

  it("remote modify of an unknown remote is an error naming it", () => {
    const s = sandbox({ init: "dvc" });
    const r = s.mlv("remote", "modify", "ghost", "region", "x");
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("ghost");
    expect(s.read(".dvc/config")).toBe("");
  });

  it("remote add refuses an existing name unless -f", () => {
    const s = sandbox({ init: "dvc" });
    s.must("remote", "add", "-d", "storage", "s3://mybucket/dvcstore");
    const r = s.mlv("remote", "add", "storage", "s3://elsewhere");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("storage");
    expect(s.read(".dvc/config")).toBe(VP4);
    expect(s.mlv("remote", "add", "-f", "storage", "s3://elsewhere").code).toBe(0);
    expect(s.read(".dvc/config")).toBe(
      "[core]\n    remote = storage\n['remote \"storage\"']\n    url = s3://elsewhere\n",
    );
  });

  it("remote rename renames the section and the default that names it", () => {
    const s = sandbox({ init: "dvc" });
    s.must("remote", "add", "-d", "storage", "s3://mybucket/dvcstore");
    expect(s.mlv("remote", "rename", "storage", "backup").code).toBe(0);
    expect(s.read(".dvc/config")).toBe(
      "[core]\n    remote = backup\n['remote \"backup\"']\n    url = s3://mybucket/dvcstore\n",
    );
  });

  it("remote remove drops the section and the core.remote pointing at it", () => {
    const s = sandbox({ init: "dvc" });
    s.must("remote", "add", "-d", "storage", "s3://mybucket/dvcstore");
    s.must("remote", "add", "backup", "gs://other/place");
    expect(s.mlv("remote", "remove", "storage").code).toBe(0);
    expect(s.read(".dvc/config")).toBe("['remote \"backup\"']\n    url = gs://other/place\n");
    expect(s.mlv("remote", "list").stdout).not.toContain("storage");
  });

  it("remote default shows, sets and unsets the default remote", () => {
    const s = sandbox({ init: "dvc" });
    s.must("remote", "add", "storage", "s3://mybucket/dvcstore");
    const none = s.mlv("remote", "default");
    expect(none.code).not.toBe(0);
    expect(s.mlv("remote", "default", "storage").code).toBe(0);
    expect(s.read(".dvc/config")).toBe(VP4);
    expect(s.mlv("remote", "default").stdout).toBe("storage\n");
    expect(s.mlv("remote", "default", "--unset").code).toBe(0);
    expect(s.read(".dvc/config")).toBe("['remote \"storage\"']\n    url = s3://mybucket/dvcstore\n");
  });

  it("--local writes .dvc/config.local and leaves .dvc/config alone", () => {
    const s = sandbox({ init: "dvc" });
    expect(s.mlv("remote", "add", "--local", "-d", "mine", "s3://private/x").code).toBe(0);
    expect(s.read(".dvc/config")).toBe("");
    expect(s.read(".dvc/config.local")).toBe(
      "[core]\n    remote = mine\n['remote \"mine\"']\n    url = s3://private/x\n",
    );
    expect(s.mlv("remote", "default").stdout).toBe("mine\n");
    // config.local is git-ignored by .dvc/.gitignore
    expect(s.git("check-ignore", "-q", ".dvc/config.local").code).toBe(0);
  });

  it("--global writes the global config (DVC_GLOBAL_CONFIG_DIR), usable from the repository", () => {
    const s = sandbox({ init: "dvc" });
    expect(s.mlv("remote", "add", "--global", "shared", "s3://team/bucket").code).toBe(0);
    const global = join(s.env.DVC_GLOBAL_CONFIG_DIR!, "config");
    expect(readFileSync(global, "utf8")).toBe("['remote \"shared\"']\n    url = s3://team/bucket\n");
    expect(s.read(".dvc/config")).toBe("");
    expect(s.mlv("remote", "list").stdout).toMatch(/^shared\s+s3:\/\/team\/bucket/m);
    expect(existsSync(join(s.env.DVC_SYSTEM_CONFIG_DIR!, "config"))).toBe(false);
  });

  it("stores a relative remote path relative to .dvc/ (../path/to/dir becomes ../../path/to/dir)", () => {
    const s = sandbox({ init: "dvc" });
    expect(s.mlv("remote", "add", "mylocal", "../path/to/dir").code).toBe(0);
    expect(s.read(".dvc/config")).toBe("['remote \"mylocal\"']\n    url = ../../path/to/dir\n");
    s.write("sub/keep", "");
    expect(s.mlvWith({ cwd: "sub" }, "remote", "add", "fromsub", "../store").code).toBe(0);
    expect(s.read(".dvc/config")).toBe(
      "['remote \"mylocal\"']\n    url = ../../path/to/dir\n['remote \"fromsub\"']\n    url = ../store\n",
    );
  });

  it("core.autostage true makes add stage the pointer and the .gitignore in git", () => {
    const s = sandbox({ init: "dvc" });
    expect(s.mlv("config", "core.autostage", "true").code).toBe(0);
    expect(s.read(".dvc/config")).toBe("[core]\n    autostage = true\n");
    s.write("foo", "foo");
    const r = s.mlv("add", "foo");
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain("git add");
    const staged = s.mustGit("diff", "--cached", "--name-only").stdout.split("\n");
    expect(staged).toContain("foo.dvc");
    expect(staged).toContain(".gitignore");
    expect(staged).not.toContain("foo");
  });

  it("config reads a value, --list lists them, --unset removes one", () => {
    const s = sandbox({ init: "dvc" });
    s.must("remote", "add", "-d", "storage", "s3://mybucket/dvcstore");
    s.must("config", "cache.type", "hardlink");
    expect(s.mlv("config", "core.remote").stdout).toBe("storage\n");
    expect(s.mlv("config", "remote.storage.url").stdout).toBe("s3://mybucket/dvcstore\n");
    const list = s.mlv("config", "--list");
    expect(list.code).toBe(0);
    expect(list.stdout.trim().split("\n").sort()).toEqual(
      ["cache.type=hardlink", "core.remote=storage", "remote.storage.url=s3://mybucket/dvcstore"].sort(),
    );
    expect(s.mlv("config", "--unset", "cache.type").code).toBe(0);
    expect(s.read(".dvc/config")).toBe(VP4);
    const gone = s.mlv("config", "cache.type");
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toContain("cache.type");
  });

  it("config remote.NAME.OPTION sets a remote option like remote modify", () => {
    const s = sandbox({ init: "dvc" });
    s.must("remote", "add", "-d", "storage", "s3://mybucket/dvcstore");
    expect(s.mlv("config", "remote.storage.region", "us-east-1").code).toBe(0);
    expect(s.read(".dvc/config")).toBe(`${VP4}    region = us-east-1\n`);
  });

  it("a malformed key is refused, naming it", () => {
    const s = sandbox({ init: "dvc" });
    const r = s.mlv("config", "nodot", "x");
    expect([1, 2]).toContain(r.code);
    expect(r.stderr).toContain("nodot");
    expect(s.read(".dvc/config")).toBe("");
  });

  it("an unknown section is refused, naming it", () => {
    const s = sandbox({ init: "dvc" });
    const r = s.mlv("config", "bogus.option", "x");
    expect([1, 2]).toContain(r.code);
    expect(r.stderr).toContain("bogus");
    expect(s.read(".dvc/config")).toBe("");
  });

  it("an unknown option of a known section is refused, naming it (DVC: extra keys not allowed)", () => {
    const s = sandbox({ init: "dvc" });
    const r = s.mlv("config", "core.bogus", "x");
    expect([1, 2]).toContain(r.code);
    expect(r.stderr).toContain("bogus");
    expect(s.read(".dvc/config")).toBe("");
  });
  it("lowercases remote names, as DVC does", () => {
    const s = sandbox({ init: "dvc" });
    expect(s.mlv("remote", "add", "-d", "MyStore", "s3://b/p").code).toBe(0);
    expect(s.read(".dvc/config")).toBe("[core]\n    remote = mystore\n['remote \"mystore\"']\n    url = s3://b/p\n");
    expect(s.mlv("remote", "modify", "MYSTORE", "region", "x").code).toBe(0);
    expect(s.read(".dvc/config")).toContain("    region = x\n");
  });

  it("remote list does not print a password held in the URL", () => {
    const s = sandbox({ init: "dvc" });
    s.must("remote", "add", "web", "https://alice:s3cr3t@example.com/store");
    const r = s.mlv("remote", "list");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("example.com/store");
    expect(r.stdout).not.toContain("s3cr3t");
  });

  it("remote remove also clears a core.remote naming it in config.local", () => {
    const s = sandbox({ init: "dvc" });
    s.must("remote", "add", "-d", "storage", "s3://mybucket/dvcstore");
    expect(s.mlv("config", "--local", "core.remote", "storage").code).toBe(0);
    expect(s.read(".dvc/config.local")).toBe("[core]\n    remote = storage\n");
    expect(s.mlv("remote", "remove", "storage").code).toBe(0);
    expect(s.read(".dvc/config").trim()).toBe("");
    expect(s.read(".dvc/config.local").trim()).toBe("");
    expect(s.mlv("remote", "default").code).not.toBe(0);
  });
  it("values a key cannot take are refused, naming them, and nothing is written", () => {
    const s = sandbox({ init: "dvc" });
    s.must("remote", "add", "-d", "storage", "s3://mybucket/dvcstore");
    const cases = [
      ["config", "cache.type", "teleport"],
      ["config", "core.autostage", "maybe"],
      ["remote", "modify", "storage", "no_such_option", "x"],
    ];
    for (const c of cases) {
      const r = s.mlv(...c);
      expect([1, 2], c.join(" ")).toContain(r.code);
      // The refused value (config) or option name (remote modify) is named.
      expect(r.stderr, c.join(" ")).toContain(c[0] === "remote" ? c[3]! : c[2]!);
    }
    expect(s.read(".dvc/config")).toBe(VP4);
  });
});
