import { Worker } from "node:worker_threads";

/**
 * The md5 of a file that is being written in order, computed on a worker thread that reads each
 * part back (from the page cache) once it is written. A big download then hashes on the second
 * core while the main thread receives and writes the next parts, instead of taking turns with it.
 */
export class TrailingFileMd5 {
  private readonly worker: Worker;
  private readonly result: Promise<string>;

  /**
   * `path` must exist (the writer has opened it) before this is made. `onBytes` hears how far the
   * hashing got, about every 4 MiB. With `whole`, a file that goes on past what was reported
   * written is an error.
   */
  constructor(path: string, onBytes?: (bytes: number) => void, whole = false) {
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { path, report: onBytes !== undefined, whole },
    });
    this.result = new Promise<string>((resolve, reject) => {
      this.worker.on("message", (m: { md5?: string; at?: number }) => {
        if (m.md5 !== undefined) resolve(m.md5);
        else if (m.at !== undefined) onBytes?.(m.at);
      });
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
const REPORT_EVERY = 4 << 20;
let at = 0;
parentPort.on("message", (m) => {
  while (m.upTo !== undefined && at < m.upTo) {
    const n = fs.readSync(fd, buf, 0, Math.min(buf.length, m.upTo - at), at);
    if (n === 0) throw new Error("the file ends at " + at + " bytes, before " + m.upTo);
    hash.update(buf.subarray(0, n));
    at += n;
    if (workerData.report && at % REPORT_EVERY < n) parentPort.postMessage({ at });
  }
  if (m.end) {
    if (workerData.whole && fs.readSync(fd, buf, 0, 1, at) !== 0) throw new Error("the file is longer than " + at + " bytes");
    fs.closeSync(fd);
    parentPort.postMessage({ md5: hash.digest("hex") });
  }
});
`;

/**
 * The md5 of a whole file, hashed on a worker thread: for a big file pushed over a connection whose
 * encryption keeps the main thread busy (SFTP), hashing there too made the push take 1.5x as long.
 */
export async function md5FileOffThread(path: string, size: number, onBytes?: (bytes: number) => void): Promise<string> {
  const hash = new TrailingFileMd5(path, onBytes, true);
  hash.written(size);
  return hash.digest();
}
