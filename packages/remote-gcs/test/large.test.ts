/**
 * A 200 MiB object through writeFile and readFile: the bytes come back identical, and the test
 * process does not hold the object in memory (its RSS grows by far less than 200 MiB).
 */
import { createCipheriv, createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Remote } from "@mlv/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emptyRemote, emulatorRemote, endpoint, freshBucket, unavailable } from "./helpers.js";

const MiB = 1024 * 1024;
const SIZE = 200 * MiB;

/** `size` deterministic pseudo-random bytes (AES-128-CTR of zeros), one MiB at a time. */
function deterministicBytes(size: number): Readable {
  const cipher = createCipheriv("aes-128-ctr", Buffer.alloc(16, 7), Buffer.alloc(16, 0));
  const zeros = Buffer.alloc(MiB);
  let left = size;
  return new Readable({
    read() {
      if (left === 0) return void this.push(null);
      const n = Math.min(left, MiB);
      left -= n;
      this.push(cipher.update(zeros.subarray(0, n)));
    },
  });
}

async function md5File(path: string): Promise<string> {
  const hash = createHash("md5");
  for await (const chunk of createReadStream(path, { highWaterMark: MiB })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** Track the highest RSS while `fn` runs. */
async function peakRss<T>(fn: () => Promise<T>): Promise<{ result: T; peak: number }> {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  try {
    const result = await fn();
    return { result, peak: Math.max(peak, process.memoryUsage().rss) };
  } finally {
    clearInterval(timer);
  }
}

describe.skipIf(endpoint === undefined)(
  `gcs: a 200 MiB object${unavailable ? ` (SKIPPED: ${unavailable})` : ""}`,
  () => {
    let dir = "";
    let remote: Remote;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), "mlv-gcs-large-"));
      remote = await emulatorRemote(`gs://${freshBucket()}/big`);
    });
    afterAll(async () => {
      await emptyRemote(remote).catch(() => {});
      await remote.close?.();
      await rm(dir, { recursive: true, force: true });
    });

    it("round-trips through writeFile and readFile, streaming", async () => {
      const src = join(dir, "src.bin");
      const hash = createHash("md5");
      await pipeline(
        deterministicBytes(SIZE),
        async function* (chunks) {
          for await (const chunk of chunks) {
            hash.update(chunk as Buffer);
            yield chunk;
          }
        },
        createWriteStream(src),
      );
      const md5 = hash.digest("hex");
      const key = `files/md5/${md5.slice(0, 2)}/${md5.slice(2)}`;

      global.gc?.();
      const base = process.memoryUsage().rss;
      const t0 = Date.now();
      const up = await peakRss(() => remote.writeFile!(key, src, SIZE));
      const t1 = Date.now();
      expect(await remote.exists(key)).toBe(true);
      const dest = join(dir, "dest.bin");
      const down = await peakRss(() => remote.readFile!(key, dest));
      const t2 = Date.now();

      expect((await stat(dest)).size).toBe(SIZE);
      expect(await md5File(dest)).toBe(md5);
      const growth = Math.max(up.peak, down.peak) - base;
      console.log(
        `200 MiB: upload ${((t1 - t0) / 1000).toFixed(1)} s, download ${((t2 - t1) / 1000).toFixed(1)} s, ` +
          `RSS peak growth ${(growth / MiB).toFixed(0)} MiB (upload ${((up.peak - base) / MiB).toFixed(0)}, download ${((down.peak - base) / MiB).toFixed(0)})`,
      );
      expect(growth).toBeLessThan(80 * MiB);
    }, 600_000);
  },
);
