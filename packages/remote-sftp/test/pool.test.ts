/**
 * How the adapter uses the connection: a bounded number of SFTP sessions whatever the number of
 * concurrent calls, each folder created once, atomic replace through posix-rename@openssh.com,
 * Nagle's algorithm off.
 */
import { createRequire } from "node:module";
import { Readable } from "node:stream";
import { afterEach, describe, expect, it, vi } from "vitest";
import { newRemote, noServer } from "./helpers.js";

const require = createRequire(import.meta.url);
// The very modules the adapter loads (ssh2 is CommonJS: one instance per process).
const ssh2Dir = require
  .resolve("ssh2", { paths: [require.resolve("@mlv/remote-sftp")] })
  .replace(/lib[\\/]index\.js$/, "");
const Client = require(`${ssh2Dir}lib/client.js`);
const SFTP = require(`${ssh2Dir}lib/protocol/SFTP.js`).SFTP;

const key = (i: number, folders = 4) =>
  `files/md5/${(i % folders).toString(16).padStart(2, "0")}/${i.toString(16).padStart(30, "0")}`;

describe.skipIf(noServer)("sftp sessions and folders", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("serves 40 concurrent calls with at most max_sessions sessions on one connection", async () => {
    const connects = vi.spyOn(Client.prototype, "connect");
    const sessions = vi.spyOn(Client.prototype, "sftp");
    const { remote, folder } = await newRemote({ max_sessions: "3" });
    try {
      await Promise.all(
        Array.from({ length: 40 }, (_, i) => remote.write(key(i), Readable.from([Buffer.from(`object ${i}`)]))),
      );
      const found = await Promise.all(Array.from({ length: 40 }, (_, i) => remote.exists(key(i))));
      expect(found.every(Boolean)).toBe(true);
      expect(connects).toHaveBeenCalledTimes(1);
      expect(sessions.mock.calls.length).toBeGreaterThanOrEqual(1);
      expect(sessions.mock.calls.length).toBeLessThanOrEqual(3);
    } finally {
      await remote.close?.();
      folder.drop();
    }
  });

  it("creates each folder once, renames with posix-rename, and sets TCP_NODELAY", async () => {
    const mkdirs = vi.spyOn(SFTP.prototype, "mkdir");
    const renames = vi.spyOn(SFTP.prototype, "ext_openssh_rename");
    const noDelay = vi.spyOn(Client.prototype, "setNoDelay");
    const { remote, folder } = await newRemote();
    try {
      // 64 objects in 4 folders of files/md5/, written 16 at a time, on a remote whose root does not exist yet.
      const batch = (n: number) =>
        Promise.all(
          Array.from({ length: 16 }, (_, j) => remote.write(key(n * 16 + j), Readable.from([Buffer.from(`o${j}`)]))),
        );
      await batch(0);
      const root = folder.url.replace(/^ssh:\/\/[^/]+/, "");
      const folders = [
        root,
        `${root}/files`,
        `${root}/files/md5`,
        ...[0, 1, 2, 3].map((i) => `${root}/files/md5/0${i}`),
      ];
      const made = mkdirs.mock.calls.map((c) => c[0] as string);
      expect([...new Set(made)].sort()).toEqual(folders.sort());
      // At most twice each (a folder whose parent is missing is tried again once the parent exists),
      expect(made.length).toBeLessThanOrEqual(2 * folders.length);
      // and never again for the next uploads into the same folders.
      for (let n = 1; n < 4; n++) await batch(n);
      expect(mkdirs.mock.calls.length).toBe(made.length);
      expect(renames).toHaveBeenCalledTimes(64);
      expect(noDelay).toHaveBeenCalledWith(true);
      expect((await remote.list("")[Symbol.asyncIterator]().next()).done).toBe(false);
    } finally {
      await remote.close?.();
      folder.drop();
    }
  });
});
