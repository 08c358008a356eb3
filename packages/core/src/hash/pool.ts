import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import pMap from "p-map";
import { TEMP_FILE } from "../atomic-write.js";

/**
 * A small pool of worker threads that hash (and optionally store into the cache) many small files
 * with synchronous fs calls: for files of a few KiB the promise-based fs API costs more than the
 * work, and two threads with readFileSync + md5 were measured fastest on a 2-core machine.
 */

export interface SmallFileTask {
  /** Absolute path of the workspace file. */
  path: string;
}

export interface SmallFileResult {
  md5: string;
  size: number;
  ino: number;
  mtimeMs: number;
  /** Set when the file could not be read; the other fields are then meaningless. */
  error?: { code?: string; message: string };
}

export interface LinkTask {
  src: string;
  dest: string;
  /** "reflink" clones where the file system can and copies elsewhere; "copy" never tries to clone. */
  type: "reflink" | "hardlink" | "symlink" | "copy";
  isexec: boolean;
}

export interface VerifyTask {
  /** The downloaded temporary file. */
  tmp: string;
  /** Its expected plain md5. */
  oid: string;
  /** Where it goes once verified (an object already there, with the same bytes, is replaced). */
  dest: string;
}

export interface ObjectCopyTask {
  /** The object's file: on a local remote (fetch), or in the cache (push). */
  src: string;
  /** Its expected plain md5. */
  oid: string;
  /** Its place: in the cache, or on a local remote. */
  dest: string;
  /**
   * Set when `dest` is on a remote: the start of the temporary file's name there (see
   * remoteTempPrefix), and the folder is only created, never swept (it may be shared).
   */
  remoteTemp?: string;
}

export interface StoreOptions {
  /** `<cache>/files/md5`: when set, each file's bytes are also written there under its md5. */
  objectsDir?: string;
}

// The worker runs as a plain script (eval) so it needs no separate file to be found at run time.
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const fs = require("node:fs");
const crypto = require("node:crypto");
const TEMP_FILE = new RegExp(${JSON.stringify(TEMP_FILE.source)});
const made = new Set();
// What a killed command left in a cache folder: temporary files of processes that are gone.
function sweepDeadTemps(dir) {
  for (const name of fs.readdirSync(dir)) {
    if (!TEMP_FILE.test(name)) continue;
    const pid = Number(name.slice(5, name.indexOf("-", 5)));
    if (pid === process.pid) continue;
    try { process.kill(pid, 0); continue; } catch (e) { if (e.code === "EPERM") continue; }
    try { fs.unlinkSync(dir + "/" + name); } catch {}
  }
}
// Temporary names from a counter after a random part drawn once per thread: drawing random bytes
// per file cost a getpid call each.
const tempTag = crypto.randomBytes(6).toString("base64url").slice(0, 6);
let tempCount = 0;
function tempIn(dir) {
  return dir + "/.mlv-" + process.pid + "-" + tempTag + (tempCount++).toString(36).padStart(6, "0") + ".tmp";
}
function ensureCacheDir(dir) {
  if (!made.has(dir)) { fs.mkdirSync(dir, { recursive: true }); sweepDeadTemps(dir); made.add(dir); }
}
function writeAll(fd, data) {
  for (let at = 0; at < data.length; ) at += fs.writeSync(fd, data, at, data.length - at);
}
// A read-only cache object from bytes already checked: a temporary file, then a rename.
function commitObject(final, data) {
  const tmp = tempIn(final.slice(0, final.lastIndexOf("/")));
  const fd = fs.openSync(tmp, "wx", 0o444);
  try { writeAll(fd, data); } catch (e) { fs.closeSync(fd); fs.unlinkSync(tmp); throw e; }
  fs.closeSync(fd);
  fs.renameSync(tmp, final);
}
function store(objectsDir, md5, data) {
  const dir = objectsDir + "/" + md5.slice(0, 2);
  const final = dir + "/" + md5.slice(2);
  if (fs.existsSync(final)) return;
  ensureCacheDir(dir);
  commitObject(final, data);
}
// An object copied between the cache and a local remote, read once: hashed as it is written to a
// temporary file, renamed into place when its md5 is the one expected.
function copyObject(item) {
  const from = fs.openSync(item.src, "r");
  let tmp;
  let to;
  try {
    const dir = item.dest.slice(0, item.dest.lastIndexOf("/"));
    if (item.remoteTemp === undefined) {
      ensureCacheDir(dir);
      tmp = tempIn(dir);
    } else {
      if (!made.has(dir)) { fs.mkdirSync(dir, { recursive: true }); made.add(dir); }
      tmp = dir + "/" + item.remoteTemp + tempTag + "-" + (tempCount++).toString(36) + ".tmp"; // the other threads write here too
    }
    try { to = fs.openSync(tmp, "wx", 0o444); }
    catch (e) {
      if (e.code !== "ENOENT") throw e;
      fs.mkdirSync(dir, { recursive: true }); // the folder went away since it was made here
      to = fs.openSync(tmp, "wx", 0o444);
    }
    const hash = crypto.createHash("md5");
    let size = 0;
    for (;;) {
      const n = fs.readSync(from, chunk, 0, chunk.length, null);
      if (n === 0) break;
      const bytes = n === chunk.length ? chunk : chunk.subarray(0, n);
      hash.update(bytes);
      writeAll(to, bytes);
      size += n;
    }
    fs.closeSync(to);
    to = undefined;
    const md5 = hash.digest("hex");
    if (md5 !== item.oid) {
      fs.unlinkSync(tmp);
      return { md5, size, ino: 0, mtimeMs: 0, error: { code: "ECORRUPT", message: md5 } };
    }
    fs.renameSync(tmp, item.dest);
    return { md5: "", size, ino: 0, mtimeMs: 0 }; // its md5 is the one asked for: not sent back for each of thousands
  } catch (e) {
    if (to !== undefined) fs.closeSync(to);
    if (tmp !== undefined) try { fs.unlinkSync(tmp); } catch {}
    throw e;
  } finally {
    fs.closeSync(from);
  }
}
// A plain copy through the reused buffer: the new file gets its mode from open (umask applied),
// and its stat from the open descriptor. libuv's copy also probed for reflinks, truncated and set
// the source's mode, then a chmod and a stat by path followed: five more calls per file.
function copyInto(src, tmp, mode) {
  const from = fs.openSync(src, "r");
  try {
    const to = fs.openSync(tmp, "wx", mode);
    try {
      for (;;) {
        const n = fs.readSync(from, chunk, 0, chunk.length, null);
        if (n === 0) break;
        writeAll(to, n === chunk.length ? chunk : chunk.subarray(0, n));
      }
      return fs.fstatSync(to);
    } finally { fs.closeSync(to); }
  } finally { fs.closeSync(from); }
}
function materialise(item) {
  const dir = item.dest.slice(0, item.dest.lastIndexOf("/"));
  if (!made.has(dir)) { fs.mkdirSync(dir, { recursive: true }); made.add(dir); }
  const tmp = tempIn(dir);
  let st;
  try {
    if (item.type === "hardlink") fs.linkSync(item.src, tmp);
    else if (item.type === "symlink") fs.symlinkSync(item.src, tmp);
    else if (item.type === "copy") st = copyInto(item.src, tmp, item.isexec ? 0o777 : 0o666);
    else {
      fs.copyFileSync(item.src, tmp, fs.constants.COPYFILE_FICLONE);
      fs.chmodSync(tmp, item.isexec ? 0o777 & ~umask : 0o666 & ~umask);
    }
    fs.renameSync(tmp, item.dest);
  } catch (e) {
    try { fs.unlinkSync(tmp); } catch {}
    throw e;
  }
  // A rename keeps the inode and its mtime: the stat taken through the descriptor still holds.
  if (st === undefined) st = fs.statSync(item.dest);
  return { md5: "", size: st.size, ino: st.ino, mtimeMs: st.mtimeMs };
}
const umask = process.umask();
const chunk = Buffer.allocUnsafe(1 << 20);
// A whole file in one reused buffer (grown when a file needs more): a fresh buffer per file left
// the threads' malloc arenas holding tens of MiB after an add of 20,000 files of up to 64 KiB.
let whole = Buffer.allocUnsafe(1 << 20);
function readWhole(path, expected) {
  const fd = fs.openSync(path, "r");
  try {
    if (whole.length < expected + 1) whole = Buffer.allocUnsafe(Math.max(expected + 1, whole.length * 2));
    let n = 0;
    for (;;) {
      if (n === whole.length) {
        const bigger = Buffer.allocUnsafe(whole.length * 2);
        whole.copy(bigger, 0, 0, n);
        whole = bigger;
      }
      const got = fs.readSync(fd, whole, n, whole.length - n, null);
      if (got === 0) return whole.subarray(0, n);
      n += got;
    }
  } finally { fs.closeSync(fd); }
}
// Check a downloaded temporary file against its md5, then protect it and move it into place.
function verify(item) {
  const fd = fs.openSync(item.tmp, "r");
  const hash = crypto.createHash("md5");
  let size = 0;
  let md5;
  try {
    for (;;) {
      const n = fs.readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      hash.update(n === chunk.length ? chunk : chunk.subarray(0, n));
      size += n;
    }
    md5 = hash.digest("hex");
    if (md5 === item.oid) fs.fchmodSync(fd, 0o444);
  } finally { fs.closeSync(fd); }
  if (md5 !== item.oid) {
    fs.unlinkSync(item.tmp);
    return { md5, size, ino: 0, mtimeMs: 0, error: { code: "ECORRUPT", message: md5 } };
  }
  // An object already there has the same bytes: replacing it costs less than looking first.
  fs.renameSync(item.tmp, item.dest);
  return { md5, size, ino: 0, mtimeMs: 0 };
}
// Walk folders, stat'ing every file: paths and a flat Float64Array of (ino, mtimeMs, size, mode).
function scan(roots) {
  const rels = [];
  const temps = [];
  let nums = new Float64Array(4096);
  let n = 0;
  const push = (rel, st) => {
    if (n + 4 > nums.length) { const bigger = new Float64Array(nums.length * 2); bigger.set(nums); nums = bigger; }
    nums[n++] = st.ino; nums[n++] = st.mtimeMs; nums[n++] = st.size; nums[n++] = st.mode;
    rels.push(rel);
  };
  const visit = (abs, rel, isRoot) => {
    const entries = fs.readdirSync(abs, { withFileTypes: true });
    if (!isRoot) for (const e of entries) if (e.name === ".dvc" && e.isDirectory()) return;
    for (const e of entries) {
      const name = e.name;
      if (name === ".git" || name === ".hg" || name === ".dvc") continue;
      const childAbs = abs + "/" + name;
      if (TEMP_FILE.test(name)) { temps.push(childAbs); continue; }
      const childRel = rel ? rel + "/" + name : name;
      if (name === ".dvcignore") throw Object.assign(new Error(childAbs), { code: "EDVCIGNORE" });
      if (e.isDirectory()) visit(childAbs, childRel, false);
      else if (e.isFile()) push(childRel, fs.statSync(childAbs));
      else if (e.isSymbolicLink()) {
        const st = fs.statSync(childAbs, { throwIfNoEntry: false });
        if (st && st.isFile()) push(childRel, st);
      }
    }
  };
  for (const [abs, rel] of roots) visit(abs, rel, false);
  const packed = nums.slice(0, n);
  // A digest of the listing, so that an unchanged folder can be recognised without going through it.
  const digest = crypto.createHash("md5").update(rels.join("\\0")).update(new Uint8Array(packed.buffer)).digest("hex");
  return { rels, nums: packed, temps, digest };
}
// The permission bits of the objects a .dir listing names, for the entries starting in this part of
// its bytes: only the ones that are not 0444 come back, as (index, mode or -1 when missing) pairs.
// Only the layout mlv and DVC write, without escapes, is read here; anything else is answered with
// "fallback" for the caller's full parser, which also gives the errors.
const ENTRY = Buffer.from('{"md5": "');
const MIDDLE = Buffer.from('", "relpath": "');
function isHex(c) { return (c >= 48 && c <= 57) || (c >= 97 && c <= 102); }
// A relpath part that is empty, "." or "..", or ".git" in any case, makes the listing unsafe.
function badPart(buf, from, to) {
  const n = to - from;
  if (n === 0) return true;
  if (buf[from] !== 46) return false;
  if (n === 1 || (n === 2 && buf[from + 1] === 46)) return true;
  return n === 4 && (buf[from + 1] | 32) === 103 && (buf[from + 2] | 32) === 105 && (buf[from + 3] | 32) === 116;
}
function dirModes({ file, root, part, parts }) {
  const buf = fs.readFileSync(file);
  const len = buf.length;
  if (len < 2 || buf[0] !== 91 || buf[len - 1] !== 93 || buf.indexOf(92) !== -1) return { fallback: true };
  const startOf = (k) => {
    if (k === 0) return 1;
    if (k === parts) return len - 1;
    const at = buf.indexOf(ENTRY, Math.floor((len * k) / parts));
    return at === -1 ? len - 1 : at;
  };
  let pos = startOf(part);
  const end = startOf(part + 1);
  let index = 0;
  const odd = [];
  while (pos < end) {
    if (!buf.subarray(pos, pos + 9).equals(ENTRY)) return { fallback: true };
    const h = pos + 9;
    for (let i = h; i < h + 32; i++) if (!isHex(buf[i])) return { fallback: true };
    if (!buf.subarray(h + 32, h + 47).equals(MIDDLE)) return { fallback: true };
    const r = h + 47;
    const close = buf.indexOf(34, r);
    if (close === -1 || buf[close + 1] !== 125) return { fallback: true };
    let seg = r;
    for (let i = r; i <= close; i++) {
      if (buf[i] < 32) return { fallback: true };
      if (i === close || buf[i] === 47) {
        if (badPart(buf, seg, i)) return { fallback: true };
        seg = i + 1;
      }
    }
    pos = close + 2;
    if (pos === len - 1) {
      if (pos !== end) return { fallback: true };
    } else if (buf[pos] === 44 && buf[pos + 1] === 32) pos += 2;
    else return { fallback: true };
    const st = fs.statSync(root + "/" + buf.toString("latin1", h, h + 2) + "/" + buf.toString("latin1", h + 2, h + 32), { throwIfNoEntry: false });
    const mode = st && st.isFile() ? (st.mode & 0o777) : -1;
    if (mode !== 0o444) odd.push(index, mode);
    index++;
  }
  return { count: index, odd };
}
// A failed item's result: its error, the other fields meaningless.
const failure = (e) => ({ md5: "", size: 0, ino: 0, mtimeMs: 0, error: { code: e.code, message: e.message } });
// Each item through fn, a failure becoming that item's result: the others go on.
function eachItem(id, items, fn) {
  const out = [];
  for (const item of items) {
    try { out.push(fn(item)); } catch (e) { out.push(failure(e)); }
  }
  parentPort.postMessage({ id, out });
}
parentPort.on("message", ({ id, paths, objectsDir, links, roots, downloads, objectCopies, modes, dir }) => {
  const out = [];
  if (dir) {
    let result;
    try { result = dirModes(dir); } catch (e) { result = { fallback: true }; }
    parentPort.postMessage({ id, dirModes: result });
    return;
  }
  if (modes) {
    const result = new Float64Array(modes.oids.length);
    for (let i = 0; i < modes.oids.length; i++) {
      const oid = modes.oids[i];
      const st = fs.statSync(modes.root + "/" + oid.slice(0, 2) + "/" + oid.slice(2), { throwIfNoEntry: false });
      result[i] = st && st.isFile() ? (st.mode & 0o777) : -1;
    }
    parentPort.postMessage({ id, modes: result }, [result.buffer]);
    return;
  }
  if (objectCopies) return eachItem(id, objectCopies, copyObject);
  if (downloads) return eachItem(id, downloads, verify);
  if (roots) {
    try {
      const result = scan(roots);
      parentPort.postMessage({ id, scanned: result }, [result.nums.buffer]);
    } catch (e) {
      parentPort.postMessage({ id, error: { code: e.code, message: e.message, path: e.path } });
    }
    return;
  }
  if (links) return eachItem(id, links, materialise);
  for (const p of paths) {
    try {
      const st = fs.statSync(p);
      const data = readWhole(p, st.size);
      const md5 = crypto.createHash("md5").update(data).digest("hex");
      if (objectsDir) store(objectsDir, md5, data);
      out.push({ md5, size: data.length, ino: st.ino, mtimeMs: st.mtimeMs });
    } catch (e) {
      out.push(failure(e));
    }
  }
  parentPort.postMessage({ id, out });
});
`;

const BATCH = 64;

export class HashPool {
  private workers: Worker[] = [];
  private next = 0;
  // biome-ignore lint/suspicious/noExplicitAny: replies differ per request kind
  private pending = new Map<number, (r: any) => void>();
  private seq = 0;

  constructor(size = Math.max(1, Math.min(4, availableParallelism()))) {
    for (let i = 0; i < size; i++) {
      // A small young generation: the workers allocate many short-lived buffers and would otherwise
      // grow tens of MiB each before collecting.
      const w = new Worker(WORKER_SOURCE, { eval: true, resourceLimits: { maxYoungGenerationSizeMb: 8 } });
      w.on("message", (msg: { id: number; out: SmallFileResult[] }) => {
        const resolve = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        if (this.pending.size === 0) for (const x of this.workers) x.unref();
        resolve?.(msg.out ?? msg);
      });
      // Idle workers must not keep the process alive; busy ones must (see run()).
      w.unref();
      this.workers.push(w);
    }
  }

  private run<T = SmallFileResult[]>(message: {
    paths?: string[];
    objectsDir?: string;
    links?: LinkTask[];
    roots?: [string, string][];
    downloads?: VerifyTask[];
    objectCopies?: ObjectCopyTask[];
    modes?: { root: string; oids: string[] };
    dir?: { file: string; root: string; part: number; parts: number };
  }): Promise<T> {
    const id = this.seq++;
    const worker = this.workers[this.next++ % this.workers.length]!;
    if (this.pending.size === 0) for (const x of this.workers) x.ref();
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      worker.postMessage({ id, ...message });
    });
  }

  /** Run `tasks` in batches across the workers; results come back in input order. */
  private async batched<T>(
    count: number,
    slice: (start: number, end: number) => T[],
    send: (slice: T[]) => Promise<SmallFileResult[]>,
    onBatch?: (done: number, bytes: number) => void,
  ): Promise<SmallFileResult[]> {
    const results: SmallFileResult[] = new Array(count);
    const starts: number[] = [];
    for (let start = 0; start < count; start += BATCH) starts.push(start);
    // Two batches in flight per worker keep every thread busy without queueing all the work (and
    // its copies) in the workers' memory at once.
    await pMap(
      starts,
      async (start) => {
        const out = await send(slice(start, Math.min(start + BATCH, count)));
        let bytes = 0;
        for (let i = 0; i < out.length; i++) {
          results[start + i] = out[i]!;
          bytes += out[i]!.size;
        }
        onBatch?.(out.length, bytes);
      },
      { concurrency: this.workers.length * 2 },
    );
    return results;
  }

  /**
   * Hash every path (and store it when `objectsDir` is set). Results come back in input order;
   * `onBatch` reports progress as batches finish.
   */
  async hashAll(
    paths: readonly string[],
    options: StoreOptions = {},
    onBatch?: (done: number, bytes: number) => void,
  ): Promise<SmallFileResult[]> {
    return this.batched(
      paths.length,
      (start, end) => paths.slice(start, end),
      (slice) => this.run({ paths: slice, objectsDir: options.objectsDir }),
      onBatch,
    );
  }

  /**
   * Create workspace files from cache objects with one link type, each through a temporary file and
   * a rename. Results carry the new file's stat (md5 left empty) or the error.
   */
  linkAll(
    count: number,
    tasks: (start: number, end: number) => LinkTask[],
    onBatch?: (done: number, bytes: number) => void,
  ): Promise<SmallFileResult[]> {
    return this.batched(count, tasks, (slice) => this.run({ links: slice }), onBatch);
  }

  /**
   * Verify downloaded files against their md5 and move the good ones into place, read-only. A
   * mismatch comes back as an error with code ECORRUPT and the actual md5 as its message; the
   * temporary file is then deleted.
   */
  verifyAll(tasks: VerifyTask[]): Promise<SmallFileResult[]> {
    return this.run({ downloads: tasks });
  }

  /**
   * Copy objects between a local remote and the cache, each read once, checked against its md5
   * and written read-only through a temporary file, a batch per thread at a time. A mismatch
   * comes back as an error with code ECORRUPT and the actual md5 as its message (nothing
   * written); a missing object as ENOENT.
   */
  copyObjects(
    count: number,
    tasks: (start: number, end: number) => ObjectCopyTask[],
    onBatch?: (done: number, bytes: number) => void,
  ): Promise<SmallFileResult[]> {
    return this.batched(count, tasks, (slice) => this.run({ objectCopies: slice }), onBatch);
  }

  /**
   * The permission bits of each object `<root>/<oid[0:2]>/<oid[2:]>` (-1 when it is missing or not
   * a file), stat'ed across the workers.
   */
  async objectModes(root: string, oids: string[]): Promise<Float64Array> {
    const share = Math.ceil(oids.length / this.workers.length);
    const parts = await Promise.all(
      this.workers.map((_, i) =>
        this.run<{ modes: Float64Array }>({ modes: { root, oids: oids.slice(i * share, (i + 1) * share) } }),
      ),
    );
    const all = new Float64Array(oids.length);
    for (const [i, p] of parts.entries()) all.set(p.modes, i * share);
    return all;
  }

  /**
   * The objects `<root>/<oid[0:2]>/<oid[2:]>` a `.dir` listing names that are not read-only (0444),
   * as (entry index, mode or -1 when missing or not a file) in listing order, stat'ed across the
   * workers. Undefined when the listing is not in the plain layout mlv and DVC write (escaped
   * characters, other keys, anything malformed): the caller reads it with the full parser then.
   */
  async dirObjectModes(root: string, file: string): Promise<{ count: number; odd: number[] } | undefined> {
    const parts = this.workers.length;
    const replies = await Promise.all(
      this.workers.map((_, part) =>
        this.run<{ dirModes: { fallback?: true; count: number; odd: number[] } }>({ dir: { file, root, part, parts } }),
      ),
    );
    let count = 0;
    const odd: number[] = [];
    for (const { dirModes: r } of replies) {
      if (r.fallback) return undefined;
      for (let i = 0; i < r.odd.length; i += 2) odd.push(count + r.odd[i]!, r.odd[i + 1]!);
      count += r.count;
    }
    return { count, odd };
  }

  get size(): number {
    return this.workers.length;
  }

  /**
   * Walk folders (absolute path, path relative to the tracked folder) in one worker, returning each
   * file's relative path and its (ino, mtimeMs, size, mode) packed four numbers per file, and an
   * md5 of both.
   */
  async scan(
    roots: [string, string][],
  ): Promise<{ rels: string[]; nums: Float64Array; temps: string[]; digest: string }> {
    const reply = await this.run<{
      scanned?: { rels: string[]; nums: Float64Array; temps: string[]; digest: string };
      error?: { code?: string; message: string; path?: string };
    }>({
      roots,
    });
    if (reply.error)
      throw Object.assign(new Error(reply.error.message), { code: reply.error.code, path: reply.error.path });
    return reply.scanned!;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers = [];
  }
}
