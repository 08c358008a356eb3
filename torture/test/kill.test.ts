/**
 * kill -9 matrix: each data command is killed (SIGKILL) at random moments of its normal run, then
 * run again. The rerun must succeed, and afterwards every object must hash to its name, nothing may
 * be lost or left behind, `status` must be clean. The real DVC goes through the same kill points
 * in its own copy of the project, for comparison.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { requireDvc } from "../../test-fixtures/dvc-peer.js";
import { md5, verifyObjects } from "../src/check.js";
import { FULL, sized } from "../src/mode.js";
import { emptyTally, report, type Tally } from "../src/table.js";
import {
  addGarbage,
  countCase,
  createProject,
  type DataSet,
  describeFindings,
  emptyCache,
  emptyRemote,
  exec,
  execKilledWhen,
  type Findings,
  HashMemo,
  initProject,
  inspect,
  makeDataSet,
  missingObjects,
  noFindings,
  objectKey,
  type Project,
  removeWorkspaceData,
  repair,
  said,
  seededRandom,
  snapshot,
  statusProblems,
  suiteSeed,
  type Tool,
  tempFiles,
  untrack,
  writeRandomFile,
} from "../src/workload.js";

const DVC = requireDvc("the kill -9 matrix's DVC column");
const SEED = suiteSeed("kill -9 matrix");
const TOOLS: Tool[] = DVC ? ["mlv", "dvc"] : ["mlv"];

/** Kill points per command (the same fractions of each tool's own duration); DVC gets the first few. */
const POINTS = sized(4, 30);
const DVC_POINTS = sized(2, 6);
/** A file of 64 MiB or more downloads in ranges, resumable: one such file in each run. */
const SHAPE = sized({ bigMiB: [66, 12], smallFiles: 300 }, { bigMiB: [32, 72], smallFiles: 1500 });
/** Unreferenced objects gc has to delete in each gc case. */
const GARBAGE = sized(300, 1500);
/** The file of the "big add" case, and how many times it is killed. */
const BIG_ADD_MIB = sized(60, 300);
const BIG_ADD_POINTS = sized(1, 3);
/** Uninterrupted runs that measure a command's duration. */
const MEASURES = sized(1, 2);

interface Command {
  name: string;
  args(p: Project): string[];
  /** Bring the project to a state the command has work to do in. */
  reset(p: Project): void;
  /** For gc: unreferenced objects put into the cache, which it must delete. */
  garbage?(p: Project, rand: () => number): string[];
  /** Also check `status -c` (cache and remote in sync). */
  cloud?: boolean;
}

const COMMANDS: Command[] = [
  { name: "add", args: (p) => ["add", ...p.targets], reset: untrack },
  { name: "push", args: () => ["push"], reset: emptyRemote, cloud: true },
  {
    name: "pull",
    args: () => ["pull"],
    reset: (p) => {
      removeWorkspaceData(p);
      emptyCache(p);
    },
  },
  { name: "fetch", args: () => ["fetch"], reset: emptyCache },
  { name: "checkout", args: () => ["checkout"], reset: removeWorkspaceData },
  {
    name: "gc",
    args: () => ["gc", "-w", "-f"],
    reset: () => {},
    garbage: (p, rand) => addGarbage(p.cache, GARBAGE, rand),
  },
];

/** One tool's side of the matrix: its project, its rows and what went wrong. */
interface Column {
  tool: Tool;
  project: Project;
  /** Where the project's first state is saved, to start again after a case that failed. */
  saved: string;
  memo: HashMemo;
  rand: () => number;
  /** The cases that did not pass, by row. */
  failures: { cases: string; text: string }[];
}

let base: string;
let data: DataSet;
const columns = new Map<Tool, Column>();
const rows: Tally[] = [];
const runNotes: string[] = [];

function toolSeed(tool: Tool): number {
  return (SEED ^ (tool === "mlv" ? 0x9e3779b9 : 0x85ebca6b)) >>> 0;
}

/**
 * How long `cmd` normally takes for the column's tool, from the state its reset makes: the
 * quickest of MEASURES runs, so that one slow moment of a busy machine does not stretch every kill point.
 */
async function measure(col: Column, cmd: Command): Promise<number> {
  let quickest = Number.POSITIVE_INFINITY;
  for (let i = 0; i < MEASURES; i++) {
    cmd.reset(col.project);
    cmd.garbage?.(col.project, col.rand);
    const started = performance.now();
    const r = await exec(col.tool, col.project.root, cmd.args(col.project));
    quickest = Math.min(quickest, performance.now() - started);
    if (r.code !== 0) throw new Error(`${col.tool} ${cmd.name} (uninterrupted) failed: ${said(r)}`);
  }
  return quickest;
}

/**
 * Kill `cmd` after `atMs`, rerun it to its end, and check what is left. `full`: read every byte
 * again (`verifyObjects`) instead of only what changed.
 */
async function killCase(
  col: Column,
  cmd: Command,
  atMs: number,
  full: boolean,
): Promise<{ f: Findings; killed: boolean }> {
  const p = col.project;
  cmd.reset(p);
  const garbage = cmd.garbage?.(p, col.rand) ?? [];
  const first = await exec(col.tool, p.root, cmd.args(p), { killAfterMs: atMs });
  const f = noFindings();
  const rerun = await exec(col.tool, p.root, cmd.args(p));
  if (rerun.code !== 0) f.other.push(`the rerun failed (blocked the next run): ${said(rerun)}`);
  inspect(p, f, full ? undefined : col.memo);
  if (rerun.code !== 0) {
    // What the reset removed is still missing because the rerun failed: that is the failure, not a loss.
    f.other.push(...f.lost.map((s) => `not restored: ${s}`));
    f.lost = [];
  }
  const kept = garbage.filter((k) => !missingObjects(p.cache, [k]).length);
  if (kept.length) f.other.push(`gc kept ${kept.length} of ${garbage.length} unreferenced objects`);
  if (rerun.code === 0) f.other.push(...(await statusProblems(p, cmd.cloud)));
  return { f, killed: first.killed };
}

/** The column's cases for one command, at `fractions` of its measured duration. */
async function runCommand(col: Column, cmd: Command, fractions: readonly number[]): Promise<Tally> {
  const tally = emptyTally(`kill ${cmd.name}`, col.tool);
  const ms = await measure(col, cmd);
  let killed = 0;
  for (const [i, fraction] of fractions.entries()) {
    const at = Math.max(1, Math.round(fraction * ms));
    const { f, killed: wasKilled } = await killCase(col, cmd, at, i === fractions.length - 1);
    if (wasKilled) killed++;
    if (!countCase(tally, f)) {
      const text = `${col.tool} ${cmd.args(col.project).join(" ")}: case ${i + 1}, killed at ${at} ms of ${Math.round(ms)} ms: ${describeFindings(f)}`;
      col.failures.push({ cases: tally.cases, text });
      repair(col.project, f, col.saved);
    }
  }
  runNotes.push(
    `${col.tool} ${cmd.name}: runs ${Math.round(ms)} ms; ${killed} of ${fractions.length} runs killed before their end`,
  );
  return tally;
}

/**
 * How much of the big file the largest temporary file of the repository holds (0 when there is
 * none): mlv copies into the cache, DVC moves the file there and copies it back to the workspace.
 */
function copiedShare(root: string): number {
  let most = 0;
  for (const rel of tempFiles(root)) {
    try {
      most = Math.max(most, statSync(join(root, rel)).size);
    } catch {
      // renamed into place meanwhile
    }
  }
  return most / (BIG_ADD_MIB * 1024 * 1024);
}

/** Kill a big `add` midway: the next `add` must leave no partial temporary file in the cache. */
async function runBigAdd(col: Column, huge: { dir: string; sum: string }): Promise<Tally> {
  const tally = emptyTally(`kill add ${BIG_ADD_MIB} MiB`, col.tool);
  const dir = join(base, `bigadd-${col.tool}`);
  const p: Project = {
    tool: col.tool,
    root: join(dir, "repo"),
    cache: join(dir, "repo", ".dvc", "cache"),
    remote: join(dir, "remote"),
    targets: ["huge.bin"],
    files: { "huge.bin": huge.sum },
    objects: [objectKey(huge.sum)],
    pointers: { "huge.bin.dvc": `md5: ${huge.sum}` },
  };
  await initProject(col.tool, p.root, p.remote);
  cpSync(join(huge.dir, "huge.bin"), join(p.root, "huge.bin"));
  const cmd: Command = { name: "add", args: () => ["add", "huge.bin"], reset: untrack };
  const ms = await measure({ ...col, project: p }, cmd);
  for (let i = 0; i < BIG_ADD_POINTS; i++) {
    // Midway: once a copy of the file holds between 20% and 80% of it (a random point).
    const share = 0.2 + 0.6 * col.rand();
    untrack(p);
    const first = await execKilledWhen(col.tool, p.root, cmd.args(p), () => copiedShare(p.root) >= share);
    const partial = tempFiles(p.root).length;
    const next = await exec(col.tool, p.root, cmd.args(p));
    const f = noFindings();
    if (next.code !== 0) f.other.push(`the next add failed: ${said(next)}`);
    const left = tempFiles(p.root);
    if (left.length) f.leftBehind.push(`after the next add: ${left.join(", ")}`);
    const check = verifyObjects(p.cache);
    if (check.corrupt.length) f.corrupt.push(`cache objects not matching their name: ${check.corrupt.join(", ")}`);
    if (missingObjects(p.cache, p.objects).length) f.lost.push("the file's object is not in the cache");
    if (md5(readFileSync(join(p.root, "huge.bin"))) !== huge.sum) f.corrupt.push("huge.bin changed");
    if (next.code === 0) f.other.push(...(await statusProblems(p)));
    const when = first.killed ? `killed with ${Math.round(share * 100)}% copied` : "not killed: no copy seen midway";
    runNotes.push(
      `${col.tool} add ${BIG_ADD_MIB} MiB: runs ${Math.round(ms)} ms; ${when}; ${partial} temporary file(s) right after`,
    );
    if (!countCase(tally, f))
      col.failures.push({ cases: tally.cases, text: `${col.tool} add huge.bin, ${when}: ${describeFindings(f)}` });
    for (const rel of left) rmSync(join(p.root, rel), { force: true });
  }
  return tally;
}

/** mlv's row must show every case passed (DVC's is only reported); the notes say which did not. */
function expectAllPassed(tallies: readonly Tally[]): void {
  const mlv = tallies.find((t) => t.tool === "mlv")!;
  const why = columns
    .get("mlv")!
    .failures.filter((n) => n.cases === mlv.cases)
    .map((n) => n.text)
    .join("\n");
  expect(mlv, `mlv cases that did not pass:\n${why}`).toMatchObject({
    passed: mlv.tried,
    corrupt: 0,
    lost: 0,
    leftBehind: 0,
  });
}

describe("kill -9 matrix", () => {
  beforeAll(async () => {
    base = mkdtempSync(join(tmpdir(), "mlv-kill-"));
    data = makeDataSet(join(base, "data"), SHAPE, seededRandom(SEED));
    await Promise.all(
      TOOLS.map(async (tool) => {
        const dir = join(base, tool);
        const project = await createProject(tool, join(dir, "repo"), join(dir, "remote"), data);
        const saved = join(base, `${tool}-saved`);
        snapshot(project, saved);
        columns.set(tool, {
          tool,
          project,
          saved,
          memo: new HashMemo(),
          rand: seededRandom(toolSeed(tool)),
          failures: [],
        });
      }),
    );
  });

  afterAll(() => {
    const notes = [
      `seed ${SEED} (TORTURE_SEED=${SEED}), ${FULL ? "full" : "short"} run: ${POINTS} kill points per command (DVC: the first ${Math.min(POINTS, DVC_POINTS)}), big files ${SHAPE.bigMiB.join("+")} MiB, ${SHAPE.smallFiles} small files`,
      ...(DVC ? [] : ["the real DVC is not installed: no DVC column"]),
      ...runNotes,
      ...[...columns.values()].flatMap((c) => c.failures.map((n) => n.text)),
    ];
    report("kill -9 matrix", rows, notes);
    if (base) rmSync(base, { recursive: true, force: true });
  });

  const rand = seededRandom(SEED ^ 0x5bd1e995); // the kill points; the data's sizes use SEED itself
  for (const cmd of COMMANDS) {
    const fractions = Array.from({ length: POINTS }, () => 0.05 + 0.9 * rand());
    test(`kill ${cmd.name}`, async () => {
      const tallies = await Promise.all(
        TOOLS.map((tool) =>
          runCommand(columns.get(tool)!, cmd, tool === "mlv" ? fractions : fractions.slice(0, DVC_POINTS)),
        ),
      );
      rows.push(...tallies);
      expectAllPassed(tallies);
    });
  }

  test(`kill a ${BIG_ADD_MIB} MiB add midway`, async () => {
    const dir = join(base, "huge");
    mkdirSync(dir, { recursive: true });
    const huge = { dir, sum: writeRandomFile(join(dir, "huge.bin"), BIG_ADD_MIB * 1024 * 1024) };
    const tallies = await Promise.all(TOOLS.map((tool) => runBigAdd(columns.get(tool)!, huge)));
    rows.push(...tallies);
    expectAllPassed(tallies);
  });
});
