import { createHash } from "node:crypto";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { BAR_MD5, FOO_MD5, sandbox, VD1_OID } from "./helpers.js";

const CLEAN = "Data and pipelines are up to date.\n";

/** A repository tracking `foo` (file) and `data/` (V-D1 folder). */
function tracked() {
  const s = sandbox({ init: "dvc" });
  s.writeTree({ foo: "foo", "data/foo": "foo", "data/bar": "bar" });
  s.must("add", "foo", "data");
  return s;
}

describe("mlv status", () => {
  it("says so when nothing is tracked", () => {
    const s = sandbox({ init: "dvc" });
    const r = s.mlv("status");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^There are no data or pipelines tracked in this project yet/);
  });

  it("says everything is up to date when nothing changed", () => {
    const s = tracked();
    const r = s.mlv("status");
    expect(r).toEqual({ code: 0, stdout: CLEAN, stderr: "" });
  });

  it("reports a modified file in DVC's layout, even when its size did not change", () => {
    const s = tracked();
    s.write("foo", "fox");
    const r = s.mlv("status");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("foo.dvc:\n\tchanged outs:\n\t\tmodified:           foo\n");
  });

  it("reports a folder with a changed file or an extra file as modified", () => {
    const s = tracked();
    s.write("data/bar", "baz");
    expect(s.mlv("status").stdout).toBe("data.dvc:\n\tchanged outs:\n\t\tmodified:           data\n");
    s.write("data/bar", "bar");
    expect(s.mlv("status").stdout).toBe(CLEAN);
    s.write("data/sub/extra", "extra");
    expect(s.mlv("status").stdout).toBe("data.dvc:\n\tchanged outs:\n\t\tmodified:           data\n");
  });

  it("reports deleted outputs", () => {
    const s = tracked();
    s.rm("foo");
    s.rm("data");
    expect(s.mlv("status").stdout).toBe(
      "data.dvc:\n\tchanged outs:\n\t\tdeleted:            data\nfoo.dvc:\n\tchanged outs:\n\t\tdeleted:            foo\n",
    );
  });

  it("reports an output whose object is gone from the cache as not in cache", () => {
    const s = tracked();
    s.rm(s.cacheObject(VD1_OID));
    expect(s.mlv("status").stdout).toBe("data.dvc:\n\tchanged outs:\n\t\tnot in cache:       data\n");
    s.rm(s.cacheObject(FOO_MD5)); // used by foo and by data/foo
    expect(s.mlv("status").stdout).toBe(
      "data.dvc:\n\tchanged outs:\n\t\tnot in cache:       data\nfoo.dvc:\n\tchanged outs:\n\t\tnot in cache:       foo\n",
    );
  });

  it("--json prints DVC's structure", () => {
    const s = tracked();
    s.write("foo", "fox");
    s.rm("data");
    const r = s.mlv("status", "--json");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      "data.dvc": [{ "changed outs": { data: "deleted" } }],
      "foo.dvc": [{ "changed outs": { foo: "modified" } }],
    });
  });

  it("--json on a clean repository prints an empty object", () => {
    const s = tracked();
    const r = s.mlv("status", "--json");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({});
  });

  it("-q prints nothing and exits 1 when something changed, 0 when not", () => {
    const s = tracked();
    const clean = s.mlv("status", "-q");
    expect(clean).toEqual({ code: 0, stdout: "", stderr: "" });
    s.write("foo", "fox");
    const changed = s.mlv("status", "-q");
    expect(changed.stdout).toBe("");
    expect(changed.code).toBe(1);
  });

  it("shows paths relative to the folder it runs in", () => {
    const s = tracked();
    s.write("models/m.bin", "foo");
    s.must("add", "models/m.bin");
    s.write("foo", "fox");
    s.write("models/m.bin", "fox");
    const inModels = s.mlvWith({ cwd: "models" }, "status");
    expect(inModels.code).toBe(0);
    expect(inModels.stdout).toBe(
      "../foo.dvc:\n\tchanged outs:\n\t\tmodified:           ../foo\n" +
        "m.bin.dvc:\n\tchanged outs:\n\t\tmodified:           m.bin\n",
    );
    const json = s.mlvWith({ cwd: "models" }, "status", "--json");
    expect(JSON.parse(json.stdout)).toEqual({
      "../foo.dvc": [{ "changed outs": { "../foo": "modified" } }],
      "m.bin.dvc": [{ "changed outs": { "m.bin": "modified" } }],
    });
  });

  it("limits itself to the targets given", () => {
    const s = tracked();
    s.write("foo", "fox");
    s.rm("data");
    expect(s.mlv("status", "foo.dvc").stdout).toBe("foo.dvc:\n\tchanged outs:\n\t\tmodified:           foo\n");
    expect(s.mlv("status", "data").stdout).toBe("data.dvc:\n\tchanged outs:\n\t\tdeleted:            data\n");
  });
  it("checks untrusted cache objects (mode not 0444) by their bytes, for files and for a folder's files", () => {
    const s = tracked();
    // the mode says "not verified", the bytes are right: still in the cache
    chmodSync(s.path(s.cacheObject(FOO_MD5)), 0o644);
    expect(s.mlv("status").stdout).toBe(CLEAN);
    // the mode says "not verified", the bytes are wrong: not in the cache (spec §3.3)
    const bar = s.path(s.cacheObject(BAR_MD5));
    chmodSync(bar, 0o644);
    writeFileSync(bar, "BAR");
    expect(s.mlv("status").stdout).toBe("data.dvc:\n\tchanged outs:\n\t\tnot in cache:       data\n");
  });
  // Folders of hundreds of files take other paths: the listing is read and its objects checked by
  // the worker threads, and an unchanged folder is answered from the hash cache as a whole.
  it("checks every object of a big folder, and notices a changed file in it", () => {
    const s = sandbox({ init: "dvc" });
    const files: Record<string, string> = {};
    for (let i = 0; i < 700; i++) files[`big/${i % 7}/f${i}.txt`] = `content ${i}`;
    s.writeTree(files);
    s.must("add", "big");
    const bigStatus = (state: string) => `big.dvc:\n\tchanged outs:\n\t\t${`${state}:`.padEnd(20)}big\n`;
    expect(s.mlv("status").stdout).toBe(CLEAN);
    expect(s.mlv("status").stdout).toBe(CLEAN);
    // same size, new content: the listing changed, so the folder is hashed again
    s.write("big/3/f3.txt", "content X");
    expect(s.mlv("status").stdout).toBe(bigStatus("modified"));
    s.write("big/3/f3.txt", "content 3");
    expect(s.mlv("status").stdout).toBe(CLEAN);

    const object = (text: string) => s.cacheObject(createHash("md5").update(text).digest("hex"));
    // an untrusted object with the right bytes is still in the cache; with wrong bytes it is not
    chmodSync(s.path(object("content 500")), 0o644);
    expect(s.mlv("status").stdout).toBe(CLEAN);
    chmodSync(s.path(object("content 600")), 0o644);
    writeFileSync(s.path(object("content 600")), "corrupt");
    expect(s.mlv("status").stdout).toBe(bigStatus("not in cache"));
    s.must("add", "big");
    expect(s.mlv("status").stdout).toBe(CLEAN);
    s.rm(object("content 42"));
    expect(s.mlv("status").stdout).toBe(bigStatus("not in cache"));
    s.must("add", "big");
    expect(s.mlv("status").stdout).toBe(CLEAN);
    // a name written escaped in the listing: it is read by the full parser instead
    s.write("big/ünï/cødé.txt", "escaped in the listing");
    s.must("add", "big");
    expect(s.mlv("status").stdout).toBe(CLEAN);
    s.rm(object("escaped in the listing"));
    expect(s.mlv("status").stdout).toBe(bigStatus("not in cache"));
  });

  it("refuses a big folder's listing that names a path outside the folder", () => {
    const s = sandbox({ init: "dvc" });
    const files: Record<string, string> = {};
    for (let i = 0; i < 700; i++) files[`big/f${i}.txt`] = `content ${i}`;
    s.writeTree(files);
    s.must("add", "big");
    const pointer = readFileSync(s.path("big.dvc"), "utf8");
    const oid = /md5: ([0-9a-f]{32}\.dir)/.exec(pointer)![1]!;
    const listing = readFileSync(s.path(s.cacheObject(oid)), "latin1").replace('"f0.txt"', '"../f0.txt"');
    const crafted = `${createHash("md5").update(listing, "latin1").digest("hex")}.dir`;
    s.write(s.cacheObject(crafted), listing);
    chmodSync(s.path(s.cacheObject(crafted)), 0o444);
    writeFileSync(s.path("big.dvc"), pointer.replace(oid, crafted));
    const r = s.mlv("status");
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/unsafe relpath "\.\.\/f0\.txt"/);
  });
});
