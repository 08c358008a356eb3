/**
 * The read-only suite run against a ReadableRemote over a folder of local files, as a plain web
 * server would serve it: objects get there by files written into the folder (the seed), never
 * through the remote. Once with every optional method, once with none (their tests are skipped),
 * once sharing one folder for the suite; the listing suite alone; and describeRemoteConformance
 * refusing such a remote with a message that names the suite to use.
 */
import { spawnSync } from "node:child_process";
import { createReadStream } from "node:fs";
import { copyFile, mkdir, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative, sep } from "node:path";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import {
  type ByteRange,
  checkByteRange,
  emptyReadable,
  type ObjectInfo,
  ObjectNotFoundError,
  type ReadableRemote,
  type RemoteCapabilities,
} from "@mlv/core";
import { expect, it } from "vitest";
import {
  describeListingConformance,
  describeReadableRemoteConformance,
  type Seed,
  type SeedObject,
} from "../src/index.js";

/** Every optional method of ReadableRemote, on files below `root`; nothing that writes. */
class FilesRemote implements ReadableRemote {
  readonly capabilities: RemoteCapabilities = { rangedRead: true, readFile: true, traverse: true };

  constructor(
    private readonly root: string,
    readonly displayUrl: string,
  ) {}

  async exists(key: string): Promise<boolean> {
    return (await this.fileSize(key)) !== undefined;
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    const size = await this.sizeOf(key);
    if (range === undefined) return createReadStream(this.path(key));
    checkByteRange(range, key);
    const end = Math.min(size, range.length === undefined ? size : range.offset + range.length);
    if (range.offset >= end) return emptyReadable();
    return createReadStream(this.path(key), { start: range.offset, end: end - 1 });
  }

  async readFile(key: string, localPath: string): Promise<void> {
    await this.sizeOf(key);
    await copyFile(this.path(key), localPath);
  }

  async stat(key: string): Promise<ObjectInfo> {
    const st = await stat(this.path(key)).catch(() => undefined);
    if (st?.isFile() !== true) throw new ObjectNotFoundError(this.displayUrl, key);
    // Like a web server's ETag: modification time and size.
    return { size: st.size, checksum: `${Math.floor(st.mtimeMs).toString(16)}-${st.size.toString(16)}` };
  }

  async *list(prefix: string): AsyncIterable<string> {
    const entries = await readdir(this.root, { recursive: true, withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      if (!entry.isFile()) continue;
      const key = relative(this.root, join(entry.parentPath, entry.name)).split(sep).join("/");
      if (key.startsWith(prefix)) yield key;
    }
  }

  private path(key: string): string {
    return join(this.root, ...key.split("/"));
  }

  private async fileSize(key: string): Promise<number | undefined> {
    const st = await stat(this.path(key)).catch(() => undefined);
    return st?.isFile() === true ? st.size : undefined;
  }

  private async sizeOf(key: string): Promise<number> {
    const size = await this.fileSize(key);
    if (size === undefined) throw new ObjectNotFoundError(this.displayUrl, key);
    return size;
  }
}

/** Only what every ReadableRemote has: exists and whole reads. */
function minimal(full: FilesRemote): ReadableRemote {
  return {
    displayUrl: full.displayUrl,
    capabilities: {},
    exists: (key) => full.exists(key),
    read: (key) => full.read(key),
  };
}

interface Served {
  remote: ReadableRemote;
  root: string;
  cleanup: () => Promise<void>;
}

async function served(shape: (remote: FilesRemote) => ReadableRemote = (r) => r): Promise<Served> {
  const root = await mkdtemp(join(tmpdir(), "mlv-testkit-served-"));
  return {
    remote: shape(new FilesRemote(root, `files-ro://${root}`)),
    root,
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

/** Files written into the served folder, as a test would put them beside a web server's root. */
const seed: Seed<Served> = async (objects: SeedObject[], { root }) => {
  for (const { key, data } of objects) {
    const path = join(root, ...key.split("/"));
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, data);
  }
};

describeReadableRemoteConformance("read-only files, every optional method", {
  create: () => served(),
  seed,
  largeObjectBytes: 5 * 1024 * 1024 + 1,
  withPassword: {
    create: async () => {
      const url = new URL("files-ro://alice:s3cr%2Ft@example/data");
      url.password = "";
      const created = await served();
      return { ...created, remote: new FilesRemote(created.root, url.href) };
    },
    password: "s3cr/t",
  },
});

describeReadableRemoteConformance("read-only files, nothing optional", {
  create: () => served(minimal),
  seed,
  largeObjectBytes: 3 * 1024 * 1024 + 1,
});

describeReadableRemoteConformance("read-only files, one folder for the suite", {
  create: () => served(),
  seed,
  isolation: "suite",
  largeObjectBytes: 2 * 1024 * 1024 + 1,
  manyKeys: 1001,
});

describeListingConformance("read-only files, listing alone", { create: () => served(), seed, manyKeys: 1001 });

it("describeRemoteConformance refuses a read-only remote, naming the suite to use instead", () => {
  const root = fileURLToPath(new URL("./fixtures", import.meta.url));
  const run = spawnSync("npx", ["vitest", "run", "--root", root, "--reporter", "verbose"], {
    encoding: "utf8",
    env: { ...process.env, CI: "true", FORCE_COLOR: "0" },
  });
  const out = run.stdout + run.stderr;
  expect(run.status, out).toBe(1);
  expect(out).toContain("read-only: create() returned a read-only remote (it has no write() and delete())");
  expect(out).toContain("describeReadableRemoteConformance(name, { create, seed })");
  expect(out).not.toMatch(/\d+ passed/);
}, 60_000);
