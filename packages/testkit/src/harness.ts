/**
 * What every suite shares: creating and closing remotes around tests, per-test key prefixes in
 * "suite" isolation, seeding, and the option types.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isWritable, type ReadableRemote, type Remote } from "@mlv/core";
import { afterAll, afterEach, beforeAll, beforeEach, it, type TestContext } from "vitest";
import { bodyOf, collect, pool } from "./util.js";

export interface CreatedRemote<R extends ReadableRemote = ReadableRemote> {
  /** A client for an empty remote (or an empty area of one, see `isolation`). */
  remote: R;
  /** Removes what create() made (bucket, folder, server state). Called after remote.close(). */
  cleanup?: () => Promise<void> | void;
}

/** An object a suite needs in the storage before it reads: `key` below the remote's URL, and its bytes. */
export interface SeedObject {
  key: string;
  data: Buffer;
}

/**
 * Puts `objects` into the storage behind `created.remote` by other means than the remote (files
 * written into the folder a web server serves, an upload with the storage's own tools), so that
 * they can be read through it once the returned promise settles. `created` is what create()
 * returned, extra fields included. Within one test a key is seeded at most once, and no seeded
 * key is a folder of another, so every key can be a plain file.
 */
export type Seed<T extends CreatedRemote> = (objects: SeedObject[], created: T) => Promise<void> | void;

export type Isolation = "test" | "suite";

/** A remote created from a URL that carries a password, which its displayUrl must not show. */
export interface PasswordCheck {
  create: () => Promise<CreatedRemote> | CreatedRemote;
  password: string;
}

export interface HarnessOptions<T extends CreatedRemote> {
  create: () => Promise<T> | T;
  seed: Seed<T>;
  isolation: Isolation;
  timeout: number;
  /** Set by suites that write: the suite's name, for the message when the remote is read-only. */
  writes?: string;
}

/** What the tests of a suite see of its harness. */
export interface SuiteContext {
  readonly name: string;
  /** The current remote. */
  readonly remote: ReadableRemote;
  /** The current remote, known to be writable. */
  readonly writable: Remote;
  /** A folder on the local disk for the test's files. */
  readonly localDir: string;
  /** The key as the test sees it, below the test's own prefix in "suite" isolation. */
  readonly k: (key: string) => string;
  seed(objects: SeedObject[]): Promise<void>;
  test(title: string, fn: (ctx: TestContext) => Promise<void>): void;
}

/** One remote (per test or per suite) and what the tests of a `describe` block do with it. */
export class Harness<T extends CreatedRemote = CreatedRemote> implements SuiteContext {
  localDir = "";
  /** "" in "test" isolation, a per-test folder in "suite" isolation. */
  private ns = "";
  private testNo = 0;
  private readonly runId = randomBytes(4).toString("hex");
  private current: T | undefined;
  /** Keys used by the current test, for cleaning up a remote that cannot list. */
  private readonly used = new Set<string>();

  constructor(
    readonly name: string,
    private readonly options: HarnessOptions<T>,
  ) {}

  get timeout(): number {
    return this.options.timeout;
  }

  get remote(): ReadableRemote {
    if (this.current === undefined) throw new Error(`${this.name}: no remote (create() failed or has not run)`);
    return this.current.remote;
  }

  /** The remote, for suites that write; open() already refused a read-only one. */
  get writable(): Remote {
    const remote = this.remote;
    if (!isWritable(remote)) throw new Error(readOnlyMessage(this.name, this.options.writes ?? "this suite"));
    return remote;
  }

  /** Every key a test uses goes through k(). */
  readonly k = (key: string): string => {
    const full = this.ns + key;
    if (key !== "") this.used.add(full);
    return full;
  };

  async seed(objects: SeedObject[]): Promise<void> {
    if (this.current === undefined) throw new Error(`${this.name}: no remote to seed`);
    await this.options.seed(objects, this.current);
  }

  /** Register a test with the suite's timeout. */
  test(title: string, fn: (ctx: TestContext) => Promise<void>): void {
    it(title, fn, this.options.timeout);
  }

  /** Register the hooks; call inside the suite's `describe`. */
  install(): void {
    const { isolation, timeout } = this.options;
    beforeAll(async () => {
      this.localDir = await mkdtemp(join(tmpdir(), "mlv-testkit-"));
      if (isolation === "suite") await this.open();
    }, timeout);
    afterAll(async () => {
      if (isolation === "suite") await this.shut();
      await rm(this.localDir, { recursive: true, force: true });
    }, timeout);
    beforeEach(async () => {
      this.testNo += 1;
      this.used.clear();
      if (isolation === "suite") this.ns = `mlv-conformance-${this.runId}/t${this.testNo}/`;
      else await this.open();
    }, timeout);
    afterEach(async () => {
      if (isolation === "test") return this.shut();
      await this.removeTestKeys();
    }, timeout);
  }

  private async open(): Promise<void> {
    this.current = await this.options.create();
    if (this.options.writes !== undefined && !isWritable(this.current.remote)) {
      const message = readOnlyMessage(this.name, this.options.writes);
      await this.shut();
      throw new Error(message);
    }
  }

  private async shut(): Promise<void> {
    const done = this.current;
    this.current = undefined;
    if (done === undefined) return;
    try {
      await done.remote.close?.();
    } finally {
      await done.cleanup?.();
    }
  }

  /** In "suite" isolation: delete what the test left below its prefix, when the remote can. */
  private async removeTestKeys(): Promise<void> {
    const remote = this.current?.remote;
    if (remote === undefined || !isWritable(remote)) return; // seeded objects stay until cleanup()
    if (remote.list !== undefined) {
      await pool(await collect(remote.list(this.ns)), 16, (key) => remote.delete(key));
      return;
    }
    // Without a listing, delete every key the test named. Some of them were folders or partial
    // names, which a storage may refuse to delete: the rest is left to cleanup().
    await pool([...this.used], 16, (key) => remote.delete(key).catch(() => {}));
  }
}

function readOnlyMessage(name: string, suite: string): string {
  return (
    `${name}: create() returned a read-only remote (it has no write() and delete()), which ${suite} cannot check. ` +
    "Check it with describeReadableRemoteConformance(name, { create, seed }) instead, where seed(objects, created) " +
    "puts the objects into the storage by other means (for a web server, files written into the folder it serves)."
  );
}

/** A seed that stores the objects through the remote's own write(), `jobs` at a time. */
export function seedByWriting(jobs?: number): Seed<CreatedRemote> {
  return async (objects, created) => {
    const remote = created.remote;
    if (!isWritable(remote)) throw new Error("seedByWriting needs a remote with write()");
    const n = jobs ?? Math.min(remote.capabilities.defaultJobs ?? 8, 32);
    await pool(objects, n, (o) => remote.write(o.key, bodyOf(o.data), o.data.length));
  };
}
