/** Helpers for adapters implementing ranged reads (`rangedRead`, parallel ranges), so each answers alike. */
import { Readable } from "node:stream";
import { RemoteError } from "./errors.js";
import type { ByteRange } from "./remote.js";

/** A byte stream that ends at once: what a range past the end of an object reads. */
export function emptyReadable(): Readable {
  return Readable.from([], { objectMode: false });
}

/** A negative or fractional offset or length is a caller's bug: fail rather than read the wrong bytes. */
export function checkByteRange(range: ByteRange, key: string): void {
  const isCount = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0;
  if (isCount(range.offset) && (range.length === undefined || isCount(range.length))) return;
  throw new RemoteError("EUSAGE", `invalid byte range of '${key}': offset ${range.offset}, length ${range.length}`, {
    data: { key, offset: range.offset, length: range.length },
  });
}

/**
 * The bytes of `body` after its first `skip`, at most `limit` of them: what a server that ignores or
 * widens a Range header sent, cut to the range asked for. Stops reading (and so drops the body) once done.
 */
export async function* cutBytes(body: AsyncIterable<Buffer>, skip: number, limit: number): AsyncGenerator<Buffer> {
  let toSkip = skip;
  let left = limit;
  for await (const chunk of body) {
    let piece = chunk;
    if (toSkip > 0) {
      const dropped = Math.min(toSkip, piece.length);
      toSkip -= dropped;
      piece = piece.subarray(dropped);
    }
    if (piece.length > left) piece = piece.subarray(0, left);
    left -= piece.length;
    if (piece.length > 0) yield piece;
    if (left === 0) return;
  }
}

/**
 * Run `tasks`, at most `jobs` at once (the parts of a ranged download); on the first failure start
 * no more, wait for those running, then throw that first error.
 */
export async function runAll(tasks: (() => Promise<void>)[], jobs: number): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | undefined;
  const worker = async () => {
    while (failure === undefined && next < tasks.length) {
      const task = tasks[next++]!;
      try {
        await task();
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, tasks.length) }, worker));
  if (failure !== undefined) throw failure.err;
}
