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
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";

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

/** The DVC installed by ../shared/dvc/install.sh (same lookup as test-fixtures/dvc-peer.ts). */
function findDvc() {
  const cache = process.env.XDG_CACHE_HOME || join(process.env.HOME || os.homedir(), ".cache");
  const bin = process.env.DVC_BIN || join(cache, "mlv-dvc-peer", "dvc-3.64.0", "bin", "dvc");
  return existsSync(bin) ? bin : undefined;
}

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
  const { opts, runCase, record, rows, measure, mlvMeasure, sh, log, BenchError, base, q } = ctx;
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
    const what = `\`mlv status --json\` on a committed DVC pipeline (${PRODUCERS} stages each writing a folder of ${perStage} files of 20-220 bytes, ${PRODUCERS} stages each reading one folder; dvc.yaml, dvc.lock and the cache written by DVC 3.64's \`dvc repro\`), after one untimed run of each tool`;
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
    if (!opts.keep) rmSync(dir, { recursive: true, force: true });
    const problems = wrong.filter(Boolean);
    if (problems.length > 0) {
      // The figures stay in the table, marked: a fast wrong answer is no result.
      for (const row of rows.slice(-2)) row.verdict = "WRONG ANSWER (see FAILED)";
      throw new BenchError(problems.join("\n"));
    }
  });
}
