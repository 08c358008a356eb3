/**
 * `@mlv/testkit`: the conformance suites every mlv storage adapter runs, ours and third parties'.
 *
 * A writable adapter runs them all at once, objects being put in place through its own write():
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
 * A read-only adapter (a web server, a public dataset) says how objects get into its storage
 * another way, with `seed`; whatever create() returns besides the remote is handed to it:
 *
 * ```ts
 * import { describeReadableRemoteConformance } from "@mlv/testkit";
 *
 * describeReadableRemoteConformance("web", {
 *   create: async () => {
 *     const dir = await mkdtemp(join(servedRoot, "t-")); // a folder the test server serves
 *     const remote = await adapter.create({ name: "t", url: `${serverUrl}/${basename(dir)}`, options: {} });
 *     return { remote, dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
 *   },
 *   seed: async (objects, { dir }) => {
 *     for (const { key, data } of objects) {
 *       await mkdir(dirname(join(dir, key)), { recursive: true });
 *       await writeFile(join(dir, key), data);
 *     }
 *   },
 * });
 * ```
 *
 * The suites compose: `describeRemoteConformance` is `describeReadableRemoteConformance` (with the
 * listing tests of `describeListingConformance` when the remote has `list`) plus
 * `describeWritableRemoteConformance`, sharing one remote. Each can also run alone. They check every
 * documented semantic of `ReadableRemote` and `Remote` (see `@mlv/core`'s remote.ts) with vitest's
 * `describe`/`it`/`expect`, so they must be imported from a vitest test file; what an adapter does
 * not announce or implement (ranged reads, readFile, writeFile, stat, list) is skipped, saying so.
 * `describeLargeObjectRoundTrip` adds a 200 MiB round trip through writeFile/readFile with a
 * memory check, for adapters whose objects can be that large.
 */
import { describe } from "vitest";
import { type CreatedRemote, Harness, type Isolation, type PasswordCheck, seedByWriting } from "./harness.js";
import { capabilityTests, readableTests } from "./readable.js";
import { MiB } from "./util.js";
import { writableTests } from "./writable.js";

export type { CreatedRemote, Isolation, PasswordCheck, Seed, SeedObject } from "./harness.js";
export { seedByWriting } from "./harness.js";
export {
  describeLargeObjectRoundTrip,
  type LargeObjectOptions,
  pseudoRandomBlocks,
  type UploadedObject,
} from "./large.js";
export { describeListingConformance, type ListingConformanceOptions } from "./listing.js";
export { describeReadableRemoteConformance, type ReadableConformanceOptions } from "./readable.js";
export { bodyOf, collect, oidKey } from "./util.js";
export { describeWritableRemoteConformance, type WritableConformanceOptions } from "./writable.js";

export interface ConformanceOptions {
  /**
   * Create a client for a fresh, empty remote. It must be writable (have write() and delete());
   * a read-only one is checked with describeReadableRemoteConformance instead.
   */
  create: () => Promise<CreatedRemote> | CreatedRemote;
  /**
   * `"test"` (default): create() runs before every test, so each test starts with an empty remote.
   * `"suite"`: create() runs once; each test then works below its own random key prefix and
   * deletes its keys afterwards (use it when creating a remote is slow or costs money).
   */
  isolation?: Isolation;
  /** Size of the big object streamed through write/read. Default 17 MiB + 3 bytes (crosses 5, 8 and 16 MiB). */
  largeObjectBytes?: number;
  /** How many keys the listing test writes (more than one page of 1000). Default 1,100. */
  manyKeys?: number;
  /** Parallel writes when a test puts many objects in place. Default: the adapter's `defaultJobs`, at most 32, else 8. */
  jobs?: number;
  /** Timeout of each test and hook, in ms. Default 60,000. */
  timeoutMs?: number;
  /**
   * The adapter reports writeFile's progress (`options.onProgress`, optional in the contract):
   * then a writeFile of 12 MiB that reports nothing fails the suite instead of skipping the check.
   */
  writeFileProgress?: boolean;
  /**
   * For adapters whose URL can carry a password (`sftp://user:secret@host/…`, `https://…`): a
   * remote created from such a URL, and the password, which its displayUrl must not show.
   */
  withPassword?: PasswordCheck;
}

/**
 * Register every conformance test for a writable adapter in the current vitest file: the reading
 * tests (objects put in place with the remote's own write()), the listing tests when it has
 * `list`, and the writing tests.
 */
export function describeRemoteConformance(name: string, options: ConformanceOptions): void {
  const h = new Harness(name, {
    create: options.create,
    seed: seedByWriting(options.jobs),
    isolation: options.isolation ?? "test",
    timeout: options.timeoutMs ?? 60_000,
    writes: "describeRemoteConformance",
  });
  const largeObjectBytes = options.largeObjectBytes ?? 17 * MiB + 3;
  describe(`${name}: Remote conformance`, () => {
    h.install();
    capabilityTests(h);
    // The big object goes through write() and read() in the writing tests; once is enough.
    readableTests(h, {
      largeObjectBytes: undefined,
      manyKeys: options.manyKeys ?? 1100,
      withPassword: options.withPassword,
    });
    writableTests(h, { largeObjectBytes, writeFileProgress: options.writeFileProgress });
  });
}
