/** Temporary files of killed uploads on the server: skipped by list(), cleared by the next upload into their folder. */
import { createHash } from "node:crypto";
import { readdirSync, utimesSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import adapter from "@mlv/remote-sftp";
import { afterEach, describe, expect, it } from "vitest";
import { info, newRemote, noServer } from "./helpers.js";

describe.skipIf(noServer)("sftp temporary files", () => {
  const drops: (() => void)[] = [];
  afterEach(() => {
    for (const drop of drops.splice(0)) drop();
  });

  it("the first upload into a folder removes stale temporary files only: a day old, or this machine's dead process's", async () => {
    const { remote, folder } = await newRemote();
    drops.push(folder.drop);
    await remote.write("files/md5/ab/first", Readable.from([Buffer.from("one")]), 3); // the folder now exists, owned by the ssh user
    await remote.close?.();
    const ab = join(folder.local, "files/md5/ab");
    const host = createHash("md5").update(hostname()).digest("hex").slice(0, 8);
    const names = {
      deadHere: `.mlv-999999-${host}-abc-0.tmp`,
      liveHere: `.mlv-${process.pid}-${host}-abc-0.tmp`,
      otherHostFresh: ".mlv-999999-00000000-abc-0.tmp",
      otherHostOld: ".mlv-999998-00000000-abc-0.tmp",
      dvcOld: ".Yk2bM_0aZq1w-hT7.tmp",
    };
    for (const name of Object.values(names)) writeFileSync(join(ab, name), "partial");
    const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600 * 1000);
    for (const name of [names.otherHostOld, names.dvcOld]) utimesSync(join(ab, name), twoDaysAgo, twoDaysAgo);

    const next = await adapter.create({ name: "t", url: folder.url, options: { keyfile: info().clientKey } });
    try {
      const keys: string[] = [];
      for await (const key of next.list("files/")) keys.push(key);
      expect(keys).toEqual(["files/md5/ab/first"]); // list() never shows them
      await next.write("files/md5/ab/second", Readable.from([Buffer.from("two")]), 3);
    } finally {
      await next.close?.();
    }
    expect(readdirSync(ab).sort()).toEqual(["first", names.liveHere, names.otherHostFresh, "second"].sort());
  });
});
