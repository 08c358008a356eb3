import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Config, configBool, defaultConfigDir, redactUrl } from "../src/config.js";
import { ConfigError, FormatError, RemoteNotFoundError, UsageError } from "../src/errors.js";

let tmp: string;
let root: string;
let dvcDir: string;
let env: NodeJS.ProcessEnv;

beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), "mlv-config-"));
  root = join(tmp, "repo");
  dvcDir = join(root, ".dvc");
  await mkdir(dvcDir, { recursive: true });
  await writeFile(join(dvcDir, "config"), "");
  env = {
    HOME: join(tmp, "home"),
    DVC_GLOBAL_CONFIG_DIR: join(tmp, "global"),
    DVC_SYSTEM_CONFIG_DIR: join(tmp, "system"),
  };
});

afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const load = (dir: string | null = dvcDir) => Config.load(dir, env);
const repoFile = () => readFile(join(dvcDir, "config"), "utf8");
const localFile = () => readFile(join(dvcDir, "config.local"), "utf8");

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a rejection");
}

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected an error");
}

describe("spec vectors", () => {
  it("V-P4: remote add -d storage s3://mybucket/dvcstore on a fresh repo", async () => {
    const config = await load();
    await config.addRemote("repo", "storage", "s3://mybucket/dvcstore", { makeDefault: true, cwd: root });
    expect(await repoFile()).toBe(
      "[core]\n    remote = storage\n['remote \"storage\"']\n    url = s3://mybucket/dvcstore\n",
    );
  });

  it("V-P7: the whole sequence of remote and config commands", async () => {
    const config = await load();
    await config.addRemote("repo", "st", "s3://b/p", { makeDefault: true, cwd: root });
    await config.modifyRemote("repo", "st", "endpointurl", "http://127.0.0.1:9000", root);
    await config.modifyRemote("local", "st", "secret_access_key", 'ab#c,d e"f', root);
    await config.addRemote("repo", "az", "azure://c/p", { cwd: root });
    await config.modifyRemote(
      "repo",
      "az",
      "connection_string",
      "DefaultEndpointsProtocol=http;AccountName=x;AccountKey=k/K+==",
      root,
    );
    await config.addRemote("repo", "sh", "ssh://u@h:2222/path", { cwd: root });
    await config.modifyRemote("repo", "sh", "port", "2222", root);
    await config.set("repo", "core.autostage", "true", root);
    await config.set("repo", "cache.type", "hardlink,copy", root);

    expect(await repoFile()).toBe(
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
    expect(await localFile()).toBe("['remote \"st\"']\n    secret_access_key = 'ab#c,d e\"f'\n");

    // and the object sees what it wrote, merged across repo and local
    expect(config.remote("st")).toEqual({
      name: "st",
      url: "s3://b/p",
      options: { endpointurl: "http://127.0.0.1:9000", secret_access_key: 'ab#c,d e"f' },
    });
    expect(config.get("cache.type")).toBe("hardlink,copy");
    const reloaded = await load();
    expect(reloaded.listLevel("repo")).toEqual(config.listLevel("repo"));
  });
});

describe("paths", () => {
  it("stores a relative remote path relative to .dvc/ (test_remote_add_relative_path)", async () => {
    const config = await load();
    await config.addRemote("repo", "mylocal", "../path/to/dir", { cwd: root });
    expect(await repoFile()).toBe("['remote \"mylocal\"']\n    url = ../../path/to/dir\n");
    expect(config.remote("mylocal").url).toBe(resolve(root, "../path/to/dir"));
  });

  it("takes a relative path from a subdirectory relative to that subdirectory", async () => {
    await mkdir(join(root, "sub"));
    const config = await load();
    await config.addRemote("repo", "up", "../../store", { cwd: join(root, "sub") });
    await config.set("repo", "cache.dir", "cache-here", join(root, "sub"));
    expect(await repoFile()).toBe("[cache]\n    dir = ../sub/cache-here\n['remote \"up\"']\n    url = ../../store\n");
    expect(config.remote("up").url).toBe(join(tmp, "store"));
    expect(config.cacheDir()).toBe(join(root, "sub", "cache-here"));
  });

  it("keeps URLs, absolute paths and ~ paths as given", async () => {
    const config = await load();
    await config.addRemote("repo", "abs", "/srv/dvc", { cwd: root });
    await config.addRemote("repo", "home", "~/dvc-store", { cwd: root });
    await config.addRemote("repo", "s3", "s3://bucket/../x", { cwd: root });
    expect(await repoFile()).toContain("    url = /srv/dvc\n");
    expect(await repoFile()).toContain("    url = ~/dvc-store\n");
    expect(await repoFile()).toContain("    url = s3://bucket/../x\n");
    expect(config.remote("home").url).toBe(join(tmp, "home", "dvc-store"));
  });

  it("rewrites path-valued remote options too, and resolves them for adapters", async () => {
    const config = await load();
    await config.addRemote("repo", "sftp", "ssh://host/data", { cwd: root });
    await config.modifyRemote("repo", "sftp", "keyfile", "keys/id_rsa", root);
    await config.modifyRemote("repo", "sftp", "user", "keys/not-a-path", root);
    expect(await repoFile()).toContain("    keyfile = ../keys/id_rsa\n    user = keys/not-a-path\n");
    expect(config.remote("sftp").options).toEqual({ keyfile: join(root, "keys", "id_rsa"), user: "keys/not-a-path" });
  });

  it("resolves a relative url against the directory of the config file that set it", async () => {
    await mkdir(env.DVC_GLOBAL_CONFIG_DIR!, { recursive: true });
    await writeFile(join(env.DVC_GLOBAL_CONFIG_DIR!, "config"), "['remote \"shared\"']\n    url = ../shared-store\n");
    const config = await load();
    expect(config.remote("shared").url).toBe(join(tmp, "shared-store"));
  });

  it("defaults the cache to .dvc/cache", async () => {
    expect((await load()).cacheDir()).toBe(join(dvcDir, "cache"));
  });
});

describe("levels", () => {
  async function writeLevels() {
    await mkdir(env.DVC_SYSTEM_CONFIG_DIR!, { recursive: true });
    await mkdir(env.DVC_GLOBAL_CONFIG_DIR!, { recursive: true });
    await writeFile(
      join(env.DVC_SYSTEM_CONFIG_DIR!, "config"),
      "[core]\n    remote = sys\n    checksum_jobs = 1\n    analytics = false\n    autostage = false\n",
    );
    await writeFile(
      join(env.DVC_GLOBAL_CONFIG_DIR!, "config"),
      "[core]\n    remote = glob\n    checksum_jobs = 2\n    analytics = true\n",
    );
    await writeFile(join(dvcDir, "config"), "[core]\n    remote = repo\n    checksum_jobs = 3\n");
    await writeFile(join(dvcDir, "config.local"), "[core]\n    remote = Loc\n");
  }

  it("merges system < global < repo < local per key", async () => {
    await writeLevels();
    const config = await load();
    expect(config.get("core.remote")).toBe("Loc");
    expect(config.defaultRemote()).toBe("loc");
    expect(config.get("core.checksum_jobs")).toBe("3");
    expect(config.get("core.analytics")).toBe("true");
    expect(config.get("core.autostage")).toBe("false");
    expect(config.get("core.hardlink_lock")).toBeUndefined();
    expect(config.getLevel("system", "core.remote")).toBe("sys");
    expect(config.getLevel("global", "core.remote")).toBe("glob");
    expect(config.getLevel("repo", "core.remote")).toBe("repo");
    expect(config.getLevel("local", "core.checksum_jobs")).toBeUndefined();

    await config.unset("local", "core.remote");
    expect(config.get("core.remote")).toBe("repo");
    await config.unset("repo", "core.remote");
    expect(config.get("core.remote")).toBe("glob");
    await config.unset("global", "core.remote");
    expect(config.get("core.remote")).toBe("sys");
    expect(await localFile()).toBe("\n");
  });

  it("merges a remote's options across levels", async () => {
    await writeFile(join(dvcDir, "config"), "['remote \"s\"']\n    url = s3://b/p\n    region = eu\n");
    await writeFile(join(dvcDir, "config.local"), "['remote \"S\"']\n    region = us\n    access_key_id = AK\n");
    const config = await load();
    expect(config.remote("S")).toEqual({ name: "s", url: "s3://b/p", options: { region: "us", access_key_id: "AK" } });
    expect(config.remoteNames()).toEqual(["s"]);
  });

  it("lists values like dvc config --list, per level or merged", async () => {
    await writeLevels();
    await writeFile(
      join(dvcDir, "config"),
      "[core]\n    remote = repo\n['remote \"repo\"']\n    url = /r\n[cache]\n    type = a, b\n",
    );
    const config = await load();
    expect(config.listLevel("repo")).toEqual(["remote.repo.url=/r", "core.remote=repo", "cache.type=['a', 'b']"]);
    expect(config.listLevel()).toEqual([
      "remote.repo.url=/r",
      "core.remote=Loc",
      "core.checksum_jobs=2",
      "core.analytics=true",
      "core.autostage=false",
      "cache.type=['a', 'b']",
    ]);
  });

  it("outside a repository reads system and global only and refuses the repo levels", async () => {
    await mkdir(env.DVC_GLOBAL_CONFIG_DIR!, { recursive: true });
    await writeFile(join(env.DVC_GLOBAL_CONFIG_DIR!, "config"), "[core]\n    remote = glob\n");
    const config = await load(null);
    expect(config.availableLevels()).toEqual(["system", "global"]);
    expect(config.get("core.remote")).toBe("glob");
    const err = await rejection(config.set("repo", "core.remote", "x", tmp));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(/'repo' config level needs a repository/);
    expect(() => config.cacheDir()).toThrow(ConfigError);

    await config.set("system", "core.check_update", "false", tmp);
    expect(await readFile(join(env.DVC_SYSTEM_CONFIG_DIR!, "config"), "utf8")).toBe(
      "[core]\n    check_update = false\n",
    );
  });

  it("finds the system and global files per platform", () => {
    const e = { HOME: "/home/u" };
    expect(defaultConfigDir("system", e, "linux")).toBe("/etc/xdg/dvc");
    expect(defaultConfigDir("global", e, "linux")).toBe("/home/u/.config/dvc");
    expect(defaultConfigDir("global", { ...e, XDG_CONFIG_HOME: "/x" }, "linux")).toBe("/x/dvc");
    expect(defaultConfigDir("system", { ...e, XDG_CONFIG_DIRS: "/a:/b" }, "linux")).toBe("/a/dvc");
    expect(defaultConfigDir("global", { ...e, DVC_GLOBAL_CONFIG_DIR: "/g" }, "linux")).toBe("/g");
    expect(defaultConfigDir("system", { ...e, DVC_SYSTEM_CONFIG_DIR: "/s" }, "linux")).toBe("/s");
    expect(defaultConfigDir("system", e, "darwin")).toBe("/Library/Application Support/dvc");
    expect(defaultConfigDir("global", e, "darwin")).toBe("/home/u/Library/Application Support/dvc");
    expect(defaultConfigDir("global", { LOCALAPPDATA: "C:\\Users\\u\\AppData\\Local" }, "win32")).toBe(
      "C:\\Users\\u\\AppData\\Local\\iterative\\dvc",
    );
    expect(defaultConfigDir("system", {}, "win32")).toBe("C:\\ProgramData\\iterative\\dvc");
  });
});

describe("reading files", () => {
  it("reads list values, comments and CRLF, and keeps unrelated values as written on rewrite", async () => {
    await writeFile(
      join(dvcDir, "config"),
      "# my settings\r\n[cache]\r\n  type = hardlink, symlink  # fastest first\r\n  dir = ./my-cache/\r\n[core]\r\n  remote = 'st'\r\n",
    );
    const config = await load();
    expect(config.get("cache.type")).toEqual(["hardlink", "symlink"]);
    expect(config.get("core.remote")).toBe("st");
    expect(config.cacheDir()).toBe(join(dvcDir, "my-cache"));
    await config.set("repo", "core.autostage", "true", root);
    expect(await repoFile()).toBe(
      "[cache]\n    type = hardlink, symlink\n    dir = ./my-cache/\n[core]\n    remote = st\n    autostage = true\n",
    );
  });

  it("reports a malformed file with its path and line", async () => {
    await writeFile(join(dvcDir, "config"), "[core]\n    remote = x\n    oops\n");
    const err = await rejection(load());
    expect(err).toBeInstanceOf(FormatError);
    expect(err.message).toBe(`${join(dvcDir, "config")}: line 3: expected 'key = value', got 'oops'`);
  });

  it("accepts booleans in any case", () => {
    expect(configBool("True")).toBe(true);
    expect(configBool("FALSE")).toBe(false);
    expect(configBool("yes")).toBeUndefined();
    expect(configBool(["true"])).toBeUndefined();
    expect(configBool(undefined)).toBeUndefined();
  });
});

describe("keys", () => {
  it("rejects unknown sections, listing the valid ones", async () => {
    const config = await load();
    const err = await rejection(config.set("repo", "cor.remote", "x", root));
    expect(err).toBeInstanceOf(UsageError);
    expect(err.message).toBe(
      "'cor.remote': unknown section 'cor': valid sections are core, cache, remote, state, index, feature, plots, exp, parsing, hydra, studio, db, machine",
    );
    expect(() => config.get("foo.bar")).toThrow(/unknown section 'foo'/);
  });

  it("rejects malformed keys, naming them", async () => {
    const config = await load();
    for (const key of ["core", "core.", "a.b.c", "remote.url", ".x"]) expect(() => config.get(key)).toThrow(UsageError);
    expect(thrown(() => config.get("core")).message).toBe(
      "'core' is not a config key: use section.option (e.g. core.remote) or remote.<name>.<option>",
    );
    expect(thrown(() => config.get("remote.url")).message).toBe(
      "'remote.url': remote options are written remote.<name>.<option>",
    );
    expect((await rejection(config.set("repo", "core.bad key", "x", root))).message).toMatch(
      /'core.bad key': option name/,
    );
  });

  it("lowercases section and option names", async () => {
    const config = await load();
    await config.set("repo", "Core.AutoStage", "True", root);
    expect(await repoFile()).toBe("[core]\n    autostage = True\n");
    expect(configBool(config.get("core.autostage"))).toBe(true);
  });

  it("sets and unsets remote options through remote.<name>.<option>", async () => {
    const config = await load();
    expect((await rejection(config.set("repo", "remote.st.region", "eu", root))).message).toBe(
      "remote 'st' doesn't exist",
    );
    await config.addRemote("repo", "st", "s3://b", { cwd: root });
    await config.set("repo", "remote.st.region", "eu", root);
    expect(config.get("remote.st.region")).toBe("eu");
    await config.unset("repo", "remote.st.region");
    expect(await repoFile()).toBe("['remote \"st\"']\n    url = s3://b\n");
    expect((await rejection(config.unset("repo", "remote.st.region"))).message).toBe(
      "option 'region' doesn't exist in remote 'st'",
    );
    expect((await rejection(config.unset("repo", "core.remote"))).message).toBe(
      "option 'remote' doesn't exist in section 'core'",
    );
  });
});

describe("remote commands", () => {
  it("add refuses an existing name without force; force replaces the whole section", async () => {
    const config = await load();
    await config.addRemote("repo", "St", "s3://a", { cwd: root });
    await config.modifyRemote("repo", "st", "region", "eu", root);
    const err = await rejection(config.addRemote("repo", "st", "s3://b", { cwd: root }));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toBe("remote 'st' already exists. Use `-f|--force` to overwrite it.");
    await config.addRemote("repo", "st", "s3://b", { cwd: root, force: true });
    expect(await repoFile()).toBe("['remote \"st\"']\n    url = s3://b\n");
  });

  it("modify needs the remote at that level or below, and --unset removes the option", async () => {
    const config = await load();
    expect((await rejection(config.modifyRemote("repo", "nope", "region", "eu", root))).message).toBe(
      "remote 'nope' doesn't exist.",
    );
    await config.addRemote("repo", "st", "s3://a", { cwd: root });
    expect((await rejection(config.modifyRemote("global", "st", "region", "eu", root))).message).toBe(
      "remote 'st' doesn't exist.",
    );
    await config.modifyRemote("local", "st", "secret_access_key", "pw", root);
    await config.modifyRemote("local", "st", "secret_access_key", undefined, root);
    // DVC keeps the now-empty named section in the local file
    expect(await localFile()).toBe("['remote \"st\"']\n");
    expect(config.remote("st")).toEqual({ name: "st", url: "s3://a", options: {} });
  });

  it("rename moves the section last and follows core.remote at that level and the ones above", async () => {
    const config = await load();
    await config.addRemote("repo", "a", "s3://a", { cwd: root, makeDefault: true });
    await config.addRemote("repo", "b", "s3://b", { cwd: root });
    await writeFile(join(dvcDir, "config.local"), "[core]\n    remote = a\n");
    await config.renameRemote("repo", "A", "c");
    expect(await repoFile()).toBe(
      "[core]\n    remote = c\n['remote \"b\"']\n    url = s3://b\n['remote \"c\"']\n    url = s3://a\n",
    );
    expect(await localFile()).toBe("[core]\n    remote = c\n");
    expect(config.defaultRemote()).toBe("c");
    expect((await rejection(config.renameRemote("repo", "b", "c"))).message).toBe(
      "Rename failed. Remote name 'c' already exists.",
    );
    expect((await rejection(config.renameRemote("repo", "zz", "y"))).message).toBe("remote 'zz' doesn't exist.");
  });

  it("remove drops core.remote naming it at that level and the levels that shadow it, not below", async () => {
    await mkdir(env.DVC_GLOBAL_CONFIG_DIR!, { recursive: true });
    const globalFile = join(env.DVC_GLOBAL_CONFIG_DIR!, "config");
    await writeFile(globalFile, "[core]\n    remote = st\n");
    await writeFile(join(dvcDir, "config.local"), "# keep me\n[core]\n    remote = other\n");
    const config = await load();
    await config.addRemote("repo", "st", "s3://a", { cwd: root, makeDefault: true });
    await config.setDefaultRemote("local", "st");
    await config.removeRemote("repo", "st");
    expect(await repoFile()).toBe("\n");
    expect(await localFile()).toBe("\n");
    expect(await readFile(globalFile, "utf8")).toBe("[core]\n    remote = st\n");
    expect(config.remoteNames()).toEqual([]);
    expect((await rejection(config.removeRemote("repo", "st"))).message).toBe("remote 'st' doesn't exist.");
  });

  it("remove leaves a level alone when nothing in it changes", async () => {
    await writeFile(join(dvcDir, "config.local"), "# keep me\n[core]\n    remote = other\n");
    const config = await load();
    await config.addRemote("repo", "st", "s3://a", { cwd: root });
    await config.removeRemote("repo", "st");
    expect(await localFile()).toBe("# keep me\n[core]\n    remote = other\n");
  });

  it("default must name a known remote, and can be unset", async () => {
    const config = await load();
    const err = await rejection(config.setDefaultRemote("repo", "nope"));
    expect(err.message).toBe("default remote must be present in remote list.");
    await config.addRemote("repo", "st", "s3://a", { cwd: root });
    await config.setDefaultRemote("local", "ST");
    expect(await localFile()).toBe("[core]\n    remote = st\n");
    await config.setDefaultRemote("local", undefined);
    expect(await localFile()).toBe("\n");
    expect(config.defaultRemote()).toBeUndefined();
  });

  it("resolves remote://other/sub references, and names a missing remote", async () => {
    await writeFile(
      join(dvcDir, "config"),
      [
        "['remote \"server\"']",
        "    url = ssh://localhost",
        "    user = root",
        "    ask_password = true",
        "['remote \"images\"']",
        "    url = remote://server/tmp/pictures",
        "    user = alice",
        "['remote \"deeper\"']",
        "    url = remote://images/2024",
        "['remote \"loop\"']",
        "    url = remote://loop/x",
        "",
      ].join("\n"),
    );
    const config = await load();
    expect(config.remote("images")).toEqual({
      name: "images",
      url: "ssh://localhost/tmp/pictures",
      options: { user: "alice", ask_password: "true" },
    });
    expect(config.remote("deeper").url).toBe("ssh://localhost/tmp/pictures/2024");
    expect(thrown(() => config.remote("loop"))).toBeInstanceOf(ConfigError);
    const missing = thrown(() => config.remote("ghost"));
    expect(missing).toBeInstanceOf(RemoteNotFoundError);
    expect(missing.message).toMatch(/^remote 'ghost' is not configured/);
  });

  it("writes atomically, leaving no temporary file and keeping the file's mode", async () => {
    await writeFile(join(dvcDir, "config.local"), "", { mode: 0o600 });
    const config = await load();
    await config.addRemote("repo", "st", "s3://a", { cwd: root });
    await config.modifyRemote("local", "st", "secret_access_key", "s", root);
    expect((await stat(join(dvcDir, "config.local"))).mode & 0o777).toBe(0o600);
    expect((await readdir(dvcDir)).sort()).toEqual(["config", "config.local"]);
  });
});

describe("schema checks (spec §5.3)", () => {
  /** Expect `promise` to be refused with a ConfigError whose message is `message`, leaving `.dvc/config` as it was. */
  async function refused(promise: () => Promise<unknown>, message: string | RegExp) {
    const before = await repoFile();
    const err = await rejection(promise());
    expect(err).toBeInstanceOf(ConfigError);
    if (typeof message === "string") expect(err.message).toBe(message);
    else expect(err.message).toMatch(message);
    expect(await repoFile()).toBe(before);
    return err;
  }

  it("refuses an unknown core or cache option, listing what the section takes", async () => {
    const config = await load();
    await config.set("repo", "core.autostage", "true", root);
    const err = await refused(
      () => config.set("repo", "core.bogus", "x", root),
      "config key 'core.bogus' is not known: core takes remote, checksum_jobs, interactive, analytics, hardlink_lock, no_scm, autostage, check_update, site_cache_dir, machine",
    );
    expect((err as ConfigError).data).toMatchObject({ key: "core.bogus", value: "x" });
    await refused(
      () => config.set("repo", "Cache.Bogus", "x", root),
      /^config key 'cache.bogus' is not known: cache takes dir, type, shared, slow_link_warning, verify, protected, local, s3, gs, ssh, hdfs, /,
    );
    expect(await repoFile()).toBe("[core]\n    autostage = true\n");
  });

  it("accepts every core and cache option of the spec", async () => {
    const config = await load();
    const values: [string, string][] = [
      ["core.remote", "Storage"],
      ["core.checksum_jobs", "4"],
      ["core.interactive", "false"],
      ["core.analytics", "FALSE"],
      ["core.hardlink_lock", "True"],
      ["core.no_scm", "true"],
      ["core.autostage", "TRUE"],
      ["core.check_update", "false"],
      ["core.site_cache_dir", "/var/tmp/dvc"],
      ["core.machine", "gpu"],
      ["cache.dir", "/srv/cache"],
      ["cache.type", "reflink,hardlink,symlink,copy"],
      ["cache.shared", "Group"],
      ["cache.slow_link_warning", "false"],
      ["cache.verify", "true"],
      ["cache.protected", "false"],
      ["cache.local", "x"],
      ["cache.s3", "x"],
      ["cache.gs", "x"],
      ["cache.ssh", "x"],
      ["cache.hdfs", "x"],
      ["cache.azure", "x"],
    ];
    for (const [key, value] of values) await config.set("repo", key, value, root);
    for (const [key, value] of values) expect(config.getLevel("repo", key)).toBe(value);
    expect(await repoFile()).toContain('    type = "reflink,hardlink,symlink,copy"\n');
  });

  it("takes any option in the sections it does not model", async () => {
    const config = await load();
    for (const key of [
      "state.row_limit",
      "index.dir",
      "feature.machine",
      "plots.auto_open",
      "exp.auto_push",
      "parsing.bool",
      "hydra.enabled",
      "studio.token",
    ])
      await config.set("repo", key, "whatever", root);
    expect(config.get("studio.token")).toBe("whatever");
    expect(config.get("feature.machine")).toBe("whatever");
  });

  it("refuses a boolean option that is not true or false", async () => {
    const config = await load();
    for (const key of [
      "core.no_scm",
      "core.autostage",
      "core.interactive",
      "core.analytics",
      "core.hardlink_lock",
      "core.check_update",
      "cache.slow_link_warning",
      "cache.verify",
      "cache.protected",
    ])
      for (const value of ["maybe", "yes", "1", "", " true"])
        await refused(
          () => config.set("repo", key, value, root),
          `config key '${key}' must be true or false (any case), got '${value}'`,
        );
    expect(await repoFile()).toBe("");
  });

  it("refuses an integer option that is not a whole number of at least 1", async () => {
    const config = await load();
    for (const value of ["0", "-2", "1.5", "four", ""])
      await refused(
        () => config.set("repo", "core.checksum_jobs", value, root),
        `config key 'core.checksum_jobs' must be a whole number of at least 1, got '${value}'`,
      );
    await config.set("repo", "core.checksum_jobs", "16", root);
    expect(await repoFile()).toBe("[core]\n    checksum_jobs = 16\n");
  });

  it("refuses link types other than reflink, hardlink, symlink, copy, and a shared mode other than group", async () => {
    const config = await load();
    await refused(
      () => config.set("repo", "cache.type", "teleport", root),
      "config key 'cache.type' must be a comma-separated list of reflink, hardlink, symlink, copy, got 'teleport' ('teleport' is not a link type)",
    );
    await refused(
      () => config.set("repo", "cache.type", "hardlink,Copy,warp", root),
      /got 'hardlink,Copy,warp' \('Copy', 'warp' are not link types\)$/,
    );
    await refused(() => config.set("repo", "cache.type", "", root), /^config key 'cache.type' must be/);
    await refused(
      () => config.set("repo", "cache.shared", "world", root),
      "config key 'cache.shared' must be group (any case), got 'world'",
    );
    await config.set("repo", "cache.type", "hardlink, symlink", root);
    await config.set("repo", "cache.shared", "group", root);
    expect(await repoFile()).toBe('[cache]\n    type = "hardlink, symlink"\n    shared = group\n');
  });

  it("refuses an option an s3 remote does not take, through remote modify and config", async () => {
    const config = await load();
    await config.addRemote("repo", "storage", "s3://b/p", { cwd: root });
    const err = await refused(
      () => config.modifyRemote("repo", "storage", "no_such_option", "x", root),
      /^remote 'storage' \(s3\): option 'no_such_option' is not known; s3 remotes take region, profile, credentialpath, .*, grant_full_control, cache_regions, .*, url, jobs, checksum_jobs, worktree, version_aware, no_traverse, verify$/,
    );
    expect((err as ConfigError).data).toMatchObject({
      name: "storage",
      type: "s3",
      option: "no_such_option",
      value: "x",
    });
    await refused(
      () => config.set("repo", "remote.storage.keyfile", "k", root),
      /^remote 'storage' \(s3\): option 'keyfile' is not known; s3 remotes take /,
    );
    // also when the remote's url is set at a lower level than the one edited
    await refused(() => config.modifyRemote("local", "storage", "port", "22", root), /option 'port' is not known/);
    await expect(localFile()).rejects.toThrow(/ENOENT/);
    expect(await repoFile()).toBe("['remote \"storage\"']\n    url = s3://b/p\n");
  });

  it("accepts the options of each remote type, from the url's scheme", async () => {
    const config = await load();
    const cases: [string, string, [string, string][]][] = [
      [
        "s3://b/p",
        "s3",
        [
          ["region", "eu-west-1"],
          ["profile", "p"],
          ["endpointurl", "http://m:9000"],
          ["use_ssl", "False"],
          ["ssl_verify", "/etc/ca.pem"],
          ["sse_customer_algorithm", "AES256"],
          ["sse_customer_key", "k"],
          ["grant_read", "id=x"],
          ["grant_full_control", "id=y"],
          ["cache_regions", "false"],
          ["read_timeout", "60"],
          ["listobjects", "true"],
        ],
      ],
      [
        "gs://b/p",
        "gs",
        [
          ["projectname", "proj"],
          ["credentialpath", "/c.json"],
          ["allow_anonymous_login", "true"],
        ],
      ],
      [
        "azure://c/p",
        "azure",
        [
          ["account_name", "a"],
          ["sas_token", "t"],
          ["exclude_environment_credential", "true"],
          ["exclude_cli_credential", "false"],
          ["timeout", "30"],
          ["connection_timeout", "5"],
        ],
      ],
      [
        "ssh://u@h/p",
        "ssh",
        [
          ["user", "bob"],
          ["username", "bob"],
          ["port", "2222"],
          ["ask_passphrase", "true"],
          ["allow_agent", "false"],
          ["gss_auth", "false"],
          ["max_sessions", "4"],
          ["type", "copy"],
        ],
      ],
      [
        "https://h/p",
        "https",
        [
          ["auth", "Digest"],
          ["custom_auth_header", "X-Token"],
          ["ssl_verify", "false"],
          ["method", "PUT"],
          ["connect_timeout", "2.5"],
          ["read_timeout", "0"],
        ],
      ],
      [
        "http://h/p",
        "http",
        [
          ["auth", "basic"],
          ["user", "u"],
          ["ask_password", "true"],
        ],
      ],
      [
        "webdavs://h/p",
        "webdavs",
        [
          ["token", "t"],
          ["cert_path", "/c.pem"],
          ["key_path", "/k.pem"],
          ["timeout", "10"],
        ],
      ],
      [
        "webdav://h/p",
        "webdav",
        [
          ["user", "u"],
          ["password", "p"],
        ],
      ],
      [
        "../store",
        "local",
        [
          ["type", "hardlink,copy"],
          ["shared", "group"],
          ["slow_link_warning", "false"],
          ["protected", "false"],
        ],
      ],
      ["file:///srv/store", "local", [["type", "symlink"]]],
    ];
    for (const [url, , options] of cases) {
      const name = `r${cases.findIndex((c) => c[0] === url)}`;
      await config.addRemote("repo", name, url, { cwd: root });
      for (const [option, value] of [
        ...options,
        ["jobs", "8"],
        ["checksum_jobs", "2"],
        ["worktree", "false"],
        ["version_aware", "True"],
        ["no_traverse", "false"],
        ["verify", "false"],
      ] as [string, string][])
        await config.modifyRemote("repo", name, option, value, root);
      for (const [option, value] of options) expect(config.get(`remote.${name}.${option}`)).toBe(value);
    }
  });

  it("refuses what each remote type does not take, and bad values", async () => {
    const config = await load();
    await config.addRemote("repo", "g", "gs://b", { cwd: root });
    await config.addRemote("repo", "a", "azure://c", { cwd: root });
    await config.addRemote("repo", "s", "ssh://h/p", { cwd: root });
    await config.addRemote("repo", "h", "https://h/p", { cwd: root });
    await config.addRemote("repo", "w", "webdav://h/p", { cwd: root });
    await config.addRemote("repo", "l", "/srv/store", { cwd: root });
    await config.addRemote("repo", "f", "file:///srv/store", { cwd: root });
    await config.addRemote("repo", "b", "s3://b", { cwd: root });
    await refused(
      () => config.modifyRemote("repo", "g", "region", "x", root),
      /^remote 'g' \(gs\): option 'region' is not known; gs remotes take projectname, credentialpath, endpointurl, allow_anonymous_login, url, jobs,/,
    );
    await refused(
      () => config.modifyRemote("repo", "a", "exclude_cli_credential", "maybe", root),
      "remote 'a' (azure): option 'exclude_cli_credential' must be true or false (any case), got 'maybe'",
    );
    await refused(
      () => config.modifyRemote("repo", "a", "exclude_credential", "true", root),
      /option 'exclude_credential' is not known; azure remotes take .*exclude_\*_credential/,
    );
    await refused(
      () => config.modifyRemote("repo", "s", "port", "22x", root),
      "remote 's' (ssh): option 'port' must be a whole number, got '22x'",
    );
    await refused(
      () => config.modifyRemote("repo", "s", "region", "x", root),
      /^remote 's' \(ssh\): option 'region' is not known/,
    );
    await refused(
      () => config.modifyRemote("repo", "s", "type", "teleport", root),
      /option 'type' must be a comma-separated list of reflink, hardlink, symlink, copy, got 'teleport'/,
    );
    await refused(
      () => config.modifyRemote("repo", "h", "auth", "oauth", root),
      "remote 'h' (https): option 'auth' must be one of basic, digest, custom (any case), got 'oauth'",
    );
    await refused(
      () => config.modifyRemote("repo", "h", "read_timeout", "-1", root),
      "remote 'h' (https): option 'read_timeout' must be a number of seconds (0 or more), got '-1'",
    );
    await refused(
      () => config.modifyRemote("repo", "w", "region", "x", root),
      /^remote 'w' \(webdav\): option 'region' is not known/,
    );
    await refused(
      () => config.modifyRemote("repo", "l", "region", "x", root),
      /^remote 'l' \(local\): option 'region' is not known; local remotes take type, shared, slow_link_warning, protected, url,/,
    );
    await refused(
      () => config.modifyRemote("repo", "f", "shared", "world", root),
      "remote 'f' (local): option 'shared' must be group (any case), got 'world'",
    );
    await refused(
      () => config.modifyRemote("repo", "b", "read_timeout", "2.5", root),
      "remote 'b' (s3): option 'read_timeout' must be a whole number, got '2.5'",
    );
    await refused(
      () => config.modifyRemote("repo", "b", "use_ssl", "yes", root),
      "remote 'b' (s3): option 'use_ssl' must be true or false (any case), got 'yes'",
    );
    for (const name of ["g", "a", "s", "h", "w", "l", "f", "b"]) {
      await refused(
        () => config.modifyRemote("repo", name, "jobs", "0", root),
        new RegExp(`^remote '${name}' \\(\\w+\\): option 'jobs' must be a whole number of at least 1, got '0'$`),
      );
      await refused(
        () => config.modifyRemote("repo", name, "version_aware", "on", root),
        /option 'version_aware' must be true or false/,
      );
    }
  });

  it("lets remotes of other schemes (third-party adapters, remote://) take any option, checking the common ones", async () => {
    const config = await load();
    await config.addRemote("repo", "x", "myfs://bucket/p", { cwd: root });
    await config.addRemote("repo", "sub", "remote://x/sub", { cwd: root });
    await config.modifyRemote("repo", "x", "any_option", "v", root);
    await config.modifyRemote("repo", "sub", "region", "v", root);
    await config.modifyRemote("repo", "x", "jobs", "3", root);
    await refused(
      () => config.modifyRemote("repo", "x", "jobs", "many", root),
      "remote 'x' (other): option 'jobs' must be a whole number of at least 1, got 'many'",
    );
    expect(config.remote("x").options).toEqual({ any_option: "v", jobs: "3" });
  });

  it("checks a new url against the options the remote already has", async () => {
    const config = await load();
    await config.addRemote("repo", "st", "s3://a", { cwd: root });
    await config.modifyRemote("repo", "st", "region", "eu", root);
    await config.modifyRemote("repo", "st", "url", "s3://b/other", root);
    const err = await refused(
      () => config.modifyRemote("repo", "st", "url", "gs://b", root),
      "cannot set the url of remote 'st' to 'gs://b': remote 'st' (gs): option 'region' is not known; gs remotes take projectname, credentialpath, endpointurl, allow_anonymous_login, url, jobs, checksum_jobs, worktree, version_aware, no_traverse, verify; unset 'region' first",
    );
    expect((err as ConfigError).hint).toBe("Run 'mlv remote modify --unset st region' first.");
    await refused(
      () => config.set("repo", "remote.st.url", "https://u:pw@h/p", root),
      /^cannot set the url of remote 'st' to 'https:\/\/h\/p': remote 'st' \(https\): option 'region' is not known/,
    );
    await config.modifyRemote("repo", "st", "region", undefined, root);
    await config.modifyRemote("repo", "st", "url", "gs://b", root);
    expect(await repoFile()).toBe("['remote \"st\"']\n    url = gs://b\n");
  });

  it("stays permissive when unsetting", async () => {
    await writeFile(
      join(dvcDir, "config"),
      "[core]\n    bogus = 1\n['remote \"st\"']\n    url = s3://b\n    keyfile = k\n",
    );
    const config = await load();
    await config.unset("repo", "core.bogus");
    await config.modifyRemote("repo", "st", "keyfile", undefined, root);
    await config.modifyRemote("repo", "st", "no_such_option", undefined, root);
    expect(await repoFile()).toBe("['remote \"st\"']\n    url = s3://b\n");
  });

  it("lists values with the password part of URLs removed, other values as they are", async () => {
    await writeFile(
      join(dvcDir, "config"),
      [
        "[core]",
        "    remote = web",
        "['remote \"web\"']",
        "    url = https://alice:s3cr3t@example.com/store",
        "    password = hunter2",
        "['remote \"st\"']",
        "    url = s3://b/p",
        "    endpointurl = http://key:secret@minio:9000",
        "",
      ].join("\n"),
    );
    const config = await load();
    const expected = [
      "remote.web.url=https://example.com/store",
      "remote.web.password=hunter2",
      "remote.st.url=s3://b/p",
      "remote.st.endpointurl=http://minio:9000",
      "core.remote=web",
    ];
    expect(config.listLevel("repo")).toEqual(expected);
    expect(config.listLevel()).toEqual(expected);
    expect(config.listLevel().join("\n")).not.toContain("s3cr3t");
    // the files and get() keep the real values
    expect(config.get("remote.web.url")).toBe("https://alice:s3cr3t@example.com/store");
  });
});

describe("redactUrl", () => {
  it.each([
    ["s3://AKIA:secret@bucket/path", "s3://bucket/path"],
    ["https://user:p%40ss@host:8443/dav?x=1", "https://host:8443/dav?x=1"],
    ["ssh://u@h:2222/path", "ssh://h:2222/path"],
    ["https://token@github.com/a@b", "https://github.com/a@b"],
    ["s3://bucket/key", "s3://bucket/key"],
    ["/local/user:pw@dir", "/local/user:pw@dir"],
  ])("%s -> %s", (url, shown) => {
    expect(redactUrl(url)).toBe(shown);
  });
});

describe("validate: what DVC refuses when it loads a config", () => {
  const files = {
    "an unknown section": ["[bogus]\n    x = 1\n", "section '[bogus]' is not known"],
    "a key outside any section": ["x = 1\n[core]\n    remote = r\n", "'x' is outside any section"],
    "an unknown core option": ["[core]\n    bogus = 1\n", "config key 'core.bogus' is not known"],
    "a bad cache type": ["[cache]\n    type = bad\n", "config key 'cache.type' must be"],
    "jobs below 1": [
      "['remote \"r\"']\n    url = /x\n    jobs = -5\n",
      "option 'jobs' must be a whole number of at least 1, got '-5'",
    ],
    "an option of another remote type": [
      "['remote \"r\"']\n    url = s3://b/p\n    keyfile = k\n",
      "option 'keyfile' is not known",
    ],
  };
  for (const [what, [text, message]] of Object.entries(files))
    it(`names the file and the key for ${what}`, async () => {
      await writeFile(join(dvcDir, "config"), text);
      const config = await load();
      const e = thrown(() => config.validate());
      expect(e).toBeInstanceOf(ConfigError);
      expect(e.message).toContain(`config file '${join(dvcDir, "config")}'`);
      expect(e.message).toContain(message);
    });

  it("accepts what DVC accepts: every schema section, a list for cache.type, options of unchecked types", async () => {
    await writeFile(
      join(dvcDir, "config"),
      "[core]\n    remote = r\n[cache]\n    type = hardlink, symlink\n[state]\n    row_limit = 10\n" +
        "['remote \"r\"']\n    url = other://x\n    anything = 1\n    jobs = 4\n['machine \"m\"']\n    cloud = aws\n",
    );
    (await load()).validate();
  });

  it("checks the local level too, with a remote's type taken from the url of any level", async () => {
    await writeFile(join(dvcDir, "config"), "['remote \"r\"']\n    url = s3://b/p\n");
    await writeFile(join(dvcDir, "config.local"), "['remote \"r\"']\n    port = 22\n");
    const config = await load();
    expect(() => config.validate()).toThrow(
      `config file '${join(dvcDir, "config.local")}': remote 'r' (s3): option 'port' is not known`,
    );
  });
});
