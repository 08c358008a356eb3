import { randomBytes } from "node:crypto";
import { readlinkSync, realpathSync, symlinkSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import {
  BAR_MD5,
  FOO_MD5,
  legacyObjectPath,
  md5,
  modeOf,
  objectPath,
  pointerText,
  sandbox,
  VD1_BYTES,
  VD1_OID,
  VP1_DIR,
  VP1_FILE,
  VP2_FILE,
} from "./helpers.js";

describe("mlv add", () => {
  it("tracks a file: V-P1 pointer, read-only cache object, .gitignore entry", () => {
    const s = sandbox({ init: "dvc" });
    s.write("foo", "foo");
    const r = s.mlv("add", "foo");
    expect(r.code).toBe(0);
    expect(s.read("foo.dvc")).toBe(VP1_FILE);
    const obj = ".dvc/cache/files/md5/ac/bd18db4cc2f85cedef654fccc4a4d8";
    expect(s.read(obj)).toBe("foo");
    expect(modeOf(s.stat(obj))).toBe(0o444);
    expect(s.read(".gitignore")).toBe("/foo\n");
    expect(s.read("foo")).toBe("foo");
    expect(r.stdout).toContain("git add foo.dvc .gitignore");
  });

  it("tracks a folder given with a trailing slash: V-P1 folder pointer and the V-D1 .dir bytes", () => {
    const s = sandbox({ init: "dvc" });
    s.writeTree({ "data/foo": "foo", "data/bar": "bar" });
    expect(s.mlv("add", "data/").code).toBe(0);
    expect(s.exists("data/.dvc")).toBe(false);
    expect(s.read("data.dvc")).toBe(VP1_DIR);
    const dir = s.cacheObject(VD1_OID);
    expect(s.bytes(dir).equals(Buffer.from(VD1_BYTES))).toBe(true);
    expect(modeOf(s.stat(dir))).toBe(0o444);
    expect(s.read(s.cacheObject(BAR_MD5))).toBe("bar");
    expect(s.read(s.cacheObject(FOO_MD5))).toBe("foo");
    expect(s.read(".gitignore")).toBe("/data\n");
  });

  it("hashes the nested V-D13 tree to fa714f63330a0b2080afbbf771d8ba65.dir", () => {
    const s = sandbox({ init: "dvc" });
    s.writeTree({
      "tree/data/raw/x.csv": "1,2\n",
      "tree/data/raw/y.csv": "3,4\n",
      "tree/model.pkl": Buffer.from([...Array(256).keys()]),
    });
    expect(s.mlv("add", "tree").code).toBe(0);
    expect(s.read("tree.dvc")).toBe(
      pointerText({ md5: "fa714f63330a0b2080afbbf771d8ba65.dir", size: 264, nfiles: 3, path: "tree" }),
    );
    expect(s.exists(s.cacheObject("fa714f63330a0b2080afbbf771d8ba65.dir"))).toBe(true);
  });

  it("records isexec: true for an executable file", () => {
    const s = sandbox({ init: "dvc" });
    s.write("run.sh", "foo", 0o755);
    expect(s.mlv("add", "run.sh").code).toBe(0);
    expect(s.read("run.sh.dvc")).toBe(
      "outs:\n- md5: acbd18db4cc2f85cedef654fccc4a4d8\n  size: 3\n  isexec: true\n  hash: md5\n  path: run.sh\n",
    );
    expect(s.stat("run.sh").mode & 0o111).not.toBe(0);
  });

  it("quotes path: and escapes .gitignore lines as DVC does (V-P6)", () => {
    const s = sandbox({ init: "dvc" });
    // file name -> [path: line, .gitignore line]
    const rows: [string, string, string][] = [
      ["a b.txt", "  path: a b.txt", "/a b.txt"],
      ["ünï.bin", "  path: ünï.bin", "/ünï.bin"],
      ["x: y.bin", "  path: 'x: y.bin'", "/x: y.bin"],
      ["#hash.bin", "  path: '#hash.bin'", "/\\#hash.bin"],
      ["!bang.bin", "  path: '!bang.bin'", "/\\!bang.bin"],
      ["[br]ack*et?.bin", "  path: '[br]ack*et?.bin'", "/\\[br\\]ack\\*et\\?.bin"],
      ["yes", "  path: yes", "/yes"],
      ["123", "  path: '123'", "/123"],
      ["null", "  path: 'null'", "/null"],
      ["~", "  path: '~'", "/~"],
      ["it's.bin", "  path: it's.bin", "/it's.bin"],
      ['q"uote.bin', '  path: q"uote.bin', '/q"uote.bin'],
      ["tab\tx.bin", '  path: "tab\\tx.bin"', "/tab\tx.bin"],
      ["@at.bin", "  path: '@at.bin'", "/@at.bin"],
      ["%pc.bin", "  path: '%pc.bin'", "/%pc.bin"],
      ["a&b.bin", "  path: a&b.bin", "/a&b.bin"],
      ["{brace}.bin", "  path: '{brace}.bin'", "/{brace}.bin"],
    ];
    for (const [name] of rows) s.write(name, "x");
    const r = s.mlv("add", ...rows.map(([name]) => name));
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const gitignore = s.read(".gitignore").split("\n");
    for (const [name, pathLine, ignoreLine] of rows) {
      expect(s.read(`${name}.dvc`), name).toBe(
        `outs:\n- md5: 9dd4e461268c8034f5c8564e155c67a6\n  size: 1\n  hash: md5\n${pathLine}\n`,
      );
      expect(gitignore, name).toContain(ignoreLine);
    }
    // git really ignores the data now: only pointers and the .gitignore are left to commit
    const untracked = s
      .mustGit("-c", "core.quotePath=false", "status", "--porcelain", "-uall")
      .stdout.split("\n")
      .filter((l) => l.startsWith("??"))
      .filter((l) => !/\.dvc"?$/.test(l) && l !== "?? .gitignore");
    expect(untracked).toEqual([]);
  });

  it("re-adding a changed file records the new md5 and size and keeps the old object", () => {
    const s = sandbox({ init: "dvc" });
    s.write("foo", "foo");
    s.must("add", "foo");
    s.write("foo", "foo\n");
    expect(s.mlv("add", "foo").code).toBe(0);
    expect(s.read("foo.dvc")).toBe(pointerText({ md5: "d3b07384d113edec49eaa6238ad5ff00", size: 4, path: "foo" }));
    expect(s.read(s.cacheObject("d3b07384d113edec49eaa6238ad5ff00"))).toBe("foo\n");
    expect(s.read(s.cacheObject(FOO_MD5))).toBe("foo");
    expect(s.read(".gitignore")).toBe("/foo\n");
  });

  it("re-adding an unchanged file leaves the pointer byte-identical", () => {
    const s = sandbox({ init: "dvc" });
    s.writeTree({ foo: "foo", "data/foo": "foo", "data/bar": "bar" });
    s.must("add", "foo", "data");
    const before = [s.bytes("foo.dvc"), s.bytes("data.dvc"), s.bytes(".gitignore")];
    const mtime = s.stat("foo.dvc").mtimeMs;
    const r = s.mlv("add", "foo", "data");
    expect(r.code).toBe(0);
    expect([s.bytes("foo.dvc"), s.bytes("data.dvc"), s.bytes(".gitignore")]).toEqual(before);
    expect(s.stat("foo.dvc").mtimeMs).toBe(mtime);
  });

  it("re-adding keeps the other fields and comments of a hand-edited pointer (DVC's round trip)", () => {
    const s = sandbox({ init: "dvc" });
    s.write("foo", "foo\n");
    s.write(
      "foo.dvc",
      "# the model\nouts:\n- md5: acbd18db4cc2f85cedef654fccc4a4d8\n  size: 3\n  hash: md5\n  path: foo\n  desc: the model # kept\n",
    );
    expect(s.mlv("add", "foo").code).toBe(0);
    expect(s.read("foo.dvc")).toBe(
      "# the model\nouts:\n- md5: d3b07384d113edec49eaa6238ad5ff00\n  size: 4\n  hash: md5\n  path: foo\n  desc: the model # kept\n",
    );
  });

  it("refuses a file inside a tracked folder, naming the folder and its .dvc file, and changes nothing", () => {
    const s = sandbox({ init: "dvc" });
    s.writeTree({ "data/foo": "foo", "data/bar": "bar" });
    s.must("add", "data");
    const pointer = s.bytes("data.dvc");
    const gitignore = s.bytes(".gitignore");
    s.write("data/new.txt", "new");
    const r = s.mlv("add", "data/new.txt");
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("data.dvc");
    expect(r.stderr).toMatch(/'data'|\bdata\b/);
    expect(s.exists("data/new.txt.dvc")).toBe(false);
    expect(s.exists("data/.gitignore")).toBe(false);
    expect(s.bytes("data.dvc")).toEqual(pointer);
    expect(s.bytes(".gitignore")).toEqual(gitignore);
    expect(s.exists(s.cacheObject(md5("new")))).toBe(false);
  });

  it("refuses a file git already tracks", () => {
    const s = sandbox({ init: "dvc" });
    s.write("train.py", "print(1)\n");
    s.mustGit("add", "train.py");
    const r = s.mlv("add", "train.py");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/train\.py/);
    expect(r.stderr).toMatch(/already tracked by SCM/);
    expect(s.exists("train.py.dvc")).toBe(false);
    expect(s.exists(".gitignore")).toBe(false);
  });

  it("clears the half-copied file a killed add left in the cache", () => {
    const s = sandbox({ init: "dvc" });
    s.write(".dvc/cache/files/md5/.mlv-999999-half0000half.tmp", "x".repeat(1000));
    s.write("foo", "foo");
    s.must("add", "foo");
    expect(s.exists(".dvc/cache/files/md5/.mlv-999999-half0000half.tmp")).toBe(false);
  });

  it("clears the .gitignore or pointer temporary a killed add left beside the data, and only a dead process's", () => {
    const s = sandbox({ init: "dvc" });
    s.write("data/.mlv-999999-gitignore0tm.tmp", "/foo\n");
    const live = `data/.mlv-${process.pid}-stillwriting.tmp`;
    s.write(live, "x");
    s.write("data/foo", "foo");
    s.must("add", "data/foo");
    expect(s.exists("data/.mlv-999999-gitignore0tm.tmp")).toBe(false);
    expect(s.exists(live)).toBe(true);
    expect(s.read("data/.gitignore")).toBe("/foo\n");
  });

  it("names a missing target", () => {
    const s = sandbox({ init: "dvc" });
    const r = s.mlv("add", "no-such-file.bin");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("no-such-file.bin");
    expect(s.exists("no-such-file.bin.dvc")).toBe(false);
  });

  it("with cache.type hardlink the workspace file shares the cache object's inode", () => {
    const s = sandbox({ init: "dvc" });
    expect(s.mlv("config", "cache.type", "hardlink").code).toBe(0);
    s.writeTree({ foo: "foo", "data/bar": "bar" });
    expect(s.mlv("add", "foo", "data").code).toBe(0);
    expect(s.stat("foo").ino).toBe(s.stat(s.cacheObject(FOO_MD5)).ino);
    expect(s.stat("data/bar").ino).toBe(s.stat(s.cacheObject(BAR_MD5)).ino);
    expect(s.read("foo")).toBe("foo");
    expect(s.mlv("status").stdout).toBe("Data and pipelines are up to date.\n");
  });

  it("with cache.type symlink the workspace file is a symlink into the cache", () => {
    const s = sandbox({ init: "dvc" });
    expect(s.mlv("config", "cache.type", "symlink").code).toBe(0);
    s.write("foo", "foo");
    expect(s.mlv("add", "foo").code).toBe(0);
    expect(s.lstat("foo").isSymbolicLink()).toBe(true);
    const target = readlinkSync(s.path("foo"));
    expect(isAbsolute(target)).toBe(true); // spec §3.4: the absolute cache object path
    expect(realpathSync(resolve(s.repo, target))).toBe(realpathSync(s.path(s.cacheObject(FOO_MD5))));
    expect(s.read("foo")).toBe("foo");
    expect(s.mlv("status").stdout).toBe("Data and pipelines are up to date.\n");
  });

  it("a status right after add, with nothing touched, is clean (hash cache)", () => {
    const s = sandbox({ init: "dvc" });
    s.writeTree({ foo: "foo", "data/foo": "foo", "data/bar": "bar" });
    s.must("add", "foo", "data");
    const r = s.mlv("status");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("Data and pipelines are up to date.\n");
  });

  it("re-adding an unchanged 2.x (legacy) pointer leaves it byte-identical", () => {
    const s = sandbox({ init: "dvc" });
    s.write("foo", "foo");
    s.write("foo.dvc", VP2_FILE);
    s.write(`.dvc/cache/${legacyObjectPath(FOO_MD5)}`, "foo", 0o444);
    s.write(".gitignore", "/foo\n");
    const r = s.mlv("add", "foo");
    expect(r.code).toBe(0);
    expect(s.read("foo.dvc")).toBe(VP2_FILE);
    expect(s.mlv("status").stdout).toBe("Data and pipelines are up to date.\n");
  });

  it("adds several targets in one go, each with its own pointer", () => {
    const s = sandbox({ init: "dvc" });
    s.writeTree({ "models/a.bin": "foo", "models/b.bin": "bar" });
    expect(s.mlv("add", "models/a.bin", "models/b.bin").code).toBe(0);
    expect(s.read("models/a.bin.dvc")).toBe(pointerText({ md5: FOO_MD5, size: 3, path: "a.bin" }));
    expect(s.read("models/b.bin.dvc")).toBe(pointerText({ md5: BAR_MD5, size: 3, path: "b.bin" }));
    expect(s.read("models/.gitignore")).toBe("/a.bin\n/b.bin\n");
  });
  it("tracks a folder of many files (the worker-pool path) and checks it out again", () => {
    const s = sandbox({ init: "dvc" });
    const tree: Record<string, string> = {};
    for (let i = 0; i < 250; i++) tree[`many/f${String(i).padStart(3, "0")}.txt`] = `file ${i}\n`;
    s.writeTree(tree);
    const r = s.mlv("add", "many");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const size = Object.values(tree).reduce((n, c) => n + c.length, 0);
    expect(s.read("many.dvc")).toMatch(
      new RegExp(`^outs:\n- md5: [0-9a-f]{32}\\.dir\n  size: ${size}\n  nfiles: 250\n`),
    );
    s.rm("many");
    expect(s.mlv("checkout").code).toBe(0);
    expect(s.files("many")).toHaveLength(250);
    expect(s.read("many/f000.txt")).toBe("file 0\n");
    expect(s.read("many/f249.txt")).toBe("file 249\n");
    expect(s.mlv("status").stdout).toBe("Data and pipelines are up to date.\n");
  });

  it("hashes a multi-megabyte file to the md5 of its bytes", () => {
    const s = sandbox({ init: "dvc" });
    const big = randomBytes(5_000_000);
    s.write("big.bin", big);
    expect(s.mlv("add", "big.bin").code).toBe(0);
    expect(s.read("big.bin.dvc")).toBe(pointerText({ md5: md5(big), size: 5_000_000, path: "big.bin" }));
    expect(s.bytes(s.cacheObject(md5(big))).equals(big)).toBe(true);
  });

  it("hashes CRLF text as raw bytes in 3.x (no newline conversion)", () => {
    const s = sandbox({ init: "dvc" });
    s.write("notes.txt", "foo\r\n");
    expect(s.mlv("add", "notes.txt").code).toBe(0);
    expect(s.read("notes.txt.dvc")).toBe(
      pointerText({ md5: "2145971cf82058b108229a3a2e3bff35", size: 5, path: "notes.txt" }),
    );
  });

  it("leaves .dvcignore'd files out of a tracked folder", () => {
    const s = sandbox({ init: "dvc" });
    s.write(".dvcignore", "*.tmp\n");
    s.writeTree({ "data/foo": "foo", "data/bar": "bar", "data/scratch.tmp": "x", "data/sub/more.tmp": "y" });
    expect(s.mlv("add", "data").code).toBe(0);
    expect(s.read("data.dvc")).toBe(VP1_DIR);
  });

  it("replaces a symlinked file by its content (spec §8.1: added by content, not as a link)", () => {
    const s = sandbox({ init: "dvc" });
    s.write("elsewhere/weights", "foo");
    symlinkSync("elsewhere/weights", s.path("model"));
    expect(s.mlv("add", "model").code).toBe(0);
    expect(s.read("model.dvc")).toBe(pointerText({ md5: FOO_MD5, size: 3, path: "model" }));
    // the tracked file no longer follows the link target
    s.write("elsewhere/weights", "changed");
    expect(s.read("model")).toBe("foo");
    expect(s.mlv("status").stdout).toBe("Data and pipelines are up to date.\n");
  });

  it("refuses a folder holding an output another pointer tracks", () => {
    const s = sandbox({ init: "dvc" });
    s.writeTree({ "data/sub/x": "foo", "data/y": "bar" });
    s.must("add", "data/sub/x");
    const r = s.mlv("add", "data");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("data/sub/x.dvc");
    expect(s.exists("data.dvc")).toBe(false);
  });

  it("refuses when the pointer file itself would be git-ignored", () => {
    const s = sandbox({ init: "dvc" });
    s.write(".gitignore", "*.dvc\n");
    s.write("foo", "foo");
    const r = s.mlv("add", "foo");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("bad DVC file name 'foo.dvc' is git-ignored.");
    expect(s.exists("foo.dvc")).toBe(false);
  });

  it("run from a subfolder, puts the pointer and the .gitignore entry next to the data", () => {
    const s = sandbox({ init: "dvc" });
    s.write("models/m.bin", "foo");
    const r = s.mlvWith({ cwd: "models" }, "add", "m.bin");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("git add m.bin.dvc .gitignore");
    expect(s.read("models/m.bin.dvc")).toBe(pointerText({ md5: FOO_MD5, size: 3, path: "m.bin" }));
    expect(s.read("models/.gitignore")).toBe("/m.bin\n");
    expect(s.exists(".gitignore")).toBe(false);
  });

  it("stores objects in cache.dir when set (relative to .dvc/)", () => {
    const s = sandbox({ init: "dvc" });
    expect(s.mlv("config", "cache.dir", "../shared-cache").code).toBe(0);
    expect(s.read(".dvc/config")).toBe("[cache]\n    dir = ../../shared-cache\n");
    s.write("foo", "foo");
    expect(s.mlv("add", "foo").code).toBe(0);
    expect(s.read(`../shared-cache/${objectPath(FOO_MD5)}`)).toBe("foo");
    expect(s.exists(".dvc/cache")).toBe(false);
    s.rm("foo");
    expect(s.mlv("checkout").code).toBe(0);
    expect(s.read("foo")).toBe("foo");
  });
  it("appends to an existing .gitignore (adding the missing newline) and skips paths git already ignores", () => {
    const s = sandbox({ init: "dvc" });
    s.write(".gitignore", "*.log");
    s.writeTree({ foo: "foo", "train.log": "bar" });
    expect(s.mlv("add", "foo", "train.log").code).toBe(0);
    expect(s.read(".gitignore")).toBe("*.log\n/foo\n");
    expect(s.exists("train.log.dvc")).toBe(true);
  });
});
