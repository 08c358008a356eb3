import { Worker } from "node:worker_threads";

/**
 * The md5 of a file that is being written in order, computed on a worker thread that reads each
 * part back (from the page cache) once it is written. A big download then hashes on the second
 * core while the main thread receives and writes the next parts, instead of taking turns with it.
 */
export class TrailingFileMd5 {
  private readonly worker: Worker;
  private readonly result: Promise<string>;

  /** `path` must exist (the writer has opened it) before this is made. */
  constructor(path: string) {
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path } });
    this.result = new Promise<string>((resolve, reject) => {
      this.worker.once("message", (m: { md5: string }) => resolve(m.md5));
      this.worker.once("error", reject);
      this.worker.once("exit", (code) => reject(new Error(`the hashing thread stopped (exit ${code})`)));
    });
    this.result.catch(() => {}); // reported by digest()
  }

  /** The first `bytes` bytes of the file are written: hash up to there. */
  written(bytes: number): void {
    this.worker.postMessage({ upTo: bytes });
  }

  /** The md5 of everything reported written. */
  async digest(): Promise<string> {
    this.worker.postMessage({ end: true });
    try {
      return await this.result;
    } finally {
      await this.worker.terminate();
    }
  }

  /** Stop without a result (the download failed). */
  async abandon(): Promise<void> {
    await this.worker.terminate();
  }
}

// A plain script (eval), so no separate file has to be found at run time. One reused read buffer.
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const fs = require("node:fs");
const crypto = require("node:crypto");
const fd = fs.openSync(workerData.path, "r");
const hash = crypto.createHash("md5");
const buf = Buffer.allocUnsafe(1 << 20);
let at = 0;
parentPort.on("message", (m) => {
  while (m.upTo !== undefined && at < m.upTo) {
    const n = fs.readSync(fd, buf, 0, Math.min(buf.length, m.upTo - at), at);
    if (n === 0) throw new Error("the file ends at " + at + " bytes, before " + m.upTo);
    hash.update(buf.subarray(0, n));
    at += n;
  }
  if (m.end) {
    fs.closeSync(fd);
    parentPort.postMessage({ md5: hash.digest("hex") });
  }
});
`;
