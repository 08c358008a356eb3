import { mkdirSync, readFileSync, renameSync, type Stats, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/**
 * Remembers the md5 of workspace files keyed on (inode, mtime, size), so that `status` and a
 * repeated `add` do not re-read unchanged files. It lives in `.dvc/tmp` (machine-local, git-ignored)
 * and is mlv's own: DVC keeps its equivalent elsewhere and neither needs the other's.
 */
type Entry = [ino: number, mtimeMs: number, size: number, md5: string];

interface Stored {
  version: 1;
  files: Record<string, Entry>;
  /** `.dir` oids known to be complete in the cache, with the cache signature seen then. */
  complete: Record<string, string>;
}

export interface StatLike {
  ino: number;
  mtimeMs: number;
  size: number;
}

export class HashCache {
  private data: Stored;
  private dirty = false;

  private constructor(
    readonly file: string,
    data: Stored,
  ) {
    this.data = data;
  }

  static load(file: string): HashCache {
    try {
      const parsed = JSON.parse(readFileSync(file, "utf8")) as Stored;
      if (parsed.version === 1 && parsed.files && parsed.complete) return new HashCache(file, parsed);
    } catch {
      // Missing or unreadable: it is only a cache, start afresh.
    }
    return new HashCache(file, { version: 1, files: Object.create(null), complete: Object.create(null) });
  }

  /** The recorded md5 of `key` if its (inode, mtime, size) still match `st`. */
  get(key: string, st: StatLike | Stats): string | undefined {
    const e = this.data.files[key];
    if (e && e[0] === st.ino && e[1] === st.mtimeMs && e[2] === st.size) return e[3];
    return undefined;
  }

  set(key: string, st: StatLike, md5: string): void {
    const e = this.data.files[key];
    if (e && e[0] === st.ino && e[1] === st.mtimeMs && e[2] === st.size && e[3] === md5) return;
    this.data.files[key] = [st.ino, st.mtimeMs, st.size, md5];
    this.dirty = true;
  }

  delete(key: string): void {
    if (key in this.data.files) {
      delete this.data.files[key];
      this.dirty = true;
    }
  }

  /** Whether `oid` (a `.dir`) was seen complete in the cache while the cache had `signature`. */
  isComplete(oid: string, signature: string): boolean {
    return this.data.complete[oid] === signature;
  }

  markComplete(oid: string, signature: string): void {
    if (this.data.complete[oid] === signature) return;
    this.data.complete[oid] = signature;
    this.dirty = true;
  }

  /** Write atomically; a failure only costs re-hashing next time. */
  save(): void {
    if (!this.dirty) return;
    try {
      mkdirSync(dirname(this.file), { recursive: true });
      const tmp = `${this.file}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(this.data));
      renameSync(tmp, this.file);
      this.dirty = false;
    } catch {
      // Read-only repository or full disk: the cache is an optimisation only.
    }
  }
}
