/**
 * Concurrent processes: two commands started at the same moment (full run: a random offset apart)
 * in the same repository. Both must end cleanly: completed, or refused with a message naming the
 * lock's holder and then completed on rerun. Afterwards objects hash to their names, nothing is lost
 * (gc never deletes what the other command adds or uploads) and nothing is left behind.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { requireDvc } from "../../test-fixtures/dvc-peer.js";
import { FULL, sized } from "../src/mode.js";
import { emptyTally, report, type Tally } from "../src/table.js";
import type { Run } from "../src/tools.js";
import {
  addGarbage,
  countCase,
  createProject,
  describeFindings,
  emptyCache,
  emptyRemote,
  exec,
  type Findings,
  failedOnLock,
  inspect,
  makeDataSet,
  missingObjects,
  noFindings,
  objectKey,
  type Project,
  removeWorkspaceData,
  restore,
  said,
  seededRandom,
  snapshot,
  statusProblems,
  suiteSeed,
  type Tool,
  writeRandomFile,
} from "../src/workload.js";

const DVC = requireDvc("the concurrent-processes pairs with DVC");
const SEED = suiteSeed("concurrent processes");
const ROUNDS = sized(1, 5);
/** Full run: the second command starts up to this long after the first. */
const MAX_OFFSET_MS = 400;
const SHAPE = sized({ bigMiB: [24], smallFiles: 300 }, { bigMiB: [32, 16], smallFiles: 1500 });
const EXTRA_MIB = sized(8, 24);
const GARBAGE = sized(200, 1000);

/** One of the two commands of a pair. */
interface Step {
  tool: Tool;
  args: string[];
}

/** What a pair's preparation leaves to check once both commands have ended. */
interface Prepared {
  /** The project as it must be afterwards (new files tracked, …). */
  expect: Project;
  /** Objects gc must have deleted, and where. */
  garbage?: { store: string; keys: string[] };
  /** Lines `.gitignore` must hold. */
  ignored?: string[];
}

interface Pair {
  name: string;
  steps: [Step, Step];
  prepare(p: Project, rand: () => number): Prepared;
}

const mlvStep = (...args: string[]): Step => ({ tool: "mlv", args });

/** `rel`, a new file of random bytes, as the project will track it once added (not pushed). */
function newTrackedFile(p: Project, rel: string): Project {
  const sum = writeRandomFile(join(p.root, rel), EXTRA_MIB * 1024 * 1024);
  return {
    ...p,
    targets: [...p.targets, rel],
    files: { ...p.files, [rel]: sum },
    localObjects: [...(p.localObjects ?? []), objectKey(sum)],
    pointers: { ...p.pointers, [`${rel}.dvc`]: `md5: ${sum}` },
  };
}

const PAIRS: Pair[] = [
  {
    name: "push + push",
    steps: [mlvStep("push"), mlvStep("push")],
    prepare: (p) => {
      emptyRemote(p);
      return { expect: p };
    },
  },
  {
    name: "pull + pull",
    steps: [mlvStep("pull"), mlvStep("pull")],
    prepare: (p) => {
      removeWorkspaceData(p);
      emptyCache(p);
      return { expect: p };
    },
  },
  {
    name: "add + add (different files)",
    steps: [mlvStep("add", "extra-a.bin"), mlvStep("add", "extra-b.bin")],
    prepare: (p) => ({
      expect: newTrackedFile(newTrackedFile(p, "extra-a.bin"), "extra-b.bin"),
      ignored: ["/extra-a.bin", "/extra-b.bin"],
    }),
  },
  {
    name: "add + gc",
    steps: [mlvStep("add", "extra-a.bin"), mlvStep("gc", "-w", "-f")],
    prepare: (p, rand) => ({
      expect: newTrackedFile(p, "extra-a.bin"),
      garbage: { store: p.cache, keys: addGarbage(p.cache, GARBAGE, rand) },
      ignored: ["/extra-a.bin"],
    }),
  },
  {
    name: "push + gc -c",
    steps: [mlvStep("push"), mlvStep("gc", "-w", "-c", "-f")],
    prepare: (p, rand) => {
      emptyRemote(p);
      return { expect: p, garbage: { store: p.remote, keys: addGarbage(p.remote, GARBAGE, rand) } };
    },
  },
  {
    name: "checkout + checkout",
    steps: [mlvStep("checkout"), mlvStep("checkout")],
    prepare: (p) => {
      removeWorkspaceData(p);
      return { expect: p };
    },
  },
  {
    name: "mlv push + dvc push",
    steps: [mlvStep("push"), { tool: "dvc", args: ["push"] }],
    prepare: (p) => {
      emptyRemote(p);
      return { expect: p };
    },
  },
  {
    name: "mlv add + dvc status",
    steps: [mlvStep("add", "extra-a.bin"), { tool: "dvc", args: ["status"] }],
    prepare: (p) => ({ expect: newTrackedFile(p, "extra-a.bin"), ignored: ["/extra-a.bin"] }),
  },
];

let base: string;
let project: Project;
const saved = () => join(base, "saved");
const rows: Tally[] = [];
const notes: string[] = [];
const rand = seededRandom(SEED);

const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

/** Start both steps, the second `offsetMs` after the first. */
async function startPair(p: Project, steps: [Step, Step], offsetMs: number): Promise<[Run, Run]> {
  const first = exec(steps[0].tool, p.root, steps[0].args);
  if (offsetMs > 0) await sleep(offsetMs);
  const second = exec(steps[1].tool, p.root, steps[1].args);
  return Promise.all([first, second]);
}

/**
 * How one step ended: completed, or refused because the other held the lock (then rerun, which
 * must complete). Anything else goes to `f.other`.
 */
async function settle(p: Project, step: Step, r: Run, f: Findings): Promise<string | undefined> {
  if (r.code === 0) return undefined;
  const line = `${step.tool} ${step.args.join(" ")}`;
  if (!failedOnLock(step.tool, r)) {
    f.other.push(`${line} failed without naming a lock holder: ${said(r)}`);
    return undefined;
  }
  const again = await exec(step.tool, p.root, step.args);
  if (again.code !== 0) f.other.push(`${line} was refused on the lock, and its rerun failed: ${said(again)}`);
  return `${line} was refused on the lock, its rerun completed: ${said(r).slice(0, 160)}`;
}

/** The checks of a pair beyond `inspect`: gc's garbage gone, `.gitignore` complete. */
function checkPrepared(prep: Prepared, f: Findings): void {
  const p = prep.expect;
  if (prep.garbage) {
    const kept = prep.garbage.keys.length - missingObjects(prep.garbage.store, prep.garbage.keys).length;
    if (kept) f.other.push(`gc kept ${kept} of ${prep.garbage.keys.length} unreferenced objects`);
  }
  const ignore = readGitignore(p.root);
  const dropped = (prep.ignored ?? []).filter((l) => !ignore.includes(l));
  if (dropped.length) f.lost.push(`.gitignore lacks ${dropped.join(", ")}`);
}

function readGitignore(root: string): string[] {
  try {
    return readFileSync(join(root, ".gitignore"), "utf8").split("\n");
  } catch {
    return [];
  }
}

async function runRound(pair: Pair, round: number, tally: Tally): Promise<void> {
  restore(project, saved());
  const prep = pair.prepare(project, rand);
  const offset = FULL ? Math.floor(rand() * MAX_OFFSET_MS) : 0;
  const steps: [Step, Step] = FULL && rand() < 0.5 ? [pair.steps[1], pair.steps[0]] : pair.steps;
  const runs = await startPair(project, steps, offset);
  const f = noFindings();
  const waited: string[] = [];
  for (const [i, step] of steps.entries()) {
    const w = await settle(project, step, runs[i]!, f);
    if (w) waited.push(w);
  }
  inspect(prep.expect, f);
  checkPrepared(prep, f);
  f.other.push(...(await statusProblems(prep.expect)));
  const ok = countCase(tally, f);
  const order = `${steps.map((s) => `${s.tool} ${s.args.join(" ")}`).join(" then ")}, ${offset} ms apart`;
  if (waited.length) notes.push(`${pair.name}, round ${round} (${order}): ${waited.join("; ")}`);
  if (!ok) notes.push(`FAILED ${pair.name}, round ${round} (${order}): ${describeFindings(f)}`);
}

describe("concurrent processes", () => {
  beforeAll(async () => {
    base = mkdtempSync(join(tmpdir(), "mlv-concurrent-"));
    const data = makeDataSet(join(base, "data"), SHAPE, seededRandom(SEED));
    project = await createProject("mlv", join(base, "repo"), join(base, "remote"), data);
    snapshot(project, saved());
  });

  afterAll(() => {
    const head = `seed ${SEED} (TORTURE_SEED=${SEED}), ${FULL ? "full" : "short"} run: ${ROUNDS} round(s) per pair${
      FULL ? `, second start 0-${MAX_OFFSET_MS} ms later, order random` : ", both started at once"
    }`;
    report("concurrent processes", rows, [head, ...notes]);
    if (base) rmSync(base, { recursive: true, force: true });
  });

  for (const pair of PAIRS) {
    const usesDvc = pair.steps.some((s) => s.tool === "dvc");
    test.skipIf(usesDvc && !DVC)(pair.name, async () => {
      const tally = emptyTally(pair.name, usesDvc ? "mlv + dvc" : "mlv");
      rows.push(tally);
      for (let round = 1; round <= ROUNDS; round++) await runRound(pair, round, tally);
      const why = notes.filter((n) => n.startsWith(`FAILED ${pair.name},`)).join("\n");
      expect(tally, `cases that did not pass:\n${why}`).toMatchObject({
        passed: tally.tried,
        corrupt: 0,
        lost: 0,
        leftBehind: 0,
      });
    });
  }
});
