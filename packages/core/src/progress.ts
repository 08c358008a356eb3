import { stat } from "node:fs/promises";

/**
 * Progress of a long operation, reported as it goes (the CLI draws a bar from it on a terminal).
 *
 * Events come when a file is done, and in between, while big files move, at most every
 * `progressInterval()` milliseconds. The first event of a push, fetch or checkout (files 0)
 * carries the totals, and `files` never exceeds `totalFiles`: a folder's listing (`.dir`) is not a
 * file people count, so it is in neither.
 */
export interface ProgressEvent {
  phase: "add" | "checkout" | "push" | "fetch" | "status" | "gc";
  target?: string;
  /** Files done (or given up on), out of `totalFiles`. */
  files: number;
  totalFiles: number;
  /** Bytes done, counted as they stream, within files too. */
  bytes: number;
  /**
   * The bytes to move; 0 when not known beforehand. A folder's share is its pointer's `size`: an
   * estimate when files repeat (fetched once), made exact by the last event.
   */
  totalBytes: number;
}

export type ProgressListener = (event: ProgressEvent) => void;

/** What every long operation takes. */
export interface OperationOptions {
  /** Abort: the operation stops between files (none is left half-written) and rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Progress events as the operation goes. */
  onProgress?: ProgressListener;
}

/** Milliseconds between two byte-level events of one operation. */
const DEFAULT_INTERVAL = 100;

/**
 * The least time between byte-level events: 100 ms, or `MLV_PROGRESS_INTERVAL_MS` (tests set 0 to
 * see every chunk of a small file).
 */
export function progressInterval(): number {
  const v = Number(process.env.MLV_PROGRESS_INTERVAL_MS);
  return process.env.MLV_PROGRESS_INTERVAL_MS && Number.isFinite(v) && v >= 0 ? v : DEFAULT_INTERVAL;
}

/**
 * Counts one operation's files and bytes and reports them: every finished file, and the bytes of
 * files under way no more often than `progressInterval()`. Counting a chunk is an addition, so
 * it can sit on the path bytes take.
 */
export class ProgressCounter {
  files = 0;
  bytes = 0;
  private last = 0;
  private readonly interval: number;

  constructor(
    private readonly listener: ProgressListener | undefined,
    private readonly phase: ProgressEvent["phase"],
    public totalFiles: number,
    public totalBytes: number,
    /** The output being worked on, when there is one. */
    public target?: string,
  ) {
    this.interval = listener ? progressInterval() : 0;
  }

  get enabled(): boolean {
    return this.listener !== undefined;
  }

  /** Report the totals before anything moves (nothing when there is nothing to do). */
  start(): void {
    if (this.totalFiles > 0) this.emit();
  }

  /** Report now. */
  emit(): void {
    if (!this.listener) return;
    this.last = performance.now();
    this.listener({
      phase: this.phase,
      ...(this.target !== undefined && { target: this.target }),
      files: this.files,
      // Never shown as more done than there is to do, even if an estimate was short; once every
      // file is done, what moved is the total, even if the estimate was long.
      totalFiles: Math.max(this.totalFiles, this.files),
      bytes: this.bytes,
      totalBytes:
        this.totalBytes <= 0 ? 0 : this.files >= this.totalFiles ? this.bytes : Math.max(this.totalBytes, this.bytes),
    });
  }

  /** Bytes moved within files: reported once the interval has passed since the last event. */
  addBytes(n: number): void {
    this.bytes += n;
    if (this.listener && performance.now() - this.last >= this.interval) this.emit();
  }

  /** Files done (with their bytes not counted yet): reported at once. */
  addFiles(n: number, bytes = 0): void {
    this.files += n;
    this.bytes += bytes;
    this.emit();
  }

  /** One file's progress: its bytes as they move, retries starting over, and its end. */
  file(): FileProgress {
    return new FileProgress(this);
  }
}

/** The progress of one file within an operation. */
export class FileProgress {
  private counted = 0;
  private finished = false;

  constructor(private readonly counter: ProgressCounter) {}

  /** This file's bytes moved so far in the current attempt (less than before: a retry started over). */
  set(bytes: number): void {
    if (this.finished) return;
    const delta = bytes - this.counted;
    this.counted = bytes;
    this.counter.addBytes(delta);
  }

  /** Add `n` bytes to this file's count. */
  add(n: number): void {
    this.set(this.counted + n);
  }

  /** The file is done (or given up on): its bytes become `size` (its full size, when known) and it counts once. */
  done(size = this.counted): void {
    if (this.finished) return;
    this.finished = true;
    const delta = size - this.counted;
    this.counted = size;
    this.counter.addFiles(1, delta);
  }
}

/**
 * Call `onBytes` with the size of `path` every little while until `work` settles: the progress of
 * a copy that has no stream to count (a `copyFile` in core, or in an adapter's `writeFile`), and
 * its final size once it is done. No timer when `onBytes` is not given.
 */
export async function watchGrowth<T>(
  path: string,
  work: Promise<T>,
  onBytes: ((bytes: number) => void) | undefined,
): Promise<T> {
  if (!onBytes) return work;
  let running = true;
  const timer = setInterval(
    () => {
      stat(path).then(
        (st) => {
          if (running) onBytes(st.size); // a stat that ends after the work must not report
        },
        () => {},
      );
    },
    Math.max(progressInterval(), 20),
  );
  try {
    const result = await work;
    running = false;
    // The last tick may have seen the file half written: say where it ended.
    const end = await stat(path).catch(() => undefined);
    if (end !== undefined) onBytes(end.size);
    return result;
  } finally {
    running = false;
    clearInterval(timer);
  }
}
