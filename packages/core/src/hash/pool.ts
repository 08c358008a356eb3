import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";

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
  type: "reflink" | "hardlink" | "symlink" | "copy";
  isexec: boolean;
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
const made = new Set();
let counter = 0;
function store(objectsDir, md5, data) {
  const dir = objectsDir + "/" + md5.slice(0, 2);
  const final = dir + "/" + md5.slice(2);
  if (fs.existsSync(final)) return;
  if (!made.has(dir)) { fs.mkdirSync(dir, { recursive: true }); made.add(dir); }
  const tmp = dir + "/." + process.pid + "-" + require("node:worker_threads").threadId + "-" + (counter++) + ".tmp";
  const fd = fs.openSync(tmp, "wx", 0o444);
  try { fs.writeSync(fd, data); } finally { fs.closeSync(fd); }
  fs.renameSync(tmp, final);
}
function materialise(item) {
  const dir = item.dest.slice(0, item.dest.lastIndexOf("/"));
  if (!made.has(dir)) { fs.mkdirSync(dir, { recursive: true }); made.add(dir); }
  const tmp = dir + "/." + process.pid + "-" + require("node:worker_threads").threadId + "-" + (counter++) + ".tmp";
  try {
    if (item.type === "hardlink") fs.linkSync(item.src, tmp);
    else if (item.type === "symlink") fs.symlinkSync(item.src, tmp);
    else {
      fs.copyFileSync(item.src, tmp, item.type === "reflink" ? fs.constants.COPYFILE_FICLONE_FORCE : fs.constants.COPYFILE_FICLONE);
      fs.chmodSync(tmp, item.isexec ? 0o777 & ~umask : 0o666 & ~umask);
    }
    fs.renameSync(tmp, item.dest);
  } catch (e) {
    try { fs.unlinkSync(tmp); } catch {}
    throw e;
  }
  const st = fs.statSync(item.dest);
  return { md5: "", size: st.size, ino: st.ino, mtimeMs: st.mtimeMs };
}
const umask = process.umask();
parentPort.on("message", ({ id, paths, objectsDir, links }) => {
  const out = [];
  if (links) {
    for (const item of links) {
      try { out.push(materialise(item)); }
      catch (e) { out.push({ md5: "", size: 0, ino: 0, mtimeMs: 0, error: { code: e.code, message: e.message } }); }
    }
    parentPort.postMessage({ id, out });
    return;
  }
  for (const p of paths) {
    try {
      const st = fs.statSync(p);
      const data = fs.readFileSync(p);
      const md5 = crypto.createHash("md5").update(data).digest("hex");
      if (objectsDir) store(objectsDir, md5, data);
      out.push({ md5, size: data.length, ino: st.ino, mtimeMs: st.mtimeMs });
    } catch (e) {
      out.push({ md5: "", size: 0, ino: 0, mtimeMs: 0, error: { code: e.code, message: e.message } });
    }
  }
  parentPort.postMessage({ id, out });
});
`;

const BATCH = 64;

export class HashPool {
  private workers: Worker[] = [];
  private next = 0;
  private pending = new Map<number, (r: SmallFileResult[]) => void>();
  private seq = 0;

  constructor(size = Math.max(1, Math.min(4, availableParallelism()))) {
    for (let i = 0; i < size; i++) {
      const w = new Worker(WORKER_SOURCE, { eval: true });
      w.on("message", ({ id, out }: { id: number; out: SmallFileResult[] }) => {
        const resolve = this.pending.get(id);
        this.pending.delete(id);
        resolve?.(out);
      });
      this.workers.push(w);
    }
  }

  private run(message: { paths?: string[]; objectsDir?: string; links?: LinkTask[] }): Promise<SmallFileResult[]> {
    const id = this.seq++;
    const worker = this.workers[this.next++ % this.workers.length]!;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      worker.postMessage({ id, ...message });
    });
  }

  /** Run `tasks` in batches across the workers; results come back in input order. */
  private async batched<T>(
    tasks: readonly T[],
    send: (slice: T[]) => Promise<SmallFileResult[]>,
    onBatch?: (done: number, bytes: number) => void,
  ): Promise<SmallFileResult[]> {
    const results: SmallFileResult[] = new Array(tasks.length);
    const batches: Promise<void>[] = [];
    for (let start = 0; start < tasks.length; start += BATCH) {
      batches.push(
        send(tasks.slice(start, start + BATCH)).then((out) => {
          let bytes = 0;
          for (let i = 0; i < out.length; i++) {
            results[start + i] = out[i]!;
            bytes += out[i]!.size;
          }
          onBatch?.(out.length, bytes);
        }),
      );
    }
    await Promise.all(batches);
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
    return this.batched(paths, (slice) => this.run({ paths: slice, objectsDir: options.objectsDir }), onBatch);
  }

  /**
   * Create workspace files from cache objects with one link type, each through a temporary file and
   * a rename. Results carry the new file's stat (md5 left empty) or the error.
   */
  linkAll(tasks: readonly LinkTask[], onBatch?: (done: number, bytes: number) => void): Promise<SmallFileResult[]> {
    return this.batched(tasks, (slice) => this.run({ links: slice }), onBatch);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers = [];
  }
}
