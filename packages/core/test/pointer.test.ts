import { describe, expect, it } from "vitest";
import { FormatError } from "../src/errors.js";
import {
  type OutWrite,
  parsePointer,
  parsePointerYaml,
  serializePointer,
  updatePointer,
} from "../src/formats/pointer.js";

const FOO = "acbd18db4cc2f85cedef654fccc4a4d8";
const BAR = "37b51d194a7513e45b56f6524f2d51f2";

/** V-P1: the exact texts of spec §1.3. */
const VP1_FILE = `outs:
- md5: ${FOO}
  size: 3
  hash: md5
  path: foo
`;
const VP1_DIR = `outs:
- md5: 5ea40360f5b4ec688df672a4db9c17d1.dir
  size: 6
  nfiles: 2
  hash: md5
  path: data
`;
/** V-P2: a DVC 2.x file. */
const VP2 = `outs:
- md5: ${FOO}
  size: 3
  path: foo
`;

function formatError(run: () => unknown): FormatError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(FormatError);
    return err as FormatError;
  }
  throw new Error("expected a FormatError");
}

describe("serializePointer: new files (spec §1.3, §1.4)", () => {
  it("V-P1: a file", () => {
    expect(serializePointer({ outs: [{ path: "foo", md5: FOO, size: 3 }] })).toBe(VP1_FILE);
  });

  it("V-P1: a directory (V-D1)", () => {
    const out: OutWrite = { path: "data", md5: "5ea40360f5b4ec688df672a4db9c17d1.dir", size: 6, nfiles: 2 };
    expect(serializePointer({ outs: [out] })).toBe(VP1_DIR);
  });

  it("an executable file: isexec between size and hash; isexec false is not written", () => {
    expect(serializePointer({ outs: [{ path: "run.sh", md5: FOO, size: 3, isexec: true }] })).toBe(
      `outs:\n- md5: ${FOO}\n  size: 3\n  isexec: true\n  hash: md5\n  path: run.sh\n`,
    );
    expect(serializePointer({ outs: [{ path: "foo", md5: FOO, size: 3, isexec: false }] })).toBe(VP1_FILE);
  });

  it("an empty directory", () => {
    const out: OutWrite = { path: "empty", md5: "d751713988987e9331980363e24189ce.dir", size: 0, nfiles: 0 };
    expect(serializePointer({ outs: [out] })).toBe(
      "outs:\n- md5: d751713988987e9331980363e24189ce.dir\n  size: 0\n  nfiles: 0\n  hash: md5\n  path: empty\n",
    );
  });

  it("a 2.x out keeps no hash key", () => {
    expect(serializePointer({ outs: [{ path: "foo", md5: FOO, size: 3, hashName: "md5-dos2unix" }] })).toBe(VP2);
  });

  // V-P6: output of DVC 3.64.0 `add` on a file with this name.
  it.each([
    ["a b.txt", "  path: a b.txt"],
    ["ünï.bin", "  path: ünï.bin"],
    ["x: y.bin", "  path: 'x: y.bin'"],
    ["#hash.bin", "  path: '#hash.bin'"],
    ["!bang.bin", "  path: '!bang.bin'"],
    ["[br]ack*et?.bin", "  path: '[br]ack*et?.bin'"],
    ["yes", "  path: yes"],
    ["123", "  path: '123'"],
    ["null", "  path: 'null'"],
    ["~", "  path: '~'"],
    ["trailing ", "  path: 'trailing '"],
    ["it's.bin", "  path: it's.bin"],
    ['q"uote.bin', '  path: q"uote.bin'],
    ["tab\tx.bin", '  path: "tab\\tx.bin"'],
    ["@at.bin", "  path: '@at.bin'"],
    ["%pc.bin", "  path: '%pc.bin'"],
    ["a&b.bin", "  path: a&b.bin"],
    ["{brace}.bin", "  path: '{brace}.bin'"],
  ])("V-P6: path %j", (name, line) => {
    const text = serializePointer({ outs: [{ path: name, md5: "9dd4e461268c8034f5c8564e155c67a6", size: 1 }] });
    expect(text.split("\n").filter((l) => l.startsWith("  path: "))).toEqual([line]);
    expect(parsePointer(text, "x.dvc").outs[0]?.path).toBe(name);
  });

  // Spec §1.4 quoting list, and strings ruamel 0.17.21 was checked to leave plain.
  it.each([
    ["0123", "'0123'"],
    ["1e3", "'1e3'"],
    ["0x1f", "'0x1f'"],
    ["0o17", "'0o17'"],
    ["1_000", "'1_000'"],
    [".5", "'.5'"],
    ["2020-01-01", "'2020-01-01'"],
    ["true", "'true'"],
    ["False", "'False'"],
    ["'x", `"'x"`],
    ["- x", "'- x'"],
    ["`x", "'`x'"],
    ["*x", "'*x'"],
    ["&x", "'&x'"],
    ["|x", "'|x'"],
    [">x", "'>x'"],
    [",x", "',x'"],
    ["a #b", "'a #b'"],
    ["", "''"],
    ["on", "on"],
    ["?x", "?x"],
    ["x'y", "x'y"],
    ["a#b", "a#b"],
    ["_1", "_1"],
    ["it's: here", `"it's: here"`],
    ["line\nbreak", '"line\\nbreak"'],
    ["bell\x07", '"bell\\a"'],
  ])("quotes %j as %s", (value, emitted) => {
    const text = serializePointer({ outs: [{ path: "f", md5: FOO, extra: { desc: value } }] });
    expect(text.split("\n").filter((l) => l.startsWith("  desc: "))).toEqual([`  desc: ${emitted}`]);
    expect(parsePointer(text, "x.dvc").outs[0]?.raw.desc).toBe(value);
  });

  it.each([
    ["12345678901234567890123456789012", "'12345678901234567890123456789012'"],
    ["0e123456789012345678901234567890", "'0e123456789012345678901234567890'"],
    ["12345678901234567890123456789e12", "'12345678901234567890123456789e12'"],
    ["1234567890123456789012345678901e", "1234567890123456789012345678901e"], // not a number in YAML
  ])("md5 %s is written %s and read back", (md5, emitted) => {
    const text = serializePointer({ outs: [{ path: "f", md5, size: 1 }] });
    expect(text).toBe(`outs:\n- md5: ${emitted}\n  size: 1\n  hash: md5\n  path: f\n`);
    expect(parsePointer(text, "f.dvc").outs[0]?.md5).toBe(md5);
  });

  it("writes the keys mlv does not own in dumpd order, nested values in block style", () => {
    const out: OutWrite = {
      path: "model.h5",
      md5: FOO,
      size: 3,
      isexec: true,
      extra: {
        push: false,
        remote: "myremote",
        cache: false,
        labels: ["l1", "yes", "123"],
        meta: { owner: "me", nested: { n: 1, f: 0.5, t: true, e: null }, list: [1, "a b", { k: "v" }] },
        type: "model",
        desc: "A model: v1",
        files: [{ relpath: "a", md5: FOO, size: 3 }],
        cloud: { r: { etag: "x", version_id: "v1" } },
        version_id: "v1",
      },
    };
    // The bytes ruamel.yaml 0.17.21 writes for the same data in DVC's dumpd order.
    expect(serializePointer({ outs: [out] })).toBe(`outs:
- md5: ${FOO}
  size: 3
  isexec: true
  version_id: v1
  cloud:
    r:
      etag: x
      version_id: v1
  hash: md5
  path: model.h5
  desc: 'A model: v1'
  type: model
  labels:
  - l1
  - yes
  - '123'
  meta:
    owner: me
    nested:
      n: 1
      f: 0.5
      t: true
      e:
    list:
    - 1
    - a b
    - k: v
  cache: false
  remote: myremote
  push: false
  files:
  - relpath: a
    md5: ${FOO}
    size: 3
`);
  });

  it("re-serializes a parsed file in DVC's key order, without empty or false top-level keys", () => {
    const text = `frozen: false\nouts:\n- path: foo\n  remote: r\n  size: 3\n  hash: md5\n  md5: ${FOO}\ndesc: top\nmeta: {}\n`;
    expect(serializePointer(parsePointer(text, "foo.dvc"))).toBe(
      `desc: top\nouts:\n- md5: ${FOO}\n  size: 3\n  hash: md5\n  path: foo\n  remote: r\n`,
    );
  });
});

describe("parsePointer", () => {
  it("V-P1 as a 3.x file and a 3.x directory", () => {
    const [file] = parsePointer(VP1_FILE, "foo.dvc").outs;
    expect(file).toMatchObject({
      path: "foo",
      md5: FOO,
      size: 3,
      hashName: "md5",
      isDir: false,
      external: false,
      line: 2,
    });
    const [dir] = parsePointer(VP1_DIR, "data.dvc").outs;
    expect(dir).toMatchObject({
      path: "data",
      md5: "5ea40360f5b4ec688df672a4db9c17d1.dir",
      size: 6,
      nfiles: 2,
      isDir: true,
    });
  });

  it("V-P2 as a legacy md5-dos2unix out", () => {
    const p = parsePointer(VP2, "foo.dvc");
    expect(p.outs).toEqual([
      {
        path: "foo",
        md5: FOO,
        size: 3,
        hashName: "md5-dos2unix",
        isDir: false,
        external: false,
        line: 2,
        raw: { md5: FOO, size: 3, path: "foo" },
      },
    ]);
    expect(p.top).toEqual({});
    expect(p.text).toBe(VP2);
  });

  it("accepts CRLF line endings", () => {
    const p = parsePointer(VP1_FILE.replace(/\n/g, "\r\n"), "foo.dvc");
    expect(p.outs[0]).toMatchObject({ path: "foo", md5: FOO, size: 3, hashName: "md5" });
  });

  it("keeps the top-level keys and the keys mlv does not model", () => {
    const text = `md5: 8fc199641730e3f512deac0bd9a0e0b6
frozen: true
deps:
- md5: ${FOO}
  size: 3
  hash: md5
  path: https://example.com/foo
outs:
- md5: ${FOO}
  size: 3
  hash: md5
  path: bar
  desc: my data
  labels: [a, b]
  push: false
wdir: sub
`;
    const p = parsePointer(text, "bar.dvc");
    expect(p.top).toEqual({
      md5: "8fc199641730e3f512deac0bd9a0e0b6",
      frozen: true,
      deps: [{ md5: FOO, size: 3, hash: "md5", path: "https://example.com/foo" }],
      wdir: "sub",
    });
    expect(p.wdir).toBe("sub");
    expect(p.outs[0]?.raw).toEqual({
      md5: FOO,
      size: 3,
      hash: "md5",
      path: "bar",
      desc: "my data",
      labels: ["a", "b"],
      push: false,
    });
  });

  it("recovers a hash YAML reads as a number from its source text, leading zeros included", () => {
    const p = parsePointer("outs:\n- md5: 01234567890123456789012345678901\n  size: 1\n  path: f\n", "f.dvc");
    expect(p.outs[0]?.md5).toBe("01234567890123456789012345678901");
    expect(p.outs[0]?.raw.md5).toBe("01234567890123456789012345678901");
    const e = parsePointer("outs:\n- md5: 12345678901234567890123456789e12\n  path: f\n", "f.dvc");
    expect(e.outs[0]?.md5).toBe("12345678901234567890123456789e12");
  });

  it("lowercases the hash value, as DVC does", () => {
    expect(parsePointer(`outs:\n- md5: ${FOO.toUpperCase()}\n  path: f\n`, "f.dvc").outs[0]?.md5).toBe(FOO);
  });

  it("marks absolute paths and URLs as external", () => {
    const text = `outs:\n- md5: ${FOO}\n  path: /abs/file\n- md5: ${FOO}\n  path: s3://bucket/key\n- md5: ${FOO}\n  path: ../rel\n`;
    expect(parsePointer(text, "x.dvc").outs.map((o) => o.external)).toEqual([true, true, false]);
  });

  it("reads an empty file and outs: null as no outs", () => {
    expect(parsePointer("", "x.dvc").outs).toEqual([]);
    expect(parsePointer("outs:\n", "x.dvc").outs).toEqual([]);
  });

  it.each([
    [
      "bad YAML syntax",
      `outs:\n- md5: ${FOO}\n  path: "foo\n`,
      3,
      /^x\.dvc: line 3: not valid YAML: .*: fix the syntax/,
    ],
    ["a tab indentation", `outs:\n- md5: ${FOO}\n\tpath: foo\n`, 3, /^x\.dvc: line 3: not valid YAML/],
    ["a duplicate key", `outs:\n- md5: ${FOO}\n  md5: ${FOO}\n  path: foo\n`, 3, /not valid YAML/],
    [
      "a missing path",
      `outs:\n- md5: ${FOO}\n  size: 3\n`,
      2,
      /^x\.dvc: line 2: output has no 'path': add 'path: NAME'/,
    ],
    [
      "a bad md5",
      `outs:\n- size: 3\n  md5: abc\n  path: foo\n`,
      3,
      /^x\.dvc: line 3: 'md5' must be 32 hex characters, got 'abc'/,
    ],
    [
      "a bad .dir md5",
      `outs:\n- md5: ${FOO}.tar\n  path: foo\n`,
      2,
      /'md5' must be 32 hex characters, got '[0-9a-f]{32}\.tar'/,
    ],
    [
      "an unknown top-level key",
      `outs:\n- md5: ${FOO}\n  path: foo\nextra: 1\n`,
      4,
      /^x\.dvc: line 4: unknown top-level key 'extra': a \.dvc file may only hold/,
    ],
    [
      "a cmd",
      `cmd: python train.py\nouts:\n- path: foo\n`,
      1,
      /'cmd' is not allowed in a \.dvc file since DVC 3: move the command into a dvc\.yaml stage/,
    ],
    ["outs that is not a list", "outs:\n  path: foo\n", 2, /^x\.dvc: line 2: 'outs' must be a list of outputs/],
    [
      "an out that is not a mapping",
      "outs:\n- foo\n",
      2,
      /each entry of 'outs' must be a mapping with a 'path', got 'foo'/,
    ],
    ["an unknown out key", `outs:\n- md5: ${FOO}\n  path: foo\n  colour: red\n`, 4, /unknown key 'colour' in output/],
    [
      "a negative size",
      `outs:\n- md5: ${FOO}\n  size: -1\n  path: foo\n`,
      3,
      /'size' must be a non-negative integer, got -1/,
    ],
    [
      "a string nfiles",
      `outs:\n- md5: ${FOO}\n  nfiles: '2'\n  path: foo\n`,
      3,
      /'nfiles' must be a non-negative integer, got '2'/,
    ],
    [
      "a non-boolean isexec",
      `outs:\n- md5: ${FOO}\n  isexec: yes\n  path: foo\n`,
      3,
      /'isexec' must be true or false, got 'yes'/,
    ],
    ["a numeric path", `outs:\n- md5: ${FOO}\n  path: 123\n`, 3, /'path' must be a non-empty string, got 123/],
    [
      "a hash other than md5",
      `outs:\n- md5: ${FOO}\n  hash: sha256\n  path: foo\n`,
      3,
      /'hash' must be 'md5', got 'sha256'/,
    ],
    ["a list document", "- path: foo\n", 1, /must be a YAML mapping with an 'outs' list, got a list/],
  ])("reports %s with its line", (_what, text, line, message) => {
    const err = formatError(() => parsePointer(text, "x.dvc"));
    expect(err.message).toMatch(message);
    expect(err.data).toEqual({ file: "x.dvc", line });
    expect(err.code).toBe("EFORMAT");
  });

  it("counts lines the same with CRLF", () => {
    const err = formatError(() => parsePointer(`outs:\r\n- size: 3\r\n  md5: abc\r\n  path: foo\r\n`, "x.dvc"));
    expect(err.message).toMatch(/^x\.dvc: line 3: 'md5' must be 32 hex characters, got 'abc'/);
  });
});

describe("updatePointer: rewriting an existing file (spec §1.3)", () => {
  it("test_add_preserve_fields: keeps keys, places and comments, appends md5, size, hash", () => {
    const text = `# top comment
desc: top desc
outs:
- path: foo # out comment
  desc: out desc
  type: mytype
  labels:
  - label1
  - label2
  remote: testremote
meta: some metadata
`;
    const old = parsePointer(text, "foo.dvc");
    expect(updatePointer(old, [{ path: "foo", md5: FOO, size: 3 }])).toBe(`# top comment
desc: top desc
outs:
- path: foo # out comment
  desc: out desc
  type: mytype
  labels:
  - label1
  - label2
  remote: testremote
  md5: ${FOO}
  size: 3
  hash: md5
meta: some metadata
`);
  });

  it("leaves a 2.x file byte-identical when its content did not change", () => {
    const old = parsePointer(VP2, "foo.dvc");
    expect(updatePointer(old, [{ path: "foo", md5: FOO, size: 3, hashName: "md5-dos2unix" }])).toBe(VP2);
    expect(updatePointer(old, old.outs)).toBe(VP2);
    const commented = `# keep me\nouts:\n  - md5: ${FOO}   # hash\n    size: 3\n    path: "foo"\n`;
    expect(
      updatePointer(parsePointer(commented, "foo.dvc"), [{ path: "foo", md5: FOO, size: 3, hashName: "md5-dos2unix" }]),
    ).toBe(commented);
  });

  it("upgrades a changed 2.x out: values replaced in place, hash appended (as DVC 3 does)", () => {
    const old = parsePointer(VP2, "foo.dvc");
    expect(updatePointer(old, [{ path: "foo", md5: BAR, size: 3 }])).toBe(
      `outs:\n- md5: ${BAR}\n  size: 3\n  path: foo\n  hash: md5\n`,
    );
  });

  it("deletes the owned keys the new out no longer has, keeps the others", () => {
    const text = `outs:\n- md5: ${FOO}\n  size: 3\n  isexec: true\n  hash: md5\n  path: run.sh\n  remote: r\n`;
    expect(updatePointer(parsePointer(text, "run.sh.dvc"), [{ path: "run.sh", md5: BAR, size: 4 }])).toBe(
      `outs:\n- md5: ${BAR}\n  size: 4\n  hash: md5\n  path: run.sh\n  remote: r\n`,
    );
  });

  it("a file becoming a directory", () => {
    const text = serializePointer({ outs: [{ path: "data", md5: FOO, size: 3 }] });
    const out: OutWrite = { path: "data", md5: "5ea40360f5b4ec688df672a4db9c17d1.dir", size: 6, nfiles: 2 };
    expect(updatePointer(parsePointer(text, "data.dvc"), [out])).toBe(
      "outs:\n- md5: 5ea40360f5b4ec688df672a4db9c17d1.dir\n  size: 6\n  hash: md5\n  path: data\n  nfiles: 2\n",
    );
  });

  it("replaces the whole list when the number of outs changed, keeping comments elsewhere", () => {
    const text = `# c\nouts:\n- md5: ${FOO}\n  size: 3\n  hash: md5\n  path: foo\n`;
    const outs: OutWrite[] = [
      { path: "foo", md5: BAR, size: 3 },
      { path: "bar", md5: FOO, size: 3, isexec: true },
    ];
    expect(updatePointer(parsePointer(text, "x.dvc"), outs)).toBe(
      `# c\nouts:\n- md5: ${BAR}\n  size: 3\n  hash: md5\n  path: foo\n- md5: ${FOO}\n  size: 3\n  isexec: true\n  hash: md5\n  path: bar\n`,
    );
  });

  it("keeps comments after keys and their columns, and other formatting as ruamel re-emits it", () => {
    const text = `outs: # the outs\n- path: foo\n  md5: ${FOO}\n  size: 3\n  remote: r   # rem\nfrozen: true\n`;
    expect(updatePointer(parsePointer(text, "foo.dvc"), [{ path: "foo", md5: BAR, size: 3 }])).toBe(
      `outs: # the outs\n- path: foo\n  md5: ${BAR}\n  size: 3\n  remote: r   # rem\n  hash: md5\nfrozen: true\n`,
    );
    const indented = `# header\nouts:\n  - md5: ${FOO}   # the hash\n    size: 3\n    path: "foo"\n    labels: [a, b]\n    meta:\n      n: ~\n`;
    expect(updatePointer(parsePointer(indented, "foo.dvc"), [{ path: "foo", md5: BAR, size: 4 }])).toBe(
      `# header\nouts:\n- md5: ${BAR}     # the hash\n  size: 4\n  path: foo\n  labels: [a, b]\n  meta:\n    n:\n  hash: md5\n`,
    );
  });

  it("drops a top-level md5 from a file that is not an import, as DVC does", () => {
    const text = `md5: 0123\nouts:\n- md5: ${FOO}\n  size: 3\n  hash: md5\n  path: foo\n`;
    expect(updatePointer(parsePointer(text, "foo.dvc"), [{ path: "foo", md5: BAR, size: 3 }])).toBe(
      `outs:\n- md5: ${BAR}\n  size: 3\n  hash: md5\n  path: foo\n`,
    );
  });

  it("keeps CRLF line endings", () => {
    const old = parsePointer(VP2.replace(/\n/g, "\r\n"), "foo.dvc");
    expect(updatePointer(old, [{ path: "foo", md5: BAR, size: 3 }])).toBe(
      `outs:\r\n- md5: ${BAR}\r\n  size: 3\r\n  path: foo\r\n  hash: md5\r\n`,
    );
  });

  it("writes a new out's extra keys, and takes them from the old out at the same place otherwise", () => {
    const text = `outs:\n- md5: ${FOO}\n  size: 3\n  hash: md5\n  path: foo\n  desc: old\n`;
    const old = parsePointer(text, "foo.dvc");
    expect(updatePointer(old, [{ path: "foo", md5: FOO, size: 3, extra: { desc: "new", remote: "r" } }])).toBe(
      `outs:\n- md5: ${FOO}\n  size: 3\n  hash: md5\n  path: foo\n  desc: new\n  remote: r\n`,
    );
    expect(updatePointer(old, [{ path: "foo", md5: BAR, size: 3 }])).toBe(
      `outs:\n- md5: ${BAR}\n  size: 3\n  hash: md5\n  path: foo\n  desc: old\n`,
    );
  });
});

describe("parsePointer: the canonical one-output file, read without the YAML parser", () => {
  // Paths YAML reads as other things than strings, or that need quoting, next to ordinary ones.
  const paths = [
    "model.h5",
    "data",
    "a/b/c.bin",
    "f000.bin",
    "_x",
    "1",
    "12",
    "1.5",
    "1e5",
    "1E-3",
    "0x1F",
    "0o17",
    ".5",
    "null",
    "Null",
    "true",
    "False",
    "yes",
    "on",
    "~",
    "-x",
    ".hidden",
    "a b",
    "a:b",
    "a#b",
    "data/",
    "é.bin",
    "2024-01-01",
    "inf",
    ".inf",
    ".nan",
    "1_000",
    "0b101",
    "1e",
    "1.",
    "Yes",
    "NULL",
    "0x",
    "07",
    "0o8",
  ];
  const texts: string[] = [];
  for (const path of paths)
    for (const md5 of ["0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef.dir"])
      for (const size of ["0", "7", "123456789012345", "1234567890123456", "07"])
        for (const extra of ["", "  nfiles: 3\n", "  isexec: true\n", "  nfiles: 0\n  isexec: true\n"])
          texts.push(`outs:\n- md5: ${md5}\n  size: ${size}\n${extra}  hash: md5\n  path: ${path}\n`);
  texts.push(
    "outs:\n- md5: 0123456789ABCDEF0123456789abcdef\n  size: 1\n  hash: md5\n  path: x\n",
    "outs:\n- md5: 0123456789abcdef0123456789abcdef\n  size: 1\n  hash: md5\n  path: x\n  remote: r\n",
    "outs:\n- md5: 0123456789abcdef0123456789abcdef\n  size: 1\n  path: x\n",
    "outs:\r\n- md5: 0123456789abcdef0123456789abcdef\r\n  size: 1\r\n  hash: md5\r\n  path: x\r\n",
  );

  it("gives exactly what the YAML parser gives, or leaves the text to it", () => {
    for (const text of texts) {
      let expected: unknown;
      try {
        expected = parsePointerYaml(text, "x.dvc");
      } catch (err) {
        expected = err;
      }
      if (expected instanceof Error) {
        expect(() => parsePointer(text, "x.dvc"), text).toThrow(expected.message);
        continue;
      }
      const got = parsePointer(text, "x.dvc");
      expect(JSON.stringify(got), text).toBe(JSON.stringify(expected));
      expect(got, text).toStrictEqual(expected);
    }
  });
});

describe("hostile YAML in a pointer file", () => {
  const OUT = "outs:\n- md5: acbd18db4cc2f85cedef654fccc4a4d8\n  size: 3\n  hash: md5\n  path: foo\n";

  it("fails at once on an alias bomb, naming the file", () => {
    const levels = ['  a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]'];
    for (let i = 1; i < 12; i++)
      levels.push(
        `  a${i}: &a${i} [${Array(10)
          .fill(`*a${i - 1}`)
          .join(", ")}]`,
      );
    // unbounded, this expands to 10^12 nodes: the test would time out
    expect(() => parsePointer(`meta:\n${levels.join("\n")}\n${OUT}`, "bomb.dvc")).toThrow(/bomb\.dvc.*aliases/);
  });

  it("refuses a huge or deeply nested pointer at once, naming the file, instead of parsing it for minutes", () => {
    const flat = `outs:\n${"- md5: acbd18db4cc2f85cedef654fccc4a4d8\n  path: f\n".repeat(200_000)}`; // 9 MiB
    const deep = `${OUT}meta: ${"[".repeat(100_000)}${"]".repeat(100_000)}\n`;
    const indented = `${OUT}meta:\n${Array.from({ length: 1000 }, (_, i) => `${" ".repeat(i * 2)}k${i}:`).join("\n")} x\n`;
    const dashes = `${OUT}meta:\n${"- ".repeat(5000)}x\n`;
    const started = Date.now();
    expect(() => parsePointer(flat, "flat.dvc")).toThrow(/flat\.dvc.*is 9\.\d MiB, more than the 4 MiB/);
    expect(() => parsePointer(deep, "deep.dvc")).toThrow(/deep\.dvc.*nests brackets more than 200 levels deep/);
    expect(() => parsePointer(indented, "ind.dvc")).toThrow(/ind\.dvc.*indented more than 400 columns/);
    expect(() => parsePointer(dashes, "dash.dvc")).toThrow(/dash\.dvc.*nests more than 200 lists on one line/);
    expect(Date.now() - started).toBeLessThan(5000); // unbounded, the first takes about 15 s and the others overflow the stack
  });

  it("still reads a pointer nested a few dozen levels in meta", () => {
    const pointer = parsePointer(`${OUT}meta: ${"[".repeat(50)}1${"]".repeat(50)}\n`, "ok.dvc");
    expect(pointer.outs[0]?.path).toBe("foo");
  });

  it("still reads a pointer using an alias or two", () => {
    const pointer = parsePointer(`meta:\n  owner: &who ada\n  reviewer: *who\n${OUT}`, "ok.dvc");
    expect(pointer.top.meta).toEqual({ owner: "ada", reviewer: "ada" });
    expect(pointer.outs[0]?.md5).toBe("acbd18db4cc2f85cedef654fccc4a4d8");
  });
});
