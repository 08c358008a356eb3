/**
 * `mlv repro` and `mlv commit` in the corners of pipelines spec §5, each compared with the real
 * DVC: two identical repositories (a twin), DVC run in one and mlv in the other at the same time,
 * then the files each left (dvc.lock bytes, .dvc files, .gitignore files, outputs), the cache
 * (objects and run-cache entries), the log and the exit status compared. Where mlv deliberately
 * does something else than DVC, the test shows both behaviours.
 */
import { execFile } from "node:child_process";
import { cpSync, existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { MlvError, type Remote, type RemoteConfig } from "@mlv/core";
import { Project, type ReproEvent, repro } from "@mlv/core/internal";
import local from "@mlv/remote-local";
import { describe, expect, it, type TestContext } from "vitest";
import { dvcEnv, requireDvc } from "../../../test-fixtures/dvc-peer.js";
import { BIN, type Result, Sandbox } from "./helpers.js";

const DVC = requireDvc("mlv repro edge cases compared with DVC's");

type Cleanup = Pick<TestContext, "onTestFinished">;

function exec(cmd: string, args: string[], cwd: string, env: Record<string, string>): Promise<Result> {
  return new Promise((resolve) => {
    const child = execFile(
      cmd,
      args,
      { cwd, env, encoding: "utf8", timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    child.stdin?.end();
  });
}

function dvcIn(s: Sandbox, ...args: string[]): Promise<Result> {
  return exec(DVC as string, args, s.repo, dvcEnv(s.repo));
}

async function mustDvcIn(s: Sandbox, ...args: string[]): Promise<Result> {
  const r = await dvcIn(s, ...args);
  if (r.code !== 0) throw new Error(`dvc ${args.join(" ")} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r;
}

function mlvIn(s: Sandbox, ...args: string[]): Promise<Result> {
  return exec(process.execPath, [BIN, ...args], s.repo, s.env);
}

/** A sandbox removed when the test finishes (concurrent tests need the test's own hook). */
function box(ctx: Cleanup, options: ConstructorParameters<typeof Sandbox>[0]): Sandbox {
  const s = new Sandbox(options);
  ctx.onTestFinished(() => rmSync(s.dir, { recursive: true, force: true }));
  return s;
}

/** Two repositories with the same content: DVC works in one, mlv in the other. */
interface Twin {
  dvc: Sandbox;
  mlv: Sandbox;
}

/** A copy of `s`'s repository (git, cache and all, DVC's own temporary folder left out). */
function copyOf(ctx: Cleanup, s: Sandbox): Sandbox {
  const copy = box(ctx, { git: false });
  const skip = join(s.repo, ".dvc", "tmp");
  cpSync(s.repo, copy.repo, { recursive: true, filter: (src) => src !== skip });
  return copy;
}

/** A twin from files (a fresh DVC repository each), optionally brought to a state by DVC in one, then copied. */
async function twin(ctx: Cleanup, tree: Record<string, string>, ...setup: string[][]): Promise<Twin> {
  const dvc = box(ctx, { init: "dvc" });
  dvc.writeTree(tree);
  for (const args of setup) await mustDvcIn(dvc, ...args);
  if (setup.length > 0) return { dvc, mlv: copyOf(ctx, dvc) };
  const mlv = box(ctx, { init: "dvc" });
  mlv.writeTree(tree);
  return { dvc, mlv };
}

/** `dvc ARGS` in the DVC copy and `mlv ARGS` in mlv's, at the same time. */
async function both(t: Twin, ...args: string[]): Promise<{ dvc: Result; mlv: Result }> {
  const [dvc, mlv] = await Promise.all([dvcIn(t.dvc, ...args), mlvIn(t.mlv, ...args)]);
  return { dvc, mlv };
}

/** The same edit in both copies. */
function edit(t: Twin, fn: (s: Sandbox) => void): void {
  fn(t.dvc);
  fn(t.mlv);
}

const HINT =
  /\nTo track the changes with git, run:\n\n\tgit add ([^\n]*)\n\nTo enable auto staging, run:\n\n\t(?:dvc|mlv) config core\.autostage true\n/;

/**
 * What a user reads on stdout, each tool's name taken out of its push hint; the files the git hint
 * lists, as a set (DVC lists them in no fixed order).
 */
function log(r: Result): { text: string; gitAdd: string[] } {
  const hint = HINT.exec(r.stdout);
  const text = r.stdout.replace(HINT, "").replace(/`(dvc|mlv) push`/g, "`push`");
  return { text, gitAdd: hint ? (hint[1] as string).split(" ").sort() : [] };
}

/** Same stdout (blank lines included), same git hint, both succeeded or both failed. */
function sameLog(r: { dvc: Result; mlv: Result }): void {
  expect(log(r.mlv)).toEqual(log(r.dvc));
  expect(r.mlv.code === 0).toBe(r.dvc.code === 0);
}

/** Lines of stdout and stderr as a sorted list: for selections DVC walks in no fixed order. */
function lineSet(r: Result): string[] {
  return log(r)
    .text.concat(r.stderr)
    .split("\n")
    .filter((l) => l !== "")
    .sort();
}

function walk(root: string, skip: (rel: string) => boolean): string[] {
  const found: string[] = [];
  const visit = (abs: string) => {
    for (const e of readdirSync(abs, { withFileTypes: true })) {
      const child = join(abs, e.name);
      const rel = relative(root, child).split(sep).join("/");
      if (skip(rel)) continue;
      if (e.isDirectory()) visit(child);
      else found.push(rel);
    }
  };
  if (existsSync(root)) visit(root);
  return found.sort();
}

/** Every workspace file with its content (dvc.lock, .dvc and .gitignore files, outputs), and the cache's file list. */
function state(s: Sandbox): { files: Record<string, string>; cache: string[] } {
  const files: Record<string, string> = {};
  for (const rel of walk(s.repo, (r) => r === ".git" || r === ".dvc/tmp" || r === ".dvc/cache"))
    files[rel] = readFileSync(join(s.repo, rel), "utf8");
  return { files, cache: walk(s.path(".dvc/cache"), () => false) };
}

function sameState(t: Twin): void {
  expect(state(t.mlv)).toEqual(state(t.dvc));
}

/**
 * Each test runs both tools dozens of times, concurrently with the file's other tests: on a busy
 * two-core machine one can take minutes.
 */
const HEAVY = { timeout: 240_000 };

describe.skipIf(!DVC).concurrent("mlv repro --pull against the real DVC", HEAVY, () => {
  const PIPELINE = `stages:
  gen:
    cmd: cat in.txt > out.txt && echo n=\${n} >> out.txt && echo gen >> ../side
    deps:
    - in.txt
    params:
    - n
    outs:
    - out.txt
  use:
    cmd: cat out.txt out.txt > final.txt && echo use >> ../side
    deps:
    - out.txt
    outs:
    - final.txt
  np:
    cmd: cat in.txt in.txt in.txt > np.txt && echo np >> ../side
    deps:
    - in.txt
    outs:
    - np.txt:
        push: false
`;
  const EXTRA = `stages:
  nc:
    cmd: cat ../in.txt ../in.txt ../in.txt ../in.txt > nc.txt && echo nc >> ../../side
    deps:
    - ../in.txt
    outs:
    - nc.txt:
        cache: false
`;

  /**
   * A project reproduced by DVC with `n: 2` then `n: 1`, both runs pushed with their run-cache
   * entries to a local remote, and committed with `n: 1`; `np.txt` (push: false) stays home.
   */
  async function origin(ctx: Cleanup): Promise<Sandbox> {
    const o = box(ctx, { init: "dvc" });
    o.writeTree({
      "in.txt": "hello\n",
      "params.yaml": "n: 2\n",
      "dvc.yaml": PIPELINE,
      "extra/dvc.yaml": EXTRA,
      // A `cache: false` output is not git-ignored by DVC; it must not be committed either.
      "extra/.gitignore": "/nc.txt\n",
    });
    o.useRemote();
    await mustDvcIn(o, "add", "-q", "in.txt");
    await mustDvcIn(o, "repro", "-q", "-P");
    await mustDvcIn(o, "push", "-q", "--run-cache");
    o.write("params.yaml", "n: 1\n");
    await mustDvcIn(o, "repro", "-q", "-P");
    await mustDvcIn(o, "push", "-q", "--run-cache");
    o.mustGit("add", "-A");
    o.mustGit("commit", "-q", "-m", "reproduced by DVC");
    return o;
  }

  /** Two fresh clones of the origin (no cache, no outputs), ready for `edit`. */
  function clones(ctx: Cleanup, o: Sandbox): Twin {
    const make = () => {
      const s = box(ctx, { git: false });
      s.mustGit("clone", "-q", o.repo, ".");
      return s;
    };
    return { dvc: make(), mlv: make() };
  }

  /** What the commands appended to, outside the repository: empty when nothing ran. */
  function side(s: Sandbox): string {
    const file = join(s.dir, "side");
    return existsSync(file) ? readFileSync(file, "utf8") : "";
  }

  it("restores a fresh clone from the remote without running what can be pulled, as DVC does", async (ctx) => {
    const o = await origin(ctx);

    // A fresh clone: every output comes from the remote except np.txt (never pushed): np runs.
    const fresh = clones(ctx, o);
    const pulled = await both(fresh, "repro", "--pull");
    sameLog(pulled);
    expect(log(pulled.mlv).text).toBe(
      "Pulling data for stage: 'in.txt.dvc'\nPulling data for stage: 'gen'\nPulling data for stage: 'use'\n" +
        "Pulling data for stage: 'np'\nUnable to pull data for stage: 'np'\nRunning stage 'np':\n" +
        "> cat in.txt in.txt in.txt > np.txt && echo np >> ../side\nUse `push` to send your updates to remote storage.\n",
    );
    expect(side(fresh.mlv)).toBe("np\n");
    expect(side(fresh.dvc)).toBe("np\n");
    sameState(fresh);
    expect(fresh.mlv.read("final.txt")).toBe("hello\nn=1\nhello\nn=1\n");

    // Params set back to a value the origin ran: the pulled run cache restores both stages.
    const earlier = clones(ctx, o);
    edit(earlier, (s) => s.write("params.yaml", "n: 2\n"));
    const cached = await both(earlier, "repro", "--pull", "use");
    sameLog(cached);
    expect(log(cached.mlv).text).toContain("Stage 'gen' is cached - skipping run, checking out outputs\n");
    expect(log(cached.mlv).text).toContain("Stage 'use' is cached - skipping run, checking out outputs\n");
    expect(side(earlier.mlv)).toBe("");
    sameState(earlier);
    expect(state(earlier.mlv).cache.filter((f) => f.startsWith("runs/"))).toHaveLength(5);
  });

  it("pulls a missing dependency before running, and warns when the run cache cannot be had", async (ctx) => {
    const o = await origin(ctx);

    // `use` changed and run alone: its dependency out.txt is pulled first, then it runs.
    const single = clones(ctx, o);
    edit(single, (s) => s.write("dvc.yaml", PIPELINE.replace("cat out.txt out.txt >", "cat out.txt >")));
    const ran = await both(single, "repro", "--pull", "-s", "use");
    sameLog(ran);
    expect(log(ran.mlv).text).toMatch(/^Running stage 'use':\n/);
    expect(side(single.mlv)).toBe("use\n");
    sameState(single);

    // No remote: the run cache and the data cannot be pulled; the data source then fails as in DVC.
    const offline = clones(ctx, o);
    edit(offline, (s) => s.write(".dvc/config", ""));
    const failed = await both(offline, "repro", "--pull");
    sameLog(failed);
    expect(log(failed.mlv).text).toBe(
      "Pulling data for stage: 'in.txt.dvc'\nUnable to pull data for stage: 'in.txt.dvc'\nVerifying data sources in stage: 'in.txt.dvc'\n",
    );
    for (const r of [failed.dvc, failed.mlv]) {
      expect(r.stderr).toMatch(/^WARNING: Failed to pull run cache: /);
      expect(r.stderr).toContain("ERROR: failed to reproduce 'in.txt.dvc': missing data 'source': in.txt\n");
    }
  });

  it("where DVC leaves data missing or refuses, mlv reproduces (deliberate differences)", async (ctx) => {
    const o = await origin(ctx);

    // A `cache: false` output cannot come from a remote. DVC says it pulls it and leaves it
    // missing; mlv says it could not, and runs the stage.
    const uncached = clones(ctx, o);
    const nc = await both(uncached, "repro", "--pull", "extra/dvc.yaml");
    expect(log(nc.dvc).text).toContain("Pulling data for stage: 'extra/dvc.yaml:nc'\n");
    expect(uncached.dvc.exists("extra/nc.txt")).toBe(false);
    expect(log(nc.mlv).text).toContain(
      "Pulling data for stage: 'extra/dvc.yaml:nc'\nUnable to pull data for stage: 'extra/dvc.yaml:nc'\nRunning stage 'extra/dvc.yaml:nc':\n",
    );
    expect(uncached.mlv.read("extra/nc.txt")).toBe("hello\n".repeat(4));
    expect(uncached.mlv.read("extra/dvc.lock")).toBe(o.read("extra/dvc.lock"));

    // A data source edited in the clone: DVC's pull refuses to overwrite it and the repro fails;
    // mlv keeps the edit, records it, and reproduces what depends on it.
    const edited = clones(ctx, o);
    edit(edited, (s) => s.write("in.txt", "edited\n"));
    const source = await both(edited, "repro", "--pull", "use");
    expect(source.dvc.code).not.toBe(0);
    expect(source.dvc.stderr).toContain("Can't remove the following unsaved files without confirmation.");
    expect(source.mlv.code).toBe(0);
    expect(log(source.mlv).text).toMatch(
      /^Pulling data for stage: 'in.txt.dvc'\nUnable to pull data for stage: 'in.txt.dvc'\nVerifying data sources in stage: 'in.txt.dvc'\n\nRunning stage 'gen':\n/,
    );
    expect(edited.mlv.read("final.txt")).toBe("edited\nn=1\nedited\nn=1\n");
    expect((await dvcIn(edited.mlv, "status", "use", "--json")).stdout.trim()).toBe("{}");
  });
});

describe.concurrent("mlv repro --pull from a remote that cannot list (a plain HTTP server's case)", HEAVY, () => {
  /** The local adapter for `nolist://PATH`, whose listing fails as a plain web server's does. */
  const nolist = {
    ...local,
    name: "nolist",
    schemes: ["nolist"],
    async create(config: RemoteConfig): Promise<Remote> {
      const inner = await local.create({ ...config, url: config.url.slice("nolist://".length) });
      return new Proxy(inner, {
        get(target, prop) {
          if (prop === "list")
            // biome-ignore lint/correctness/useYield: a listing that fails before its first key
            return async function* () {
              throw new MlvError("EUNSUPPORTED", "this storage cannot list its files");
            };
          const value = Reflect.get(target, prop, target);
          return typeof value === "function" ? value.bind(target) : value;
        },
      });
    },
  };

  it("warns that the run cache cannot be had, and still pulls the outputs", async (ctx) => {
    const s = box(ctx, { init: "dvc" });
    s.writeTree({
      "in.txt": "hello\n",
      "dvc.yaml":
        "stages:\n  gen:\n    cmd: cat in.txt in.txt > out.txt\n    deps:\n    - in.txt\n    outs:\n    - out.txt\n",
    });
    s.useRemote();
    for (const args of [["repro"], ["push", "--run-cache"]]) expect((await mlvIn(s, ...args)).code).toBe(0);
    s.rm("out.txt");
    s.rm(".dvc/cache");
    s.write(".dvc/config", `[core]\n    remote = web\n['remote "web"']\n    url = nolist://${s.remote}\n`);

    const events: ReproEvent[] = [];
    const result = await repro(await Project.open(s.repo), {
      pull: true,
      adapters: { builtins: { nolist: async () => nolist } },
      onEvent: (e) => events.push(e),
    });
    expect(events.find((e) => e.type === "run-cache-unavailable")).toMatchObject({
      reason: expect.stringContaining("cannot list its files"),
    });
    expect(events.filter((e) => e.type === "pulling").map((e) => e.stage)).toEqual(["gen"]);
    expect(result).toMatchObject({ reproduced: [], pulled: ["gen"] });
    expect(s.read("out.txt")).toBe("hello\nhello\n");
  });
});

describe.skipIf(!DVC).concurrent("mlv repro against the real DVC: targets, data sources, params", HEAVY, () => {
  const ROOT = `stages:
  train-a:
    cmd: echo a > a.txt
    outs:
    - a.txt
  train-b:
    cmd: echo b > b.txt
    outs:
    - b.txt
  test:
    cmd: cat a.txt > t.txt
    deps:
    - a.txt
    outs:
    - t.txt
  build:
    foreach: [x, y]
    do:
      cmd: echo \${item} > \${item}.out
      outs:
      - \${item}.out
`;
  const SUB = `stages:
  s1:
    cmd: cat ../b.txt data.txt > s1.txt
    deps:
    - ../b.txt
    - data.txt
    outs:
    - s1.txt
`;
  const DEEP = "stages:\n  d1:\n    cmd: echo d > d1.txt\n    outs:\n    - d1.txt\n";

  it("-R and --glob select the stages DVC selects; an edited .dvc data source is verified, rewritten, and its consumer run", async (ctx) => {
    const t = await twin(
      ctx,
      { "dvc.yaml": ROOT, "sub/dvc.yaml": SUB, "sub/deep/dvc.yaml": DEEP, "sub/data.txt": "data\n" },
      ["add", "-q", "sub/data.txt"],
      ["repro", "-q", "-P"],
    );
    // DVC walks selections in no fixed order: the same lines, in any order.
    for (const args of [
      ["--glob", "train-*"],
      ["--glob", "build"],
      ["--glob", "build@*"],
      ["--glob", "sub/dvc.yaml:s?"],
      ["--glob", "t[!r]*"],
      ["-R", "sub"],
      ["-R", "."],
      ["-R", "dvc.yaml"],
    ]) {
      const r = await both(t, "repro", ...args);
      expect(lineSet(r.mlv), args.join(" ")).toEqual(lineSet(r.dvc));
      expect(r.mlv.code).toBe(0);
    }

    edit(t, (s) => s.write("sub/data.txt", "edited\n"));
    const source = await both(t, "repro", "sub/dvc.yaml:s1");
    // DVC takes the two independent upstream nodes (train-b, the .dvc file) in set order.
    expect(lineSet(source.mlv)).toEqual(lineSet(source.dvc));
    expect(log(source.mlv).gitAdd).toEqual(log(source.dvc).gitAdd);
    expect(log(source.mlv).text).toBe(
      "Stage 'train-b' didn't change, skipping\nVerifying data sources in stage: 'sub/data.txt.dvc'\n\n" +
        "Running stage 'sub/dvc.yaml:s1':\n> cat ../b.txt data.txt > s1.txt\nUpdating lock file 'sub/dvc.lock'\n" +
        "Use `push` to send your updates to remote storage.\n",
    );
    expect(log(source.mlv).gitAdd).toEqual(["sub/data.txt.dvc", "sub/dvc.lock"]);
    sameState(t);
    const again = await both(t, "repro", "-R", "sub");
    expect(lineSet(again.mlv)).toEqual(lineSet(again.dvc));

    // A folder or pattern that selects nothing: DVC reproduces every pipeline of the project;
    // mlv says so and does nothing.
    t.mlv.write("empty/readme", "");
    for (const args of [
      ["-R", "empty"],
      ["--glob", "trian-*"],
    ]) {
      const r = await mlvIn(t.mlv, "repro", ...args);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/no (stage of 'dvc\.yaml' matches 'trian-\*'|dvc\.yaml stage and no \.dvc file below)/);
    }
  });

  it("params: missing keys and files, a whole params file, wdir, and look-alike values (1, 1.0, true) as DVC records and compares them", async (ctx) => {
    const p4 =
      'f1: 1e-5\nf2: 0.00001\nf3: 1.0\nf4: 100000000000000000000\nf5: .inf\nf6: 3.14159265358979\nf7: 1.5e+20\ni1: 0x1f\ni2: 0o17\ns1: "123"\ns2: "x: y"\ns3: yes\ns4: ~\ns6: "multi\\nline"\ns7: ünï\ns8: ""\nb1: True\nl1: []\nd1: {}\nd2: {z: 1, a: 2}\n';
    const t = await twin(ctx, {
      "params.yaml": "a: 1\nb: 1.0\nc: true\nnested:\n  z: 1\n  y: [1, 2.0, false]\n",
      "sub/params.yaml": "k: 5\nf: 2.50\n",
      "p4.yaml": p4,
      "p.json":
        '{"j1": 1e-5, "j2": 1.0, "j3": 10000000000000000000000, "j4": null, "j5": "é", "j6": [1, {"b": 2, "a": 1}]}',
      "cfg.toml": 'x = 1\n[t]\ny = "s"\n',
      "dvc.yaml": `stages:
  p:
    cmd: echo p > p.txt
    params:
    - a
    - b
    - c
    - nested
    outs:
    - p.txt
  whole:
    cmd: echo w > w.txt
    params:
    - p4.yaml:
    - p.json:
    - cfg.toml:
    - params.yaml:
    outs:
    - w.txt
  wd:
    cmd: echo k > k.txt
    wdir: sub
    params:
    - k
    - f
    outs:
    - k.txt
  miss:
    cmd: echo m > m.txt
    params:
    - a
    - nokey
    - other.yaml:
    outs:
    - m.txt
`,
    });
    const first = await both(t, "repro", "-P");
    sameLog(first);
    expect(first.mlv.stderr).toBe(first.dvc.stderr);
    expect(first.mlv.stderr).toBe(
      "ERROR: failed to reproduce 'miss': Parameters 'nokey' are missing from 'params.yaml'.\n",
    );
    expect(t.mlv.read("dvc.lock")).toBe(t.dvc.read("dvc.lock"));

    // Values that Python calls equal leave the stages up to date; a missing whole file is named.
    edit(t, (s) => {
      s.write("params.yaml", "a: 1.0\nb: 1\nc: 1\nnested:\n  z: 1.0\n  y: [true, 2, 0]\n");
      s.write("sub/params.yaml", "k: 5.0\nf: 2.5\n");
      s.write("dvc.yaml", s.read("dvc.yaml").replace("    - nokey\n", ""));
    });
    const missingFile = await both(t, "repro", "miss");
    expect(missingFile.mlv.code).not.toBe(0);
    expect(missingFile.mlv.stderr).toMatch(
      /^ERROR: failed to reproduce 'miss': dependency 'other.yaml' does not exist/,
    );
    expect(missingFile.dvc.stderr).toMatch(
      /^ERROR: failed to reproduce 'miss': dependency 'other.yaml' does not exist/,
    );
    edit(t, (s) => s.write("other.yaml", "o: 1\n"));
    const second = await both(t, "repro", "-P");
    sameLog(second);
    expect(log(second.mlv).text).toMatch(
      /^Stage 'p' didn't change, skipping\nStage 'whole' didn't change, skipping\nStage 'wd' didn't change, skipping\nRunning stage 'miss':/,
    );
    expect(t.mlv.read("dvc.lock")).toBe(t.dvc.read("dvc.lock"));

    // A key missing from a stage's own params file (wdir) is named with that file's path.
    edit(t, (s) => s.write("dvc.yaml", s.read("dvc.yaml").replace("    - f\n", "    - f\n    - zz\n")));
    const wdir = await both(t, "repro", "wd");
    expect(wdir.mlv.stderr).toBe(wdir.dvc.stderr);
    expect(wdir.mlv.stderr).toBe(
      "ERROR: failed to reproduce 'wd': Parameters 'zz' are missing from 'sub/params.yaml'.\n",
    );
  });

  it("foreach and matrix stages (P-6) reproduce to the same dvc.lock, the folded command of 'one' included", async (ctx) => {
    const t = await twin(ctx, {
      "params.yaml":
        "models:\n  us:\n    thresh: 10\n    file: us.csv\n  uk:\n    thresh: 20\n    file: uk.csv\nseeds: [1, 2]\n" +
        'opts:\n  epochs: 3\n  verbose: true\n  name: "a b"\n  tags: [x, y]\n  off: false\nlr: 0.1\n',
      "vars2.yaml": "extra: 5\n",
      "dvc.yaml": `vars:
- vars2.yaml
- local: 7
  dirs: [d1, d2]
stages:
  build:
    foreach: \${models}
    do:
      cmd: echo \${key} \${item.thresh} \${item.file} > out_\${key}.txt
      params:
      - models.\${key}.thresh
      outs:
      - out_\${key}.txt
  listdict:
    foreach: [{n: 1}, {n: 2}]
    do:
      cmd: echo \${item.n}
  mx:
    matrix:
      seed: \${seeds}
      opt: [adam, sgd]
      cfg: [{a: 1}, {a: 2}]
    cmd: echo \${item.seed} \${item.opt} \${item.cfg.a} \${key} > mx_\${key}.txt
    outs:
    - mx_\${key}.txt
  one:
    cmd: echo python t.py \${opts} --lr \${lr} --local \${local} --extra \${extra} \\\${notinterp} \${dirs[1]} > one.txt
    params:
    - lr
    - opts
    outs:
    - one.txt
`,
    });
    const first = await both(t, "repro");
    sameLog(first);
    sameState(t);
    expect(t.mlv.read("dvc.lock")).toContain(
      "  one:\n    cmd: echo python t.py --epochs 3 --verbose --name 'a b' --tags x y --lr 0.1 --local\n" +
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the escaped \${notinterp} of dvc.yaml, as the lock keeps it
        "      7 --extra 5 ${notinterp} d2 > one.txt\n",
    );
    expect(t.mlv.read("mx_2-sgd-cfg1.txt")).toBe("2 sgd 2 2-sgd-cfg1\n");

    edit(t, (s) => s.write("params.yaml", s.read("params.yaml").replace("thresh: 20", "thresh: 21")));
    const second = await both(t, "repro");
    sameLog(second);
    expect(log(second.mlv).text).toContain("Running stage 'build@uk':\n");
    expect(log(second.mlv).text).toContain("Stage 'build@us' didn't change, skipping\n");
    sameState(t);
  });
});

describe.skipIf(!DVC).concurrent("mlv repro against the real DVC: output flags and failures", HEAVY, () => {
  it("always_changed, persist, cache: false outs and metrics, push: false: same runs, lock, cache and run cache", async (ctx) => {
    const t = await twin(ctx, {
      "in.txt": "in\n",
      "m.sh": '#!/bin/sh\necho "{\\"m\\": $1}"\n',
      "dvc.yaml": `stages:
  always:
    cmd: cat in.txt > al.txt
    deps:
    - in.txt
    outs:
    - al.txt
    always_changed: true
  pers:
    cmd: cat in.txt >> log.txt
    deps:
    - in.txt
    outs:
    - log.txt:
        persist: true
  nocache:
    cmd: cat in.txt > nc.txt && sh m.sh 1 > m.json && echo x > plot.csv
    deps:
    - in.txt
    outs:
    - nc.txt:
        cache: false
    metrics:
    - m.json:
        cache: false
    plots:
    - plot.csv:
        cache: false
  metonly:
    cmd: cat in.txt > mo.txt && sh m.sh 2 > m2.json
    deps:
    - in.txt
    outs:
    - mo.txt
    metrics:
    - m2.json:
        cache: false
  nopush:
    cmd: cat in.txt in.txt > np.txt
    deps:
    - in.txt
    outs:
    - np.txt:
        push: false
`,
    });
    const first = await both(t, "repro");
    sameLog(first);
    sameState(t);
    // No run is kept for the persistent stage nor for one with a plain uncached output.
    expect(state(t.mlv).cache.filter((f) => f.startsWith("runs/"))).toHaveLength(2);

    edit(t, (s) => s.write("in.txt", "in2\n"));
    sameLog(await both(t, "repro"));
    sameState(t);
    expect(t.mlv.read("log.txt")).toBe("in\nin2\n");

    edit(t, (s) => {
      for (const f of ["al.txt", "log.txt", "nc.txt", "m.json", "plot.csv", "mo.txt", "m2.json", "np.txt"]) s.rm(f);
    });
    const restored = await both(t, "repro");
    sameLog(restored);
    expect(log(restored.mlv).text).toContain("Stage 'metonly' is cached - skipping run, checking out outputs\n");
    sameState(t);
  });

  it("-k with two independent failures, --ignore-errors, --force and --force-downstream", async (ctx) => {
    const failing = await twin(ctx, {
      foo: "foo\n",
      "dvc.yaml": `stages:
  a:
    cmd: cat foo > a.txt
    deps:
    - foo
    outs:
    - a.txt
  b:
    cmd: cat a.txt > b.txt && exit 3
    deps:
    - a.txt
    outs:
    - b.txt
  c:
    cmd: cat b.txt > c.txt
    deps:
    - b.txt
    outs:
    - c.txt
  x:
    cmd: echo x > x.txt && false
    outs:
    - x.txt
  y:
    cmd: cat x.txt > y.txt
    deps:
    - x.txt
    outs:
    - y.txt
  z:
    cmd: echo z > z.txt
    outs:
    - z.txt
`,
    });
    const kept = await both(failing, "repro", "-k");
    sameLog(kept);
    expect(kept.mlv.stderr).toBe(kept.dvc.stderr);
    expect(kept.mlv.stderr).toContain("WARNING: Stage 'y' will be skipped due to this failure\n");
    expect(kept.mlv.stderr).toContain("ERROR: failed to reproduce stages: 'b' and 'x'\n");
    expect(failing.mlv.read("dvc.lock")).toBe(failing.dvc.read("dvc.lock"));
    // DVC leaves a.txt and z.txt out of .gitignore when the repro fails; mlv writes them at once.
    expect(failing.mlv.read(".gitignore")).toBe("/a.txt\n/z.txt\n");
    expect(failing.dvc.exists(".gitignore")).toBe(false);

    const ignored = await both(failing, "repro", "--ignore-errors");
    sameLog(ignored);
    expect(ignored.mlv.stderr).toBe(ignored.dvc.stderr);
    expect(ignored.mlv.stderr).toBe(
      "WARNING: failed to run: cat a.txt > b.txt && exit 3, exited with 3 (ignored)\nWARNING: failed to run: echo x > x.txt && false, exited with 1 (ignored)\n",
    );
    expect(failing.mlv.read("dvc.lock")).toBe(failing.dvc.read("dvc.lock"));

    const chain = await twin(ctx, {
      foo: "foo\n",
      "params.yaml": "p: 1\n",
      "dvc.yaml": `stages:
  a:
    cmd: cat foo > a.txt && echo a >> side
    deps:
    - foo
    params:
    - p
    outs:
    - a.txt
  b:
    cmd: cat a.txt > b.txt && echo b >> side
    deps:
    - a.txt
    outs:
    - b.txt
  c:
    cmd: cat b.txt > c.txt && echo c >> side
    deps:
    - b.txt
    outs:
    - c.txt
`,
    });
    sameLog(await both(chain, "repro"));
    const forced = await both(chain, "repro", "-f", "b");
    sameLog(forced);
    expect(log(forced.mlv).text).not.toContain("Running stage 'c'");
    // `a` runs (params changed) but writes the same a.txt: only --force-downstream runs b and c.
    edit(chain, (s) => s.write("params.yaml", "p: 2\n"));
    const downstream = await both(chain, "repro", "--force-downstream");
    sameLog(downstream);
    expect(log(downstream.mlv).text).toContain("Running stage 'c':\n");
    sameLog(await both(chain, "repro", "-f"));
    sameState(chain);
    expect(chain.mlv.read("side")).toBe("a\nb\nc\na\nb\na\nb\nc\na\nb\nc\n");
  });
});

describe.skipIf(!DVC).concurrent("mlv repro --allow-missing against the real DVC", HEAVY, () => {
  it("a deleted dependency counts only when the stage producing it now records other data", async (ctx) => {
    const files = {
      "params.yaml": "p: 1\n",
      "dvc.yaml": `stages:
  A:
    cmd: echo \${p} > a.txt
    params:
    - p
    outs:
    - a.txt
  B:
    cmd: cat a.txt > b.txt
    deps:
    - a.txt
    outs:
    - b.txt
`,
    };
    const t = await twin(ctx, files, ["repro", "-q"]);
    edit(t, (s) => s.rm("a.txt"));
    const same = await both(t, "repro", "--allow-missing");
    sameLog(same);
    expect(log(same.mlv).text).toBe(
      "Stage 'A' didn't change, skipping\nStage 'B' didn't change, skipping\nData and pipelines are up to date.\n",
    );

    // A reproduced alone with p: 2: B's recorded a.txt is no longer A's.
    edit(t, (s) => s.write("params.yaml", "p: 2\n"));
    const [, alone] = await Promise.all([
      mustDvcIn(t.dvc, "repro", "-q", "-s", "A"),
      mlvIn(t.mlv, "repro", "-q", "-s", "A"),
    ]);
    expect(alone.code).toBe(0);
    edit(t, (s) => s.rm("a.txt"));
    const changed = await both(t, "repro", "--allow-missing");
    sameLog(changed);
    expect(changed.mlv.code).not.toBe(0);
    for (const r of [changed.dvc, changed.mlv]) expect(r.stderr).toMatch(/^ERROR: failed to reproduce 'B': /);
  });
});

describe.skipIf(!DVC).concurrent("mlv repro and commit against the real DVC: the cache and the lock", HEAVY, () => {
  it("--no-commit, then status and commit as DVC; a folder output edited by hand, restored by repro and recorded by commit -f", async (ctx) => {
    const t = await twin(ctx, {
      foo: "foo\n",
      "data/one": "1\n",
      "dvc.yaml": `stages:
  a:
    cmd: mkdir -p outdir/sub && cp -r data/. outdir/ && echo two > outdir/sub/two && cat foo > a.txt
    deps:
    - foo
    - data
    outs:
    - a.txt
    - outdir
  b:
    cmd: cat a.txt a.txt > b.txt
    deps:
    - a.txt
    outs:
    - b.txt
`,
    });
    sameLog(await both(t, "repro", "--no-commit"));
    sameState(t);
    expect(state(t.mlv).cache).toEqual([]);
    const [theirs, ours, theirsOfOurs] = await Promise.all([
      dvcIn(t.dvc, "status", "--json"),
      mlvIn(t.mlv, "status", "--json"),
      dvcIn(t.mlv, "status", "--json"),
    ]);
    expect(JSON.parse(ours.stdout)).toEqual(JSON.parse(theirs.stdout));
    expect(JSON.parse(theirsOfOurs.stdout)).toEqual(JSON.parse(theirs.stdout));
    expect(JSON.parse(ours.stdout)).toEqual({
      a: [{ "changed outs": { "a.txt": "not in cache", outdir: "not in cache" } }],
      b: [{ "changed outs": { "b.txt": "not in cache" } }],
    });
    // A plain commit keeps no run in the run cache, as in DVC.
    sameLog(await both(t, "commit"));
    sameState(t);
    expect(state(t.mlv).cache.some((f) => f.startsWith("runs/"))).toBe(false);

    const handEdit = (s: Sandbox) => {
      s.write("outdir/extra", "extra\n");
      s.rm("outdir/sub/two");
      s.write("outdir/one", "changed\n");
    };
    edit(t, handEdit);
    const status = await both(t, "status", "--json");
    expect(JSON.parse(status.mlv.stdout)).toEqual(JSON.parse(status.dvc.stdout));
    const restored = await both(t, "repro");
    sameLog(restored);
    expect(log(restored.mlv).text).toContain("Stage 'a' is cached - skipping run, checking out outputs\n");
    sameState(t);

    edit(t, handEdit);
    const refused = await both(t, "commit");
    expect(refused.mlv.code).not.toBe(0);
    expect(refused.dvc.code).not.toBe(0);
    expect(refused.mlv.stderr).toBe(refused.dvc.stderr);
    const forced = await both(t, "commit", "-f");
    expect(forced.mlv.code).toBe(0);
    expect(forced.mlv.stdout).toContain(forced.dvc.stdout);
    sameState(t);
    const clean = await both(t, "status", "--json");
    expect(clean.mlv.stdout.trim()).toBe("{}");
    expect(clean.dvc.stdout.trim()).toBe("{}");
  });

  it("a 2.x lock entry (no hash key) is kept as written while unchanged and rewritten when it changes (P-12)", async (ctx) => {
    const t = await twin(ctx, {
      foo: "foo\r\n",
      "bar.txt": "bar\n",
      "out.txt": "foo\r\n",
      "dvc.yaml":
        "stages:\n  s:\n    cmd: cat foo > out.txt\n    deps:\n    - foo\n    - bar.txt\n    outs:\n    - out.txt\n",
      "dvc.lock":
        "schema: '2.0'\nstages:\n  s:\n    cmd: cat foo > out.txt\n    deps:\n    - path: bar.txt\n      md5: c157a79031e1c40f85931829bc5fc552\n" +
        "      size: 4\n    - path: foo\n      md5: d3b07384d113edec49eaa6238ad5ff00\n      size: 5\n    outs:\n" +
        "    - path: out.txt\n      md5: d3b07384d113edec49eaa6238ad5ff00\n      size: 5\n",
    });
    const legacyLock = t.mlv.read("dvc.lock");
    const status = await both(t, "status", "--json");
    expect(JSON.parse(status.mlv.stdout)).toEqual(JSON.parse(status.dvc.stdout));
    expect(JSON.parse(status.mlv.stdout)).toEqual({ s: [{ "changed outs": { "out.txt": "not in cache" } }] });
    // Recorded as is: the object goes to the 2.x place in the cache, the entry stays byte for byte.
    sameLog(await both(t, "commit", "-f"));
    sameState(t);
    expect(t.mlv.read("dvc.lock")).toBe(legacyLock);
    expect(state(t.mlv).cache).toContain("d3/b07384d113edec49eaa6238ad5ff00");
    sameLog(await both(t, "repro"));

    // bar.txt changes: its entry becomes a 3.x one, foo's and out.txt's stay 2.x.
    edit(t, (s) => s.write("bar.txt", "bar2\n"));
    const changed = await both(t, "repro");
    sameLog(changed);
    sameState(t);
    expect(t.mlv.read("dvc.lock")).toContain(
      "    - path: bar.txt\n      hash: md5\n      md5: 042967ff088f7f436015fbebdcad1f28\n      size: 5\n    - path: foo\n      md5: d3b07384d113edec49eaa6238ad5ff00\n",
    );
  });
});
