// Case 17 of `bench/run.mjs`: `mlv status` on an unchanged DVC pipeline of 40 stages over 20,000
// files (by default), side by side with `find -printf` over the same files (target: mlv under 4x)
// and with the real DVC's `dvc status` (target: mlv at least 10x faster).
//
// The project is DVC's own: `dvc init`, a dvc.yaml written here (20 `gen-NN` stages each writing
// a folder of small files, 20 `count-NN` stages each reading one of them and writing one file),
// then `dvc repro` runs the commands and writes dvc.lock and the cache, and git commits it all.
//
// A fast answer is only worth reporting if it is right: both tools must print `{}` for
// `status --json` on the unchanged project, and after one generated file is changed mlv must
// report what DVC reports. Otherwise the figures are still printed, marked WRONG, and the run fails.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { findDvc } from "./peers.mjs";

const PRODUCERS = 20;

const GEN_PY = `import os, sys
out, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.makedirs(out)
for i in range(n):
    with open(os.path.join(out, "f%05d.txt" % i), "w") as f:
        f.write("stage %d file %d\\n%s\\n" % (seed, i, "x" * ((seed * 31 + i * 17) % 200)))
`;
const COUNT_PY = `import os, sys
src, out = sys.argv[1], sys.argv[2]
names = sorted(os.listdir(src))
size = sum(os.path.getsize(os.path.join(src, n)) for n in names)
os.makedirs(os.path.dirname(out), exist_ok=True)
with open(out, "w") as f:
    f.write("%d files, %d bytes\\n" % (len(names), size))
`;

/** dvc.yaml: every gen stage first, then every count stage. */
function dvcYaml(perStage) {
  const lines = ["stages:"];
  const id = (i) => String(i).padStart(2, "0");
  for (let i = 1; i <= PRODUCERS; i++)
    lines.push(
      `  gen-${id(i)}:`,
      `    cmd: python3 src/gen.py data/gen/${id(i)} ${perStage} ${i}`,
      "    deps:\n    - src/gen.py",
      "    params:\n    - gen.files",
      `    outs:\n    - data/gen/${id(i)}`,
    );
  for (let i = 1; i <= PRODUCERS; i++)
    lines.push(
      `  count-${id(i)}:`,
      `    cmd: python3 src/count.py data/gen/${id(i)} data/count/${id(i)}.txt`,
      `    deps:\n    - src/count.py\n    - data/gen/${id(i)}`,
      `    outs:\n    - data/count/${id(i)}.txt`,
    );
  return `${lines.join("\n")}\n`;
}

/** The JSON a status printed, keys sorted, for comparing two tools' answers. */
function canonical(text) {
  const sort = (v) =>
    Array.isArray(v)
      ? v.map(sort)
      : v && typeof v === "object"
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, sort(v[k])]),
          )
        : v;
  try {
    return JSON.stringify(sort(JSON.parse(text)));
  } catch {
    return `(not JSON) ${text.trim().slice(0, 500)}`;
  }
}

/**
 * Run case 17 when selected. `ctx` holds run.mjs's helpers and state: opts, pipelineFiles, runCase,
 * record, rows, measure, mlvMeasure, shMeasure, mlv, sh, log, BenchError, base, mlvEnv, warmTree, q.
 */
export function runPipelineCase(ctx) {
  const { opts, runCase, record, rows, measure, sh, log, BenchError, base, q } = ctx;
  // Node parses every certificate of NODE_EXTRA_CA_CERTS at start, TLS or not (this machine sets
  // it: about 60 ms a start); neither DVC nor find pays it, and these commands use no TLS.
  const plainEnv = { ...ctx.mlvEnv };
  delete plainEnv.NODE_EXTRA_CA_CERTS;
  const mlvMeasure = (label, args, cwd) =>
    measure(label, process.execPath, [...opts.nodeArgs, ctx.mlvBin, ...args], cwd, plainEnv);
  ctx.mlvMeasure = mlvMeasure;
  runCase(17, () => {
    const dvcBin = findDvc();
    if (!dvcBin)
      throw new BenchError(
        "the pipeline case needs the real DVC: bash ../shared/dvc/install.sh (or set DVC_BIN to its bin/dvc)",
      );
    const perStage = Math.max(1, Math.round(ctx.pipelineFiles / PRODUCERS));
    const files = perStage * PRODUCERS;
    const dir = join(base, "pipeline");
    // DVC's per-repository databases (its "site cache", /var/tmp/dvc by default) stay in the bench folder.
    const dvcEnv = { ...ctx.mlvEnv, DVC_NO_ANALYTICS: "1", DVC_SITE_CACHE_DIR: join(base, "dvc-site") };
    const dvc = (args) => sh(`${q(dvcBin)} ${args}`, dir, dvcEnv);

    log(`set-up: dvc repro of ${PRODUCERS * 2} stages writing ${files} files (untimed)`);
    mkdirSync(join(dir, "src"), { recursive: true });
    sh("git init -q -b main", dir);
    dvc("init -q");
    writeFileSync(join(dir, "src", "gen.py"), GEN_PY);
    writeFileSync(join(dir, "src", "count.py"), COUNT_PY);
    writeFileSync(join(dir, "params.yaml"), `gen:\n  files: ${perStage}\n`);
    writeFileSync(join(dir, "dvc.yaml"), dvcYaml(perStage));
    const started = performance.now();
    dvc("repro -q");
    log(`dvc repro took ${((performance.now() - started) / 1000).toFixed(1)} s`);
    sh("git add -A && git commit -q -m pipeline", dir);

    const statusOf = (who, out) => {
      if (canonical(out) !== "{}")
        return `${who} status --json on the unchanged pipeline printed ${out.trim().slice(0, 500)}, expected {}`;
      return null;
    };
    // One untimed run each first: both tools keep databases of what they hashed (DVC's site cache,
    // mlv's own), and an unchanged status is the steady state, not the first look after a build.
    const wrong = [statusOf("dvc", dvc("status --json")), statusOf("mlv", ctx.mlv(["status", "--json"], dir))];

    const findReps = [];
    const dvcReps = [];
    for (let i = 0; i < opts.repeat; i++) {
      ctx.warmTree(join(dir, "data"));
      const f = ctx.shMeasure("case17 baseline find -printf", "find data -printf '%s %T@ %p\\n' > /dev/null", dir);
      const d = measure("case17 baseline dvc status", dvcBin, ["status", "--json"], dir, dvcEnv);
      const m = mlvMeasure("case17 mlv status", ["status", "--json"], dir);
      wrong.push(statusOf("dvc", d.stdout), statusOf("mlv", m.stdout));
      findReps.push({ mlv: m, base: f });
      dvcReps.push({ mlv: m, base: d });
    }

    // repro of the unchanged pipeline: every stage looked at, none run.
    const upToDate = (who, out) =>
      out.includes("Data and pipelines are up to date.")
        ? null
        : `${who} repro of the unchanged pipeline printed ${out.trim().slice(-500)}`;
    wrong.push(upToDate("dvc", dvc("repro")), upToDate("mlv", ctx.mlv(["repro"], dir)));
    const reproReps = [];
    for (let i = 0; i < opts.repeat; i++) {
      const d = measure("case17 baseline dvc repro (no-op)", dvcBin, ["repro"], dir, dvcEnv);
      const m = mlvMeasure("case17 mlv repro (no-op)", ["repro"], dir);
      wrong.push(upToDate("dvc", d.stdout), upToDate("mlv", m.stdout));
      reproReps.push({ mlv: m, base: d });
    }

    // repro after one stage's command changed: that stage runs (it reads 1,000 files), the rest
    // are looked at. A fresh command each time, so that no run is found in the run cache.
    const yamlPath = join(dir, "dvc.yaml");
    const pristine = readFileSync(yamlPath, "utf8");
    let edits = 0;
    const editOneStage = () => {
      edits++;
      writeFileSync(
        yamlPath,
        pristine.replace("data/count/07.txt\n", `data/count/07.txt && echo edit-${edits} > /dev/null\n`),
      );
    };
    const ranOne = (who, out) =>
      /Running stage 'count-07'/.test(out) && !/Running stage '(?!count-07)/.test(out)
        ? null
        : `${who} repro after count-07's command changed did not run exactly count-07: ${out.trim().slice(-500)}`;
    const changedReps = [];
    for (let i = 0; i < opts.repeat; i++) {
      editOneStage();
      const d = measure("case17 baseline dvc repro (one stage changed)", dvcBin, ["repro"], dir, dvcEnv);
      editOneStage();
      const m = mlvMeasure("case17 mlv repro (one stage changed)", ["repro"], dir);
      wrong.push(ranOne("dvc", d.stdout), ranOne("mlv", m.stdout));
      changedReps.push({ mlv: m, base: d });
    }
    writeFileSync(yamlPath, pristine);
    dvc("repro -q");

    // The control: a tool that ignored dvc.yaml would print {} just as fast.
    // Replaced, not written through: a workspace file may be a link to its cache object.
    const changed = join(dir, "data", "gen", "07", "f00000.txt");
    const bytes = Buffer.concat([readFileSync(changed), Buffer.from("changed\n")]);
    rmSync(changed);
    writeFileSync(changed, bytes);
    const dvcSays = dvc("status --json");
    const mlvSays = ctx.mlv(["status", "--json"], dir);
    if (canonical(dvcSays) === "{}") throw new BenchError(`dvc status did not see data/gen/07 change:\n${dvcSays}`);
    if (canonical(mlvSays) !== canonical(dvcSays))
      wrong.push(
        `after data/gen/07/f00000.txt changed, mlv status --json printed ${mlvSays.trim().slice(0, 500)}; dvc status --json printed ${dvcSays.trim()}`,
      );

    const name = `pipeline status, unchanged (${PRODUCERS * 2} stages, ${files.toLocaleString("en-US")} files)`;
    const what = `\`mlv status --json\` (run without NODE_EXTRA_CA_CERTS when the machine sets it) on a committed DVC pipeline (${PRODUCERS} stages each writing a folder of ${perStage} files of 20-220 bytes, ${PRODUCERS} stages each reading one folder; dvc.yaml, dvc.lock and the cache written by DVC 3.64's \`dvc repro\`), after one untimed run of each tool`;
    record(
      "17a",
      name,
      "find -printf",
      4.0,
      `${what}, vs \`find data -printf '%s %T@ %p\\n' > /dev/null\` (stat of every file).`,
      findReps,
    );
    record(
      "17b",
      name,
      "dvc status",
      0.1,
      `The same \`mlv status --json\` runs vs \`dvc status --json\` (DVC 3.64, ${dvcBin}), run next to each of them.`,
      dvcReps,
    );
    record(
      "17c",
      `pipeline repro, unchanged (${PRODUCERS * 2} stages, ${files.toLocaleString("en-US")} files)`,
      "dvc repro",
      0.1,
      `\`mlv repro\` on the same unchanged pipeline (every stage checked, none run; mlv without NODE_EXTRA_CA_CERTS, as in 17a) vs \`dvc repro\`, run next to each other.`,
      reproReps,
    );
    record(
      "17d",
      `pipeline repro, one stage changed (${PRODUCERS * 2} stages)`,
      "dvc repro",
      0.5,
      "`mlv repro` vs `dvc repro` after the command of one stage (count-07, which reads a folder of " +
        `${perStage} files) changed: that stage runs, its output is hashed and cached, dvc.lock is rewritten, the other ${PRODUCERS * 2 - 1} stages are checked.`,
      changedReps,
    );
    bigFolderRepro(ctx, files);
    if (!opts.keep) rmSync(dir, { recursive: true, force: true });
    const problems = wrong.filter(Boolean);
    if (problems.length > 0) {
      // The figures stay in the table, marked: a fast wrong answer is no result.
      for (const row of rows.slice(-5)) row.verdict = "WRONG ANSWER (see FAILED)";
      throw new BenchError(problems.join("\n"));
    }
  });
}

/**
 * 17e: a no-op `mlv repro` of one stage whose output folder holds all the files, set up and run by
 * mlv alone (untimed), vs `find -printf` over that folder (target: under 4x).
 */
function bigFolderRepro(ctx, files) {
  const { opts, record, sh, BenchError, base } = ctx;
  const dir = join(base, "big-output");
  mkdirSync(join(dir, "src"), { recursive: true });
  sh("git init -q -b main", dir);
  ctx.mlv(["init", "-q"], dir);
  writeFileSync(join(dir, "src", "gen.py"), GEN_PY);
  writeFileSync(
    join(dir, "dvc.yaml"),
    `stages:\n  big:\n    cmd: python3 src/gen.py data/big ${files} 1\n    deps:\n    - src/gen.py\n    outs:\n    - data/big\n`,
  );
  ctx.log(`set-up: mlv repro of one stage writing ${files} files into one folder (untimed)`);
  const first = ctx.mlv(["repro"], dir);
  if (!first.includes("Running stage 'big'"))
    throw new BenchError(`mlv repro did not run the stage: ${first.slice(-500)}`);
  const reps = [];
  const problems = [];
  for (let i = 0; i < opts.repeat; i++) {
    ctx.warmTree(join(dir, "data"));
    const f = ctx.shMeasure(
      "case17 baseline find -printf (one folder)",
      "find data -printf '%s %T@ %p\\n' > /dev/null",
      dir,
    );
    const m = ctx.mlvMeasure("case17 mlv repro (no-op, one big folder)", ["repro"], dir);
    if (!m.stdout.includes("Stage 'big' didn't change, skipping"))
      problems.push(`mlv repro of the unchanged big-folder stage printed ${m.stdout.trim().slice(-300)}`);
    reps.push({ mlv: m, base: f });
  }
  record(
    "17e",
    `pipeline repro, unchanged, one output folder of ${files.toLocaleString("en-US")} files`,
    "find -printf",
    4.0,
    "`mlv repro` of a stage whose output is one folder of all the files (set up by `mlv repro`), vs `find data -printf` over it.",
    reps,
  );
  if (!opts.keep) rmSync(dir, { recursive: true, force: true });
  if (problems.length > 0) {
    ctx.rows[ctx.rows.length - 1].verdict = "WRONG ANSWER (see FAILED)";
    throw new BenchError(problems.join("\n"));
  }
}
