/**
 * The testkit's 200 MiB round trip through writeFile (multipart) and readFile (parallel ranged
 * GETs) on each server, and a 40 MiB stream of unknown size through write() and read().
 */
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { describeLargeObjectRoundTrip, pseudoRandomBlocks } from "@mlv/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createBucket, describeEachServer, dropBucket, remoteFor } from "./helpers.js";

const MiB = 1024 * 1024;

describeEachServer("200 MiB round trip", (server) => {
  describeLargeObjectRoundTrip("s3", {
    create: async () => {
      const bucket = await createBucket(server());
      return { remote: await remoteFor(server(), `s3://${bucket}/big`), cleanup: () => dropBucket(server(), bucket) };
    },
    bytes: 200 * MiB + 12_345,
    // Multipart keeps at most a few 8 MiB parts per upload in memory; downloads stream to the file.
    maxRssGrowthMiB: 150,
  });

  let bucket: string;
  beforeAll(async () => {
    bucket = await createBucket(server());
  });
  afterAll(async () => {
    await dropBucket(server(), bucket);
  });

  it("write() of a 40 MiB stream of unknown size, read() back as a stream", async () => {
    const remote = await remoteFor(server(), `s3://${bucket}/big`);
    const key = "files/md5/bb/0123456789abcdef0123456789abcd";
    const size = 40 * MiB + 7;
    const want = createHash("md5");
    for (const block of pseudoRandomBlocks(size, 7)) want.update(block);
    await remote.write(key, Readable.from(pseudoRandomBlocks(size, 7)));
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
