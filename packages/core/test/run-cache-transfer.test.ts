/**
 * Moving the run cache (`push/fetch --run-cache`) with remotes the CLI cannot make: one that hands
 * over hostile names (`..` segments, which no folder can hold) and one that cannot list at all, as
 * a plain HTTP server. What DVC itself does with them is checked by the CLI's tests.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { MlvError, ObjectNotFoundError } from "../src/errors.js";
import { Project } from "../src/project/project.js";
import type { Remote, RemoteCapabilities } from "../src/remote.js";
import { fetchRunCache, parseRunCacheKey, pushRunCache } from "../src/transfer/run-cache.js";
import { workFolder } from "./work-folder.js";

const work = workFolder("mlv-run-cache-");

/** An entry DVC 3.64 wrote for `cp foo bar` with foo = "baz\n", under its own key and value. */
const KEY = "aac099cc86872ac784d7736086d116f4d889e5801457d2fde7631b4dc8c2babe";
const VALUE = "b1390fa771551d8d2478f39f3199caa879bccad2cad16cb73094313118b043b8";
const ENTRY_KEY = `runs/aa/${KEY}/${VALUE}`;
const ENTRY =
  "cmd: cp foo bar\ndeps:\n- path: foo\n  hash: md5\n  md5: 258622b1688250cb619f3c9ccaefb7eb\n  size: 4\n" +
  "outs:\n- path: bar\n  hash: md5\n  md5: 258622b1688250cb619f3c9ccaefb7eb\n  size: 4\n";

/** Objects in a Map, listed as stored: any key a hostile server might send. */
class MapRemote implements Remote {
  readonly displayUrl = "mem://runs";
  readonly capabilities: RemoteCapabilities = { traverse: true };
  readonly objects = new Map<string, Buffer>();
  readonly reads: string[] = [];
  readonly writes: string[] = [];

  constructor(readonly canList = true) {}

  async exists(key: string): Promise<boolean> {
    return this.objects.has(key);
  }
  async *list(prefix: string): AsyncIterable<string> {
    if (!this.canList) throw new MlvError("EUNSUPPORTED", `${this.displayUrl} cannot list its objects`);
    for (const key of this.objects.keys()) if (key.startsWith(prefix)) yield key;
  }
  async read(key: string): Promise<Readable> {
    this.reads.push(key);
    const data = this.objects.get(key);
    if (data === undefined) throw new ObjectNotFoundError(this.displayUrl, key);
    return Readable.from([data]);
  }
  async write(key: string, body: Readable): Promise<void> {
    this.writes.push(key);
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk as Buffer);
    this.objects.set(key, Buffer.concat(chunks));
  }
  async delete(key: string): Promise<void> {
    this.objects.delete(key);
  }
}

let projects = 0;
async function project(): Promise<Project> {
  const dir = join(work, `p${projects++}`);
  mkdirSync(dir, { recursive: true });
  return Project.init(dir, { noScm: true });
}

/** Every file below `dir`, relative to it. */
function filesBelow(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as import("node:fs").Dirent[])
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

describe("run-cache entry names", () => {
  it("only runs/<key[0:2]>/<key>/<value> with 64 lowercase hex digits each is an entry", () => {
    expect(parseRunCacheKey(ENTRY_KEY)).toEqual({ key: KEY, value: VALUE });
    for (const bad of [
      `runs/ab/${KEY}/${VALUE}`, // the shard is not the key's first two digits
      `runs/AA/${KEY.toUpperCase()}/${VALUE}`,
      `runs/aa/${KEY}/${VALUE}/x`,
      `runs/aa/${KEY}/${VALUE.slice(1)}`,
      `runs/aa/${KEY}/..`,
      `runs/aa/../../${VALUE}`,
      `files/md5/aa/${KEY}/${VALUE}`,
      `/runs/aa/${KEY}/${VALUE}`,
    ])
      expect(parseRunCacheKey(bad), bad).toBeUndefined();
  });
});

describe("fetch --run-cache from a hostile remote", () => {
  it("writes the good entry only; names that would leave runs/ and content that is no lock entry are refused", async () => {
    const repo = await project();
    const remote = new MapRemote();
    const otherKey = "ab".padEnd(64, "0");
    const otherValue = "cd".padEnd(64, "1");
    const hostile = [
      "runs/../../../../escaped",
      `runs/aa/${KEY}/../../../../../escaped`,
      `runs/aa/../../${VALUE}`,
      `runs/zz/notakey/${VALUE}`,
    ];
    remote.objects.set(ENTRY_KEY, Buffer.from(ENTRY));
    for (const key of hostile) remote.objects.set(key, Buffer.from(ENTRY));
    remote.objects.set(`runs/ab/${otherKey}/${otherValue}`, Buffer.from("just: text\n"));

    const before = filesBelow(work);
    const result = await fetchRunCache(repo, remote);

    expect(result.transferred).toBe(1);
    expect(result.failed).toEqual([]);
    expect(result.refused.map((r) => r.path).sort()).toEqual([...hostile, `runs/ab/${otherKey}/${otherValue}`].sort());
    for (const r of result.refused) expect(r.reason).toContain("delete it from the remote");
    // The names refused were never even read.
    expect(remote.reads.sort()).toEqual([ENTRY_KEY, `runs/ab/${otherKey}/${otherValue}`].sort());
    // One file more anywhere around: the entry, in its place.
    const entryFile = join(repo.cache.root, ENTRY_KEY).slice(work.length + 1);
    expect(filesBelow(work)).toEqual([...before, entryFile].sort());
    expect(readFileSync(join(repo.cache.root, ENTRY_KEY), "utf8")).toBe(ENTRY);
  });

  it("an entry already in the cache is not downloaded again", async () => {
    const repo = await project();
    const file = join(repo.cache.root, ENTRY_KEY);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, ENTRY);
    const remote = new MapRemote();
    remote.objects.set(ENTRY_KEY, Buffer.from(ENTRY));
    const result = await fetchRunCache(repo, remote);
    expect({ transferred: result.transferred, skipped: result.skipped }).toEqual({ transferred: 0, skipped: 1 });
    expect(remote.reads).toEqual([]);
  });
});

describe("push --run-cache", () => {
  it("sends the entries the remote lacks, and keeps a file that is no lock entry at home", async () => {
    const repo = await project();
    const junkKey = `runs/ab/${"ab".padEnd(64, "0")}/${"cd".padEnd(64, "1")}`;
    for (const [key, text] of [
      [ENTRY_KEY, ENTRY],
      [junkKey, "not: [an, entry]\n"],
    ] as const) {
      mkdirSync(dirname(join(repo.cache.root, key)), { recursive: true });
      writeFileSync(join(repo.cache.root, key), text);
    }
    const remote = new MapRemote();
    const first = await pushRunCache(repo, remote);
    expect(first.transferred).toBe(1);
    expect(first.refused.map((r) => r.path)).toEqual([`.dvc/cache/${junkKey}`]);
    expect([...remote.objects.keys()]).toEqual([ENTRY_KEY]);
    expect(remote.objects.get(ENTRY_KEY)?.toString()).toBe(ENTRY);

    const again = await pushRunCache(repo, remote);
    expect({ transferred: again.transferred, skipped: again.skipped }).toEqual({ transferred: 0, skipped: 1 });
    expect(remote.writes).toEqual([ENTRY_KEY]);
  });
});

describe("a remote that cannot list (HTTP)", () => {
  it("moves no run cache either way and says why in the result, as DVC skips it", async () => {
    const repo = await project();
    mkdirSync(dirname(join(repo.cache.root, ENTRY_KEY)), { recursive: true });
    writeFileSync(join(repo.cache.root, ENTRY_KEY), ENTRY);
    const remote = new MapRemote(false);
    const pushed = await pushRunCache(repo, remote);
    expect(pushed).toMatchObject({ transferred: 0, failed: [], refused: [], unsupported: true });
    expect(remote.writes).toEqual([]);

    const other = await project();
    const fetched = await fetchRunCache(other, remote);
    expect(fetched).toMatchObject({ transferred: 0, failed: [], refused: [], unsupported: true });
    expect(existsSync(join(other.cache.root, "runs"))).toBe(false);
  });
});
