/**
 * The suite run against the smallest correct Remote: objects in a Map. It shows that the suite asks
 * for nothing beyond the documented contract (no file system, no writeFile/readFile: those tests
 * are skipped), and serves as an example for adapter authors.
 */
import { Readable } from "node:stream";
import { ObjectNotFoundError, type Remote, type RemoteCapabilities } from "@mlv/core";
import { describeRemoteConformance, describeWritableRemoteConformance } from "../src/index.js";

class MemoryRemote implements Remote {
  readonly capabilities: RemoteCapabilities = { traverse: true, defaultJobs: 8 };
  private readonly objects = new Map<string, Buffer>();

  constructor(readonly displayUrl: string) {}

  async exists(key: string): Promise<boolean> {
    return this.objects.has(key);
  }

  async *list(prefix: string): AsyncIterable<string> {
    const keys = [...this.objects.keys()].filter((key) => key.startsWith(prefix));
    for (let page = 0; page < keys.length; page += 1000) {
      await new Promise((ok) => setImmediate(ok)); // one "request" per page of 1000
      yield* keys.slice(page, page + 1000);
    }
  }

  async read(key: string): Promise<Readable> {
    const data = this.objects.get(key);
    if (data === undefined) throw new ObjectNotFoundError(this.displayUrl, key);
    return Readable.from([data], { objectMode: false });
  }

  async write(key: string, body: Readable, _size?: number): Promise<void> {
    // Held whole, which only an in-memory store may do; stored only once the body has ended.
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk as Buffer);
    this.objects.set(key, Buffer.concat(chunks));
  }

  async delete(key: string): Promise<void> {
    this.objects.delete(key);
  }
}

describeRemoteConformance("in-memory reference", {
  create: () => ({ remote: new MemoryRemote("mem://test") }),
  withPassword: {
    create: () => {
      const url = new URL("mem://alice:s3cr%2Ft@example/bucket");
      url.password = "";
      return { remote: new MemoryRemote(url.href) };
    },
    password: "s3cr/t",
  },
});

describeRemoteConformance("in-memory reference, one remote for the suite", {
  create: () => ({ remote: new MemoryRemote("mem://shared") }),
  isolation: "suite",
  largeObjectBytes: 6 * 1024 * 1024 + 1,
});

/** A store that can write but not list, as a web server accepting PUT and DELETE. */
function unlisted(displayUrl: string): Remote {
  const inner = new MemoryRemote(displayUrl);
  return {
    displayUrl,
    capabilities: {},
    exists: (key) => inner.exists(key),
    read: (key) => inner.read(key),
    write: (key, body, size) => inner.write(key, body, size),
    delete: (key) => inner.delete(key),
  };
}

describeRemoteConformance("in-memory, without a listing", {
  create: () => ({ remote: unlisted("mem://unlisted") }),
});

describeWritableRemoteConformance("in-memory, without a listing, writes alone, one remote for the suite", {
  create: () => ({ remote: unlisted("mem://unlisted-shared") }),
  isolation: "suite",
  largeObjectBytes: 2 * 1024 * 1024 + 1,
});
