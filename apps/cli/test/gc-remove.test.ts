import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BAR_MD5, FOO_MD5, objectPath, sandbox, VD1_OID } from "./helpers.js";

const FOO_NL_MD5 = "d3b07384d113edec49eaa6238ad5ff00"; // "foo\n"

describe("mlv gc", () => {
  it("needs a scope: without -w it is a usage error and removes nothing", () => {
    const s = sandbox({ init: "dvc" });
    s.write("foo", "foo");
    s.must("add", "foo");
    s.rm("foo.dvc");
    const r = s.mlv("gc", "-f");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("-w|--workspace");
    expect(s.exists(s.cacheObject(FOO_MD5))).toBe(true);
  });

  it("asks for confirmation: without -f and without a terminal it refuses and removes nothing", () => {
    const s = sandbox({ init: "dvc" });
    s.write("foo", "foo");
    s.must("add", "foo");
    s.rm("foo.dvc");
    const r = s.mlv("gc", "-w");
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/-f/);
    expect(s.exists(s.cacheObject(FOO_MD5))).toBe(true);
  });

  it("-w -f removes the object of an older version and keeps what the workspace uses", () => {
    const s = sandbox({ init: "dvc" });
    s.write("foo", "foo");
    s.must("add", "foo");
    s.write("foo", "foo\n");
    s.must("add", "foo");
    const r = s.mlv("gc", "-w", "-f");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("Removed 1 objects from repo cache.\n");
    expect(s.exists(s.cacheObject(FOO_MD5))).toBe(false);
    expect(s.read(s.cacheObject(FOO_NL_MD5))).toBe("foo\n");
    s.rm("foo");
    expect(s.mlv("checkout").code).toBe(0);
    expect(s.read("foo")).toBe("foo\n");
    // nothing left to collect
    expect(s.mlv("gc", "-w", "-f").stdout).toMatch(/^No unused/);
  });

  it("keeps a tracked folder's .dir and every file it lists", () => {
    const s = sandbox({ init: "dvc" });
    s.writeTree({ "data/foo": "foo", "data/bar": "bar", model: "something" });
    s.must("add", "data", "model");
    s.write("data/bar", "bar\n");
    s.must("add", "data"); // data now {foo, bar\n}; the old .dir and "bar" are unused
    s.rm("model.dvc"); // no longer tracked: its object goes
    expect(s.mlv("gc", "-w", "-f").code).toBe(0);
    expect(s.exists(s.cacheObject(VD1_OID))).toBe(false);
    expect(s.exists(s.cacheObject(BAR_MD5))).toBe(false);
    expect(s.exists(s.cacheObject("437b930db84b8079c2dd804a71936b5f"))).toBe(false);
    expect(s.exists(s.cacheObject(FOO_MD5))).toBe(true);
    expect(s.exists(s.cacheObject("c157a79031e1c40f85931829bc5fc552"))).toBe(true);
    s.rm("data");
    expect(s.mlv("checkout").code).toBe(0);
    expect(s.read("data/foo")).toBe("foo");
    expect(s.read("data/bar")).toBe("bar\n");
    expect(s.mlv("status").stdout).toBe("Data and pipelines are up to date.\n");
  });

  it("-w -c -f also removes unused objects from the remote and keeps the used ones", () => {
    const s = sandbox({ init: "dvc" });
    s.useRemote();
    s.writeTree({ foo: "foo", "data/bar": "bar" });
    s.must("add", "foo", "data");
    s.must("push");
    s.write("foo", "foo\n");
    s.must("add", "foo");
    s.must("push");
    const dirOid = s.read("data.dvc").match(/md5: (\w+\.dir)/)![1]!;
    const r = s.mlv("gc", "-w", "-c", "-f");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Removed 1 objects from remote 'storage'.");
    expect(s.remoteFiles()).toEqual([objectPath(BAR_MD5), objectPath(dirOid), objectPath(FOO_NL_MD5)].sort());
    expect(existsSync(join(s.remote, objectPath(FOO_MD5)))).toBe(false);
    s.rm(".dvc/cache");
    s.rm("foo");
    s.rm("data");
    expect(s.mlv("pull").code).toBe(0);
    expect(s.read("foo")).toBe("foo\n");
    expect(s.read("data/bar")).toBe("bar");
  });

  it("-T -c after -w keeps a tag's folder: its listing is fetched back from the remote, not taken as unused", () => {
    const s = sandbox({ init: "dvc" });
    s.useRemote();
    s.writeTree({ "data/a": "a1", "data/b": "b1" });
    s.must("add", "data");
    s.must("push");
    s.mustGit("add", "-A");
    s.mustGit("commit", "-q", "-m", "v1");
    s.mustGit("tag", "v1.0");
    s.write("data/a", "a2");
    s.must("add", "data");
    s.mustGit("commit", "-q", "-am", "v2");
    // the local cache loses v1's listing and files; the remote still has them
    expect(s.mlv("gc", "-w", "-f").code).toBe(0);
    const before = s.remoteFiles();
    const r = s.mlv("gc", "-T", "-c", "-f");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    for (const key of before) expect(s.remoteFiles(), key).toContain(key);
    s.mustGit("checkout", "-q", "v1.0");
    s.rm(".dvc/cache");
    s.rm("data");
    expect(s.mlv("pull").code).toBe(0);
    expect(s.read("data/a")).toBe("a1");
  });

  it("refuses, deleting nothing, when a kept folder's listing is in neither the cache nor a remote", () => {
    const s = sandbox({ init: "dvc" });
    s.writeTree({ "data/a": "a1", "data/b": "b1", other: "x" });
    s.must("add", "data", "other");
    const dirOid = s.read("data.dvc").match(/md5: (\w+\.dir)/)![1]!;
    s.rm(s.cacheObject(dirOid));
    s.rm("other.dvc");
    const r = s.mlv("gc", "-w", "-f");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`data (${dirOid})`);
    expect(r.stderr).toContain("mlv fetch");
    expect(s.exists(s.cacheObject("9dd4e461268c8034f5c8564e155c67a6"))).toBe(true); // "x", unused but kept
  });

  it("removes what killed commands left in the cache, and keeps a running one's", () => {
    const s = sandbox({ init: "dvc" });
    s.write("foo", "foo");
    s.must("add", "foo");
    const stale = [
      ".dvc/cache/files/md5/.mlv-999999-half0000half.tmp",
      ".dvc/cache/files/md5/ac/.mlv-999999-part0000part.tmp",
    ];
    const running = `.dvc/cache/files/md5/.mlv-${process.pid}-busy.tmp`;
    for (const f of [...stale, running]) s.write(f, "partial");
    expect(s.mlv("gc", "-w", "-f").code).toBe(0);
    for (const f of stale) expect(s.exists(f), f).toBe(false);
    expect(s.exists(running)).toBe(true);
    expect(s.exists(s.cacheObject(FOO_MD5))).toBe(true);
  });

  it("-r without -c is a usage error", () => {
    const s = sandbox({ init: "dvc" });
    const r = s.mlv("gc", "-w", "-f", "-r", "storage");
    expect(r.code).toBe(2);
  });
});

describe("mlv remove", () => {
  it("deletes the pointer and the .gitignore entry and keeps the data", () => {
    const s = sandbox({ init: "dvc" });
    s.writeTree({ foo: "foo", other: "bar" });
    s.must("add", "foo", "other");
    const r = s.mlv("remove", "foo.dvc");
    expect(r.code).toBe(0);
    expect(s.exists("foo.dvc")).toBe(false);
    expect(s.read(".gitignore")).toBe("/other\n");
    expect(s.read("foo")).toBe("foo");
    expect(s.mustGit("status", "--porcelain", "--", "foo").stdout).toBe("?? foo\n");
  });

  it("deletes a .gitignore left empty", () => {
    const s = sandbox({ init: "dvc" });
    s.writeTree({ "data/a": "a" });
    s.must("add", "data");
    expect(s.mlv("remove", "data.dvc").code).toBe(0);
    expect(s.exists(".gitignore")).toBe(false);
    expect(s.read("data/a")).toBe("a");
  });

  it("with cache.type hardlink, the data survives a later gc with its bytes", () => {
    const s = sandbox({ init: "dvc" });
    s.must("config", "cache.type", "hardlink");
    s.writeTree({ foo: "foo", "data/bar": "bar" });
    s.must("add", "foo", "data");
    expect(s.stat("foo").ino).toBe(s.stat(s.cacheObject(FOO_MD5)).ino);
    expect(s.mlv("remove", "foo.dvc", "data.dvc").code).toBe(0);
    expect(s.mlv("gc", "-w", "-f").code).toBe(0);
    expect(s.exists(s.cacheObject(FOO_MD5))).toBe(false);
    expect(s.read("foo")).toBe("foo");
    expect(s.read("data/bar")).toBe("bar");
    expect(s.stat("foo").nlink).toBe(1);
    // and the file is the user's again: writable
    expect(s.stat("foo").mode & 0o200).toBe(0o200);
  });

  it("with cache.type symlink, the data becomes a real file", () => {
    const s = sandbox({ init: "dvc" });
    s.must("config", "cache.type", "symlink");
    s.write("foo", "foo");
    s.must("add", "foo");
    expect(s.lstat("foo").isSymbolicLink()).toBe(true);
    expect(s.mlv("remove", "foo.dvc").code).toBe(0);
    expect(s.lstat("foo").isSymbolicLink()).toBe(false);
    expect(s.mlv("gc", "-w", "-f").code).toBe(0);
    expect(s.read("foo")).toBe("foo");
  });

  it("refuses a target that is not a .dvc file", () => {
    const s = sandbox({ init: "dvc" });
    s.write("foo", "foo");
    s.must("add", "foo");
    const r = s.mlv("remove", "foo");
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("foo");
    expect(s.exists("foo.dvc")).toBe(true);
  });
});
