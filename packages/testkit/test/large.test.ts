/**
 * describeLargeObjectRoundTrip run against a folder on the local disk, once through writeFile and
 * readFile and once through write and read (for adapters that do not announce them), at a size a
 * unit test can afford; and pseudoRandomBlocks' determinism.
 */
import { createReadStream, createWriteStream } from "node:fs";
import { copyFile, mkdir, mkdtemp, rename, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { ObjectNotFoundError, type Remote, type RemoteCapabilities } from "@mlv/core";
import { expect, it } from "vitest";
import { describeLargeObjectRoundTrip, pseudoRandomBlocks } from "../src/index.js";

class FolderRemote implements Remote {
  readonly displayUrl: string;
  constructor(
    private readonly root: string,
    readonly capabilities: RemoteCapabilities,
  ) {
    this.displayUrl = `folder://${root}`;
  }
  async exists(key: string): Promise<boolean> {
    return (await stat(join(this.root, key)).catch(() => undefined))?.isFile() === true;
  }
  async *list(): AsyncIterable<string> {}
  async read(key: string): Promise<Readable> {
    if (!(await this.exists(key))) throw new ObjectNotFoundError(this.displayUrl, key);
    return createReadStream(join(this.root, key));
  }
  async write(key: string, body: Readable): Promise<void> {
    const path = join(this.root, key);
    await mkdir(dirname(path), { recursive: true });
    await pipeline(body, createWriteStream(`${path}.tmp`));
    await rename(`${path}.tmp`, path);
  }
  async writeFile(key: string, localPath: string): Promise<void> {
    await mkdir(dirname(join(this.root, key)), { recursive: true });
    await copyFile(localPath, join(this.root, key));
  }
  async readFile(key: string, localPath: string): Promise<void> {
    if (!(await this.exists(key))) throw new ObjectNotFoundError(this.displayUrl, key);
    await copyFile(join(this.root, key), localPath);
  }
  async delete(key: string): Promise<void> {
    await rm(join(this.root, key), { force: true });
  }
}

async function folderRemote(capabilities: RemoteCapabilities) {
  const root = await mkdtemp(join(tmpdir(), "mlv-testkit-folder-"));
  return {
    remote: new FolderRemote(root, capabilities),
    root,
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

const seen: string[] = [];

describeLargeObjectRoundTrip("folder, writeFile/readFile", {
  create: () => folderRemote({ writeFile: true, readFile: true }),
  bytes: 24 * 1024 * 1024 + 3,
  afterWrite: async ({ created, key, bytes }) => {
    expect((await stat(join(created.root, key))).size).toBe(bytes);
    seen.push(key);
  },
});

describeLargeObjectRoundTrip("folder, write/read", {
  create: () => folderRemote({}),
  bytes: 5 * 1024 * 1024,
});

describeLargeObjectRoundTrip("skipped", {
  create: () => {
    throw new Error("create() of a skipped suite was called");
  },
  skip: true,
});

it("afterWrite ran with a DVC 3 key", () => {
  expect(seen).toHaveLength(1);
  expect(seen[0]).toMatch(/^files\/md5\/[0-9a-f]{2}\/[0-9a-f]{30}$/);
});

it("pseudoRandomBlocks is deterministic, sized exactly, in blocks of at most 1 MiB", () => {
  const a = [...pseudoRandomBlocks(3 * 1024 * 1024 + 5, 7)];
  const b = [...pseudoRandomBlocks(3 * 1024 * 1024 + 5, 7)];
  expect(a.map((x) => x.length)).toEqual([1024 * 1024, 1024 * 1024, 1024 * 1024, 5]);
  expect(Buffer.concat(a).equals(Buffer.concat(b))).toBe(true);
  expect(Buffer.concat([...pseudoRandomBlocks(64, 8)]).equals(Buffer.concat(a).subarray(0, 64))).toBe(false);
});
