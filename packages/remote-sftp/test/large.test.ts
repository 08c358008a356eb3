/**
 * A 200 MiB object through writeFile and readFile (fastPut/fastGet: parallel requests of up to
 * 256 KiB), bytes compared by md5, and the test process's memory stays far below the object's size.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, open, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newRemote, noServer } from "./helpers.js";

const MiB = 1024 * 1024;
const SIZE = 200 * MiB;

/** Deterministic pseudo-random bytes (xorshift32), written 1 MiB at a time; returns their md5. */
async function writeData(path: string, size: number, seed: number): Promise<string> {
  const hash = createHash("md5");
  const buf = Buffer.alloc(MiB);
  const words = new Uint32Array(buf.buffer, buf.byteOffset, MiB / 4);
  let x = seed >>> 0 || 1;
  const fh = await open(path, "w");
  try {
    for (let done = 0; done < size; done += MiB) {
      for (let i = 0; i < words.length; i++) {
        x ^= x << 13;
        x >>>= 0;
        x ^= x >>> 17;
        x ^= x << 5;
        x >>>= 0;
        words[i] = x;
      }
      const n = Math.min(MiB, size - done);
      hash.update(buf.subarray(0, n));
      await fh.write(buf, 0, n);
    }
  } finally {
    await fh.close();
  }
  return hash.digest("hex");
}

async function md5File(path: string): Promise<string> {
  const hash = createHash("md5");
  for await (const chunk of createReadStream(path, { highWaterMark: MiB })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** The highest RSS seen while `fn` runs, sampled every 20 ms. */
async function peakRss(fn: () => Promise<void>): Promise<number> {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  try {
    await fn();
  } finally {
    clearInterval(timer);
  }
  return Math.max(peak, process.memoryUsage().rss);
}

describe.skipIf(noServer)("sftp: a 200 MiB object", () => {
  let dir = "";
  let drop = () => {};
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mlv-sftp-large-"));
  });
  afterAll(async () => {
    drop();
    await rm(dir, { recursive: true, force: true });
  });

  it("goes up with fastPut and comes back with fastGet, whole, without holding it in memory", async () => {
    const src = join(dir, "src.bin");
    const md5 = await writeData(src, SIZE, 20240601);
    const { remote, folder } = await newRemote();
    drop = folder.drop;
    const key = `files/md5/${md5.slice(0, 2)}/${md5.slice(2)}`;
    global.gc?.();
    const baseline = process.memoryUsage().rss;

    let t = performance.now();
    const upPeak = await peakRss(() => remote.writeFile!(key, src, SIZE));
    const up = (performance.now() - t) / 1000;
    // On the server: the object under its final name, and no temporary file left beside it.
    const stored = join(folder.local, key);
    expect((await stat(stored)).size).toBe(SIZE);
    expect(await readdir(join(folder.local, "files/md5", md5.slice(0, 2)))).toEqual([md5.slice(2)]);
    expect(await md5File(stored)).toBe(md5);

    const dest = join(dir, "dest.bin");
    t = performance.now();
    const downPeak = await peakRss(() => remote.readFile!(key, dest));
    const down = (performance.now() - t) / 1000;
    expect((await stat(dest)).size).toBe(SIZE);
    expect(await md5File(dest)).toBe(md5);
    await remote.close?.();

    const grew = Math.max(upPeak, downPeak) - baseline;
    console.log(
      `200 MiB: up ${(200 / up).toFixed(0)} MiB/s, down ${(200 / down).toFixed(0)} MiB/s; RSS grew by at most ${(grew / MiB).toFixed(1)} MiB`,
    );
    expect(grew).toBeLessThan(100 * MiB);
  }, 300_000);
});
