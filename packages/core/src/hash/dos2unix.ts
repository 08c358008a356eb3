/**
 * The legacy `md5-dos2unix` hash of DVC 2.x outputs (spec §2.2): the file is read in 1 MiB chunks,
 * and each chunk whose first 512 bytes look like text has its `\r\n` pairs turned into `\n` before
 * it is fed to MD5. This is the DVC 3 variant (dvc-data `Dos2UnixHashStreamFile`), which decides
 * text or binary per chunk; DVC 2 decided once from the first chunk, and the two only differ for
 * files of 1 MiB or more whose chunks differ in textness. A `\r\n` split across two chunks is not
 * converted, in either version.
 */
import { createHash, type Hash } from "node:crypto";
import { open } from "node:fs/promises";

/** The unit of the text/binary decision and of the conversion. */
export const DOS2UNIX_CHUNK = 1 << 20;
/** How much of each chunk the text test looks at. */
const TEXT_TEST_BYTES = 512;

/** 1 for the bytes that count as text: 32..126 and `\n \r \t \f \b`. */
const TEXT_BYTE = new Uint8Array(256);
for (let b = 32; b < 127; b++) TEXT_BYTE[b] = 1;
for (const b of [0x0a, 0x0d, 0x09, 0x0c, 0x08]) TEXT_BYTE[b] = 1;

/**
 * dvc-data's `istextblock`: an empty block is text; a block with a NUL byte is binary; otherwise it
 * is text when at most 30% of its bytes are outside 32..126 and `\n \r \t \f \b`. The whole block
 * given is examined (the hasher passes the first 512 bytes of each chunk).
 */
export function isTextBlock(block: Uint8Array): boolean {
  if (block.length === 0) return true;
  if (block.includes(0)) return false;
  let nontext = 0;
  for (let i = 0; i < block.length; i++) if (TEXT_BYTE[block[i] as number] === 0) nontext++;
  return nontext / block.length <= 0.3;
}

/** Feeds one chunk to `hash`, converted if it is text. `scratch` holds a reusable output buffer. */
function feedChunk(hash: Hash, chunk: Uint8Array, scratch: { buf?: Buffer }): void {
  let cr = isTextBlock(chunk.subarray(0, TEXT_TEST_BYTES)) ? chunk.indexOf(0x0d) : -1;
  if (cr === -1) {
    hash.update(chunk);
    return;
  }
  // Replace each "\r\n" with "\n" (left to right, as Python's bytes.replace).
  if (!scratch.buf || scratch.buf.length < chunk.length) scratch.buf = Buffer.allocUnsafe(chunk.length);
  const out = scratch.buf;
  let written = 0;
  let start = 0;
  while (cr !== -1) {
    if (chunk[cr + 1] === 0x0a) {
      out.set(chunk.subarray(start, cr), written);
      written += cr - start;
      start = cr + 1; // keep the "\n", drop the "\r"
    }
    cr = chunk.indexOf(0x0d, cr + 1);
  }
  out.set(chunk.subarray(start), written);
  written += chunk.length - start;
  hash.update(out.subarray(0, written));
}

/**
 * Incremental md5-dos2unix. `update` accepts data in pieces of any size: it is cut into 1 MiB
 * chunks at the same offsets as DVC reads the file, so the per-chunk decisions do not depend on the
 * caller's pieces. A whole 1 MiB piece given at a chunk boundary is processed without a copy.
 */
export class Dos2UnixHasher {
  readonly #hash: Hash = createHash("md5");
  readonly #scratch: { buf?: Buffer } = {};
  /** The bytes of the current, incomplete chunk (allocated on first need). */
  #pending: Buffer | undefined;
  #pendingLength = 0;

  update(data: Uint8Array): this {
    let offset = 0;
    if (this.#pendingLength > 0) {
      const pending = this.#pending as Buffer;
      const n = Math.min(data.length, DOS2UNIX_CHUNK - this.#pendingLength);
      pending.set(data.subarray(0, n), this.#pendingLength);
      this.#pendingLength += n;
      offset = n;
      if (this.#pendingLength < DOS2UNIX_CHUNK) return this;
      feedChunk(this.#hash, pending, this.#scratch);
      this.#pendingLength = 0;
    }
    while (data.length - offset >= DOS2UNIX_CHUNK) {
      feedChunk(this.#hash, data.subarray(offset, offset + DOS2UNIX_CHUNK), this.#scratch);
      offset += DOS2UNIX_CHUNK;
    }
    if (offset < data.length) {
      this.#pending ??= Buffer.allocUnsafe(DOS2UNIX_CHUNK);
      this.#pending.set(data.subarray(offset), 0);
      this.#pendingLength = data.length - offset;
    }
    return this;
  }

  /** The hex digest. The hasher cannot be used afterwards. */
  digest(): string {
    if (this.#pendingLength > 0)
      feedChunk(this.#hash, (this.#pending as Buffer).subarray(0, this.#pendingLength), this.#scratch);
    this.#pendingLength = 0;
    return this.#hash.digest("hex");
  }
}

/** The md5-dos2unix of a file, read in 1 MiB chunks into one reused buffer. */
export async function dos2unixFileMd5(path: string): Promise<string> {
  const fh = await open(path, "r");
  try {
    const hash = createHash("md5");
    const scratch: { buf?: Buffer } = {};
    const buf = Buffer.allocUnsafe(DOS2UNIX_CHUNK);
    for (;;) {
      // Fill the buffer completely: each chunk must start at a multiple of 1 MiB, as in DVC.
      let filled = 0;
      while (filled < DOS2UNIX_CHUNK) {
        const { bytesRead } = await fh.read(buf, filled, DOS2UNIX_CHUNK - filled, null);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      if (filled > 0) feedChunk(hash, buf.subarray(0, filled), scratch);
      if (filled < DOS2UNIX_CHUNK) break;
    }
    return hash.digest("hex");
  } finally {
    await fh.close();
  }
}
