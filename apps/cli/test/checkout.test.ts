import { describe, expect, it } from "vitest";
import { BAR_MD5, FOO_MD5, md5, modeOf, sandbox } from "./helpers.js";

const UNSAVED = "Can't remove the following unsaved files without confirmation. Use `--force` to force.";

/** A repository tracking `foo` (file) and `data/` (V-D1 folder). */
function tracked() {
  const s = sandbox({ init: "dvc" });
  s.writeTree({ foo: "foo", "data/foo": "foo", "data/bar": "bar" });
  s.must("add", "foo", "data");
  return s;
}

describe("mlv checkout", () => {
  it("restores deleted outputs with the same bytes", () => {
    const s = tracked();
    s.rm("foo");
    s.rm("data");
    const r = s.mlv("checkout");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^A\tfoo$/m);
    expect(r.stdout).toMatch(/^A\tdata\/$/m);
    expect(s.read("foo")).toBe("foo");
    expect(s.files("data")).toEqual(["bar", "foo"]);
    expect(s.read("data/foo")).toBe("foo");
    expect(s.read("data/bar")).toBe("bar");
    expect(s.mlv("status").stdout).toBe("Data and pipelines are up to date.\n");
  });

  it("does nothing and says nothing when the workspace already matches", () => {
    const s = tracked();
    const r = s.mlv("checkout");
    expect(r).toEqual({ code: 0, stdout: "", stderr: "" });
  });

  it("refuses to overwrite a modified file whose content is not cached, and --force overwrites it", () => {
    const s = tracked();
    s.write("foo", "precious");
    const r = s.mlv("checkout");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(UNSAVED);
    expect(r.stderr).toMatch(/^\s+foo$/m);
    expect(s.read("foo")).toBe("precious");
    const forced = s.mlv("checkout", "--force");
    expect(forced.code).toBe(0);
    expect(forced.stdout).toMatch(/^M\tfoo$/m);
    expect(s.read("foo")).toBe("foo");
  });

  it("overwrites a modified file without --force when its content is in the cache", () => {
    const s = tracked();
    s.write("foo", "bar"); // the content of data/bar, cached
    const r = s.mlv("checkout");
    expect(r.code).toBe(0);
    expect(s.read("foo")).toBe("foo");
  });

  it("makes a tracked folder equal its manifest: changed files restored, extra files removed", () => {
    const s = tracked();
    s.write("data/bar", "changed");
    s.write("data/extra.txt", "not cached");
    s.write("data/sub/copy", "foo"); // extra, but its content is cached
    const refused = s.mlv("checkout");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(UNSAVED);
    expect(refused.stderr).toContain("data/bar");
    expect(refused.stderr).toContain("data/extra.txt");
    expect(refused.stderr).not.toContain("data/sub/copy");
    expect(s.read("data/bar")).toBe("changed");
    expect(s.read("data/extra.txt")).toBe("not cached");

    const forced = s.mlv("checkout", "-f");
    expect(forced.code).toBe(0);
    expect(forced.stdout).toMatch(/^M\tdata\/$/m);
    expect(s.files("data")).toEqual(["bar", "foo"]);
    expect(s.read("data/bar")).toBe("bar");
    expect(s.exists("data/sub")).toBe(false);
  });

  it("removes an extra file from a tracked folder without --force when its content is cached", () => {
    const s = tracked();
    s.write("data/copy-of-foo", "foo");
    const r = s.mlv("checkout");
    expect(r.code).toBe(0);
    expect(s.files("data")).toEqual(["bar", "foo"]);
  });

  it("--relink after switching cache.type to hardlink turns the workspace files into hardlinks", () => {
    const s = tracked();
    expect(s.stat("foo").ino).not.toBe(s.stat(s.cacheObject(FOO_MD5)).ino);
    expect(s.mlv("config", "cache.type", "hardlink").code).toBe(0);
    const r = s.mlv("checkout", "--relink");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Relinked successfully");
    expect(s.stat("foo").ino).toBe(s.stat(s.cacheObject(FOO_MD5)).ino);
    expect(s.stat("data/bar").ino).toBe(s.stat(s.cacheObject(BAR_MD5)).ino);
    expect(s.stat("data/foo").ino).toBe(s.stat(s.cacheObject(FOO_MD5)).ino);
    expect(s.read("data/bar")).toBe("bar");
    // the cache objects kept their protection
    expect(modeOf(s.stat(s.cacheObject(FOO_MD5)))).toBe(0o444);
  });

  it("restricts itself to the targets given (.dvc file or data path)", () => {
    const s = tracked();
    s.rm("foo");
    s.rm("data");
    const r = s.mlv("checkout", "foo.dvc");
    expect(r.code).toBe(0);
    expect(s.read("foo")).toBe("foo");
    expect(s.exists("data")).toBe(false);
    expect(s.mlv("checkout", "data").code).toBe(0);
    expect(s.files("data")).toEqual(["bar", "foo"]);
  });

  it("fails naming the output whose cache is missing, and still restores the others", () => {
    const s = tracked();
    s.write("big", "big");
    s.must("add", "big");
    s.rm("big");
    s.rm(s.cacheObject(md5("big")));
    s.rm("foo");
    const r = s.mlv("checkout");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\bbig\b/);
    expect(r.stderr).not.toMatch(/^\s*foo$/m);
    expect(s.read("foo")).toBe("foo");
    expect(s.exists("big")).toBe(false);
  });

  it("restores the executable bit of an isexec output", () => {
    const s = sandbox({ init: "dvc" });
    s.write("run.sh", "#!/bin/sh\necho hi\n", 0o755);
    s.must("add", "run.sh");
    s.rm("run.sh");
    expect(s.mlv("checkout").code).toBe(0);
    expect(s.stat("run.sh").mode & 0o100).toBe(0o100);
    expect(s.read("run.sh")).toBe("#!/bin/sh\necho hi\n");
  });

  it("with cache.type symlink, checkout creates symlinks into the cache", () => {
    const s = tracked();
    expect(s.mlv("config", "cache.type", "symlink").code).toBe(0);
    s.rm("foo");
    expect(s.mlv("checkout", "foo").code).toBe(0);
    expect(s.lstat("foo").isSymbolicLink()).toBe(true);
    expect(s.read("foo")).toBe("foo");
  });

  it("replaces a folder where the pointer says a file goes (with --force when not cached)", () => {
    const s = tracked();
    s.rm("foo");
    s.write("foo/inner", "foo"); // cached content
    const r = s.mlv("checkout", "foo");
    expect(r.code).toBe(0);
    expect(s.stat("foo").isFile()).toBe(true);
    expect(s.read("foo")).toBe("foo");
  });
  it("checks out a folder of many files from a DVC-written cache (the worker-pool path), copies or hardlinks", () => {
    const s = sandbox({ init: "dvc" });
    const entries: { md5: string; relpath: string }[] = [];
    let size = 0;
    for (let i = 0; i < 260; i++) {
      const content = `file ${i}\n`;
      const oid = md5(content);
      s.write(s.cacheObject(oid), content, 0o444);
      entries.push({ md5: oid, relpath: `f${String(i).padStart(3, "0")}.txt` });
      size += content.length;
    }
    const dirBytes = `[${entries.map((e) => `{"md5": "${e.md5}", "relpath": "${e.relpath}"}`).join(", ")}]`;
    const dirOid = `${md5(dirBytes)}.dir`;
    s.write(s.cacheObject(dirOid), dirBytes, 0o444);
    s.write("many.dvc", `outs:\n- md5: ${dirOid}\n  size: ${size}\n  nfiles: 260\n  hash: md5\n  path: many\n`);
    const r = s.mlv("checkout");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(s.files("many")).toHaveLength(260);
    expect(s.read("many/f000.txt")).toBe("file 0\n");
    expect(s.read("many/f259.txt")).toBe("file 259\n");
    expect(s.stat("many/f100.txt").mode & 0o200).toBe(0o200); // a copy is the user's, writable
    expect(s.mlv("config", "cache.type", "hardlink").code).toBe(0);
    expect(s.mlv("checkout", "--relink").code).toBe(0);
    for (const f of ["f000.txt", "f150.txt", "f259.txt"])
      expect(s.stat(`many/${f}`).ino, f).toBe(s.stat(s.cacheObject(md5(s.read(`many/${f}`)))).ino);
    expect(s.mlv("status").stdout).toBe("Data and pipelines are up to date.\n");
  });

  it("a temporary file a killed command left in a tracked folder is never taken for data", () => {
    const s = sandbox({ init: "dvc" });
    s.writeTree({ "data/a": "a", "data/b": "b" });
    s.must("add", "data");
    const pointer = s.read("data.dvc");
    s.write("data/.mlv-999999-AbC_d3AbC_d3.tmp", "half of a"); // as a checkout killed mid-file leaves it
    s.rm("data/a");
    const r = s.mlv("checkout");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(s.read("data/a")).toBe("a");
    expect(s.mlv("status").stdout).toBe("Data and pipelines are up to date.\n");
    s.must("add", "data");
    expect(s.read("data.dvc")).toBe(pointer);
  });

  it("checkout removes the temporary files of a killed command, in folders and beside files, not a live one's", () => {
    const s = sandbox({ init: "dvc" });
    const many: Record<string, string> = { model: "weights" };
    for (let i = 0; i < 600; i++) many[`big/sub${i % 3}/f${i}`] = String(i); // walked by the worker threads
    s.writeTree({ "data/a": "a", "data/sub/b": "b", ...many });
    s.must("add", "data", "big", "model");
    const dead = [
      "data/.mlv-999999-AbC_d3AbC_d3.tmp",
      "data/sub/.mlv-999999-xxxxxxxxxxxx.tmp",
      "big/sub1/.mlv-999999-yyyyyyyyyyyy.tmp",
      ".mlv-999999-zzzzzzzzzzzz.tmp",
    ];
    const live = `data/.mlv-${process.pid}-live00live00.tmp`; // this test's own process: alive
    for (const t of [...dead, live]) s.write(t, "half");
    s.rm("data/a");
    s.must("checkout");
    for (const t of dead) expect(s.exists(t), t).toBe(false);
    expect(s.exists(live)).toBe(true);
    expect(s.read("data/a")).toBe("a");
    s.write(".mlv-999999-again0again0.tmp", "half"); // removed even when nothing else needs doing
    s.write("big/.mlv-999999-again0again0.tmp", "half");
    s.must("checkout");
    expect(s.exists(".mlv-999999-again0again0.tmp")).toBe(false);
    expect(s.exists("big/.mlv-999999-again0again0.tmp")).toBe(false);
  });
});
