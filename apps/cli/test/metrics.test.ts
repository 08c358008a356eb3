import { describe, expect, it } from "vitest";
import { type Sandbox, sandbox } from "./helpers.js";

/** metrics.json committed three times, tagged v1.0 and v2.0, then changed in the workspace. */
function trained(s: Sandbox) {
  const runs = [
    { accuracy: 0.81234567, loss: 0.5, train: { epochs: 10, optimizer: "sgd", early_stop: false } },
    { accuracy: 0.9, loss: 0.25, train: { epochs: 20, optimizer: "adam", early_stop: true } },
  ];
  for (const [i, run] of runs.entries()) {
    s.write("metrics.json", JSON.stringify(run, null, 2));
    s.mustGit("add", "-A");
    s.mustGit("commit", "-q", "-m", `run ${i + 1}`);
    s.mustGit("tag", `v${i + 1}.0`);
  }
  s.write("metrics.json", JSON.stringify({ accuracy: 0.95, loss: 0.2, train: { epochs: 20, optimizer: "adam" } }));
}

describe("metrics show", () => {
  it("prints the workspace's metrics.json as DVC does: dotted keys, sorted, floats rounded", () => {
    const s = sandbox({ init: "dvc" });
    s.write(
      "metrics.json",
      '{"loss": 0.123456789, "train": {"acc": 0.5, "epochs": 3, "done": true, "name": "run-1", "hist": [1, 2]}}',
    );
    const r = s.must("metrics", "show");
    expect(r.stdout).toBe(
      "Path          loss     train.acc    train.done    train.epochs    train.name\n" +
        "metrics.json  0.12346  0.5          True          3               run-1\n",
    );
    expect(s.must("metrics", "show", "--precision", "2").stdout).toContain("metrics.json  0.12 ");
  });

  it("reads revisions from git without a checkout: --rev, -T; --json and --md", () => {
    const s = sandbox({ init: "dvc" });
    trained(s);
    const head = s.mustGit("rev-parse", "HEAD").stdout;
    const r = s.must("metrics", "show", "-T");
    expect(r.stdout).toBe(
      [
        "Revision    Path          accuracy    loss    train.early_stop    train.epochs    train.optimizer",
        "workspace   metrics.json  0.95        0.2     -                   20              adam",
        "v1.0        metrics.json  0.81235     0.5     False               10              sgd",
        "v2.0        metrics.json  0.9         0.25    True                20              adam",
        "",
      ].join("\n"),
    );
    expect(s.mustGit("rev-parse", "HEAD").stdout).toBe(head);
    expect(s.mustGit("status", "--porcelain").stdout).toBe(" M metrics.json\n");

    const json = JSON.parse(s.must("metrics", "show", "--rev", "v1.0", "--json").stdout);
    expect(json).toEqual({
      workspace: {
        data: { "metrics.json": { data: { accuracy: 0.95, loss: 0.2, train: { epochs: 20, optimizer: "adam" } } } },
      },
      "v1.0": {
        data: {
          "metrics.json": {
            data: { accuracy: 0.81234567, loss: 0.5, train: { epochs: 10, optimizer: "sgd", early_stop: false } },
          },
        },
      },
    });

    expect(s.must("metrics", "show", "--md", "--rev", "HEAD~1").stdout).toBe(
      [
        "| Revision   | Path         | accuracy   | loss   | train.early_stop   | train.epochs   | train.optimizer   |",
        "|------------|--------------|------------|--------|--------------------|----------------|-------------------|",
        "| workspace  | metrics.json | 0.95       | 0.2    | -                  | 20             | adam              |",
        "| HEAD~1     | metrics.json | 0.81235    | 0.5    | False              | 10             | sgd               |",
        "",
        "",
      ].join("\n"),
    );
  });

  it("finds the files dvc.yaml lists, reads YAML, and takes files on the command line", () => {
    const s = sandbox({ init: "dvc" });
    s.write("dvc.yaml", "metrics:\n  - eval/scores.yaml\n");
    s.write("eval/scores.yaml", "auc: 0.75\nper_class:\n  cat: 0.5\n  dog: 1.0\n");
    s.write("metrics.json", '{"ignored": 1}');
    expect(s.must("metrics", "show").stdout).toBe(
      "Path              auc    per_class.cat    per_class.dog\n" + "eval/scores.yaml  0.75   0.5              1\n",
    );
    // From a subfolder, paths are shown relative to it.
    const r = s.mlvWith({ cwd: "eval" }, "metrics", "show", "scores.yaml", "../metrics.json");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      "Path             auc    ignored    per_class.cat    per_class.dog\n" +
        "scores.yaml      0.75   -          0.5              1\n" +
        "../metrics.json  -      1          -                -\n",
    );
  });

  it("fails clearly when there is no metrics file, or the named one is missing or outside", () => {
    const s = sandbox({ init: "dvc" });
    const none = s.mlv("metrics", "show");
    expect(none.code).toBe(1);
    expect(none.stderr).toContain("no metrics files in the workspace");
    const missing = s.mlv("metrics", "show", "nope.json");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("'nope.json' exists in none of the workspace");
    expect(s.mlv("metrics", "show", "../x.json").code).toBe(2);
  });

  it("warns about a file it cannot parse, and reports it in --json as DVC does", () => {
    const s = sandbox({ init: "dvc" });
    s.write("metrics.json", "{not: [valid");
    s.write("metrics.yaml", "auc: 0.5\n");
    const r = s.must("metrics", "show");
    expect(r.stdout).toBe("Path          auc\nmetrics.yaml  0.5\n");
    expect(r.stderr).toContain("WARNING: failed to load metrics from 'metrics.json'");
    const json = JSON.parse(s.must("metrics", "show", "--json").stdout);
    expect(json.workspace.data["metrics.json"].error.type).toBe("EFORMAT");
  });
});

describe("metrics diff", () => {
  it("compares HEAD with the workspace by default, showing only what changed", () => {
    const s = sandbox({ init: "dvc" });
    trained(s);
    expect(s.must("metrics", "diff").stdout).toBe(
      [
        "Path          Metric            HEAD    workspace    Change",
        "metrics.json  accuracy          0.9     0.95         0.05",
        "metrics.json  loss              0.25    0.2          -0.05",
        "metrics.json  train.early_stop  True    -            -",
        "",
      ].join("\n"),
    );
  });

  it("compares two revisions; --all keeps unchanged metrics; --json and --md", () => {
    const s = sandbox({ init: "dvc" });
    trained(s);
    const json = JSON.parse(s.must("metrics", "diff", "v1.0", "v2.0", "--json").stdout);
    expect(json["metrics.json"]["train.epochs"]).toEqual({ old: 10, new: 20, diff: 10 });
    expect(json["metrics.json"]["train.optimizer"]).toEqual({ old: "sgd", new: "adam" });
    expect(json["metrics.json"].loss.old).toBe(0.5);
    expect(json["metrics.json"].loss.diff).toBeCloseTo(-0.25);

    const all = s.must("metrics", "diff", "v2.0", "HEAD", "--all").stdout;
    expect(all).toMatch(/metrics\.json {2}train\.epochs +20 +20 +0\n/);
    expect(s.must("metrics", "diff", "v2.0", "HEAD").stdout).toBe("");

    expect(s.must("metrics", "diff", "v1.0", "--md", "--targets", "metrics.json").stdout).toBe(
      [
        "| Path         | Metric           | v1.0    | workspace   | Change   |",
        "|--------------|------------------|---------|-------------|----------|",
        "| metrics.json | accuracy         | 0.81235 | 0.95        | 0.13765  |",
        "| metrics.json | loss             | 0.5     | 0.2         | -0.3     |",
        "| metrics.json | train.early_stop | False   | -           | -        |",
        "| metrics.json | train.epochs     | 10      | 20          | 10       |",
        "| metrics.json | train.optimizer  | sgd     | adam        | -        |",
        "",
        "",
      ].join("\n"),
    );
  });

  it("names an unknown revision", () => {
    const s = sandbox({ init: "dvc" });
    trained(s);
    const r = s.mlv("metrics", "diff", "v9");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("unknown revision 'v9'");
  });
});
