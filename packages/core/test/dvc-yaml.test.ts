// biome-ignore-all lint/suspicious/noTemplateCurlyInString: dvc.yaml texts are full of literal ${...} templates
import { describe, expect, it } from "vitest";
import { FormatError } from "../src/errors.js";
import { loadPipelineFile, type PipelineLoadOptions } from "../src/formats/dvc-yaml.js";
import { type PipelineFile, type PipelineReader, PyFloat } from "../src/formats/pipeline.js";

/** A project's files by posix path from the root. */
function project(files: Record<string, string>): PipelineReader {
  return { read: async (path) => (Object.hasOwn(files, path) ? files[path] : undefined) };
}

async function load(
  yaml: string,
  files: Record<string, string> = {},
  options?: PipelineLoadOptions,
  path = "dvc.yaml",
): Promise<PipelineFile> {
  return loadPipelineFile(path, yaml, project(files), options);
}

function commands(file: PipelineFile): Record<string, string | string[]> {
  return Object.fromEntries(file.stages.map((stage) => [stage.name, stage.cmd]));
}

async function failure(promise: Promise<unknown>): Promise<FormatError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FormatError);
  return err as FormatError;
}

/** P-6: the project of the foreach / matrix vector. */
const P6_PARAMS = `models: {us: {thresh: 10, file: us.csv}, uk: {thresh: 20, file: uk.csv}}
seeds: [1, 2]
opts: {epochs: 3, verbose: true, name: "a b", tags: [x, y], off: false}
lr: 0.1
`;
const P6_YAML = `vars:
- vars2.yaml
- local: 7
  dirs: [d1, d2]
stages:
  build:
    foreach: \${models}
    do:
      cmd: echo \${key} \${item.thresh} \${item.file} > out_\${key}.txt
  simple:
    foreach: [a, b]
    do:
      cmd: echo \${item}
  listdict:
    foreach: [{n: 1}, {n: 2}]
    do:
      cmd: echo \${item.n}
  mx:
    matrix:
      seed: \${seeds}
      opt: [adam, sgd]
      cfg: [{a: 1}, {a: 2}]
    cmd: echo \${item.seed} \${item.opt} \${item.cfg.a} \${key}
  one:
    cmd: echo python t.py \${opts} --lr \${lr} --local \${local} --extra \${extra} \\\${notinterp} \${dirs[1]}
`;

describe("stage order", () => {
  it("keeps the file's order, integer-like names included", async () => {
    const file = await load("stages:\n  b:\n    cmd: echo b\n  1:\n    cmd: echo 1\n  a:\n    cmd: echo a\n");
    expect(file.stages.map((s) => s.name)).toEqual(["b", "1", "a"]);
  });
});

describe("P-6: foreach and matrix expansion", () => {
  it("generates DVC's stage names and commands, in file order", async () => {
    const file = await load(P6_YAML, { "params.yaml": P6_PARAMS, "vars2.yaml": "extra: 5\n" });
    expect(commands(file)).toEqual({
      "build@us": "echo us 10 us.csv > out_us.txt",
      "build@uk": "echo uk 20 uk.csv > out_uk.txt",
      "simple@a": "echo a",
      "simple@b": "echo b",
      "listdict@0": "echo 1",
      "listdict@1": "echo 2",
      "mx@1-adam-cfg0": "echo 1 adam 1 1-adam-cfg0",
      "mx@1-adam-cfg1": "echo 1 adam 2 1-adam-cfg1",
      "mx@1-sgd-cfg0": "echo 1 sgd 1 1-sgd-cfg0",
      "mx@1-sgd-cfg1": "echo 1 sgd 2 1-sgd-cfg1",
      "mx@2-adam-cfg0": "echo 2 adam 1 2-adam-cfg0",
      "mx@2-adam-cfg1": "echo 2 adam 2 2-adam-cfg1",
      "mx@2-sgd-cfg0": "echo 2 sgd 1 2-sgd-cfg0",
      "mx@2-sgd-cfg1": "echo 2 sgd 2 2-sgd-cfg1",
      one: "echo python t.py --epochs 3 --verbose --name 'a b' --tags x y --lr 0.1 --local 7 --extra 5 ${notinterp} d2",
    });
    expect(file.stages.map((s) => s.name)).toEqual(Object.keys(commands(file)));
    expect(file.stages.find((s) => s.name === "build@us")?.group).toBe("build");
  });
});

describe("${...} interpolation (P-14, spec §2.2-§2.3)", () => {
  const cmdOf = async (cmd: string, params: string) =>
    (await load(`stages:\n  s:\n    cmd: ${JSON.stringify(cmd)}\n`, { "params.yaml": params })).stages[0]?.cmd;

  it("keeps the type of an exact ${...} (P-14)", async () => {
    const cases: [string, unknown][] = [
      ["true", true],
      ["12", 12],
      ["3.141592653589793", new PyFloat(Math.PI)],
      ["null", null],
      ["false", false],
      ["0", 0],
      ['"0"', "0"],
      ['"123"', "123"],
      ["Foobar", "Foobar"],
      ['""', ""],
      [".inf", new PyFloat(Number.POSITIVE_INFINITY)],
      ["3e4", new PyFloat(30000)],
    ];
    for (const [text, value] of cases) {
      const file = await load("plots:\n- ${value}\n- ${ value }\n", { "params.yaml": `value: ${text}\n` });
      expect(file.plots).toEqual([value, value]);
    }
  });

  it("substitutes inline, unescapes \\${ and reads dotted and indexed keys (P-14)", async () => {
    expect(await cmdOf("\\${value}", "value: value\n")).toBe("${value}");
    expect(await cmdOf("Great shot kid, that was \\${value} in a ${value}", "value: value\n")).toBe(
      "Great shot kid, that was ${value} in a value",
    );
    expect(await cmdOf("My name is ${last}, ${first} ${last}", "first: James\nlast: Bond\n")).toBe(
      "My name is Bond, James Bond",
    );
    expect(
      await cmdOf("${ dict.1.fo}${dict.3.foo.1}bar", "dict: [{f: f}, {fo: fo}, {foo: foo}, {foo: [f, o, o]}]\n"),
    ).toBe("foobar");
    expect(await cmdOf("${dict[3].foo[0]}", "dict: [{f: f}, {fo: fo}, {foo: foo}, {foo: [f, o, o]}]\n")).toBe("f");
    expect(await cmdOf("Number ${dict.num}", "dict: {num: 5}\n")).toBe("Number 5");
    expect(await cmdOf("$${x}", "x: 1\n")).toBe("$1");
  });

  it("writes values as DVC's to_str does", async () => {
    expect(
      await cmdOf(
        "${t} ${n} ${f} ${g} ${e} ${i} ${s}",
        "t: true\nn: null\nf: 0.1\ng: 3.0\ne: 1e-5\ni: 0x10\ns: 'a b'\n",
      ),
    ).toBe("true None 0.1 3.0 1e-05 16 a b");
  });

  it("expands a mapping in cmd to flags (test_cmd_dict)", async () => {
    const params = `dict: {foo: foo, bar: 2, string: "spaced string", mixed_quote_string: "quote\\"'d", bool: true, bool-false: false, list: [1, 2, foo, "quote\\"'d"], nested: {foo: foo}}\n`;
    const yaml = "stages:\n  s:\n    cmd: python script.py ${dict}\n";
    expect((await load(yaml, { "params.yaml": params })).stages[0]?.cmd).toBe(
      `python script.py --foo foo --bar 2 --string 'spaced string' --mixed_quote_string 'quote"'"'"'d' --bool --list 1 2 foo 'quote"'"'"'d' --nested.foo foo`,
    );
    const options: PipelineLoadOptions = { parsing: { bool: "boolean_optional", list: "append" } };
    expect((await load(yaml, { "params.yaml": params }, options)).stages[0]?.cmd).toBe(
      `python script.py --foo foo --bar 2 --string 'spaced string' --mixed_quote_string 'quote"'"'"'d' --bool --no-bool-false --list 1 --list 2 --list foo --list 'quote"'"'"'d' --nested.foo foo`,
    );
  });

  it("interpolates mapping keys and wdir", async () => {
    const file = await load(
      'stages:\n  s:\n    wdir: ${dir}\n    cmd: echo\n    outs:\n    - "${name}.txt":\n        cache: false\n',
      { "params.yaml": "dir: sub\nname: model\n" },
    );
    expect(file.stages[0]?.wdir).toBe("sub");
    expect(file.stages[0]?.outs).toMatchObject([{ path: "model.txt", rel: "sub/model.txt", cache: false }]);
  });
});

describe("foreach and matrix (spec §2.4-§2.5)", () => {
  it("generates the 16 stages of test_matrix, last axis fastest", async () => {
    const yaml = `stages:
  build:
    matrix:
      os: [win, linux]
      pyv: [3.7, 3.8]
      dict: [{arg1: 1}, {arg2: 2}]
      list: [[out1, out11], [out2, out22]]
    cmd: echo \${item.os} \${item.pyv} \${item.dict} -- \${item.list.0} \${item.list.1}
`;
    const file = await load(yaml);
    const names: string[] = [];
    for (const os of ["win", "linux"])
      for (const pyv of ["3.7", "3.8"])
        for (const dict of ["dict0", "dict1"])
          for (const list of ["list0", "list1"]) names.push(`build@${os}-${pyv}-${dict}-${list}`);
    expect(file.stages.map((s) => s.name)).toEqual(names);
    expect(file.stages[0]?.cmd).toBe("echo win 3.7 --arg1 1 -- out1 out11");
    expect(file.stages[15]?.cmd).toBe("echo linux 3.8 --arg2 2 -- out2 out22");
  });

  it("names members of a list of scalars by to_str, and of a params list by Python's str", async () => {
    const file = await load(
      "stages:\n  a:\n    foreach: ${flags}\n    do:\n      cmd: echo ${item}\n  b:\n    foreach: [true, null, 1.0, 1e-5]\n    do:\n      cmd: echo ${item}\n",
      { "params.yaml": "flags: [true, false]\n" },
    );
    expect(commands(file)).toEqual({
      "a@True": "echo true",
      "a@False": "echo false",
      "b@true": "echo true",
      "b@None": "echo None",
      "b@1.0": "echo 1.0",
      "b@1e-05": "echo 1e-05",
    });
  });

  it("resolves stage vars and wdir per generated stage, vars relative to the wdir", async () => {
    const file = await load(
      "stages:\n  s:\n    foreach: [1, 2]\n    do:\n      wdir: ${w}\n      vars: [v.yaml, {y: 2}]\n      cmd: echo ${item} ${x} ${y}\n",
      { "params.yaml": "w: sub\n", "sub/v.yaml": "x: 1\n" },
    );
    expect(file.stages.map((s) => [s.name, s.wdir, s.cmd])).toEqual([
      ["s@1", "sub", "echo 1 1 2"],
      ["s@2", "sub", "echo 2 1 2"],
    ]);
  });

  it("lets a generated stage shadow a plain stage of the same name, keeping the first position", async () => {
    const file = await load(
      "stages:\n  build:\n    foreach: [x, y]\n    do:\n      cmd: echo gen ${item}\n  c:\n    cmd: echo c\n  build@x:\n    cmd: echo plain\n",
    );
    expect(commands(file)).toEqual({ "build@x": "echo gen x", "build@y": "echo gen y", c: "echo c" });
    expect(file.stages.map((s) => s.name)).toEqual(["build@x", "build@y", "c"]);
  });
});

describe("paths, params and outputs (spec §1.5-§1.7)", () => {
  it("resolves paths from the project root, and keeps them as written", async () => {
    const file = await load(
      "stages:\n  s:\n    wdir: w\n    cmd: echo\n    deps: [../../top.txt, d, https://example.com/f]\n    params: [p, {x.yaml: [r]}]\n    outs: [o, ../o3]\n",
      {},
      undefined,
      "sub/dvc.yaml",
    );
    const stage = file.stages[0];
    expect(stage?.file).toBe("sub/dvc.yaml");
    expect(stage?.wdir).toBe("sub/w");
    expect(stage?.deps).toEqual([
      { path: "../../top.txt", rel: "top.txt" },
      { path: "d", rel: "sub/w/d" },
      { path: "https://example.com/f", rel: "https://example.com/f" },
    ]);
    expect(stage?.params).toEqual([
      { path: "params.yaml", rel: "sub/w/params.yaml", keys: ["p"] },
      { path: "x.yaml", rel: "sub/w/x.yaml", keys: ["r"] },
    ]);
    expect(stage?.outs.map((o) => [o.path, o.rel])).toEqual([
      ["o", "sub/w/o"],
      ["../o3", "sub/o3"],
    ]);
  });

  it("merges params per file: bare keys to params.yaml, a whole file drops its keys", async () => {
    const file = await load(
      "stages:\n  s:\n    cmd: echo\n    params:\n    - a\n    - b.c\n    - other.yaml: [x]\n    - params.yaml:\n    - other.yaml: [y]\n    - third.json: []\n    - other.yaml:z\n",
    );
    expect(file.stages[0]?.params.map((p) => [p.path, p.keys])).toEqual([
      ["other.yaml", ["x", "y"]],
      ["params.yaml", null],
      ["third.json", null],
    ]);
    await expect(load("stages:\n  s:\n    cmd: echo\n    params:\n    - f: key\n")).rejects.toThrow(
      "Expected list of params for custom params file 'f', got 'str'.",
    );
  });

  it("merges the flags of a path listed twice, and keeps outs, metrics and plots in that order", async () => {
    const file = await load(
      "stages:\n  s:\n    cmd: echo\n    plots: [p.csv]\n    metrics: [{m.json: {cache: false}}]\n    outs:\n    - o1\n    - o1: {cache: false, desc: first}\n    - o1: {desc: second, remote: r}\n    - o2: {persist: true, push: false}\n",
    );
    expect(file.stages[0]?.outs).toEqual([
      {
        path: "o1",
        rel: "o1",
        kind: "outs",
        cache: false,
        persist: false,
        push: true,
        remote: "r",
        flags: { cache: false, desc: "second", remote: "r" },
      },
      {
        path: "o2",
        rel: "o2",
        kind: "outs",
        cache: true,
        persist: true,
        push: false,
        flags: { persist: true, push: false },
      },
      {
        path: "m.json",
        rel: "m.json",
        kind: "metrics",
        cache: false,
        persist: false,
        push: true,
        flags: { cache: false },
      },
      { path: "p.csv", rel: "p.csv", kind: "plots", cache: true, persist: false, push: true, flags: {} },
    ]);
  });

  it("refuses a DVC file as an output or a dependency", async () => {
    await expect(load("stages:\n  s:\n    cmd: echo\n    outs: [dvc.yaml]\n")).rejects.toThrow(
      "DVC file 'dvc.yaml' cannot be an output.",
    );
    await expect(load("stages:\n  s:\n    cmd: echo\n    deps: [data.dvc]\n")).rejects.toThrow(
      "DVC file 'data.dvc' cannot be a dependency.",
    );
  });

  it("reads desc, frozen and always_changed", async () => {
    const file = await load(
      "stages:\n  s:\n    cmd: echo\n    desc: hello\n    frozen: true\n    always_changed: true\n",
    );
    expect(file.stages[0]).toMatchObject({ desc: "hello", frozen: true, alwaysChanged: true });
  });
});

describe("the context (spec §2.1)", () => {
  it("loads params.yaml, vars files (whole or some keys) and mappings; reports the params keys used", async () => {
    const file = await load(
      "vars:\n- v.json:b\n- c.toml\n- p.py\n- {local: 7}\nstages:\n  s:\n    cmd: echo ${a.x} ${b} ${depth} ${LR} ${local} ${a}\n",
      {
        "params.yaml": "a: {x: 1}\n",
        "v.json": '{"b": 2.0, "z": 0}',
        "c.toml": "depth = 3\n",
        "p.py": "LR = 1e-3\n",
      },
    );
    expect(file.stages[0]?.cmd).toBe("echo 1 2.0 3 0.001 7 --x 1");
    const used = Object.fromEntries([...file.interpolatedParams].map(([path, keys]) => [path, [...keys]]));
    expect(used).toEqual({ "params.yaml": ["a.x"], "v.json": ["b"], "c.toml": ["depth"], "p.py": ["LR"] });
  });

  it("reports params keys read through foreach and matrix items", async () => {
    const file = await load(
      "stages:\n  b:\n    foreach: ${models}\n    do:\n      cmd: echo ${key} ${item.thresh}\n  m:\n    matrix:\n      seed: ${seeds}\n    cmd: echo ${item.seed}\n",
      { "params.yaml": "models: {us: {thresh: 10}}\nseeds: [1]\n" },
    );
    expect([...(file.interpolatedParams.get("params.yaml") ?? [])]).toEqual(["models.us.thresh", "seeds.0"]);
    expect([...(file.stages[0]?.interpolatedParams?.get("params.yaml") ?? [])]).toEqual(["models.us.thresh"]);
  });

  it("refuses a date from a params file", async () => {
    await expect(load("stages:\n  s:\n    cmd: echo\n", { "params.yaml": "d: 2020-01-01\n" })).rejects.toThrow(
      "Unsupported value of type 'date' in 'params.yaml:d'",
    );
  });

  it("reads params.yaml of the dvc.yaml's folder, and vars relative to it", async () => {
    const file = await load(
      "vars: [v.yaml]\nstages:\n  s:\n    cmd: echo ${p} ${q}\n",
      { "params.yaml": "p: root\n", "sub/params.yaml": "p: sub\n", "sub/v.yaml": "q: 3\n" },
      undefined,
      "sub/dvc.yaml",
    );
    expect(file.stages[0]?.cmd).toBe("echo sub 3");
    expect([...file.interpolatedParams.keys()]).toEqual(["sub/params.yaml", "sub/v.yaml"]);
  });
});

describe("top-level sections", () => {
  it("resolves params, metrics, plots and artifacts with the file's context", async () => {
    const file = await load(
      "params:\n- ${metric_file}\n- ../cfg.yaml\nmetrics:\n- eval/${metric_file}\nplots:\n- plots/${name}.csv\n- ${name}-cmp:\n    x: ${x}\n    y:\n      a.csv: acc\nartifacts:\n  ${name}:\n    path: models/${name}.pkl\n    type: model\n",
      { "sub/params.yaml": "name: model\nmetric_file: m.json\nx: ep\n" },
      undefined,
      "sub/dvc.yaml",
    );
    expect(file.params).toEqual(["sub/m.json", "cfg.yaml"]);
    expect(file.metrics).toEqual(["sub/eval/m.json"]);
    expect(file.plots).toEqual(["plots/model.csv", { "model-cmp": { x: "ep", y: { "a.csv": "acc" } } }]);
    expect(file.artifacts).toEqual({ model: { path: "models/model.pkl", type: "model" } });
    expect(file.stages).toEqual([]);
  });
});

describe("errors worded as DVC's (spec §2.7, §1.3)", () => {
  const message = async (yaml: string, files: Record<string, string> = {}) =>
    (await failure(load(yaml, files))).message;

  it("reports resolution failures with where they happened", async () => {
    expect(await message("stages:\n  s:\n    cmd: echo ${missing}\n")).toBe(
      "failed to parse 'stages.s.cmd' in 'dvc.yaml': Could not find 'missing'",
    );
    expect(
      await message("stages:\n  s:\n    cmd: echo\n    outs:\n    - ${d}\n", { "params.yaml": "d: {a: 1}\n" }),
    ).toBe("failed to parse 'stages.s.outs' in 'dvc.yaml':\nCannot interpolate data of type 'dict'");
    expect(await message("stages:\n  s:\n    cmd: echo ${l}\n", { "params.yaml": "l: [1]\n" })).toBe(
      "failed to parse 'stages.s.cmd' in 'dvc.yaml':\nCannot interpolate data of type 'list'",
    );
    expect(
      await message("stages:\n  s:\n    foreach: ${n}\n    do:\n      cmd: echo\n", { "params.yaml": "n: 3\n" }),
    ).toBe("failed to resolve 'stages.s.foreach' in 'dvc.yaml': expected list/dictionary, got int");
    expect(await message("vars:\n- x: ${y}\nstages: {}\n")).toBe(
      "failed to parse 'vars' in 'dvc.yaml': interpolating is not allowed",
    );
    expect(await message("vars:\n- name: y\nstages: {}\n", { "params.yaml": "name: x\n" })).toBe(
      "failed to parse 'vars' in 'dvc.yaml':\ncannot redefine 'name' from 'vars[0]' as it already exists in 'params.yaml'",
    );
    expect(
      await message("stages:\n  s:\n    vars:\n    - name: y\n    cmd: echo ${name}\n", { "params.yaml": "name: x\n" }),
    ).toBe(
      "failed to parse stage 's' in 'dvc.yaml':\ncannot redefine 'name' from 's.vars[0]' as it already exists in 'params.yaml'",
    );
    expect(await message("stages:\n  m:\n    foreach: [1, 2]\n    do:\n      cmd: echo ${key}\n")).toBe(
      "failed to parse 'stages.m@1.cmd' in 'dvc.yaml': Could not find 'key'",
    );
  });

  it("reports a malformed expression with DVC's caret diagram", async () => {
    expect(await message("stages:\n  s:\n    cmd: echo ${a.}\n")).toBe(
      "failed to parse 'stages.s.cmd' in 'dvc.yaml':\n${a.}\n   ^\nParseException: Expected end of text, found '.'  (at char 3), (line:1, col:4)",
    );
  });

  it("reports vars files that are missing, partial loads and reserved keys", async () => {
    expect(await message("vars: [missing.yaml]\nstages: {}\n")).toBe(
      "failed to parse 'vars' in 'dvc.yaml': 'missing.yaml' does not exist",
    );
    expect(await message("vars: [p.yaml:a, p.yaml]\nstages: {}\n", { "p.yaml": "a: 1\n" })).toBe(
      "failed to parse 'vars' in 'dvc.yaml':\ncannot load 'p.yaml' as it's partially loaded already",
    );
    expect(await message("vars: [p.yaml:c]\nstages: {}\n", { "p.yaml": "a: 1\n" })).toBe(
      "failed to parse 'vars' in 'dvc.yaml': could not find 'c' in 'p.yaml'",
    );
    expect(
      await message("stages:\n  s:\n    foreach: [1]\n    do:\n      vars: [v.yaml]\n      cmd: echo\n", {
        "v.yaml": "item: 1\n",
      }),
    ).toBe("failed to parse stage 's@1' in 'dvc.yaml': attempted to modify reserved key item in 'v.yaml'");
  });

  it("validates the file as written, before any interpolation", async () => {
    expect(await message("stages:\n  s:\n    cmd: x\n    foo: 1\n")).toBe(
      "'dvc.yaml' validation failed: extra keys not allowed, in stages -> s -> foo, line 3",
    );
    expect(await message("stages:\n  s:\n    outs: [x]\n")).toBe(
      "'dvc.yaml' validation failed: required key not provided, in stages -> s -> cmd, line 3",
    );
    expect(await message("stages:\n  s:\n    cmd: x\n    frozen: ${x}\n", { "params.yaml": "x: true\n" })).toBe(
      "'dvc.yaml' validation failed: expected bool, in stages -> s -> frozen, line 3",
    );
    expect(await message("stages:\n  s:\n    matrix: {a: [1]}\n    foreach: [1]\n    cmd: x\n")).toBe(
      "'dvc.yaml' validation failed: extra keys not allowed, in stages -> s -> matrix, line 3",
    );
    expect(await message("foo: 1\n")).toBe("'dvc.yaml' validation failed: extra keys not allowed, in foo");
    expect(await message("stages:\n  s:\n    cmd: [a: b\n")).toMatch(/^'dvc\.yaml' is invalid: /);
  });

  it("does not find a plain stage named with @ that no group generates", async () => {
    expect(await message("stages:\n  a@b:\n    cmd: echo\n")).toBe("Stage 'a@b' not found inside 'dvc.yaml' file");
  });
});
