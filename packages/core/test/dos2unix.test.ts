import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DOS2UNIX_CHUNK, Dos2UnixHasher, dos2unixFileMd5, isTextBlock } from "../src/hash/dos2unix.js";

const md5 = (data: string | Uint8Array) => createHash("md5").update(data).digest("hex");
const bytes = (s: string) => Buffer.from(s, "latin1");

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mlv-dos2unix-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function fileHash(name: string, content: Uint8Array): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return dos2unixFileMd5(path);
}

describe("isTextBlock", () => {
  it("follows istextblock: empty is text, NUL is binary, at most 30% other bytes", () => {
    expect(isTextBlock(new Uint8Array())).toBe(true);
    expect(isTextBlock(bytes("plain text\r\n\t\f\b"))).toBe(true);
    expect(isTextBlock(bytes("abc\x00def"))).toBe(false);
    expect(isTextBlock(bytes("abcdefg\x80\x81\x82"))).toBe(true); // 3 of 10 = 30%
    expect(isTextBlock(bytes("abcdef\x80\x81\x82\x83"))).toBe(false); // 4 of 10
    expect(isTextBlock(bytes("\x7f"))).toBe(false);
  });
});

describe("md5-dos2unix (spec §2.2 vectors)", () => {
  const vectors: [string, string, string, string][] = [
    ["CRLF text", "a\r\nb\r\nc", "17800212205a0baee12dcf34c0748370", "c32b2057b9bd62caa835386346177935"],
    ["foo CRLF", "foo\r\n", "2145971cf82058b108229a3a2e3bff35", "d3b07384d113edec49eaa6238ad5ff00"],
    ["binary", "\x00\r\n", "692c8022360661692872fdc730517229", "692c8022360661692872fdc730517229"],
    [
      "UTF-8 text (25% non-ASCII)",
      "h\xc3\xa9llo\r\n",
      "39c7627198d038fbb0f6fa7e2152a220",
      "1082e4bdaee22cfa4057c4f6a5e4c3da",
    ],
    ["empty", "", "d41d8cd98f00b204e9800998ecf8427e", "d41d8cd98f00b204e9800998ecf8427e"],
  ];

  it.each(vectors)("%s", async (name, input, plain, dos2unix) => {
    const data = bytes(input);
    expect(md5(data)).toBe(plain);
    expect(new Dos2UnixHasher().update(data).digest()).toBe(dos2unix);
    expect(await fileHash(name.replace(/\W/g, "_"), data)).toBe(dos2unix);
  });

  it("replaces CRLF pairs left to right, leaving lone CRs", () => {
    expect(new Dos2UnixHasher().update(bytes("a\r\r\nb\rc\r")).digest()).toBe(md5("a\r\nb\rc\r"));
  });
});

describe("1 MiB chunks (the DVC 3 per-chunk variant)", () => {
  const text = (n: number, fill = "a") => Buffer.alloc(n, fill);

  it("does not convert a CRLF split across a chunk boundary", async () => {
    const first = Buffer.concat([text(DOS2UNIX_CHUNK - 4), bytes("x\r\n\r")]);
    const second = bytes("\nb\r\n");
    const expected = md5(Buffer.concat([text(DOS2UNIX_CHUNK - 4), bytes("x\n\r"), bytes("\nb\n")]));
    expect(await fileHash("split", Buffer.concat([first, second]))).toBe(expected);
  });

  it("decides text or binary per chunk", async () => {
    const binaryFirst = Buffer.concat([bytes("\x00\r\n"), text(DOS2UNIX_CHUNK - 3)]);
    const textSecond = bytes("y\r\n");
    expect(await fileHash("bin-text", Buffer.concat([binaryFirst, textSecond]))).toBe(
      md5(Buffer.concat([binaryFirst, bytes("y\n")])),
    );
    const textFirst = Buffer.concat([bytes("t\r\n"), text(DOS2UNIX_CHUNK - 3)]);
    const binarySecond = bytes("\x00z\r\n");
    expect(await fileHash("text-bin", Buffer.concat([textFirst, binarySecond]))).toBe(
      md5(Buffer.concat([bytes("t\n"), text(DOS2UNIX_CHUNK - 3), binarySecond])),
    );
  });

  it("only looks at the first 512 bytes of a chunk", () => {
    const data = Buffer.concat([text(512), bytes("\x00\r\n")]);
    expect(new Dos2UnixHasher().update(data).digest()).toBe(md5(Buffer.concat([text(512), bytes("\x00\n")])));
  });

  it("gives the same digest whatever pieces update() is given", () => {
    const data = Buffer.concat([
      text(DOS2UNIX_CHUNK - 1),
      bytes("\r\n"),
      bytes("\x00\r\n"),
      text(DOS2UNIX_CHUNK + 7, "q\r\n"),
    ]);
    const whole = new Dos2UnixHasher().update(data).digest();
    const pieces = new Dos2UnixHasher();
    for (let i = 0; i < data.length; i += 300_007) pieces.update(data.subarray(i, i + 300_007));
    expect(pieces.digest()).toBe(whole);
    // The first boundary splits "\r\n"; the second chunk starts with "\n" then "\x00": binary.
    const first = Buffer.concat([text(DOS2UNIX_CHUNK - 1), bytes("\r")]);
    expect(whole).toBe(
      md5(
        Buffer.concat([
          first,
          data.subarray(DOS2UNIX_CHUNK, 2 * DOS2UNIX_CHUNK),
          convertAll(data.subarray(2 * DOS2UNIX_CHUNK)),
        ]),
      ),
    );
  });
});

/** "\r\n" → "\n" for a chunk known to be text (test helper). */
function convertAll(chunk: Uint8Array): Buffer {
  return Buffer.from(Buffer.from(chunk).toString("latin1").replaceAll("\r\n", "\n"), "latin1");
}
