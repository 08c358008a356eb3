/** The reading half of the contract: what any storage must do, written or not by mlv. */
import { randomBytes } from "node:crypto";
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type ByteRange, isWritable, type ObjectInfo } from "@mlv/core";
import { describe, expect, type TestContext } from "vitest";
import {
  type CreatedRemote,
  Harness,
  type Isolation,
  type PasswordCheck,
  type Seed,
  type SeedObject,
  type SuiteContext,
} from "./harness.js";
import { listingTests } from "./listing.js";
import {
  BOUNDARY_SIZES,
  describeRange,
  digestOf,
  expectNotFound,
  expectSameBytes,
  KiB,
  MiB,
  md5Of,
  oidKey,
  readAll,
} from "./util.js";

export interface ReadableConformanceOptions<T extends CreatedRemote = CreatedRemote> {
  /**
   * Create a client for a fresh, empty storage (or an empty area of one, see `isolation`). It may
   * return more than `{ remote, cleanup }` (the folder a web server serves, say): the whole object
   * is handed to `seed`.
   */
  create: () => Promise<T> | T;
  /** Put objects into the storage by other means than the remote, before the suite reads them. */
  seed: Seed<T>;
  /**
   * `"test"` (default): create() runs before every test, so each test starts with an empty storage.
   * `"suite"`: create() runs once; each test then works below its own random key prefix. Seeded
   * objects are not removed between tests (a read-only remote cannot delete them): cleanup() does.
   */
  isolation?: Isolation;
  /** Size of the big object read whole as a stream. Default 17 MiB + 3 bytes (crosses 5, 8 and 16 MiB). */
  largeObjectBytes?: number;
  /** How many keys the listing test seeds (more than one page of 1000). Default 1,100. */
  manyKeys?: number;
  /** Timeout of each test and hook, in ms. Default 60,000. */
  timeoutMs?: number;
  /**
   * For adapters whose URL can carry a password (`https://user:secret@host/…`): a remote created
   * from such a URL, and the password, which its displayUrl must not show.
   */
  withPassword?: PasswordCheck;
}

/** What the reading tests need beyond the harness. */
export interface ReadableTestOptions {
  /** Size of the big object read whole; undefined leaves that test out (a write test covers it). */
  largeObjectBytes: number | undefined;
  manyKeys: number;
  withPassword: PasswordCheck | undefined;
}

/**
 * Register the conformance tests of a `ReadableRemote` in the current vitest file: a remote that
 * can only read (a plain web server, a public dataset) or the reading half of any remote. Objects
 * get into the storage through `seed`. Listing tests run when the remote implements `list`.
 */
export function describeReadableRemoteConformance<T extends CreatedRemote>(
  name: string,
  options: ReadableConformanceOptions<T>,
): void {
  const h = new Harness<T>(name, {
    create: options.create,
    seed: options.seed,
    isolation: options.isolation ?? "test",
    timeout: options.timeoutMs ?? 60_000,
  });
  describe(`${name}: ReadableRemote conformance`, () => {
    h.install();
    capabilityTests(h);
    readableTests(h, {
      largeObjectBytes: options.largeObjectBytes ?? 17 * MiB + 3,
      manyKeys: options.manyKeys ?? 1100,
      withPassword: options.withPassword,
    });
  });
}

/** That displayUrl and capabilities agree with the methods the remote has. */
export function capabilityTests(h: SuiteContext): void {
  h.test("announces a displayUrl and consistent capabilities", async () => {
    const remote = h.remote;
    expect(typeof remote.displayUrl).toBe("string");
    expect(remote.displayUrl.length).toBeGreaterThan(0);
    const caps = remote.capabilities;
    expect(typeof caps).toBe("object");
    if (caps.readFile) expect(typeof remote.readFile, "readFile is announced").toBe("function");
    if (caps.localFiles) expect(typeof remote.localPath, "localFiles is announced").toBe("function");
    if (caps.writeFile) {
      expect(isWritable(remote), "writeFile is announced by a remote without write() and delete()").toBe(true);
      expect(typeof (remote as { writeFile?: unknown }).writeFile, "writeFile is announced").toBe("function");
    }
    if (caps.traverse) expect(typeof remote.list, "traverse is announced, which needs list()").toBe("function");
    if (caps.rangedRead !== undefined) expect(typeof caps.rangedRead).toBe("boolean");
    if (caps.defaultJobs !== undefined) {
      expect(Number.isInteger(caps.defaultJobs)).toBe(true);
      expect(caps.defaultJobs).toBeGreaterThan(0);
    }
  });
}

export function readableTests(h: SuiteContext, options: ReadableTestOptions): void {
  const { k } = h;
  const one = (key: string, data: Buffer | string): SeedObject => ({
    key,
    data: typeof data === "string" ? Buffer.from(data) : data,
  });

  describe("exists", () => {
    h.test("is true for an object and false for a missing key", async () => {
      const key = k(oidKey());
      expect(await h.remote.exists(key)).toBe(false);
      await h.seed([one(key, "x")]);
      expect(await h.remote.exists(key)).toBe(true);
      expect(await h.remote.exists(k("files/md5/ff/ffffffffffffffffffffffffffffff"))).toBe(false);
      expect(await h.remote.exists(k("never/created/folder/key"))).toBe(false);
    });

    h.test("is false for a folder or a partial name", async () => {
      await h.seed([one(k("files/md5/ab/cdef"), "x")]);
      expect(await h.remote.exists(k("files/md5/ab")), "a folder").toBe(false);
      expect(await h.remote.exists(k("files/md5")), "a folder").toBe(false);
      expect(await h.remote.exists(k("files/md5/ab/cde")), "a partial name").toBe(false);
      expect(await h.remote.exists(k("files/md5/ab/cdef.dir")), "a longer name").toBe(false);
    });
  });

  describe("read", () => {
    h.test("an empty object, a small one and one with all 256 byte values", async () => {
      const up = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      const objects = [
        one(k("files/md5/d4/1d8cd98f00b204e9800998ecf8427e"), Buffer.alloc(0)),
        one(k(oidKey()), "hello mlv\n"),
        one(k(oidKey()), Buffer.concat([up, Buffer.from(up).reverse(), Buffer.from("\r\n\n\r\0")])),
      ];
      await h.seed(objects);
      for (const o of objects)
        expectSameBytes(await readAll(h.remote, o.key), o.data, `object of ${o.data.length} bytes`);
    });

    h.test("objects whose sizes cross common chunk boundaries", async () => {
      const objects = BOUNDARY_SIZES.map((size) => one(k(oidKey()), randomBytes(size)));
      await h.seed(objects);
      for (const o of objects)
        expectSameBytes(await readAll(h.remote, o.key), o.data, `object of ${o.data.length} bytes`);
    });

    const largeBytes = options.largeObjectBytes;
    if (largeBytes !== undefined) {
      h.test(`a ${(largeBytes / MiB).toFixed(1)} MiB object, read whole as a stream`, async () => {
        const o = one(k(oidKey()), randomBytes(largeBytes));
        await h.seed([o]);
        const got = await digestOf(await h.remote.read(o.key));
        expect(got.bytes).toBe(largeBytes);
        expect(got.md5).toBe(md5Of(o.data));
      });
    }

    h.test("many objects read at once", async () => {
      const objects = Array.from({ length: 24 }, (_, i) => one(k(oidKey()), randomBytes(i * 4099)));
      await h.seed(objects);
      const got = await Promise.all(objects.map((o) => readAll(h.remote, o.key)));
      for (const [i, o] of objects.entries()) expectSameBytes(got[i] as Buffer, o.data, o.key);
    });

    h.test("a read stream can be abandoned early, and the object read again", async () => {
      const o = one(k(oidKey()), randomBytes(2 * MiB));
      await h.seed([o]);
      const stream = await h.remote.read(o.key);
      await new Promise<void>((ok, fail) => {
        stream.once("data", () => ok());
        stream.once("error", fail);
      });
      stream.destroy();
      expectSameBytes(await readAll(h.remote, o.key), o.data);
    });

    h.test("of a missing key throws ObjectNotFoundError", async () => {
      await expectNotFound(h.remote.read(k("files/md5/00/000000000000000000000000000000")), "a missing key");
    });

    h.test("of a folder or a partial name throws ObjectNotFoundError", async () => {
      await h.seed([one(k("files/md5/ab/cdef"), "x")]);
      await expectNotFound(h.remote.read(k("files/md5/ab")), "a folder");
      await expectNotFound(h.remote.read(k("files/md5/ab/cde")), "a partial name");
    });
  });

  describe("ranged reads (when announced)", () => {
    const needsRanges = (ctx: TestContext) => {
      if (!h.remote.capabilities.rangedRead) ctx.skip(`${h.name} does not announce rangedRead`);
    };
    /** Odd-sized, so that no range lines up with a power of two by chance. */
    const size = 300 * KiB + 7;
    const seeded = async (data: Buffer = randomBytes(size)) => {
      const key = k(oidKey());
      await h.seed([one(key, data)]);
      return { key, data };
    };

    h.test("return the asked part: from the start, in the middle, to the end", async (ctx) => {
      needsRanges(ctx);
      const { key, data } = await seeded();
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
        expectSameBytes(await readAll(h.remote, key, range), data.subarray(from, to), describeRange(range));
      }
    });

    h.test("a length running past the end gives only the bytes that exist", async (ctx) => {
      needsRanges(ctx);
      const { key, data } = await seeded();
      for (const range of [
        { offset: 0, length: size + 1 },
        { offset: size - 10, length: 100 },
        { offset: 200_000, length: 10 * size },
      ]) {
        expectSameBytes(await readAll(h.remote, key, range), data.subarray(range.offset), describeRange(range));
      }
    });

    h.test("a range starting at or past the end, or of length 0, is an empty stream", async (ctx) => {
      needsRanges(ctx);
      const { key } = await seeded();
      for (const range of [
        { offset: size },
        { offset: size, length: 10 },
        { offset: size + 1 },
        { offset: size + 1000, length: 5 },
        { offset: 10 * size },
        { offset: 0, length: 0 },
        { offset: 1000, length: 0 },
      ]) {
        expectSameBytes(await readAll(h.remote, key, range), Buffer.alloc(0), describeRange(range));
      }
    });

    h.test("of an empty object are empty streams", async (ctx) => {
      needsRanges(ctx);
      const { key } = await seeded(Buffer.alloc(0));
      for (const range of [{ offset: 0 }, { offset: 0, length: 10 }, { offset: 1 }, { offset: 5, length: 5 }]) {
        expectSameBytes(await readAll(h.remote, key, range), Buffer.alloc(0), describeRange(range));
      }
    });

    h.test("several ranges read at once put the object back together", async (ctx) => {
      needsRanges(ctx);
      const { key, data } = await seeded();
      const piece = 64 * KiB;
      const offsets = Array.from({ length: Math.ceil(size / piece) }, (_, i) => i * piece);
      const pieces = await Promise.all(offsets.map((offset) => readAll(h.remote, key, { offset, length: piece })));
      expectSameBytes(Buffer.concat(pieces), data);
    });

    h.test("of a missing key, a folder or a partial name throw ObjectNotFoundError", async (ctx) => {
      needsRanges(ctx);
      const missing = k("files/md5/00/000000000000000000000000000000");
      for (const range of [{ offset: 0 }, { offset: 0, length: 10 }, { offset: 5 }, { offset: 1000, length: 1 }]) {
        await expectNotFound(h.remote.read(missing, range), `a missing key, ${describeRange(range)}`);
      }
      await h.seed([one(k("files/md5/ab/cdef"), "xyz")]);
      await expectNotFound(h.remote.read(k("files/md5/ab"), { offset: 0, length: 1 }), "a folder");
      await expectNotFound(h.remote.read(k("files/md5/ab/cde"), { offset: 1 }), "a partial name");
    });
  });

  describe("readFile (when announced)", () => {
    const needsReadFile = (ctx: TestContext) => {
      if (!h.remote.capabilities.readFile) ctx.skip(`${h.name} does not announce readFile`);
    };

    h.test("downloads into a new file, and over an existing one", async (ctx) => {
      needsReadFile(ctx);
      const big = one(k(oidKey()), randomBytes(3 * MiB + 1));
      const small = one(k(oidKey()), "shorter than what was there");
      await h.seed([big, small]);
      const target = join(h.localDir, `down-${randomBytes(4).toString("hex")}`);
      await h.remote.readFile!(big.key, target);
      expectSameBytes(await readFile(target), big.data);
      await h.remote.readFile!(small.key, target); // over the file of the first download
      expectSameBytes(await readFile(target), small.data);
      const longer = join(h.localDir, `down-${randomBytes(4).toString("hex")}`);
      await writeFile(longer, randomBytes(64 * KiB));
      await h.remote.readFile!(small.key, longer); // over a longer file: truncated
      expect((await stat(longer)).size).toBe(small.data.length);
      expectSameBytes(await readFile(longer), small.data);
    });

    h.test("of a missing key throws ObjectNotFoundError", async (ctx) => {
      needsReadFile(ctx);
      const target = join(h.localDir, `missing-${randomBytes(4).toString("hex")}`);
      await expectNotFound(h.remote.readFile!(k("files/md5/00/111111111111111111111111111111"), target), "readFile");
    });
  });

  describe("localPath (when announced)", () => {
    h.test("names a file with the object's bytes, and nothing for a missing key", async (ctx) => {
      if (!h.remote.capabilities.localFiles) ctx.skip(`${h.name} does not announce localFiles`);
      const obj = one(k(oidKey()), randomBytes(70 * KiB));
      await h.seed([obj]);
      expectSameBytes(await readFile(h.remote.localPath!(obj.key)), obj.data);
      const missing = h.remote.localPath!(k("files/md5/00/111111111111111111111111111111"));
      await expect(stat(missing), "the path of a missing key").rejects.toMatchObject({ code: "ENOENT" });
    });
  });

  describe("stat (when implemented)", () => {
    const needsStat = (ctx: TestContext) => {
      if (h.remote.stat === undefined) ctx.skip(`${h.name} does not implement stat()`);
    };

    h.test("reports the size, and a fingerprint that stays the same while the object does", async (ctx) => {
      needsStat(ctx);
      const objects = [0, 1, 300 * KiB + 7, MiB + 1].map((size) => one(k(oidKey()), randomBytes(size)));
      await h.seed(objects);
      for (const o of objects) {
        const what = `stat() of an object of ${o.data.length} bytes`;
        const info = await h.remote.stat!(o.key);
        expectObjectInfo(info, what);
        if (info.size !== undefined) expect(info.size, `${what}: size`).toBe(o.data.length);
        const again = await h.remote.stat!(o.key);
        expect(again.etag, `${what}, asked twice: etag`).toBe(info.etag);
        expect(again.checksum, `${what}, asked twice: checksum`).toBe(info.checksum);
      }
    });

    h.test("of a missing key throws ObjectNotFoundError", async (ctx) => {
      needsStat(ctx);
      await h.seed([one(k("files/md5/ab/cdef"), "x")]);
      await expectNotFound(h.remote.stat!(k("files/md5/00/222222222222222222222222222222")), "stat() of a missing key");
      await expectNotFound(h.remote.stat!(k("files/md5/ab/cde")), "stat() of a partial name");
    });
  });

  const withPassword = options.withPassword;
  if (withPassword !== undefined) {
    h.test("displayUrl does not show a password from the URL", async () => {
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

  listingTests(h, { manyKeys: options.manyKeys });
}

/** An ObjectInfo that says something, with fields of the documented types. */
export function expectObjectInfo(info: ObjectInfo, what: string): void {
  expect(typeof info, what).toBe("object");
  expect(
    info.size !== undefined || info.etag !== undefined || info.checksum !== undefined,
    `${what}: reports neither size, etag nor checksum`,
  ).toBe(true);
  if (info.size !== undefined) expect(Number.isInteger(info.size) && info.size >= 0, `${what}: size`).toBe(true);
  for (const field of ["etag", "checksum"] as const) {
    const value = info[field];
    if (value === undefined) continue;
    expect(typeof value, `${what}: ${field}`).toBe("string");
    expect(value.length, `${what}: ${field} is empty`).toBeGreaterThan(0);
  }
}
