import { existsSync } from "node:fs";
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { addGitignoreEntry, escapeGitignoreEntry, removeGitignoreEntry } from "../src/formats/gitignore.js";

let dir: string;
let gitignore: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "mlv-gitignore-"));
  gitignore = join(dir, ".gitignore");
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("escapeGitignoreEntry (spec §6.1, V-P6 last column)", () => {
  it.each([
    ["a b.txt", "a b.txt"],
    ["ünï.bin", "ünï.bin"],
    ["x: y.bin", "x: y.bin"],
    ["#hash.bin", "\\#hash.bin"],
    ["!bang.bin", "\\!bang.bin"],
    ["[br]ack*et?.bin", "\\[br\\]ack\\*et\\?.bin"],
    ["yes", "yes"],
    ["123", "123"],
    ["null", "null"],
    ["~", "~"],
    ["trailing ", "trailing "],
    ["it's.bin", "it's.bin"],
    ['q"uote.bin', 'q"uote.bin'],
    ["tab\tx.bin", "tab\tx.bin"],
    ["@at.bin", "@at.bin"],
    ["%pc.bin", "%pc.bin"],
    ["a&b.bin", "a&b.bin"],
    ["{brace}.bin", "{brace}.bin"],
    ["x*y", "x\\*y"],
  ])("%j → /%s", (name, escaped) => {
    expect(`/${escapeGitignoreEntry(name)}`).toBe(`/${escaped}`);
  });
});

describe("addGitignoreEntry", () => {
  it("creates the file with the entry and a newline", async () => {
    expect(await addGitignoreEntry(gitignore, "/foo")).toBe(true);
    expect(await readFile(gitignore, "utf8")).toBe("/foo\n");
  });

  it("appends after a final newline, or writes one first", async () => {
    await writeFile(gitignore, "/a\n");
    await addGitignoreEntry(gitignore, "/b");
    expect(await readFile(gitignore, "utf8")).toBe("/a\n/b\n");
    await writeFile(gitignore, "*.log");
    await addGitignoreEntry(gitignore, "/c");
    expect(await readFile(gitignore, "utf8")).toBe("*.log\n/c\n");
  });

  it("does nothing when the same line is already there", async () => {
    await writeFile(gitignore, "/a\n/data\n/b");
    expect(await addGitignoreEntry(gitignore, "/data")).toBe(false);
    expect(await addGitignoreEntry(gitignore, "/b")).toBe(false);
    expect(await readFile(gitignore, "utf8")).toBe("/a\n/data\n/b");
    // A longer or shorter line is not the same line.
    expect(await addGitignoreEntry(gitignore, "/dat")).toBe(true);
  });

  it("writes the escaped entry it is given, UTF-8, verbatim", async () => {
    await addGitignoreEntry(gitignore, `/${escapeGitignoreEntry("[br]ack*et?.bin")}`);
    await addGitignoreEntry(gitignore, "/ünï.bin");
    expect(await readFile(gitignore, "utf8")).toBe("/\\[br\\]ack\\*et\\?.bin\n/ünï.bin\n");
  });

  it("keeps a CRLF file in CRLF", async () => {
    await writeFile(gitignore, "/a\r\n");
    await addGitignoreEntry(gitignore, "/b");
    expect(await readFile(gitignore, "utf8")).toBe("/a\r\n/b\r\n");
  });

  it("replaces the file atomically: no temporary file left, mode kept", async () => {
    await writeFile(gitignore, "/a\n");
    await chmod(gitignore, 0o640);
    await addGitignoreEntry(gitignore, "/b");
    expect(await readdir(dir)).toEqual([".gitignore"]);
    expect((await stat(gitignore)).mode & 0o777).toBe(0o640);
  });
});

describe("removeGitignoreEntry", () => {
  it("drops the matching lines (compared trimmed) and keeps the others", async () => {
    await writeFile(gitignore, "/a\n  /data  \n*.log\n/data\n/datab\n");
    expect(await removeGitignoreEntry(gitignore, "/data")).toBe(true);
    expect(await readFile(gitignore, "utf8")).toBe("/a\n*.log\n/datab\n");
  });

  it("removes both the escaped line and the unescaped one", async () => {
    await writeFile(gitignore, "/x\\*y\n/keep\n/x*y\n");
    expect(await removeGitignoreEntry(gitignore, `/${escapeGitignoreEntry("x*y")}`)).toBe(true);
    expect(await readFile(gitignore, "utf8")).toBe("/keep\n");
    await writeFile(gitignore, "/x\\*y\n/keep\n/x*y\n");
    expect(await removeGitignoreEntry(gitignore, "/x*y")).toBe(true);
    expect(await readFile(gitignore, "utf8")).toBe("/keep\n");
  });

  it("deletes the file when no line is left", async () => {
    await writeFile(gitignore, "/data\n");
    expect(await removeGitignoreEntry(gitignore, "/data")).toBe(true);
    expect(existsSync(gitignore)).toBe(false);
  });

  it("leaves the file alone when the entry is not there, and copes with a missing file", async () => {
    await writeFile(gitignore, "/a\n/b");
    expect(await removeGitignoreEntry(gitignore, "/c")).toBe(false);
    expect(await readFile(gitignore, "utf8")).toBe("/a\n/b");
    await rm(gitignore);
    expect(await removeGitignoreEntry(gitignore, "/c")).toBe(false);
    expect(existsSync(gitignore)).toBe(false);
  });

  it("keeps CRLF line endings and a last line without newline", async () => {
    await writeFile(gitignore, "/a\r\n/data\r\n/b");
    await removeGitignoreEntry(gitignore, "/data");
    expect(await readFile(gitignore, "utf8")).toBe("/a\r\n/b");
  });
});
