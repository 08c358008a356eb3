import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/**
 * Remembers the md5 of workspace files keyed on (inode, mtime, size), so that `status` and a
 * repeated `add` do not re-read unchanged files. It lives in `.dvc/tmp` (machine-local, git-ignored)
 * and is mlv's own: DVC keeps its equivalent elsewhere and neither needs the other's.
 *
 * Like DVC's state database it also remembers whole folders: a folder's md5 keyed on a digest of
 * its listing (every file's path, inode, mtime, size and mode), so that an unchanged folder of
 * 50,000 files costs a walk and no lookups of its files.
 *
 * `status` of a 50,000-file folder reads all of it at every run, so the file is laid out in columns
 * that load with a few bulk operations, and records are decoded only when asked for:
 *   magic "MLVHASH4", record count (u32), key text length in bytes (u32), folder text length (u32),
 *   ino, mtimeMs, size of each record (f64 each),
 *   where each key starts in the key text (count + 1 u32, in UTF-16 units), the key text (UTF-8),
 *   the md5 of each record (32 hex characters each),
 *   the folder records as JSON (UTF-8): [[key, listing digest, md5, size, nfiles], ...].
 */
interface Entry {
  ino: number;
  mtimeMs: number;
  size: number;
  md5: string;
}

export interface StatLike {
  ino: number;
  mtimeMs: number;
  size: number;
}

/** A folder's hash as remembered: what `status` compares with the record. */
export interface DirSummary {
  md5: string;
  size: number;
  nfiles: number;
}

interface DirRecord extends DirSummary {
  digest: string;
}

const MAGIC = Buffer.from("MLVHASH4");
const HEADER = 20;

/** The records of a file as loaded: looked up by index, never copied out unless changed. */
interface Loaded {
  nums: Float64Array;
  md5s: string;
  offsets: Uint32Array;
  /** The bytes of the file records, written back as they are when none changed. */
  raw?: Buffer;
  count: number;
  keyBytes: number;
}

const EMPTY: Loaded = { nums: new Float64Array(0), md5s: "", offsets: new Uint32Array(1), count: 0, keyBytes: 0 };

/** A typed view of `bytes` at `offset`, copied when the offset is not aligned for it. */
function view<T>(
  make: new (buffer: ArrayBuffer, byteOffset: number, length: number) => T,
  width: number,
  buf: Buffer,
  offset: number,
  length: number,
): T {
  const at = buf.byteOffset + offset;
  if (at % width === 0) return new make(buf.buffer as ArrayBuffer, at, length);
  const copy = new Uint8Array(length * width);
  copy.set(buf.subarray(offset, offset + length * width));
  return new make(copy.buffer, 0, length);
}

const PLAIN_MD5 = /^[0-9a-f]{32}$/;
const DIR_MD5 = /^[0-9a-f]{32}\.dir$/;

export class HashCache {
  /**
   * Key → a record of the loaded file (its index) or one set since. Built on first use: a status
   * that finds its folders unchanged never needs it.
   */
  private filesMap?: Map<string, number | Entry>;
  private loaded: Loaded = EMPTY;
  private dirs = new Map<string, DirRecord>();
  private dirty = false;
  private dirsDirty = false;

  private constructor(readonly file: string) {}

  static load(file: string): HashCache {
    const cache = new HashCache(file);
    let buf: Buffer;
    try {
      buf = readFileSync(file);
    } catch {
      return cache; // none yet
    }
    try {
      cache.decode(buf);
    } catch {
      // Unreadable or an older layout: it is only a cache, start afresh.
      cache.loaded = EMPTY;
      cache.dirs.clear();
    }
    return cache;
  }

  private decode(buf: Buffer): void {
    if (buf.length < HEADER || !buf.subarray(0, 8).equals(MAGIC)) throw new Error("not a hash cache");
    const count = buf.readUInt32LE(8);
    const keyBytes = buf.readUInt32LE(12);
    const dirBytes = buf.readUInt32LE(16);
    const numsAt = HEADER;
    const offsetsAt = numsAt + count * 24;
    const keysAt = offsetsAt + (count + 1) * 4;
    const md5sAt = keysAt + keyBytes;
    const dirsAt = md5sAt + count * 32;
    if (buf.length !== dirsAt + dirBytes) throw new Error("truncated hash cache");
    const dirs: unknown = dirBytes > 0 ? JSON.parse(buf.toString("utf8", dirsAt)) : [];
    if (!Array.isArray(dirs)) throw new Error("corrupt hash cache");
    for (const d of dirs) {
      const [key, digest, md5, size, nfiles] = d as [string, string, string, number, number];
      this.dirs.set(key, { digest, md5, size, nfiles });
    }
    // The file records are decoded on first use (see `files`).
    this.loaded = {
      nums: view(Float64Array, 8, buf, numsAt, count * 3),
      md5s: "",
      offsets: view(Uint32Array, 4, buf, offsetsAt, count + 1),
      raw: buf.subarray(HEADER, dirsAt),
      count,
      keyBytes,
    };
  }

  private get files(): Map<string, number | Entry> {
    if (this.filesMap) return this.filesMap;
    const files = new Map<string, number | Entry>();
    const { raw, count, keyBytes, offsets } = this.loaded;
    if (raw && count > 0) {
      const keysAt = count * 24 + (count + 1) * 4;
      const keys = raw.toString("utf8", keysAt, keysAt + keyBytes);
      if (offsets[count] === keys.length) {
        this.loaded.md5s = raw.toString("latin1", keysAt + keyBytes);
        for (let i = 0; i < count; i++) files.set(keys.slice(offsets[i], offsets[i + 1]), i);
      } else {
        // Damaged: it is only a cache, start afresh (and rewrite it whole).
        this.loaded = EMPTY;
        this.dirty = true;
      }
    }
    this.filesMap = files;
    return files;
  }

  /** The recorded md5 of `key` if its (inode, mtime, size) still match `st`. */
  get(key: string, st: StatLike): string | undefined {
    const e = this.files.get(key);
    if (e === undefined) return undefined;
    if (typeof e === "number") {
      const { nums, md5s } = this.loaded;
      const n = e * 3;
      if (nums[n] === st.ino && nums[n + 1] === st.mtimeMs && nums[n + 2] === st.size)
        return md5s.slice(e * 32, e * 32 + 32);
      return undefined;
    }
    if (e.ino === st.ino && e.mtimeMs === st.mtimeMs && e.size === st.size) return e.md5;
    return undefined;
  }

  set(key: string, st: StatLike, md5: string): void {
    if (!PLAIN_MD5.test(md5)) return; // only plain file hashes are remembered
    if (this.get(key, st) === md5) return;
    this.files.set(key, { ino: st.ino, mtimeMs: st.mtimeMs, size: st.size, md5 });
    this.dirty = true;
  }

  delete(key: string): void {
    if (this.files.delete(key)) this.dirty = true;
  }

  /** A folder's remembered hash, if its listing still has the digest it had then. */
  getDir(key: string, digest: string): DirSummary | undefined {
    const d = this.dirs.get(key);
    if (d === undefined || d.digest !== digest) return undefined;
    return { md5: d.md5, size: d.size, nfiles: d.nfiles };
  }

  /** Remember a folder's hash for a listing digest (only the latest listing of each folder is kept). */
  setDir(key: string, digest: string, summary: DirSummary): void {
    if (!DIR_MD5.test(summary.md5)) return;
    const d = this.dirs.get(key);
    if (d && d.digest === digest && d.md5 === summary.md5 && d.size === summary.size && d.nfiles === summary.nfiles)
      return;
    this.dirs.set(key, { digest, ...summary });
    this.dirsDirty = true;
  }

  /** Write atomically; a failure only costs re-hashing next time. */
  save(): void {
    if (!this.dirty && !this.dirsDirty) return;
    const dirText = Buffer.from(
      JSON.stringify([...this.dirs].map(([key, d]) => [key, d.digest, d.md5, d.size, d.nfiles])),
      "utf8",
    );
    const header = Buffer.alloc(HEADER);
    MAGIC.copy(header, 0);
    header.writeUInt32LE(dirText.length, 16);
    let body: Buffer;
    if (!this.dirty && this.loaded.raw) {
      // Only folder records changed: the file records go back byte for byte.
      header.writeUInt32LE(this.loaded.count, 8);
      header.writeUInt32LE(this.loaded.keyBytes, 12);
      body = Buffer.concat([header, this.loaded.raw, dirText]);
    } else {
      const files = this.files;
      const count = files.size;
      const keys: string[] = [];
      const offsets = new Uint32Array(count + 1);
      const nums = new Float64Array(count * 3);
      let md5s = "";
      let i = 0;
      let at = 0;
      const { nums: old, md5s: oldMd5s } = this.loaded;
      for (const [key, e] of files) {
        keys.push(key);
        offsets[i] = at;
        at += key.length;
        if (typeof e === "number") {
          nums.set(old.subarray(e * 3, e * 3 + 3), i * 3);
          md5s += oldMd5s.slice(e * 32, e * 32 + 32);
        } else {
          nums[i * 3] = e.ino;
          nums[i * 3 + 1] = e.mtimeMs;
          nums[i * 3 + 2] = e.size;
          md5s += e.md5;
        }
        i++;
      }
      offsets[count] = at;
      const keyText = Buffer.from(keys.join(""), "utf8");
      header.writeUInt32LE(count, 8);
      header.writeUInt32LE(keyText.length, 12);
      body = Buffer.concat([
        header,
        Buffer.from(nums.buffer, nums.byteOffset, nums.byteLength),
        Buffer.from(offsets.buffer, offsets.byteOffset, offsets.byteLength),
        keyText,
        Buffer.from(md5s, "latin1"),
        dirText,
      ]);
      // The file records now differ from the loaded bytes: a later save encodes them again.
      this.loaded = { ...this.loaded, raw: undefined };
    }
    try {
      mkdirSync(dirname(this.file), { recursive: true });
      const tmp = `${this.file}.${process.pid}.tmp`;
      writeFileSync(tmp, body);
      renameSync(tmp, this.file);
      this.dirty = false;
      this.dirsDirty = false;
    } catch {
      // Read-only repository or full disk: the cache is an optimisation only.
    }
  }
}
