import { describe, expect, it } from "vitest";
import { parseParamsFile, pythonJson } from "../src/formats/params-file.js";
import { type ParamValue, type PipelineFile, type PipelineStage, PyFloat } from "../src/formats/pipeline.js";
import { diffFlatParams, flattenParams, numericDiff, paramsSelection, selectedParams } from "../src/pipeline/params.js";

/** A file's values as `params diff` compares them. */
function flat(text: string, file = "params.yaml", keys: string[] | null = null) {
  return selectedParams(parseParamsFile(text, file), keys === null ? null : new Set(keys));
}

/** The changes as `dvc params diff --json` prints them (Python's json.dumps). */
function json(changes: Record<string, unknown>): string {
  return pythonJson(changes as ParamValue);
}

// P-10: one stage with params lr, train (params.yaml), cfg.json [seed, opt.name], cfg.toml (whole),
// conf.py [THRESH, Conf.size]; then edits in the workspace.
const P10 = {
  before: {
    "params.yaml": "lr: 0.01\ntrain:\n  batch: 32\n  layers: [1, 2]\n",
    "cfg.json": '{"seed": 42, "opt": {"name": "adam"}, "tags": ["x", "y"]}',
    "cfg.toml": "[model]\ndepth = 3\n",
    "conf.py": "THRESH = 0.5\n\nclass Conf:\n    size = 7\n",
  },
  after: {
    "params.yaml": "lr: 0.02\ntrain:\n  batch: 64\n  layers: [1, 2]\n  zeta: 1\n",
    "cfg.json": '{"seed": 43, "opt": {"name": "sgd"}, "tags": ["x", "y"]}',
    "cfg.toml": "new = 1\n[model]\ndepth = 4\n",
    "conf.py": "THRESH = 0.5\n\nclass Conf:\n    size = 8\n",
  },
  keys: {
    "params.yaml": ["lr", "train"],
    "cfg.json": ["seed", "opt.name"],
    "cfg.toml": null,
    "conf.py": ["THRESH", "Conf.size"],
  } as Record<string, string[] | null>,
};

function p10(side: "before" | "after", file: keyof typeof P10.before) {
  return flat(P10[side][file], file, P10.keys[file] ?? null);
}

describe("params diff (pipelines spec §7.4, P-10)", () => {
  it("reports P-10's changes, sorted by key, with diff for numbers only", () => {
    const changes = (file: keyof typeof P10.before) => diffFlatParams(p10("before", file), p10("after", file));
    expect(json(changes("params.yaml"))).toBe(
      '{"lr": {"old": 0.01, "new": 0.02, "diff": 0.01}, "train.batch": {"old": 32, "new": 64, "diff": 32}, ' +
        '"train.zeta": {"old": null, "new": 1}}',
    );
    expect(json(changes("conf.py"))).toBe('{"Conf.size": {"old": 7, "new": 8, "diff": 1}}');
    expect(json(changes("cfg.json"))).toBe(
      '{"opt.name": {"old": "adam", "new": "sgd"}, "seed": {"old": 42, "new": 43, "diff": 1}}',
    );
    expect(json(changes("cfg.toml"))).toBe(
      '{"model.depth": {"old": 3, "new": 4, "diff": 1}, "new": {"old": null, "new": 1}}',
    );
  });

  it("keeps unchanged keys with --all, lists as their Python text", () => {
    const all = diffFlatParams(p10("before", "params.yaml"), p10("after", "params.yaml"), true);
    expect(all["train.layers"]).toEqual({ old: "[1, 2]", new: "[1, 2]" });
    expect(Object.keys(all)).toEqual(["lr", "train.batch", "train.layers", "train.zeta"]);
  });

  it("compares lists as text and bools as numbers (§7.4)", () => {
    const changes = diffFlatParams(
      flat("train:\n  layers: [1, 2]\nflag: true\nnames: [x, y]\n"),
      flat("train:\n  layers: [1, 3]\nflag: false\nnames: [x, z]\n"),
    );
    expect(json(changes)).toBe(
      '{"flag": {"old": true, "new": false, "diff": -1}, "names": {"old": "[\'x\', \'y\']", "new": "[\'x\', \'z\']"}, ' +
        '"train.layers": {"old": "[1, 2]", "new": "[1, 3]"}}',
    );
  });

  it("gives the §7.4 example", () => {
    expect(json(diffFlatParams(flat("lr: 0.01\n"), flat("lr: 0.02\n")))).toBe(
      '{"lr": {"old": 0.01, "new": 0.02, "diff": 0.01}}',
    );
  });

  it("treats Python-equal values as unchanged, and null like a missing key", () => {
    expect(diffFlatParams(flat("a: 1\nb: true\nc: null\n"), flat("a: 1.0\nb: 1\n"))).toEqual({});
    expect(diffFlatParams(flat("c: null\n"), flat(""), true)).toEqual({ c: { old: null, new: null } });
  });

  it("subtracts as Python does: ints exactly, floats in float", () => {
    expect(numericDiff(1, new PyFloat(2.5))).toEqual(new PyFloat(1.5));
    expect(numericDiff(12345678901234567890n, 12345678901234567891n)).toBe(1);
    expect(numericDiff(0, 12345678901234567890n)).toBe(12345678901234567890n);
    expect(numericDiff("1", 2)).toBeUndefined();
  });

  it("flattens nested mappings, drops empty ones, and selects dotted keys", () => {
    const data = parseParamsFile("a: {b: {c: 1}, e: {}}\nl: [{k: 1}, q]\n", "params.yaml");
    expect([...flattenParams(data)]).toEqual([
      ["a.b.c", 1],
      ["l", "[{'k': 1}, 'q']"],
    ]);
    expect([...selectedParams(data, new Set(["a.b", "missing"]))]).toEqual([["a.b.c", 1]]);
  });
});

function stage(params: PipelineStage["params"]): PipelineStage {
  return {
    name: "s",
    file: "dvc.yaml",
    wdir: "",
    cmd: "echo",
    deps: [],
    params,
    outs: [],
    frozen: false,
    alwaysChanged: false,
  };
}

function pipeline(stages: PipelineStage[], extra: Partial<PipelineFile> = {}): PipelineFile {
  return {
    path: "dvc.yaml",
    stages,
    params: [],
    metrics: [],
    plots: [],
    artifacts: {},
    interpolatedParams: new Map(),
    ...extra,
  };
}

describe("which params are compared (§7.4)", () => {
  const file = pipeline(
    [
      stage([
        { path: "params.yaml", rel: "params.yaml", keys: ["lr"] },
        { path: "cfg.json", rel: "cfg.json", keys: ["seed"] },
      ]),
      stage([{ path: "cfg.json", rel: "cfg.json", keys: null }]),
    ],
    { params: ["top.yaml"], interpolatedParams: new Map([["other.yaml", new Set(["x", "z.a"])]]) },
  );

  it("takes stage params, interpolated keys, top-level files and the root params.yaml (whole beats keyed)", () => {
    expect(paramsSelection([file], { hasRootParams: true })).toEqual(
      new Map([
        ["params.yaml", null],
        ["cfg.json", null],
        ["other.yaml", new Set(["x", "z.a"])],
        ["top.yaml", null],
      ]),
    );
  });

  it("with --deps, only what stages depend on and what interpolation reads", () => {
    expect(paramsSelection([file], { depsOnly: true, hasRootParams: true })).toEqual(
      new Map<string, Set<string> | null>([
        ["params.yaml", new Set(["lr"])],
        ["cfg.json", null],
        ["other.yaml", new Set(["x", "z.a"])],
      ]),
    );
  });
});
