#!/usr/bin/env node
// `npm run bench`: mlv's wall time and peak memory side by side with a baseline tool on the same
// generated data (md5sum + cp, git add, find -printf, cp -r), in a temporary folder that is removed
// at the end. It is a report, not a test: it exits 0 when targets are missed and non-zero only when
// a command failed (or the machine cannot run it, e.g. not enough free disk).
//
//   node bench/run.mjs [--files N] [--big-mib N] [--only case1,case3] [--repeat N] [--keep]
//                      [--node-arg ARG]...
//
// Each command runs under GNU time (`/usr/bin/time -f '%e %M'`: elapsed seconds, max RSS KiB),
// mlv and baseline alike; wall time is taken from the Node clock around the spawn (finer). The page cache cannot be dropped without privileges, so both sides run on
// a warm cache instead: the input data is read once before every measured command, and `sync` runs
// (untimed) before each one so that nobody pays for the previous command's dirty pages.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statfsSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import os from "node:os";
import { join } from "node:path";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const PEAK_TARGET_MIB = 200;
const FILES_PER_FOLDER = 500;

// ---------------------------------------------------------------------------------------------
// options
// ---------------------------------------------------------------------------------------------
const USAGE = `usage: node bench/run.mjs [--files N] [--big-mib N] [--only case1,case3] [--repeat N] [--keep]
  --files N     small files in the folder cases 2-5 (default 50000, 1-8 KiB each, ${FILES_PER_FOLDER} per subfolder)
  --big-mib N   size of the big file in case 1, in MiB (default 1024)
  --only LIST   run only these cases: case1..case5 (or 1..5), comma-separated
  --repeat N    measure each command N times and report the median (default 1)
  --keep        keep the temporary folder (for debugging)
  --node-arg A  pass a flag to the node process that runs mlv (repeatable), e.g.
                --node-arg=--cpu-prof --node-arg=--cpu-prof-dir=/tmp/prof
quick run: node bench/run.mjs --files 5000 --big-mib 128`;

function parseArgs(argv) {
  const opts = { files: 50000, bigMib: 1024, only: null, repeat: 1, keep: false, nodeArgs: [] };
  const positiveInt = (name, v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) usageError(`${name} needs a positive integer, got ${JSON.stringify(v)}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let value;
    const eq = arg.indexOf("=");
    if (arg.startsWith("--") && eq > 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const next = () => {
      if (value !== undefined) return value;
      if (i + 1 >= argv.length) usageError(`${arg} needs a value`);
      return argv[++i];
    };
    switch (arg) {
      case "--files":
        opts.files = positiveInt(arg, next());
        break;
      case "--big-mib":
        opts.bigMib = positiveInt(arg, next());
        break;
      case "--repeat":
        opts.repeat = positiveInt(arg, next());
        break;
      case "--only": {
        const set = new Set();
        for (const raw of next().split(",")) {
          const m = /^(?:case)?([1-5])$/i.exec(raw.trim());
          if (!m) usageError(`--only: unknown case ${JSON.stringify(raw)} (use case1..case5)`);
          set.add(Number(m[1]));
        }
        opts.only = set;
        break;
      }
      case "--keep":
        opts.keep = true;
        break;
      case "--node-arg":
        opts.nodeArgs.push(next());
        break;
      case "-h":
      case "--help":
        process.stdout.write(`${USAGE}\n`);
        process.exit(0);
        break;
      default:
        usageError(`unknown option ${arg}`);
    }
  }
  return opts;
}

function usageError(msg) {
  process.stderr.write(`bench: ${msg}\n${USAGE}\n`);
  process.exit(2);
}

const opts = parseArgs(process.argv.slice(2));
const selected = (n) => !opts.only || opts.only.has(n);

// ---------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------
const mlvBin = new URL("../apps/cli/dist/bin.js", import.meta.url).pathname;
const GNU_TIME = "/usr/bin/time";

class BenchError extends Error {}

const q = (s) => `'${String(s).replaceAll("'", `'\\''`)}'`;
const fmtS = (s) => (s == null ? "n/a" : s < 0.1 ? s.toFixed(3) : s.toFixed(2));
const fmtMiB = (kib) => (kib == null ? "n/a" : (kib / 1024).toFixed(0));
const fmtBytes = (b) => (b >= GiB ? `${(b / GiB).toFixed(1)} GiB` : `${(b / MiB).toFixed(0)} MiB`);

function median(xs) {
  const v = xs.filter((x) => x != null).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

function log(msg) {
  process.stderr.write(`[bench ${((performance.now() - t0) / 1000).toFixed(0).padStart(4)}s] ${msg}\n`);
}

/** Run a helper command (untimed); throw with its output when it fails. */
function sh(script, cwd, env = baseEnv) {
  const r = spawnSync("sh", ["-c", script], { cwd, env, encoding: "utf8", maxBuffer: 256 * MiB });
  if (r.error) throw new BenchError(`${script}: ${r.error.message}`);
  if (r.status !== 0) throw new BenchError(`${script} (in ${cwd}) exited ${r.status}:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

let haveGnuTime = false;
function checkGnuTime() {
  const r = spawnSync(GNU_TIME, ["-f", "%e %M", "true"], { encoding: "utf8" });
  haveGnuTime = r.status === 0 && /^\d+\.\d+ \d+\s*$/m.test(r.stderr);
}

/**
 * Run one measured command under GNU time: returns { sec, kib, stdout, stderr }.
 * Throws BenchError when it fails. Without GNU time, wall time comes from the clock and peak
 * memory is unknown.
 */
function measure(label, cmd, args, cwd, env) {
  sh("sync", cwd); // nobody pays for the previous command's dirty pages
  const timeOut = join(base, "time.out");
  rmSync(timeOut, { force: true });
  const argv = haveGnuTime ? [GNU_TIME, "-f", "%e %M", "-o", timeOut, cmd, ...args] : [cmd, ...args];
  const start = performance.now();
  const r = spawnSync(argv[0], argv.slice(1), {
    cwd,
    env,
    encoding: "utf8",
    maxBuffer: 256 * MiB,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const clock = (performance.now() - start) / 1000;
  if (r.error) throw new BenchError(`${label}: ${r.error.message}`);
  if (r.status !== 0 || r.signal) {
    const hint =
      r.status === 13 && cmd === process.execPath
        ? "\n(exit 13: Node left with a top-level await never settled: the event loop emptied while mlv was still waiting, e.g. on unref'd worker threads)"
        : "";
    throw new BenchError(
      `${label} failed (exit ${r.status ?? r.signal}): ${[cmd, ...args].join(" ")}\n${r.stdout}${r.stderr}`.trimEnd() +
        hint,
    );
  }
  const sec = clock;
  let kib = null;
  if (haveGnuTime) {
    const lines = readFileSync(timeOut, "utf8").trim().split("\n");
    const m = /^(\d+(?:\.\d+)?) (\d+)$/.exec(lines[lines.length - 1].trim());
    if (!m) throw new BenchError(`${label}: cannot read GNU time output: ${lines.join(" / ")}`);
    // Wall time from the Node clock around the spawn (GNU time's %e has only 10 ms resolution;
    // the two agree within a few ms, the cost of exec'ing /usr/bin/time, same for both sides).
    kib = Number(m[2]);
  }
  log(`${label}: ${fmtS(sec)} s, ${fmtMiB(kib)} MiB`);
  return { sec, kib, stdout: r.stdout, stderr: r.stderr };
}

const mlvMeasure = (label, args, cwd) =>
  measure(label, process.execPath, [...opts.nodeArgs, mlvBin, ...args], cwd, mlvEnv);
const shMeasure = (label, script, cwd, env = baseEnv) => measure(label, "sh", ["-c", script], cwd, env);

/** Run mlv untimed (set-up steps). */
function mlv(args, cwd) {
  const r = spawnSync(process.execPath, [...opts.nodeArgs, mlvBin, ...args], { cwd, env: mlvEnv, encoding: "utf8" });
  if (r.status !== 0)
    throw new BenchError(`mlv ${args.join(" ")} (in ${cwd}) exited ${r.status}:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

function countFiles(dir) {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) n++;
  return n;
}

/** Read a tree once so that the next command sees a warm page cache. */
function warmTree(...dirs) {
  for (const d of dirs) sh(`find ${q(d)} -type f -print0 | xargs -0 -r cat > /dev/null`, base);
}

// Small deterministic PRNG for file sizes and offsets (content itself comes from crypto).
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

// ---------------------------------------------------------------------------------------------
// set-up
// ---------------------------------------------------------------------------------------------
const t0 = performance.now();
if (!existsSync(mlvBin)) {
  process.stderr.write(`bench: ${mlvBin} is missing; build first (npm run bench builds it)\n`);
  process.exit(1);
}
checkGnuTime();

const tmpRoot = os.tmpdir();
const needCase1 = selected(1);
const needTree = [2, 3, 4, 5].some(selected);
const bigBytes = opts.bigMib * MiB;
// On-disk estimate: a 1-8 KiB file takes 1-2 blocks of 4 KiB, plus its directory entry; count 8 KiB.
// At most four copies of the tree exist at once (data, cache, remote, cp -r copy); the big file
// case needs three (file, cache, cp copy) and is cleaned up before the tree is generated.
const needBytes = Math.max(needCase1 ? 3 * bigBytes : 0, needTree ? 4 * opts.files * 8192 : 0) + 512 * MiB;
const needInodes = needTree ? 4 * Math.ceil(opts.files * 1.02) + 10000 : 10000;
{
  const fs = statfsSync(tmpRoot);
  const freeBytes = fs.bavail * fs.bsize;
  const freeInodes = fs.ffree;
  const inodesKnown = fs.files > 0; // some file systems (btrfs...) report 0 inodes: no limit known
  if (freeBytes < needBytes || (inodesKnown && freeInodes < needInodes)) {
    process.stderr.write(
      `bench: NOT ENOUGH FREE DISK in ${tmpRoot}: this run needs about ${fmtBytes(needBytes)} and ` +
        `${needInodes} inodes, there are ${fmtBytes(freeBytes)} and ${inodesKnown ? freeInodes : "?"} free.\n` +
        "Use smaller --files / --big-mib, fewer cases (--only), or point TMPDIR at a bigger disk.\n",
    );
    process.exit(1);
  }
}

const base = mkdtempSync(join(tmpRoot, "mlv-bench-"));
let cleaned = false;
function cleanup() {
  if (cleaned) return;
  cleaned = true;
  if (opts.keep) {
    process.stderr.write(`bench: kept ${base}\n`);
    return;
  }
  try {
    rmSync(base, { recursive: true, force: true, maxRetries: 3 });
  } catch (e) {
    process.stderr.write(`bench: could not remove ${base}: ${e.message}\n`);
  }
}
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(sig, () => {
    process.stderr.write(`bench: ${sig}, cleaning up\n`);
    cleanup();
    process.exit(130);
  });
}

const baseEnv = { ...process.env, LC_ALL: "C" };
for (const k of Object.keys(baseEnv)) if (k.startsWith("GIT_") || k.startsWith("DVC_")) delete baseEnv[k];
Object.assign(baseEnv, {
  GIT_AUTHOR_NAME: "mlv bench",
  GIT_AUTHOR_EMAIL: "bench@example.invalid",
  GIT_COMMITTER_NAME: "mlv bench",
  GIT_COMMITTER_EMAIL: "bench@example.invalid",
  GIT_CONFIG_NOSYSTEM: "1",
  HOME: join(base, "home"), // no user git config (hooks, fsmonitor...) on either side
});
const mlvEnv = {
  ...baseEnv,
  DVC_GLOBAL_CONFIG_DIR: join(base, "dvc-global"),
  DVC_SYSTEM_CONFIG_DIR: join(base, "dvc-system"),
};
mkdirSync(baseEnv.HOME);

function freshMlvRepo(dir, remote) {
  for (const name of [".git", ".dvc", ".dvcignore", ".gitignore"])
    rmSync(join(dir, name), { recursive: true, force: true });
  for (const name of readdirSync(dir)) if (name.endsWith(".dvc")) rmSync(join(dir, name), { force: true });
  sh("git init -q", dir);
  mlv(["init", "-q"], dir);
  if (remote) mlv(["remote", "add", "-d", "storage", remote], dir);
}

function machineInfo() {
  const cpus = os.cpus();
  const first = (cmd) => {
    const r = spawnSync("sh", ["-c", cmd], { encoding: "utf8", env: baseEnv });
    return r.status === 0 ? r.stdout.trim().split("\n")[0] : "?";
  };
  const mlvVersion = first(`${q(process.execPath)} ${q(mlvBin)} --version`);
  return [
    `machine: ${cpus.length} cores (${cpus[0]?.model?.trim() ?? "?"}), ${fmtBytes(os.totalmem())} RAM, ${os.type()} ${os.release()}`,
    `node ${process.version}, mlv ${mlvVersion}, ${first("git --version")}, ${first("md5sum --version")}`,
    `data in ${base} (file system: ${first(`stat -f -c %T ${q(base)}`)})`,
  ];
}

// ---------------------------------------------------------------------------------------------
// cases
// ---------------------------------------------------------------------------------------------
const rows = [];
const notes = [];
let failed = null;

function record(n, name, baseline, target, note, reps) {
  const mlvS = median(reps.map((r) => r.mlv.sec));
  const baseS = median(reps.map((r) => r.base.sec));
  const mlvPeak = reps.some((r) => r.mlv.kib == null) ? null : Math.max(...reps.map((r) => r.mlv.kib));
  const basePeak = reps.some((r) => r.base.kib == null) ? null : Math.max(...reps.map((r) => r.base.kib));
  const ratio = baseS > 0 ? mlvS / baseS : Number.POSITIVE_INFINITY;
  const timeOk = ratio <= target;
  const memOk = mlvPeak != null && mlvPeak / 1024 <= PEAK_TARGET_MIB;
  let verdict;
  if (timeOk && memOk) verdict = "meets target";
  else if (timeOk && mlvPeak == null) verdict = "time ok, memory unknown";
  else verdict = `MISSES (${[!timeOk && "time", !memOk && mlvPeak != null && "memory"].filter(Boolean).join(", ")})`;
  rows.push({
    case: `${n}. ${name}`,
    mlvS: fmtS(mlvS),
    baseline,
    baseS: fmtS(baseS),
    ratio: Number.isFinite(ratio) ? ratio.toFixed(2) : "inf",
    target: `<= ${target.toFixed(1)}`,
    peak: fmtMiB(mlvPeak),
    verdict,
  });
  notes.push(`case ${n}: ${note} Baseline peak ${fmtMiB(basePeak)} MiB.`);
}

function runCase(n, fn) {
  if (!selected(n) || failed) return;
  try {
    fn();
  } catch (e) {
    if (!(e instanceof BenchError)) throw e;
    failed = `case ${n}: ${e.message}`;
    log(`FAILED ${failed}`);
  }
}

const info = machineInfo();
for (const line of info) log(line);
mlv(["--version"], base); // load the binary once so that its files are in the page cache

// -- case 1: one big file -----------------------------------------------------------------------
runCase(1, () => {
  const repo = join(base, "big");
  const file = join(repo, "model.bin");
  const dest = join(base, "big-copy.bin");
  mkdirSync(repo);
  log(`generating ${fmtBytes(bigBytes)} of random bytes`);
  {
    const chunk = randomBytes(Math.min(64 * MiB, bigBytes));
    const fd = openSync(file, "w");
    try {
      for (let left = bigBytes; left > 0; left -= chunk.length) writeSync(fd, chunk, 0, Math.min(left, chunk.length));
    } finally {
      closeSync(fd);
    }
  }
  const reps = [];
  for (let i = 0; i < opts.repeat; i++) {
    freshMlvRepo(repo);
    sh(`cat ${q(file)} > /dev/null`, base);
    const b = shMeasure("case1 baseline md5sum + cp", `md5sum ${q(file)} && cp ${q(file)} ${q(dest)}`, repo);
    rmSync(dest, { force: true });
    sh(`cat ${q(file)} > /dev/null`, base);
    const m = mlvMeasure("case1 mlv add", ["add", "model.bin"], repo);
    const pointer = readFileSync(join(repo, "model.bin.dvc"), "utf8");
    const want = b.stdout.split(/\s/)[0];
    if (!pointer.includes(`md5: ${want}`))
      throw new BenchError(`model.bin.dvc does not record md5 ${want}:\n${pointer}`);
    reps.push({ mlv: m, base: b });
  }
  record(
    1,
    `add one ${fmtBytes(bigBytes)} file`,
    "md5sum + cp",
    1.0,
    `\`mlv add FILE\` (hash + copy into .dvc/cache, default link type) vs \`md5sum FILE && cp FILE DEST\`; the md5 in the .dvc file is checked against md5sum's.`,
    reps,
  );
  rmSync(repo, { recursive: true, force: true });
});

// -- cases 2-5: a folder of many small files ----------------------------------------------------
const treeRepo = join(base, "tree");
const dataDir = join(treeRepo, "data");
const remoteDir = join(base, "remote");
const copyDir = join(base, "tree-copy");
const folders = Math.max(1, Math.ceil(opts.files / FILES_PER_FOLDER));
let treeState = "none"; // none -> fresh -> added -> pushed
let treeBytes = 0;

function ensureTree() {
  if (treeState !== "none") return;
  log(`generating ${opts.files} files of 1-8 KiB in ${folders} folders`);
  mkdirSync(treeRepo);
  const pool = randomBytes(16 * MiB);
  const rnd = mulberry32(0x6d6c76);
  for (let i = 0; i < opts.files; i++) {
    const folder = join(dataDir, `d${String(i % folders).padStart(3, "0")}`);
    if (i < folders) mkdirSync(folder, { recursive: true });
    const size = 1024 + Math.floor(rnd() * (7 * 1024 + 1));
    const header = Buffer.from(`file ${i}\n`);
    const off = Math.floor(rnd() * (pool.length - size));
    const body = pool.subarray(off, off + size - header.length);
    writeFileSync(join(folder, `f${String(i).padStart(6, "0")}.bin`), Buffer.concat([header, body]));
    treeBytes += size;
  }
  sh("sync", base);
  freshMlvRepo(treeRepo, remoteDir);
  treeState = "fresh";
}
function ensureAdded() {
  ensureTree();
  if (treeState !== "fresh") return;
  log("set-up: mlv add data (untimed)");
  mlv(["add", "data"], treeRepo);
  treeState = "added";
}
function ensurePushed() {
  ensureAdded();
  if (treeState !== "added") return;
  log("set-up: mlv push (untimed)");
  mlv(["push"], treeRepo);
  treeState = "pushed";
}
function checkPointer() {
  const pointer = readFileSync(join(treeRepo, "data.dvc"), "utf8");
  if (!pointer.includes(`nfiles: ${opts.files}\n`))
    throw new BenchError(`data.dvc does not record ${opts.files} files:\n${pointer}`);
}
const treeName = () => `${opts.files} files, ${fmtBytes(treeBytes)}`;

runCase(2, () => {
  ensureTree();
  const gitBase = join(base, "git-baseline");
  const reps = [];
  for (let i = 0; i < opts.repeat; i++) {
    if (treeState !== "fresh") freshMlvRepo(treeRepo, remoteDir);
    treeState = "fresh";
    rmSync(gitBase, { recursive: true, force: true });
    sh(`git init -q ${q(gitBase)}`, base);
    warmTree(dataDir);
    const gitEnv = { ...baseEnv, GIT_DIR: join(gitBase, ".git"), GIT_WORK_TREE: treeRepo };
    const b = measure("case2 baseline git add", "git", ["add", "data"], treeRepo, gitEnv);
    rmSync(gitBase, { recursive: true, force: true });
    warmTree(dataDir);
    const m = mlvMeasure("case2 mlv add", ["add", "data"], treeRepo);
    treeState = "added";
    checkPointer();
    reps.push({ mlv: m, base: b });
  }
  record(
    2,
    `add folder (${treeName()})`,
    "git add",
    1.0,
    `\`mlv add DIR\` (hash every file, copy into .dvc/cache, write the .dir manifest) vs \`git add DIR\` in a fresh git repository (only \`git add\` timed).`,
    reps,
  );
});

runCase(3, () => {
  ensureAdded();
  checkPointer();
  const reps = [];
  for (let i = 0; i < opts.repeat; i++) {
    warmTree(dataDir);
    const b = shMeasure(
      "case3 baseline find -printf",
      `find ${q(dataDir)} -printf '%s %T@ %p\\n' > /dev/null`,
      treeRepo,
    );
    const m = mlvMeasure("case3 mlv status", ["status"], treeRepo);
    if (!/up to date/i.test(m.stdout))
      throw new BenchError(`mlv status reports changes on an unchanged folder:\n${m.stdout}`);
    reps.push({ mlv: m, base: b });
  }
  record(
    3,
    "status, folder unchanged",
    "find -printf",
    4.0,
    `\`mlv status\` right after the add (nothing changed; it must say up to date) vs \`find DIR -printf '%s %T@ %p\\n' > /dev/null\` (stat of every file).`,
    reps,
  );
});

runCase(4, () => {
  ensureAdded();
  const reps = [];
  for (let i = 0; i < opts.repeat; i++) {
    rmSync(remoteDir, { recursive: true, force: true });
    rmSync(copyDir, { recursive: true, force: true });
    warmTree(dataDir);
    const b = shMeasure("case4 baseline cp -r", `cp -r ${q(dataDir)} ${q(copyDir)}`, base);
    rmSync(copyDir, { recursive: true, force: true });
    warmTree(join(treeRepo, ".dvc", "cache"));
    const m = mlvMeasure("case4 mlv push", ["push"], treeRepo);
    treeState = "pushed";
    const objects = countFiles(remoteDir);
    if (objects < opts.files + 1)
      throw new BenchError(`the remote holds ${objects} objects after push, expected ${opts.files + 1}`);
    reps.push({ mlv: m, base: b });
  }
  record(
    4,
    "push folder to a local remote",
    "cp -r",
    1.5,
    "`mlv push` to an empty remote folder (`mlv remote add -d storage DIR`) vs `cp -r DIR` into a fresh folder; both read a warm cache.",
    reps,
  );
});

runCase(5, () => {
  ensurePushed();
  const reps = [];
  for (let i = 0; i < opts.repeat; i++) {
    rmSync(copyDir, { recursive: true, force: true });
    warmTree(dataDir);
    const b = shMeasure("case5 baseline cp -r", `cp -r ${q(dataDir)} ${q(copyDir)}`, base);
    rmSync(copyDir, { recursive: true, force: true });
    rmSync(join(treeRepo, ".dvc", "cache"), { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
    warmTree(remoteDir);
    const m = mlvMeasure("case5 mlv pull", ["pull"], treeRepo);
    const n = existsSync(dataDir) ? countFiles(dataDir) : 0;
    if (n !== opts.files) throw new BenchError(`after pull the folder holds ${n} files, expected ${opts.files}`);
    reps.push({ mlv: m, base: b });
  }
  record(
    5,
    "pull folder from a local remote",
    "cp -r",
    1.5,
    "`mlv pull` after deleting .dvc/cache and the folder (fetch into the cache, verify md5, check out by copy) vs `cp -r DIR` into a fresh folder.",
    reps,
  );
});

// ---------------------------------------------------------------------------------------------
// report
// ---------------------------------------------------------------------------------------------
cleanup();

function table(list) {
  const cols = [
    ["case", "case"],
    ["mlv s", "mlvS"],
    ["baseline", "baseline"],
    ["baseline s", "baseS"],
    ["ratio", "ratio"],
    ["target", "target"],
    ["mlv peak MiB", "peak"],
    ["verdict", "verdict"],
  ];
  const widths = cols.map(([h, k]) => Math.max(h.length, ...list.map((r) => r[k].length)));
  const numeric = new Set(["mlvS", "baseS", "ratio", "peak"]);
  const line = (cells) => `| ${cells.join(" | ")} |`;
  const out = [line(cols.map(([h], i) => h.padEnd(widths[i])))];
  out.push(line(widths.map((w) => "-".repeat(w))));
  for (const r of list) {
    out.push(line(cols.map(([, k], i) => (numeric.has(k) ? r[k].padStart(widths[i]) : r[k].padEnd(widths[i])))));
  }
  return out.join("\n");
}

const total = (performance.now() - t0) / 1000;
const report = [
  "",
  "mlv benchmark",
  ...info.map((l) => `  ${l}`),
  `  ${opts.files} small files, big file ${fmtBytes(bigBytes)}, repeat ${opts.repeat}${opts.repeat > 1 ? " (median time, max peak)" : ""}, total ${total.toFixed(0)} s`,
  ...(opts.nodeArgs.length ? [`  mlv run as: node ${opts.nodeArgs.join(" ")} bin.js ...`] : []),
  "",
  rows.length ? table(rows) : "(no case completed)",
  "",
  "notes:",
  ...notes.map((n) => `  - ${n}`),
  `  - Targets: ratio = mlv s / baseline s at most the target, and mlv peak memory at most ${PEAK_TARGET_MIB} MiB.`,
  haveGnuTime
    ? "  - Every command (mlv and baseline alike) runs under `/usr/bin/time -f '%e %M'`: peak memory is its max RSS (largest process, worker threads included); wall time is the Node clock around the spawn (finer than %e's 10 ms)."
    : "  - GNU time (/usr/bin/time) is not available: wall time from the Node clock, peak memory unknown.",
  "  - Page cache: not dropped (that needs root). Both sides run warm: the input is read once (cat) before each measured command; `sync` runs untimed before each one.",
  "  - Generated data: random bytes; the folder has files of 1-8 KiB (a unique header + a slice of a random pool) in subfolders of 500.",
];
if (failed) report.push("", `FAILED: ${failed}`);
process.stdout.write(`${report.join("\n")}\n`);
process.exit(failed ? 1 : 0);
