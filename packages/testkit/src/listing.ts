/** `list(prefix)`: optional in the contract, exact when present. */
import { describe, expect, type TestContext } from "vitest";
import { type CreatedRemote, Harness, type Isolation, type Seed, type SuiteContext } from "./harness.js";
import { collect, oidKey, sorted } from "./util.js";

export interface ListingConformanceOptions<T extends CreatedRemote = CreatedRemote> {
  /** Create a client for a fresh, empty storage (or an empty area of one, see `isolation`). */
  create: () => Promise<T> | T;
  /** Put objects into the storage before they are listed (for a writable remote: `seedByWriting()`). */
  seed: Seed<T>;
  /** As for describeReadableRemoteConformance. Default `"test"`. */
  isolation?: Isolation;
  /** How many keys the paging test seeds (more than one page of 1000). Default 1,100. */
  manyKeys?: number;
  /** Timeout of each test and hook, in ms. Default 60,000. */
  timeoutMs?: number;
}

/**
 * Register the listing tests in the current vitest file. A remote without `list` (a plain web
 * server) has them skipped, each saying so: core then checks objects one by one instead.
 */
export function describeListingConformance<T extends CreatedRemote>(
  name: string,
  options: ListingConformanceOptions<T>,
): void {
  const h = new Harness<T>(name, {
    create: options.create,
    seed: options.seed,
    isolation: options.isolation ?? "test",
    timeout: options.timeoutMs ?? 60_000,
  });
  describe(`${name}: listing conformance`, () => {
    h.install();
    listingTests(h, { manyKeys: options.manyKeys ?? 1100 });
  });
}

export function listingTests(h: SuiteContext, options: { manyKeys: number }): void {
  const { k } = h;
  const manyKeys = options.manyKeys;
  const x = (key: string) => ({ key, data: Buffer.from("x") });
  /** The remote's list(), or a skip saying there is none. */
  const needsList = (ctx: TestContext) => {
    const remote = h.remote;
    if (remote.list === undefined) {
      ctx.skip(`${h.name} does not implement list(), which is optional: listing is not checked`);
    }
    return (prefix: string) => collect(remote.list!(prefix));
  };

  describe("list (when implemented)", () => {
    h.test("of an empty remote yields nothing", async (ctx) => {
      const list = needsList(ctx);
      expect(await list(k(""))).toEqual([]);
      expect(await list(k("files/md5/"))).toEqual([]);
      expect(await list(k("files/md5/a"))).toEqual([]);
    });

    h.test("returns exactly the keys that start with the prefix", async (ctx) => {
      const list = needsList(ctx);
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
      await h.seed(keys.map((key) => ({ key: k(key), data: Buffer.from(key) })));
      const expectList = async (prefix: string, want: string[]) => {
        expect(sorted(await list(k(prefix))), `list('${prefix}')`).toEqual(sorted(want.map(k)));
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

    h.test(`pages through ${manyKeys} keys`, async (ctx) => {
      const list = needsList(ctx);
      const inFirst = Math.min(manyKeys, 1010);
      const keys = Array.from({ length: manyKeys }, (_, i) =>
        k(`files/md5/${i < inFirst ? "ab" : "cd"}/${i.toString(16).padStart(30, "0")}`),
      );
      await h.seed(keys.map(x));
      const all = await list(k("files/md5/"));
      expect(all.length).toBe(manyKeys);
      expect(sorted(all)).toEqual(sorted(keys));
      expect((await list(k("files/md5/ab/"))).length).toBe(inFirst);
      expect(sorted(await list(k("files/md5/c")))).toEqual(sorted(keys.slice(inFirst)));
    });

    h.test("can be stopped early", async (ctx) => {
      const list = needsList(ctx);
      await h.seed(Array.from({ length: 5 }, () => x(k(oidKey()))));
      let seen = 0;
      for await (const _ of h.remote.list!(k(""))) {
        seen += 1;
        if (seen === 2) break;
      }
      expect(seen).toBe(2);
      expect((await list(k(""))).length).toBe(5);
    });
  });
}
