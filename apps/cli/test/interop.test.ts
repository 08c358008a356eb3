import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type FixtureRepo, writeDvc2Repo, writeDvc3Repo } from "../../../test-fixtures/dvc-repos.js";
import { legacyObjectPath, md5, modeOf, objectPath, type Sandbox, sandbox, VD1_BYTES, VD1_OID } from "./helpers.js";

const CLEAN = "Data and pipelines are up to date.\n";

/** A clone of a repository DVC made: its files committed in git, no data, no cache. */
function cloneOf(write: (repo: string, remote: string) => FixtureRepo): { s: Sandbox; fx: FixtureRepo } {
  const s = sandbox();
  const fx = write(s.repo, s.remote);
  s.mustGit("add", "-A");
  s.mustGit("commit", "-q", "-m", "made by DVC");
  return { s, fx };
}

function expectData(s: Sandbox, fx: FixtureRepo) {
  for (const [rel, bytes] of Object.entries(fx.data)) expect(s.bytes(rel).equals(bytes), rel).toBe(true);
}

describe("interoperability with repositories DVC wrote", () => {
  it("pulls a DVC 3 repository: right bytes, 3.x cache layout, clean status, pointers untouched", () => {
    const { s, fx } = cloneOf(writeDvc3Repo);
    const r = s.mlv("pull");
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expectData(s, fx);
    expect(s.files("data")).toEqual(["bar", "baz"]);
    for (const key of Object.keys(fx.remote)) {
      expect(s.bytes(`.dvc/cache/${key}`).equals(fx.remote[key]!), key).toBe(true);
      expect(modeOf(s.stat(`.dvc/cache/${key}`)), key).toBe(0o444);
    }
    expect(s.mlv("status")).toEqual({ code: 0, stdout: CLEAN, stderr: "" });
    expect(s.mlv("status", "-c").stdout).toBe("Cache and remote 'storage' are in sync.\n");
    // nothing for git to see: pointers and .gitignore unchanged, data ignored
    expect(s.mustGit("status", "--porcelain").stdout).toBe("");
  });

  it("pulls a DVC 2.x repository: legacy remote root, legacy cache layout, md5-dos2unix verified", () => {
    const { s, fx } = cloneOf(writeDvc2Repo);
    const r = s.mlv("pull");
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expectData(s, fx);
    expect(s.read("notes.txt")).toBe("foo\r\n"); // bytes kept as they are, CRLF included
    for (const key of Object.keys(fx.remote)) {
      expect(s.bytes(`.dvc/cache/${key}`).equals(fx.remote[key]!), key).toBe(true);
      expect(modeOf(s.stat(`.dvc/cache/${key}`)), key).toBe(0o444);
    }
    expect(s.exists(".dvc/cache/files")).toBe(false);
    expect(s.mlv("status")).toEqual({ code: 0, stdout: CLEAN, stderr: "" });
    expect(s.mlv("status", "-c").stdout).toBe("Cache and remote 'storage' are in sync.\n");
    expect(s.mustGit("status", "--porcelain").stdout).toBe("");
  });

  it("re-adding unchanged legacy data leaves the 2.x pointers byte-identical", () => {
    const { s, fx } = cloneOf(writeDvc2Repo);
    s.must("pull");
    const r = s.mlv("add", "foo", "notes.txt", "data");
    expect(r.code).toBe(0);
    for (const p of ["foo.dvc", "notes.txt.dvc", "data.dvc"]) expect(s.read(p), p).toBe(fx.files[p]);
  });

  it("re-adding changed legacy data upgrades it to 3.x the way DVC rewrites the file", () => {
    const { s } = cloneOf(writeDvc2Repo);
    s.must("pull");
    s.write("foo", "foo\n");
    expect(s.mlv("add", "foo").code).toBe(0);
    // apply_diff (spec §1.3): existing keys keep their places, the new `hash` key is appended.
    expect(s.read("foo.dvc")).toBe(
      "outs:\n- md5: d3b07384d113edec49eaa6238ad5ff00\n  size: 4\n  path: foo\n  hash: md5\n",
    );
    expect(s.read(".dvc/cache/files/md5/d3/b07384d113edec49eaa6238ad5ff00")).toBe("foo\n");
    expect(s.mlv("status").stdout).toBe(CLEAN);
  });

  it("pushes legacy objects to the legacy remote root", () => {
    const { s, fx } = cloneOf(writeDvc2Repo);
    s.must("pull");
    const fresh = join(s.dir, "fresh-remote");
    expect(s.mlv("remote", "add", "fresh", fresh).code).toBe(0);
    const r = s.mlv("push", "-r", "fresh");
    expect(r.code).toBe(0);
    expect(s.remoteFiles(fresh)).toEqual(Object.keys(fx.remote).sort());
    for (const [key, bytes] of Object.entries(fx.remote))
      expect(readFileSync(join(fresh, key)).equals(bytes), key).toBe(true);
  });

  it("writes what DVC 3 writes for the same data: config, pointers, .gitignore, remote objects", () => {
    const { s: dvc, fx } = cloneOf(writeDvc3Repo);
    const s = sandbox();
    expect(s.mlv("init").code).toBe(0);
    expect(s.mlv("remote", "add", "-d", "storage", "../remote").code).toBe(0);
    for (const [rel, bytes] of Object.entries(fx.data)) s.write(rel, bytes);
    expect(s.mlv("add", "model.bin", "data").code).toBe(0);
    expect(s.mlv("push").code).toBe(0);
    for (const rel of [".dvc/.gitignore", "model.bin.dvc", "data.dvc", ".gitignore"])
      expect(s.read(rel), rel).toBe(fx.files[rel]);
    expect(s.read(".dvc/config")).toBe(
      "[core]\n    remote = storage\n['remote \"storage\"']\n    url = ../../remote\n",
    );
    expect(fx.remoteUrl).toBe("../../remote");
    expect(s.remoteFiles()).toEqual(dvc.remoteFiles());
    for (const [key, bytes] of Object.entries(fx.remote))
      expect(readFileSync(join(s.remote, key)).equals(bytes), key).toBe(true);
  });

  it("writes .dir objects byte-identical to DVC's for sorting, escaping and empty folders (V-D9..V-D12)", () => {
    const s = sandbox({ init: "dvc" });
    s.writeTree({ foo: "foo", bar: "bar", ".gitignore": "/foo\n" }, "mixed"); // V-D9
    s.writeTree({ B: "e", "a-b": "d", "a.txt": "b", "a/b": "c" }, "order"); // V-D11
    s.writeTree(
      { "á.txt": "foo", "dir/ü/ñ": "bar", "emoji😀": "baz", "z\x7fdel": "", 'q"uote\\back': "x", "tab\tname": "y" },
      "intl",
    ); // V-D12
    s.write("empty/.keep", "");
    s.rm("empty/.keep"); // V-D10: an empty folder
    const r = s.mlv("add", "mixed", "order", "intl", "empty");
    expect(r.code).toBe(0);
    const dirOf = (name: string) => s.read(`${name}.dvc`).match(/md5: ([0-9a-f]{32}\.dir)/)?.[1];
    expect(dirOf("mixed")).toBe("e1d9e8eae5374860ae025ec84cfd85c7.dir");
    expect(dirOf("order")).toBe("3f853456de2c8501a85c47806eee7c6c.dir");
    expect(dirOf("intl")).toBe("68350fbe302bd2e15d317b491dca380a.dir");
    expect(s.read("empty.dvc")).toBe(
      "outs:\n- md5: d751713988987e9331980363e24189ce.dir\n  size: 0\n  nfiles: 0\n  hash: md5\n  path: empty\n",
    );
    expect(s.read(s.cacheObject("d751713988987e9331980363e24189ce.dir"))).toBe("[]");
    expect(s.read(s.cacheObject("3f853456de2c8501a85c47806eee7c6c.dir"))).toBe(
      '[{"md5": "e1671797c52e15f763380b45e841ec32", "relpath": "B"}, {"md5": "8277e0910d750195b448797616e091ad", "relpath": "a-b"}, {"md5": "92eb5ffee6ae2fec3ad71c777531578f", "relpath": "a.txt"}, {"md5": "4a8a08f09d37b73795649038408b5f33", "relpath": "a/b"}]',
    );
    expect(s.read(s.cacheObject("68350fbe302bd2e15d317b491dca380a.dir"))).toBe(
      '[{"md5": "37b51d194a7513e45b56f6524f2d51f2", "relpath": "dir/\\u00fc/\\u00f1"}, {"md5": "73feffa4b7f6bb68e44cf984c85f6e88", "relpath": "emoji\\ud83d\\ude00"}, {"md5": "9dd4e461268c8034f5c8564e155c67a6", "relpath": "q\\"uote\\\\back"}, {"md5": "415290769594460e2e485922904f345d", "relpath": "tab\\tname"}, {"md5": "d41d8cd98f00b204e9800998ecf8427e", "relpath": "z\\u007fdel"}, {"md5": "acbd18db4cc2f85cedef654fccc4a4d8", "relpath": "\\u00e1.txt"}]',
    );
    expect(s.read("intl.dvc")).toContain("  size: 11\n  nfiles: 6\n");
  });

  it("checks out a folder whose names need escaping, from a .dir DVC wrote", () => {
    const s = sandbox({ init: "dvc" });
    const tree = {
      "á.txt": "foo",
      "dir/ü/ñ": "bar",
      "emoji😀": "baz",
      "z\x7fdel": "",
      'q"uote\\back': "x",
      "tab\tname": "y",
    };
    s.writeTree(tree, "intl");
    s.must("add", "intl");
    s.rm("intl");
    expect(s.mlv("checkout").code).toBe(0);
    for (const [rel, content] of Object.entries(tree)) expect(s.read(`intl/${rel}`), rel).toBe(content);
  });

  it("reads a DVC cache left with trusted read-only objects (no pull needed)", () => {
    const s = sandbox({ init: "dvc" });
    s.write(
      "data.dvc",
      "outs:\n- md5: 5ea40360f5b4ec688df672a4db9c17d1.dir\n  size: 6\n  nfiles: 2\n  hash: md5\n  path: data\n",
    );
    s.write(`.dvc/cache/${objectPath(VD1_OID)}`, VD1_BYTES, 0o444);
    s.write(`.dvc/cache/${objectPath("acbd18db4cc2f85cedef654fccc4a4d8")}`, "foo", 0o444);
    s.write(`.dvc/cache/${objectPath("37b51d194a7513e45b56f6524f2d51f2")}`, "bar", 0o444);
    s.write(`.dvc/cache/${legacyObjectPath("0123456789abcdef0123456789abcdef")}`, "stray legacy object", 0o444);
    expect(s.mlv("status").stdout).toBe("data.dvc:\n\tchanged outs:\n\t\tdeleted:            data\n");
    expect(s.mlv("checkout").code).toBe(0);
    expect(s.read("data/foo")).toBe("foo");
    expect(s.read("data/bar")).toBe("bar");
    expect(s.mlv("status").stdout).toBe(CLEAN);
  });
  it("verifies a multi-chunk 2.x text file with DVC 3's per-1-MiB-chunk md5-dos2unix", () => {
    const s = sandbox({ init: "dvc" });
    s.useRemote();
    // Chunk 1 is 1 MiB of text ending in "\r"; chunk 2 starts with "\n": that pair spans the
    // boundary and is not converted (spec §2.2). Every other "\r\n" is.
    const MiB = 1 << 20;
    const bytes = Buffer.from(`${"x".repeat(MiB - 1)}\r\n${"y\r\n".repeat(100_000)}`, "latin1");
    const converted = Buffer.from(`${"x".repeat(MiB - 1)}\r\n${"y\n".repeat(100_000)}`, "latin1");
    const oid = md5(converted);
    expect(oid).not.toBe(md5(bytes));
    s.write("log.txt.dvc", `outs:\n- md5: ${oid}\n  size: ${bytes.length}\n  path: log.txt\n`);
    s.write(`../remote/${legacyObjectPath(oid)}`, bytes, 0o444);
    const r = s.mlv("pull");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(s.bytes("log.txt").equals(bytes)).toBe(true);
    expect(s.bytes(`.dvc/cache/${legacyObjectPath(oid)}`).equals(bytes)).toBe(true);
    expect(s.mlv("status").stdout).toBe(CLEAN);
  });

  it("gc keeps the legacy objects that 2.x pointers use, locally and on the remote", () => {
    const { s, fx } = cloneOf(writeDvc2Repo);
    s.must("pull");
    s.write(`.dvc/cache/${legacyObjectPath("0123456789abcdef0123456789abcdef")}`, "unused", 0o444);
    const r = s.mlv("gc", "-w", "-c", "-f");
    expect(r.code).toBe(0);
    expect(s.files(".dvc/cache")).toEqual(Object.keys(fx.remote).sort());
    expect(s.remoteFiles()).toEqual(Object.keys(fx.remote).sort());
    expect(s.mlv("status").stdout).toBe(CLEAN);
  });
});
