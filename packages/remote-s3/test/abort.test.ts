/**
 * An aborted upload (Ctrl-C during push) stops, leaves neither the object nor an unfinished
 * multipart upload behind, and rejects with the signal's reason.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { ListMultipartUploadsCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createBucket, describeEachServer, dropBucket, type Running, remoteFor, sdkClient } from "./helpers.js";

const MiB = 1024 * 1024;

/**
 * Keys of the multipart uploads begun and neither completed nor aborted under `prefix` (s3rver
 * cannot list them: none there).
 */
async function openUploads(server: Running, bucket: string, prefix: string): Promise<string[]> {
  if (server.name === "s3rver") return [];
  const client = sdkClient(server);
  try {
    const out = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }));
    return (out.Uploads ?? []).map((u) => u.Key ?? "");
  } finally {
    client.destroy();
  }
}

describeEachServer("aborted uploads", (server) => {
  let bucket: string;
  const dir = mkdtempSync(join(tmpdir(), "mlv-s3-abort-"));
  beforeAll(async () => {
    bucket = await createBucket(server());
  });
  afterAll(async () => {
    await dropBucket(server(), bucket);
    rmSync(dir, { recursive: true, force: true });
  });

  it("writeFile aborted after its first part: rejects with the reason, no object, no open upload", async () => {
    const size = 40 * MiB + 3;
    const file = join(dir, "big");
    writeFileSync(file, randomBytes(size));
    const remote = await remoteFor(server(), `s3://${bucket}/wf`);
    const key = "files/md5/aa/0123456789abcdef0123456789abcd";
    const controller = new AbortController();
    const reason = new Error("interrupted");
    const seen: number[] = [];
    const upload = remote.writeFile!(key, file, size, {
      signal: controller.signal,
      onProgress: (n) => {
        seen.push(n);
        controller.abort(reason);
      },
    });
    await expect(upload).rejects.toBe(reason);
    // The abort came once a part was sent, before the whole file was.
    expect(seen.length).toBeGreaterThan(0);
    expect(Math.min(...seen)).toBeLessThan(size);
    expect(await remote.exists(key)).toBe(false);
    expect(await openUploads(server(), bucket, "wf/")).toEqual([]);
    // The key can still be written afterwards.
    await remote.write(key, Readable.from([Buffer.from("after")]), 5);
    expect(await remote.exists(key)).toBe(true);
    await remote.close?.();
  });

  it("write of a stream of unknown size aborted midway: rejects with the reason, no object, no open upload", async () => {
    const remote = await remoteFor(server(), `s3://${bucket}/w`);
    const key = "files/md5/bb/0123456789abcdef0123456789abcd";
    const controller = new AbortController();
    const reason = new Error("interrupted");
    let given = 0;
    const body = Readable.from(
      (function* () {
        const block = randomBytes(MiB);
        for (let i = 0; i < 40; i++) {
          // Past the first 8 MiB part: the multipart upload has begun.
          if (i === 12) controller.abort(reason);
          given += block.length;
          yield block;
        }
      })(),
    );
    await expect(remote.write(key, body, undefined, { signal: controller.signal })).rejects.toBe(reason);
    expect(given).toBeLessThan(40 * MiB);
    expect(await remote.exists(key)).toBe(false);
    expect(await openUploads(server(), bucket, "w/")).toEqual([]);
    await remote.close?.();
  });

  it("an already aborted signal rejects before anything is sent", async () => {
    const remote = await remoteFor(server(), `s3://${bucket}/pre`);
    const file = join(dir, "small");
    writeFileSync(file, "data");
    const reason = new Error("stopped before");
    const signal = AbortSignal.abort(reason);
    await expect(remote.write("a/small", Readable.from([Buffer.from("data")]), 4, { signal })).rejects.toBe(reason);
    await expect(remote.writeFile!("a/file", file, 4, { signal })).rejects.toBe(reason);
    expect(await remote.exists("a/small")).toBe(false);
    expect(await remote.exists("a/file")).toBe(false);
    await remote.close?.();
  });
});
