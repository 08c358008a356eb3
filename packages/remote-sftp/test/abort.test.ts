/**
 * Uploads stopped by their signal (Ctrl-C) leave nothing on the server, writeFile reports its
 * progress, and removeStaleTemps clears what killed uploads left (what `gc -c` calls).
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import type { Remote } from "@mlv/core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { newRemote, noServer } from "./helpers.js";

const MiB = 1024 * 1024;
const BIG = 32 * MiB;

/** Every file below `dir` on the server's disk, as paths relative to it. */
function filesBelow(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

describe.skipIf(noServer)("sftp uploads and their signal", () => {
  let local: string;
  let bigFile: string;
  const opened: { remote: Remote; drop: () => void }[] = [];
  beforeAll(() => {
    local = mkdtempSync(join(tmpdir(), "mlv-sftp-abort-"));
    bigFile = join(local, "big");
    writeFileSync(bigFile, randomBytes(BIG));
  });
  afterAll(() => rmSync(local, { recursive: true, force: true }));
  afterEach(async () => {
    for (const { remote, drop } of opened.splice(0)) {
      await remote.close?.();
      drop();
    }
  });
  async function fresh() {
    const { remote, folder } = await newRemote();
    opened.push({ remote, drop: folder.drop });
    return { remote, folder };
  }

  it("writeFile: an abort mid-upload stops it, rejects with the signal's reason and leaves no file", async () => {
    const { remote, folder } = await fresh();
    await remote.write("files/md5/ab/other", Readable.from([Buffer.from("kept")]), 4);
    const controller = new AbortController();
    const seen: number[] = [];
    const upload = remote.writeFile?.("files/md5/ab/big", bigFile, BIG, {
      signal: controller.signal,
      onProgress: (bytes) => {
        seen.push(bytes);
        if (bytes >= 2 * MiB) controller.abort();
      },
    });
    const err = await upload?.catch((e: unknown) => e);
    expect(err).toBe(controller.signal.reason);
    expect((err as Error).name).toBe("AbortError");
    expect(seen.at(-1)).toBeLessThan(BIG); // stopped, not finished first
    expect(filesBelow(folder.local)).toEqual(["files/md5/ab/other"]);
    expect(await remote.exists("files/md5/ab/big")).toBe(false);
  });

  it("write: an abort mid-stream rejects with the reason, ends the body and leaves no file", async () => {
    const { remote, folder } = await fresh();
    const controller = new AbortController();
    const reason = new Error("stopped by the user");
    let produced = 0;
    const body = Readable.from(
      (function* () {
        while (produced < BIG) {
          if (produced === 4 * MiB) controller.abort(reason);
          produced += 256 * 1024;
          yield randomBytes(256 * 1024);
        }
      })(),
    );
    await expect(remote.write("files/md5/cd/big", body, BIG, { signal: controller.signal })).rejects.toBe(reason);
    expect(body.destroyed).toBe(true);
    expect(produced).toBeLessThan(BIG);
    // The folder was made for the upload: it stays, empty.
    expect(filesBelow(folder.local)).toEqual([]);
    expect(await remote.exists("files/md5/cd/big")).toBe(false);
  });

  it("an already aborted signal rejects before anything reaches the server", async () => {
    const { remote, folder } = await fresh();
    const controller = new AbortController();
    controller.abort();
    const body = Readable.from([Buffer.from("data")]);
    await expect(remote.write("files/md5/ab/x", body, 4, { signal: controller.signal })).rejects.toBe(
      controller.signal.reason,
    );
    expect(body.destroyed).toBe(true);
    await expect(remote.writeFile?.("files/md5/ab/y", bigFile, BIG, { signal: controller.signal })).rejects.toBe(
      controller.signal.reason,
    );
    expect(existsSync(folder.local)).toBe(false); // the first upload would have created it
  });

  it.each([
    ["a big file", BIG],
    ["a small file", 300 * 1024],
  ])("writeFile of %s reports increasing byte counts up to its size", async (_, size) => {
    const { remote, folder } = await fresh();
    const file = join(local, `part-${size}`);
    writeFileSync(file, randomBytes(size));
    const seen: number[] = [];
    await remote.writeFile?.("files/md5/ef/obj", file, size, { onProgress: (bytes) => seen.push(bytes) });
    expect(seen.length).toBeGreaterThan(1);
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThan(seen[i - 1]!);
    expect(seen.at(-1)).toBe(size);
    expect(filesBelow(folder.local)).toEqual(["files/md5/ef/obj"]);
  });
});

describe.skipIf(noServer)("sftp removeStaleTemps", () => {
  it("removes stale temporary files from the object folders, keeps fresh ones; dry only lists", async () => {
    const { remote, folder } = await newRemote();
    try {
      await remote.write("files/md5/ab/cdef", Readable.from([Buffer.from("one")]), 3);
      await remote.write("12/3456", Readable.from([Buffer.from("two")]), 3); // DVC 2.x's layout
      const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600 * 1000);
      const old = {
        dvc: "files/md5/ab/.Yk2bM_0aZq1w-hT7.tmp",
        mlvOtherHost: "files/md5/ab/.mlv-999998-00000000-abc-0.tmp",
        legacy: "12/3456.Yk2bM_0aZq1w-hT7Qm9xZ1.tmp",
      };
      const fresh = "files/md5/ab/.mlv-999999-00000000-abc-0.tmp"; // another machine's upload, maybe running
      for (const key of [...Object.values(old), fresh]) writeFileSync(join(folder.local, key), "partial");
      for (const key of Object.values(old)) utimesSync(join(folder.local, key), twoDaysAgo, twoDaysAgo);
      const stale = Object.values(old).sort();
      const everything = ["12/3456", "files/md5/ab/cdef", fresh, ...stale].sort();

      expect(await remote.removeStaleTemps?.({ dry: true })).toEqual(stale);
      expect(filesBelow(folder.local)).toEqual(everything);

      expect(await remote.removeStaleTemps?.()).toEqual(stale);
      expect(filesBelow(folder.local)).toEqual(["12/3456", "files/md5/ab/cdef", fresh].sort());
      expect(await remote.removeStaleTemps?.()).toEqual([]);

      const controller = new AbortController();
      controller.abort();
      await expect(remote.removeStaleTemps?.({ signal: controller.signal })).rejects.toBe(controller.signal.reason);
    } finally {
      await remote.close?.();
      folder.drop();
    }
  });
});
