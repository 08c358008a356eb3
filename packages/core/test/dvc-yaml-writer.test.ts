// biome-ignore-all lint/suspicious/noTemplateCurlyInString: dvc.yaml texts are full of literal ${...} templates
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  isParametrized,
  removeStage,
  restoreFields,
  type StageDefinition,
  stageDefinitionOf,
  stageDefinitionValue,
  writeStage,
  writtenStage,
} from "../src/formats/dvc-yaml-writer.js";
import { commandText, parseParamsFlags } from "../src/pipeline/stage-add.js";

const md5 = (text: string) => createHash("md5").update(text).digest("hex");

/** A new `dvc.yaml` holding one stage. */
const newFile = (name: string, stage: StageDefinition) =>
  writeStage(undefined, "dvc.yaml", name, stageDefinitionValue(stage));

/** P-1 (spec §10): `stage add -n copy -d foo -p lr,model -o bar 'cp foo bar'`. */
const P1_YAML =
  "stages:\n  copy:\n    cmd: cp foo bar\n    deps:\n    - foo\n    params:\n    - lr\n    - model\n    outs:\n    - bar\n";

describe("a stage as DVC serializes it (§1.9)", () => {
  it("P-1: byte for byte, md5 c3149395d886c67970d47dad55f4aa17", () => {
    const text = newFile("copy", {
      cmd: "cp foo bar",
      deps: ["foo"],
      params: parseParamsFlags(["lr,model"]),
      outs: [{ path: "bar", kind: "outs" }],
    });
    expect(text).toBe(P1_YAML);
    expect(md5(text)).toBe("c3149395d886c67970d47dad55f4aa17");
  });

  it("§6.4: keys in DVC's order, outputs sorted together then split, flags in order, params.yaml keys bare and first", () => {
    const stage: StageDefinition = {
      desc: "my desc",
      cmd: commandText(["python", "train.py", "--arg", "two words"]),
      wdir: "sub",
      deps: ["z.py", "a.csv"],
      params: parseParamsFlags(["lr", "p2.yaml:b,a", "p3.yaml:"]),
      outs: [
        { path: "per.bin", kind: "outs", flags: { persist: true } },
        { path: "pernc.bin", kind: "outs", flags: { persist: true, cache: false } },
        { path: "mnc.json", kind: "metrics", flags: { cache: false } },
        { path: "m.json", kind: "metrics" },
        { path: "pnc.csv", kind: "plots", flags: { cache: false } },
        { path: "p.csv", kind: "plots" },
        { path: "nc.txt", kind: "outs", flags: { cache: false } },
        { path: "out/b", kind: "outs" },
        { path: "out/a", kind: "outs" },
      ],
      alwaysChanged: true,
    };
    expect(newFile("s1", stage)).toBe(
      [
        "stages:",
        "  s1:",
        "    desc: my desc",
        '    cmd: python train.py --arg "two words"',
        "    wdir: sub",
        "    deps:",
        "    - a.csv",
        "    - z.py",
        "    params:",
        "    - lr",
        "    - p2.yaml:",
        "      - a",
        "      - b",
        "    - p3.yaml:",
        "    outs:",
        "    - nc.txt:",
        "        cache: false",
        "    - out/a",
        "    - out/b",
        "    - per.bin:",
        "        persist: true",
        "    - pernc.bin:",
        "        cache: false",
        "        persist: true",
        "    metrics:",
        "    - m.json",
        "    - mnc.json:",
        "        cache: false",
        "    plots:",
        "    - p.csv",
        "    - pnc.csv:",
        "        cache: false",
        "    always_changed: true",
        "",
      ].join("\n"),
    );
  });

  it("quotes paths YAML would read as something else, and leaves wdir '.' out", () => {
    const text = newFile("s", {
      cmd: "echo hi",
      wdir: "./",
      deps: ["a b"],
      params: [{ file: "p.yaml", keys: ["k"] }],
      outs: [
        { path: "null", kind: "outs" },
        { path: "123", kind: "outs", flags: { cache: false } },
      ],
    });
    expect(text).toBe(
      "stages:\n  s:\n    cmd: echo hi\n    deps:\n    - a b\n    params:\n    - p.yaml:\n      - k\n    outs:\n" +
        "    - '123':\n        cache: false\n    - 'null'\n",
    );
  });
});

describe("the command line (§6.1, §6.2)", () => {
  it("joins several arguments as DVC does, one argument verbatim", () => {
    expect(commandText(["python", "t.py", "--a", '"b c"', "", "x y", 'q"r s'])).toBe(
      'python t.py --a "b c" "" "x y" q"r s',
    );
    expect(commandText(['python t.py --a "b c"'])).toBe('python t.py --a "b c"');
    expect(commandText(["echo", "'a b'", "tab\tx", "a'b c"])).toBe(`echo "'a b'" tab\tx "a'b c"`);
  });

  it("-p: split at the last ':', keys accumulate per file, a file without keys is whole", () => {
    expect(parseParamsFlags(["z.yaml:y", "a.yaml:x", "lr,b", "params.yaml:", "k", "w.yaml:", "w.yaml:q"])).toEqual([
      { file: "z.yaml", keys: ["y"] },
      { file: "a.yaml", keys: ["x"] },
      { file: "params.yaml", keys: ["lr", "b", "k"] },
      { file: "w.yaml", keys: ["q"] },
    ]);
    expect(parseParamsFlags(["c:/x.yaml:k", "p3.yaml:"])).toEqual([
      { file: "c:/x.yaml", keys: ["k"] },
      { file: "p3.yaml", keys: null },
    ]);
  });

  it("writes every params.yaml key, repeated ones too, sorted, and files in path order", () => {
    const text = newFile("t", {
      cmd: "echo t",
      deps: [],
      params: parseParamsFlags(["z.yaml:y", "a.yaml:x", "lr,b", "params.yaml:", "k", "lr"]),
      outs: [],
    });
    expect(text).toBe(
      "stages:\n  t:\n    cmd: echo t\n    params:\n    - b\n    - k\n    - lr\n    - lr\n    - a.yaml:\n      - x\n" +
        "    - z.yaml:\n      - y\n",
    );
  });
});

describe("updating an existing dvc.yaml", () => {
  it("appends a new stage, leaving the others and their comments as they are", () => {
    const old = "# c1\nstages:\n  x:   # xc\n    cmd: echo x  # cmd\n";
    const text = writeStage(
      old,
      "dvc.yaml",
      "s",
      stageDefinitionValue({ cmd: "echo s", deps: [], params: [], outs: [] }),
    );
    expect(text).toBe("# c1\nstages:\n  x:   # xc\n    cmd: echo x  # cmd\n  s:\n    cmd: echo s\n");
  });

  it("adds 'stages' at the end when the file has none, and writes an empty or comment-only file anew", () => {
    const value = stageDefinitionValue({ cmd: "echo", deps: [], params: [], outs: [] });
    expect(writeStage("vars:\n  - a: 1\n", "dvc.yaml", "s", value)).toBe(
      "vars:\n- a: 1\nstages:\n  s:\n    cmd: echo\n",
    );
    expect(writeStage("", "dvc.yaml", "s", value)).toBe("stages:\n  s:\n    cmd: echo\n");
    expect(writeStage("# only a comment\n", "dvc.yaml", "s", value)).toBe("stages:\n  s:\n    cmd: echo\n");
  });

  it("§1.9: -f over a commented stage keeps comments, and the old desc, meta and out annotations", () => {
    const old = [
      "# top comment",
      "stages:",
      "  s3:  # inline",
      "    desc: old desc",
      "    cmd: python t.py   # cmd comment",
      "    meta:",
      "      owner: me",
      "    outs:",
      "    - y2:",
      "        desc: an out",
      "        remote: r1",
      "",
    ].join("\n");
    const fresh: StageDefinition = {
      desc: "newdesc",
      cmd: "python t2.py",
      deps: ["dep1"],
      params: [],
      outs: [
        { path: "y2", kind: "outs" },
        { path: "y3", kind: "outs" },
      ],
    };
    const restored = restoreFields(fresh, stageDefinitionOf(writtenStage(old, "dvc.yaml", "s3")));
    expect(writeStage(old, "dvc.yaml", "s3", stageDefinitionValue(restored))).toBe(
      [
        "# top comment",
        "stages:",
        "  s3:  # inline",
        "    desc: old desc",
        "    cmd: python t2.py  # cmd comment",
        "    meta:",
        "      owner: me",
        "    outs:",
        "    - y2:",
        "        desc: an out",
        "        remote: r1",
        "    - y3",
        "    deps:",
        "    - dep1",
        "",
      ].join("\n"),
    );
  });

  it("-f: an old stage without desc drops the new one; type and push survive, cache follows the new flags", () => {
    const old =
      "stages:\n  a:\n    cmd: echo\n    outs:\n    - x:\n        cache: false\n        push: false\n        type: model\n    - y\n";
    const fresh: StageDefinition = {
      desc: "new",
      cmd: "echo 2",
      deps: [],
      params: [],
      outs: [
        { path: "x", kind: "outs" },
        { path: "y", kind: "metrics", flags: { cache: false } },
        { path: "z", kind: "plots" },
      ],
    };
    const restored = restoreFields(fresh, stageDefinitionOf(writtenStage(old, "dvc.yaml", "a")));
    // What DVC 3.64 writes for `stage add -f -n a --desc new -o x -M y --plots z echo 2`.
    expect(writeStage(old, "dvc.yaml", "a", stageDefinitionValue(restored))).toBe(
      "stages:\n  a:\n    cmd: echo 2\n    outs:\n    - x:\n        type: model\n        push: false\n    metrics:\n" +
        "    - y:\n        cache: false\n    plots:\n    - z\n",
    );
  });

  it("freeze writes the whole stage back in DVC's form (as DVC 3.64 does), keeping flow style and comments", () => {
    const old = [
      "stages:",
      "  m:",
      "    meta: {owner: me}",
      "    cmd:",
      "    - echo a",
      "    - echo b",
      "    wdir: ./sub/",
      "    outs:",
      "    - z",
      "    - a:",
      "        push: false",
      "        cache: false",
      "        desc: hi",
      "        checkpoint: true",
      "    - a:",
      "        remote: r",
      "    metrics:",
      "    - b",
      "    deps: [zz, aa]",
      "    params:",
      "    - x.yaml: [k2, k1]",
      "    - lr",
      "    - x.yaml:",
      "    - a.yaml: [q]",
      "    - params.yaml: [b]",
      "    plots:",
      "    - p:",
      "        y: acc",
      "        cache: false",
      "        x: step",
      "    desc: d",
      "    always_changed: false",
      "",
    ].join("\n");
    const definition = { ...stageDefinitionOf(writtenStage(old, "dvc.yaml", "m")), frozen: true };
    expect(writeStage(old, "dvc.yaml", "m", stageDefinitionValue(definition))).toBe(
      [
        "stages:",
        "  m:",
        "    meta: {owner: me}",
        "    cmd:",
        "    - echo a",
        "    - echo b",
        "    wdir: sub",
        "    outs:",
        "    - a:",
        "        desc: hi",
        "        cache: false",
        "        remote: r",
        "        push: false",
        "    - z",
        "    metrics:",
        "    - b",
        "    deps: [aa, zz]",
        "    params:",
        "    - b",
        "    - lr",
        "    - a.yaml:",
        "      - q",
        "    - x.yaml:",
        "    plots:",
        "    - p:",
        "        y: acc",
        "        cache: false",
        "        x: step",
        "    desc: d",
        "    frozen: true",
        "",
      ].join("\n"),
    );
  });

  it("freeze and unfreeze of a flow-style stage keep its style; the comment moves as ruamel moves it", () => {
    const old =
      "stages:\n  plain: {cmd: echo p, outs: [o1]}   # flow\n  other:\n    cmd: echo o   # c\n    deps: [d]\n";
    const set = (text: string, frozen: boolean) => {
      const definition = { ...stageDefinitionOf(writtenStage(text, "dvc.yaml", "plain")), frozen };
      return writeStage(text, "dvc.yaml", "plain", stageDefinitionValue(definition));
    };
    const frozen = set(old, true);
    expect(frozen).toBe(
      "stages:\n  plain: {cmd: echo p, outs: [o1], frozen: true} # flow\n  other:\n    cmd: echo o   # c\n    deps: [d]\n",
    );
    expect(set(frozen, false)).toBe(
      "stages:\n  plain: {cmd: echo p, outs: [o1]}               # flow\n  other:\n    cmd: echo o   # c\n    deps: [d]\n",
    );
  });

  it("removes a stage, and gives undefined when none is left (DVC deletes the file, whatever else it holds)", () => {
    const two = "stages:\n  a:\n    cmd: echo a\n  b:\n    cmd: echo b\n";
    expect(removeStage(two, "dvc.yaml", "a")).toBe("stages:\n  b:\n    cmd: echo b\n");
    expect(removeStage(two, "dvc.yaml", "nope")).toBe(two);
    expect(removeStage("plots:\n- p.csv\nstages:\n  a:\n    cmd: echo\n", "dvc.yaml", "a")).toBeUndefined();
  });

  it("knows the stages DVC refuses to write back: generated, with vars, or with ${...}", () => {
    const text =
      "vars:\n- x: 1\nstages:\n  build:\n    foreach: [a, b]\n    do:\n      cmd: echo ${item}\n" +
      "  interp:\n    cmd: echo ${x}\n  v:\n    vars:\n    - a: 1\n    cmd: echo\n  plain:\n    cmd: echo\n";
    for (const name of ["build", "interp", "v"])
      expect(isParametrized(writtenStage(text, "dvc.yaml", name))).toBe(true);
    expect(isParametrized(writtenStage(text, "dvc.yaml", "plain"))).toBe(false);
  });
});
