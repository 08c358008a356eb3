import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { FormatError } from "../src/errors.js";
import {
  compareCodePoints,
  dirManifestOid,
  parseDirManifest,
  serializeDirManifest,
} from "../src/formats/dir-manifest.js";

const md5 = (data: string | Uint8Array) => createHash("md5").update(data).digest("hex");

/** A tree given as relpath → content, as in spec §9.2: its manifest bytes, oid, size and nfiles. */
function dirOf(tree: Record<string, string | Uint8Array>) {
  const entries = Object.entries(tree).map(([relpath, content]) => ({ relpath, md5: md5(content) }));
  const bytes = serializeDirManifest(entries);
  const size = Object.values(tree).reduce((n, c) => n + Buffer.byteLength(c), 0);
  return { bytes, text: bytes.toString("latin1"), oid: dirManifestOid(bytes), size, nfiles: entries.length };
}

describe("serializeDirManifest / dirManifestOid (spec §9.2)", () => {
  it("V-D1: foo, bar", () => {
    const d = dirOf({ foo: "foo", bar: "bar" });
    expect(d.text).toBe(
      '[{"md5": "37b51d194a7513e45b56f6524f2d51f2", "relpath": "bar"}, {"md5": "acbd18db4cc2f85cedef654fccc4a4d8", "relpath": "foo"}]',
    );
    expect(d.oid).toBe("5ea40360f5b4ec688df672a4db9c17d1.dir");
    expect([d.size, d.nfiles]).toEqual([6, 2]);
  });

  it("V-D2: bar\\n, baz\\n", () => {
    const d = dirOf({ baz: "baz\n", bar: "bar\n" });
    expect(d.text).toBe(
      '[{"md5": "c157a79031e1c40f85931829bc5fc552", "relpath": "bar"}, {"md5": "258622b1688250cb619f3c9ccaefb7eb", "relpath": "baz"}]',
    );
    expect(d.oid).toBe("1f69c66028c35037e8bf67e5bc4ceb6a.dir");
  });

  it.each([
    ["V-D3", { foo: "foo", bar: "bar", "subdir/data": "data" }, "8761c4e9acad696bee718615e23e22db.dir"],
    ["V-D4", { data: "data" }, "af314506f1622d107e0ed3f14ec1a3b5.dir"],
    ["V-D5", { foo: "foo", bar: "bar", baz: "baz" }, "ba75a2162ca9c29acecb7957105a0bc2.dir"],
    ["V-D6", { one: "one", two: "two" }, "6b18131dc289fd37006705affe961ef8.dir"],
    ["V-D7a", { "1": "1", "2": "2" }, "5fb6b29836c388e093ca0715c872fe2a.dir"],
    ["V-D7b", { "1": "1", "2": "two", "3": "3" }, "9b5faf37366b3370fd98e3e60ca439c1.dir"],
    ["V-D7c", { "1": "1", "3": "3" }, "83ae82fb367ac9926455870773ff09e6.dir"],
    ["V-D8", { master: "master", one: "one", two: "two" }, "839ef9371606817569c1ee0e5f4ed233.dir"],
    ["V-D9 (POSIX)", { foo: "foo", bar: "bar", ".gitignore": "/foo\n" }, "e1d9e8eae5374860ae025ec84cfd85c7.dir"],
    ["V-D9 (Windows)", { foo: "foo", bar: "bar", ".gitignore": "/foo\r\n" }, "0d2086760aea091f1504eafc8843bb18.dir"],
  ])("%s", (_name, tree, oid) => {
    expect(dirOf(tree).oid).toBe(oid);
  });

  it("V-D5 and V-D8 sizes", () => {
    expect(dirOf({ foo: "foo", bar: "bar", baz: "baz" }).nfiles).toBe(3);
    const d8 = dirOf({ master: "master", one: "one", two: "two" });
    expect([d8.size, d8.nfiles]).toEqual([12, 3]);
  });

  it("V-D10: an empty directory is [] with no newline", () => {
    const bytes = serializeDirManifest([]);
    expect(bytes.toString()).toBe("[]");
    expect(dirManifestOid(bytes)).toBe("d751713988987e9331980363e24189ce.dir");
  });

  it("V-D11: sorted by the whole relpath in code-point order", () => {
    const d = dirOf({ "a/b": "c", "a.txt": "b", "a-b": "d", B: "e" });
    expect(d.text).toBe(
      '[{"md5": "e1671797c52e15f763380b45e841ec32", "relpath": "B"}, {"md5": "8277e0910d750195b448797616e091ad", "relpath": "a-b"}, {"md5": "92eb5ffee6ae2fec3ad71c777531578f", "relpath": "a.txt"}, {"md5": "4a8a08f09d37b73795649038408b5f33", "relpath": "a/b"}]',
    );
    expect(d.oid).toBe("3f853456de2c8501a85c47806eee7c6c.dir");
  });

  it("V-D12: ensure_ascii escaping", () => {
    const d = dirOf({
      "á.txt": "foo",
      "dir/ü/ñ": "bar",
      "emoji😀": "baz",
      "z\x7fdel": "",
      'q"uote\\back': "x",
      "tab\tname": "y",
    });
    expect(d.text).toBe(
      '[{"md5": "37b51d194a7513e45b56f6524f2d51f2", "relpath": "dir/\\u00fc/\\u00f1"}, {"md5": "73feffa4b7f6bb68e44cf984c85f6e88", "relpath": "emoji\\ud83d\\ude00"}, {"md5": "9dd4e461268c8034f5c8564e155c67a6", "relpath": "q\\"uote\\\\back"}, {"md5": "415290769594460e2e485922904f345d", "relpath": "tab\\tname"}, {"md5": "d41d8cd98f00b204e9800998ecf8427e", "relpath": "z\\u007fdel"}, {"md5": "acbd18db4cc2f85cedef654fccc4a4d8", "relpath": "\\u00e1.txt"}]',
    );
    expect(d.oid).toBe("68350fbe302bd2e15d317b491dca380a.dir");
    expect([...d.bytes].every((b) => b >= 0x20 && b <= 0x7e)).toBe(true);
  });

  it("V-D13: nested folders and a 256-byte binary file", () => {
    const binary = Uint8Array.from({ length: 256 }, (_, i) => i);
    const d = dirOf({ "model.pkl": binary, "data/raw/y.csv": "3,4\n", "data/raw/x.csv": "1,2\n" });
    expect(d.oid).toBe("fa714f63330a0b2080afbbf771d8ba65.dir");
    expect([d.size, d.nfiles]).toEqual([264, 3]);
  });

  it("puts astral characters after U+E000..U+FFFF, as Python does (JS code-unit order would not)", () => {
    // Expected bytes from Python: json.dumps(sorted(entries, key=relpath), sort_keys=True)
    const d = dirOf({ "😀": "b", "\uffff": "a", "\ue000x": "c", "\u00ff": "d", "ctl\x01\x1f\u2028": "e" });
    expect(d.text).toBe(
      '[{"md5": "e1671797c52e15f763380b45e841ec32", "relpath": "ctl\\u0001\\u001f\\u2028"}, {"md5": "8277e0910d750195b448797616e091ad", "relpath": "\\u00ff"}, {"md5": "4a8a08f09d37b73795649038408b5f33", "relpath": "\\ue000x"}, {"md5": "0cc175b9c0f1b6a831c399e269772661", "relpath": "\\uffff"}, {"md5": "92eb5ffee6ae2fec3ad71c777531578f", "relpath": "\\ud83d\\ude00"}]',
    );
    expect(d.oid).toBe("3fac3dd433fb8d5578aa891e26628e87.dir");
    expect(compareCodePoints("\uffff", "😀")).toBeLessThan(0);
    expect(compareCodePoints("😀", "\ue000")).toBeGreaterThan(0);
    expect(compareCodePoints("a", "ab")).toBeLessThan(0);
    expect(compareCodePoints("😀", "😀")).toBe(0);
  });

  it("does not reorder its input", () => {
    const entries = [
      { relpath: "b", md5: md5("b") },
      { relpath: "a", md5: md5("a") },
    ];
    serializeDirManifest(entries);
    expect(entries.map((e) => e.relpath)).toEqual(["b", "a"]);
  });
});

describe("parseDirManifest", () => {
  it("reads what serializeDirManifest writes", () => {
    const entries = [
      { relpath: "emoji😀/x", md5: md5("1") },
      { relpath: 'q"uote\\back', md5: md5("2") },
      { relpath: "a b/c", md5: md5("3") },
    ];
    const parsed = parseDirManifest(serializeDirManifest(entries), "x.dir");
    expect(parsed).toEqual([entries[2], entries[0], entries[1]]);
  });

  it("keeps extra keys as `extra`, and reads legacy trees from the md5 key", () => {
    const bytes = Buffer.from(
      '[{"isexec": true, "md5": "acbd18db4cc2f85cedef654fccc4a4d8", "relpath": "run.sh", "size": 3}]',
    );
    expect(parseDirManifest(bytes, "x.dir", "md5-dos2unix")).toEqual([
      { relpath: "run.sh", md5: "acbd18db4cc2f85cedef654fccc4a4d8", extra: { isexec: true, size: 3 } },
    ]);
  });

  it("reads the hash from the key named by hashName", () => {
    const bytes = Buffer.from('[{"etag": "abc", "relpath": "f"}]');
    expect(parseDirManifest(bytes, "x.dir", "etag")).toEqual([{ relpath: "f", md5: "abc" }]);
    expect(() => parseDirManifest(bytes, "x.dir")).toThrow(/entry 0 \('f'\) has no 'md5' string/);
  });

  it.each([
    ["not JSON", "[{", /^ab\/cdef\.dir: not valid JSON/],
    ["not a list", '{"md5": "x"}', /^ab\/cdef\.dir: expected a JSON list of entries, got an object/],
    ["an entry that is not an object", '["x"]', /entry 0 is "x", not an object/],
    ["no relpath", '[{"md5": "acbd18db4cc2f85cedef654fccc4a4d8"}]', /entry 0 has no 'relpath' string/],
    ["no md5", '[{"relpath": "a"}]', /entry 0 \('a'\) has no 'md5' string \(got undefined\)/],
    ["a relpath with ..", '[{"md5": "x", "relpath": "../etc/passwd"}]', /unsafe relpath "\.\.\/etc\/passwd"/],
    [
      "a .git part (a repository written out)",
      '[{"md5": "x", "relpath": "sub/.GIT/config"}]',
      /unsafe relpath "sub\/\.GIT\/config"/,
    ],
    [
      "an md5 that is not one",
      '[{"md5": "../../x", "relpath": "a"}]',
      /entry 0 \('a'\) has md5 "\.\.\/\.\.\/x", not 32 hex characters/,
    ],
    ["a relpath with a NUL byte", '[{"md5": "x", "relpath": "a\\u0000b"}]', /unsafe relpath "a\\u0000b".*NUL/],
    ["an absolute relpath", '[{"md5": "x", "relpath": "/etc/passwd"}]', /unsafe relpath/],
  ])("refuses %s with a FormatError naming the object", (_what, text, message) => {
    const run = () => parseDirManifest(Buffer.from(text), "ab/cdef.dir");
    expect(run).toThrow(FormatError);
    expect(run).toThrow(message);
  });
});

describe("parseDirManifest: which relpaths are unsafe", () => {
  // Every relpath of up to 6 characters over an alphabet that makes empty, `.` and `..` parts.
  const relpaths: string[] = [""];
  for (let len = 1; len <= 6; len++)
    for (let n = 0; n < 4 ** len; n++) {
      let p = "";
      for (let k = 0, v = n; k < len; k++, v >>= 2) p += "a./b"[v & 3];
      relpaths.push(p);
    }
  /** The rule as the spec words it: no empty, `.` or `..` part, not absolute. */
  const unsafe = (p: string) =>
    p === "" || p.startsWith("/") || p.split("/").some((part) => part === "" || part === "." || part === "..");

  it("refuses exactly the empty, absolute and dot-part relpaths", () => {
    for (const relpath of relpaths) {
      const json = JSON.stringify([{ md5: "acbd18db4cc2f85cedef654fccc4a4d8", relpath }]);
      const parse = () => parseDirManifest(Buffer.from(json), "x.dir");
      if (unsafe(relpath)) expect(parse, relpath).toThrow(/unsafe relpath/);
      else expect(parse()[0]?.relpath, relpath).toBe(relpath);
    }
  });

  it("keeps an extra key named __proto__ as a key", () => {
    const [entry] = parseDirManifest(
      Buffer.from('[{"md5": "acbd18db4cc2f85cedef654fccc4a4d8", "relpath": "a", "__proto__": {"x": 1}}]'),
      "x.dir",
    );
    expect(Object.keys(entry?.extra ?? {})).toEqual(["__proto__"]);
    expect(Object.getPrototypeOf(entry?.extra)).toBe(Object.prototype);
  });
});
