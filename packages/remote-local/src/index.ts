/**
 * `@mlv/remote-local`: a remote that is a folder on a local (or mounted) file system.
 *
 * The folder is laid out like a DVC `LocalHashFileDB` (spec §3.2, §4.1): key `files/md5/ab/cdef`
 * is the file `<root>/files/md5/ab/cdef`. Writes go to `.mlv-<pid>-<host>-<random>.tmp` beside the
 * target, which is made read-only (0444) and renamed over it, so a reader sees the old object or the
 * whole new one, and a crash leaves at most a `.tmp` file that list() skips (and DVC's own listing
 * skips too). The first write into a folder removes the stale ones there: this machine's whose
 * process is gone, and any a day old (a remote folder may be shared by several machines).
 *
 * Only node builtins are imported at module load; nothing touches the disk until a method is called.
 */

import {
  chmod,
  close,
  constants,
  copyFile,
  createReadStream,
  createWriteStream,
  type Dirent,
  fchmod,
  fstat,
  mkdir,
  open,
  readdir,
  rename,
  type Stats,
  stat,
  unlink,
} from "node:fs";
import { dirname, resolve, sep } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import {
  type ByteRange,
  ConfigError,
  checkByteRange,
  DiskFullError,
  emptyReadable,
  isRemoteTempName,
  isStaleRemoteTemp,
  ObjectNotFoundError,
  PermissionDeniedError,
  type Remote,
  type RemoteAdapter,
  type RemoteCapabilities,
  type RemoteConfig,
  RemoteError,
  remoteTempPrefix,
  sweepStaleRemoteTemps,
  type WriteFileOptions,
  type WriteOptions,
  watchGrowth,
} from "@mlv/core";

/** The mode DVC gives cache and local-remote objects (`CACHE_MODE`). */
const OBJECT_MODE = 0o444;
/** Try a reflink (copy-on-write clone) first; libuv falls back to a plain copy by itself. */
const COPY_FLAGS = constants.COPYFILE_FICLONE | constants.COPYFILE_EXCL;
const MIN_READ_CHUNK = 64 * 1024;
const MAX_READ_CHUNK = 1024 * 1024;
const IS_WINDOWS = process.platform === "win32";

/** An empty segment, `.` or `..`: keys never contain them (they would escape or alias the root). */
const BAD_SEGMENT = /(?:^|\/)\.{0,2}(?:\/|$)/;

type Errno = NodeJS.ErrnoException | null;

function errnoOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

// Thin promise wrappers over the callback API: one promise per system call, no FileHandle objects.
function pOpen(path: string, flags: string, mode?: number): Promise<number> {
  return new Promise((ok, fail) => open(path, flags, mode, (e: Errno, fd: number) => (e ? fail(e) : ok(fd))));
}
function pFstat(fd: number): Promise<Stats> {
  return new Promise((ok, fail) => fstat(fd, (e, st) => (e ? fail(e) : ok(st))));
}
function pFchmod(fd: number, mode: number): Promise<void> {
  return new Promise((ok, fail) => fchmod(fd, mode, (e) => (e ? fail(e) : ok())));
}
function pClose(fd: number): Promise<void> {
  return new Promise((ok) => close(fd, () => ok()));
}
function pStat(path: string): Promise<Stats> {
  return new Promise((ok, fail) => stat(path, (e, st) => (e ? fail(e) : ok(st))));
}
function pChmod(path: string, mode: number): Promise<void> {
  return new Promise((ok, fail) => chmod(path, mode, (e) => (e ? fail(e) : ok())));
}
function pRename(from: string, to: string): Promise<void> {
  return new Promise((ok, fail) => rename(from, to, (e) => (e ? fail(e) : ok())));
}
function pUnlink(path: string): Promise<void> {
  return new Promise((ok, fail) => unlink(path, (e) => (e ? fail(e) : ok())));
}
function pCopyFile(from: string, to: string, flags: number): Promise<void> {
  return new Promise((ok, fail) => copyFile(from, to, flags, (e) => (e ? fail(e) : ok())));
}
function pMkdir(path: string): Promise<void> {
  return new Promise((ok, fail) => mkdir(path, (e) => (e ? fail(e) : ok())));
}
/**
 * `mkdir -p`, by hand: Node's `{ recursive: true }` never returns where the kernel refuses a folder
 * whose parent exists with ENOENT (under `/proc`, `/sys`), so a remote there would hang the push.
 */
async function pMkdirp(path: string): Promise<void> {
  try {
    return await pMkdir(path);
  } catch (err) {
    const code = errnoOf(err);
    if (code === "EEXIST" && (await isDir(path))) return;
    if (code === "ENOTDIR" || code === "EEXIST") throw await fileInTheWay(path, err);
    const parent = dirname(path);
    if (code !== "ENOENT" || parent === path) throw err;
    await pMkdirp(parent);
  }
  // The parent exists now: a second refusal is final.
  try {
    await pMkdir(path);
  } catch (err) {
    if (errnoOf(err) !== "EEXIST" || !(await isDir(path))) throw err;
  }
}
function isDir(path: string): Promise<boolean> {
  return pStat(path).then(
    (st) => st.isDirectory(),
    () => false,
  );
}
/** An ENOTDIR error naming the file that stands where a folder of `path` should be. */
async function fileInTheWay(path: string, err: unknown): Promise<NodeJS.ErrnoException> {
  for (let p = path; dirname(p) !== p; p = dirname(p)) {
    const st = await pStat(p).catch(() => undefined);
    if (st !== undefined && !st.isDirectory())
      return Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${path}'`), {
        code: "ENOTDIR",
        path: p,
        cause: err,
      });
  }
  return err as NodeJS.ErrnoException;
}
function pReaddir(path: string): Promise<Dirent[]> {
  return new Promise((ok, fail) => readdir(path, { withFileTypes: true }, (e, d) => (e ? fail(e) : ok(d))));
}
/** Remove a temporary file; it may already be gone. */
function discard(path: string): Promise<void> {
  return new Promise((ok) => unlink(path, () => ok()));
}

/** Resolve a configured URL (a path, or a `file://` URL) to an absolute folder. */
export function rootOf(url: string): string {
  return resolve(/^file:/i.test(url) ? fileURLToPath(url) : url);
}

export class LocalRemote implements Remote {
  readonly displayUrl: string;
  readonly capabilities: RemoteCapabilities = {
    rangedRead: true,
    writeFile: true,
    readFile: true,
    localFiles: true,
    traverse: true,
    protectsObjects: true,
    cancelsWrites: true,
    awaitsCheck: true,
    defaultJobs: 16,
  };

  /** The root folder with a trailing separator: a key's path is `base + key`. */
  private readonly base: string;
  /** Folders known to exist, so that thousands of writes into one folder call mkdir once. */
  private readonly knownDirs = new Set<string>();
  private readonly pendingDirs = new Map<string, Promise<void>>();
  private readonly tmpPrefix = remoteTempPrefix();
  private tmpCounter = 0;

  constructor(root: string) {
    this.displayUrl = root;
    this.base = root.endsWith(sep) ? root : root + sep;
  }

  async exists(key: string): Promise<boolean> {
    const path = this.pathOf(key);
    try {
      return (await pStat(path)).isFile();
    } catch (err) {
      if (isMissing(err)) return false;
      throw this.failure(err, "check", key, path);
    }
  }

  async *list(prefix: string): AsyncIterable<string> {
    const slash = prefix.lastIndexOf("/");
    const dirKey = prefix.slice(0, slash + 1);
    if (prefix.startsWith("/") || (dirKey !== "" && BAD_SEGMENT.test(dirKey.slice(0, -1)))) {
      throw badKey(prefix, "prefix");
    }
    yield* this.walk(dirKey, prefix.slice(slash + 1));
  }

  /** Yield the object keys below folder `dirKey` ("" or ending with "/") whose name starts with `namePrefix`. */
  private async *walk(dirKey: string, namePrefix: string): AsyncGenerator<string> {
    const dir = this.base + (IS_WINDOWS ? dirKey.replaceAll("/", sep) : dirKey);
    let entries: Dirent[];
    try {
      entries = await pReaddir(dir);
    } catch (err) {
      // A missing root or prefix folder simply holds no objects.
      if (isMissing(err)) return;
      throw this.failure(err, "list", dirKey, dir);
    }
    for (const entry of entries) {
      const name = entry.name;
      if (namePrefix !== "" && !name.startsWith(namePrefix)) continue;
      let isDir = entry.isDirectory();
      let isFile = !isDir && entry.isFile();
      if (!isDir && !isFile && (entry.isSymbolicLink() || hasNoType(entry))) {
        // A symlink (e.g. `files` moved to another disk), or a file system that reports no types.
        try {
          const st = await pStat(dir + name);
          isDir = st.isDirectory();
          isFile = st.isFile();
        } catch (err) {
          if (isMissing(err)) continue; // dangling link, or deleted meanwhile
          throw this.failure(err, "list", dirKey + name, dir + name);
        }
      }
      if (isDir) yield* this.walk(`${dirKey}${name}/`, "");
      else if (isFile && !isRemoteTempName(name)) yield dirKey + name;
    }
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    const path = this.pathOf(key);
    if (range !== undefined) checkByteRange(range, key);
    let fd: number;
    try {
      fd = await pOpen(path, "r");
    } catch (err) {
      if (isMissing(err)) throw new ObjectNotFoundError(this.displayUrl, key, err);
      throw this.failure(err, "read", key, path);
    }
    let st: Stats;
    try {
      st = await pFstat(fd);
    } catch (err) {
      await pClose(fd);
      throw this.failure(err, "read", key, path);
    }
    if (!st.isFile()) {
      await pClose(fd);
      throw new ObjectNotFoundError(this.displayUrl, key);
    }
    if (range === undefined) {
      const highWaterMark = Math.min(MAX_READ_CHUNK, Math.max(MIN_READ_CHUNK, st.size));
      return createReadStream(path, { fd, highWaterMark });
    }
    const end = range.length === undefined ? st.size : Math.min(st.size, range.offset + range.length);
    if (range.offset >= end) {
      await pClose(fd);
      return emptyReadable();
    }
    const highWaterMark = Math.min(MAX_READ_CHUNK, Math.max(MIN_READ_CHUNK, end - range.offset));
    // The open fd keeps this version of the object even if a write renames another over it.
    return createReadStream(path, { fd, highWaterMark, start: range.offset, end: end - 1 });
  }

  async write(key: string, body: Readable, size?: number, options: WriteOptions = {}): Promise<void> {
    const { signal } = options;
    const dest = this.pathOf(key);
    const dir = this.dirOf(dest);
    let bodyError: unknown;
    const onBodyError = (err: unknown) => {
      bodyError ??= err;
    };
    body.on("error", onBodyError);
    let tmp: string | undefined;
    try {
      const opened = await this.createTemp(dir, key, dest);
      tmp = opened.tmp;
      const out = createWriteStream(tmp, { fd: opened.fd });
      await pipeline(body, out, { signal });
      if (size !== undefined && out.bytesWritten !== size) {
        throw new RemoteError(
          "ESIZE",
          `'${key}' was not written to remote ${this.displayUrl}: expected ${size} bytes, the stream gave ${out.bytesWritten}`,
          { data: { remote: this.displayUrl, key, expected: size, actual: out.bytesWritten } },
        );
      }
      signal?.throwIfAborted();
      await this.commit(tmp, dest);
    } catch (err) {
      if (!body.destroyed) body.destroy(); // e.g. the folder could not be created: release the source
      if (tmp !== undefined) await discard(tmp);
      if (signal?.aborted) throw signal.reason;
      if (err === bodyError || err instanceof RemoteError) throw err;
      throw this.failure(err, "write", key, dest);
    } finally {
      body.off("error", onBodyError);
    }
  }

  async writeFile(key: string, localPath: string, _size: number, options: WriteFileOptions = {}): Promise<void> {
    const { signal } = options;
    signal?.throwIfAborted();
    const dest = this.pathOf(key);
    const dir = this.dirOf(dest);
    if (!this.knownDirs.has(dir)) await this.ensureDir(dir, key, dest);
    let tmp = this.tempPath(dir);
    let refused: { err: unknown } | undefined; // the caller's check of the bytes failed
    try {
      try {
        // A copy has no stream to count: its progress is the temporary file's growth.
        await watchGrowth(tmp, pCopyFile(localPath, tmp, COPY_FLAGS), options.onProgress);
      } catch (err) {
        // ENOENT: the source is missing, or the folder was removed since we created it.
        if (errnoOf(err) !== "ENOENT") throw err;
        await discard(tmp);
        this.knownDirs.delete(dir);
        await this.ensureDir(dir, key, dest);
        tmp = this.tempPath(dir);
        await pCopyFile(localPath, tmp, COPY_FLAGS); // ENOENT again: the source is missing
      }
      // copyFile gives the copy the source's mode; objects are 0444 whatever the umask.
      await pChmod(tmp, OBJECT_MODE);
      // One copy cannot be stopped midway: an abort during it drops the copy instead of committing it.
      signal?.throwIfAborted();
      await options.checked?.catch((err) => {
        refused = { err };
        throw err;
      });
      await this.commit(tmp, dest);
    } catch (err) {
      await discard(tmp);
      if (signal?.aborted) throw signal.reason;
      if (refused) throw refused.err;
      if (errnoOf(err) === "ENOENT") throw err; // the local source file, not the remote
      throw this.failure(err, "write", key, dest);
    }
  }

  localPath(key: string): string {
    return this.pathOf(key);
  }

  /** Copies the object to `localPath`, which then has the object's read-only mode, as DVC's fetch leaves it. */
  async readFile(key: string, localPath: string): Promise<void> {
    const src = this.pathOf(key);
    try {
      try {
        await pCopyFile(src, localPath, constants.COPYFILE_FICLONE);
      } catch (err) {
        // A read-only file already at localPath (an earlier attempt's): replace it.
        const code = errnoOf(err);
        if (code !== "EACCES" && code !== "EPERM") throw err;
        if (
          !(await pUnlink(localPath).then(
            () => true,
            () => false,
          ))
        )
          throw err;
        await pCopyFile(src, localPath, constants.COPYFILE_FICLONE);
      }
    } catch (err) {
      if (isMissing(err) || errnoOf(err) === "EISDIR") {
        const isObject = await pStat(src).then(
          (st) => st.isFile(),
          () => false,
        );
        if (!isObject) throw new ObjectNotFoundError(this.displayUrl, key, err);
        if (isMissing(err)) throw err; // the object is there: localPath's folder is missing
      }
      throw this.failure(err, "read", key, src);
    }
  }

  async removeStaleTemps(options: { dry?: boolean; signal?: AbortSignal } = {}): Promise<string[]> {
    const found: string[] = [];
    const now = Date.now();
    const visit = async (dirKey: string): Promise<void> => {
      options.signal?.throwIfAborted();
      const dir = this.base + (IS_WINDOWS ? dirKey.replaceAll("/", sep) : dirKey);
      let entries: Dirent[];
      try {
        entries = await pReaddir(dir);
      } catch (err) {
        if (isMissing(err)) return;
        throw this.failure(err, "list", dirKey, dir);
      }
      for (const entry of entries) {
        if (entry.isDirectory()) await visit(`${dirKey}${entry.name}/`);
        else if (entry.isFile() && isRemoteTempName(entry.name)) {
          const path = dir + entry.name;
          const st = await pStat(path).catch(() => undefined);
          if (st === undefined || !isStaleRemoteTemp(entry.name, st.mtimeMs, now)) continue;
          if (!options.dry) await discard(path);
          found.push(dirKey + entry.name);
        }
      }
    };
    await visit("");
    return found;
  }

  async delete(key: string): Promise<void> {
    const path = this.pathOf(key);
    try {
      await pUnlink(path);
    } catch (err) {
      // Missing, or a folder (a folder is not an object): nothing to delete.
      if (isMissing(err) || errnoOf(err) === "EISDIR") return;
      throw this.failure(err, "delete", key, path);
    }
  }

  private pathOf(key: string): string {
    if (BAD_SEGMENT.test(key)) throw badKey(key, "key");
    return this.base + (IS_WINDOWS ? key.replaceAll("/", sep) : key);
  }

  private dirOf(path: string): string {
    return path.slice(0, path.lastIndexOf(sep));
  }

  private tempPath(dir: string): string {
    return `${dir}${sep}${this.tmpPrefix}${(this.tmpCounter++).toString(36)}.tmp`;
  }

  private ensureDir(dir: string, key: string, dest: string): Promise<void> {
    let pending = this.pendingDirs.get(dir);
    if (pending === undefined) {
      pending = pMkdirp(dir).then(
        async () => {
          await sweepStaleRemoteTemps(dir);
          this.knownDirs.add(dir);
          this.pendingDirs.delete(dir);
        },
        (err: unknown) => {
          this.pendingDirs.delete(dir);
          throw this.failure(err, "write", key, dest);
        },
      );
      this.pendingDirs.set(dir, pending);
    }
    return pending;
  }

  /** Create and open a fresh temporary file beside `dest`, already 0444 (the fd stays writable). */
  private async createTemp(dir: string, key: string, dest: string): Promise<{ tmp: string; fd: number }> {
    for (let attempt = 0; ; attempt++) {
      if (!this.knownDirs.has(dir)) await this.ensureDir(dir, key, dest);
      const tmp = this.tempPath(dir);
      let fd: number;
      try {
        fd = await pOpen(tmp, "wx", OBJECT_MODE);
      } catch (err) {
        if (errnoOf(err) === "ENOENT" && attempt === 0) {
          this.knownDirs.delete(dir); // removed behind our back: create it again
          continue;
        }
        throw err;
      }
      try {
        await pFchmod(fd, OBJECT_MODE); // the umask may have taken bits away
      } catch (err) {
        await pClose(fd);
        await discard(tmp);
        throw err;
      }
      return { tmp, fd };
    }
  }

  /** Move a finished temporary file over the object. */
  private async commit(tmp: string, dest: string): Promise<void> {
    try {
      await pRename(tmp, dest);
    } catch (err) {
      // Windows refuses to replace a read-only file: make the old one writable and try again.
      if (!IS_WINDOWS || errnoOf(err) !== "EPERM") throw err;
      await pChmod(dest, 0o644);
      await pRename(tmp, dest);
    }
  }

  /** Turn a file-system error into the error a caller can act on. */
  private failure(err: unknown, action: string, key: string, path: string): Error {
    if (err instanceof RemoteError) return err;
    const code = errnoOf(err);
    const remote = this.displayUrl;
    if (code === "ENOSPC" || code === "EDQUOT") return new DiskFullError(path, err);
    if (code === "EACCES" || code === "EPERM" || code === "EROFS") {
      return new PermissionDeniedError(
        remote,
        `cannot ${action} '${key}' (${code}): check the owner and mode of '${path}' and its folders`,
        err,
      );
    }
    const at = (err as NodeJS.ErrnoException).path ?? path;
    if (code === "ENOTDIR" && action === "write")
      return new RemoteError(
        "ENOTDIR",
        `cannot write '${key}' on remote ${remote}: '${at}' is a file, where a folder is needed: move that file away, or choose another folder for the remote`,
        { cause: err, data: { remote, key, path: at } },
      );
    if (code === "ENOENT" && (err as NodeJS.ErrnoException).syscall === "mkdir")
      return new RemoteError(
        "EREMOTEIO",
        `cannot write '${key}' on remote ${remote}: the file system refuses to create the folder '${at}' (ENOENT): choose a folder on a writable file system for the remote`,
        { cause: err, data: { remote, key, path: at, errno: code } },
      );
    const detail = err instanceof Error ? err.message : String(err);
    return new RemoteError("EREMOTEIO", `cannot ${action} '${key}' on remote ${remote}: ${detail}`, {
      cause: err,
      data: { remote, key, path, errno: code },
      transient: code !== undefined && TRANSIENT.has(code),
    });
  }
}

/** Errors that may go away if the same call is made again later. */
const TRANSIENT = new Set(["EMFILE", "ENFILE", "EAGAIN", "EBUSY", "EINTR", "ETIMEDOUT", "ESTALE"]);

/** Some file systems (old XFS, some network mounts) return DT_UNKNOWN from readdir. */
function hasNoType(entry: Dirent): boolean {
  return !(entry.isFIFO() || entry.isSocket() || entry.isBlockDevice() || entry.isCharacterDevice());
}

function isMissing(err: unknown): boolean {
  const code = errnoOf(err);
  return code === "ENOENT" || code === "ENOTDIR";
}

function badKey(key: string, what: "key" | "prefix"): RemoteError {
  return new RemoteError(
    "EBADKEY",
    `invalid object ${what} '${key}': keys use '/' between non-empty names, never start with '/' and have no '.' or '..' parts`,
    { data: { key } },
  );
}

const adapter: RemoteAdapter = {
  name: "local",
  schemes: ["file"],
  options: {},
  create(config: RemoteConfig): Remote {
    let root: string;
    try {
      root = rootOf(config.url);
    } catch (err) {
      // e.g. file://otherhost/path: only local file URLs name a folder here
      throw new ConfigError(
        `remote '${config.name}': '${config.url}' is not a local folder: ${(err as Error).message}`,
        {
          remote: config.name,
          url: config.url,
        },
      );
    }
    return new LocalRemote(root);
  },
};

export default adapter;
