// biome-ignore-all lint/suspicious/noTemplateCurlyInString: dvc.yaml texts are full of literal ${...} templates
/**
 * `mlv stage add`, `freeze`, `unfreeze` and `remove` of stages (pipelines spec §1.9, §6), each run
 * beside the real DVC 3.64 in a twin repository holding the same files: the files both leave
 * (dvc.yaml, dvc.lock, every .gitignore, the workspace) must be the same bytes, and the errors
 * must say what DVC says.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { describe, expect, it } from "vitest";
import { type DvcResult, dvc, requireDvc } from "../../../test-fixtures/dvc-peer.js";
import { type Result, type Sandbox, sandbox } from "./helpers.js";

const DVC = requireDvc("stage add, freeze and remove compared with DVC's");

/** Every file of a repository outside `.git` and `.dvc`, path → content. */
function snapshot(root: string): Record<string, string> {
  const files: Record<string, string> = {};
  const visit = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const abs = join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== ".git" && e.name !== ".dvc") visit(abs);
      } else files[relative(root, abs).split(sep).join("/")] = readFileSync(abs, "utf8");
    }
  };
  visit(root);
  return files;
}

/** Two repositories with the same files: `ours` for mlv, `theirs` for DVC. */
interface Twins {
  ours: Sandbox;
  theirs: Sandbox;
}

function twins(files: Record<string, string> = {}): Twins {
  const ours = sandbox({ init: "dvc" });
  const theirs = sandbox({ init: "dvc" });
  ours.writeTree(files);
  theirs.writeTree(files);
  return { ours, theirs };
}

/** Run the same command with mlv and with DVC (in `cwd`, relative to each repository). */
function both(t: Twins, args: string[], cwd = "."): { mlv: Result; dvc: DvcResult } {
  return { mlv: t.ours.mlvWith({ cwd }, ...args), dvc: dvc(join(t.theirs.repo, cwd), ...args) };
}

/** Run it, expect both to succeed, and the two repositories to hold the same files. */
function same(t: Twins, args: string[], cwd = "."): { mlv: Result; dvc: DvcResult } {
  const r = both(t, args, cwd);
  expect(r.dvc.code, `dvc ${args.join(" ")}: ${r.dvc.stderr}`).toBe(0);
  expect(r.mlv.code, `mlv ${args.join(" ")}: ${r.mlv.stderr}`).toBe(0);
  expect(snapshot(t.ours.repo)).toEqual(snapshot(t.theirs.repo));
  return r;
}

/** The files of the `git add` hint (DVC lists them in no fixed order). */
function hinted(stdout: string): string[] {
  const line = stdout.split("\n").find((l) => l.startsWith("\tgit add "));
  return line ? line.slice("\tgit add ".length).split(" ").sort() : [];
}

/** An error's text with the repository's path made neutral, without `ERROR: `. */
function errorOf(stderr: string, repo: string): string {
  return stderr
    .replaceAll(repo, "<repo>")
    .replace(/^ERROR: /gm, "")
    .trim();
}

/** Both refuse, with the same message, and neither changes a file. */
function sameError(t: Twins, args: string[], cwd = "."): string {
  const before = snapshot(t.ours.repo);
  const r = both(t, args, cwd);
  expect(r.dvc.code, `dvc ${args.join(" ")}`).not.toBe(0);
  expect(r.mlv.code, `mlv ${args.join(" ")}`).not.toBe(0);
  const message = errorOf(r.dvc.stderr, t.theirs.repo);
  expect(errorOf(r.mlv.stderr, t.ours.repo)).toBe(message);
  expect(snapshot(t.ours.repo)).toEqual(before);
  return message;
}

describe.skipIf(!DVC)("mlv stage add writes what dvc stage add writes", () => {
  it("P-1: dvc.yaml (md5 c3149395...), .gitignore, the message and the hint", () => {
    const t = twins({ foo: "foo", "params.yaml": "lr: 0.001\nmodel:\n  depth: 3\n  act: relu\nseed: 7\n" });
    const r = same(t, ["stage", "add", "-n", "copy", "-d", "foo", "-p", "lr,model", "-o", "bar", "cp foo bar"]);
    expect(t.ours.read("dvc.yaml")).toBe(
      "stages:\n  copy:\n    cmd: cp foo bar\n    deps:\n    - foo\n    params:\n    - lr\n    - model\n    outs:\n    - bar\n",
    );
    expect(t.ours.read(".gitignore")).toBe("/bar\n");
    expect(r.mlv.stdout.split("\n")[0]).toBe("Added stage 'copy' in 'dvc.yaml'");
    expect(r.mlv.stdout.split("\n")[0]).toBe(r.dvc.stdout.split("\n")[0]);
    expect(hinted(r.mlv.stdout)).toEqual(hinted(r.dvc.stdout));
    expect(hinted(r.mlv.stdout)).toEqual([".gitignore", "dvc.yaml"]);
    expect(t.ours.exists("dvc.lock")).toBe(false);
  });

  it("§6.4: every kind of output, params of three files, -w, --always-changed, --desc, and a postponed .gitignore", () => {
    const t = twins({ "sub/keep": "" });
    const r = same(t, [
      "stage",
      "add",
      "-n",
      "s1",
      "-d",
      "z.py",
      "-d",
      "a.csv",
      "-o",
      "out/b",
      "-o",
      "out/a",
      "-O",
      "nc.txt",
      "-m",
      "m.json",
      "-M",
      "mnc.json",
      "--plots",
      "p.csv",
      "--plots-no-cache",
      "pnc.csv",
      "--outs-persist",
      "per.bin",
      "--outs-persist-no-cache",
      "pernc.bin",
      "-p",
      "lr",
      "-p",
      "p2.yaml:b,a",
      "-p",
      "p3.yaml:",
      "-w",
      "sub",
      "--always-changed",
      "--desc",
      "my desc",
      "python",
      "train.py",
      "--arg",
      "two words",
    ]);
    expect(t.ours.read("sub/.gitignore")).toBe("/per.bin\n/m.json\n/p.csv\n");
    expect(t.ours.read("dvc.yaml")).toContain('    cmd: python train.py --arg "two words"\n    wdir: sub\n');
    const postponed = (stderr: string, repo: string) => errorOf(stderr, repo).replace(/^WARNING: /, "");
    expect(postponed(r.mlv.stderr, t.ours.repo)).toBe(postponed(r.dvc.stderr, t.theirs.repo));
    expect(postponed(r.mlv.stderr, t.ours.repo)).toBe(
      "Could not create .gitignore entry in <repo>/sub/out/.gitignore. DVC will attempt to create .gitignore entry again when the stage is run.",
    );
    expect(hinted(r.mlv.stdout)).toEqual(hinted(r.dvc.stdout));
  });

  it(".gitignore entries in DVC's order (persist, metrics, plots, outs), none for uncached outputs; the first missing folder stops them", () => {
    const t = twins({ "d1/keep": "" });
    same(t, [
      "stage",
      "add",
      "-n",
      "s",
      "-o",
      "b",
      "-o",
      "a",
      "-m",
      "mb",
      "-m",
      "ma",
      "--plots",
      "pb",
      "--plots",
      "pa",
      "--outs-persist",
      "qb",
      "--outs-persist",
      "qa",
      "-O",
      "nc",
      "--outs-persist-no-cache",
      "pnc",
      "-M",
      "mnc",
      "--plots-no-cache",
      "plnc",
      "-o",
      "d1/x",
      "-o",
      "d2/y",
      "-o",
      "zz",
      "echo hi",
    ]);
    expect(t.ours.read(".gitignore")).toBe("/qb\n/qa\n/mb\n/ma\n/pb\n/pa\n/b\n/a\n");
    expect(t.ours.read("d1/.gitignore")).toBe("/x\n");
  });

  it("the command: several arguments joined and quoted as DVC does, options after it belong to it", () => {
    const t = twins();
    same(t, ["stage", "add", "-n", "b", "python", "t.py", "--a", '"b c"', "", "x y", 'q"r s', "-o", "zz"]);
    same(t, ["stage", "add", "-n", "c", 'python t.py --a "b c"']);
    same(t, ["stage", "add", "-n", "i", "echo", "'a b'", "tab\tx", "a'b c"]);
    expect(t.ours.read("dvc.yaml")).toContain('    cmd: python t.py --a "b c" "" "x y" q"r s -o zz\n');
    expect(t.ours.exists(".gitignore")).toBe(false);
  });

  it("a long command or path is folded past column 80 as ruamel folds it, in a new file and in a commented one", () => {
    const long = "python train.py --alpha 0.1 --beta 0.2 --gamma 0.3 --delta 0.4 --epsilon 0.5 --zeta 0.6 --eta 0.7";
    const path = `data/${"x".repeat(40)} ${"y".repeat(40)}.csv`;
    for (const start of [undefined, "# c\nstages:\n  a:\n    cmd: echo\n"]) {
      const t = twins(start === undefined ? {} : { "dvc.yaml": start });
      same(t, ["stage", "add", "-n", "s", "-d", path, "-O", `'${path}'`, long]);
      expect(t.ours.read("dvc.yaml")).toContain("--epsilon\n      0.5 --zeta");
    }
  });

  it("-w: paths relative to the working folder, .gitignore entries beside each output", () => {
    const t = twins({ "sub/keep": "" });
    same(t, ["stage", "add", "-n", "d", "-w", "sub/", "-o", "../top", "-o", "in", "-d", "../dep", "echo"]);
    same(t, ["stage", "add", "-n", "e", "-w", "./sub/../sub", "echo"]);
    same(t, ["stage", "add", "-n", "f", "-w", ".", "echo"]);
    expect(t.ours.read(".gitignore")).toBe("/top\n");
    expect(t.ours.read("sub/.gitignore")).toBe("/in\n");
  });

  it("in a subfolder: the stage goes into that folder's dvc.yaml", () => {
    const t = twins({ "sub/keep": "" });
    same(t, ["stage", "add", "-n", "s", "-d", "../a", "-o", "b", "echo"], "sub");
    expect(t.ours.exists("sub/dvc.yaml")).toBe(true);
    expect(t.ours.read("sub/.gitignore")).toBe("/b\n");
  });

  it("params: repeated flags accumulate per file; params.yaml keys first; paths kept as typed", () => {
    const t = twins();
    same(t, [
      "stage",
      "add",
      "-n",
      "t",
      "-p",
      "z.yaml:y",
      "-p",
      "a.yaml:x",
      "-p",
      "lr,b",
      "-p",
      "params.yaml:",
      "-p",
      "k",
      "-p",
      "w.yaml:",
      "-p",
      "w.yaml:q",
      "-p",
      "lr",
      "-p",
      "./p.yaml:k",
      "-d",
      "./a",
      "-d",
      "b/",
      "-o",
      "./sub/../x",
      "-o",
      "y/",
      "echo t",
    ]);
  });

  it("appends a second stage; keeps comments, flow style and quirks of a hand-written file as ruamel does", () => {
    const t = twins();
    same(t, ["stage", "add", "-n", "one", "-o", "o1", "echo 1"]);
    same(t, ["stage", "add", "-n", "two", "-d", "o1", "-o", "o2", "echo 2"]);
    const handWritten = [
      "# c1",
      "vars:",
      "  - x: 1",
      "stages:",
      "  x:   # xc",
      "    cmd: [echo a, 'echo b']",
      "    outs: [o]   # flow",
      "  build:",
      "    foreach: [a, b]",
      "    do:",
      "      cmd: echo ${item}",
      "",
    ].join("\n");
    const u = twins({ "dvc.yaml": handWritten });
    same(u, ["stage", "add", "-n", "s", "-d", "a b", "-p", "p.yaml:k", "-o", "null", "-O", "123", "echo hi"]);
    // A foreach group of that name is not a stage: it is replaced without --force, as in DVC.
    same(u, ["stage", "add", "-n", "build", "echo"]);
  });

  it("-f over a commented stage (§1.9): comments kept, old desc, meta and output annotations restored", () => {
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
    const t = twins({ "dvc.yaml": old });
    same(t, [
      "stage",
      "add",
      "-f",
      "-n",
      "s3",
      "--desc",
      "newdesc",
      "-d",
      "dep1",
      "-o",
      "y2",
      "-o",
      "y3",
      "python t2.py",
    ]);
    expect(t.ours.read("dvc.yaml")).toContain("    cmd: python t2.py  # cmd comment\n");
    const u = twins({
      "dvc.yaml":
        "stages:\n  a:\n    cmd: echo\n    outs:\n    - x:\n        cache: false\n        push: false\n        type: model\n    - y\n",
    });
    same(u, ["stage", "add", "-f", "-n", "a", "--desc", "new", "-o", "x", "-M", "y", "--plots", "z", "echo 2"]);
  });

  it("with core.autostage, stages dvc.yaml and the .gitignore and prints no hint", () => {
    const t = twins();
    for (const s of [t.ours, t.theirs]) s.write(".dvc/config", "[core]\n    autostage = true\n");
    const r = same(t, ["stage", "add", "-n", "a", "-o", "o1", "echo"]);
    expect(r.mlv.stdout).toBe("Added stage 'a' in 'dvc.yaml'\n");
    expect(t.ours.mustGit("status", "--porcelain", "dvc.yaml", ".gitignore").stdout).toBe(
      "A  .gitignore\nA  dvc.yaml\n",
    );
  });
});

describe.skipIf(!DVC)("mlv stage add refuses what dvc stage add refuses (§6.3), changing nothing", () => {
  it("name, command and working folder", () => {
    const t = twins({ f: "" });
    for (const name of ["a.b", "a/b", "a@b"])
      expect(sameError(t, ["stage", "add", "-n", name, "echo"])).toBe(
        "Stage name cannot contain punctuation characters.",
      );
    expect(sameError(t, ["stage", "add", "-n", "s"])).toBe("command is not specified");
    expect(sameError(t, ["stage", "add", "-n", "s", "-w", "nope", "echo"])).toBe(
      "stage working dir '<repo>/nope' does not exist",
    );
    expect(sameError(t, ["stage", "add", "-n", "s", "-w", "f", "echo"])).toBe(
      "stage working dir '<repo>/f' is not directory",
    );
    const outside = both(t, ["stage", "add", "-n", "s", "-w", "..", "echo"]);
    expect(outside.mlv.stderr).toContain("is outside of DVC repo");
    expect(outside.dvc.stderr).toContain("is outside of DVC repo");
  });

  it("a stage that exists, paths given twice or both read and written, DVC files as outputs or dependencies", () => {
    const t = twins();
    same(t, ["stage", "add", "-n", "s2", "-o", "y", "-o", "data", "echo"]);
    expect(sameError(t, ["stage", "add", "-n", "s2", "-o", "z", "echo"])).toBe(
      "Stage 's2' already exists in 'dvc.yaml'. Use '--force' to overwrite.",
    );
    expect(sameError(t, ["stage", "add", "-n", "s", "-d", "q", "-o", "q", "echo"])).toBe(
      "'<repo>/q' is specified as an output and as a dependency.",
    );
    expect(sameError(t, ["stage", "add", "-n", "s", "-p", "lr", "-o", "params.yaml", "echo"])).toBe(
      "'<repo>/params.yaml' is specified as an output and as a dependency.",
    );
    for (const twice of [
      ["-d", "a", "-d", "./a"],
      ["-o", "a", "-m", "a"],
      ["-d", "params.yaml", "-p", "lr"],
    ])
      expect(sameError(t, ["stage", "add", "-n", "s", ...twice, "echo"])).toBe(
        `file '<repo>/${twice[1] === "params.yaml" ? "params.yaml" : "a"}' is specified more than once.`,
      );
    expect(sameError(t, ["stage", "add", "-n", "s", "-o", "dvc.yaml", "echo"])).toBe(
      "DVC file 'dvc.yaml' cannot be an output.",
    );
    expect(sameError(t, ["stage", "add", "-n", "s", "-d", "x.dvc", "echo"])).toBe(
      "DVC file 'x.dvc' cannot be a dependency.",
    );
    expect(sameError(t, ["stage", "add", "-n", "s", "-o", ".dvc/x", "echo"])).toBe(
      "Path '<repo>/.dvc/x' is ignored by :.dvc/",
    );
    expect(sameError(t, ["stage", "add", "-n", "s", "-o", "/tmp/abs", "echo"])).toContain(
      "Cached output(s) outside of DVC project: /tmp/abs.",
    );
  });

  it("the project's graph with the new stage: an output owned elsewhere, outputs inside one another, cycles", () => {
    const t = twins({ "sub/keep": "", tracked: "t" });
    same(t, ["stage", "add", "-n", "s2", "-o", "y", "-o", "data", "echo"]);
    same(t, ["stage", "add", "-n", "c1", "-d", "q", "-o", "w", "echo"]);
    t.ours.must("add", "tracked");
    expect(dvc(t.theirs.repo, "add", "-q", "tracked").code).toBe(0);
    expect(sameError(t, ["stage", "add", "-n", "s9", "-o", "data", "-o", "y", "echo"])).toBe(
      "output 'data' is already specified in stage: 's2'.\nUse `dvc remove s2` to stop tracking the overlapping output.",
    );
    expect(sameError(t, ["stage", "add", "-n", "s9", "-o", "../y", "echo"], "sub")).toBe(
      "output '../y' is already specified in stage: '../dvc.yaml:s2'.\nUse `dvc remove ../dvc.yaml:s2` to stop tracking the overlapping output.",
    );
    expect(sameError(t, ["stage", "add", "-n", "s9", "-o", "tracked", "echo"])).toBe(
      "output 'tracked' is already specified in stage: 'tracked.dvc'.\nUse `dvc remove tracked.dvc` to stop tracking the overlapping output.",
    );
    expect(sameError(t, ["stage", "add", "-n", "s3", "-o", "data/sub", "echo"])).toBe(
      "The output paths:\n'data'('s2')\n'data/sub'('s3')\noverlap and are thus in the same tracked directory.\n" +
        "To keep reproducibility, outputs should be in separate tracked directories or tracked individually.",
    );
    // DVC names the stages of a cycle in no fixed order.
    const cycle = both(t, ["stage", "add", "-n", "c2", "-d", "w", "-o", "q", "echo"]);
    const stagesOf = (stderr: string) => {
      const m = /^ERROR: Same item\(s\) are defined as both a dependency and an output in stages: (.*)\.$/m.exec(
        stderr,
      );
      return m?.[1]?.split(", ").sort();
    };
    expect(stagesOf(cycle.dvc.stderr)).toEqual(["c1", "c2"]);
    expect(stagesOf(cycle.mlv.stderr)).toEqual(["c1", "c2"]);
    expect(cycle.mlv.code).not.toBe(0);
    expect(t.ours.read("dvc.yaml")).not.toContain("c2");
  });
});

/** A dvc.yaml holding every shape freeze must write back: DVC rewrites a stage whole, in its own order. */
const MESSY = [
  "vars:",
  "  - x: 1",
  "stages:",
  "  build:",
  "    foreach: [a, b]",
  "    do:",
  "      cmd: echo ${item}",
  "  interp:",
  "    cmd: echo ${x}",
  "  plain: {cmd: echo p, outs: [o1]}   # flow",
  "  other:",
  "    cmd: echo o   # c",
  "    deps: [d]",
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
  "    - a:",
  "        remote: r",
  "    deps: [zz, aa]",
  "    params:",
  "    - x.yaml: [k2, k1]",
  "    - lr",
  "    - x.yaml:",
  "    - params.yaml: [b]",
  "    plots:",
  "    - p:",
  "        y: acc",
  "        cache: false",
  "        x: step",
  "    always_changed: false",
  "",
].join("\n");

describe.skipIf(!DVC)("mlv freeze and unfreeze write what DVC writes", () => {
  it("stages of a hand-written dvc.yaml, one after another, from the root and from a subfolder", () => {
    const t = twins({ "dvc.yaml": MESSY, "sub/dvc.yaml": "stages:\n  a:\n    cmd: echo\n" });
    const r = same(t, ["freeze", "plain", "other", "m"]);
    expect(r.mlv.stdout).toBe(r.dvc.stdout);
    expect(r.mlv.stdout).toBe(
      "Modifying stage 'plain' in 'dvc.yaml'\nModifying stage 'other' in 'dvc.yaml'\nModifying stage 'm' in 'dvc.yaml'\n",
    );
    same(t, ["unfreeze", "plain", "m"]);
    same(t, ["freeze", "sub/dvc.yaml:a"]);
    expect(same(t, ["unfreeze", "a", "../dvc.yaml:other"], "sub").mlv.stdout).toBe(
      "Modifying stage 'a' in 'dvc.yaml'\nModifying stage 'other' in '../dvc.yaml'\n",
    );
  });

  it("comments stay with the line before them, as ruamel keeps them, whatever stage is edited or removed", () => {
    const commented = [
      "# head",
      "stages:",
      "  # prepare the data",
      "  prepare:",
      "    cmd: echo p",
      "    outs:",
      "    - x",
      "",
      "  # train the model",
      "  train:",
      "    cmd: echo t   # inline",
      "    deps:",
      "    - x",
      "    # after deps",
      "  last:",
      "    cmd: echo l",
      "# end",
      "",
    ].join("\n");
    for (const args of [
      ["freeze", "prepare"],
      ["freeze", "train"],
      ["remove", "prepare"],
      ["remove", "last"],
    ]) {
      const t = twins({ "dvc.yaml": commented });
      same(t, args);
    }
    const t = twins({ "dvc.yaml": commented });
    same(t, ["stage", "add", "-n", "new", "-d", "x", "echo n"]);
    same(t, ["stage", "add", "-f", "-n", "train", "-d", "x", "-d", "y", "echo t2"]);
    for (const text of [
      "# c1\nstages:\n  x:   # xc\n    cmd: echo x\n\n# end\n",
      "stages: {}\n",
      "# only a comment\n",
      "stages:\n  x: {cmd: echo x, outs: [o]}  # flow\n",
    ]) {
      const u = twins({ "dvc.yaml": text });
      same(u, ["stage", "add", "-n", "s", "-o", "o2", "echo s"]);
    }
  });

  it("a .dvc file gets frozen: true at its end, and loses it", () => {
    const t = twins({ foo: "foo" });
    t.ours.must("add", "foo");
    expect(dvc(t.theirs.repo, "add", "-q", "foo").code).toBe(0);
    same(t, ["freeze", "foo.dvc"]);
    expect(t.ours.read("foo.dvc")).toMatch(/\nfrozen: true\n$/);
    same(t, ["unfreeze", "foo.dvc"]);
  });

  it("refuses parametrized stages, unknown stages and a bare dvc.yaml, as DVC does", () => {
    const t = twins({ "dvc.yaml": MESSY });
    for (const [target, reason] of [
      ["interp", "cannot dump a parametrized stage: 'interp'"],
      ["build@a", "cannot dump a parametrized stage: 'build@a'"],
      ["nope", "Stage 'nope' not found inside 'dvc.yaml' file"],
      ["dvc.yaml", "Stage name not provided."],
    ] as const) {
      const before = snapshot(t.ours.repo);
      const r = both(t, ["freeze", target]);
      expect(r.dvc.code).not.toBe(0);
      expect(r.mlv.code).not.toBe(0);
      expect(r.dvc.stderr).toContain(reason);
      expect(r.mlv.stderr).toContain(reason);
      expect(snapshot(t.ours.repo)).toEqual(before);
    }
  });
});

/** Three stages run by DVC in both repositories: `a` → `b`, and `c` with an uncached output. */
function ranPipeline(): Twins {
  const t = twins({ foo: "foo" });
  for (const s of [t.ours, t.theirs]) {
    const run = (...args: string[]) => {
      const r = dvc(s.repo, ...args);
      if (r.code !== 0) throw new Error(`dvc ${args.join(" ")}: ${r.stderr}`);
    };
    run(
      "stage",
      "add",
      "-q",
      "-n",
      "a",
      "-d",
      "foo",
      "-o",
      "bar",
      "-o",
      "sub/x",
      "cp foo bar; mkdir -p sub; cp foo sub/x",
    );
    run("stage", "add", "-q", "-n", "b", "-d", "bar", "-o", "baz", "cp bar baz");
    run("stage", "add", "-q", "-n", "c", "-o", "nc", "-O", "ncc", "echo > nc; echo > ncc");
    run("repro", "-q");
    s.write("dvc.yaml", `${s.read("dvc.yaml")}# trailing\n`);
  }
  expect(snapshot(t.ours.repo)).toEqual(snapshot(t.theirs.repo));
  return t;
}

describe.skipIf(!DVC)("mlv remove of stages leaves what dvc remove leaves", () => {
  it("a stage: its dvc.yaml and dvc.lock entries and .gitignore entries go, its outputs stay", () => {
    const t = ranPipeline();
    const r = same(t, ["remove", "b"]);
    expect(r.mlv.stdout).toBe("");
    expect(t.ours.read("baz")).toBe("foo");
    expect(t.ours.read(".gitignore")).toBe("/bar\n/nc\n");
  });

  it("--outs deletes the outputs too; the last stage takes dvc.yaml, dvc.lock and the .gitignore with it", () => {
    const t = ranPipeline();
    same(t, ["remove", "--outs", "a"]);
    expect(t.ours.exists("bar")).toBe(false);
    expect(t.ours.exists("sub/.gitignore")).toBe(false);
    same(t, ["remove", "dvc.yaml"]);
    expect(existsSync(join(t.ours.repo, "dvc.yaml"))).toBe(false);
    expect(existsSync(join(t.ours.repo, "dvc.lock"))).toBe(false);
    expect(existsSync(join(t.ours.repo, ".gitignore"))).toBe(false);
  });

  it("a .dvc file and a stage together, and refusals worded as DVC's", () => {
    const t = ranPipeline();
    t.ours.write("data", "d");
    t.theirs.write("data", "d");
    t.ours.must("add", "data");
    expect(dvc(t.theirs.repo, "add", "-q", "data").code).toBe(0);
    same(t, ["remove", "data.dvc", "c"]);
    for (const [target, reason] of [
      ["nope", "Stage 'nope' not found inside 'dvc.yaml' file"],
      ["dvc.lock", "Did you mean: `dvc.yaml`?"],
    ] as const) {
      const r = both(t, ["remove", target]);
      expect(r.dvc.stderr).toContain(reason);
      expect(r.mlv.stderr).toContain(reason);
      expect(r.mlv.code).not.toBe(0);
    }
    const u = twins({ "dvc.yaml": MESSY });
    for (const target of ["interp", "build@a"]) {
      const r = both(u, ["remove", target]);
      expect(r.dvc.stderr).toContain(`cannot remove a parametrized stage: '${target}'`);
      expect(r.mlv.stderr).toContain(`cannot remove a parametrized stage: '${target}'`);
    }
    expect(snapshot(u.ours.repo)).toEqual(snapshot(u.theirs.repo));
  });
});
