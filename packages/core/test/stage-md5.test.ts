import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { importOf, importPointerText } from "../src/external/import-pointer.js";
import { parsePointer } from "../src/formats/pointer.js";
import { pythonJsonDumps, stageMd5 } from "../src/ops/stage-md5.js";

const FOO = "acbd18db4cc2f85cedef654fccc4a4d8";

describe("stage md5 (spec §1.7)", () => {
  it("matches V-P3", () => {
    const dump = {
      md5: "ignored",
      frozen: true,
      deps: [{ md5: FOO, size: 3, hash: "md5", path: "foo" }],
      outs: [{ md5: FOO, size: 3, hash: "md5", path: "bar" }],
    };
    expect(stageMd5(dump)).toBe("8fc199641730e3f512deac0bd9a0e0b6");
  });

  it("serialises like Python's json.dumps(sort_keys=True)", () => {
    expect(pythonJsonDumps({ b: [1, true, null], a: 'é"\n\u007f' })).toBe(
      '{"a": "\\u00e9\\"\\n\\u007f", "b": [1, true, null]}',
    );
  });

  it("drops wdir '.', meta, desc and nested annotations", () => {
    const a = stageMd5({ outs: [{ md5: FOO, hash: "md5", path: "bar" }] });
    const b = stageMd5({
      wdir: ".",
      desc: "x",
      meta: { a: 1 },
      outs: [{ md5: FOO, hash: "md5", path: "bar", desc: "d", nfiles: 2, isexec: true, labels: ["l"] }],
    });
    expect(b).toBe(a);
  });
});

describe("import pointer text", () => {
  it("is DVC's layout, with a stage md5 over deps and outs", () => {
    const text = importPointerText(
      "model.h5",
      { url: "../src", rev: "v1.0", rev_lock: "0123456789abcdef0123456789abcdef01234567" },
      { path: "model.h5", md5: FOO, size: 3 },
    );
    const json =
      '{"deps": [{"path": "model.h5", "repo": {"rev": "v1.0", "rev_lock": "0123456789abcdef0123456789abcdef01234567", "url": "../src"}}], "outs": [{"hash": "md5", "md5": "acbd18db4cc2f85cedef654fccc4a4d8", "path": "model.h5"}]}';
    const md5 = createHash("md5").update(json).digest("hex");
    expect(text).toBe(
      `md5: ${md5}\nfrozen: true\ndeps:\n- path: model.h5\n  repo:\n    url: ../src\n    rev: v1.0\n    rev_lock: 0123456789abcdef0123456789abcdef01234567\nouts:\n- md5: ${FOO}\n  size: 3\n  hash: md5\n  path: model.h5\n`,
    );
    const parsed = parsePointer(text, "model.h5.dvc");
    expect(importOf(parsed)).toEqual({
      path: "model.h5",
      source: { url: "../src", rev: "v1.0", rev_lock: "0123456789abcdef0123456789abcdef01234567" },
    });
  });

  it("keeps the other keys of a rewritten file", () => {
    const old = parsePointer(
      `md5: 00000000000000000000000000000000\nfrozen: true\ndeps:\n- path: data\n  repo:\n    url: ../src\n    rev_lock: aaaa\nouts:\n- md5: x.dir\n  size: 1\n  nfiles: 1\n  hash: md5\n  path: data\n  desc: my data\ndesc: top\n`.replace(
        "x.dir",
        `${FOO}.dir`,
      ),
      "data.dvc",
    );
    const text = importPointerText(
      "data",
      { url: "../src", rev_lock: "bbbb" },
      { path: "data", md5: `${FOO}.dir`, size: 6, nfiles: 2 },
      old,
    );
    expect(text).toContain("desc: top\n");
    expect(text).toContain("  desc: my data\n");
    expect(text).toContain("    rev_lock: bbbb\n");
    expect(text).toContain("  nfiles: 2\n");
    expect(text.startsWith("desc: top\nmd5: ")).toBe(true);
  });
});
