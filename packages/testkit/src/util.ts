/** Byte sources, readers and assertions shared by the suites. */
import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { type ByteRange, ObjectNotFoundError, type ReadableRemote } from "@mlv/core";
import { expect } from "vitest";

export const KiB = 1024;
export const MiB = 1024 * KiB;

/** Sizes around the chunk sizes of streams, file systems, HTTP bodies and SDK buffers. */
export const BOUNDARY_SIZES = [
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
export const CHUNKINGS: number[][] = [[Number.POSITIVE_INFINITY], [1, 7, 1000], [4093, 65_537, 300_000]];

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

export function sorted(keys: string[]): string[] {
  return [...keys].sort();
}

export async function readAll(remote: ReadableRemote, key: string, range?: ByteRange): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const stream = range === undefined ? await remote.read(key) : await remote.read(key, range);
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export function describeRange(range: ByteRange): string {
  return `range { offset: ${range.offset}${range.length === undefined ? "" : `, length: ${range.length}`} }`;
}

/** Random bytes produced one chunk at a time as they are pulled; their md5 is known once they are all out. */
export function generated(size: number): { stream: Readable; md5: () => string } {
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

export function md5Of(data: Buffer): string {
  return createHash("md5").update(data).digest("hex");
}

export async function digestOf(stream: Readable): Promise<{ bytes: number; md5: string }> {
  const hash = createHash("md5");
  let bytes = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { bytes, md5: hash.digest("hex") };
}

/** A body that yields `goodBytes` bytes and then fails, as a cache file that cannot be read would. */
export function failingBody(goodBytes: number): Readable {
  return Readable.from(
    (async function* () {
      for (let at = 0; at < goodBytes; at += 50 * KiB) yield randomBytes(Math.min(50 * KiB, goodBytes - at));
      await new Promise((ok) => setTimeout(ok, 10));
      throw new Error("mlv-testkit: the body stream failed on purpose");
    })(),
    { objectMode: false },
  );
}

export async function expectNotFound(promise: Promise<unknown>, what: string): Promise<void> {
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

export function expectSameBytes(got: Buffer, want: Buffer, what = "object"): void {
  expect(got.length, `${what}: byte count`).toBe(want.length);
  if (got.equals(want)) return;
  let at = 0;
  while (got[at] === want[at]) at++;
  expect.fail(`${what}: bytes differ first at offset ${at} (got ${got[at]}, want ${want[at]})`);
}

export function signal(): { fire: () => void; fired: Promise<void> } {
  let fire!: () => void;
  const fired = new Promise<void>((ok) => {
    fire = ok;
  });
  return { fire, fired };
}

/** Run `fn` over `items`, at most `jobs` at a time. */
export async function pool<T>(items: T[], jobs: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, items.length)) }, worker));
}
