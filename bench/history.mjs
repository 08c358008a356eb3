#!/usr/bin/env node
// History cases of the benchmark: a generated repository of 2,000 commits, each changing a few of
// 100 tracked files, with every object in the cache and in a local remote. Measured, side by side
// with `git log --all --format=%H` over the same repository (target: each under 10x its time):
//   - `mlv gc -A --dry`      every commit's pointers read and the cache walked, nothing removed
//   - `mlv versions FILE`    the versions of one tracked file through the whole history
//   - `mlv fetch -A`         every commit's objects looked up, all already cached: nothing to do
//
// The repository is built directly, not through mlv: pointer files and cache objects are written
// by this script and the commits streamed into `git fast-import`, then packed with `git repack -a -d`
// as a clone would have them.
//
// Standalone:  node bench/history.mjs [--commits N] [--files N] [--repeat N] [--keep]
// From run.mjs: const { rows, notes } = await runHistoryBench({ base, firstCase: 14, repeat, log, nodeArgs });
//   rows have run.mjs's shape: { case, mlvS, baseline, baseS, ratio, target, peak, verdict }.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { fmtMiB, fmtS, formatRows, median } from "./table.mjs";

const MiB = 1024 * 1024;
const TARGET = 10;
const PEAK_TARGET_MIB = 200;
const GNU_TIME = "/usr/bin/time";
const mlvBin = fileURLToPath(new URL("../apps/cli/dist/bin.cjs", import.meta.url));

class HistoryBenchError extends Error {}

const md5 = (data) => createHash("md5").update(data).digest("hex");

// Small deterministic PRNG: the same history on every run.
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function envFor(base) {
  const env = { ...process.env, LC_ALL: "C" };
  for (const k of Object.keys(env)) if (k.startsWith("GIT_") || k.startsWith("DVC_")) delete env[k];
  Object.assign(env, {
    GIT_AUTHOR_NAME: "mlv bench",
    GIT_AUTHOR_EMAIL: "bench@example.invalid",
    GIT_COMMITTER_NAME: "mlv bench",
    GIT_COMMITTER_EMAIL: "bench@example.invalid",
    GIT_CONFIG_NOSYSTEM: "1",
    HOME: join(base, "home"),
    DVC_GLOBAL_CONFIG_DIR: join(base, "dvc-global"),
    DVC_SYSTEM_CONFIG_DIR: join(base, "dvc-system"),
  });
  mkdirSync(env.HOME, { recursive: true });
  return env;
}

function run(cmd, args, cwd, env, input) {
  const r = spawnSync(cmd, args, { cwd, env, input, encoding: "utf8", maxBuffer: 256 * MiB });
  if (r.error) throw new HistoryBenchError(`${cmd} ${args.join(" ")}: ${r.error.message}`);
  if (r.status !== 0)
    throw new HistoryBenchError(`${cmd} ${args.join(" ")} (in ${cwd}) exited ${r.status}:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

function pointerText(hash, size, path) {
  return `outs:\n- md5: ${hash}\n  size: ${size}\n  hash: md5\n  path: ${path}\n`;
}

/**
 * Build the repository: `files` tracked files under data/, `commits` commits each changing 1-5 of
 * them (a tag every 100 commits), every object in .dvc/cache and in the remote folder.
 */
export function generateHistoryRepo(dir, remote, env, { commits = 2000, files = 100, log = () => {} } = {}) {
  log(`generating a repository of ${commits} commits over ${files} tracked files`);
  mkdirSync(dir, { recursive: true });
  mkdirSync(remote, { recursive: true });
  const cache = join(dir, ".dvc", "cache");
  const rnd = mulberry32(0x686973);
  const objects = new Set();
  const store = (hash, bytes) => {
    if (objects.has(hash)) return;
    objects.add(hash);
    const rel = join("files", "md5", hash.slice(0, 2), hash.slice(2));
    mkdirSync(join(cache, "files", "md5", hash.slice(0, 2)), { recursive: true });
    mkdirSync(join(remote, "files", "md5", hash.slice(0, 2)), { recursive: true });
    writeFileSync(join(cache, rel), bytes);
    chmodSync(join(cache, rel), 0o444);
    linkSync(join(cache, rel), join(remote, rel));
  };
  const name = (i) => `f${String(i).padStart(3, "0")}.bin`;
  const version = (i, v) => {
    const bytes = Buffer.from(`tracked file ${i}, version ${v}\n${"x".repeat(64 + ((i * 31 + v * 7) % 900))}\n`);
    const hash = md5(bytes);
    store(hash, bytes);
    return pointerText(hash, bytes.length, name(i));
  };

  const chunks = [];
  const blob = (path, text) => {
    const data = Buffer.from(text);
    chunks.push(`M 100644 inline ${path}\ndata ${data.length}\n`, data, "\n");
  };
  const start = 1704067200; // 2024-01-01
  const config = `[core]\n    remote = storage\n['remote "storage"']\n    url = ${remote}\n`;
  const versions = new Array(files).fill(0);
  for (let c = 0; c < commits; c++) {
    const when = `${start + c * 600} +0000`;
    const message = c === 0 ? "initial data" : `training run ${c}`;
    chunks.push(
      `commit refs/heads/main\nmark :${c + 1}\nauthor mlv bench <bench@example.invalid> ${when}\n` +
        `committer mlv bench <bench@example.invalid> ${when}\ndata ${Buffer.byteLength(message)}\n${message}\n`,
    );
    if (c === 0) {
      blob(".dvc/config", config);
      blob(".dvc/.gitignore", "/config.local\n/tmp\n/cache\n");
      blob(".dvcignore", "# mlv bench\n");
      blob("data/.gitignore", `${Array.from({ length: files }, (_, i) => `/${name(i)}`).join("\n")}\n`);
      for (let i = 0; i < files; i++) blob(`data/${name(i)}.dvc`, version(i, 0));
    } else {
      const changed = new Set();
      const n = 1 + Math.floor(rnd() * 5);
      while (changed.size < Math.min(n, files)) changed.add(Math.floor(rnd() * files));
      for (const i of changed) blob(`data/${name(i)}.dvc`, version(i, ++versions[i]));
    }
    chunks.push("\n");
    if ((c + 1) % 100 === 0)
      chunks.push(
        `tag v${(c + 1) / 100}.0\nfrom :${c + 1}\ntagger mlv bench <bench@example.invalid> ${when}\ndata 7\nrelease\n`,
      );
  }
  run("git", ["init", "-q", "-b", "main"], dir, env);
  const stream = Buffer.concat(chunks.map((c) => (typeof c === "string" ? Buffer.from(c) : c)));
  const r = spawnSync("git", ["fast-import", "--quiet"], { cwd: dir, env, input: stream, encoding: "utf8" });
  if (r.status !== 0) throw new HistoryBenchError(`git fast-import exited ${r.status}:\n${r.stderr}`);
  run("git", ["repack", "-a", "-d", "-q"], dir, env);
  run("git", ["reset", "-q", "--hard", "main"], dir, env);
  // The workspace holds the data of HEAD, checked out from the cache as `mlv checkout` would.
  run(process.execPath, [mlvBin, "checkout", "-q"], dir, env);
  log(`generated: ${commits} commits, ${objects.size} objects in the cache and the remote`);
  // The file changed most often: the one `mlv versions` is asked about.
  let busiest = 0;
  for (let i = 1; i < files; i++) if (versions[i] > versions[busiest]) busiest = i;
  return { objects: objects.size, file: `data/${name(busiest)}`, fileVersions: versions[busiest] + 1 };
}

/** One command under GNU time: { sec (Node clock), kib (max RSS), stdout }. */
function measure(label, cmd, args, cwd, env, base, log) {
  spawnSync("sync");
  const timeOut = join(base, "history-time.out");
  rmSync(timeOut, { force: true });
  const gnu = spawnSync(GNU_TIME, ["-f", "%e %M", "true"], { encoding: "utf8" }).status === 0;
  const argv = gnu ? [GNU_TIME, "-f", "%e %M", "-o", timeOut, cmd, ...args] : [cmd, ...args];
  const t = performance.now();
  const r = spawnSync(argv[0], argv.slice(1), { cwd, env, encoding: "utf8", maxBuffer: 256 * MiB });
  const sec = (performance.now() - t) / 1000;
  if (r.error || r.status !== 0)
    throw new HistoryBenchError(
      `${label} failed (exit ${r.status ?? r.signal}): ${r.error?.message ?? ""}${r.stdout}${r.stderr}`,
    );
  let kib = null;
  if (gnu) {
    const m = /(\d+(?:\.\d+)?) (\d+)\s*$/.exec(readFileSync(timeOut, "utf8"));
    if (m) kib = Number(m[2]);
  }
  log(`${label}: ${fmtS(sec)} s, ${fmtMiB(kib)} MiB`);
  return { sec, kib, stdout: r.stdout };
}

function row(n, name, reps) {
  const mlvS = median(reps.map((r) => r.mlv.sec));
  const baseS = median(reps.map((r) => r.base.sec));
  const peak = reps.some((r) => r.mlv.kib == null) ? null : Math.max(...reps.map((r) => r.mlv.kib));
  const ratio = baseS > 0 ? mlvS / baseS : Number.POSITIVE_INFINITY;
  const timeOk = ratio <= TARGET;
  const memOk = peak != null && peak / 1024 <= PEAK_TARGET_MIB;
  let verdict;
  if (timeOk && memOk) verdict = "meets target";
  else if (timeOk && peak == null) verdict = "time ok, memory unknown";
  else verdict = `MISSES (${[!timeOk && "time", !memOk && peak != null && "memory"].filter(Boolean).join(", ")})`;
  return {
    case: `${n}. ${name}`,
    mlvS: fmtS(mlvS),
    baseline: "git log --all",
    baseS: fmtS(baseS),
    ratio: Number.isFinite(ratio) ? ratio.toFixed(2) : "inf",
    target: `<= ${TARGET.toFixed(1)}`,
    peak: fmtMiB(peak),
    verdict,
  };
}

/**
 * Generate the repository under `base` (a fresh temporary folder when absent), measure the three
 * commands and the git baseline, and return `{ rows, notes }` in run.mjs's shapes. Throws
 * HistoryBenchError (message says which command) when a command fails or gives a wrong answer.
 */
export async function runHistoryBench(options = {}) {
  const { commits = 2000, files = 100, firstCase = 14, repeat = 1, nodeArgs = [], log = () => {} } = options;
  if (!existsSync(mlvBin)) throw new HistoryBenchError(`${mlvBin} is missing: build first`);
  const own = options.base === undefined;
  const base = own ? mkdtempSync(join(os.tmpdir(), "mlv-bench-history-")) : join(options.base, "history");
  mkdirSync(base, { recursive: true });
  try {
    const env = envFor(base);
    const repo = join(base, "repo");
    const remote = join(base, "remote");
    const gen = generateHistoryRepo(repo, remote, env, { commits, files, log });
    // Node reads every certificate of NODE_EXTRA_CA_CERTS when it starts, TLS or not (some machines
    // set it for a proxy); the "again" runs are also measured without it, when it is set.
    const caCerts = env.NODE_EXTRA_CA_CERTS;
    const plainEnv = { ...env };
    delete plainEnv.NODE_EXTRA_CA_CERTS;
    const mlv = (label, args, withEnv = env) =>
      measure(label, process.execPath, [...nodeArgs, mlvBin, ...args], repo, withEnv, base, log);
    const git = (withEnv = env) =>
      measure("git log --all --format=%H", "git", ["log", "--all", "--format=%H"], repo, withEnv, base, log);

    const cases = [
      {
        name: `gc -A --dry over ${commits.toLocaleString("en-US")} commits`,
        args: ["gc", "-A", "--dry"],
        check: (out) => {
          if (!/0 cache and 0 remote objects would be removed/.test(out))
            throw new HistoryBenchError(`mlv gc -A --dry would remove objects:\n${out.slice(0, 2000)}`);
        },
        note: `\`mlv gc -A --dry\`: the pointers of all ${commits} commits read from git (isomorphic-git), the cache of ${gen.objects} objects walked; every object is used, nothing would go.`,
      },
      {
        name: `versions of one file over ${commits.toLocaleString("en-US")} commits`,
        args: ["versions", gen.file, "--json"],
        check: (out) => {
          const n = JSON.parse(out).length;
          if (n !== gen.fileVersions)
            throw new HistoryBenchError(`mlv versions ${gen.file} listed ${n} versions, expected ${gen.fileVersions}`);
        },
        note: `\`mlv versions ${gen.file} --json\`: the ${gen.fileVersions} commits (of ${commits}) that changed its pointer, with tags, md5 and size.`,
      },
      {
        name: "fetch -A, all cached",
        args: ["fetch", "-A"],
        check: (out) => {
          if (/[1-9]\d* files? fetched/.test(out))
            throw new HistoryBenchError(`mlv fetch -A fetched something:\n${out}`);
        },
        note: `\`mlv fetch -A\` with every object of every commit already in the cache (and on the local remote): nothing to download.`,
      },
    ];
    const rows = [];
    const notes = [];
    mlv("warm-up mlv --version", ["--version"]);
    git();
    // A first run reads every commit from git and fills mlv's caches: the history index in
    // .dvc/tmp/mlv and V8's code cache in $HOME/.cache/mlv. Both are emptied before it, as on the
    // first command after a clone on a new machine; the runs after it use them.
    const forget = () => {
      rmSync(join(repo, ".dvc", "tmp", "mlv", "git-index.json"), { force: true });
      rmSync(join(env.HOME, ".cache", "mlv"), { recursive: true, force: true });
    };
    const measurePair = (c, withEnv = env) => {
      const base = git(withEnv);
      const lines = base.stdout.trim().split("\n").length;
      if (lines !== commits) throw new HistoryBenchError(`git log --all listed ${lines} commits, expected ${commits}`);
      const m = mlv(`mlv ${c.args.join(" ")}`, c.args, withEnv);
      c.check(m.stdout);
      return { mlv: m, base };
    };
    const runs = Math.max(repeat, 3);
    for (const [i, c] of cases.entries()) {
      forget();
      const first = [measurePair(c)];
      const again = [];
      for (let k = 0; k < runs; k++) again.push(measurePair(c));
      rows.push(row(`${firstCase + i}a`, `${c.name}, first run`, first));
      rows.push(row(`${firstCase + i}b`, `${c.name}, again`, again));
      if (caCerts !== undefined) {
        const plain = [];
        for (let k = 0; k < runs; k++) plain.push(measurePair(c, plainEnv));
        rows.push(row(`${firstCase + i}c`, `${c.name}, again, no NODE_EXTRA_CA_CERTS`, plain));
      }
      notes.push(
        `case ${firstCase + i}: ${c.note} Baseline \`git log --all --format=%H\` (${commits} commits, packed) peak ${fmtMiB(Math.max(...again.map((r) => r.base.kib ?? 0)))} MiB.`,
      );
    }
    // The library's own floor: isomorphic-git reading only the commits, what `git log --all` reads.
    const floorScript = fileURLToPath(new URL("./isogit-commits.cjs", import.meta.url));
    const floor = [];
    for (let k = 0; k < runs; k++) {
      const gitRun = git();
      const m = measure("isomorphic-git, commits only", process.execPath, [floorScript], repo, env, base, log);
      if (Number(m.stdout.trim()) !== commits)
        throw new HistoryBenchError(`isogit-commits.cjs read ${m.stdout.trim()} commits, expected ${commits}`);
      floor.push({ mlv: m, base: gitRun });
    }
    rows.push(
      row(`${firstCase}f`, `isomorphic-git alone, reading only the ${commits.toLocaleString("en-US")} commits`, floor),
    );
    notes.push(
      `case ${firstCase}f: the floor of a first read through isomorphic-git, which mlv must use: bench/isogit-commits.cjs reads every commit reachable from a branch or tag with isomorphic-git and nothing else (no tree, no blob), the work \`git log --all\` does, with one shared cache, git's files read once each and the pack fix mlv applies. The mlv column is its time; cases ${firstCase}a-${firstCase + cases.length - 1}a read the trees and pointer blobs too.`,
    );
    if (caCerts !== undefined) {
      const nodeStart = (withEnv) =>
        median(
          Array.from(
            { length: 5 },
            () => measure("node -e 0", process.execPath, ["-e", "0"], repo, withEnv, base, log).sec,
          ),
        );
      notes.push(
        `rows c: this machine sets NODE_EXTRA_CA_CERTS=${caCerts}, which Node parses at every start, before any of mlv's code runs: \`node -e 0\` takes ${fmtS(nodeStart(env))} s with it and ${fmtS(nodeStart(plainEnv))} s without. Rows c are rows b run without it (no TLS is used here); git is not affected.`,
      );
    }
    notes.push(
      `cases ${firstCase}a-${firstCase + cases.length - 1}a: the first run, with mlv's history index (.dvc/tmp/mlv/git-index.json) and V8 code cache (~/.cache/mlv) emptied: every commit, tree and pointer blob is read from git through isomorphic-git. Cases ${firstCase}b-${firstCase + cases.length - 1}b: the median of ${runs} runs after it, which read only refs from git. Each mlv run is timed with its own \`git log\` run next to it.`,
    );
    notes.push(
      `cases ${firstCase}-${firstCase + cases.length - 1}: repository generated with git fast-import (${commits} commits, each changing 1-5 of ${files} tracked files, a tag every 100 commits), then \`git repack -a -d\`.`,
    );
    return { rows, notes };
  } finally {
    if (own && !options.keep) rmSync(base, { recursive: true, force: true });
    else if (own) log(`kept ${base}`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const opts = { commits: 2000, files: 100, repeat: 1, keep: false };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === "--keep") opts.keep = true;
    else if (["--commits", "--files", "--repeat"].includes(flag)) {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 1) {
        process.stderr.write(`bench/history: ${flag} needs a positive integer\n`);
        process.exit(2);
      }
      opts[flag.slice(2)] = n;
    } else {
      process.stderr.write("usage: node bench/history.mjs [--commits N] [--files N] [--repeat N] [--keep]\n");
      process.exit(2);
    }
  }
  const t0 = performance.now();
  const log = (msg) =>
    process.stderr.write(`[history ${((performance.now() - t0) / 1000).toFixed(0).padStart(4)}s] ${msg}\n`);
  try {
    const { rows, notes } = await runHistoryBench({ ...opts, log });
    process.stdout.write(`\n${formatRows(rows)}\n\nnotes:\n${notes.map((n) => `  - ${n}`).join("\n")}\n`);
  } catch (e) {
    if (!(e instanceof HistoryBenchError)) throw e;
    process.stderr.write(`bench/history: FAILED: ${e.message}\n`);
    process.exit(1);
  }
}

export { HistoryBenchError };
