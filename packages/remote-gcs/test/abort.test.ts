/**
 * Uploads on the emulator: an aborted one (Ctrl-C during push) rejects with the signal's reason
 * and leaves no object; writeFile reports its progress.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import type { Remote } from "@mlv/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emulatorRemote, endpoint, freshBucket, unavailable } from "./helpers.js";

const MiB = 1024 * 1024;

describe.skipIf(endpoint === undefined)(`gcs uploads${unavailable ? ` (SKIPPED: ${unavailable})` : ""}`, () => {
  let remote: Remote;
  let dir: string;
  let file: string;
  const size = 24 * MiB + 5;
  beforeAll(async () => {
    remote = await emulatorRemote(`gs://${freshBucket()}/up`);
    dir = mkdtempSync(join(tmpdir(), "mlv-gcs-abort-"));
    file = join(dir, "big");
    writeFileSync(file, randomBytes(size));
  });
  afterAll(async () => {
    await remote?.close?.();
    rmSync(dir, { recursive: true, force: true });
  });

  it("writeFile reports the bytes sent, growing to the whole file", async () => {
    const seen: number[] = [];
    await remote.writeFile!("files/md5/aa/progress", file, size, { onProgress: (n) => seen.push(n) });
    expect(seen.length).toBeGreaterThan(1);
    expect(seen.every((n, i) => i === 0 || n >= seen[i - 1]!)).toBe(true);
    expect(seen.at(-1)).toBe(size);
    expect(await remote.exists("files/md5/aa/progress")).toBe(true);
  });

  it("writeFile aborted midway rejects with the reason and leaves no object", async () => {
    const key = "files/md5/bb/aborted";
    const controller = new AbortController();
    const reason = new Error("interrupted");
    let at = 0;
    const upload = remote.writeFile!(key, file, size, {
      signal: controller.signal,
      onProgress: (n) => {
        if (n >= 4 * MiB && !controller.signal.aborted) {
          at = n;
          controller.abort(reason);
        }
      },
    });
    await expect(upload).rejects.toBe(reason);
    expect(at).toBeGreaterThan(0);
    expect(at).toBeLessThan(size);
    // Give the server the time to act on the cut request: the object must not appear late either.
    await sleep(500);
    expect(await remote.exists(key)).toBe(false);
  });

  it("write of a stream aborted midway rejects with the reason and leaves no object", async () => {
    const key = "files/md5/cc/aborted";
    const controller = new AbortController();
    const reason = new Error("interrupted");
    let given = 0;
    const body = Readable.from(
      (function* () {
        const block = randomBytes(MiB);
        for (let i = 0; i < 30; i++) {
          if (i === 10) controller.abort(reason);
          given += block.length;
          yield block;
        }
      })(),
    );
    await expect(remote.write(key, body, undefined, { signal: controller.signal })).rejects.toBe(reason);
    expect(given).toBeLessThan(30 * MiB);
    await sleep(500);
    expect(await remote.exists(key)).toBe(false);
  });

  it("an already aborted signal rejects before anything is sent", async () => {
    const reason = new Error("stopped before");
    const signal = AbortSignal.abort(reason);
    await expect(remote.write("a/small", Readable.from([Buffer.from("data")]), 4, { signal })).rejects.toBe(reason);
    await expect(remote.writeFile!("a/file", file, size, { signal })).rejects.toBe(reason);
    expect(await remote.exists("a/small")).toBe(false);
    expect(await remote.exists("a/file")).toBe(false);
  });
});
