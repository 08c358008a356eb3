/**
 * The testkit's 200 MiB round trip through writeFile and readFile (parallel writes / fastGet: parallel
 * requests of up to 256 KiB) on OpenSSH, and what the upload left on the server's disk.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { describeLargeObjectRoundTrip } from "@mlv/testkit";
import { expect } from "vitest";
import { newRemote, noServer } from "./helpers.js";

describeLargeObjectRoundTrip("sftp", {
  create: async () => {
    const { remote, folder } = await newRemote();
    return { remote, folder, cleanup: folder.drop };
  },
  skip: noServer,
  afterWrite: async ({ created, key, bytes, md5 }) => {
    // On the server: the object under its final name, and no temporary file left beside it.
    const stored = join(created.folder.local, key);
    expect((await stat(stored)).size).toBe(bytes);
    expect(await readdir(join(created.folder.local, "files/md5", md5.slice(0, 2)))).toEqual([md5.slice(2)]);
    const hash = createHash("md5");
    for await (const chunk of createReadStream(stored, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
    expect(hash.digest("hex")).toBe(md5);
  },
});
