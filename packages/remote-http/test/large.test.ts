/**
 * Big objects: the testkit's 200 MiB round trip through writeFile and readFile (streamed upload,
 * parallel ranged GETs into the file) with its memory check, and a 120 MiB object read by ranges
 * from a server that serves them and from one that ignores them.
 */
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream, mkdirSync } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import adapter, { RANGE_SIZE } from "@mlv/remote-http";
import { describeLargeObjectRoundTrip, pseudoRandomBlocks } from "@mlv/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accessLog, newFolder, newRemote, noServer, urlOf } from "./helpers.js";

const MiB = 1024 * 1024;

describeLargeObjectRoundTrip("http (nginx WebDAV)", {
  skip: noServer,
  create: () => {
    const { remote, folder } = newRemote();
    return { remote, cleanup: folder.drop };
  },
  bytes: 200 * MiB + 12_345,
});

async function md5Of(path: string): Promise<string> {
  const h = createHash("md5");
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.digest("hex");
}

describe.skipIf(noServer)("a 120 MiB object read with readFile", () => {
  const size = 120 * MiB + 4321;
  const key = "files/md5/12/0123456789abcdef0123456789abcd";
  let folder: ReturnType<typeof newFolder>;
  let dir = "";
  let want = "";

  beforeAll(async () => {
    folder = newFolder("rw");
    dir = await mkdtemp(join(tmpdir(), "mlv-http-large-"));
    const path = join(folder.local, key);
    mkdirSync(dirname(path), { recursive: true });
    const h = createHash("md5");
    await pipeline(
      Readable.from(pseudoRandomBlocks(size, 99)).on("data", (c: Buffer) => h.update(c)),
      createWriteStream(path),
    );
    want = h.digest("hex");
  });
  afterAll(async () => {
    folder?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("comes as parallel ranges written in place, byte for byte", async () => {
    const remote = adapter.create({ name: "web", url: folder.url, options: {} });
    const before = accessLog().length;
    const dest = join(dir, "ranges.bin");
    const t = performance.now();
    await remote.readFile!(key, dest);
    const seconds = (performance.now() - t) / 1000;
    expect((await stat(dest)).size).toBe(size);
    expect(await md5Of(dest)).toBe(want);
    const ranges = accessLog()
      .slice(before)
      .map((l) => /"bytes=(\d+)-(\d+)"/.exec(l)?.slice(1).map(Number) ?? [])
      .sort((a, b) => a[0]! - b[0]!);
    const expected = Array.from({ length: Math.ceil(size / RANGE_SIZE) }, (_, i) => [
      i * RANGE_SIZE,
      Math.min(size, (i + 1) * RANGE_SIZE) - 1,
    ]);
    expected[0]![1] = RANGE_SIZE - 1;
    expect(ranges).toEqual(expected);
    console.info(
      `http readFile of 120 MiB by ranges: ${seconds.toFixed(2)} s (${(size / MiB / seconds).toFixed(0)} MiB/s)`,
    );
    await remote.close?.();
  });

  it("from a server that ignores Range: one streamed answer", async () => {
    const remote = adapter.create({ name: "web", url: urlOf("norange", folder.name), options: {} });
    const before = accessLog().length;
    const dest = join(dir, "whole.bin");
    await remote.readFile!(key, dest);
    expect(await md5Of(dest)).toBe(want);
    const lines = accessLog().slice(before);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^GET /norange/${folder.name}/${key} 200 ${size} `));
    await remote.close?.();
  });
});
