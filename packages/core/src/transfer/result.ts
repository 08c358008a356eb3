import { MlvError } from "../errors.js";
import type { ProgressListener } from "../progress.js";
import { isTransient } from "../remote-errors.js";

export interface TransferFailure {
  path: string;
  message: string;
  /** Trying again may succeed (a dropped connection, throttling): the failure is not the data's or the remote's setup. */
  transient?: boolean;
  /** What a person at a terminal can run about it (the error's `hint`). */
  hint?: string;
}

export interface TransferResult {
  /** Objects copied. */
  transferred: number;
  /** Objects that were already there. */
  skipped: number;
  failed: TransferFailure[];
  /** Objects in neither the cache nor the remote. */
  missing: string[];
  /** Outputs left out because their pointer or `dvc.lock` records no hash (a stage never run): output and owner. */
  unversioned?: { path: string; owner: string }[];
}

export interface TransferOptions {
  jobs?: number;
  onProgress?: ProgressListener;
  /** Stops between objects: transfers under way finish (each is atomic), then the call rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Add up the results of the same transfer against several remotes (or sources). */
export function mergeResults(results: TransferResult[]): TransferResult {
  return {
    transferred: results.reduce((n, r) => n + r.transferred, 0),
    skipped: results.reduce((n, r) => n + r.skipped, 0),
    failed: results.flatMap((r) => r.failed),
    missing: results.flatMap((r) => r.missing),
    ...(results.some((r) => r.unversioned) && { unversioned: results.flatMap((r) => r.unversioned ?? []) }),
  };
}

/** The failure of `path` with `err`. */
export function failureOf(path: string, err: unknown): TransferFailure {
  const failure: TransferFailure = { path, message: describe(err) };
  if (isTransient(err)) failure.transient = true;
  if (err instanceof MlvError && err.hint) failure.hint = err.hint;
  return failure;
}

/** An error as one line of a transfer's failures. */
export function describe(err: unknown): string {
  if (err instanceof MlvError) return err.message;
  const e = err as NodeJS.ErrnoException;
  return e?.code ? `${e.code}: ${e.message}` : String(e?.message ?? err);
}
