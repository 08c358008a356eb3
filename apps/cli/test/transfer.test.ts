import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BAR_MD5, FOO_MD5, md5, modeOf, objectPath, type Sandbox, sandbox, VD1_BYTES, VD1_OID } from "./helpers.js";

/** The objects `foo` + `data/` (V-D1) need on a remote: foo's object is shared with data/foo. */
const ALL_OBJECTS = [objectPath(BAR_MD5), objectPath(VD1_OID), objectPath(FOO_MD5)].sort();

/** A repository tracking `foo` and `data/` (V-D1), with a default local remote `storage`. */
function tracked() {
  const s = sandbox({ init: "dvc" });
  s.writeTree({ foo: "foo", "data/foo": "foo", "data/bar": "bar" });
  s.must("add", "foo", "data");
  s.useRemote();
  return s;
}

/** Forget everything local: the cache and the data. */
function wipeLocal(s: Sandbox) {
  s.rm(".dvc/cache");
  s.rm("foo");
  s.rm("data");
}

function remoteObject(s: Sandbox, oid: string, root = s.remote): string {
  return join(root, objectPath(oid));
}

describe("mlv push / fetch / pull with a local remote", () => {
  it("push uploads every object read-only, .dir included, and a second push has nothing to do", () => {
    const s = tracked();
    const r = s.mlv("push");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("3 files pushed\n");
    expect(s.remoteFiles()).toEqual(ALL_OBJECTS);
    for (const f of ALL_OBJECTS) expect(modeOf(statSync(join(s.remote, f))), f).toBe(0o444);
    expect(readFileSync(remoteObject(s, VD1_OID), "utf8")).toBe(VD1_BYTES);
    expect(readFileSync(remoteObject(s, FOO_MD5), "utf8")).toBe("foo");
    expect(readFileSync(remoteObject(s, BAR_MD5), "utf8")).toBe("bar");
    const again = s.mlv("push");
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/up to date/i);
    expect(s.remoteFiles()).toEqual(ALL_OBJECTS);
  });

  it("status -c lists new objects before a push and says in sync after", () => {
    const s = tracked();
    const before = s.mlv("status", "-c");
    expect(before.code).toBe(0);
    expect(before.stdout.split("\n").filter(Boolean).sort()).toEqual(
      [
        "\tnew:                data",
        "\tnew:                data/bar",
        "\tnew:                data/foo",
        "\tnew:                foo",
      ].sort(),
    );
    const json = s.mlv("status", "-c", "--json");
    expect(JSON.parse(json.stdout)).toEqual({ data: "new", "data/bar": "new", "data/foo": "new", foo: "new" });
    s.must("push");
    const after = s.mlv("status", "-c");
    expect(after).toEqual({ code: 0, stdout: "Cache and remote 'storage' are in sync.\n", stderr: "" });
    expect(JSON.parse(s.mlv("status", "-c", "--json").stdout)).toEqual({});
  });

  it("status -c reports objects only on the remote as deleted", () => {
    const s = tracked();
    s.must("push");
    s.rm(s.cacheObject(BAR_MD5));
    const r = s.mlv("status", "-c");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("\tdeleted:            data/bar\n");
  });

  it("pull restores the bytes into an empty cache and workspace", () => {
    const s = tracked();
    s.must("push");
    wipeLocal(s);
    const r = s.mlv("pull");
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(s.read("foo")).toBe("foo");
    expect(s.files("data")).toEqual(["bar", "foo"]);
    expect(s.read("data/bar")).toBe("bar");
    expect(s.read("data/foo")).toBe("foo");
    expect(s.bytes(s.cacheObject(VD1_OID)).equals(Buffer.from(VD1_BYTES))).toBe(true);
    expect(modeOf(s.stat(s.cacheObject(BAR_MD5)))).toBe(0o444);
    expect(s.mlv("status").stdout).toBe("Data and pipelines are up to date.\n");
  });

  it("fetch fills the cache only; checkout then restores the workspace", () => {
    const s = tracked();
    s.must("push");
    wipeLocal(s);
    const f = s.mlv("fetch");
    expect(f.code).toBe(0);
    expect(f.stdout).toBe("3 files fetched\n");
    expect(s.exists("foo")).toBe(false);
    expect(s.exists("data")).toBe(false);
    expect(s.read(s.cacheObject(FOO_MD5))).toBe("foo");
    expect(s.mlv("checkout").code).toBe(0);
    expect(s.read("foo")).toBe("foo");
    expect(s.read("data/bar")).toBe("bar");
  });

  it("--json on push, fetch and pull prints parseable JSON and nothing else", () => {
    const s = tracked();
    const push = s.mlv("push", "--json");
    expect(push.code).toBe(0);
    expect(JSON.parse(push.stdout)).toMatchObject({ pushed: 3, failed: [], missing: [] });
    wipeLocal(s);
    const fetch = s.mlv("fetch", "--json");
    expect(fetch.code).toBe(0);
    expect(JSON.parse(fetch.stdout)).toMatchObject({ fetched: 3, failed: [], missing: [] });
    s.rm(".dvc/cache");
    const pull = s.mlv("pull", "--json");
    expect(pull.code).toBe(0);
    const parsed = JSON.parse(pull.stdout);
    expect(parsed).toMatchObject({ fetched: 3, failed: [] });
    expect(s.read("data/foo")).toBe("foo");
  });

  it("-r NAME uses another remote", () => {
    const s = tracked();
    const other = join(s.dir, "other-remote");
    mkdirSync(other);
    expect(s.mlv("remote", "add", "other", other).code).toBe(0);
    const r = s.mlv("push", "-r", "other");
    expect(r.code).toBe(0);
    expect(s.remoteFiles(other)).toEqual(ALL_OBJECTS);
    expect(s.remoteFiles()).toEqual([]);
    expect(s.mlv("status", "-c", "-r", "other").stdout).toBe("Cache and remote 'other' are in sync.\n");
    wipeLocal(s);
    expect(s.mlv("pull", "-r", "other").code).toBe(0);
    expect(s.read("data/bar")).toBe("bar");
  });

  it("an unknown remote name is an error naming it", () => {
    const s = tracked();
    for (const cmd of ["push", "fetch", "pull"]) {
      const r = s.mlv(cmd, "-r", "nosuchremote");
      expect(r.code, cmd).toBe(1);
      expect(r.stderr, cmd).toContain("nosuchremote");
    }
  });

  it("without a default remote the error says how to set one", () => {
    const s = sandbox({ init: "dvc" });
    s.write("foo", "foo");
    s.must("add", "foo");
    const r = s.mlv("push");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/remote default|remote add -d/);
  });

  it("pull fails naming an object missing from the remote, with exit 1, and the rest still arrives", () => {
    const s = tracked();
    s.must("push");
    s.rm(join("..", "remote", objectPath(BAR_MD5)));
    wipeLocal(s);
    const r = s.mlv("pull");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("data/bar");
    expect(s.read("foo")).toBe("foo");
    expect(s.read(s.cacheObject(FOO_MD5))).toBe("foo");
    expect(s.exists(s.cacheObject(VD1_OID))).toBe(true);
    expect(s.exists(s.cacheObject(BAR_MD5))).toBe(false);
  });

  it("fetch refuses an object corrupted on the remote, naming it, and keeps it out of the cache", () => {
    const s = tracked();
    s.must("push");
    const bad = remoteObject(s, BAR_MD5);
    chmodSync(bad, 0o644);
    writeFileSync(bad, "BAR");
    chmodSync(bad, 0o444); // a trusted-looking mode: mlv must still verify what it downloads
    wipeLocal(s);
    const r = s.mlv("fetch");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("data/bar");
    expect(s.exists(s.cacheObject(BAR_MD5))).toBe(false);
    expect(s.read(s.cacheObject(FOO_MD5))).toBe("foo");
    // and nothing with the wrong bytes reaches the workspace either
    const co = s.mlv("checkout");
    expect(co.code).toBe(1);
    expect(s.exists("data/bar")).toBe(false);
  });

  it("re-running push after a partial failure finishes the job, and the .dir goes last", () => {
    const s = tracked();
    // A file where the folder for bar's object must go makes that one upload fail.
    const blocker = join(s.remote, "files", "md5", BAR_MD5.slice(0, 2));
    mkdirSync(join(s.remote, "files", "md5"), { recursive: true });
    writeFileSync(blocker, "in the way");
    const r = s.mlv("push");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("data/bar");
    expect(existsSync(remoteObject(s, FOO_MD5))).toBe(true);
    expect(existsSync(remoteObject(s, VD1_OID))).toBe(false); // never a .dir before all its files
    s.rm(join("..", "remote", "files", "md5", BAR_MD5.slice(0, 2)));
    const again = s.mlv("push");
    expect(again.code).toBe(0);
    expect(again.stdout).toBe("2 files pushed\n");
    expect(s.remoteFiles()).toEqual(ALL_OBJECTS);
  });

  it("-j 1 transfers everything too", () => {
    const s = tracked();
    expect(s.mlv("push", "-j", "1").code).toBe(0);
    expect(s.remoteFiles()).toEqual(ALL_OBJECTS);
    wipeLocal(s);
    expect(s.mlv("pull", "-j", "1").code).toBe(0);
    expect(s.read("data/bar")).toBe("bar");
  });

  it("-j 0 is a usage error", () => {
    const s = tracked();
    const r = s.mlv("push", "-j", "0");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--jobs");
  });

  it("targets restrict push and pull to those outputs", () => {
    const s = tracked();
    s.write("other", "something");
    s.must("add", "other");
    const r = s.mlv("push", "other.dvc");
    expect(r.code).toBe(0);
    expect(s.remoteFiles()).toEqual([objectPath("437b930db84b8079c2dd804a71936b5f")]);
    expect(s.mlv("push", "data").code).toBe(0);
    expect(s.remoteFiles()).toEqual(
      [
        objectPath("437b930db84b8079c2dd804a71936b5f"),
        objectPath(BAR_MD5),
        objectPath(VD1_OID),
        objectPath(FOO_MD5),
      ].sort(),
    );
    wipeLocal(s);
    s.rm("other");
    expect(s.mlv("pull", "other").code).toBe(0);
    expect(s.read("other")).toBe("something");
    expect(s.exists("data")).toBe(false);
  });

  it("never uploads a .dir whose files are not all in the cache", () => {
    const s = tracked();
    s.rm(s.cacheObject(BAR_MD5));
    const r = s.mlv("push");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("data/bar");
    expect(existsSync(remoteObject(s, VD1_OID))).toBe(false);
    expect(existsSync(remoteObject(s, BAR_MD5))).toBe(false);
    expect(existsSync(remoteObject(s, FOO_MD5))).toBe(true);
  });

  it("pull overwrites a modified workspace file only with --force", () => {
    const s = tracked();
    s.must("push");
    s.rm(".dvc/cache");
    s.write("foo", "local edit");
    const r = s.mlv("pull");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("Use `--force` to force.");
    expect(s.read("foo")).toBe("local edit");
    expect(s.mlv("pull", "--force").code).toBe(0);
    expect(s.read("foo")).toBe("foo");
  });

  it("pull with a relative remote path in .dvc/config resolves it against .dvc/", () => {
    const s = sandbox({ init: "dvc" });
    s.writeTree({ foo: "foo" });
    s.must("add", "foo");
    // .dvc/../../remote = the sandbox's remote folder
    mkdirSync(s.remote);
    s.write(".dvc/config", "[core]\n    remote = storage\n['remote \"storage\"']\n    url = ../../remote\n");
    expect(s.mlv("push").code).toBe(0);
    expect(s.remoteFiles()).toEqual([objectPath(FOO_MD5)]);
    s.rm(".dvc/cache");
    s.rm("foo");
    expect(s.mlvWith({ cwd: ".dvc" }, "pull").code).toBe(0);
    expect(s.read("foo")).toBe("foo");
  });
  it("an output's own `remote:` sends its objects to that remote (spec §4.2)", () => {
    const s = tracked();
    const other = join(s.dir, "other-remote");
    mkdirSync(other);
    s.write(".dvc/config", `${s.read(".dvc/config")}['remote "other"']\n    url = ${other}\n`);
    s.write("special", "something");
    s.must("add", "special");
    s.write("special.dvc", `${s.read("special.dvc")}  remote: other\n`);
    const r = s.mlv("push");
    expect(r.code).toBe(0);
    expect(s.remoteFiles(other)).toEqual([objectPath("437b930db84b8079c2dd804a71936b5f")]);
    expect(s.remoteFiles()).toEqual(ALL_OBJECTS);
    s.rm(".dvc/cache");
    s.rm("special");
    expect(s.mlv("pull", "special").code).toBe(0);
    expect(s.read("special")).toBe("something");
  });

  it("outputs with `cache: false` are skipped by push, pull and checkout", () => {
    const s = tracked();
    s.write("metrics.json", '{"acc": 1}\n');
    s.write(
      "metrics.json.dvc",
      `outs:\n- md5: ${md5('{"acc": 1}\n')}\n  size: 11\n  hash: md5\n  path: metrics.json\n  cache: false\n`,
    );
    const push = s.mlv("push");
    expect(push.stderr).toBe("");
    expect(push.code).toBe(0);
    expect(s.remoteFiles()).toEqual(ALL_OBJECTS);
    s.rm("foo");
    const pull = s.mlv("pull");
    expect(pull.stderr).toBe("");
    expect(pull.code).toBe(0);
    expect(s.read("foo")).toBe("foo");
    expect(s.read("metrics.json")).toBe('{"acc": 1}\n');
    expect(s.mlv("checkout").code).toBe(0);
  });

  it("outputs with `push: false` are not pushed", () => {
    const s = tracked();
    s.write("local-only", "something");
    s.must("add", "local-only");
    s.write("local-only.dvc", `${s.read("local-only.dvc")}  push: false\n`);
    expect(s.mlv("push").code).toBe(0);
    expect(s.remoteFiles()).toEqual(ALL_OBJECTS);
    // nor compared with the remote
    expect(s.mlv("status", "-c").stdout).toBe("Cache and remote 'storage' are in sync.\n");
  });

  it("never uploads a read-only cache object whose bytes changed in place", () => {
    const s = tracked();
    const obj = s.path(s.cacheObject(BAR_MD5));
    chmodSync(obj, 0o644);
    writeFileSync(obj, "BAR");
    chmodSync(obj, 0o444); // looks trusted: only hashing what is sent catches it
    const r = s.mlv("push");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("data/bar");
    expect(r.stderr).toContain(`not ${BAR_MD5}`);
    expect(existsSync(remoteObject(s, BAR_MD5))).toBe(false);
    expect(existsSync(remoteObject(s, VD1_OID))).toBe(false);
  });

  it("never uploads a cache object whose bytes do not match its name", () => {
    const s = tracked();
    const obj = s.path(s.cacheObject(BAR_MD5));
    chmodSync(obj, 0o644); // not trusted any more (spec §3.3): it must be rehashed
    writeFileSync(obj, "BAR");
    const r = s.mlv("push");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("data/bar");
    const uploaded = remoteObject(s, BAR_MD5);
    if (existsSync(uploaded)) expect(readFileSync(uploaded, "utf8")).toBe("bar");
    expect(existsSync(remoteObject(s, VD1_OID))).toBe(false);
  });
});
