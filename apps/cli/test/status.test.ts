import { chmodSync, writeFileSync } from "node:fs";
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
});
