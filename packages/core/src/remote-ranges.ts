/** Helpers for adapters implementing ranged reads (`rangedRead`), so each answers alike. */
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
