/**
 * `describeLargeObjectRoundTrip`: one big object (200 MiB by default) through an adapter's
 * writeFile and readFile, checked byte for byte, while the test process's memory is watched.
 */
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, open, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { isWritable, type Remote } from "@mlv/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CreatedRemote } from "./harness.js";

const MiB = 1024 * 1024;

export interface LargeObjectOptions<T extends CreatedRemote = CreatedRemote> {
  /**
   * Create a client for a fresh, empty, writable remote, tuned as the adapter needs (part sizes,
   * timeouts). It may return more than `{ remote, cleanup }`: the whole object is handed to `afterWrite`.
   */
  create: () => Promise<T> | T;
  /** Size of the object. Default 200 MiB. */
  bytes?: number;
  /** How far the process's RSS may grow above its level before the upload, in MiB. Default 100. */
  maxRssGrowthMiB?: number;
  /** Timeout of the test and of each hook, in ms. Default 300,000. */
  timeoutMs?: number;
  /** Skip the suite (for example when the adapter's server is not running). */
  skip?: boolean;
  /**
   * Adapter-specific checks of the stored object, run after the upload and before the download
   * (block counts, no temporary file left beside it, …).
   */
  afterWrite?: (uploaded: UploadedObject<T>) => Promise<void> | void;
}

export interface UploadedObject<T extends CreatedRemote = CreatedRemote> {
  /** What `create` returned. */
  created: T;
  /** The object's key: `files/md5/<2 hex>/<30 hex>`, from the md5 of its bytes. */
  key: string;
  /** The local file that was uploaded. */
  source: string;
  bytes: number;
  /** md5 of the bytes, in hex. */
  md5: string;
}

/**
 * Register a test that uploads a large object with `writeFile` and downloads it with `readFile`
 * (with `write` and `read` for an adapter that does not announce them), checks that the bytes come
 * back identical (size and md5), and that the process's RSS never grows by more than
 * `maxRssGrowthMiB`: an adapter must stream, never hold a whole object. Must be called from a
 * vitest test file.
 */
export function describeLargeObjectRoundTrip<T extends CreatedRemote>(
  name: string,
  options: LargeObjectOptions<T>,
): void {
  const bytes = options.bytes ?? 200 * MiB;
  const maxGrowth = (options.maxRssGrowthMiB ?? 100) * MiB;
  const timeout = options.timeoutMs ?? 300_000;
  const size = `${Number.isInteger(bytes / MiB) ? bytes / MiB : (bytes / MiB).toFixed(1)} MiB`;

  describe.skipIf(options.skip === true)(`${name}: a ${size} object round trip`, () => {
    let dir = "";
    let source = "";
    let md5 = "";
    let key = "";
    let created: T | undefined;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), "mlv-testkit-large-"));
      source = join(dir, "source.bin");
      md5 = await writePseudoRandomFile(source, bytes);
      key = `files/md5/${md5.slice(0, 2)}/${md5.slice(2)}`;
      created = await options.create();
      if (!isWritable(created.remote)) {
        throw new Error(
          `${name}: create() returned a read-only remote (it has no write() and delete()); the round trip needs to upload`,
        );
      }
    }, timeout);

    afterAll(async () => {
      const done = created;
      created = undefined;
      try {
        if (done !== undefined) {
          try {
            if (isWritable(done.remote)) await done.remote.delete(key);
          } finally {
            try {
              await done.remote.close?.();
            } finally {
              await done.cleanup?.();
            }
          }
        }
      } finally {
        if (dir) await rm(dir, { recursive: true, force: true });
      }
    }, timeout);

    it(
      `comes back byte for byte, streamed both ways without holding it in memory`,
      async () => {
        if (created === undefined) throw new Error("create() did not return a remote");
        const remote = created.remote as Remote; // beforeAll refused a read-only one
        const viaFile = remote.capabilities.writeFile === true && remote.capabilities.readFile === true;
        const upload = viaFile
          ? () => remote.writeFile!(key, source, bytes)
          : () => remote.write(key, createReadStream(source, { highWaterMark: MiB }), bytes);
        const dest = join(dir, "dest.bin");
        const download = viaFile
          ? () => remote.readFile!(key, dest)
          : async () => pipeline(await remote.read(key), createWriteStream(dest));

        // Load the SDK and open the connection before measuring; the remote must start empty.
        expect(await remote.exists(key), `${key} exists on a fresh remote`).toBe(false);
        (globalThis as { gc?: () => void }).gc?.();
        const baseline = process.memoryUsage.rss();

        let t = performance.now();
        const upPeak = await peakRss(upload);
        const upSeconds = (performance.now() - t) / 1000;
        expect(await remote.exists(key), `${key} exists after the upload`).toBe(true);
        await options.afterWrite?.({ created, key, source, bytes, md5 });

        t = performance.now();
        const downPeak = await peakRss(download);
        const downSeconds = (performance.now() - t) / 1000;
        expect((await stat(dest)).size, "downloaded size").toBe(bytes);
        expect(await md5OfFile(dest), "md5 of the downloaded file").toBe(md5);

        const up = upPeak - baseline;
        const down = downPeak - baseline;
        const mib = (n: number) => (n / MiB).toFixed(0);
        const rate = (s: number) => (bytes / MiB / s).toFixed(0);
        console.info(
          `${name}: ${size} via ${viaFile ? "writeFile/readFile" : "write/read"}: up ${upSeconds.toFixed(1)} s (${rate(upSeconds)} MiB/s), ` +
            `down ${downSeconds.toFixed(1)} s (${rate(downSeconds)} MiB/s); RSS growth up ${mib(up)} MiB, down ${mib(down)} MiB`,
        );
        expect(up, `RSS grew by ${mib(up)} MiB during the upload`).toBeLessThan(maxGrowth);
        expect(down, `RSS grew by ${mib(down)} MiB during the download`).toBeLessThan(maxGrowth);
      },
      timeout,
    );
  });
}

/**
 * Deterministic pseudo-random bytes (xorshift32 from `seed`), `size` of them, in fresh buffers of
 * at most 1 MiB: the same seed always gives the same bytes, and nothing holds more than one block.
 */
export function* pseudoRandomBlocks(size: number, seed = 20240601): Generator<Buffer> {
  let x = seed >>> 0 || 1;
  for (let left = size; left > 0; ) {
    const n = Math.min(left, MiB);
    const buf = Buffer.allocUnsafe(Math.ceil(n / 4) * 4);
    const words = new Uint32Array(buf.buffer, buf.byteOffset, buf.length / 4);
    for (let i = 0; i < words.length; i++) {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      words[i] = x;
    }
    left -= n;
    yield buf.subarray(0, n);
  }
}

/** Write `size` bytes of pseudoRandomBlocks() to `path`; resolve to their md5 (hex). */
async function writePseudoRandomFile(path: string, size: number): Promise<string> {
  const hash = createHash("md5");
  const fh = await open(path, "w");
  try {
    for (const block of pseudoRandomBlocks(size)) {
      hash.update(block);
      await fh.write(block);
    }
  } finally {
    await fh.close();
  }
  return hash.digest("hex");
}

async function md5OfFile(path: string): Promise<string> {
  const hash = createHash("md5");
  for await (const chunk of createReadStream(path, { highWaterMark: MiB })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** The highest RSS seen while `fn` runs, sampled every 20 ms. */
async function peakRss(fn: () => Promise<void>): Promise<number> {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 20);
  try {
    await fn();
  } finally {
    clearInterval(timer);
  }
  return Math.max(peak, process.memoryUsage.rss());
}
