/**
 * `@mlv/testkit`: the conformance suite every mlv storage adapter runs, ours and third parties'.
 *
 * ```ts
 * import { describeRemoteConformance } from "@mlv/testkit";
 * import adapter from "mlv-remote-foo";
 *
 * describeRemoteConformance("foo", {
 *   create: async () => {
 *     const bucket = await makeEmptyBucket();
 *     return { remote: await adapter.create({ name: "t", url: `foo://${bucket}`, options: {} }), cleanup: () => dropBucket(bucket) };
 *   },
 * });
 * ```
 *
 * It checks every documented semantic of `Remote` (see `@mlv/core`'s remote.ts) with vitest's
 * `describe`/`it`/`expect`, so it must be imported from a vitest test file.
 * `describeLargeObjectRoundTrip` adds a 200 MiB round trip through writeFile/readFile with a
 * memory check, for adapters whose objects can be that large.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { type ByteRange, ObjectNotFoundError, type Remote } from "@mlv/core";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, type TestContext } from "vitest";

export {
  describeLargeObjectRoundTrip,
  type LargeObjectOptions,
  pseudoRandomBlocks,
  type UploadedObject,
} from "./large.js";

export interface CreatedRemote {
  /** A client for an empty remote (or an empty area of one, see `isolation`). */
  remote: Remote;
  /** Removes what create() made (bucket, folder, server state). Called after remote.close(). */
  cleanup?: () => Promise<void> | void;
}

export interface ConformanceOptions {
  /** Create a client for a fresh, empty remote. */
  create: () => Promise<CreatedRemote> | CreatedRemote;
  /**
   * `"test"` (default): create() runs before every test, so each test starts with an empty remote.
   * `"suite"`: create() runs once; each test then works below its own random key prefix and
   * deletes its keys afterwards (use it when creating a remote is slow or costs money).
   */
  isolation?: "test" | "suite";
  /** Size of the big object streamed through write/read. Default 17 MiB + 3 bytes (crosses 5, 8 and 16 MiB). */
  largeObjectBytes?: number;
  /** How many keys the listing test writes (more than one page of 1000). Default 1,100. */
  manyKeys?: number;
  /** Parallel writes in the listing test. Default: the adapter's `defaultJobs`, at most 32, else 8. */
  jobs?: number;
  /** Timeout of each test and hook, in ms. Default 60,000. */
  timeoutMs?: number;
  /**
   * For adapters whose URL can carry a password (`sftp://user:secret@host/…`, `https://…`): a
   * remote created from such a URL, and the password, which its displayUrl must not show.
   */
  withPassword?: { create: () => Promise<CreatedRemote> | CreatedRemote; password: string };
}

const KiB = 1024;
const MiB = 1024 * KiB;

/** Sizes around the chunk sizes of streams, file systems, HTTP bodies and SDK buffers. */
const BOUNDARY_SIZES = [
  1,
  2,
  255,
  256,
  257,
  4 * KiB - 1,
  4 * KiB,
  4 * KiB + 1,
  16 * KiB - 1,
  16 * KiB,
  16 * KiB + 1,
  64 * KiB - 1,
  64 * KiB,
  64 * KiB + 1,
  MiB - 1,
  MiB,
  MiB + 1,
];

/** Ways of cutting a body into stream chunks: one piece, tiny pieces, odd pieces. */
const CHUNKINGS: number[][] = [[Number.POSITIVE_INFINITY], [1, 7, 1000], [4093, 65_537, 300_000]];

/** Register the conformance tests for one adapter in the current vitest file. */
export function describeRemoteConformance(name: string, options: ConformanceOptions): void {
  const isolation = options.isolation ?? "test";
  const timeout = options.timeoutMs ?? 60_000;
  const largeBytes = options.largeObjectBytes ?? 17 * MiB + 3;
  const manyKeys = options.manyKeys ?? 1100;

  describe(`${name}: Remote conformance`, () => {
    let created: CreatedRemote | undefined;
    let remote: Remote;
    /** Every key a test uses goes through k(): "" in "test" isolation, a per-test folder in "suite". */
    let ns = "";
    const k = (key: string) => ns + key;
    const runId = randomBytes(4).toString("hex");
    let testNo = 0;
    let localDir = "";

    const open = async () => {
      created = await options.create();
      remote = created.remote;
    };
    const shut = async () => {
      const done = created;
      created = undefined;
      if (done === undefined) return;
      try {
        await done.remote.close?.();
      } finally {
        await done.cleanup?.();
      }
    };

    beforeAll(async () => {
      localDir = await mkdtemp(join(tmpdir(), "mlv-testkit-"));
      if (isolation === "suite") await open();
    }, timeout);
    afterAll(async () => {
      if (isolation === "suite") await shut();
      await rm(localDir, { recursive: true, force: true });
    }, timeout);
    beforeEach(async () => {
      testNo += 1;
      if (isolation === "suite") ns = `mlv-conformance-${runId}/t${testNo}/`;
      else await open();
    }, timeout);
    afterEach(async () => {
      if (isolation === "test") return shut();
      const keys = await collect(remote.list(ns));
      await pool(keys, 16, (key) => remote.delete(key));
    }, timeout);

    const test = (title: string, fn: (ctx: TestContext) => Promise<void>) => it(title, fn, timeout);

    test("announces a displayUrl and consistent capabilities", async () => {
      expect(typeof remote.displayUrl).toBe("string");
      expect(remote.displayUrl.length).toBeGreaterThan(0);
      const caps = remote.capabilities;
      expect(typeof caps).toBe("object");
      if (caps.writeFile) expect(typeof remote.writeFile).toBe("function");
      if (caps.readFile) expect(typeof remote.readFile).toBe("function");
      if (caps.rangedRead !== undefined) expect(typeof caps.rangedRead).toBe("boolean");
      if (caps.defaultJobs !== undefined) {
        expect(Number.isInteger(caps.defaultJobs)).toBe(true);
        expect(caps.defaultJobs).toBeGreaterThan(0);
      }
    });

    describe("write, then read", () => {
      test("an empty object", async () => {
        await remote.write(k("files/md5/d4/1d8cd98f00b204e9800998ecf8427e"), bodyOf(Buffer.alloc(0)), 0);
        expectSameBytes(await readAll(remote, k("files/md5/d4/1d8cd98f00b204e9800998ecf8427e")), Buffer.alloc(0));
      });

      test("a small object", async () => {
        const data = Buffer.from("hello mlv\n");
        const key = k(oidKey());
        await remote.write(key, bodyOf(data), data.length);
        expectSameBytes(await readAll(remote, key), data);
      });

      test("binary data with all 256 byte values", async () => {
        const up = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
        const data = Buffer.concat([up, Buffer.from(up).reverse(), Buffer.from("\r\n\n\r\0")]);
        const key = k(oidKey());
        await remote.write(key, bodyOf(data, [1, 3, 64]), data.length);
        expectSameBytes(await readAll(remote, key), data);
      });

      test("objects whose sizes cross common chunk boundaries, with and without a size hint", async () => {
        for (const [i, size] of BOUNDARY_SIZES.entries()) {
          const data = randomBytes(size);
          const key = k(oidKey());
          const chunking = CHUNKINGS[i % CHUNKINGS.length];
          await remote.write(key, bodyOf(data, chunking), i % 2 === 0 ? size : undefined);
          expectSameBytes(await readAll(remote, key), data, `object of ${size} bytes`);
        }
      });

      test(`a ${(largeBytes / MiB).toFixed(1)} MiB object, streamed both ways without holding it whole`, async () => {
        const key = k(oidKey());
        const sent = generated(largeBytes);
        await remote.write(key, sent.stream, largeBytes);
        const got = await digestOf(await remote.read(key));
        expect(got.bytes).toBe(largeBytes);
        expect(got.md5).toBe(sent.md5());
      });

      test("a read stream can be abandoned early, and the object replaced after it", async () => {
        const key = k(oidKey());
        await remote.write(key, bodyOf(randomBytes(2 * MiB)), 2 * MiB);
        const stream = await remote.read(key);
        await new Promise<void>((ok, fail) => {
          stream.once("data", () => ok());
          stream.once("error", fail);
        });
        stream.destroy();
        const next = Buffer.from("replaced");
        await remote.write(key, bodyOf(next), next.length);
        expectSameBytes(await readAll(remote, key), next);
      });

      test("write replaces an existing object, with a longer one and then a shorter one", async () => {
        const key = k(oidKey());
        for (const text of ["first", "a much longer second version", "3rd"]) {
          await remote.write(key, bodyOf(Buffer.from(text)), text.length);
          expect((await readAll(remote, key)).toString()).toBe(text);
        }
        expect(await collect(remote.list(key))).toEqual([key]);
      });

      test("a write whose body fails midway leaves no object", async () => {
        const key = k("files/md5/ab/0123456789abcdef0123456789abcd");
        await expect(remote.write(key, failingBody(300 * KiB), 600 * KiB)).rejects.toThrow();
        expect(await remote.exists(key)).toBe(false);
        await expectNotFound(remote.read(key), key);
        expect(await collect(remote.list(k("")))).toEqual([]);
        // Nothing was left locked or half-created: the key can be written now.
        await remote.write(key, bodyOf(Buffer.from("ok")), 2);
        expect((await readAll(remote, key)).toString()).toBe("ok");
      });

      test("a write whose body fails midway leaves the previous object intact", async () => {
        const key = k(oidKey());
        const old = randomBytes(100 * KiB);
        await remote.write(key, bodyOf(old), old.length);
        await expect(remote.write(key, failingBody(300 * KiB), 600 * KiB)).rejects.toThrow();
        expectSameBytes(await readAll(remote, key), old);
        expect(await collect(remote.list(k("")))).toEqual([key]);
      });

      test("a write in progress is not visible until it completes", async () => {
        const key = k(oidKey());
        const first = randomBytes(256 * KiB);
        const second = randomBytes(256 * KiB);
        const half = signal();
        const gate = signal();
        const body = Readable.from(
          (async function* () {
            for (let at = 0; at < first.length; at += 64 * KiB) yield first.subarray(at, at + 64 * KiB);
            half.fire();
            await gate.fired;
            yield second;
          })(),
          { objectMode: false },
        );
        const writing = remote.write(key, body, first.length + second.length);
        writing.catch(() => {}); // awaited below; avoid an unhandled rejection while we look
        await half.fired;
        try {
          expect(await remote.exists(key)).toBe(false);
          expect(await collect(remote.list(k("")))).toEqual([]);
          await expectNotFound(remote.read(key), key);
        } finally {
          gate.fire();
        }
        await writing;
        expectSameBytes(await readAll(remote, key), Buffer.concat([first, second]));
      });

      test("concurrent writes of different keys all land", async () => {
        const objects = Array.from({ length: 48 }, (_, i) => ({
          // Several keys share a folder, several are first in theirs.
          key: k(`files/md5/${(i % 6).toString(16).padStart(2, "0")}/${i.toString(16).padStart(30, "0")}`),
          data: randomBytes(i * 997),
        }));
        await Promise.all(objects.map((o) => remote.write(o.key, bodyOf(o.data, [4096]), o.data.length)));
        for (const o of objects) expectSameBytes(await readAll(remote, o.key), o.data, o.key);
        expect(sorted(await collect(remote.list(k(""))))).toEqual(sorted(objects.map((o) => o.key)));
      });

      test("concurrent writes of one key leave one of them, whole", async () => {
        const key = k(oidKey());
        const a = randomBytes(300 * KiB);
        const b = randomBytes(200 * KiB);
        await Promise.all([
          remote.write(key, bodyOf(a, [10_000]), a.length),
          remote.write(key, bodyOf(b, [10_000]), b.length),
        ]);
        const got = await readAll(remote, key);
        expect(got.equals(a) || got.equals(b)).toBe(true);
      });
    });

    describe("exists", () => {
      test("is true for an object and false for a missing key", async () => {
        const key = k(oidKey());
        expect(await remote.exists(key)).toBe(false);
        await remote.write(key, bodyOf(Buffer.from("x")), 1);
        expect(await remote.exists(key)).toBe(true);
        expect(await remote.exists(k("files/md5/ff/ffffffffffffffffffffffffffffff"))).toBe(false);
        expect(await remote.exists(k("never/created/folder/key"))).toBe(false);
      });

      test("is false for a folder or a partial name", async () => {
        await remote.write(k("files/md5/ab/cdef"), bodyOf(Buffer.from("x")), 1);
        expect(await remote.exists(k("files/md5/ab"))).toBe(false);
        expect(await remote.exists(k("files/md5"))).toBe(false);
        expect(await remote.exists(k("files/md5/ab/cde"))).toBe(false);
        expect(await remote.exists(k("files/md5/ab/cdef.dir"))).toBe(false);
      });
    });

    describe("read", () => {
      test("of a missing key throws ObjectNotFoundError", async () => {
        await expectNotFound(remote.read(k("files/md5/00/000000000000000000000000000000")), "a missing key");
      });

      test("of a folder or a partial name throws ObjectNotFoundError", async () => {
        await remote.write(k("files/md5/ab/cdef"), bodyOf(Buffer.from("x")), 1);
        await expectNotFound(remote.read(k("files/md5/ab")), "a folder");
        await expectNotFound(remote.read(k("files/md5/ab/cde")), "a partial name");
      });
    });

    describe("delete", () => {
      test("removes the object and leaves its neighbours", async () => {
        const keys = ["files/md5/ab/cdef", "files/md5/ab/cdef.dir", "files/md5/ab/cdefg", "ab/cdef"].map(k);
        for (const key of keys) await remote.write(key, bodyOf(Buffer.from(key)), Buffer.byteLength(key));
        await remote.delete(k("files/md5/ab/cdef"));
        expect(await remote.exists(k("files/md5/ab/cdef"))).toBe(false);
        await expectNotFound(remote.read(k("files/md5/ab/cdef")), "a deleted key");
        expect(sorted(await collect(remote.list(k(""))))).toEqual(sorted(keys.slice(1)));
        for (const key of keys.slice(1)) expect((await readAll(remote, key)).toString()).toBe(key);
      });

      test("is idempotent", async () => {
        const key = k(oidKey());
        await remote.write(key, bodyOf(Buffer.from("x")), 1);
        await remote.delete(key);
        await remote.delete(key);
        await remote.delete(k("files/md5/ee/eeeeeeeeeeeeeeeeeeeeeeeeeeeeee"));
        await remote.delete(k("never/created/folder/key"));
        expect(await remote.exists(key)).toBe(false);
      });
    });

    describe("list", () => {
      test("of an empty remote yields nothing", async () => {
        expect(await collect(remote.list(k("")))).toEqual([]);
        expect(await collect(remote.list(k("files/md5/")))).toEqual([]);
        expect(await collect(remote.list(k("files/md5/a")))).toEqual([]);
      });

      test("returns exactly the keys that start with the prefix", async () => {
        const keys = [
          "files/md5/ab/cdef",
          "files/md5/ab/cdef.dir",
          "files/md5/ab/cdeg",
          "files/md5/ac/0123",
          "files/md5/ba/9999",
          "files/md5x/ab/1111",
          "ab/cdef", // the legacy (DVC 2.x) layout, at the root
          "ab/1234",
          "abc/5678",
          "runs/ab/cd/ef",
        ];
        for (const key of keys) await remote.write(k(key), bodyOf(Buffer.from(key)), key.length);
        const expectList = async (prefix: string, want: string[]) => {
          const got = await collect(remote.list(k(prefix)));
          expect(sorted(got), `list('${prefix}')`).toEqual(sorted(want.map(k)));
        };
        await expectList("", keys);
        await expectList("files/", keys.slice(0, 6));
        await expectList("files/md5/", keys.slice(0, 5));
        await expectList("files/md5", keys.slice(0, 6));
        await expectList("files/md5/a", keys.slice(0, 4));
        await expectList("files/md5/ab/", keys.slice(0, 3));
        await expectList("files/md5/ab/cde", keys.slice(0, 3));
        await expectList("files/md5/ab/cdef", ["files/md5/ab/cdef", "files/md5/ab/cdef.dir"]);
        await expectList("files/md5/ab/cdef.dir", ["files/md5/ab/cdef.dir"]);
        await expectList("ab/", ["ab/cdef", "ab/1234"]);
        await expectList("ab", ["ab/cdef", "ab/1234", "abc/5678"]);
        await expectList("a", ["ab/cdef", "ab/1234", "abc/5678"]);
        await expectList("files/md5/zz", []);
        await expectList("files/md5/ab/cdef.dirx", []);
        await expectList("nothing/here/", []);
      });

      test(`pages through ${manyKeys} keys`, async () => {
        const inFirst = Math.min(manyKeys, 1010);
        const keys = Array.from({ length: manyKeys }, (_, i) =>
          k(`files/md5/${i < inFirst ? "ab" : "cd"}/${i.toString(16).padStart(30, "0")}`),
        );
        const jobs = options.jobs ?? Math.min(remote.capabilities.defaultJobs ?? 8, 32);
        await pool(keys, jobs, (key) => remote.write(key, bodyOf(Buffer.from("x")), 1));
        const all = await collect(remote.list(k("files/md5/")));
        expect(all.length).toBe(manyKeys);
        expect(sorted(all)).toEqual(sorted(keys));
        expect((await collect(remote.list(k("files/md5/ab/")))).length).toBe(inFirst);
        expect(sorted(await collect(remote.list(k("files/md5/c"))))).toEqual(sorted(keys.slice(inFirst)));
      });

      test("can be stopped early", async () => {
        const keys = Array.from({ length: 5 }, () => k(oidKey()));
        for (const key of keys) await remote.write(key, bodyOf(Buffer.from("x")), 1);
        let seen = 0;
        for await (const _ of remote.list(k(""))) {
          seen += 1;
          if (seen === 2) break;
        }
        expect(seen).toBe(2);
        expect((await collect(remote.list(k("")))).length).toBe(5);
      });
    });

    describe("writeFile and readFile (when announced)", () => {
      const needs = (ctx: TestContext, cap: "writeFile" | "readFile") => {
        if (!remote.capabilities[cap]) ctx.skip(`${name} does not announce ${cap}`);
      };

      test("writeFile uploads local files, replacing an existing object", async (ctx) => {
        needs(ctx, "writeFile");
        const key = k(oidKey());
        for (const size of [0, 1, 3 * MiB + 1, 10]) {
          const data = randomBytes(size);
          const file = join(localDir, `up-${size}`);
          await writeFile(file, data);
          await remote.writeFile!(key, file, size);
          expectSameBytes(await readAll(remote, key), data, `file of ${size} bytes`);
          expectSameBytes(await readFile(file), data, "the local file is left as it was");
        }
      });

      test("writeFile of a missing local file fails and leaves the old object", async (ctx) => {
        needs(ctx, "writeFile");
        const fresh = k(oidKey());
        const existing = k(oidKey());
        await remote.write(existing, bodyOf(Buffer.from("old")), 3);
        const missing = join(localDir, "does-not-exist");
        await expect(remote.writeFile!(fresh, missing, 10)).rejects.toThrow();
        await expect(remote.writeFile!(existing, missing, 10)).rejects.toThrow();
        expect(await remote.exists(fresh)).toBe(false);
        expect((await readAll(remote, existing)).toString()).toBe("old");
        expect(await collect(remote.list(k("")))).toEqual([existing]);
      });

      test("readFile downloads into a new file, and replaces an existing one", async (ctx) => {
        needs(ctx, "readFile");
        const key = k(oidKey());
        const data = randomBytes(3 * MiB + 1);
        await remote.write(key, bodyOf(data), data.length);
        const target = join(localDir, `down-${randomBytes(4).toString("hex")}`);
        await remote.readFile!(key, target);
        expectSameBytes(await readFile(target), data);
        const small = Buffer.from("shorter than what was there");
        await remote.write(key, bodyOf(small), small.length);
        await remote.readFile!(key, target); // over the file of the first download
        expectSameBytes(await readFile(target), small);
        const longer = join(localDir, `down-${randomBytes(4).toString("hex")}`);
        await writeFile(longer, randomBytes(64 * KiB));
        await remote.readFile!(key, longer); // over a longer file: truncated
        expect((await stat(longer)).size).toBe(small.length);
        expectSameBytes(await readFile(longer), small);
      });

      test("readFile of a missing key throws ObjectNotFoundError", async (ctx) => {
        needs(ctx, "readFile");
        const target = join(localDir, `missing-${randomBytes(4).toString("hex")}`);
        await expectNotFound(remote.readFile!(k("files/md5/00/111111111111111111111111111111"), target), "readFile");
      });
    });

    describe("ranged reads (when announced)", () => {
      const needsRanges = (ctx: TestContext) => {
        if (!remote.capabilities.rangedRead) ctx.skip(`${name} does not announce rangedRead`);
      };
      /** Odd-sized, so that no range lines up with a power of two by chance. */
      const size = 300 * KiB + 7;

      test("return the asked part: from the start, in the middle, to the end", async (ctx) => {
        needsRanges(ctx);
        const key = k(oidKey());
        const data = randomBytes(size);
        await remote.write(key, bodyOf(data), size);
        const cases: [ByteRange, number, number][] = [
          [{ offset: 0, length: 1 }, 0, 1],
          [{ offset: 0, length: 64 * KiB }, 0, 64 * KiB],
          [{ offset: 0, length: size }, 0, size],
          [{ offset: 0 }, 0, size],
          [{ offset: 100_000, length: 70_001 }, 100_000, 170_001],
          [{ offset: 8 * KiB + 3, length: 1 }, 8 * KiB + 3, 8 * KiB + 4],
          [{ offset: 123_457 }, 123_457, size],
          [{ offset: size - 1 }, size - 1, size],
          [{ offset: size - 1, length: 1 }, size - 1, size],
        ];
        for (const [range, from, to] of cases) {
          expectSameBytes(await readAll(remote, key, range), data.subarray(from, to), describeRange(range));
        }
      });

      test("a length running past the end gives only the bytes that exist", async (ctx) => {
        needsRanges(ctx);
        const key = k(oidKey());
        const data = randomBytes(size);
        await remote.write(key, bodyOf(data), size);
        for (const range of [
          { offset: 0, length: size + 1 },
          { offset: size - 10, length: 100 },
          { offset: 200_000, length: 10 * size },
        ]) {
          expectSameBytes(await readAll(remote, key, range), data.subarray(range.offset), describeRange(range));
        }
      });

      test("a range starting at or past the end, or of length 0, is an empty stream", async (ctx) => {
        needsRanges(ctx);
        const key = k(oidKey());
        const data = randomBytes(size);
        await remote.write(key, bodyOf(data), size);
        for (const range of [
          { offset: size },
          { offset: size, length: 10 },
          { offset: size + 1 },
          { offset: size + 1000, length: 5 },
          { offset: 10 * size },
          { offset: 0, length: 0 },
          { offset: 1000, length: 0 },
        ]) {
          expectSameBytes(await readAll(remote, key, range), Buffer.alloc(0), describeRange(range));
        }
      });

      test("of an empty object are empty streams", async (ctx) => {
        needsRanges(ctx);
        const key = k(oidKey());
        await remote.write(key, bodyOf(Buffer.alloc(0)), 0);
        for (const range of [{ offset: 0 }, { offset: 0, length: 10 }, { offset: 1 }, { offset: 5, length: 5 }]) {
          expectSameBytes(await readAll(remote, key, range), Buffer.alloc(0), describeRange(range));
        }
      });

      test("several ranges read at once put the object back together", async (ctx) => {
        needsRanges(ctx);
        const key = k(oidKey());
        const data = randomBytes(size);
        await remote.write(key, bodyOf(data), size);
        const piece = 64 * KiB;
        const offsets = Array.from({ length: Math.ceil(size / piece) }, (_, i) => i * piece);
        const pieces = await Promise.all(offsets.map((offset) => readAll(remote, key, { offset, length: piece })));
        expectSameBytes(Buffer.concat(pieces), data);
      });

      test("of a missing key, a folder or a partial name throw ObjectNotFoundError", async (ctx) => {
        needsRanges(ctx);
        const missing = k("files/md5/00/000000000000000000000000000000");
        for (const range of [{ offset: 0 }, { offset: 0, length: 10 }, { offset: 5 }, { offset: 1000, length: 1 }]) {
          await expectNotFound(remote.read(missing, range), `a missing key, ${describeRange(range)}`);
        }
        await remote.write(k("files/md5/ab/cdef"), bodyOf(Buffer.from("xyz")), 3);
        await expectNotFound(remote.read(k("files/md5/ab"), { offset: 0, length: 1 }), "a folder");
        await expectNotFound(remote.read(k("files/md5/ab/cde"), { offset: 1 }), "a partial name");
      });
    });

    const withPassword = options.withPassword;
    if (withPassword !== undefined) {
      test("displayUrl does not show a password from the URL", async () => {
        const other = await withPassword.create();
        try {
          const shown = other.remote.displayUrl;
          expect(shown.length).toBeGreaterThan(0);
          expect(shown).not.toContain(withPassword.password);
          expect(shown).not.toContain(encodeURIComponent(withPassword.password));
        } finally {
          try {
            await other.remote.close?.();
          } finally {
            await other.cleanup?.();
          }
        }
      });
    }
  });
}

/** A random DVC 3 object key: `files/md5/<2 hex>/<30 hex>`. */
export function oidKey(): string {
  const oid = randomBytes(16).toString("hex");
  return `files/md5/${oid.slice(0, 2)}/${oid.slice(2)}`;
}

/** Every key of a listing. */
export async function collect(keys: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const key of keys) out.push(key);
  return out;
}

/** A byte stream (not object mode, like a file stream) of `data`, cut into chunks of the given sizes in turn. */
export function bodyOf(data: Buffer, chunkSizes: number[] = [Number.POSITIVE_INFINITY]): Readable {
  return Readable.from(
    (function* () {
      let at = 0;
      for (let i = 0; at < data.length; i++) {
        const n = chunkSizes[i % chunkSizes.length] ?? data.length;
        yield data.subarray(at, at + n);
        at += n;
      }
    })(),
    { objectMode: false },
  );
}

function sorted(keys: string[]): string[] {
  return [...keys].sort();
}

async function readAll(remote: Remote, key: string, range?: ByteRange): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const stream = range === undefined ? await remote.read(key) : await remote.read(key, range);
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function describeRange(range: ByteRange): string {
  return `range { offset: ${range.offset}${range.length === undefined ? "" : `, length: ${range.length}`} }`;
}

/** Random bytes produced one chunk at a time as they are pulled; their md5 is known once they are all out. */
function generated(size: number): { stream: Readable; md5: () => string } {
  const hash = createHash("md5");
  let digest: string | undefined;
  const pieces = [MiB, 333_333, 65_536, 2 * MiB + 5];
  const stream = Readable.from(
    (function* () {
      let left = size;
      for (let i = 0; left > 0; i++) {
        const chunk = randomBytes(Math.min(left, pieces[i % pieces.length] ?? MiB));
        hash.update(chunk);
        left -= chunk.length;
        yield chunk;
      }
      digest = hash.digest("hex");
    })(),
    { objectMode: false },
  );
  return {
    stream,
    md5: () => {
      if (digest === undefined) throw new Error("the body was not read to its end");
      return digest;
    },
  };
}

async function digestOf(stream: Readable): Promise<{ bytes: number; md5: string }> {
  const hash = createHash("md5");
  let bytes = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { bytes, md5: hash.digest("hex") };
}

/** A body that yields `goodBytes` bytes and then fails, as a cache file that cannot be read would. */
function failingBody(goodBytes: number): Readable {
  return Readable.from(
    (async function* () {
      for (let at = 0; at < goodBytes; at += 50 * KiB) yield randomBytes(Math.min(50 * KiB, goodBytes - at));
      await new Promise((ok) => setTimeout(ok, 10));
      throw new Error("mlv-testkit: the body stream failed on purpose");
    })(),
    { objectMode: false },
  );
}

async function expectNotFound(promise: Promise<unknown>, what: string): Promise<void> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  expect(caught, `${what}: expected ObjectNotFoundError, got no error`).toBeDefined();
  expect((caught as { code?: unknown }).code, `${what}: error code (${String(caught)})`).toBe("ENOOBJECT");
  expect(
    caught instanceof ObjectNotFoundError,
    `${what}: the error has code ENOOBJECT but is not an instance of @mlv/core's ObjectNotFoundError (two copies of @mlv/core installed?)`,
  ).toBe(true);
}

function expectSameBytes(got: Buffer, want: Buffer, what = "object"): void {
  expect(got.length, `${what}: byte count`).toBe(want.length);
  if (got.equals(want)) return;
  let at = 0;
  while (got[at] === want[at]) at++;
  expect.fail(`${what}: bytes differ first at offset ${at} (got ${got[at]}, want ${want[at]})`);
}

function signal(): { fire: () => void; fired: Promise<void> } {
  let fire!: () => void;
  const fired = new Promise<void>((ok) => {
    fire = ok;
  });
  return { fire, fired };
}

/** Run `fn` over `items`, at most `jobs` at a time. */
async function pool<T>(items: T[], jobs: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, items.length)) }, worker));
}
