import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { HashCache } from "../src/cache/hash-cache.js";

const work = mkdtempSync(join(tmpdir(), "mlv-hash-cache-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const md5 = (n: number) => n.toString(16).padStart(32, "0");
const st = (n: number) => ({ ino: 1000 + n, mtimeMs: 1_700_000_000_123.456 + n, size: n * 7 });

describe("HashCache", () => {
  it("gives back after a reload what was recorded, only while inode, mtime and size match", () => {
    const file = join(work, "a", "hashes.bin");
    const keys = ["data/a.csv", "data/ünïcødé/файл.txt", "data/a.csv\0dos2unix", "x".repeat(300), "日本/語"];
    const first = HashCache.load(file);
    for (const [i, k] of keys.entries()) first.set(k, st(i), md5(i));
    first.save();

    const again = HashCache.load(file);
    for (const [i, k] of keys.entries()) expect(again.get(k, st(i)), k).toBe(md5(i));
    expect(again.get("data/a.csv", { ...st(0), mtimeMs: st(0).mtimeMs + 1 })).toBeUndefined();
    expect(again.get("data/a.csv", { ...st(0), size: 1 })).toBeUndefined();
    expect(again.get("data/a.csv", { ...st(0), ino: 1 })).toBeUndefined();
    expect(again.get("data/none", st(0))).toBeUndefined();

    // Changes on top of a loaded file: one replaced, one removed, one added, the rest kept.
    again.set(keys[1]!, st(9), md5(9));
    again.delete(keys[4]!);
    again.set("new", st(5), md5(5));
    again.save();
    const third = HashCache.load(file);
    expect(third.get(keys[0]!, st(0))).toBe(md5(0));
    expect(third.get(keys[1]!, st(1))).toBeUndefined();
    expect(third.get(keys[1]!, st(9))).toBe(md5(9));
    expect(third.get(keys[4]!, st(4))).toBeUndefined();
    expect(third.get("new", st(5))).toBe(md5(5));
  });

  it("remembers 50,000 records", () => {
    const file = join(work, "big", "hashes.bin");
    const cache = HashCache.load(file);
    for (let i = 0; i < 50_000; i++) cache.set(`data/part-${i % 100}/file-${i}.bin`, st(i), md5(i));
    cache.save();
    const again = HashCache.load(file);
    for (let i = 0; i < 50_000; i += 997) expect(again.get(`data/part-${i % 100}/file-${i}.bin`, st(i))).toBe(md5(i));
  });

  it("starts afresh from a damaged, truncated or older file, and rewrites it", () => {
    const file = join(work, "bad", "hashes.bin");
    const good = HashCache.load(file);
    good.set("k", st(1), md5(1));
    good.save();
    const bytes = readFileSync(file);
    for (const junk of [bytes.subarray(0, bytes.length - 3), Buffer.from("MLVHASH2garbage"), Buffer.from("nothing")]) {
      writeFileSync(file, junk);
      const cache = HashCache.load(file);
      expect(cache.get("k", st(1))).toBeUndefined();
      cache.set("k", st(1), md5(1));
      cache.save();
      expect(HashCache.load(file).get("k", st(1))).toBe(md5(1));
    }
  });

  it("keeps only plain md5s, and writes nothing when nothing changed", () => {
    const file = join(work, "plain", "hashes.bin");
    const cache = HashCache.load(file);
    cache.set("dir", st(1), `${md5(1)}.dir`);
    cache.save();
    expect(() => readFileSync(file)).toThrow();
  });
  it("remembers a folder's hash for one listing digest, across saves of either kind", () => {
    const file = join(work, "dirs", "hashes.bin");
    const first = HashCache.load(file);
    first.set("data/a", st(1), md5(1));
    first.setDir("data", "digest-1", { md5: `${md5(7)}.dir`, size: 70, nfiles: 1 });
    first.save();

    const again = HashCache.load(file);
    expect(again.getDir("data", "digest-1")).toEqual({ md5: `${md5(7)}.dir`, size: 70, nfiles: 1 });
    expect(again.getDir("data", "digest-2")).toBeUndefined();
    expect(again.getDir("other", "digest-1")).toBeUndefined();
    // Only a folder record changed: the file records are written back as they were.
    again.setDir("data", "digest-2", { md5: `${md5(8)}.dir`, size: 80, nfiles: 2 });
    again.save();
    const third = HashCache.load(file);
    expect(third.getDir("data", "digest-1")).toBeUndefined();
    expect(third.getDir("data", "digest-2")).toEqual({ md5: `${md5(8)}.dir`, size: 80, nfiles: 2 });
    expect(third.get("data/a", st(1))).toBe(md5(1));
    // A file record, then a folder record alone: both kept.
    third.set("data/b", st(2), md5(2));
    third.save();
    third.setDir("more", "digest-3", { md5: `${md5(9)}.dir`, size: 90, nfiles: 3 });
    third.save();
    const fourth = HashCache.load(file);
    expect(fourth.get("data/a", st(1))).toBe(md5(1));
    expect(fourth.get("data/b", st(2))).toBe(md5(2));
    expect(fourth.getDir("more", "digest-3")?.md5).toBe(`${md5(9)}.dir`);
    expect(fourth.getDir("data", "digest-2")?.md5).toBe(`${md5(8)}.dir`);
  });
});
