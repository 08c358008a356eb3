/**
 * The data operations through the `Repo` API, on projects in temporary folders: add, status,
 * push, fetch, pull, checkout and gc, with a remote that is a folder. The remote is a small one of
 * the test's own, handed to core as the adapter for plain paths: it counts what core asks of it and
 * can fail chosen uploads, so that plans (what moves, in which order, what is held back) can be
 * checked without the built CLI.
 */
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import {
  chmodSync,
  createReadStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { describe, expect, it } from "vitest";
import type { AdapterSources } from "../src/adapters.js";
import { Repo } from "../src/api/repo.js";
import { loadPointer } from "../src/data-index/pointer-outs.js";
import { type MlvError, ObjectNotFoundError, RemoteError, RemoteUnreachableError } from "../src/errors.js";
import { Project } from "../src/project/project.js";
import type {
  ByteRange,
  ReadableRemote,
  Remote,
  RemoteAdapter,
  RemoteConfig,
  WriteFileOptions,
} from "../src/remote.js";
import { remoteTempPrefix } from "../src/remote-temps.js";
import { workFolder } from "./work-folder.js";

const work = workFolder("mlv-ops-");

const md5 = (data: string | Buffer) => createHash("md5").update(data).digest("hex");
const objectKey = (oid: string) => `files/md5/${oid.slice(0, 2)}/${oid.slice(2)}`;

/** Every file below `dir`, as posix paths relative to it, sorted. */
function filesBelow(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return (readdirSync(dir, { recursive: true }) as string[])
    .map((p) => p.split("\\").join("/"))
    .filter((p) => statSync(join(dir, p)).isFile())
    .sort();
}

/** A remote that is a folder, recording every write and delete; `failWrites` makes chosen uploads fail. */
class FolderRemote implements Remote {
  readonly capabilities = { traverse: true, rangedRead: true };
  readonly writes: string[] = [];
  readonly deletes: string[] = [];
  readonly failWrites = new Set<string>();
  /** Every ranged read asked for, by its offset. */
  readonly rangeReads: number[] = [];
  /** Offsets whose ranged read fails once, as a dropped connection does. */
  readonly dropRangesAt = new Set<number>();

  constructor(readonly root: string) {}

  get displayUrl(): string {
    return this.root;
  }

  protected pathOf(key: string): string {
    return join(this.root, ...key.split("/"));
  }

  async exists(key: string): Promise<boolean> {
    return existsSync(this.pathOf(key));
  }

  async *list(prefix: string): AsyncIterable<string> {
    for (const key of filesBelow(this.root)) if (key.startsWith(prefix)) yield key;
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    if (!existsSync(this.pathOf(key))) throw new ObjectNotFoundError(this.root, key);
    if (range === undefined) return createReadStream(this.pathOf(key));
    this.rangeReads.push(range.offset);
    if (this.dropRangesAt.delete(range.offset)) throw new RemoteUnreachableError(this.root, "connection reset");
    const end = range.length === undefined ? undefined : range.offset + range.length - 1;
    if (statSync(this.pathOf(key)).size <= range.offset) return Readable.from([]);
    return createReadStream(this.pathOf(key), { start: range.offset, end });
  }

  async write(key: string, body: Readable): Promise<void> {
    this.writes.push(key);
    if (this.failWrites.has(key)) throw new Error("the disk refused it");
    const bytes = await buffer(body);
    mkdirSync(dirname(this.pathOf(key)), { recursive: true });
    writeFileSync(`${this.pathOf(key)}.tmp`, bytes);
    renameSync(`${this.pathOf(key)}.tmp`, this.pathOf(key));
  }

  async delete(key: string): Promise<void> {
    this.deletes.push(key);
    rmSync(this.pathOf(key), { force: true });
  }
}

/** A folder remote that reads local files itself and commits one only once core's check of it passed. */
class CheckedFolderRemote extends FolderRemote {
  override readonly capabilities = { traverse: true, rangedRead: true, writeFile: true, awaitsCheck: true };
  /** Whether each writeFile got a check to wait for. */
  readonly checks: boolean[] = [];

  async writeFile(key: string, localPath: string, _size: number, options: WriteFileOptions = {}): Promise<void> {
    this.writes.push(key);
    this.checks.push(options.checked !== undefined);
    const bytes = readFileSync(localPath);
    await options.checked;
    mkdirSync(dirname(this.pathOf(key)), { recursive: true });
    writeFileSync(`${this.pathOf(key)}.tmp`, bytes);
    renameSync(`${this.pathOf(key)}.tmp`, this.pathOf(key));
  }
}

/** A folder remote whose objects core may read as files (as a local remote's): it counts the reads through it. */
class LocalFilesRemote extends FolderRemote {
  override readonly capabilities = { traverse: true, localFiles: true };
  readonly streamed: string[] = [];

  localPath(key: string): string {
    return this.pathOf(key);
  }

  override async read(key: string, range?: ByteRange): Promise<Readable> {
    this.streamed.push(key);
    return super.read(key, range);
  }
}

/** The remotes made so far, by folder: a test reaches the one core opened. */
const remotes = new Map<string, FolderRemote>();
const folderAdapter: RemoteAdapter = {
  name: "test-folder",
  schemes: ["local"],
  options: {},
  create(config: RemoteConfig) {
    const remote = remotes.get(config.url) ?? new FolderRemote(config.url);
    remotes.set(config.url, remote);
    return remote;
  },
};
const adapters: AdapterSources = { builtins: { local: async () => ({ default: folderAdapter }) } };

/** A project outside git, in a new folder, whose default remote is `remote` (a folder beside it by default). */
class Workspace {
  readonly dir: string;

  constructor(
    name: string,
    readonly remoteDir = join(work, `${name}-remote`),
  ) {
    this.dir = join(work, name);
    mkdirSync(this.dir, { recursive: true });
  }

  async init(): Promise<Repo> {
    await Repo.init(this.dir, { noScm: true });
    this.write(
      ".dvc/config",
      `[core]\n    no_scm = True\n    remote = storage\n['remote "storage"']\n    url = ${this.remoteDir}\n`,
    );
    return Repo.open(this.dir);
  }

  /** A second project with the same config and pointer files, and no data: a fresh clone. */
  async clone(name: string): Promise<{ copy: Workspace; repo: Repo }> {
    const copy = new Workspace(name, this.remoteDir);
    mkdirSync(join(copy.dir, ".dvc"), { recursive: true });
    copy.write(".dvc/config", readFileSync(join(this.dir, ".dvc/config"), "utf8"));
    for (const file of filesBelow(this.dir))
      if (file.endsWith(".dvc") && !file.startsWith(".dvc/")) copy.write(file, this.read(file));
    return { copy, repo: await Repo.open(copy.dir) };
  }

  get remote(): FolderRemote {
    return folderAdapter.create({ name: "storage", url: this.remoteDir, options: {} }) as FolderRemote;
  }

  get cache(): string {
    return join(this.dir, ".dvc", "cache");
  }

  write(path: string, data: string): void {
    mkdirSync(dirname(join(this.dir, path)), { recursive: true });
    writeFileSync(join(this.dir, path), data);
  }

  read(path: string): string {
    return readFileSync(join(this.dir, path), "utf8");
  }

  exists(path: string): boolean {
    return existsSync(join(this.dir, path));
  }
}

/** Change a cache object's bytes and leave it read-only, as an edit through a link would: only its hash tells. */
function changeInPlace(object: string, data: string | Uint8Array): void {
  chmodSync(object, 0o644);
  writeFileSync(object, data);
  chmodSync(object, 0o444);
}

/** The md5 of a folder's `.dir` listing as recorded in its pointer file. */
function recordedHash(ws: Workspace, pointer: string): string {
  return /md5: ([0-9a-f]{32}(?:\.dir)?)/.exec(ws.read(pointer))![1]!;
}

describe("add and status", () => {
  it("caches a file and a folder, writes their pointers, and reports what changes afterwards", async () => {
    const ws = new Workspace("add-status");
    const repo = await ws.init();
    ws.write("model.bin", "weights one");
    ws.write("data/a.txt", "alpha");
    ws.write("data/b.txt", "beta");
    const added = await repo.add(["model.bin", "data"]);
    expect(added.results).toEqual([
      { path: "model.bin", pointer: "model.bin.dvc", changed: true },
      { path: "data", pointer: "data.dvc", changed: true },
    ]);
    expect(ws.read("model.bin.dvc")).toContain(`md5: ${md5("weights one")}`);
    expect(
      loadPointer(await Project.open(ws.dir), join(ws.dir, "data.dvc")).map((o) => [o.rel, o.isDir, o.owner]),
    ).toEqual([["data", true, "data.dvc"]]);
    expect(filesBelow(ws.cache)).toContain(objectKey(md5("alpha")));
    expect(await repo.status()).toEqual([]);

    ws.write("model.bin", "weights two");
    rmSync(join(ws.dir, "data/b.txt"));
    expect(await repo.status()).toEqual([
      { pointer: "data.dvc", path: "data", state: "modified" },
      { pointer: "model.bin.dvc", path: "model.bin", state: "modified" },
    ]);
    expect((await repo.add(["model.bin"])).results[0]?.changed).toBe(true);
    expect(await repo.status({ targets: ["model.bin"] })).toEqual([]);
    await repo.close();
  });
});

describe("resumable downloads of big objects", { timeout: 60_000 }, () => {
  const MiB = 1024 * 1024;
  /** A project with a 70 MiB model pushed, and a fresh clone of it. */
  async function pushedModel(name: string) {
    const ws = new Workspace(name);
    const repo = await ws.init();
    const model = randomBytes(70 * MiB);
    writeFileSync(join(ws.dir, "model.bin"), model);
    await repo.add(["model.bin"]);
    await repo.push({ adapters });
    await repo.close();
    const { copy, repo: clone } = await ws.clone(`${name}-clone`);
    const partial = `${join(copy.dir, ".dvc", "cache", ...objectKey(md5(model)).split("/"))}.mlv-partial`;
    return { ws, copy, clone, model, partial };
  }
  const fetched = (copy: Workspace, model: Buffer) =>
    readFileSync(join(copy.dir, ".dvc", "cache", ...objectKey(md5(model)).split("/")));

  it("a dropped connection resumes from what arrived, never fetching a byte range twice", async () => {
    const { ws, copy, clone, model, partial } = await pushedModel("resume-drop");
    ws.remote.rangeReads.length = 0;
    ws.remote.dropRangesAt.add(24 * MiB);
    expect(await clone.fetch({ adapters })).toEqual({ transferred: 1, skipped: 0, failed: [], missing: [] });
    const reads = ws.remote.rangeReads;
    const retried = reads.indexOf(24 * MiB, reads.indexOf(24 * MiB) + 1);
    expect(retried).toBeGreaterThan(0);
    expect(reads.slice(retried).every((offset) => offset >= 24 * MiB)).toBe(true);
    expect(new Set(reads.filter((o) => o < 24 * MiB)).size).toBe(reads.filter((o) => o < 24 * MiB).length);
    expect(fetched(copy, model).equals(model)).toBe(true);
    expect(existsSync(partial)).toBe(false);
    await clone.close();
  });

  it("a killed command's partial download is resumed from its end; a wrong one is fetched again whole", async () => {
    const { ws, copy, clone, model, partial } = await pushedModel("resume-kill");
    mkdirSync(dirname(partial), { recursive: true });
    writeFileSync(partial, model.subarray(0, 30 * MiB)); // what a killed fetch left
    ws.remote.rangeReads.length = 0;
    await clone.fetch({ adapters });
    expect(ws.remote.rangeReads[0]).toBe(30 * MiB);
    expect(fetched(copy, model).equals(model)).toBe(true);

    const again = await pushedModel("resume-wrong");
    mkdirSync(dirname(again.partial), { recursive: true });
    writeFileSync(again.partial, randomBytes(30 * MiB)); // not the object's bytes
    again.ws.remote.rangeReads.length = 0;
    await again.clone.fetch({ adapters });
    expect(again.ws.remote.rangeReads).toContain(0);
    expect(fetched(again.copy, again.model).equals(again.model)).toBe(true);
    expect(existsSync(again.partial)).toBe(false);
    await clone.close();
    await again.clone.close();
  });

  it("a pointer whose size is wrong still gets the object, downloaded whole", async () => {
    const { copy, model, partial } = await pushedModel("resume-size");
    copy.write("model.bin.dvc", copy.read("model.bin.dvc").replace(/size: \d+/, `size: ${100 * MiB}`));
    const clone = await Repo.open(copy.dir);
    expect((await clone.fetch({ adapters })).transferred).toBe(1);
    expect(fetched(copy, model).equals(model)).toBe(true);
    expect(existsSync(partial)).toBe(false);
    await clone.close();
  });
});

describe("push and fetch", () => {
  it("plans before it moves: status -c shows the plan, push applies it once, a second push skips it all", async () => {
    const ws = new Workspace("push-plan");
    const repo = await ws.init();
    ws.write("model.bin", "weights");
    ws.write("data/a.txt", "alpha");
    await repo.add(["model.bin", "data"]);
    const listing = recordedHash(ws, "data.dvc");

    const planned = await repo.status({ cloud: true, adapters });
    expect(planned.map((e) => [e.path, e.state])).toEqual([
      ["data", "new"],
      ["data/a.txt", "new"],
      ["model.bin", "new"],
    ]);
    expect(ws.remote.writes).toEqual([]);

    expect(await repo.push({ adapters })).toEqual({ transferred: 3, skipped: 0, failed: [], missing: [] });
    // A folder's files go up before its listing.
    expect(ws.remote.writes.indexOf(objectKey(listing))).toBe(2);
    expect(await repo.status({ cloud: true, adapters })).toEqual([]);

    expect(await repo.push({ adapters })).toEqual({ transferred: 0, skipped: 3, failed: [], missing: [] });
    expect(ws.remote.writes).toHaveLength(3);
    await repo.close();
  });

  it("holds a folder's listing back while one of its files failed to upload; a re-run completes it", async () => {
    const ws = new Workspace("held-back");
    const repo = await ws.init();
    ws.write("data/a.txt", "alpha");
    ws.write("data/b.txt", "beta");
    await repo.add(["data"]);
    const listing = objectKey(recordedHash(ws, "data.dvc"));
    ws.remote.failWrites.add(objectKey(md5("beta")));

    const first = await repo.push({ adapters });
    expect(first.transferred).toBe(1);
    expect(first.failed).toEqual([
      { path: "data/b.txt", message: "the disk refused it" },
      { path: "data", message: "not all of its files could be pushed; its listing (.dir) was held back" },
    ]);
    expect(filesBelow(ws.remoteDir)).not.toContain(listing);

    ws.remote.failWrites.clear();
    expect(await repo.push({ adapters })).toMatchObject({ transferred: 2, failed: [], missing: [] });
    expect(filesBelow(ws.remoteDir)).toContain(listing);
    await repo.close();
  });

  it("reports what is in neither the cache nor the remote as missing, and pushes the rest", async () => {
    const ws = new Workspace("push-missing");
    const repo = await ws.init();
    ws.write("kept.bin", "kept");
    ws.write("lost.bin", "lost");
    await repo.add(["kept.bin", "lost.bin"]);
    rmSync(join(ws.cache, ...objectKey(md5("lost")).split("/")), { force: true });
    expect(await repo.push({ adapters })).toEqual({
      transferred: 1,
      skipped: 0,
      failed: [],
      missing: ["lost.bin"],
    });
    expect((await repo.status({ cloud: true, adapters })).map((e) => [e.path, e.state])).toEqual([
      ["lost.bin", "missing"],
    ]);
    await repo.close();
  });

  it("streams no byte of a read-only cache object that changed in place to the remote's key", async () => {
    const ws = new Workspace("push-corrupt");
    const repo = await ws.init();
    ws.write("model.bin", "weights");
    await repo.add(["model.bin"]);
    const object = join(ws.cache, ...objectKey(md5("weights")).split("/"));
    changeInPlace(object, "WEIGHTS");
    const result = await repo.push({ adapters });
    expect(result.transferred).toBe(0);
    expect(result.failed.map((f) => f.path)).toEqual(["model.bin"]);
    expect(result.failed[0]?.message).toContain(`not ${md5("weights")}`);
    expect(existsSync(join(ws.remoteDir, ...objectKey(md5("weights")).split("/")))).toBe(false);
    await repo.close();
  });

  it("checks a big object on a worker thread while an adapter that awaits the check sends it, which then drops a corrupt one", async () => {
    const ws = new Workspace("push-checked-big");
    const remote = new CheckedFolderRemote(ws.remoteDir);
    remotes.set(ws.remoteDir, remote);
    const repo = await ws.init();
    const weights = randomBytes(9 * 1024 * 1024);
    const tail = randomBytes(10);
    ws.write("model.bin", weights);
    ws.write("tail.bin", tail);
    await repo.add(["model.bin", "tail.bin"]);
    const object = join(ws.cache, ...objectKey(md5(weights)).split("/"));
    const changed = Buffer.from(weights);
    changed[changed.length - 1]! ^= 1; // its last byte: everything is sent before the check fails
    changeInPlace(object, changed);
    const result = await repo.push({ adapters });
    expect(result.transferred).toBe(1);
    expect(result.failed.map((f) => f.path)).toEqual(["model.bin"]);
    expect(result.failed[0]?.message).toContain(`hashes to ${md5(changed)}, not ${md5(weights)}`);
    expect(remote.checks).toEqual([true, true]);
    expect(existsSync(join(ws.remoteDir, ...objectKey(md5(weights)).split("/")))).toBe(false);
    expect(readFileSync(join(ws.remoteDir, ...objectKey(md5(tail)).split("/")))).toEqual(tail);
    await repo.close();
  });

  it("fetches into a fresh clone what its pointers use, then checks it out; pull does both", async () => {
    const ws = new Workspace("fetch-source");
    const repo = await ws.init();
    ws.write("model.bin", "weights");
    ws.write("data/a.txt", "alpha");
    ws.write("data/sub/b.txt", "beta");
    await repo.add(["model.bin", "data"]);
    await repo.push({ adapters });
    await repo.close();

    const { copy, repo: clone } = await ws.clone("fetch-clone");
    // Without the folder's listing in the cache, its files are not known yet.
    expect((await clone.status({ cloud: true, adapters })).map((e) => [e.path, e.state])).toEqual([
      ["data", "deleted"],
      ["model.bin", "deleted"],
    ]);
    expect(await clone.fetch({ adapters })).toEqual({ transferred: 4, skipped: 0, failed: [], missing: [] });
    expect(copy.exists("model.bin")).toBe(false);
    const checkedOut = await clone.checkout();
    expect(checkedOut.added.sort()).toEqual(["data", "model.bin"]);
    expect(copy.read("data/sub/b.txt")).toBe("beta");
    expect(await clone.fetch({ adapters })).toEqual({ transferred: 0, skipped: 3, failed: [], missing: [] });
    await clone.close();

    const { copy: other, repo: pulled } = await ws.clone("pull-clone");
    const result = await pulled.pull({ adapters });
    expect(result.fetched).toEqual({ transferred: 4, skipped: 0, failed: [], missing: [] });
    expect(result.checkout.added.sort()).toEqual(["data", "model.bin"]);
    expect(other.read("model.bin")).toBe("weights");
    await pulled.close();
  });

  it("never lets a corrupt object from the remote into the cache", async () => {
    const ws = new Workspace("corrupt");
    const repo = await ws.init();
    ws.write("model.bin", "weights");
    await repo.add(["model.bin"]);
    await repo.push({ adapters });
    await repo.close();
    writeFileSync(join(ws.remoteDir, ...objectKey(md5("weights")).split("/")), "tampered");

    const { copy, repo: clone } = await ws.clone("corrupt-clone");
    const fetched = await clone.fetch({ adapters });
    expect(fetched.transferred).toBe(0);
    expect(fetched.failed).toHaveLength(1);
    expect(fetched.failed[0]?.message).toMatch(/hashes to .*, not [0-9a-f]{32}: the object on the remote is corrupt/);
    expect(filesBelow(join(copy.dir, ".dvc", "cache")).filter((f) => f.startsWith("files/"))).toEqual([]);
    await clone.close();
  });

  it("reads many objects of a remote on this machine as files, off the main thread, keeping out corrupt and missing ones", async () => {
    const ws = new Workspace("local-files");
    const remote = new LocalFilesRemote(ws.remoteDir);
    remotes.set(ws.remoteDir, remote);
    const repo = await ws.init();
    for (let i = 0; i < 250; i++) ws.write(`images/${i % 5}/img${i}.txt`, `image ${i}`);
    const big = randomBytes(3 * 1024 * 1024 + 5); // read and written in several pieces
    writeFileSync(join(ws.dir, "images", "big.bin"), big);
    await repo.add(["images"]);
    expect((await repo.push({ adapters })).transferred).toBe(252);
    // Through the adapter: the smallest file alone first (a refusing storage says so at once), and
    // the folder's listing last; the 250 others were copied in place.
    expect(remote.writes).toHaveLength(2);
    const pushed = join(ws.remoteDir, ...objectKey(md5(big)).split("/"));
    expect(md5(readFileSync(pushed))).toBe(md5(big));
    expect(statSync(pushed).mode & 0o777).toBe(0o444);
    expect(filesBelow(ws.remoteDir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
    await repo.close();
    const remotePath = (text: string) => join(ws.remoteDir, ...objectKey(md5(text)).split("/"));
    writeFileSync(remotePath("image 7"), "tampered");
    rmSync(remotePath("image 8"));

    const { copy, repo: clone } = await ws.clone("local-files-clone");
    const fetched = await clone.fetch({ adapters });
    expect(fetched.transferred).toBe(1 + 249);
    expect(fetched.missing).toEqual(["images/3/img8.txt"]);
    expect(fetched.failed).toEqual([
      {
        path: "images/2/img7.txt",
        message: expect.stringMatching(/hashes to .*, not [0-9a-f]{32}: the object on the remote is corrupt/),
      },
    ]);
    // Only the folder's listing came through read(); every file was read in place.
    expect(remote.streamed).toEqual([objectKey(recordedHash(ws, "images.dvc"))]);
    const cached = filesBelow(join(copy.dir, ".dvc", "cache")).filter((f) => f.startsWith("files/"));
    expect(cached).toHaveLength(250);
    expect(md5(readFileSync(join(copy.dir, ".dvc", "cache", ...objectKey(md5(big)).split("/"))))).toBe(md5(big));
    expect(cached).not.toContain(objectKey(md5("image 7")));
    expect(cached).not.toContain(objectKey(md5("image 8")));
    const one = join(copy.dir, ".dvc", "cache", ...objectKey(md5("image 9")).split("/"));
    expect(readFileSync(one, "utf8")).toBe("image 9");
    expect(statSync(one).mode & 0o777).toBe(0o444);
    await clone.close();
  });

  it("copies many files in place to a remote on this machine, and never one whose bytes changed in the cache", async () => {
    const ws = new Workspace("local-files-push");
    remotes.set(ws.remoteDir, new LocalFilesRemote(ws.remoteDir));
    const repo = await ws.init();
    for (let i = 0; i < 220; i++) ws.write(`shots/${i % 4}/s${i}.txt`, `shot ${i}`);
    await repo.add(["shots"]);
    // An object changed in place, still read-only: only its hash tells.
    const changed = join(ws.cache, ...objectKey(md5("shot 5")).split("/"));
    changeInPlace(changed, "shot 5, edited in the cache");
    // Where a file goes: a killed push's temporary file (this machine, a process that is gone), and
    // another machine's, fresh: the first is swept, as the adapter would, the second kept.
    const folder = join(ws.remoteDir, ...objectKey(md5("shot 7")).split("/").slice(0, -1));
    mkdirSync(folder, { recursive: true });
    const killed = join(folder, `${remoteTempPrefix().replace(/^\.mlv-[0-9]+-/, ".mlv-4194303-")}0.tmp`);
    const elsewhere = join(folder, ".mlv-77-0badc0de-x-0.tmp");
    writeFileSync(killed, "half");
    writeFileSync(elsewhere, "in flight");
    const pushed = await repo.push({ adapters });
    expect(existsSync(killed)).toBe(false);
    expect(existsSync(elsewhere)).toBe(true);
    rmSync(elsewhere);
    expect(pushed.transferred).toBe(219);
    expect(pushed.failed).toEqual([
      {
        path: "shots/1/s5.txt",
        message: expect.stringMatching(/its bytes changed in the cache, so it was not uploaded/),
        hint: expect.stringMatching(/Add the file again/),
      },
      { path: "shots", message: expect.stringMatching(/listing \(\.dir\) was held back/) },
    ]);
    const onRemote = filesBelow(ws.remoteDir);
    expect(onRemote).not.toContain(objectKey(md5("shot 5")));
    expect(onRemote).toContain(objectKey(md5("shot 6")));
    expect(onRemote.filter((f) => f.endsWith(".tmp") || f.endsWith(".dir"))).toEqual([]);
    await repo.close();
  });
});

describe("checkout", () => {
  it("refuses to overwrite changes that are not in the cache unless forced", async () => {
    const ws = new Workspace("checkout-unsaved");
    const repo = await ws.init();
    ws.write("0-notes.txt", "recorded");
    await repo.add(["0-notes.txt"]);
    ws.write("0-notes.txt", "edited, never added");
    await expect(repo.checkout()).rejects.toMatchObject({ code: "EUNSAVED" });
    expect(ws.read("0-notes.txt")).toBe("edited, never added");
    expect(await repo.checkout({ force: true })).toMatchObject({ modified: ["0-notes.txt"], failed: [] });
    expect(ws.read("0-notes.txt")).toBe("recorded");
    await repo.close();
  });

  it("leaves outputs whose data is not in the cache as they are, and says so", async () => {
    const ws = new Workspace("checkout-missing");
    const repo = await ws.init();
    ws.write("model.bin", "weights");
    await repo.add(["model.bin"]);
    rmSync(ws.cache, { recursive: true, force: true });
    rmSync(join(ws.dir, "model.bin"));
    expect(await repo.checkout()).toEqual({ added: [], modified: [], failed: ["model.bin"], dirs: [] });
    expect(ws.exists("model.bin")).toBe(false);
    await repo.close();
  });
});

/**
 * A plain web server's view of a folder remote: exists and reads, no listing, no writes. Remotes
 * whose folder name ends in "-ro" are served this way, the others as the writable folder remote.
 */
const readOnlyAware: AdapterSources = {
  builtins: {
    local: async () => ({
      default: {
        ...folderAdapter,
        create(config: RemoteConfig): ReadableRemote {
          const folder = folderAdapter.create(config) as FolderRemote;
          if (config.url.endsWith("-refuses")) {
            // A server that takes uploads in principle and answers each with "read-only".
            folder.write = async (key) => {
              folder.writes.push(key);
              throw new RemoteError("EREADONLY", "the server does not accept uploads (HTTP 405)");
            };
            return folder;
          }
          if (!config.url.endsWith("-ro")) return folder;
          return {
            displayUrl: `https://example.org/${config.name}`,
            capabilities: {},
            exists: (k) => folder.exists(k),
            read: (k, r) => folder.read(k, r),
          };
        },
      },
    }),
  },
};

describe("read-only remotes", () => {
  /** A project with data pushed to `<name>-ro` through the writable view, then opened read-only. */
  const published = async (name: string) => {
    const ws = new Workspace(name, join(work, `${name}-ro`));
    const repo = await ws.init();
    ws.write("model.bin", "weights");
    ws.write("data/a.txt", "alpha");
    await repo.add(["model.bin", "data"]);
    await repo.push({ adapters });
    return { ws, repo };
  };

  it("answer status -c object by object, and fetch and pull from them", async () => {
    const { ws, repo } = await published("ro-pull");
    await repo.close();
    const { copy, repo: clone } = await ws.clone("ro-pull-clone");
    expect((await clone.status({ cloud: true, adapters: readOnlyAware })).map((e) => [e.path, e.state])).toEqual([
      ["data", "deleted"],
      ["model.bin", "deleted"],
    ]);
    const pulled = await clone.pull({ adapters: readOnlyAware });
    expect(pulled.fetched).toMatchObject({ transferred: 3, failed: [], missing: [] });
    expect(copy.read("data/a.txt")).toBe("alpha");
    expect(await clone.status({ cloud: true, adapters: readOnlyAware })).toEqual([]);
    await clone.close();
  });

  it("refuse push before anything moves, even to the writable remote of another output", async () => {
    const { ws, repo } = await published("ro-push");
    ws.write("model.bin", "weights, second version");
    ws.write("0-notes.txt", "notes");
    await repo.add(["model.bin", "0-notes.txt"]);
    // 0-notes.txt (listed first) goes to a writable remote of its own; model.bin to the read-only default.
    const writable = join(work, "ro-push-other");
    ws.write(".dvc/config", `${ws.read(".dvc/config")}['remote "other"']\n    url = ${writable}\n`);
    ws.write(
      "0-notes.txt.dvc",
      ws.read("0-notes.txt.dvc").replace("  path: 0-notes.txt", "  path: 0-notes.txt\n  remote: other"),
    );
    await repo.close();
    const reopened = await Repo.open(ws.dir);
    const before = filesBelow(ws.remoteDir);
    const refused = await reopened.push({ adapters: readOnlyAware }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: "EREADONLY" });
    expect(String(refused)).toMatch(/remote 'storage' \(https:\/\/example.org\/storage\) is read-only/);
    expect(filesBelow(ws.remoteDir)).toEqual(before);
    expect(filesBelow(writable)).toEqual([]);
    await reopened.close();
  });

  it("stop a push at the first upload the storage refuses as read-only", async () => {
    const ws = new Workspace("ro-refuses", join(work, "ro-refuses-refuses"));
    const repo = await ws.init();
    ws.write("big.bin", "x".repeat(5000));
    ws.write("data/a.txt", "alpha");
    ws.write("data/b.txt", "beta, a little longer");
    await repo.add(["big.bin", "data"]);
    await expect(repo.push({ adapters: readOnlyAware })).rejects.toThrow(/does not accept uploads/);
    // One small file was offered, alone; nothing else was tried.
    expect(ws.remote.writes).toEqual([objectKey(md5("alpha"))]);
    await repo.close();
  });

  it("refuse gc -c before deleting anything, in the cache or on the remote", async () => {
    const { ws, repo } = await published("ro-gc");
    ws.write("model.bin", "weights, second version");
    await repo.add(["model.bin"]);
    const cached = filesBelow(ws.cache);
    await expect(repo.gc({ cloud: true, adapters: readOnlyAware })).rejects.toMatchObject({ code: "EREADONLY" });
    expect(filesBelow(ws.cache)).toEqual(cached);
    await repo.close();
  });
});

describe("gc", () => {
  it("lists what it would remove with dry, then removes exactly that, listings first, from the cache and the remote", async () => {
    const ws = new Workspace("gc");
    const repo = await ws.init();
    ws.write("data/a.txt", "alpha");
    ws.write("data/b.txt", "beta");
    await repo.add(["data"]);
    const oldListing = recordedHash(ws, "data.dvc");
    await repo.push({ adapters });
    ws.write("data/b.txt", "beta, second version");
    await repo.add(["data"]);
    await repo.push({ adapters });
    const unused = [objectKey(oldListing), objectKey(md5("beta"))];

    const dry = await repo.gc({ cloud: true, dry: true, adapters });
    expect(dry).toEqual({
      removedLocal: 2,
      removedRemote: 2,
      wouldRemove: { local: unused, remote: unused },
      remote: "storage",
    });
    expect(filesBelow(ws.cache)).toContain(objectKey(md5("beta")));
    expect(ws.remote.deletes).toEqual([]);

    expect(await repo.gc({ cloud: true, adapters })).toEqual({ removedLocal: 2, removedRemote: 2, remote: "storage" });
    expect(ws.remote.deletes).toEqual(unused);
    for (const key of unused) {
      expect(filesBelow(ws.cache)).not.toContain(key);
      expect(filesBelow(ws.remoteDir)).not.toContain(key);
    }
    expect(filesBelow(ws.cache)).toContain(objectKey(md5("alpha")));
    expect(await repo.status()).toEqual([]);
    await repo.close();
  });

  it("refuses, deleting nothing, when a kept folder's listing is in neither the cache nor the remote", async () => {
    const ws = new Workspace("gc-refuses");
    const repo = await ws.init();
    ws.write("data/a.txt", "alpha");
    ws.write("other.bin", "unused soon");
    await repo.add(["data", "other.bin"]);
    rmSync(join(ws.dir, "other.bin.dvc"));
    rmSync(join(ws.cache, ...objectKey(recordedHash(ws, "data.dvc")).split("/")));
    const before = filesBelow(ws.cache);

    const err = await repo.gc({ adapters }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "EMISSINGDIR" });
    expect((err as Error).message).toMatch(/^gc stopped before deleting anything: .*\n\tdata \([0-9a-f]{32}\.dir\)$/);
    expect((err as MlvError).hint).toMatch(/^Fetch them first/);
    expect(filesBelow(ws.cache)).toEqual(before);
    await repo.close();
  });

  it("fetches a kept folder's missing listing from the remote, then collects", async () => {
    const ws = new Workspace("gc-fetches-listing");
    const repo = await ws.init();
    ws.write("data/a.txt", "alpha");
    ws.write("other.bin", "unused soon");
    await repo.add(["data", "other.bin"]);
    await repo.push({ adapters });
    rmSync(join(ws.dir, "other.bin.dvc"));
    const listing = objectKey(recordedHash(ws, "data.dvc"));
    rmSync(join(ws.cache, ...listing.split("/")));

    expect(await repo.gc({ adapters })).toEqual({ removedLocal: 1, removedRemote: 0 });
    expect(filesBelow(ws.cache)).toEqual([listing, objectKey(md5("alpha"))].sort());
    await repo.close();
  });
});

describe("revisions", () => {
  const git = (dir: string, ...args: string[]) =>
    execFileSync("git", ["-c", "commit.gpgsign=false", ...args], {
      cwd: dir,
      env: {
        ...process.env,
        HOME: work,
        GIT_CONFIG_NOSYSTEM: "1",
        GIT_CONFIG_GLOBAL: "/dev/null",
        GIT_AUTHOR_NAME: "Ada Lovelace",
        GIT_AUTHOR_EMAIL: "ada@example.com",
        GIT_COMMITTER_NAME: "Ada Lovelace",
        GIT_COMMITTER_EMAIL: "ada@example.com",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });

  it("keeps the versions of the chosen commits through gc, and pushes them", async () => {
    const dir = join(work, "history");
    const remoteDir = join(work, "history-remote");
    mkdirSync(dir, { recursive: true });
    git(dir, "init", "-q", "-b", "main");
    await Repo.init(dir);
    writeFileSync(
      join(dir, ".dvc", "config"),
      `[core]\n    remote = storage\n['remote "storage"']\n    url = ${remoteDir}\n`,
    );
    let repo = await Repo.open(dir);
    writeFileSync(join(dir, "model.bin"), "version one");
    await repo.add(["model.bin"]);
    git(dir, "add", "-A");
    git(dir, "commit", "-q", "-m", "one");
    writeFileSync(join(dir, "model.bin"), "version two");
    await repo.add(["model.bin"]);
    git(dir, "commit", "-q", "-am", "two");
    await repo.close();
    repo = await Repo.open(dir);

    expect(await repo.gc({ allCommits: true, adapters })).toEqual({ removedLocal: 0, removedRemote: 0 });
    expect(await repo.push({ allCommits: true, adapters })).toMatchObject({ transferred: 2, failed: [] });
    expect(await repo.gc({ adapters })).toEqual({ removedLocal: 1, removedRemote: 0 });
    expect(filesBelow(join(dir, ".dvc", "cache"))).not.toContain(objectKey(md5("version one")));
    expect(await repo.fetch({ revs: ["HEAD~1"], adapters })).toMatchObject({ transferred: 1, failed: [] });
    expect(filesBelow(join(dir, ".dvc", "cache"))).toContain(objectKey(md5("version one")));
    await repo.close();
  });
});
