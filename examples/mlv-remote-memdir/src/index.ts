/**
 * `mlv-remote-memdir`: an example storage adapter for mlv, written the way a third party would
 * write one, with nothing but the public `@mlv/core` contract. A remote `memdir:///srv/objects`
 * keeps each object in a plain file below that folder, named by its key.
 *
 * What a real adapter does with an SDK, this one does with `node:fs`, so that every rule of the
 * contract shows: existence of objects only, streams both ways, ranged reads, atomic writes,
 * idempotent deletes, a lazy listing, and errors translated into core's classes.
 */
import { randomUUID } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, open, readdir, rename, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import {
  type ByteRange,
  ConfigError,
  type ObjectInfo,
  ObjectNotFoundError,
  PermissionDeniedError,
  type Remote,
  type RemoteAdapter,
  type RemoteCapabilities,
  type RemoteConfig,
  RemoteError,
  type WriteOptions,
} from "@mlv/core";

/** Where unfinished writes go: inside the root (so a rename is atomic), never listed. */
const TEMP_DIR = ".memdir-tmp";

function errnoOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** No such file, or a folder where a file would be: both mean "no object under this key". */
function isMissing(err: unknown): boolean {
  const code = errnoOf(err);
  return code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR";
}

export class MemdirRemote implements Remote {
  /**
   * What mlv may rely on beyond the required methods. `rangedRead` lets it resume big downloads;
   * `traverse` says a listing is cheap, so mlv lists instead of asking `exists` object by object;
   * `cancelsWrites` that an aborted `write` (Ctrl-C during a push) stops and leaves nothing.
   */
  readonly capabilities: RemoteCapabilities = { rangedRead: true, traverse: true, cancelsWrites: true, defaultJobs: 8 };

  constructor(
    /** The absolute folder holding the objects. */
    readonly root: string,
    /** The URL shown to people: this one carries no credentials, so it is the URL itself. */
    readonly displayUrl: string,
  ) {}

  private pathOf(key: string): string {
    return join(this.root, ...key.split("/"));
  }

  /** Turn a file-system error into one mlv can act on; a missing object is handled by the callers. */
  private translate(err: unknown, key: string): Error {
    const code = errnoOf(err);
    if (code === "EACCES" || code === "EPERM")
      return new PermissionDeniedError(this.displayUrl, `'${key}': ${(err as Error).message}`, err);
    return new RemoteError("EREMOTEIO", `remote ${this.displayUrl}: '${key}': ${(err as Error).message}`, {
      cause: err,
      // Worth another try later? A full disk or a read-only mount will not fix itself.
      transient: code === "EAGAIN" || code === "EBUSY" || code === "EMFILE",
    });
  }

  async exists(key: string): Promise<boolean> {
    try {
      return (await stat(this.pathOf(key))).isFile();
    } catch (err) {
      if (isMissing(err)) return false;
      throw this.translate(err, key);
    }
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    // Open before returning: a missing key must fail here, not later in the stream.
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(this.pathOf(key), "r");
    } catch (err) {
      if (isMissing(err)) throw new ObjectNotFoundError(this.displayUrl, key, err);
      throw this.translate(err, key);
    }
    const info = await handle.stat();
    if (!info.isFile()) {
      await handle.close();
      throw new ObjectNotFoundError(this.displayUrl, key);
    }
    const start = range?.offset ?? 0;
    const length = range?.length ?? info.size - start;
    // A range at or past the end, or of no bytes, is an empty stream, not an error.
    if (start >= info.size || length <= 0) {
      await handle.close();
      return Readable.from([]);
    }
    // `end` is inclusive; the stream closes the file when it ends or is destroyed.
    return handle.createReadStream({ start, end: Math.min(info.size, start + length) - 1 });
  }

  async stat(key: string): Promise<ObjectInfo> {
    try {
      const info = await stat(this.pathOf(key));
      if (!info.isFile()) throw new ObjectNotFoundError(this.displayUrl, key);
      // Every write renames a new file into place: a new inode, so a new fingerprint.
      return { size: info.size, etag: `${info.ino.toString(16)}-${info.size.toString(16)}` };
    } catch (err) {
      if (isMissing(err)) throw new ObjectNotFoundError(this.displayUrl, key, err);
      if (err instanceof ObjectNotFoundError) throw err;
      throw this.translate(err, key);
    }
  }

  async write(key: string, body: Readable, _size?: number, options: WriteOptions = {}): Promise<void> {
    const { signal } = options;
    if (signal?.aborted) {
      body.destroy();
      throw signal.reason;
    }
    // Atomic: the bytes go to a temporary file that is renamed over the key once complete, so a
    // reader sees the old object or the whole new one, and a failed body leaves nothing behind.
    const temp = join(this.root, TEMP_DIR, randomUUID());
    try {
      await mkdir(dirname(temp), { recursive: true });
      await pipeline(body, createWriteStream(temp, { flags: "wx" }), { signal });
      // Ctrl-C during a push: what was cancelled is never renamed into place.
      signal?.throwIfAborted();
      await mkdir(dirname(this.pathOf(key)), { recursive: true });
      await rename(temp, this.pathOf(key));
    } catch (err) {
      await rm(temp, { force: true });
      // Cancelled: reject with the caller's reason, as the contract says.
      if (signal?.aborted) throw signal.reason;
      throw err instanceof RemoteError ? err : this.translate(err, key);
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await rm(this.pathOf(key), { force: true }); // a missing key is not an error
    } catch (err) {
      throw this.translate(err, key);
    }
  }

  /** Every key starting with `prefix`, read folder by folder, only below the prefix's folder. */
  async *list(prefix: string): AsyncIterable<string> {
    const slash = prefix.lastIndexOf("/");
    yield* this.walk(prefix.slice(0, slash + 1), prefix);
  }

  private async *walk(dirKey: string, prefix: string): AsyncGenerator<string> {
    let entries: import("node:fs").Dirent[];
    try {
      entries = await readdir(this.pathOf(dirKey || "."), { withFileTypes: true });
    } catch (err) {
      if (isMissing(err)) return;
      throw this.translate(err, dirKey);
    }
    for (const entry of entries) {
      const key = `${dirKey}${entry.name}`;
      if (key === TEMP_DIR) continue;
      if (entry.isDirectory()) {
        // Descend only where keys can still match the prefix.
        if (`${key}/`.startsWith(prefix) || prefix.startsWith(`${key}/`)) yield* this.walk(`${key}/`, prefix);
      } else if (entry.isFile() && key.startsWith(prefix)) yield key;
    }
  }
}

/** The folder of a `memdir:///absolute/path` URL. */
export function rootOf(name: string, url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`remote '${name}': '${url}' is not a URL; use memdir:///absolute/path`, { remote: name });
  }
  if (parsed.protocol !== "memdir:" || parsed.host !== "" || parsed.pathname === "/")
    throw new ConfigError(`remote '${name}': '${url}' must look like memdir:///absolute/path (no host, not the root)`, {
      remote: name,
    });
  return fileURLToPath(`file://${parsed.pathname}`);
}

/** The package's default export: what mlv imports when a remote's URL starts with `memdir://`. */
const adapter: RemoteAdapter = {
  name: "memdir",
  schemes: ["memdir"],
  options: {}, // config keys beyond `url` this adapter understands (none)
  create(config: RemoteConfig): Remote {
    // No I/O here: the folder is created by the first write.
    return new MemdirRemote(rootOf(config.name, config.url), config.url);
  },
};

export default adapter;
