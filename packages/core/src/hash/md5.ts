import { createHash } from "node:crypto";
import { open } from "node:fs/promises";

/** Big files are read in 1 MiB chunks into one reused buffer: a fresh buffer per chunk costs more in page faults than the hashing itself. */
const CHUNK = 1 << 20;

/**
 * Read buffers kept between calls: hashing many small files (a push checks each one) would
 * otherwise allocate, and fault in, a fresh 1 MiB buffer per file.
 */
const spare: Buffer[] = [];
const SPARE_MAX = 16;
async function withChunk<T>(use: (buf: Buffer) => Promise<T>): Promise<T> {
  const buf = spare.pop() ?? Buffer.allocUnsafe(CHUNK);
  try {
    return await use(buf);
  } finally {
    if (spare.length < SPARE_MAX) spare.push(buf);
  }
}

export interface FileDigest {
  md5: string;
  size: number;
}

export function md5Hex(data: Uint8Array | string): string {
  return createHash("md5").update(data).digest("hex");
}

/** The plain MD5 of a file's bytes (DVC 3 `md5`); `onBytes` hears how many are read so far. */
export async function md5File(path: string, onBytes?: (bytes: number) => void): Promise<FileDigest> {
  const fh = await open(path, "r");
  try {
    return await withChunk(async (buf) => {
      const hash = createHash("md5");
      let size = 0;
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, CHUNK, null);
        if (bytesRead === 0) break;
        hash.update(bytesRead === CHUNK ? buf : buf.subarray(0, bytesRead));
        size += bytesRead;
        onBytes?.(size);
      }
      return { md5: hash.digest("hex"), size };
    });
  } finally {
    await fh.close();
  }
}

/**
 * Copy `src` to `dest` (created exclusively with `mode`) while hashing it: one read pass, so adding
 * a big file costs about what `md5sum` alone does. The caller renames `dest` into place.
 */
export async function copyAndHash(
  src: string,
  dest: string,
  mode = 0o444,
  onBytes?: (bytes: number) => void,
): Promise<FileDigest> {
  const input = await open(src, "r");
  try {
    const output = await open(dest, "wx", mode);
    try {
      return await withChunk(async (buf) => {
        const hash = createHash("md5");
        let size = 0;
        for (;;) {
          const { bytesRead } = await input.read(buf, 0, CHUNK, null);
          if (bytesRead === 0) break;
          const chunk = bytesRead === CHUNK ? buf : buf.subarray(0, bytesRead);
          hash.update(chunk);
          let written = 0;
          while (written < bytesRead) {
            const r = await output.write(chunk, written, bytesRead - written);
            written += r.bytesWritten;
          }
          size += bytesRead;
          onBytes?.(size);
        }
        return { md5: hash.digest("hex"), size };
      });
    } finally {
      await output.close();
    }
  } finally {
    await input.close();
  }
}
