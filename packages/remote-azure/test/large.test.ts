/**
 * A 200 MiB object through writeFile and readFile: staged blocks up, one resumable stream down,
 * bytes compared by md5, and the test process's memory stays far below the object's size.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, open, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import adapter, { DEFAULT_TUNING } from "@mlv/remote-azure";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectionString, newContainer, noServer } from "./helpers.js";

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

describe.skipIf(noServer)("azure: a 200 MiB object", () => {
  let dir = "";
  let container: Awaited<ReturnType<typeof newContainer>>;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mlv-azure-large-"));
    container = await newContainer();
  });
  afterAll(async () => {
    await container?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it("goes up in staged blocks and comes back whole, without holding it in memory", async () => {
    const src = join(dir, "src.bin");
    const md5 = await writeData(src, SIZE, 20240601);
    const remote = await adapter.create({
      name: "big",
      url: `azure://${container.name}/big`,
      options: { connection_string: connectionString() },
    });
    const key = `files/md5/${md5.slice(0, 2)}/${md5.slice(2)}`;
    global.gc?.();
    const baseline = process.memoryUsage().rss;

    const upPeak = await peakRss(() => remote.writeFile!(key, src, SIZE));
    // Above maxSingleShotSize the file went as staged blocks of blockSize, committed as one list.
    expect(DEFAULT_TUNING.maxSingleShotSize).toBeLessThan(SIZE);
    const blocks = await container.client.getBlockBlobClient(`big/${key}`).getBlockList("committed");
    expect(blocks.committedBlocks?.length).toBe(Math.ceil(SIZE / DEFAULT_TUNING.blockSize));
    expect(await remote.exists(key)).toBe(true);

    const dest = join(dir, "dest.bin");
    const downPeak = await peakRss(() => remote.readFile!(key, dest));
    expect((await stat(dest)).size).toBe(SIZE);
    expect(await md5File(dest)).toBe(md5);
    await remote.close?.();

    const grew = Math.max(upPeak, downPeak) - baseline;
    console.log(`RSS grew by at most ${(grew / MiB).toFixed(1)} MiB while moving ${SIZE / MiB} MiB`);
    expect(grew).toBeLessThan(100 * MiB);
  }, 300_000);
});
