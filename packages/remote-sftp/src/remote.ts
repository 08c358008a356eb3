/**
 * The Remote over SFTP. Key `files/md5/ab/cdef` is the file `<root>/files/md5/ab/cdef` on the
 * server (spec §4.1). Uploads go to `.mlv-<pid>-<host>-<token>.tmp` in the target folder and are renamed over the
 * target (posix-rename@openssh.com: an atomic replace), so a reader never sees a partial object;
 * a crash leaves at most a `.tmp` file, which list() skips (as DVC does) and the next upload into
 * that folder removes once stale (see `isStaleRemoteTemp`).
 */
import { readFile as readFileCb, writeFile as writeFileCb } from "node:fs";
import { type FileHandle, open as openLocal } from "node:fs/promises";
import type { Readable } from "node:stream";
import {
  type ByteRange,
  checkByteRange,
  emptyReadable,
  isRemoteTempName,
  isStaleRemoteTemp,
  MlvError,
  ObjectNotFoundError,
  PermissionDeniedError,
  type Remote,
  type RemoteCapabilities,
  RemoteError,
  RemoteUnreachableError,
  remoteTempPrefix,
  type WriteFileOptions,
  type WriteOptions,
} from "@mlv/core";
import type { FileEntryWithStats, OpenMode, SFTPWrapper, Stats } from "ssh2";
import { RECONNECT_HINT, type Session, SessionPool } from "./pool.js";
import { remotePath, type SftpSettings } from "./settings.js";

/** SFTP status codes (draft-ietf-secsh-filexfer-02). */
const EOF = 1;
const NO_SUCH_FILE = 2;
const PERMISSION_DENIED = 3;
const FAILURE = 4;
const NO_CONNECTION = 6;
const CONNECTION_LOST = 7;

/**
 * First-read buffers kept for the next downloads (a session's chunk each, 256 KiB): a fresh one for
 * each of 50,000 small files left 25-55 MiB of them waiting for the collector at any time (peak of
 * that pull: 198-199 MiB, 185-191 MiB with the buffers kept).
 */
const FIRST_READ_BUFFERS = 32;
/** Parallel requests of one big writeFile or fastGet (each of the session's chunk size, up to 256 KiB). */
const TRANSFER_CONCURRENCY = 16;
/**
 * Write requests are at most this big. OpenSSH gives a session channel a 2 MiB window: 16 requests
 * of 128 KiB fill it exactly, and a 1 GiB push took 4.0-4.3 s that way against 4.8-4.9 s with
 * 256 KiB requests, whose last ones wait for the window to reopen.
 */
const WRITE_CHUNK = 128 * 1024;
/** Files up to this size are read whole and uploaded by one open/write/close/rename. */
const SMALL_FILE = 1024 * 1024;
/** writeFile(): requests' worth of the local file read at once (then sent as one request each). */
const READ_AHEAD = 4;
/** write(): requests in flight, and the size bodies are gathered into before they are sent. */
const WRITE_INFLIGHT = 8;

/** The folders objects are spread over: the first two hex digits of their hash. */
const PREFIX_DIR = /^[0-9a-f]{2}$/;

/** An empty segment, `.` or `..`: keys never contain them. */
const BAD_SEGMENT = /(?:^|\/)\.{0,2}(?:\/|$)/;

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

/** Clean-up on a session that may be gone: never waits for a reply that will not come, never fails. */
function cleanUp(s: Session, request: Promise<unknown>): Promise<void> {
  return s.orLost(request).then(
    () => {},
    () => {},
  );
}

function statusOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === "number" ? code : undefined;
}

function cb<T>(fn: (done: (err: Error | null | undefined, value: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value))));
}
const open = (s: SFTPWrapper, path: string, flags: OpenMode) => cb<Buffer>((d) => s.open(path, flags, d));
const closeHandle = (s: SFTPWrapper, h: Buffer) => cb<void>((d) => s.close(h, (e) => d(e, undefined)));
const stat = (s: SFTPWrapper, path: string) => cb<Stats>((d) => s.stat(path, d));
const fstat = (s: SFTPWrapper, h: Buffer) => cb<Stats>((d) => s.fstat(h, d));
const unlink = (s: SFTPWrapper, path: string) => cb<void>((d) => s.unlink(path, (e) => d(e, undefined)));
const mkdir = (s: SFTPWrapper, path: string) => cb<void>((d) => s.mkdir(path, (e) => d(e, undefined)));
const readdir = (s: SFTPWrapper, path: string) => cb<FileEntryWithStats[]>((d) => s.readdir(path, d));
/** Read up to buf.length bytes at `pos`; 0 at the end of the file. */
const readAt = (s: SFTPWrapper, h: Buffer, buf: Buffer, pos: number) =>
  new Promise<number>((resolve, reject) =>
    s.read(h, buf, 0, buf.length, pos, (err, n) => {
      if (!err) resolve(n);
      else if (statusOf(err) === EOF) resolve(0);
      else reject(err);
    }),
  );
const readLocal = (path: string) => cb<Buffer>((d) => readFileCb(path, d));
const writeLocal = (path: string, data: Buffer) => cb<void>((d) => writeFileCb(path, data, (e) => d(e, undefined)));
const writeAt = (s: SFTPWrapper, h: Buffer, buf: Buffer, pos: number) =>
  cb<void>((d) => s.write(h, buf, 0, buf.length, pos, (e) => d(e, undefined)));

export class SftpRemote implements Remote {
  readonly displayUrl: string;
  readonly capabilities: RemoteCapabilities = {
    rangedRead: true,
    writeFile: true,
    readFile: true,
    awaitsCheck: true,
    traverse: true,
    cancelsWrites: true,
    defaultJobs: 16,
  };

  private readonly root: string;
  private readonly pool: SessionPool;
  /** Folders known to exist, so that thousands of uploads into one folder create it once. */
  private readonly knownDirs = new Set<string>();
  private readonly pendingDirs = new Map<string, Promise<void>>();
  private readonly tmpPrefix = remoteTempPrefix();
  /** Folders already cleared of stale temporary files by this client. */
  private readonly sweptDirs = new Set<string>();
  /** Temporary files of uploads cut off with their connection: removed over the next one. */
  private orphans: string[] = [];
  /** Buffers of first reads, free for the next download (see FIRST_READ_BUFFERS). */
  private readonly firstReads: Buffer[] = [];
  private tmpCounter = 0;

  constructor(settings: SftpSettings) {
    this.displayUrl = settings.displayUrl;
    this.root = settings.root;
    this.pool = new SessionPool(settings, settings.displayUrl);
  }

  async exists(key: string): Promise<boolean> {
    const path = this.pathOf(key);
    return this.run("check", key, async (s) => {
      try {
        return (await stat(s.sftp, path)).isFile();
      } catch (err) {
        if (statusOf(err) === NO_SUCH_FILE) return false;
        throw err;
      }
    });
  }

  async *list(prefix: string): AsyncIterable<string> {
    const slash = prefix.lastIndexOf("/");
    const dirKey = prefix.slice(0, slash + 1);
    if (prefix.startsWith("/") || (dirKey !== "" && BAD_SEGMENT.test(dirKey.slice(0, -1)))) {
      throw badKey(prefix, "prefix");
    }
    yield* this.walk(dirKey, prefix.slice(slash + 1));
  }

  /** The object keys below folder `dirKey` ("" or ending with "/") whose name starts with `namePrefix`. */
  private async *walk(dirKey: string, namePrefix: string): AsyncGenerator<string> {
    const dir = this.dirOf(dirKey);
    const entries = await this.entries(dirKey);
    for (const entry of entries) {
      const name = entry.filename;
      if (name === "." || name === "..") continue;
      if (namePrefix !== "" && !name.startsWith(namePrefix)) continue;
      let type = (entry.attrs.mode ?? 0) & S_IFMT;
      if (type === S_IFLNK || entry.attrs.mode === undefined) {
        const path = `${dir}/${name}`;
        const st = await this.run("list", dirKey + name, async (s) => {
          try {
            return await stat(s.sftp, path);
          } catch (err) {
            if (statusOf(err) === NO_SUCH_FILE) return undefined; // dangling link, or deleted meanwhile
            throw err;
          }
        });
        if (!st) continue;
        type = st.isDirectory() ? S_IFDIR : st.isFile() ? S_IFREG : 0;
      }
      if (type === S_IFDIR) yield* this.walk(`${dirKey}${name}/`, "");
      else if (type === S_IFREG && !isRemoteTempName(name)) yield dirKey + name;
    }
  }

  /** Folder `dirKey` ("" or ending with "/") on the server. */
  private dirOf(dirKey: string): string {
    return dirKey === "" ? this.root || "." : remotePath(this.root, dirKey.slice(0, -1));
  }

  /** The entries of folder `dirKey`; none when it is missing. */
  private entries(dirKey: string): Promise<FileEntryWithStats[]> {
    const dir = this.dirOf(dirKey);
    return this.run("list", dirKey, async (s) => {
      try {
        return await readdir(s.sftp, dir);
      } catch (err) {
        if (statusOf(err) === NO_SUCH_FILE) return []; // a missing folder holds no objects
        throw err;
      }
    });
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    const path = this.pathOf(key);
    if (range !== undefined) checkByteRange(range, key);
    const s = await this.pool.acquire();
    let handle: Buffer | undefined;
    let size: number;
    try {
      handle = await s.orLost(open(s.sftp, path, "r"));
      const st = await s.orLost(fstat(s.sftp, handle));
      if (!st.isFile()) throw new ObjectNotFoundError(this.displayUrl, key);
      size = st.size;
    } catch (err) {
      if (handle) await cleanUp(s, closeHandle(s.sftp, handle));
      this.pool.release(s);
      if (statusOf(err) === NO_SUCH_FILE) throw new ObjectNotFoundError(this.displayUrl, key, err);
      throw this.failure(err, "read", key, path);
    }
    let bounds: { start: number; end: number } | undefined;
    if (range !== undefined) {
      const end = range.length === undefined ? size : Math.min(size, range.offset + range.length);
      if (range.offset >= end) {
        // Nothing to read: release the handle and the session at once.
        await cleanUp(s, closeHandle(s.sftp, handle));
        this.pool.release(s);
        return emptyReadable();
      }
      bounds = { start: range.offset, end: end - 1 };
    }
    const stream = s.sftp.createReadStream(path, {
      handle,
      autoClose: true,
      highWaterMark: s.chunk,
      ...bounds,
    });
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.pool.release(s);
    };
    stream.once("close", release);
    stream.once("error", release);
    const off = s.onLost((err) => {
      if (!stream.destroyed) stream.destroy(err); // ssh2 would leave the stream waiting forever
    });
    stream.once("close", off);
    return stream;
  }

  async write(key: string, body: Readable, size?: number, options: WriteOptions = {}): Promise<void> {
    const { signal } = options;
    const dest = this.pathOf(key);
    if (signal?.aborted) {
      body.destroy();
      throw signal.reason;
    }
    const dir = dest.slice(0, dest.lastIndexOf("/"));
    let bodyError: unknown;
    const onBodyError = (err: unknown) => {
      bodyError ??= err;
    };
    body.on("error", onBodyError);
    // An abort ends the body: pump stops at its next chunk and the temporary file is removed below.
    const onAbort = () => body.destroy(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    const tmp = this.tempPath(dir);
    let created = false;
    const s = await this.acquire(signal).catch((err) => {
      signal?.removeEventListener("abort", onAbort);
      body.off("error", onBodyError);
      body.destroy();
      throw err;
    });
    const sweeping = this.sweep(s, dir);
    await this.removeOrphans(s);
    const upload = async () => {
      const handle = await this.inDir(s, dir, key, () => open(s.sftp, tmp, "w"));
      created = true;
      let written: number;
      try {
        written = await pump(s, handle, body, WRITE_INFLIGHT);
      } catch (err) {
        await cleanUp(s, closeHandle(s.sftp, handle));
        throw err;
      }
      await closeHandle(s.sftp, handle);
      if (size !== undefined && written !== size) {
        throw new RemoteError(
          "ESIZE",
          `'${key}' was not written to remote ${this.displayUrl}: expected ${size} bytes, the stream gave ${written}`,
          { data: { remote: this.displayUrl, key, expected: size, actual: written } },
        );
      }
      signal?.throwIfAborted();
      await this.commit(s, tmp, dest);
    };
    try {
      await s.orLost(upload());
    } catch (err) {
      if (!body.destroyed) body.destroy();
      if (created || s.dead) await this.discardTemp(s, tmp);
      if (signal?.aborted) throw signal.reason;
      if (err === bodyError) throw err;
      throw this.failure(err, "write", key, dest);
    } finally {
      signal?.removeEventListener("abort", onAbort);
      body.off("error", onBodyError);
      await sweeping;
      this.pool.release(s);
    }
  }

  async writeFile(key: string, localPath: string, size: number, options: WriteFileOptions = {}): Promise<void> {
    const { signal, onProgress } = options;
    signal?.throwIfAborted();
    const dest = this.pathOf(key);
    const dir = dest.slice(0, dest.lastIndexOf("/"));
    const tmp = this.tempPath(dir);
    // Small files (most of a dataset's objects): read whole, then open, write, close, rename with
    // as few round trips as possible. Big ones: streamed with many write requests in flight. The
    // local file is opened first: a missing source fails before anything is made on the server.
    const data = size <= SMALL_FILE ? await readLocal(localPath) : undefined;
    const local: FileHandle | undefined = data === undefined ? await openLocal(localPath, "r") : undefined;
    let source: Readable | undefined;
    const onAbort = () => source?.destroy(signal?.reason);
    let s: Session;
    try {
      signal?.throwIfAborted();
      s = await this.acquire(signal);
    } catch (err) {
      await local?.close();
      throw err;
    }
    signal?.addEventListener("abort", onAbort, { once: true });
    let created = false;
    const sweeping = this.sweep(s, dir);
    const upload = async () => {
      await this.removeOrphans(s);
      if (data !== undefined) {
        const handle = await this.inDir(s, dir, key, () => open(s.sftp, tmp, "w"));
        created = true;
        try {
          let sent = 0;
          const writes: Promise<void>[] = [];
          const chunk = Math.min(s.chunk, WRITE_CHUNK);
          for (let at = 0; at < data.length; at += chunk) {
            const part = data.subarray(at, at + chunk);
            writes.push(
              writeAt(s.sftp, handle, part, at).then(() => {
                sent += part.length;
                onProgress?.(sent);
              }),
            );
          }
          await Promise.all(writes);
        } finally {
          await closeHandle(s.sftp, handle);
        }
      } else {
        const handle = await this.inDir(s, dir, key, () => open(s.sftp, tmp, "w"));
        created = true;
        source = (local as FileHandle).createReadStream({ highWaterMark: Math.min(s.chunk, WRITE_CHUNK) * READ_AHEAD });
        if (signal?.aborted) source.destroy(signal.reason);
        try {
          await pump(s, handle, source, TRANSFER_CONCURRENCY, onProgress);
        } catch (err) {
          await cleanUp(s, closeHandle(s.sftp, handle));
          throw err;
        }
        await closeHandle(s.sftp, handle);
      }
      signal?.throwIfAborted();
      await options.checked?.catch((err) => {
        refused = { err };
        throw err;
      });
      await this.commit(s, tmp, dest);
    };
    let refused: { err: unknown } | undefined; // the caller's check of the bytes failed
    try {
      await s.orLost(upload());
    } catch (err) {
      if (created || s.dead) await this.discardTemp(s, tmp);
      if (signal?.aborted) throw signal.reason;
      if (refused) throw refused.err;
      throw this.failure(err, "write", key, dest);
    } finally {
      signal?.removeEventListener("abort", onAbort);
      if (source === undefined) await local?.close();
      else if (!source.destroyed) source.destroy();
      await sweeping;
      this.pool.release(s);
    }
  }

  async readFile(key: string, localPath: string): Promise<void> {
    const path = this.pathOf(key);
    await this.run("read", key, async (s) => {
      try {
        // Open, then ask for the size and the first chunk at once: a small object needs no more.
        const handle = await open(s.sftp, path, "r");
        let small: Buffer | undefined;
        const buf = this.firstReads.pop() ?? Buffer.allocUnsafe(s.chunk);
        try {
          try {
            // Both settled before going on: the buffer is reused only once nothing writes into it.
            const [st, n] = await Promise.allSettled([fstat(s.sftp, handle), readAt(s.sftp, handle, buf, 0)]);
            if (st.status === "rejected") throw st.reason;
            if (n.status === "rejected") throw n.reason;
            if (!st.value.isFile()) throw new ObjectNotFoundError(this.displayUrl, key);
            if (st.value.size <= buf.length && n.value === st.value.size) small = buf.subarray(0, n.value);
          } finally {
            await closeHandle(s.sftp, handle).catch(() => {});
          }
          if (small !== undefined) {
            await writeLocal(localPath, small);
            return;
          }
        } finally {
          if (this.firstReads.length < FIRST_READ_BUFFERS) this.firstReads.push(buf);
        }
        await cb<void>((d) =>
          s.sftp.fastGet(path, localPath, { concurrency: TRANSFER_CONCURRENCY, chunkSize: s.chunk }, (e) =>
            d(e, undefined),
          ),
        );
      } catch (err) {
        const status = statusOf(err);
        if (status === NO_SUCH_FILE) throw new ObjectNotFoundError(this.displayUrl, key, err);
        if (
          status === FAILURE &&
          !(await stat(s.sftp, path).then(
            (st) => st.isFile(),
            () => false,
          ))
        )
          throw new ObjectNotFoundError(this.displayUrl, key, err); // a folder
        throw err;
      }
    });
  }

  /**
   * Uploads write their temporary files beside the objects, so only the object folders are read:
   * `files/md5/xx/`, and `xx/` at the root (DVC 2.x's layout).
   */
  async removeStaleTemps(options: { dry?: boolean; signal?: AbortSignal } = {}): Promise<string[]> {
    const { dry = false, signal } = options;
    signal?.throwIfAborted();
    const now = Date.now();
    const prefixDirs = (dirKey: string, entries: FileEntryWithStats[]) =>
      entries
        .filter((e) => PREFIX_DIR.test(e.filename) && [S_IFDIR, S_IFLNK].includes((e.attrs.mode ?? 0) & S_IFMT))
        .map((e) => `${dirKey}${e.filename}/`);
    const [atRoot, inMd5] = await Promise.all([this.entries(""), this.entries("files/md5/")]);
    const found: string[] = [];
    await Promise.all(
      [...prefixDirs("", atRoot), ...prefixDirs("files/md5/", inMd5)].map(async (dirKey) => {
        signal?.throwIfAborted();
        const entries = await this.entries(dirKey).catch((err) => {
          if (statusOf((err as { cause?: unknown }).cause) === FAILURE) return []; // a link to a file
          throw err;
        });
        for (const e of entries) {
          if (((e.attrs.mode ?? 0) & S_IFMT) !== S_IFREG) continue;
          if (!isStaleRemoteTemp(e.filename, e.attrs.mtime * 1000, now)) continue;
          const key = dirKey + e.filename;
          if (!dry) {
            signal?.throwIfAborted();
            const path = `${this.dirOf(dirKey)}/${e.filename}`;
            await this.run("delete", key, (s) =>
              unlink(s.sftp, path).catch((err) => {
                if (statusOf(err) !== NO_SUCH_FILE) throw err; // removed meanwhile by someone else
              }),
            );
          }
          found.push(key);
        }
      }),
    );
    return found.sort();
  }

  async delete(key: string): Promise<void> {
    const path = this.pathOf(key);
    await this.run("delete", key, async (s) => {
      try {
        await unlink(s.sftp, path);
      } catch (err) {
        const status = statusOf(err);
        if (status === NO_SUCH_FILE) return;
        // A folder is not an object: nothing to delete.
        if (
          status === FAILURE &&
          (await stat(s.sftp, path).then(
            (st) => st.isDirectory(),
            () => false,
          ))
        )
          return;
        throw err;
      }
    });
  }

  async close(): Promise<void> {
    if (this.orphans.length > 0) {
      // The last uploads were cut off: one more connection to take their temporary files away.
      const s = await this.pool.acquire().catch(() => undefined);
      if (s !== undefined) {
        await this.removeOrphans(s);
        this.pool.release(s);
      }
    }
    await this.pool.close();
  }

  /** Lease a session; on abort, give up waiting (the session, once it comes, goes back to the pool). */
  private acquire(signal: AbortSignal | undefined): Promise<Session> {
    const leased = this.pool.acquire();
    if (signal === undefined) return leased;
    return new Promise<Session>((resolve, reject) => {
      const onAbort = () => {
        reject(signal.reason);
        leased.then(
          (s) => this.pool.release(s),
          () => {},
        );
      };
      signal.addEventListener("abort", onAbort, { once: true });
      leased.then(
        (s) => {
          signal.removeEventListener("abort", onAbort);
          resolve(s); // a no-op after an abort, which hands the session back
        },
        (err) => {
          signal.removeEventListener("abort", onAbort);
          reject(err);
        },
      );
    });
  }

  /** Lease a session for `fn`, and turn its errors into MlvErrors. */
  private async run<T>(action: string, key: string, fn: (s: Session) => Promise<T>): Promise<T> {
    const s = await this.pool.acquire();
    try {
      return await s.orLost(fn(s));
    } catch (err) {
      throw this.failure(err, action, key, key === "" ? this.root : remotePath(this.root, key));
    } finally {
      this.pool.release(s);
    }
  }

  private pathOf(key: string): string {
    if (BAD_SEGMENT.test(key)) throw badKey(key, "key");
    return remotePath(this.root, key);
  }

  /**
   * Once per folder, beside the first upload into it (one more request in flight, no added wait):
   * remove the temporary files killed uploads left there. Best effort; never fails the upload.
   */
  private sweep(s: Session, dir: string): Promise<void> {
    if (this.sweptDirs.has(dir)) return Promise.resolve();
    this.sweptDirs.add(dir);
    return s.orLost(readdir(s.sftp, dir)).then(
      async (entries) => {
        const now = Date.now();
        const stale = entries.filter((e) => isStaleRemoteTemp(e.filename, e.attrs.mtime * 1000, now));
        await Promise.all(stale.map((e) => cleanUp(s, unlink(s.sftp, `${dir}/${e.filename}`))));
      },
      () => {}, // not there yet: nothing to clear
    );
  }

  /** Remove a failed upload's temporary file; if its connection is gone, over the next one. */
  private async discardTemp(s: Session, tmp: string): Promise<void> {
    const removed = await s
      .orLost(
        unlink(s.sftp, tmp).then(
          () => true,
          () => true, // already gone, or never made
        ),
      )
      .catch(() => false);
    if (!removed) this.orphans.push(tmp);
  }

  /** Remove the temporary files of uploads whose connection dropped, now that one works again. */
  private async removeOrphans(s: Session): Promise<void> {
    if (this.orphans.length === 0 || s.dead) return;
    const paths = this.orphans.splice(0);
    await Promise.all(paths.map((p) => cleanUp(s, unlink(s.sftp, p))));
  }

  private tempPath(dir: string): string {
    return `${dir}/${this.tmpPrefix}${(this.tmpCounter++).toString(36)}.tmp`;
  }

  /**
   * Run `fn` (which creates a file in `dir`); when the folder is missing, create it (once, however
   * many uploads wait for it) and run `fn` again. Existing folders cost nothing: no mkdir, no stat.
   */
  private async inDir<T>(s: Session, dir: string, key: string, fn: () => Promise<T>): Promise<T> {
    try {
      const result = await fn();
      this.knownDirs.add(dir);
      return result;
    } catch (err) {
      if (statusOf(err) !== NO_SUCH_FILE) throw err;
      this.knownDirs.delete(dir);
      await this.ensureDir(s, dir, key);
      return fn();
    }
  }

  private ensureDir(s: Session, dir: string, key: string): Promise<void> {
    if (this.knownDirs.has(dir)) return Promise.resolve();
    let pending = this.pendingDirs.get(dir);
    if (pending === undefined) {
      // Shared by every upload into `dir`: it must end even if this session's connection drops.
      pending = s.orLost(this.mkdirs(s, dir, key)).finally(() => this.pendingDirs.delete(dir));
      this.pendingDirs.set(dir, pending);
    }
    return pending;
  }

  /** mkdir -p, from the deepest folder up only as far as needed. */
  private async mkdirs(s: Session, dir: string, key: string): Promise<void> {
    try {
      await mkdir(s.sftp, dir);
    } catch (err) {
      const status = statusOf(err);
      const parent = dir.slice(0, dir.lastIndexOf("/"));
      if (status === NO_SUCH_FILE && parent !== "" && parent !== dir) {
        await this.ensureDir(s, parent, key);
        try {
          await mkdir(s.sftp, dir);
        } catch (again) {
          if (!(await isDir(s.sftp, dir))) throw again;
        }
      } else if (!(await isDir(s.sftp, dir))) throw err; // FAILURE: perhaps it exists (made by another upload)
    }
    this.knownDirs.add(dir);
  }

  /** Move a finished temporary file over the object: atomically where the server can. */
  private async commit(s: Session, tmp: string, dest: string): Promise<void> {
    if (s.posixRename) {
      await cb<void>((d) => s.sftp.ext_openssh_rename(tmp, dest, (e) => d(e, undefined)));
      return;
    }
    try {
      await cb<void>((d) => s.sftp.rename(tmp, dest, (e) => d(e, undefined)));
    } catch (err) {
      // Plain SFTP rename does not replace: delete the old object, then rename (never a partial object).
      if (statusOf(err) !== FAILURE) throw err;
      await unlink(s.sftp, dest).catch(() => {});
      await cb<void>((d) => s.sftp.rename(tmp, dest, (e) => d(e, undefined)));
    }
  }

  /** Turn an SFTP, SSH or local error into the error a caller can act on. */
  private failure(err: unknown, action: string, key: string, path: string): Error {
    if (err instanceof MlvError) return err;
    const remote = this.displayUrl;
    const status = statusOf(err);
    const message = (err as Error | undefined)?.message ?? String(err);
    if (status === NO_SUCH_FILE) return new ObjectNotFoundError(remote, key, err);
    if (status === PERMISSION_DENIED)
      return new PermissionDeniedError(
        remote,
        `cannot ${action} '${key}': permission denied on '${path}'`,
        err,
        `Check that the SSH user may ${action === "write" || action === "delete" ? "write" : "read"} the remote folder.`,
      );
    if (
      status === NO_CONNECTION ||
      status === CONNECTION_LOST ||
      /No response from server|Not connected|No SFTP|channel|ECONNRESET|EPIPE|socket/i.test(message)
    )
      return new RemoteUnreachableError(
        remote,
        `the connection was lost while trying to ${action} '${key}'`,
        err,
        RECONNECT_HINT,
      );
    const errno = (err as NodeJS.ErrnoException | undefined)?.code;
    if (typeof errno === "string") return err as Error; // a local file (e.g. the upload's source) is the problem
    return new RemoteError("EREMOTEIO", `cannot ${action} '${key}' on remote ${remote}: ${message}`, {
      cause: err,
      data: { remote, key, path, status },
    });
  }
}

async function isDir(s: SFTPWrapper, path: string): Promise<boolean> {
  return stat(s, path).then(
    (st) => st.isDirectory(),
    () => false,
  );
}

/**
 * Send `body` to an open remote file: small stream chunks are gathered into requests of the
 * session's chunk size (at most WRITE_CHUNK), and up to `maxInflight` of them are in flight at once. `onProgress` gets
 * the bytes the server has acknowledged so far. Returns the bytes written.
 */
async function pump(
  s: Session,
  handle: Buffer,
  body: Readable,
  maxInflight: number,
  onProgress?: (bytes: number) => void,
): Promise<number> {
  let pos = 0;
  let acked = 0;
  let failed: unknown;
  const inflight = new Set<Promise<void>>();
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const chunk = Math.min(s.chunk, WRITE_CHUNK);
  const send = () => {
    const all = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
    pending = [];
    pendingBytes = 0;
    // One request per chunk: a longer write would be split by ssh2 into requests sent one after another.
    for (let from = 0; from < all.length; from += chunk) {
      const buf = all.subarray(from, from + chunk);
      const at = pos;
      pos += buf.length;
      const p: Promise<void> = writeAt(s.sftp, handle, buf, at).then(
        () => {
          inflight.delete(p);
          acked += buf.length;
          onProgress?.(acked);
        },
        (err) => {
          inflight.delete(p);
          failed ??= err;
        },
      );
      inflight.add(p);
    }
  };
  for await (const piece of body) {
    const buf = typeof piece === "string" ? Buffer.from(piece) : (piece as Buffer);
    if (buf.length === 0) continue;
    pending.push(buf);
    pendingBytes += buf.length;
    if (pendingBytes >= chunk) {
      send();
      while (inflight.size >= maxInflight && failed === undefined) await Promise.race(inflight);
    }
    if (failed !== undefined) break;
  }
  if (pendingBytes > 0 && failed === undefined) send();
  await Promise.all(inflight);
  if (failed !== undefined) throw failed;
  return pos;
}

function badKey(key: string, what: "key" | "prefix"): RemoteError {
  return new RemoteError(
    "EBADKEY",
    `invalid object ${what} '${key}': keys use '/' between non-empty names, never start with '/' and have no '.' or '..' parts`,
    { data: { key } },
  );
}
