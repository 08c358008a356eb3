import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/**
 * Remembers the md5 of workspace files keyed on (inode, mtime, size), so that `status` and a
 * repeated `add` do not re-read unchanged files. It lives in `.dvc/tmp` (machine-local, git-ignored)
 * and is mlv's own: DVC keeps its equivalent elsewhere and neither needs the other's.
 *
 * `status` of a 50,000-file folder reads all of it at every run, so the file is laid out in columns
 * that load with a few bulk operations, and records are decoded only when asked for:
 *   magic "MLVHASH3", record count (u32), key text length in bytes (u32),
 *   ino, mtimeMs, size of each record (f64 each),
 *   where each key starts in the key text (count + 1 u32, in UTF-16 units), the key text (UTF-8),
 *   the md5 of each record (32 hex characters each).
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

const MAGIC = Buffer.from("MLVHASH3");
const HEADER = 16;

/** The records of a file as loaded: looked up by index, never copied out unless changed. */
interface Loaded {
  nums: Float64Array;
  md5s: string;
}

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

export class HashCache {
  /** Key → a record of the loaded file (its index) or one set since. */
  private files = new Map<string, number | Entry>();
  private loaded: Loaded = { nums: new Float64Array(0), md5s: "" };
  private dirty = false;

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
      cache.files.clear();
    }
    return cache;
  }

  private decode(buf: Buffer): void {
    if (buf.length < HEADER || !buf.subarray(0, 8).equals(MAGIC)) throw new Error("not a hash cache");
    const count = buf.readUInt32LE(8);
    const keyBytes = buf.readUInt32LE(12);
    const numsAt = HEADER;
    const offsetsAt = numsAt + count * 24;
    const keysAt = offsetsAt + (count + 1) * 4;
    const md5sAt = keysAt + keyBytes;
    if (buf.length !== md5sAt + count * 32) throw new Error("truncated hash cache");
    const nums = view(Float64Array, 8, buf, numsAt, count * 3);
    const offsets = view(Uint32Array, 4, buf, offsetsAt, count + 1);
    const keys = buf.toString("utf8", keysAt, md5sAt);
    if (offsets[count] !== keys.length) throw new Error("corrupt hash cache");
    this.loaded = { nums, md5s: buf.toString("latin1", md5sAt, md5sAt + count * 32) };
    for (let i = 0; i < count; i++) this.files.set(keys.slice(offsets[i], offsets[i + 1]), i);
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
    if (!/^[0-9a-f]{32}$/.test(md5)) return; // only plain file hashes are remembered
    if (this.get(key, st) === md5) return;
    this.files.set(key, { ino: st.ino, mtimeMs: st.mtimeMs, size: st.size, md5 });
    this.dirty = true;
  }

  delete(key: string): void {
    if (this.files.delete(key)) this.dirty = true;
  }

  /** Write atomically; a failure only costs re-hashing next time. */
  save(): void {
    if (!this.dirty) return;
    const count = this.files.size;
    const keys: string[] = [];
    const offsets = new Uint32Array(count + 1);
    const nums = new Float64Array(count * 3);
    let md5s = "";
    let i = 0;
    let at = 0;
    const { nums: old, md5s: oldMd5s } = this.loaded;
    for (const [key, e] of this.files) {
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
    const header = Buffer.alloc(HEADER);
    MAGIC.copy(header, 0);
    header.writeUInt32LE(count, 8);
    header.writeUInt32LE(keyText.length, 12);
    const body = Buffer.concat([
      header,
      Buffer.from(nums.buffer, nums.byteOffset, nums.byteLength),
      Buffer.from(offsets.buffer, offsets.byteOffset, offsets.byteLength),
      keyText,
      Buffer.from(md5s, "latin1"),
    ]);
    try {
      mkdirSync(dirname(this.file), { recursive: true });
      const tmp = `${this.file}.${process.pid}.tmp`;
      writeFileSync(tmp, body);
      renameSync(tmp, this.file);
      this.dirty = false;
    } catch {
      // Read-only repository or full disk: the cache is an optimisation only.
    }
  }
}
