/**
 * A folder of many files through a local remote, against the real DVC both ways. From 200 files
 * on, mlv's push and fetch copy objects in worker threads, straight between the cache and the
 * remote folder: DVC must take what they write, and mlv what DVC wrote.
 */
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { mustDvc, requireDvc } from "../../../test-fixtures/dvc-peer.js";
import { md5, modeOf, objectPath, type Sandbox, sandbox } from "./helpers.js";

const DVC = requireDvc("the local-remote tests against the real DVC");

/** 300 files in three folders, of a few sizes. */
function images(): Record<string, string> {
  return Object.fromEntries(
    Array.from({ length: 300 }, (_, i) => [`images/${i % 3}/img${i}.bin`, `image ${i}\n`.repeat(1 + (i % 7))]),
  );
}

/** Commit everything, and clone the repository beside it: git's files only. */
function commitAndClone(s: Sandbox): string {
  s.mustGit("add", "-A");
  s.mustGit("commit", "-q", "-m", "images");
  const clone = join(s.dir, "clone");
  s.mustGit("clone", "-q", s.repo, clone);
  return clone;
}

function expectFiles(dir: string, files: Record<string, string>): void {
  for (const [rel, text] of Object.entries(files)) expect(readFileSync(join(dir, rel), "utf8"), rel).toBe(text);
}

describe.skipIf(!DVC)("many files through a local remote, with the real DVC", () => {
  it("DVC pulls what mlv pushed: read-only objects, no temporary file left", () => {
    const s = sandbox({ init: "mlv" });
    s.useRemote();
    const files = images();
    s.writeTree(files);
    s.must("add", "images");
    expect(s.must("push").stdout).toContain("301 files pushed");
    const onRemote = s.remoteFiles();
    expect(onRemote.filter((f) => !/^files\/md5\/[0-9a-f]{2}\/[0-9a-f]{30}(\.dir)?$/.test(f))).toEqual([]);
    for (const text of Object.values(files))
      expect(modeOf(statSync(join(s.remote, objectPath(md5(text))))), text).toBe(0o444);

    const clone = commitAndClone(s);
    mustDvc(clone, "pull", "-q");
    expectFiles(clone, files);
    expect(JSON.parse(mustDvc(clone, "status", "--json").stdout)).toEqual({});
    expect(JSON.parse(mustDvc(clone, "status", "-c", "--json").stdout)).toEqual({});
  });

  it("mlv pulls what DVC pushed, and DVC finds the clone up to date", () => {
    const s = sandbox({ init: "dvc" });
    s.useRemote();
    const files = images();
    s.writeTree(files);
    mustDvc(s.repo, "add", "-q", "images");
    mustDvc(s.repo, "push", "-q");

    const clone = commitAndClone(s);
    const pulled = s.mlvWith({ cwd: "../clone" }, "pull");
    expect(pulled.code, pulled.stderr).toBe(0);
    expectFiles(clone, files);
    for (const text of Object.values(files))
      expect(modeOf(statSync(join(clone, ".dvc", "cache", objectPath(md5(text))))), text).toBe(0o444);
    expect(s.mlvWith({ cwd: "../clone" }, "status").stdout).toBe("Data and pipelines are up to date.\n");
    expect(JSON.parse(mustDvc(clone, "status", "--json").stdout)).toEqual({});
  });
});
