/**
 * `mlv params show/diff`, `mlv dag` and `mlv stage list` end to end (pipelines spec §5.2, §7.4,
 * P-9, P-10), and against the real DVC where it is installed.
 */
import { describe, expect, it } from "vitest";
import { dvc, mustDvc, requireDvc } from "../../../test-fixtures/dvc-peer.js";
import { type Sandbox, sandbox } from "./helpers.js";

/** P-10's project, committed: one stage with params from four files of four formats. */
const P10_DVC_YAML = `stages:
  train:
    cmd: echo train
    params:
      - lr
      - train
      - cfg.json:
          - seed
          - opt.name
      - cfg.toml:
      - conf.py:
          - THRESH
          - Conf.size
`;

function p10(s: Sandbox): void {
  s.dvcInit();
  s.writeTree({
    "dvc.yaml": P10_DVC_YAML,
    "params.yaml": "lr: 0.01\ntrain:\n  batch: 32\n  layers: [1, 2]\nflag: true\n",
    "cfg.json": '{"seed": 42, "opt": {"name": "adam"}, "tags": ["x", "y"]}\n',
    "cfg.toml": "[model]\ndepth = 3\n",
    "conf.py": "THRESH = 0.5\n\nclass Conf:\n    size = 7\n",
  });
  s.mustGit("add", "-A");
  s.mustGit("commit", "-qm", "P-10");
  s.writeTree({
    "params.yaml": "lr: 0.02\ntrain:\n  batch: 64\n  layers: [1, 2]\n  zeta: 1\nflag: true\n",
    "cfg.json": '{"seed": 43, "opt": {"name": "sgd"}, "tags": ["x", "y"]}\n',
    "cfg.toml": "new = 1\n[model]\ndepth = 4\n",
    "conf.py": "THRESH = 0.5\n\nclass Conf:\n    size = 8\n",
  });
}

/** A pipeline: `data.csv.dvc` → prepare → featurize → train, and an evaluate fan-in (a diamond). */
const CHAIN_DVC_YAML = `stages:
  prepare:
    cmd: cp data.csv prepared.csv
    deps: [data.csv]
    outs: [prepared.csv]
  featurize:
    cmd: cp prepared.csv features.csv
    deps: [prepared.csv]
    outs: [features.csv]
  train:
    cmd: cp features.csv model.pkl
    deps: [features.csv]
    outs: [model.pkl]
`;

const DATA_CSV_DVC = "outs:\n- md5: acbd18db4cc2f85cedef654fccc4a4d8\n  size: 3\n  hash: md5\n  path: data.csv\n";

const DIAMOND_DVC_YAML = `stages:
  a:
    cmd: echo
    outs: [a.txt]
  b:
    cmd: echo
    deps: [a.txt]
    outs: [b.txt]
  c:
    cmd: echo
    deps: [a.txt]
    outs: [c.txt]
  d:
    cmd: echo
    deps: [b.txt, c.txt]
    outs: [d.txt]
`;

function diamond(s: Sandbox): void {
  s.dvcInit();
  s.write("dvc.yaml", DIAMOND_DVC_YAML);
}

function chain(s: Sandbox): void {
  s.dvcInit();
  s.writeTree({ "data.csv": "foo", "data.csv.dvc": DATA_CSV_DVC, "dvc.yaml": CHAIN_DVC_YAML });
}

describe("mlv params diff (spec §7.4, P-10)", () => {
  it("prints P-10's table: files and keys sorted, '-' for a missing value", () => {
    const s = sandbox();
    p10(s);
    const r = s.mlv("params", "diff");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      "Path         Param        HEAD    workspace\n" +
        "cfg.json     opt.name     adam    sgd\n" +
        "cfg.json     seed         42      43\n" +
        "cfg.toml     model.depth  3       4\n" +
        "cfg.toml     new          -       1\n" +
        "conf.py      Conf.size    7       8\n" +
        "params.yaml  lr           0.01    0.02\n" +
        "params.yaml  train.batch  32      64\n" +
        "params.yaml  train.zeta   -       1\n",
    );
  });

  it("prints DVC's JSON, with --all, --deps, --no-path and --md", () => {
    const s = sandbox();
    p10(s);
    expect(JSON.parse(s.must("params", "diff", "--json").stdout)["params.yaml"]).toEqual({
      lr: { old: 0.01, new: 0.02, diff: 0.01 },
      "train.batch": { old: 32, new: 64, diff: 32 },
      "train.zeta": { old: null, new: 1 },
    });
    // `flag` is in the root params.yaml only, which --deps leaves out.
    expect(s.must("params", "diff", "--all", "--no-path", "--targets", "params.yaml").stdout).toBe(
      "Param         HEAD    workspace\n" +
        "flag          True    True\n" +
        "lr            0.01    0.02\n" +
        "train.batch   32      64\n" +
        "train.layers  [1, 2]  [1, 2]\n" +
        "train.zeta    -       1\n",
    );
    expect(s.must("params", "diff", "--all", "--deps", "--json").stdout).not.toContain('"flag"');
    expect(s.must("params", "diff", "--md", "--targets", "conf.py").stdout).toBe(
      "| Path    | Param     | HEAD   | workspace   |\n" +
        "|---------|-----------|--------|-------------|\n" +
        "| conf.py | Conf.size | 7      | 8           |\n\n",
    );
  });

  it("prints nothing without a change, but a markdown header; '{}' without commits", () => {
    const s = sandbox();
    s.dvcInit();
    s.write("params.yaml", "lr: 0.01\n");
    expect(s.must("params", "diff", "--json").stdout).toBe("{}\n");
    s.mustGit("add", "-A");
    s.mustGit("commit", "-qm", "params");
    expect(s.must("params", "diff").stdout).toBe("");
    expect(s.must("params", "diff", "--md").stdout).toBe(
      "| Path   | Param   | HEAD   | workspace   |\n|--------|---------|--------|-------------|\n\n",
    );
  });

  it("compares two revisions, paths shown from the current folder", () => {
    const s = sandbox();
    s.dvcInit();
    s.write("sub/dvc.yaml", "stages:\n  t:\n    cmd: echo\n    params:\n      - p.yaml:\n");
    s.write("sub/p.yaml", "q: 1\n");
    s.mustGit("add", "-A");
    s.mustGit("commit", "-qm", "one");
    s.write("sub/p.yaml", "q: 2\n");
    s.mustGit("commit", "-qam", "two");
    expect(s.mlvWith({ cwd: "sub" }, "params", "diff", "HEAD~1", "HEAD").stdout).toBe(
      "Path    Param    HEAD~1    HEAD\np.yaml  q        1         2\n",
    );
  });
});

describe("mlv params show", () => {
  it("prints the current values a row per file, as 'metrics show' does", () => {
    const s = sandbox();
    p10(s);
    expect(s.must("params", "show", "--targets", "cfg.json", "conf.py").stdout).toBe(
      "Path      Conf.size    THRESH    opt.name    seed    tags\n" +
        "cfg.json  -            -         sgd         43      ['x', 'y']\n" +
        "conf.py   8            0.5       -           -       -\n",
    );
    expect(JSON.parse(s.must("params", "show", "--json", "--deps").stdout)["cfg.json"]).toEqual({
      seed: 43,
      "opt.name": "sgd",
    });
  });
});

describe("mlv dag (spec §5.2)", () => {
  it("draws a chain as DVC does, and --dot, --mermaid, --md, --outs", () => {
    const s = sandbox();
    chain(s);
    expect(s.must("dag").stdout).toBe(
      [
        "+--------------+ ",
        "| data.csv.dvc | ",
        "+--------------+ ",
        "        *        ",
        "        *        ",
        "        *        ",
        "  +---------+    ",
        "  | prepare |    ",
        "  +---------+    ",
        "        *        ",
        "        *        ",
        "        *        ",
        "  +-----------+  ",
        "  | featurize |  ",
        "  +-----------+  ",
        "        *        ",
        "        *        ",
        "        *        ",
        "    +-------+    ",
        "    | train |    ",
        "    +-------+    ",
        "",
      ].join("\n"),
    );
    expect(s.must("dag", "--dot").stdout).toBe(
      'strict digraph  {\n"data.csv.dvc";\n"featurize";\n"prepare";\n"train";\n' +
        '"data.csv.dvc" -> "prepare";\n"featurize" -> "train";\n"prepare" -> "featurize";\n}\n\n',
    );
    const mermaid =
      'flowchart TD\n\tnode1["data.csv.dvc"]\n\tnode2["featurize"]\n\tnode3["prepare"]\n\tnode4["train"]\n' +
      "\tnode1-->node3\n\tnode2-->node4\n\tnode3-->node2";
    expect(s.must("dag", "--mermaid").stdout).toBe(`${mermaid}\n`);
    expect(s.must("dag", "--md").stdout).toBe(`\`\`\`mermaid\n${mermaid}\n\`\`\`\n`);
    expect(s.must("dag", "--outs", "--mermaid", "featurize").stdout).toBe(
      'flowchart TD\n\tnode1["data.csv"]\n\tnode2["features.csv"]\n\tnode3["prepared.csv"]\n' +
        "\tnode1-->node3\n\tnode3-->node2\n",
    );
  });

  it("draws a diamond as DVC does, and the pipeline of a target", () => {
    const s = sandbox();
    diamond(s);
    expect(s.must("dag").stdout).toBe(
      [
        "     +---+       ",
        "     | a |       ",
        "     +---+       ",
        "     *    *      ",
        "    *      *     ",
        "   *        *    ",
        "+---+     +---+  ",
        "| b |     | c |  ",
        "+---+     +---+  ",
        "     *    *      ",
        "      *  *       ",
        "       **        ",
        "     +---+       ",
        "     | d |       ",
        "     +---+       ",
        "",
      ].join("\n"),
    );
    expect(s.must("dag", "b").stdout).toBe(
      "+---+  \n| a |  \n+---+  \n  *    \n  *    \n  *    \n+---+  \n| b |  \n+---+  \n",
    );
    expect(s.must("dag", "--full", "--dot", "b").stdout).toContain('"c" -> "d";');
  });

  it("fails with DVC's messages on overlapping, duplicated and cyclic outputs (P-9)", () => {
    const s = sandbox();
    s.dvcInit();
    const stages = (defs: string) => s.write("dvc.yaml", `stages:\n${defs}`);
    stages("  a:\n    cmd: echo\n    outs: [data]\n  b:\n    cmd: echo\n    outs: [data/sub]\n");
    expect(s.mlv("dag")).toMatchObject({
      code: 1,
      stdout: "",
      stderr:
        "ERROR: The output paths:\n'data'('a')\n'data/sub'('b')\noverlap and are thus in the same tracked directory.\n" +
        "To keep reproducibility, outputs should be in separate tracked directories or tracked individually.\n",
    });
    stages("  a:\n    cmd: echo\n    outs: [x]\n  b:\n    cmd: echo\n    outs: [x]\n");
    expect(s.mlv("dag").stderr).toBe(
      "ERROR: output 'x' is specified in:\n\t- a\n\t- b\n" +
        "Use `dvc remove` with any of the above targets to stop tracking the overlapping output.\n",
    );
    stages("  a:\n    cmd: echo\n    deps: [y]\n    outs: [x]\n  b:\n    cmd: echo\n    deps: [x]\n    outs: [y]\n");
    expect(s.mlv("dag").stderr).toBe(
      "ERROR: Same item(s) are defined as both a dependency and an output in stages: a, b.\n",
    );
  });
});

describe("mlv stage list", () => {
  it("lists the stages here, or of the project, with DVC's one-line descriptions", () => {
    const s = sandbox();
    s.dvcInit();
    s.writeTree({
      "data.csv": "foo",
      "data.csv.dvc": DATA_CSV_DVC,
      "dvc.yaml":
        "stages:\n  multi:\n    cmd: echo\n    outs: [o1, o2]\n    metrics: [m.json]\n    plots: [p.csv]\n" +
        "  deps:\n    cmd: echo\n    deps: [x]\n    params: [lr]\n" +
        '  described:\n    cmd: echo\n    desc: "\\n  First line.  \\nSecond line."\n    outs: [z]\n' +
        "  callback:\n    cmd: echo\n" +
        `  build:\n    foreach: [us, uk]\n    do:\n      cmd: echo \${item}\n      outs:\n        - out_\${item}.txt\n`,
      "sub/dvc.yaml": "stages:\n  t:\n    cmd: echo\n    outs: [t.txt]\n",
    });
    expect(s.must("stage", "list").stdout).toBe(
      "multi      Outputs o1, o2; Reports m.json, p.csv\n" +
        "deps       Depends on x, params.yaml\n" +
        "described  First line.\n" +
        "callback   No outputs or dependencies\n" +
        "build@us   Outputs out_us.txt\n" +
        "build@uk   Outputs out_uk.txt\n",
    );
    expect(s.must("stage", "list", "build", "--name-only").stdout).toBe("build@us\nbuild@uk\n");
    expect(s.mlvWith({ cwd: "sub" }, "stage", "list", "--all", "--names-only").stdout).toBe(
      "../data.csv.dvc\n../dvc.yaml:multi\n../dvc.yaml:deps\n../dvc.yaml:described\n../dvc.yaml:callback\n" +
        "../dvc.yaml:build@us\n../dvc.yaml:build@uk\nt\n",
    );
    expect(s.must("stage", "list", "-R", "sub").stdout).toBe("sub/dvc.yaml:t  Outputs t.txt\n");
  });

  it("fails without a dvc.yaml here", () => {
    const s = sandbox();
    s.dvcInit();
    const r = s.mlv("stage", "list");
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`ERROR: '${s.path("dvc.yaml")}' does not exist\n`);
  });
});

const DVC = requireDvc("params diff and dag against DVC");

describe.skipIf(!DVC)("against the real DVC", () => {
  it("params diff --json gives DVC's changes (P-10, --all, --deps, between revisions)", () => {
    const s = sandbox();
    p10(s);
    for (const args of [[], ["--all"], ["--deps"], ["--targets", "cfg.json", "params.yaml"]]) {
      const ours = JSON.parse(s.must("params", "diff", "--json", ...args).stdout);
      expect(ours, args.join(" ")).toEqual(JSON.parse(mustDvc(s.repo, "params", "diff", "--json", ...args).stdout));
    }
    s.mustGit("commit", "-qam", "edits");
    const ours = JSON.parse(s.must("params", "diff", "HEAD~1", "HEAD", "--json").stdout);
    expect(ours).toEqual(JSON.parse(mustDvc(s.repo, "params", "diff", "HEAD~1", "HEAD", "--json").stdout));
  });

  it("dag --dot has DVC's nodes and edges, and the chain and diamond are drawn identically", () => {
    const lines = (text: string) => text.split("\n").sort();
    for (const setup of [chain, diamond]) {
      const s = sandbox();
      setup(s);
      // DVC orders dot lines as a Python set does: compare them as sets.
      expect(lines(s.must("dag", "--dot").stdout)).toEqual(lines(mustDvc(s.repo, "dag", "--dot").stdout));
      for (const args of [[], ["--outs"], ["--mermaid"], ["--outs", "--md"]])
        expect(s.must("dag", ...args).stdout, args.join(" ")).toBe(dvc(s.repo, "dag", ...args).stdout);
    }
  });
});
