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
