/** The writing half of the contract: atomic writes, idempotent deletes, writeFile. */
import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { describe, expect, type TestContext } from "vitest";
import { type CreatedRemote, Harness, type Isolation, type SuiteContext, seedByWriting } from "./harness.js";
import { capabilityTests, expectObjectInfo } from "./readable.js";
import {
  BOUNDARY_SIZES,
  bodyOf,
  CHUNKINGS,
  collect,
  digestOf,
  expectNotFound,
  expectSameBytes,
  failingBody,
  generated,
  KiB,
  MiB,
  oidKey,
  readAll,
  signal,
  sorted,
} from "./util.js";

export interface WritableConformanceOptions<T extends CreatedRemote = CreatedRemote> {
  /** Create a client for a fresh, empty remote (or an empty area of one, see `isolation`). */
  create: () => Promise<T> | T;
  /**
   * `"test"` (default): create() runs before every test, so each test starts with an empty remote.
   * `"suite"`: create() runs once; each test then works below its own random key prefix and
   * deletes its keys afterwards (use it when creating a remote is slow or costs money).
   */
  isolation?: Isolation;
  /** Size of the big object streamed through write/read. Default 17 MiB + 3 bytes (crosses 5, 8 and 16 MiB). */
  largeObjectBytes?: number;
  /** Timeout of each test and hook, in ms. Default 60,000. */
  timeoutMs?: number;
  /** The adapter reports writeFile's progress: a writeFile that reports nothing fails (see ConformanceOptions). */
  writeFileProgress?: boolean;
}

/**
 * Register the conformance tests of a writable `Remote`'s writes in the current vitest file:
 * write then read, replacement, atomicity, concurrency, delete, writeFile. Checks that need a
 * listing are left out when the remote has no `list`.
 */
export function describeWritableRemoteConformance<T extends CreatedRemote>(
  name: string,
  options: WritableConformanceOptions<T>,
): void {
  const h = new Harness<T>(name, {
    create: options.create,
    seed: seedByWriting(),
    isolation: options.isolation ?? "test",
    timeout: options.timeoutMs ?? 60_000,
    writes: "describeWritableRemoteConformance",
  });
  describe(`${name}: writable Remote conformance`, () => {
    h.install();
    capabilityTests(h);
    writableTests(h, {
      largeObjectBytes: options.largeObjectBytes ?? 17 * MiB + 3,
      writeFileProgress: options.writeFileProgress,
    });
  });
}

export function writableTests(
  h: SuiteContext,
  options: { largeObjectBytes: number; writeFileProgress?: boolean },
): void {
  const { k } = h;
  const largeBytes = options.largeObjectBytes;
  /** Checks the listing under `prefix` when the remote can list; without one, the other checks stand alone. */
  const expectListed = async (prefix: string, want: string[]) => {
    const remote = h.remote;
    if (remote.list === undefined) return;
    expect(sorted(await collect(remote.list(prefix))), `list('${prefix}')`).toEqual(sorted(want));
  };

  describe("write, then read", () => {
    h.test(
      "objects of 0 bytes and of sizes across chunk boundaries, cut into odd chunks, with and without a size hint",
      async () => {
        const remote = h.writable;
        const sizes = [0, ...BOUNDARY_SIZES];
        for (const [i, size] of sizes.entries()) {
          const data = randomBytes(size);
          const key = k(size === 0 ? "files/md5/d4/1d8cd98f00b204e9800998ecf8427e" : oidKey());
          const chunking = CHUNKINGS[i % CHUNKINGS.length];
          await remote.write(key, bodyOf(data, chunking), i % 2 === 0 ? size : undefined);
          expectSameBytes(await readAll(remote, key), data, `object of ${size} bytes`);
        }
      },
    );

    h.test(`a ${(largeBytes / MiB).toFixed(1)} MiB object, streamed both ways without holding it whole`, async () => {
      const remote = h.writable;
      const key = k(oidKey());
      const sent = generated(largeBytes);
      await remote.write(key, sent.stream, largeBytes);
      const got = await digestOf(await remote.read(key));
      expect(got.bytes).toBe(largeBytes);
      expect(got.md5).toBe(sent.md5());
    });

    h.test("a read stream can be abandoned early, and the object replaced after it", async () => {
      const remote = h.writable;
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

    h.test("write replaces an existing object, with a longer one and then a shorter one", async () => {
      const remote = h.writable;
      const key = k(oidKey());
      for (const text of ["first", "a much longer second version", "3rd"]) {
        await remote.write(key, bodyOf(Buffer.from(text)), text.length);
        expect((await readAll(remote, key)).toString()).toBe(text);
      }
      await expectListed(key, [key]);
    });

    h.test("a write whose body fails midway leaves no object", async () => {
      const remote = h.writable;
      const key = k("files/md5/ab/0123456789abcdef0123456789abcd");
      await expect(remote.write(key, failingBody(300 * KiB), 600 * KiB)).rejects.toThrow();
      expect(await remote.exists(key)).toBe(false);
      await expectNotFound(remote.read(key), key);
      await expectListed(k(""), []);
      // Nothing was left locked or half-created: the key can be written now.
      await remote.write(key, bodyOf(Buffer.from("ok")), 2);
      expect((await readAll(remote, key)).toString()).toBe("ok");
    });

    h.test("a write whose body fails midway leaves the previous object intact", async () => {
      const remote = h.writable;
      const key = k(oidKey());
      const old = randomBytes(100 * KiB);
      await remote.write(key, bodyOf(old), old.length);
      await expect(remote.write(key, failingBody(300 * KiB), 600 * KiB)).rejects.toThrow();
      expectSameBytes(await readAll(remote, key), old);
      await expectListed(k(""), [key]);
    });

    h.test("a write in progress is not visible until it completes", async () => {
      const remote = h.writable;
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
        await expectListed(k(""), []);
        await expectNotFound(remote.read(key), key);
      } finally {
        gate.fire();
      }
      await writing;
      expectSameBytes(await readAll(remote, key), Buffer.concat([first, second]));
    });

    h.test("concurrent writes of different keys all land", async () => {
      const remote = h.writable;
      const objects = Array.from({ length: 48 }, (_, i) => ({
        // Several keys share a folder, several are first in theirs.
        key: k(`files/md5/${(i % 6).toString(16).padStart(2, "0")}/${i.toString(16).padStart(30, "0")}`),
        data: randomBytes(i * 997),
      }));
      await Promise.all(objects.map((o) => remote.write(o.key, bodyOf(o.data, [4096]), o.data.length)));
      for (const o of objects) expectSameBytes(await readAll(remote, o.key), o.data, o.key);
      await expectListed(
        k(""),
        objects.map((o) => o.key),
      );
    });

    h.test("concurrent writes of one key leave one of them, whole", async () => {
      const remote = h.writable;
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

  describe("delete", () => {
    h.test("removes the object and leaves its neighbours", async () => {
      const remote = h.writable;
      const keys = ["files/md5/ab/cdef", "files/md5/ab/cdef.dir", "files/md5/ab/cdefg", "ab/cdef"].map(k);
      for (const key of keys) await remote.write(key, bodyOf(Buffer.from(key)), Buffer.byteLength(key));
      await remote.delete(k("files/md5/ab/cdef"));
      expect(await remote.exists(k("files/md5/ab/cdef"))).toBe(false);
      await expectNotFound(remote.read(k("files/md5/ab/cdef")), "a deleted key");
      await expectListed(k(""), keys.slice(1));
      for (const key of keys.slice(1)) expect((await readAll(remote, key)).toString()).toBe(key);
    });

    h.test("is idempotent", async () => {
      const remote = h.writable;
      const key = k(oidKey());
      await remote.write(key, bodyOf(Buffer.from("x")), 1);
      await remote.delete(key);
      await remote.delete(key);
      await remote.delete(k("files/md5/ee/eeeeeeeeeeeeeeeeeeeeeeeeeeeeee"));
      await remote.delete(k("never/created/folder/key"));
      expect(await remote.exists(key)).toBe(false);
    });
  });

  describe("writeFile (when announced)", () => {
    const needsWriteFile = (ctx: TestContext) => {
      if (!h.remote.capabilities.writeFile) ctx.skip(`${h.name} does not announce writeFile`);
    };

    h.test("uploads local files, replacing an existing object", async (ctx) => {
      needsWriteFile(ctx);
      const remote = h.writable;
      const key = k(oidKey());
      for (const size of [0, 1, 3 * MiB + 1, 10]) {
        const data = randomBytes(size);
        const file = join(h.localDir, `up-${size}`);
        await writeFile(file, data);
        await remote.writeFile!(key, file, size);
        expectSameBytes(await readAll(remote, key), data, `file of ${size} bytes`);
        expectSameBytes(await readFile(file), data, "the local file is left as it was");
      }
    });

    h.test("of a missing local file fails and leaves the old object", async (ctx) => {
      needsWriteFile(ctx);
      const remote = h.writable;
      const fresh = k(oidKey());
      const existing = k(oidKey());
      await remote.write(existing, bodyOf(Buffer.from("old")), 3);
      const missing = join(h.localDir, "does-not-exist");
      await expect(remote.writeFile!(fresh, missing, 10)).rejects.toThrow();
      await expect(remote.writeFile!(existing, missing, 10)).rejects.toThrow();
      expect(await remote.exists(fresh)).toBe(false);
      expect((await readAll(remote, existing)).toString()).toBe("old");
      await expectListed(k(""), [existing]);
    });
  });

  describe("writeFile progress (when reported)", () => {
    h.test("grows, never past the file, to the whole file", async (ctx) => {
      if (!h.remote.capabilities.writeFile) ctx.skip(`${h.name} does not announce writeFile`);
      const remote = h.writable;
      const size = 12 * MiB + 7;
      const file = join(h.localDir, "progress");
      await writeFile(file, randomBytes(size));
      const seen: number[] = [];
      await remote.writeFile!(k(oidKey()), file, size, { onProgress: (n) => seen.push(n) });
      // Reporting is optional; what is reported must be a count of this file's bytes so far.
      if (seen.length === 0 && !options.writeFileProgress)
        ctx.skip(`${h.name} reports no writeFile progress (optional)`);
      expect(seen.length, "progress reports of a 12 MiB writeFile").toBeGreaterThan(0);
      expect(seen.every((n, i) => n >= 0 && n <= size && (i === 0 || n >= seen[i - 1]!))).toBe(true);
      expect(seen.at(-1), "the last report").toBe(size);
    });
  });

  describe("cancelled writes (when announced: cancelsWrites)", () => {
    const needsCancel = (ctx: TestContext) => {
      if (!h.remote.capabilities.cancelsWrites) ctx.skip(`${h.name} does not announce cancelsWrites`);
    };
    /** 30 MiB in 1 MiB blocks; the signal fires as block `at` is handed over. */
    const abortingBody = (controller: AbortController, reason: Error, at: number) => {
      const sent = { bytes: 0 };
      const body = Readable.from(
        (function* () {
          const block = randomBytes(MiB);
          for (let i = 0; i < 30; i++) {
            if (i === at) controller.abort(reason);
            sent.bytes += block.length;
            yield block;
          }
        })(),
      );
      return { body, sent };
    };

    h.test("an already aborted signal rejects with its reason and writes nothing", async (ctx) => {
      needsCancel(ctx);
      const remote = h.writable;
      const reason = new Error("stopped before");
      const signal = AbortSignal.abort(reason);
      const key = k(oidKey());
      await expect(remote.write(key, bodyOf(Buffer.from("data")), 4, { signal })).rejects.toBe(reason);
      if (remote.capabilities.writeFile) {
        const file = join(h.localDir, "small");
        await writeFile(file, "data");
        await expect(remote.writeFile!(key, file, 4, { signal })).rejects.toBe(reason);
      }
      expect(await remote.exists(key)).toBe(false);
      await expectListed(k(""), []);
    });

    h.test("a write aborted midway rejects with its reason, leaves no object and keeps the old one", async (ctx) => {
      needsCancel(ctx);
      const remote = h.writable;
      const fresh = k(oidKey());
      const existing = k(oidKey());
      await remote.write(existing, bodyOf(Buffer.from("old")), 3);
      for (const key of [fresh, existing]) {
        const controller = new AbortController();
        const reason = new Error("interrupted");
        const { body, sent } = abortingBody(controller, reason, 12);
        await expect(remote.write(key, body, undefined, { signal: controller.signal })).rejects.toBe(reason);
        expect(sent.bytes, "the body was not read to its end").toBeLessThan(30 * MiB);
      }
      // Give the server time to act on the cut request: the object must not appear late either.
      await new Promise((ok) => setTimeout(ok, 300));
      expect(await remote.exists(fresh)).toBe(false);
      expect((await readAll(remote, existing)).toString()).toBe("old");
      await expectListed(k(""), [existing]);
    });

    h.test("a writeFile aborted while under way rejects with its reason and leaves no object", async (ctx) => {
      needsCancel(ctx);
      if (!h.remote.capabilities.writeFile) ctx.skip(`${h.name} does not announce writeFile`);
      const remote = h.writable;
      const size = 24 * MiB + 5;
      const file = join(h.localDir, "aborted");
      await writeFile(file, randomBytes(size));
      for (const when of ["as soon as it has begun", "at its first progress report"]) {
        const key = k(oidKey());
        const controller = new AbortController();
        const reason = new Error("interrupted");
        const upload = remote.writeFile!(key, file, size, {
          signal: controller.signal,
          onProgress: (n) => {
            if (n > 0 && n < size) controller.abort(reason);
          },
        });
        // The adapter has run up to its first await: the upload is under way.
        if (when === "as soon as it has begun") controller.abort(reason);
        const outcome = await upload.then(
          () => "finished",
          (err: unknown) => err,
        );
        // Progress is optional: an upload that reported nothing before its end (none at all, or
        // only its whole size) had nothing to abort it at.
        if (outcome === "finished" && !controller.signal.aborted && when !== "as soon as it has begun") {
          await remote.delete(key);
          continue;
        }
        expect(outcome, when).toBe(reason);
        await new Promise((ok) => setTimeout(ok, 300));
        expect(await remote.exists(key), when).toBe(false);
      }
      await expectListed(k(""), []);
    });
  });

  describe("writes committed after the caller's check (when announced: awaitsCheck)", () => {
    const needsCheck = (ctx: TestContext) => {
      if (!h.remote.capabilities.awaitsCheck) ctx.skip(`${h.name} does not announce awaitsCheck`);
      if (!h.remote.capabilities.writeFile) throw new Error("awaitsCheck is announced without writeFile");
    };
    /** A check the test settles by hand, and whether the adapter asked for its outcome. */
    const manualCheck = () => {
      let pass!: () => void;
      let fail!: (err: Error) => void;
      const checked = new Promise<void>((ok, ko) => {
        pass = ok;
        fail = ko;
      });
      checked.catch(() => {}); // as core does: the adapter may not be listening yet when it fails
      return { checked, pass, fail };
    };

    for (const size of [10, 24 * MiB + 5]) {
      h.test(`of ${size} bytes: nothing appears before the check passes, the object once it has`, async (ctx) => {
        needsCheck(ctx);
        const remote = h.writable;
        const data = randomBytes(size);
        const file = join(h.localDir, `checked-${size}`);
        await writeFile(file, data);
        const key = k(oidKey());
        const check = manualCheck();
        let settled = false;
        const upload = remote.writeFile!(key, file, size, { checked: check.checked }).finally(() => {
          settled = true;
        });
        // Long enough for the whole file to reach a local server: only the check holds it back.
        await new Promise((ok) => setTimeout(ok, size > MiB ? 1500 : 300));
        expect(settled, "writeFile waits for the check").toBe(false);
        expect(await remote.exists(key), "the object before the check passed").toBe(false);
        check.pass();
        await upload;
        expectSameBytes(await readAll(remote, key), data, "the object once checked");
      });

      h.test(`of ${size} bytes: a failed check rejects with its error and leaves the old object`, async (ctx) => {
        needsCheck(ctx);
        const remote = h.writable;
        const file = join(h.localDir, `refused-${size}`);
        await writeFile(file, randomBytes(size));
        const fresh = k(oidKey());
        const existing = k(oidKey());
        await remote.write(existing, bodyOf(Buffer.from("old")), 3);
        for (const key of [fresh, existing]) {
          const check = manualCheck();
          const reason = new Error("the bytes changed");
          const upload = remote.writeFile!(key, file, size, { checked: check.checked });
          setTimeout(() => check.fail(reason), 200);
          await expect(upload).rejects.toBe(reason);
        }
        await new Promise((ok) => setTimeout(ok, 300));
        expect(await remote.exists(fresh)).toBe(false);
        expect((await readAll(remote, existing)).toString()).toBe("old");
        await expectListed(k(""), [existing]);
      });
    }
  });

  describe("stat after writes (when implemented)", () => {
    h.test("follows a replacement: the new size, a new fingerprint", async (ctx) => {
      const remote = h.writable;
      if (remote.stat === undefined) ctx.skip(`${h.name} does not implement stat()`);
      const key = k(oidKey());
      await remote.write(key, bodyOf(Buffer.from("first")), 5);
      const before = await remote.stat!(key);
      expectObjectInfo(before, "stat() of the first version");
      await remote.write(key, bodyOf(Buffer.from("a longer second version")), 23);
      const after = await remote.stat!(key);
      expectObjectInfo(after, "stat() of the second version");
      if (after.size !== undefined) expect(after.size, "size of the second version").toBe(23);
      // What import-url compares to tell a changed object: it must change with the content.
      if (before.etag !== undefined && after.etag !== undefined) expect(after.etag).not.toBe(before.etag);
      if (before.checksum !== undefined && after.checksum !== undefined)
        expect(after.checksum).not.toBe(before.checksum);
      await remote.delete(key);
      await expectNotFound(remote.stat!(key), "stat() of a deleted key");
    });
  });
}
