/** writeFile tells core how far a multipart upload got, part by part, for the progress bar. */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createBucket, describeEachServer, dropBucket, remoteFor } from "./helpers.js";

const MiB = 1024 * 1024;

describeEachServer(
  "writeFile progress",
  (server) => {
    let bucket: string;
    const dir = mkdtempSync(join(tmpdir(), "mlv-s3-progress-"));
    beforeAll(async () => {
      bucket = await createBucket(server());
    });
    afterAll(async () => {
      await dropBucket(server(), bucket);
      rmSync(dir, { recursive: true, force: true });
    });

    it("reports the bytes of the parts sent, growing to the whole file", async () => {
      const size = 20 * MiB + 5;
      const file = join(dir, "big");
      writeFileSync(file, randomBytes(size));
      const remote = await remoteFor(server(), `s3://${bucket}/p`);
      const seen: number[] = [];
      await remote.writeFile!("files/md5/aa/0123456789abcdef0123456789abcd", file, size, {
        onProgress: (n) => seen.push(n),
      });
      // Three 8 MiB parts: a report for each, the last one the whole size.
      expect(seen.length).toBeGreaterThanOrEqual(3);
      expect(seen.every((n, i) => i === 0 || n >= seen[i - 1]!)).toBe(true);
      expect(Math.max(...seen)).toBe(size);
      await remote.close?.();
    });
  },
  ["s3rver"],
);
