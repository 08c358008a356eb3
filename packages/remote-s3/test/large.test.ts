/**
 * A 200 MiB object through writeFile (multipart) and readFile (parallel ranged GETs), and a 40 MiB
 * stream of unknown size through write(): the bytes come back intact and the process never holds
 * anything near the whole object in memory.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, open, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createBucket, describeEachServer, dropBucket, remoteFor } from "./helpers.js";

const MiB = 1024 * 1024;
const SIZE = 200 * MiB + 12_345;

/** Deterministic pseudo-random bytes (xorshift32), `size` of them, one MiB at a time. */
function* blocks(size: number, seed = 0x6d6c7633): Generator<Buffer> {
  let x = seed >>> 0;
  for (let left = size; left > 0; ) {
    const n = Math.min(left, MiB);
    const buf = Buffer.allocUnsafe(n + 3);
    for (let i = 0; i < n; i += 4) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      buf.writeUInt32LE(x >>> 0, i);
    }
    left -= n;
    yield buf.subarray(0, n);
  }
}

async function md5OfFile(path: string): Promise<string> {
  const h = createHash("md5");
  for await (const chunk of createReadStream(path, { highWaterMark: MiB })) h.update(chunk as Buffer);
  return h.digest("hex");
}

/** Run `fn` while sampling RSS every 20 ms; resolve to the largest growth above the RSS before it, in bytes. */
async function rssGrowth(fn: () => Promise<void>): Promise<number> {
  globalThis.gc?.();
  const before = process.memoryUsage.rss();
  let peak = before;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 20);
  try {
    await fn();
  } finally {
    clearInterval(timer);
  }
  peak = Math.max(peak, process.memoryUsage.rss());
  return peak - before;
}

let dir: string;
let source: string;
let sourceMd5: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mlv-s3-large-"));
  source = join(dir, "big.bin");
  const h = createHash("md5");
  const fh = await open(source, "w");
  try {
    for (const block of blocks(SIZE)) {
      h.update(block);
      await fh.write(block);
    }
  } finally {
    await fh.close();
  }
  sourceMd5 = h.digest("hex");
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describeEachServer("200 MiB round trip", (server) => {
  let bucket: string;
  beforeAll(async () => {
    bucket = await createBucket(server());
  });
  afterAll(async () => {
    await dropBucket(server(), bucket);
  });

  it("writeFile then readFile give the same bytes, without holding the object in memory", async () => {
    const remote = await remoteFor(server(), `s3://${bucket}/big`);
    const key = "files/md5/aa/0123456789abcdef0123456789abcd";
    await remote.exists(key); // load the SDK before measuring
    const up = await rssGrowth(() => remote.writeFile!(key, source, SIZE));
    const target = join(dir, `down-${server().endpoint.split(":").at(-1)}`);
    const down = await rssGrowth(() => remote.readFile!(key, target));
    console.info(
      `[${server().name}] 200 MiB: RSS growth writeFile ${(up / MiB).toFixed(0)} MiB, readFile ${(down / MiB).toFixed(0)} MiB`,
    );
    expect((await stat(target)).size).toBe(SIZE);
    expect(await md5OfFile(target)).toBe(sourceMd5);
    // Multipart keeps at most a few 8 MiB parts per upload in memory; downloads stream to the file.
    expect(up, `RSS grew by ${(up / MiB).toFixed(0)} MiB during writeFile`).toBeLessThan(150 * MiB);
    expect(down, `RSS grew by ${(down / MiB).toFixed(0)} MiB during readFile`).toBeLessThan(150 * MiB);
    await rm(target);
    await remote.close?.();
  });

  it("write() of a 40 MiB stream of unknown size, read() back as a stream", async () => {
    const remote = await remoteFor(server(), `s3://${bucket}/big`);
    const key = "files/md5/bb/0123456789abcdef0123456789abcd";
    const size = 40 * MiB + 7;
    const want = createHash("md5");
    for (const block of blocks(size, 7)) want.update(block);
    await remote.write(key, Readable.from(blocks(size, 7)));
    const got = createHash("md5");
    let bytes = 0;
    for await (const chunk of await remote.read(key)) {
      got.update(chunk as Buffer);
      bytes += (chunk as Buffer).length;
    }
    expect(bytes).toBe(size);
    expect(got.digest("hex")).toBe(want.digest("hex"));
    await remote.close?.();
  });
});
