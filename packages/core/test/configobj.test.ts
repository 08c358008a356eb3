import { describe, expect, it } from "vitest";
import { ConfigError, FormatError } from "../src/errors.js";
import {
  type ConfigData,
  type ConfigValue,
  parseConfigObj,
  quoteValue,
  serializeConfigObj,
} from "../src/formats/configobj.js";

const parse = (text: string) => parseConfigObj(text, ".dvc/config");
const asObject = (data: ConfigData) =>
  Object.fromEntries([...data].map(([name, section]) => [name, Object.fromEntries(section)]));

function parseError(text: string): FormatError {
  try {
    parse(text);
  } catch (err) {
    if (err instanceof FormatError) return err;
    throw err;
  }
  throw new Error("expected a FormatError");
}

const V_P4 = "[core]\n    remote = storage\n['remote \"storage\"']\n    url = s3://mybucket/dvcstore\n";

describe("reading", () => {
  it("reads the V-P4 config into ordered sections", () => {
    const data = parse(V_P4);
    expect([...data.keys()]).toEqual(["core", 'remote "storage"']);
    expect(asObject(data)).toEqual({
      core: { remote: "storage" },
      'remote "storage"': { url: "s3://mybucket/dvcstore" },
    });
  });

  it("accepts section headers quoted either way, padded, and keys at any indentation", () => {
    const data = parse(`["remote 'a'"]\nurl = /a\n[ cache ]\n\t  dir = ../c\n["core"]\n        remote = a\n`);
    expect(asObject(data)).toEqual({ "remote 'a'": { url: "/a" }, cache: { dir: "../c" }, core: { remote: "a" } });
  });

  it("lowercases section names and keys but not values", () => {
    const data = parse(`[CORE]\n    Remote = MyRemote\n['Remote "Storage"']\n    URL = S3://B/P\n`);
    expect(asObject(data)).toEqual({ core: { remote: "MyRemote" }, 'remote "storage"': { url: "S3://B/P" } });
  });

  it.each<[string, ConfigValue]>([
    ["plain value", "plain value"],
    ['"double, quoted"', "double, quoted"],
    ["'single # not a comment'", "single # not a comment"],
    ["'ab#c,d e\"f'", 'ab#c,d e"f'],
    ['"""both \' and " """', "both ' and \" "],
    ["'''tri,ple'''", "tri,ple"],
    ['""', ""],
    ["", ""],
    ["value # a comment", "value"],
    ["value#glued comment", "value"],
    ['"quoted # kept"   # dropped', "quoted # kept"],
    ["   # only a comment", ""],
    ["hardlink, symlink", ["hardlink", "symlink"]],
    ["hardlink,symlink,copy", ["hardlink", "symlink", "copy"]],
    [`"a, b", 'c', d`, ["a, b", "c", "d"]],
    ["single,", ["single"]],
    ["a, b,", ["a", "b"]],
    [",", []],
    ["a, b # comment", ["a", "b"]],
    ["k=v=w", "k=v=w"],
  ])("reads `x = %s`", (raw, expected) => {
    expect(parse(`[core]\n    x = ${raw}\n`).get("core")?.get("x")).toEqual(expected);
  });

  it("reads triple-quoted values spanning lines, with an inline comment after them", () => {
    const data = parse(`[core]\n    x = '''first\n  second\nthird''' # c\n    y = """a\n"""\n    z = after\n`);
    expect(asObject(data)).toEqual({ core: { x: "first\n  second\nthird", y: "a\n", z: "after" } });
  });

  it("skips comments and blank lines, and reads CRLF, CR and LF files alike", () => {
    const text =
      "# initial comment\r\n\r\n[core]\r\n    # a comment\r\n    remote = st   \r\n\r\n[cache]\r\n  type = copy";
    const expected = { core: { remote: "st" }, cache: { type: "copy" } };
    expect(asObject(parse(text))).toEqual(expected);
    expect(asObject(parse(text.replaceAll("\r\n", "\r")))).toEqual(expected);
    expect(asObject(parse(text.replaceAll("\r\n", "\n")))).toEqual(expected);
  });

  it("ignores a UTF-8 byte order mark", () => {
    expect(asObject(parse("\ufeff[core]\n    remote = x\n"))).toEqual({ core: { remote: "x" } });
  });

  it("puts keys that come before any section into section ''", () => {
    expect(asObject(parse("top = 1\n[core]\n    remote = x\n"))).toEqual({ "": { top: "1" }, core: { remote: "x" } });
  });

  it("reads an empty file and a comment-only file as no sections", () => {
    expect(parse("").size).toBe(0);
    expect(parse("\n").size).toBe(0);
    expect(parse("# nothing\n\n").size).toBe(0);
  });
});

describe("reading errors name the file and the line", () => {
  it("rejects a line that is neither a section nor a key", () => {
    const err = parseError("[core]\n    remote = x\nfoo\n");
    expect(err.message).toBe(".dvc/config: line 3: expected 'key = value', got 'foo'");
    expect(err.data).toMatchObject({ file: ".dvc/config", line: 3 });
  });

  it("rejects an unclosed section header", () => {
    expect(parseError("\n[core\n").message).toBe(".dvc/config: line 2: expected 'key = value', got '[core'");
  });

  it("rejects a badly quoted value", () => {
    expect(parseError('[core]\n    remote = "abc" junk\n').message).toMatch(
      /^\.dvc\/config: line 2: cannot read the value of 'remote': "abc" junk/,
    );
    expect(parseError("[core]\n    type = a,,b\n").message).toMatch(
      /^\.dvc\/config: line 2: cannot read the value of 'type'/,
    );
  });

  it("rejects an unterminated triple-quoted value at the line where it starts", () => {
    expect(parseError("[core]\n    a = 1\n    x = '''never\n    closed\n").message).toMatch(
      /^\.dvc\/config: line 3: unterminated or malformed '''-quoted value of 'x'/,
    );
  });

  it("rejects duplicate keys and sections", () => {
    expect(parseError("[core]\n    a = 1\n    a = 2\n").message).toBe(
      ".dvc/config: line 3: duplicate key 'a' in section '[core]'",
    );
    expect(parseError("[core]\n    a = 1\n[cache]\n[core]\n").message).toBe(
      ".dvc/config: line 4: duplicate section '[core]'",
    );
  });

  it("rejects nested sections and unbalanced brackets", () => {
    expect(parseError("[core]\n[[sub]]\n").message).toBe(
      ".dvc/config: line 2: nested sections are not supported: '[[sub]]'",
    );
    expect(parseError("[[core]\n").message).toBe(
      ".dvc/config: line 1: unbalanced brackets in section header '[[core]'",
    );
  });
});

describe("writing", () => {
  it("writes V-P4 byte for byte", () => {
    const data: ConfigData = new Map([
      ["core", new Map([["remote", "storage"]])],
      ['remote "storage"', new Map([["url", "s3://mybucket/dvcstore"]])],
    ]);
    expect(serializeConfigObj(data)).toBe(V_P4);
  });

  it.each<[ConfigValue, string]>([
    ["plain", "plain"],
    ["hardlink,copy", '"hardlink,copy"'],
    [" leading", '" leading"'],
    ["trailing ", '"trailing "'],
    ["\ttab", '"\ttab"'],
    ["", '""'],
    ["ab#c", '"ab#c"'],
    ['ab#c,d e"f', "'ab#c,d e\"f'"],
    ['say "hi"', "'say \"hi\"'"],
    ['"quoted"', "'\"quoted\"'"],
    ["it's", "it's"],
    ["'lead", '"\'lead"'],
    ['it\'s "both"', "'''it's \"both\"'''"],
    ["two\nlines", "'''two\nlines'''"],
    ["has ''' and \"", '"""has \'\'\' and """"'],
    [
      "DefaultEndpointsProtocol=http;AccountName=x;AccountKey=k/K+==",
      "DefaultEndpointsProtocol=http;AccountName=x;AccountKey=k/K+==",
    ],
    [["hardlink", "symlink"], "hardlink, symlink"],
    [["only"], "only,"],
    [[], ","],
    [["a,b", "c d", ""], '"a,b", c d, ""'],
  ])("quotes %j as %s", (value, written) => {
    expect(quoteValue(value)).toBe(written);
  });

  it("refuses values configobj cannot quote", () => {
    expect(() => quoteValue("both ''' and \"\"\"")).toThrow(ConfigError);
    expect(() => quoteValue(["a'b\"c,"])).toThrow(ConfigError);
    expect(() => quoteValue(["two\nlines"])).toThrow(ConfigError);
  });

  it("reads back every value it writes", () => {
    const values: ConfigValue[] = [
      "plain",
      "a, b",
      " x ",
      'ab#c,d e"f',
      'it\'s "both" # and hash',
      "multi\nline\n",
      "",
      "'",
      ["x", "y z", "p,q", 'r"s'],
      ["one"],
      [],
    ];
    const section = new Map(values.map((v, i) => [`k${i}`, v] as const));
    const text = serializeConfigObj(new Map([["core", section]]));
    expect(asObject(parse(text))).toEqual({ core: Object.fromEntries(section) });
  });

  it("writes top-level keys first and unindented, and keeps section and key order", () => {
    const data: ConfigData = new Map([
      ["cache", new Map([["type", "copy"]])],
      ["", new Map([["top", "1"]])],
      [
        "core",
        new Map<string, ConfigValue>([
          ["z", "1"],
          ["a", "2"],
        ]),
      ],
    ]);
    expect(serializeConfigObj(data)).toBe("top = 1\n[cache]\n    type = copy\n[core]\n    z = 1\n    a = 2\n");
  });

  it("writes an empty config as a lone newline and an empty section as a bare header, as configobj does", () => {
    expect(serializeConfigObj(new Map())).toBe("\n");
    expect(serializeConfigObj(new Map([['remote "st"', new Map()]]))).toBe("['remote \"st\"']\n");
  });

  it("uses the requested line ending", () => {
    expect(serializeConfigObj(parse(V_P4), "\r\n")).toBe(V_P4.replaceAll("\n", "\r\n"));
  });

  it("rewrites a hand-edited file in DVC's layout", () => {
    const text = "# comment\n[core]\nremote=storage   # inline\n\n['remote \"storage\"']\n\turl = 's3://b/p'\n";
    expect(serializeConfigObj(parse(text))).toBe(
      "[core]\n    remote = storage\n['remote \"storage\"']\n    url = s3://b/p\n",
    );
  });
});
