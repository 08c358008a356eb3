import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/**
 * Remembers the md5 of workspace files keyed on (inode, mtime, size), so that `status` and a
 * repeated `add` do not re-read unchanged files. It lives in `.dvc/tmp` (machine-local, git-ignored)
 * and is mlv's own: DVC keeps its equivalent elsewhere and neither needs the other's.
 *
 * Stored in a small binary format because `status` of a 50,000-file folder reads all of it: per
 * record a u16 path length, the UTF-8 path, ino, mtimeMs and size as f64, and the 16-byte md5.
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

const MAGIC = Buffer.from("MLVHASH2");

export class HashCache {
  private files = new Map<string, Entry>();
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
      // Unreadable: it is only a cache, start afresh.
      cache.files.clear();
    }
    return cache;
  }

  private decode(buf: Buffer): void {
    if (buf.length < 8 || !buf.subarray(0, 8).equals(MAGIC)) throw new Error("not a hash cache");
    let o = 8;
    while (o < buf.length) {
      const len = buf.readUInt16LE(o);
      o += 2;
      const key = buf.toString("utf8", o, o + len);
      o += len;
      const ino = buf.readDoubleLE(o);
      const mtimeMs = buf.readDoubleLE(o + 8);
      const size = buf.readDoubleLE(o + 16);
      const md5 = buf.toString("hex", o + 24, o + 40);
      o += 40;
      this.files.set(key, { ino, mtimeMs, size, md5 });
    }
  }

  /** The recorded md5 of `key` if its (inode, mtime, size) still match `st`. */
  get(key: string, st: StatLike): string | undefined {
    const e = this.files.get(key);
    if (e && e.ino === st.ino && e.mtimeMs === st.mtimeMs && e.size === st.size) return e.md5;
    return undefined;
  }

  set(key: string, st: StatLike, md5: string): void {
    if (!/^[0-9a-f]{32}$/.test(md5)) return; // only plain file hashes are remembered
    const e = this.files.get(key);
    if (e && e.ino === st.ino && e.mtimeMs === st.mtimeMs && e.size === st.size && e.md5 === md5) return;
    this.files.set(key, { ino: st.ino, mtimeMs: st.mtimeMs, size: st.size, md5 });
    this.dirty = true;
  }

  delete(key: string): void {
    if (this.files.delete(key)) this.dirty = true;
  }

  /** Write atomically; a failure only costs re-hashing next time. */
  save(): void {
    if (!this.dirty) return;
    let size = 8;
    const keys: Buffer[] = [];
    for (const key of this.files.keys()) {
      const k = Buffer.from(key);
      keys.push(k);
      size += 2 + k.length + 40;
    }
    const buf = Buffer.allocUnsafe(size);
    MAGIC.copy(buf, 0);
    let o = 8;
    let i = 0;
    for (const e of this.files.values()) {
      const k = keys[i++]!;
      if (k.length > 0xffff) continue;
      buf.writeUInt16LE(k.length, o);
      k.copy(buf, o + 2);
      o += 2 + k.length;
      buf.writeDoubleLE(e.ino, o);
      buf.writeDoubleLE(e.mtimeMs, o + 8);
      buf.writeDoubleLE(e.size, o + 16);
      buf.write(e.md5, o + 24, "hex");
      o += 40;
    }
    try {
      mkdirSync(dirname(this.file), { recursive: true });
      const tmp = `${this.file}.${process.pid}.tmp`;
      writeFileSync(tmp, buf.subarray(0, o));
      renameSync(tmp, this.file);
      this.dirty = false;
    } catch {
      // Read-only repository or full disk: the cache is an optimisation only.
    }
  }
}
