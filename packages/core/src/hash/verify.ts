import { createHash } from "node:crypto";
import { Transform } from "node:stream";
import { Dos2UnixHasher } from "./dos2unix.js";

/**
 * A pass-through that hashes what goes by (md5, or DVC 2.x's md5-dos2unix) and, at the end, fails
 * with `mismatch(actual)` when the hash is not `expected`. Whoever consumes it sees the error before
 * the end of the stream: an atomic write (temporary file, multipart upload) is then never completed
 * under the object's name.
 */
export function verifyingStream(
  expected: string,
  hashName: "md5" | "md5-dos2unix",
  mismatch: (actual: string) => Error,
): Transform {
  const hash = hashName === "md5" ? createHash("md5") : new Dos2UnixHasher();
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      callback(null, chunk);
    },
    flush(callback) {
      const actual = hash instanceof Dos2UnixHasher ? hash.digest() : hash.digest("hex");
      callback(actual === expected ? null : mismatch(actual));
    },
  });
}
