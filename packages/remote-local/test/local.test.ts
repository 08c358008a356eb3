/** What only a folder remote shows: file modes, temporary files, folders read. The shared semantics are in conformance.test.ts. */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { createRequire, syncBuiltinESMExports } from "node:module";
import { hostname, tmpdir } from "node:os";
import { join, sep } from "node:path";
import { createInterface } from "node:readline";
import { Readable } from "node:stream";
import { pathToFileURL } from "node:url";
import { ObjectNotFoundError, PermissionDeniedError, type Remote } from "@mlv/core";
import adapter from "@mlv/remote-local";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

let dir: string;
let root: string;
let remote: Remote;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "mlv-remote-local-"));
  root = join(dir, "remote");
  remote = await adapter.create({ name: "test", url: root, options: {} });
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const body = (text: string) => Readable.from([Buffer.from(text)], { objectMode: false });
const modeOf = async (path: string) => (await stat(path)).mode & 0o777;
const collect = async (keys: AsyncIterable<string>) => {
  const out: string[] = [];
  for await (const key of keys) out.push(key);
  return out.sort();
};
const isRoot = process.getuid?.() === 0;

describe("the adapter descriptor", () => {
  it("serves file URLs and plain paths, and does no I/O in create()", async () => {
    expect(adapter).toMatchObject({ name: "local", schemes: ["file"] });
    const r = await adapter.create({ name: "x", url: join(dir, "never", "made"), options: {} });
    expect(r.displayUrl).toBe(join(dir, "never", "made"));
    expect(r.capabilities).toMatchObject({ writeFile: true, readFile: true, traverse: true, protectsObjects: true });
    await expect(stat(join(dir, "never"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("refuses a file:// URL naming another host", async () => {
    await expect(async () =>
      adapter.create({ name: "x", url: "file://fileserver/share", options: {} }),
    ).rejects.toMatchObject({ code: "ECONFIG" });
  });

  it("stores below the folder of a file:// URL", async () => {
    const viaUrl = await adapter.create({ name: "x", url: pathToFileURL(root).href, options: {} });
    expect(viaUrl.displayUrl).toBe(root);
    await viaUrl.write("files/md5/ab/cdef", body("hi"), 2);
    expect(await readFile(join(root, "files", "md5", "ab", "cdef"), "utf8")).toBe("hi");
  });
});

describe.skipIf(process.platform === "win32")("objects are read-only (0444), as in DVC's local remotes", () => {
  it("after write() and after writeFile(), whatever the source's mode", async () => {
    await remote.write("files/md5/ab/cdef", body("one"), 3);
    expect(await modeOf(join(root, "files/md5/ab/cdef"))).toBe(0o444);
    const src = join(dir, "source");
    await writeFile(src, "two", { mode: 0o600 });
    await remote.writeFile!("files/md5/ab/0123", src, 3);
    expect(await modeOf(join(root, "files/md5/ab/0123"))).toBe(0o444);
    expect(await modeOf(src)).toBe(0o600);
  });

  it("even under a umask that would remove read bits", async () => {
    const old = process.umask(0o077);
    try {
      await remote.write("files/md5/ab/cdef", body("one"), 3);
    } finally {
      process.umask(old);
    }
    expect(await modeOf(join(root, "files/md5/ab/cdef"))).toBe(0o444);
  });

  it("and a read-only object is replaced by the next write", async () => {
    await remote.write("files/md5/ab/cdef", body("one"), 3);
    await remote.write("files/md5/ab/cdef", body("three"), 5);
    expect(await readFile(join(root, "files/md5/ab/cdef"), "utf8")).toBe("three");
  });
});

describe("temporary files", () => {
  it("a write in progress is a .tmp file beside the target, which list() skips", async () => {
    let release!: () => void;
    const gate = new Promise<void>((ok) => {
      release = ok;
    });
    let pulled!: () => void;
    const halfway = new Promise<void>((ok) => {
      pulled = ok;
    });
    const slow = Readable.from(
      (async function* () {
        yield Buffer.alloc(100_000, 1);
        pulled();
        await gate;
        yield Buffer.alloc(100_000, 2);
      })(),
      { objectMode: false },
    );
    const writing = remote.write("files/md5/ab/cdef", slow, 200_000);
    await halfway;
    const names = await readdir(join(root, "files/md5/ab"));
    expect(names).toHaveLength(1);
    expect(names[0]).toMatch(/^\..+\.tmp$/);
    expect(await collect(remote.list(""))).toEqual([]);
    release();
    await writing;
    expect(await readdir(join(root, "files/md5/ab"))).toEqual(["cdef"]);
  });

  it("a process killed mid-write leaves only a .tmp file, which list() skips", async () => {
    const require = createRequire(import.meta.url);
    const script = `
      import { Readable } from "node:stream";
      import adapter from ${JSON.stringify(pathToFileURL(require.resolve("@mlv/remote-local")).href)};
      const remote = await adapter.create({ name: "t", url: process.argv[1], options: {} });
      const body = new Readable({ read() {} });
      body.push(Buffer.alloc(256 * 1024, 7));
      remote.write("files/md5/ab/cdef", body, 1024 * 1024);
      setTimeout(() => console.log("writing"), 200);
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script, root], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    try {
      const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
      expect((await lines.next()).value).toBe("writing");
    } finally {
      child.kill("SIGKILL");
      await new Promise((ok) => child.on("exit", ok));
    }
    const names = await readdir(join(root, "files/md5/ab"));
    expect(names).toHaveLength(1);
    expect(names[0]).toMatch(/^\..+\.tmp$/);
    expect((await stat(join(root, "files/md5/ab", names[0]!))).size).toBe(256 * 1024);
    expect(await collect(remote.list(""))).toEqual([]);
    expect(await remote.exists("files/md5/ab/cdef")).toBe(false);
    // The next push writes the object and removes the debris of the killed one.
    await remote.write("files/md5/ab/cdef", body("whole"), 5);
    expect(await collect(remote.list(""))).toEqual(["files/md5/ab/cdef"]);
    expect(await readdir(join(root, "files/md5/ab"))).toEqual(["cdef"]);
  });

  it("the first write into a folder removes stale temporary files only: a day old, or this machine's dead process's", async () => {
    const ab = join(root, "files/md5/ab");
    await mkdir(ab, { recursive: true });
    const host = createHash("md5").update(hostname()).digest("hex").slice(0, 8);
    const names = {
      deadHere: `.mlv-999999-${host}-abc-0.tmp`,
      liveHere: `.mlv-${process.pid}-${host}-abc-0.tmp`,
      otherHostFresh: ".mlv-999999-00000000-abc-0.tmp",
      otherHostOld: ".mlv-999998-00000000-abc-0.tmp",
      dvcFresh: ".Xk2bM_0aZq1w-hT7.tmp",
      dvcOld: ".Yk2bM_0aZq1w-hT7.tmp",
    };
    for (const name of Object.values(names)) await writeFile(join(ab, name), "partial");
    const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600 * 1000);
    for (const name of [names.otherHostOld, names.dvcOld]) await utimes(join(ab, name), twoDaysAgo, twoDaysAgo);
    await remote.write("files/md5/ab/cdef", body("whole"), 5);
    expect((await readdir(ab)).sort()).toEqual([names.dvcFresh, names.liveHere, names.otherHostFresh, "cdef"].sort());
  });

  it("DVC's temporary files are skipped too", async () => {
    await mkdir(join(root, "files/md5/ab"), { recursive: true });
    await writeFile(join(root, "files/md5/ab/.Xk2bM_0aZq1w-hT7.tmp"), "partial");
    await writeFile(join(root, "files/md5/ab/cdef"), "whole");
    expect(await collect(remote.list("files/md5/ab/"))).toEqual(["files/md5/ab/cdef"]);
  });

  it("a failed write removes its temporary file", async () => {
    const failing = Readable.from(
      (async function* () {
        yield Buffer.alloc(50_000);
        throw new Error("source failed");
      })(),
      { objectMode: false },
    );
    await expect(remote.write("files/md5/ab/cdef", failing)).rejects.toThrow("source failed");
    expect(await readdir(join(root, "files/md5/ab"))).toEqual([]);
  });

  it("a body shorter than its announced size is not stored", async () => {
    await expect(remote.write("files/md5/ab/cdef", body("short"), 10)).rejects.toMatchObject({ code: "ESIZE" });
    expect(await readdir(join(root, "files/md5/ab"))).toEqual([]);
  });
});

describe("listing", () => {
  /** node:fs as a mutable object (the ESM namespace is read-only). */
  const mutableFs = createRequire(import.meta.url)("node:fs") as typeof fs;

  /** Record every folder the adapter reads (it calls fs.readdir). */
  async function foldersRead(fn: () => Promise<unknown>): Promise<string[]> {
    const seen: string[] = [];
    const original = mutableFs.readdir;
    mutableFs.readdir = ((path: fs.PathLike, ...rest: unknown[]) => {
      seen.push(String(path));
      return (original as (...a: unknown[]) => void)(path, ...rest);
    }) as typeof fs.readdir;
    syncBuiltinESMExports(); // so that `import { readdir } from "node:fs"` sees the spy too
    try {
      await fn();
    } finally {
      mutableFs.readdir = original;
      syncBuiltinESMExports();
    }
    return seen.map((p) => p.slice(root.length).split(sep).join("/"));
  }

  beforeEach(async () => {
    for (const key of [
      "files/md5/ab/cdef",
      "files/md5/ab/cdef.dir",
      "files/md5/ac/0000",
      "files/md5/cd/ef01",
      "ab/cdef",
    ]) {
      await remote.write(key, body(key), key.length);
    }
    await mkdir(join(root, "unrelated/deep/tree"), { recursive: true });
    await writeFile(join(root, "unrelated/deep/tree/file"), "x");
  });

  it("reads only the folders that the prefix can match", async () => {
    let keys: string[] = [];
    const read = await foldersRead(async () => {
      keys = await collect(remote.list("files/md5/ab"));
    });
    expect(keys).toEqual(["files/md5/ab/cdef", "files/md5/ab/cdef.dir"]);
    expect(read).toEqual(["/files/md5/", "/files/md5/ab/"]);

    const partial = await foldersRead(() => collect(remote.list("files/md5/a")));
    expect(partial.sort()).toEqual(["/files/md5/", "/files/md5/ab/", "/files/md5/ac/"]);

    const file = await foldersRead(() => collect(remote.list("files/md5/ab/cdef")));
    expect(file).toEqual(["/files/md5/ab/"]);
  });

  it("the legacy layout at the root is listed without entering files/ or other folders", async () => {
    const read = await foldersRead(async () => {
      expect(await collect(remote.list("ab/"))).toEqual(["ab/cdef"]);
    });
    expect(read).toEqual(["/ab/"]);
  });

  it.skipIf(isRoot || process.platform === "win32")(
    "an unreadable unrelated folder does not break a listing",
    async () => {
      await fs.promises.chmod(join(root, "unrelated"), 0o000);
      try {
        expect(await collect(remote.list("files/md5/"))).toHaveLength(4);
      } finally {
        await fs.promises.chmod(join(root, "unrelated"), 0o755);
      }
    },
  );

  it("follows a symlinked folder", async () => {
    const elsewhere = join(dir, "elsewhere");
    await mkdir(join(elsewhere, "ff"), { recursive: true });
    await writeFile(join(elsewhere, "ff", "0123"), "x");
    await fs.promises.symlink(elsewhere, join(root, "linked"));
    expect(await collect(remote.list("linked/"))).toEqual(["linked/ff/0123"]);
  });
});

describe("a remote folder that does not exist yet", () => {
  it("lists nothing, has no objects, deletes nothing, and is not created by reading", async () => {
    expect(await collect(remote.list(""))).toEqual([]);
    expect(await collect(remote.list("files/md5/ab"))).toEqual([]);
    expect(await remote.exists("files/md5/ab/cdef")).toBe(false);
    await expect(remote.read("files/md5/ab/cdef")).rejects.toBeInstanceOf(ObjectNotFoundError);
    await expect(remote.readFile!("files/md5/ab/cdef", join(dir, "out"))).rejects.toBeInstanceOf(ObjectNotFoundError);
    await remote.delete("files/md5/ab/cdef");
    await expect(stat(root)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("is created by the first write", async () => {
    await remote.write("files/md5/ab/cdef", body("x"), 1);
    expect((await stat(root)).isDirectory()).toBe(true);
  });
});

describe("folders removed behind the adapter's back", () => {
  it("are created again by write() and writeFile()", async () => {
    const src = join(dir, "src");
    await writeFile(src, "data");
    await remote.write("files/md5/ab/0001", body("x"), 1);
    await rm(join(root, "files"), { recursive: true, force: true });
    await remote.write("files/md5/ab/0002", body("y"), 1);
    await rm(join(root, "files"), { recursive: true, force: true });
    await remote.writeFile!("files/md5/ab/0003", src, 4);
    expect(await collect(remote.list(""))).toEqual(["files/md5/ab/0003"]);
  });
});

describe("errors", () => {
  it("keys that would leave the folder are refused", async () => {
    for (const key of ["../outside", "files/../../outside", "/etc/passwd", "files//md5", "files/./x", ""]) {
      await expect(remote.exists(key), key).rejects.toMatchObject({ code: "EBADKEY" });
    }
    await expect(collect(remote.list("../"))).rejects.toMatchObject({ code: "EBADKEY" });
  });

  it("writeFile of a missing source names the source, and stores nothing", async () => {
    const missing = join(dir, "missing");
    await expect(remote.writeFile!("files/md5/ab/cdef", missing, 1)).rejects.toMatchObject({ code: "ENOENT" });
    expect(await readdir(join(root, "files/md5/ab"))).toEqual([]);
  });

  it("a folder is not an object", async () => {
    await remote.write("files/md5/ab/cdef", body("x"), 1);
    expect(await remote.exists("files/md5/ab")).toBe(false);
    await expect(remote.read("files/md5/ab")).rejects.toBeInstanceOf(ObjectNotFoundError);
    await expect(remote.readFile!("files/md5/ab", join(dir, "out"))).rejects.toBeInstanceOf(ObjectNotFoundError);
    await remote.delete("files/md5/ab"); // no object there: nothing to do
    expect(await remote.exists("files/md5/ab/cdef")).toBe(true);
  });

  it.skipIf(isRoot || process.platform === "win32")(
    "a read-only remote folder gives PermissionDeniedError",
    async () => {
      await remote.write("files/md5/ab/cdef", body("x"), 1);
      await fs.promises.chmod(join(root, "files/md5/ab"), 0o555);
      try {
        await expect(remote.write("files/md5/ab/0123", body("y"), 1)).rejects.toBeInstanceOf(PermissionDeniedError);
        await expect(remote.delete("files/md5/ab/cdef")).rejects.toBeInstanceOf(PermissionDeniedError);
      } finally {
        await fs.promises.chmod(join(root, "files/md5/ab"), 0o755);
      }
    },
  );
});

describe("interrupted uploads", () => {
  it("write() aborted midway rejects with the signal's reason and leaves no temporary file", async () => {
    const controller = new AbortController();
    const slow = Readable.from(
      (async function* () {
        yield Buffer.alloc(50_000);
        controller.abort(new Error("stopped by the user"));
        await new Promise((r) => setTimeout(r, 50));
        yield Buffer.alloc(50_000);
      })(),
      { objectMode: false },
    );
    await expect(remote.write("files/md5/ab/cdef", slow, 100_000, { signal: controller.signal })).rejects.toThrow(
      "stopped by the user",
    );
    expect(await readdir(join(root, "files/md5/ab"))).toEqual([]);
  });

  it("writeFile() aborted during its copy drops the copy instead of storing it", async () => {
    const source = join(dir, "source");
    await writeFile(source, Buffer.alloc(1_000_000, 1));
    const controller = new AbortController();
    const copying = remote.writeFile!("files/md5/ab/cdef", source, 1_000_000, { signal: controller.signal });
    controller.abort(new Error("stopped by the user"));
    await expect(copying).rejects.toThrow("stopped by the user");
    expect(await readdir(join(root, "files/md5/ab")).catch(() => [])).toEqual([]);
  });

  it("removeStaleTemps() finds the stale temporary files of the whole remote, and keeps fresh ones", async () => {
    const host = createHash("md5").update(hostname()).digest("hex").slice(0, 8);
    const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600 * 1000);
    const files = {
      "files/md5/ab/cdef": twoDaysAgo, // an object, however old, is not a temporary file
      [`files/md5/ab/.mlv-999999-${host}-abc-0.tmp`]: new Date(), // this machine, process gone
      "files/md5/cd/.Yk2bM_0aZq1w-hT7.tmp": twoDaysAgo, // DVC's put_file, a day old
      "files/md5/cd/ef0123.Zk2bM_0aZq1w-hT7AbCdEf.tmp": twoDaysAgo, // DVC's move, a day old
      "12/3456.Zk2bM_0aZq1w-hT7AbCdEf.tmp": twoDaysAgo, // in the legacy layout
      "files/md5/cd/.Xk2bM_0aZq1w-hT7.tmp": new Date(), // fresh: a push may be writing it
    };
    for (const [key, mtime] of Object.entries(files)) {
      await mkdir(join(root, key, ".."), { recursive: true });
      await writeFile(join(root, key), "x");
      await utimes(join(root, key), mtime, mtime);
    }
    const stale = [
      `files/md5/ab/.mlv-999999-${host}-abc-0.tmp`,
      "files/md5/cd/.Yk2bM_0aZq1w-hT7.tmp",
      "files/md5/cd/ef0123.Zk2bM_0aZq1w-hT7AbCdEf.tmp",
      "12/3456.Zk2bM_0aZq1w-hT7AbCdEf.tmp",
    ].sort();
    expect((await remote.removeStaleTemps!({ dry: true })).sort()).toEqual(stale);
    expect(fs.existsSync(join(root, stale[0]!))).toBe(true);
    expect((await remote.removeStaleTemps!()).sort()).toEqual(stale);
    for (const key of Object.keys(files)) expect(fs.existsSync(join(root, key)), key).toBe(!stale.includes(key));
  });
});

describe.skipIf(process.platform !== "linux")("a remote where no folder can be made", () => {
  it("under /proc: write() fails at once, naming the folder", async () => {
    const proc = await adapter.create({ name: "p", url: "/proc/mlv-no-such-folder", options: {} });
    await expect(proc.write("files/md5/ab/cdef", body("x"), 1)).rejects.toThrow(
      /refuses to create the folder '\/proc\/mlv-no-such-folder'/,
    );
  });

  it("below a file: write() names the file in the way", async () => {
    await writeFile(join(dir, "file"), "x");
    const under = await adapter.create({ name: "f", url: join(dir, "file", "sub"), options: {} });
    await expect(under.write("files/md5/ab/cdef", body("x"), 1)).rejects.toMatchObject({
      code: "ENOTDIR",
      message: expect.stringContaining(`'${join(dir, "file")}' is a file, where a folder is needed`),
    });
  });
});
