/**
 * Hostile inputs: repositories a stranger could hand over (or an unlucky user could leave behind),
 * with pointer files, `.dir` listings, pipelines, config, symlinks and names crafted to escape
 * the repository, exhaust memory or time, or confuse the parsers. For every case the rule is: a
 * clear error (non-zero exit, a message naming the file at fault, no stack trace, no "unexpected
 * error", no bare system error) or a correct result; nothing written outside the repository, into
 * `.git` or `.dvc`; nothing temporary left; every command done within 10 s.
 *
 * The same cases run on a copy with the real DVC, for comparison only (timeout 20 s); in the short
 * run DVC is left out to keep within CI's time (TORTURE=full runs it).
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireDvc } from "../../test-fixtures/dvc-peer.js";
import { md5 } from "../src/check.js";
import { copySandbox, damage, git, observe, put, type Sandbox, sandboxAt, snapshot, unclear } from "../src/hostile.js";
import {
  CASES,
  type Case,
  type Category,
  DATA,
  DIR_FILES,
  PRECIOUS,
  type Step,
  useSeed,
} from "../src/hostile-cases.js";
import { FULL } from "../src/mode.js";
import { emptyTally, report, type Tally } from "../src/table.js";
import { dvc, MLV_BIN, type Run, run } from "../src/tools.js";

const SEED = Number(process.env.TORTURE_SEED ?? Date.now() % 1_000_000);
const WITH_DVC = FULL;
const DVC = WITH_DVC ? requireDvc("the hostile-inputs comparison with DVC") : undefined;
const LIMIT_MS = { mlv: 10_000, dvc: 20_000 } as const;
/** Cases run two at a time: the machine has two cores. */
const PARALLEL = 2;
/** `HOSTILE_ONLY=a|b` runs only the cases whose name contains a or b, printing every command's output. */
const ONLY = process.env.HOSTILE_ONLY;
/** Print every command's output in the per-case record (`HOSTILE_VERBOSE=1`, or with HOSTILE_ONLY). */
const VERBOSE = Boolean(ONLY || process.env.HOSTILE_VERBOSE);
const CATEGORIES: readonly Category[] = ["pointers", "manifests", "pipelines", "config", "symlinks and names"];

type Tool = "mlv" | "dvc";

interface StepResult {
  step: string;
  code: number | null;
  ms: number;
  problem?: string;
  /** The start of what the command printed. */
  output: string;
}

interface Outcome {
  tool: Tool;
  c: Case;
  steps: StepResult[];
  problems: string[];
  corrupt: string[];
  lost: string[];
  leftBehind: string[];
  /** The whole case: preparing, running and checking. */
  ms: number;
}

let work = "";
let template: Sandbox;
/** mlv's compiled-code cache (a documented cache of the CLI, not a write the inputs caused). */
let codeCache = "";
/** The CLI under test, copied at the start (see `copyCli`). */
let cliBin = MLV_BIN;
const outcomes: Outcome[] = [];

/**
 * The repository every case starts from: `data.txt` and `dir/` tracked, pushed to the local
 * remote, committed, with watched files around it for a misdirected write to hit.
 */
async function makeTemplate(root: string): Promise<Sandbox> {
  const s = sandboxAt(root);
  put(join(s.outside, "victim.txt"), "outside, do not touch\n");
  put(join(s.outside, "victim.yaml"), "a: 1\n");
  put(join(s.outside, "victim.json"), '{"secret": 1}\n');
  put(join(s.outside, "dir", "x.txt"), "outside folder file\n");
  put(join(s.near, "victim.txt"), "near outside, do not touch\n");
  put(join(s.near, "gitignore"), "# someone else's ignore file\n");
  put(join(s.near, "deep", "keep.txt"), "keep\n");
  put(join(s.home, ".bashrc"), "# planted home\n");
  put(join(s.home, ".ssh", "authorized_keys"), "ssh-ed25519 AAAA planted\n");
  mkdirSync(s.tmp, { recursive: true });
  mkdirSync(s.remote, { recursive: true });
  mkdirSync(s.repo, { recursive: true });
  git(s.repo, "init", "-q", "-b", "main");
  await mustMlv(s, ["init", "-q"]);
  put(join(s.repo, "data.txt"), DATA);
  for (const [rel, text] of Object.entries(DIR_FILES)) put(join(s.repo, rel), text);
  put(join(s.repo, PRECIOUS), "the user's own file\n");
  put(join(s.repo, ".dvc", "config"), "[core]\n    remote = storage\n['remote \"storage\"']\n    url = ../../remote\n");
  await mustMlv(s, ["add", "-q", "data.txt", "dir"]);
  await mustMlv(s, ["push", "-q"]);
  git(s.repo, "add", "-A");
  git(s.repo, "commit", "-q", "-m", "template");
  return s;
}

function mlvEnv(s: Sandbox): Record<string, string> {
  return { HOME: s.home, TMPDIR: s.tmp, XDG_CONFIG_HOME: join(s.home, ".config"), XDG_CACHE_HOME: codeCache };
}

/**
 * A private copy of the built CLI (a self-contained bundle; the local remote needs no adapter
 * package): a rebuild of apps/cli while the suite runs must not swap the program under test, or
 * leave it half-written, between two commands of a case. Waits for a build in progress to end.
 */
async function copyCli(dir: string): Promise<string> {
  const dist = dirname(MLV_BIN);
  const bin = join(dir, "dist", "bin.cjs");
  for (let attempt = 0; ; attempt++) {
    try {
      mkdirSync(join(dir, "dist"), { recursive: true });
      copyFileSync(join(dist, "..", "package.json"), join(dir, "package.json"));
      for (const f of ["bin.cjs", "cli.cjs"]) copyFileSync(join(dist, f), join(dir, "dist", f));
      const r = spawnSync(process.execPath, [bin, "--version"], {
        encoding: "utf8",
        env: { ...process.env, MLV_NO_CODE_CACHE: "1" },
      });
      if (r.status === 0) return bin;
      if (attempt >= 30) throw new Error(`the copied CLI does not start: ${r.stderr}`);
    } catch (e) {
      if (attempt >= 30) throw e;
    }
    await new Promise((go) => setTimeout(go, 2_000));
  }
}

function mlv(
  cwd: string,
  args: readonly string[],
  options: { env: Record<string, string>; timeoutMs: number },
): Promise<Run> {
  return run(process.execPath, [cliBin, ...args], {
    ...options,
    cwd,
    env: { NO_COLOR: "1", CI: "true", ...options.env },
  });
}

async function mustMlv(s: Sandbox, args: string[]): Promise<void> {
  const r = await mlv(s.repo, args, { env: mlvEnv(s), timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`mlv ${args.join(" ")}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
}

function runTool(tool: Tool, s: Sandbox, args: string[]): Promise<Run> {
  const timeoutMs = LIMIT_MS[tool] + 500;
  if (tool === "mlv") return mlv(s.repo, args, { env: mlvEnv(s), timeoutMs });
  const r = dvc(s.repo, args, { env: { HOME: s.home, TMPDIR: s.tmp }, timeoutMs });
  if (!r) throw new Error("DVC is not installed");
  return r;
}

const stepName = (step: Step) => (Array.isArray(step) ? step.map(shortArg).join(" ") : step.name);
const shortArg = (a: string) =>
  a.length > 40 ? `${a.slice(0, 12)}…(${a.length} chars)` : JSON.stringify(a).slice(1, -1);

/** Bytes of the repository files that must survive, or "missing". */
function keepState(s: Sandbox, c: Case): Map<string, string> {
  const state = new Map<string, string>();
  for (const rel of [PRECIOUS, ...(c.keep ?? [])]) {
    const abs = join(s.repo, rel);
    state.set(rel, existsSync(abs) ? md5(readFileSync(abs)) : "missing");
  }
  return state;
}

/** Prepare the case in its own sandbox, run its steps with `tool`, and judge what happened. */
async function runCase(c: Case, tool: Tool, dir: string): Promise<Outcome> {
  const started = Date.now();
  const s = copySandbox(template, dir);
  c.setup(s);
  if (c.commit !== false) {
    git(s.repo, "add", "-A");
    git(s.repo, "commit", "-q", "--allow-empty", "-m", "a stranger's commit");
  }
  c.late?.(s);
  const keepBefore = keepState(s, c);
  const before = observe(s);
  const tmpBefore = snapshot(s.tmp);
  const o: Outcome = { tool, c, steps: [], problems: [], corrupt: [], lost: [], leftBehind: [], ms: 0 };
  for (const step of c.steps) {
    if (!Array.isArray(step)) {
      step.fn(s);
      continue;
    }
    const start = Date.now();
    const r = await runTool(tool, s, step);
    const ms = Date.now() - start;
    const name = stepName(step);
    let problem = unclear(r, c.names);
    if (!problem && ms > LIMIT_MS[tool]) problem = `took ${ms} ms`;
    if (!problem && r.code === 0 && c.refuse?.includes(step.join(" "))) problem = "exit 0: should have refused";
    if (!problem && c.misleading?.test(`${r.stdout}${r.stderr}`)) problem = `misleading message: ${firstLine(r)}`;
    if (!problem && r.code !== 0 && c.mustSucceed) problem = `exit ${r.code} on valid input: ${firstLine(r)}`;
    o.steps.push({ step: name, code: r.code, ms, problem, output: `${r.stdout}${r.stderr}`.slice(0, 600) });
    if (problem) o.problems.push(`${name}: ${problem}`);
    // A command that hung would hang again: the rest of the case is not worth 10 s each.
    if (r.signal) break;
  }
  judge(o, s, c, before, keepBefore, tmpBefore);
  if (!process.env.TORTURE_KEEP) rmSync(dir, { recursive: true, force: true });
  o.ms = Date.now() - started;
  return o;
}

const firstLine = (r: Run) => `${r.stderr}\n${r.stdout}`.trim().split("\n")[0]?.slice(0, 200) ?? "";

/** Writes outside, into .git or .dvc, lost or changed user files, wrong results, leftovers. */
function judge(
  o: Outcome,
  s: Sandbox,
  c: Case,
  before: ReturnType<typeof observe>,
  keepBefore: Map<string, string>,
  tmpBefore: ReturnType<typeof snapshot>,
): void {
  const after = observe(s);
  const d = damage(before, after);
  // A corrupt object removed is a repair, not a loss.
  const wasCorrupt = (line: string) => [...before.corruptObjects].some((k) => line.includes(k.replace(/^\w+\//, "")));
  o.corrupt.push(...d.corrupt);
  o.lost.push(...d.lost.filter((l) => !wasCorrupt(l)));
  o.leftBehind.push(...d.leftBehind.filter((l) => !l.startsWith("outside: tmp/")));
  for (const k of snapshot(s.tmp).keys()) if (!tmpBefore.has(k)) o.leftBehind.push(`TMPDIR/${k} left`);
  for (const [rel, sum] of keepState(s, c)) {
    const was = keepBefore.get(rel);
    if (sum === was) continue;
    if (sum === "missing") o.lost.push(`${rel} deleted`);
    else o.corrupt.push(`${rel} changed`);
  }
  for (const rel of nestedGitFolders(s.repo))
    o.problems.push(`wrote a git repository folder '${rel}' into the workspace`);
  const allPassed = o.steps.every((r) => r.code === 0);
  if (c.expect && (allPassed || c.mustSucceed))
    for (const [rel, data] of Object.entries(c.expect)) {
      const abs = join(s.repo, rel);
      if (!existsSync(abs)) o.problems.push(`${shortArg(rel)} missing after success`);
      else if (md5(readFileSync(abs)) !== md5(data)) o.corrupt.push(`${shortArg(rel)} has wrong bytes`);
    }
}

/** `.git` folders below the repository's root (git itself never writes one from a tree). */
function nestedGitFolders(repo: string): string[] {
  return [...snapshot(repo, [".git", ".dvc"]).entries()]
    .filter(([rel, kind]) => kind === "dir" && rel.split("/").pop() === ".git")
    .map(([rel]) => rel);
}

const passed = (o: Outcome) => o.problems.length + o.corrupt.length + o.lost.length + o.leftBehind.length === 0;

/** The per-case record: commands, exit codes, durations, and what went wrong. */
function describeOutcome(o: Outcome): string {
  const steps = o.steps
    .map(
      (r) =>
        `\`${r.step}\` ${r.code} ${r.ms}ms${r.problem ? ` (${r.problem})` : ""}${VERBOSE ? `\n    > ${r.output.trim().replaceAll("\n", "\n    > ")}\n` : ""}`,
    )
    .join("; ");
  const harm = [
    ...o.corrupt.map((x) => `corrupt: ${x}`),
    ...o.lost.map((x) => `lost: ${x}`),
    ...o.leftBehind.map((x) => `left: ${x}`),
  ];
  return `${o.tool} ${o.c.category} / ${o.c.name}: ${passed(o) ? "ok" : "FAILED"} (${o.ms} ms) — ${steps}${harm.length ? ` — ${harm.slice(0, 6).join("; ")}` : ""}`;
}

/** At most `n` jobs at a time. */
function limiter(n: number): <T>(job: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (job) => {
    // A finishing job hands its slot to the next waiting one directly.
    if (running >= n) await new Promise<void>((go) => waiting.push(go));
    else running++;
    try {
      return await job();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}
const slot = limiter(PARALLEL);

beforeAll(async () => {
  process.stdout.write(`hostile inputs: seed ${SEED} (set TORTURE_SEED to replay)\n`);
  useSeed(SEED);
  work = mkdtempSync(join(tmpdir(), "mlv-hostile-"));
  codeCache = join(work, "code-cache");
  cliBin = await copyCli(join(work, "cli"));
  template = await makeTemplate(join(work, "template"));
});

afterAll(() => {
  const rows: Tally[] = [];
  for (const category of CATEGORIES)
    for (const tool of ["mlv", "dvc"] as Tool[]) {
      const mine = outcomes.filter((o) => o.tool === tool && o.c.category === category);
      if (mine.length === 0) continue;
      const t = emptyTally(category, tool);
      t.tried = mine.length;
      t.passed = mine.filter(passed).length;
      t.corrupt = mine.filter((o) => o.corrupt.length > 0).length;
      t.lost = mine.filter((o) => o.lost.length > 0).length;
      t.leftBehind = mine.filter((o) => o.leftBehind.length > 0).length;
      rows.push(t);
    }
  const order = (o: Outcome) => CASES.indexOf(o.c) * 2 + (o.tool === "dvc" ? 1 : 0);
  const sorted = [...outcomes].sort((a, b) => order(a) - order(b));
  process.stdout.write(
    `\nhostile inputs, every case (seed ${SEED}):\n${sorted.map((o) => `- ${describeOutcome(o)}`).join("\n")}\n`,
  );
  report("hostile inputs", rows, [
    `seed ${SEED}${WITH_DVC ? "" : "; DVC left out of the short run"}`,
    ...sorted.filter((o) => !passed(o)).map(describeOutcome),
  ]);
  if (work && !process.env.TORTURE_KEEP) rmSync(work, { recursive: true, force: true });
});

describe("hostile inputs", () => {
  it("has enough cases in every category", () => {
    const count = (cat: Category) => CASES.filter((c) => c.category === cat).length;
    expect(CASES.length).toBeGreaterThanOrEqual(60);
    expect(count("pointers")).toBeGreaterThanOrEqual(15);
    expect(count("manifests")).toBeGreaterThanOrEqual(10);
    expect(count("pipelines")).toBeGreaterThanOrEqual(12);
    expect(count("config")).toBeGreaterThanOrEqual(8);
    expect(count("symlinks and names")).toBeGreaterThanOrEqual(10);
  });

  for (const category of CATEGORIES)
    describe(category, () => {
      CASES.forEach((c, i) => {
        if (c.category !== category || (ONLY && !ONLY.split("|").some((o) => c.name.includes(o)))) return;
        it.concurrent(c.name, async () => {
          const mine = await slot(() => runCase(c, "mlv", join(work, `case-${i}-mlv`)));
          outcomes.push(mine);
          if (DVC) outcomes.push(await slot(() => runCase(c, "dvc", join(work, `case-${i}-dvc`))));
          expect(passed(mine), describeOutcome(mine)).toBe(true);
        });
      });
    });
});
