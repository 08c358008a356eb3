/**
 * `mlv repro` and `mlv commit` against the real DVC (pipelines spec §3, §5, P-vectors): the same
 * project reproduced by each tool in the same folder (so absolute paths a command prints match)
 * must leave the same `dvc.lock` bytes, `.gitignore` files, cache objects and run-cache entries;
 * each tool must then call the other's result up to date; and the decisions (what runs, what is
 * skipped, what comes from the run cache, what fails) must be DVC's.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { dvc, mustDvc, requireDvc } from "../../../test-fixtures/dvc-peer.js";
import { type Sandbox, sandbox } from "./helpers.js";

const DVC = requireDvc("mlv repro compared with DVC's");

/** What a reproduction leaves that a user or git would notice. */
interface Outcome {
  lock: string;
  gitignores: Record<string, string>;
  cache: string[];
  outputs: Record<string, string>;
}

function outcome(s: Sandbox, outputs: readonly string[], lockDir = "."): Outcome {
  const gitignores: Record<string, string> = {};
  for (const f of s.files(".")) if (f.endsWith(".gitignore") && !f.startsWith(".dvc/")) gitignores[f] = s.read(f);
  const cache = s.exists(".dvc/cache") ? s.files(".dvc/cache").sort() : [];
  return {
    lock: s.exists(join(lockDir, "dvc.lock")) ? s.read(join(lockDir, "dvc.lock")) : "",
    gitignores,
    cache,
    outputs: Object.fromEntries(outputs.map((o) => [o, s.exists(o) ? s.read(o) : "<missing>"])),
  };
}

/** Commit the project as it is, so that `reset` can bring it back. */
function snapshot(s: Sandbox): void {
  s.mustGit("add", "-A");
  s.mustGit("commit", "-q", "-m", "project");
}

/** Back to the snapshot: outputs, locks, .gitignores and the cache gone. */
function reset(s: Sandbox): void {
  s.mustGit("checkout", "-q", "--", ".");
  s.mustGit("clean", "-q", "-f", "-d", "-x");
}

/** `dvc repro ARGS`, reset, `mlv repro ARGS`, in the same folder: both outcomes. */
function reproduceBoth(s: Sandbox, outputs: readonly string[], ...args: string[]): { dvc: Outcome; mlv: Outcome } {
  snapshot(s);
  const log = mustDvc(s.repo, "repro", ...args);
  const theirs = outcome(s, outputs);
  reset(s);
  const r = s.mlv("repro", ...args);
  expect(r.stderr).toBe(log.stderr);
  expect(r.code).toBe(0);
  return { dvc: theirs, mlv: outcome(s, outputs) };
}

/** Both tools' `status --json` agree; on P-8's pipeline, by default, only the callback `d` is always changed. */
function sameStatus(s: Sandbox, expected: unknown = { d: ["always changed"] }): void {
  const theirs = JSON.parse(mustDvc(s.repo, "status", "--json").stdout);
  expect(JSON.parse(s.mlv("status", "--json").stdout)).toEqual(theirs);
  if (expected !== null) expect(theirs).toEqual(expected);
}

function upToDate(s: Sandbox): void {
  expect(mustDvc(s.repo, "status", "--json").stdout.trim()).toBe("{}");
  expect(s.mlv("status", "--json").stdout.trim()).toBe("{}");
}

const P1_PARAMS = "lr: 0.001\nmodel:\n  depth: 3\n  act: relu\nseed: 7\n";
const P1_YAML =
  "stages:\n  copy:\n    cmd: cp foo bar\n    deps:\n    - foo\n    params:\n    - lr\n    - model\n    outs:\n    - bar\n";

/** P-8's pipeline: `a` makes a.txt, `b` reads it and foo, `c` reads b.txt, `d` is a callback. */
const P8_YAML = `stages:
  a:
    cmd: echo A > a.txt && echo 'echo x' > x.sh
    outs:
    - a.txt
    - x.sh
  b:
    cmd: cat a.txt foo > b.txt
    deps:
    - a.txt
    - foo
    outs:
    - b.txt
  c:
    cmd: cat b.txt b.txt > c.txt
    deps:
    - b.txt
    outs:
    - c.txt
  d:
    cmd: echo d
`;

function p8(): Sandbox {
  const s = sandbox({ init: "dvc" });
  s.writeTree({ foo: "foo", "dvc.yaml": P8_YAML });
  return s;
}

/** Log lines of a repro, without empty lines and git's hint. */
function steps(text: string): string[] {
  return text
    .split("\n")
    .filter((l) => l && !l.startsWith("\t") && !/^To (track|enable)/.test(l) && !/^Use `(dvc|mlv) push`/.test(l));
}

describe.skipIf(!DVC)("mlv repro against the real DVC", () => {
  it("P-1: the same dvc.lock bytes, .gitignore, cache object and run-cache entry; each tool calls the other's result clean", () => {
    const s = sandbox({ init: "dvc" });
    s.writeTree({ foo: "foo", "params.yaml": P1_PARAMS, "dvc.yaml": P1_YAML });
    const both = reproduceBoth(s, ["bar"]);
    expect(both.mlv).toEqual(both.dvc);
    expect(both.mlv.cache).toContain(
      "runs/be/befd5952e15687c643f3c756c95ff5e618a6884f2d79b71c8217bfd8ff7abe02/7b66e5d057e8222dcc4e062b61655092e49647c36377a23eb8e1fb51de04be36",
    );
    upToDate(s);
    const again = s.mlv("repro");
    expect(again.stdout).toBe("Stage 'copy' didn't change, skipping\nData and pipelines are up to date.\n");
  });

  it("P-3 and P-5: folder deps and outputs, exec bits, metrics outside the cache, plots, list and multi-line commands, wdir, odd paths", () => {
    const s = sandbox({ init: "dvc" });
    s.writeTree({
      "data/a.txt": "a",
      "data/sub/b.txt": "bb",
      "train.sh":
        "mkdir -p model\ncp data/a.txt model/w.bin\nprintf '#!/bin/sh\\n' > predict.sh\nchmod +x predict.sh\nprintf '{\"acc\": 0.9}' > metrics.json\nprintf 'x,y\\n1,2\\n' > plot.csv\n",
      "mk.sh": "echo > 123\necho null > null\nprintf 'o four\\n' > 'o 4'\n: > true\necho > 'x: y'\n",
      "sub/keep": "",
      "dvc.yaml": `stages:
  train:
    cmd: sh train.sh
    deps:
    - train.sh
    - data
    outs:
    - model
    - predict.sh
    metrics:
    - metrics.json:
        cache: false
    plots:
    - plot.csv:
        x: x
        y: y
  lst:
    cmd:
    - echo one > o1
    - echo two >> o1
    outs:
    - o1
  multi:
    cmd: |
      echo a > o2
      echo b >> o2
    outs:
    - o2
  env:
    cmd: echo "$DVC_STAGE $DVC_ROOT $PWD" > ../o3
    wdir: sub
    outs:
    - ../o3
  quoting:
    cmd: sh mk.sh
    outs:
    - o 4
    - "123"
    - "x: y"
    - "null"
    - "true"
`,
    });
    const both = reproduceBoth(s, ["model/w.bin", "predict.sh", "metrics.json", "o1", "o2", "o3", "o 4"]);
    expect(both.mlv).toEqual(both.dvc);
    expect(s.stat("predict.sh").mode & 0o111).not.toBe(0);
    upToDate(s);
  });

  it("runs only what changed, in DVC's order, with DVC's messages", () => {
    // Two copies of the project, each reproduced by DVC; then the same edit, reproduced by each tool.
    const [theirs, ours] = [p8(), p8()].map((s, i) => {
      mustDvc(s.repo, "repro");
      s.write("foo", "FOO");
      const r = i === 0 ? dvc(s.repo, "repro") : s.mlv("repro");
      expect(r.code).toBe(0);
      return { log: steps(r.stdout + r.stderr), lock: s.read("dvc.lock"), s };
    }) as [{ log: string[]; lock: string; s: Sandbox }, { log: string[]; lock: string; s: Sandbox }];
    expect(ours.lock).toBe(theirs.lock);
    expect(ours.log).toEqual(theirs.log);
    expect(ours.log).toEqual([
      "Stage 'a' didn't change, skipping",
      "Running stage 'b':",
      "> cat a.txt foo > b.txt",
      "Updating lock file 'dvc.lock'",
      "Running stage 'c':",
      "> cat b.txt b.txt > c.txt",
      "Updating lock file 'dvc.lock'",
      "Running stage 'd':",
      "> echo d",
      "d",
    ]);
    sameStatus(ours.s);
  });

  it("restores deleted outputs and earlier runs from the run cache, DVC's entries and mlv's alike", () => {
    const s = sandbox({ init: "dvc" });
    s.writeTree({
      foo: "foo",
      "params.yaml": P1_PARAMS,
      "dvc.yaml": P1_YAML.replace("cp foo bar", "cp foo bar && date >> log"),
    });
    mustDvc(s.repo, "repro");
    // An earlier run of DVC's, with lr 0.001; mlv runs with lr 0.002.
    s.write("params.yaml", P1_PARAMS.replace("0.001", "0.002"));
    expect(s.mlv("repro").stdout).toContain("Running stage 'copy':");
    const log = s.read("log");
    s.write("params.yaml", P1_PARAMS);
    const back = s.mlv("repro");
    expect(back.stdout).toContain("Stage 'copy' is cached - skipping run, checking out outputs");
    expect(s.read("log")).toBe(log);
    upToDate(s);
    // DVC takes mlv's entry (lr 0.002) from the run cache the same way.
    s.write("params.yaml", P1_PARAMS.replace("0.001", "0.002"));
    const theirs = mustDvc(s.repo, "repro");
    expect(theirs.stdout).toContain("Stage 'copy' is cached - skipping run, checking out outputs");
    // A deleted output of an unchanged stage comes back without a run.
    s.rm("bar");
    const restored = s.mlv("repro");
    expect(restored.stdout).toContain("is cached - skipping run");
    expect(s.read("bar")).toBe("foo");
    expect(s.read("log")).toBe(log);
  });

  it("a failing command stops with its exit code and the stage named, and records nothing for it", () => {
    const s = p8();
    s.write("dvc.yaml", P8_YAML.replace("cat a.txt foo > b.txt", "cat a.txt foo > b.txt && exit 3"));
    const ours = s.mlv("repro");
    expect(ours.code).not.toBe(0);
    expect(ours.stderr).toContain(
      "ERROR: failed to reproduce 'b': failed to run: cat a.txt foo > b.txt && exit 3, exited with 3",
    );
    expect(s.read("dvc.lock")).toContain("  a:\n");
    expect(s.read("dvc.lock")).not.toContain("  b:\n");
    const kept = s.mlv("repro", "-k");
    expect(kept.stderr).toContain("WARNING: Stage 'c' will be skipped due to this failure");
    expect(kept.stdout).toContain("Running stage 'd':");
    expect(kept.stderr).toContain("ERROR: failed to reproduce 'b'");
  });

  it("a frozen stage is verified, not run; targets, -s, --downstream and --dry plan as DVC plans", () => {
    const s = p8();
    mustDvc(s.repo, "repro");
    mustDvc(s.repo, "freeze", "b");
    s.rm("b.txt");
    for (const tool of ["dvc", "mlv"] as const) {
      const r = tool === "dvc" ? dvc(s.repo, "repro", "c") : s.mlv("repro", "c");
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("failed to reproduce 'b': missing data 'source': b.txt");
    }
    mustDvc(s.repo, "unfreeze", "b");
    mustDvc(s.repo, "repro");
    s.write("foo", "FOO");
    // DVC's --dry also prints "is cached" for b, from a lookup with the recorded hashes; mlv
    // prints what a real run would do.
    const dry = s.mlv("repro", "--dry", "c");
    expect(steps(dry.stdout)).toEqual([
      "Stage 'a' didn't change, skipping",
      "Running stage 'b':",
      "> cat a.txt foo > b.txt",
      "Stage 'c' didn't change, skipping",
    ]);
    expect(s.read("b.txt")).toBe("A\nfoo");
    const single = s.mlv("repro", "-s", "c");
    expect(steps(single.stdout)).toEqual(["Stage 'c' didn't change, skipping", "Data and pipelines are up to date."]);
    const down = s.mlv("repro", "--downstream", "b");
    expect(steps(down.stdout).filter((l) => l.startsWith("Running"))).toEqual([
      "Running stage 'b':",
      "Running stage 'c':",
    ]);
  });

  it("after DVC reproduces an edit mlv calls it clean, and after mlv reproduces one DVC does", () => {
    const s = p8();
    mustDvc(s.repo, "repro");
    s.write("foo", "edited by hand");
    expect(s.mlv("repro").code).toBe(0);
    sameStatus(s);
    s.write("dvc.yaml", P8_YAML.replace("cat b.txt b.txt > c.txt", "cat b.txt > c.txt"));
    mustDvc(s.repo, "repro");
    sameStatus(s);
    expect(s.mlv("repro").stdout).toContain("Stage 'c' didn't change, skipping");
  });

  it("a stage in a subfolder's dvc.yaml, addressed from the root and from the folder", () => {
    const s = p8();
    s.write(
      "sub/dvc.yaml",
      "stages:\n  child:\n    cmd: cat ../b.txt > c2.txt\n    deps:\n    - ../b.txt\n    outs:\n    - c2.txt\n",
    );
    snapshot(s);
    mustDvc(join(s.repo, "sub"), "repro");
    const theirs = outcome(s, ["sub/c2.txt"], "sub");
    reset(s);
    const r = s.mlvWith({ cwd: "sub" }, "repro");
    expect(r.code).toBe(0);
    expect(outcome(s, ["sub/c2.txt"], "sub")).toEqual(theirs);
    expect(s.mlv("repro", "sub/dvc.yaml:child").stdout).toContain("Stage 'sub/dvc.yaml:child' didn't change, skipping");
    // `c` was not reproduced (it is not upstream of the child): both tools say so.
    sameStatus(s, null);
  });
});

describe.skipIf(!DVC)("mlv commit against the real DVC", () => {
  it("puts what repro --no-commit left into the cache, and records hand edits only with --force", () => {
    const s = sandbox({ init: "dvc" });
    s.writeTree({ foo: "foo", "params.yaml": P1_PARAMS, "dvc.yaml": P1_YAML });
    expect(s.mlv("repro", "--no-commit").code).toBe(0);
    expect(s.exists(".dvc/cache/files/md5/ac/bd18db4cc2f85cedef654fccc4a4d8")).toBe(false);
    expect(mustDvc(s.repo, "status", "--json").stdout).toContain("not in cache");
    expect(s.mlv("commit").code).toBe(0);
    upToDate(s);

    s.write("bar", "edited");
    const refused = s.mlv("commit");
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("unable to commit changed stage: 'copy'. Use `-f|--force` to force.");
    snapshot(s);
    mustDvc(s.repo, "commit", "-f");
    const theirs = s.read("dvc.lock");
    s.mustGit("checkout", "-q", "--", "dvc.lock");
    expect(s.mlv("commit", "-f").code).toBe(0);
    expect(s.read("dvc.lock")).toBe(theirs);
    upToDate(s);
  });
});
