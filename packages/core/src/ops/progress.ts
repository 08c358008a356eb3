/** Progress of a long operation, reported as it goes (the CLI draws a bar from it on a terminal). */
export interface ProgressEvent {
  phase: "add" | "checkout" | "push" | "fetch" | "status" | "gc";
  target?: string;
  files: number;
  totalFiles: number;
  bytes: number;
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
