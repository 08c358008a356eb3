#!/usr/bin/env node
// `npm run bench`: mlv's wall time and peak memory side by side with a baseline tool on the same
// generated data (md5sum + cp, git add, find -printf, cp -r, awscli against a local moto S3 server,
// rclone over SFTP, git log, and the real DVC's `dvc status` on a pipeline it reproduced),
// in a temporary folder that is removed at the end. It is a report, not a test: it exits 0 when targets are missed and non-zero only when
// a command failed (or the machine cannot run it, e.g. not enough free disk).
//
//   node bench/run.mjs [--files N] [--big-mib N] [--only case1,case3] [--repeat N] [--keep]
//                      [--node-arg ARG]...
//
// Each command runs under GNU time (`/usr/bin/time -f '%e %M'`: elapsed seconds, max RSS KiB),
// mlv and baseline alike; wall time is taken from the Node clock around the spawn (finer). The page cache cannot be dropped without privileges, so both sides run on
// a warm cache instead: the input data is read once before every measured command, and `sync` runs
// (untimed) before each one so that nobody pays for the previous command's dirty pages.
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statfsSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import { join } from "node:path";
import { fmtMiB, fmtS, formatRows, median } from "./table.mjs";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const PEAK_TARGET_MIB = 200;
/** The S3 cases (6-9) hold SDK buffers and multipart parts: their peak memory target. */
const S3_PEAK_TARGET_MIB = 300;
const S3_BUCKET = "mlv-bench";
const LAST_CASE = 19;
/** Files of the image-dataset case (19) when --many is not given. */
const MANY_FILES = 100000;
/** Files of the pipeline case (17) when --files is not given. */
const PIPELINE_FILES = 20000;
const FILES_PER_FOLDER = 500;

// ---------------------------------------------------------------------------------------------
// options
// ---------------------------------------------------------------------------------------------
const USAGE = `usage: node bench/run.mjs [--files N] [--big-mib N] [--only case1,case3] [--repeat N] [--keep]
  --files N     small files in the folder cases 2-7 (default 50000, 1-8 KiB each, ${FILES_PER_FOLDER} per subfolder)
                and in the pipeline of case 17 (default ${PIPELINE_FILES})
  --many N      files of 1-64 KiB in the image-dataset case 19 (default ${MANY_FILES}), against the real DVC
  --big-mib N   size of the big file in cases 1, 8 and 9, in MiB (default 1024)
  --only LIST   run only these cases: case1..case${LAST_CASE} (or 1..${LAST_CASE}), comma-separated
                (cases 6-9 start a moto S3 server, python3 -m moto.server, and compare with awscli;
                case 17 needs the real DVC: bash ../shared/dvc/install.sh, or DVC_BIN;
                case 18 starts nginx and compares with curl and the real DVC;
                case 19 needs the real DVC, moto and awscli, and compares with cp -r and aws s3 cp too)
  --repeat N    measure each command N times and report the median (default 1)
  --keep        keep the temporary folder (for debugging)
  --node-arg A  pass a flag to the node process that runs mlv (repeatable), e.g.
                --node-arg=--cpu-prof --node-arg=--cpu-prof-dir=/tmp/prof
quick run: node bench/run.mjs --files 5000 --big-mib 128`;

function parseArgs(argv) {
  const opts = {
    files: 50000,
    filesGiven: false,
    many: MANY_FILES,
    bigMib: 1024,
    only: null,
    repeat: 1,
    keep: false,
    nodeArgs: [],
  };
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
        opts.filesGiven = true;
        break;
      case "--many":
        opts.many = positiveInt(arg, next());
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
          const m = /^(?:case)?(\d+)$/i.exec(raw.trim());
          if (!m || Number(m[1]) < 1 || Number(m[1]) > LAST_CASE)
            usageError(`--only: unknown case ${JSON.stringify(raw)} (use case1..case${LAST_CASE})`);
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
const mlvBin = new URL("../apps/cli/dist/bin.cjs", import.meta.url).pathname;
const benchDir = new URL(".", import.meta.url).pathname;
const GNU_TIME = "/usr/bin/time";

class BenchError extends Error {}

const q = (s) => `'${String(s).replaceAll("'", `'\\''`)}'`;
const fmtBytes = (b) => (b >= GiB ? `${(b / GiB).toFixed(1)} GiB` : `${(b / MiB).toFixed(0)} MiB`);

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

/** `bytes` random bytes (a 64 MiB random block repeated) into `file`. */
function writeRandomFile(file, bytes) {
  log(`generating ${fmtBytes(bytes)} of random bytes`);
  const chunk = randomBytes(Math.min(64 * MiB, bytes));
  const fd = openSync(file, "w");
  try {
    for (let left = bytes; left > 0; left -= chunk.length) writeSync(fd, chunk, 0, Math.min(left, chunk.length));
  } finally {
    closeSync(fd);
  }
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
const needTree = [2, 3, 4, 5, 6, 7].some(selected);
const needS3Tree = [6, 7].some(selected);
const needS3Big = [8, 9].some(selected);
const needPipeline = selected(17);
const needHttp = selected(18);
const needMany = selected(19);
const pipelineFiles = opts.filesGiven ? opts.files : PIPELINE_FILES;
const bigBytes = opts.bigMib * MiB;
// On-disk estimate: a 1-8 KiB file takes 1-2 blocks of 4 KiB, plus its directory entry; count 8 KiB.
// At most four copies of the tree exist at once (data, cache, remote, cp -r copy), six with the S3
// cases (moto keeps awscli's and mlv's uploads, in memory or spilled to its temporary folder); the
// big file case needs three (file, cache, cp copy), five for S3, and is cleaned up before the tree.
// The pipeline (case 17) has two copies of its files (workspace, cache) while the tree is still there.
// The HTTP case (18) holds four copies of the big file (cache, server, clone's cache and workspace),
// then seven of its 20,000 small files (workspace, cache, server, two clones' caches and workspaces).
// The image-dataset case (19) holds, per tool, its files in the workspace, the cache, a remote and a
// clone's workspace and cache (files of 1-64 KiB: 36 KiB on disk on average), ten copies in all,
// and the local part's remotes and clones stay (set aside, see discard) during the S3 part: sixteen.
// Its floor rows add five: the cp -r copy of the cache (19b2), the two cp -r copies of the remote
// (19c2), awscli's prefix on moto (19d2) and its download (19e2): twenty-one.
// Trees set aside in cases 4-7 and 10-11 stay too: seven more copies of the tree per repeat (case 5
// sets aside its floor's two copies besides the cp -r copy, the cache and the folder).
const needBytes =
  Math.max(
    needCase1 ? 3 * bigBytes : 0,
    needS3Big ? 5 * bigBytes : 0,
    needHttp ? 4 * bigBytes : 0,
    needTree ? ((needS3Tree ? 6 : 4) + 7 * opts.repeat) * opts.files * 8192 : 0,
  ) +
  (needPipeline ? 2 * pipelineFiles * 8192 : 0) +
  (needHttp ? 7 * 20000 * 8192 : 0) +
  (needMany ? 21 * opts.many * 36 * 1024 : 0) +
  512 * MiB;
const needInodes =
  (needTree ? (4 + 7 * opts.repeat) * Math.ceil(opts.files * 1.02) : 0) +
  (needPipeline ? 2 * pipelineFiles + 1000 : 0) +
  (needHttp ? 7 * 21000 : 0) +
  (needMany ? 21 * Math.ceil(opts.many * 1.01) : 0) +
  10000;
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
  stopMoto();
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
for (const k of Object.keys(baseEnv))
  if (k.startsWith("GIT_") || k.startsWith("DVC_") || k.startsWith("AWS_")) delete baseEnv[k];
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

// Trees are set aside, not deleted, until the end of the run. ext4 passes over the inodes of files
// deleted in the last minutes when it creates new ones, so whatever command runs right after
// deleting 100,000 files spends most of its time in the kernel looking for a free inode: a measured
// pull after such a deletion took up to 3x as long, with `recently_deleted` and
// `find_get_block_common` on top of the profile. Renaming a tree frees nothing.
let discarded = 0;
function discard(path) {
  if (!existsSync(path)) return;
  const trash = join(base, "discarded");
  mkdirSync(trash, { recursive: true });
  renameSync(path, join(trash, String(discarded++)));
}

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

function record(n, name, baseline, target, note, reps, peakTarget = PEAK_TARGET_MIB) {
  const mlvS = median(reps.map((r) => r.mlv.sec));
  const baseS = median(reps.map((r) => r.base.sec));
  const mlvPeak = reps.some((r) => r.mlv.kib == null) ? null : Math.max(...reps.map((r) => r.mlv.kib));
  const basePeak = reps.some((r) => r.base.kib == null) ? null : Math.max(...reps.map((r) => r.base.kib));
  const ratio = baseS > 0 ? mlvS / baseS : Number.POSITIVE_INFINITY;
  const timeOk = ratio <= target;
  const memOk = mlvPeak != null && mlvPeak / 1024 <= peakTarget;
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
  writeRandomFile(file, bigBytes);
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
    // The floor: status must also find each cache object read-only (0444), or re-hash it (a
    // corrupt object is "not in cache"), so every file is stat'ed twice.
    const cacheFiles = join(treeRepo, ".dvc", "cache", "files");
    warmTree(cacheFiles);
    const b2 = shMeasure(
      "case3 floor find -printf, folder and cache",
      `find ${q(dataDir)} ${q(cacheFiles)} -printf '%s %T@ %m %p\\n' > /dev/null`,
      treeRepo,
    );
    // The same stats from Node, two threads and nothing else: what Node itself costs.
    const b3 = shMeasure(
      "case3 floor node, two threads of stat",
      `${q(process.execPath)} ${q(join(benchDir, "node-stat-floor.cjs"))} ${q(dataDir)} ${q(cacheFiles)} > /dev/null`,
      treeRepo,
    );
    const m = mlvMeasure("case3 mlv status", ["status"], treeRepo);
    if (!/up to date/i.test(m.stdout))
      throw new BenchError(`mlv status reports changes on an unchanged folder:\n${m.stdout}`);
    reps.push({ mlv: m, base: b, floor: b2, nodeFloor: b3 });
  }
  record(
    3,
    "status, folder unchanged",
    "find -printf",
    3.0,
    `\`mlv status\` right after the add (nothing changed; it must say up to date) vs \`find DIR -printf '%s %T@ %p\\n' > /dev/null\` (stat of every file).`,
    reps,
  );
  record(
    "3b",
    "status, folder unchanged, against find over the cache too",
    "find -printf x2",
    1.5,
    `The \`mlv status\` of case 3 vs \`find DIR CACHE/files -printf '%s %T@ %m %p\\n'\`: status also checks that every cache object is read-only (a cache object with another mode must be re-hashed: DVC's rule), so it stats each file twice.`,
    reps.map((r) => ({ mlv: r.mlv, base: r.floor })),
  );
  record(
    "3c",
    "status, folder unchanged, against Node stat'ing both",
    "node, 2 threads",
    1.5,
    "The `mlv status` of case 3 vs bench/node-stat-floor.cjs: Node starting two worker threads that stat every file of the folder and of the cache, and nothing else (Node 20 builds a Stats object with four Dates for each).",
    reps.map((r) => ({ mlv: r.mlv, base: r.nodeFloor })),
  );
});

runCase(4, () => {
  ensureAdded();
  const reps = [];
  for (let i = 0; i < opts.repeat; i++) {
    discard(remoteDir);
    discard(copyDir);
    warmTree(dataDir);
    const b = shMeasure("case4 baseline cp -r", `cp -r ${q(dataDir)} ${q(copyDir)}`, base);
    discard(copyDir);
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
    discard(copyDir);
    warmTree(dataDir);
    const b = shMeasure("case5 baseline cp -r", `cp -r ${q(dataDir)} ${q(copyDir)}`, base);
    discard(copyDir);
    // The floor of a pull: every file written twice, once into the cache and once into the workspace.
    warmTree(remoteDir);
    const twice = `${copyDir}-twice`;
    const b2 = shMeasure(
      "case5 floor cp -r twice",
      `cp -r ${q(remoteDir)} ${q(copyDir)} && cp -r ${q(copyDir)} ${q(twice)}`,
      base,
    );
    discard(copyDir);
    discard(twice);
    discard(join(treeRepo, ".dvc", "cache"));
    discard(dataDir);
    warmTree(remoteDir);
    const m = mlvMeasure("case5 mlv pull", ["pull"], treeRepo);
    const n = existsSync(dataDir) ? countFiles(dataDir) : 0;
    if (n !== opts.files) throw new BenchError(`after pull the folder holds ${n} files, expected ${opts.files}`);
    reps.push({ mlv: m, base: b, floor: b2 });
  }
  record(
    5,
    "pull folder from a local remote",
    "cp -r",
    1.5,
    "`mlv pull` after moving .dvc/cache and the folder away (fetch into the cache, verify md5, check out by copy) vs `cp -r DIR` into a fresh folder.",
    reps,
  );
  record(
    "5b",
    "pull folder from a local remote, against cp -r twice",
    "cp -r twice",
    1.5,
    "The `mlv pull` of case 5 vs `cp -r REMOTE DIR1 && cp -r DIR1 DIR2`: a pull writes each file twice (the cache and the workspace), so two copies are its floor.",
    reps.map((r) => ({ mlv: r.mlv, base: r.floor })),
  );
});

// -- cases 6-9: S3, against a local moto server, with awscli as the baseline -------------------
// One moto server (python3 -m moto.server) serves both sides; it is started on the first S3 case
// and stopped at the end. awscli gets fake credentials from AWS_* variables; mlv gets them only
// through `mlv remote modify`, as a user would set them.
let moto = null;
const awsEnv = {
  ...baseEnv,
  AWS_ACCESS_KEY_ID: "mlvbench",
  AWS_SECRET_ACCESS_KEY: "mlvbench-secret",
  AWS_DEFAULT_REGION: "us-east-1",
  AWS_EC2_METADATA_DISABLED: "true",
};

async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Start moto and create the bucket (once); throws BenchError when moto or awscli cannot run here. */
async function ensureMoto() {
  if (moto) return moto;
  for (const [cmd, args, hint] of [
    ["python3", ["-c", "import moto.server"], "pip install 'moto[server]'"],
    ["aws", ["--version"], "pip install awscli"],
  ]) {
    const r = spawnSync(cmd, args, { encoding: "utf8", env: baseEnv });
    if (r.error || r.status !== 0)
      throw new BenchError(
        `the S3 cases need ${cmd === "aws" ? "awscli" : "moto"} (${hint}): ${r.error?.message ?? r.stderr}`,
      );
  }
  const port = await freePort();
  const logFd = openSync(join(base, "moto.log"), "w");
  const child = spawn("python3", ["-m", "moto.server", "-H", "127.0.0.1", "-p", String(port)], {
    cwd: base,
    env: baseEnv,
    stdio: ["ignore", logFd, logFd],
  });
  closeSync(logFd);
  moto = { child, endpoint: `http://127.0.0.1:${port}` };
  const deadline = performance.now() + 30_000;
  for (;;) {
    try {
      await fetch(`${moto.endpoint}/moto-api/`);
      break;
    } catch {
      if (child.exitCode !== null || performance.now() > deadline)
        throw new BenchError(`moto did not start:\n${readFileSync(join(base, "moto.log"), "utf8")}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  sh(`aws --endpoint-url ${moto.endpoint} s3 mb s3://${S3_BUCKET} > /dev/null`, base, awsEnv);
  log(`moto S3 server on ${moto.endpoint} (pid ${child.pid})`);
  return moto;
}

function stopMoto() {
  if (moto && moto.child.exitCode === null) moto.child.kill("SIGTERM");
}
process.on("exit", stopMoto);

const awsCmd = (args) => `aws --endpoint-url ${moto.endpoint} ${args}`;

/** Point remote `s3` of `repo` at `url` on moto: `mlv remote add` and `mlv remote modify` only. */
function s3Remote(repo, url, asDefault = false) {
  mlv(["remote", "add", "-f", ...(asDefault ? ["-d"] : []), "s3", url], repo);
  mlv(["remote", "modify", "s3", "endpointurl", moto.endpoint], repo);
  mlv(["remote", "modify", "s3", "access_key_id", awsEnv.AWS_ACCESS_KEY_ID], repo);
  mlv(["remote", "modify", "s3", "secret_access_key", awsEnv.AWS_SECRET_ACCESS_KEY], repo);
}

/** How many objects lie below `prefix` in the bench bucket. */
function countS3(prefix) {
  const out = sh(`${awsCmd(`s3 ls --recursive s3://${S3_BUCKET}/${prefix}`)} | wc -l`, base, awsEnv);
  return Number(out.trim());
}

/** Where the folder was last pushed, by either side: { aws, mlv } prefixes. */
let s3Tree = null;

async function runS3Case(n, fn) {
  if (!selected(n) || failed) return;
  try {
    await ensureMoto();
  } catch (e) {
    if (!(e instanceof BenchError)) throw e;
    failed = `case ${n}: ${e.message}`;
    log(`FAILED ${failed}`);
    return;
  }
  runCase(n, fn);
}

await runS3Case(6, () => {
  ensureAdded();
  checkPointer();
  const reps = [];
  for (let i = 0; i < opts.repeat; i++) {
    const awsPrefix = `aws-tree-${i}`;
    const mlvPrefix = `mlv-tree-${i}`;
    warmTree(dataDir);
    const b = shMeasure(
      "case6 baseline aws s3 sync",
      awsCmd(`s3 sync --quiet ${q(dataDir)} s3://${S3_BUCKET}/${awsPrefix}`),
      base,
      awsEnv,
    );
    const awsObjects = countS3(`${awsPrefix}/`);
    if (awsObjects !== opts.files)
      throw new BenchError(`aws s3 sync uploaded ${awsObjects} objects, expected ${opts.files}`);
    s3Remote(treeRepo, `s3://${S3_BUCKET}/${mlvPrefix}`);
    warmTree(join(treeRepo, ".dvc", "cache"));
    const m = mlvMeasure("case6 mlv push", ["push", "-r", "s3"], treeRepo);
    const objects = countS3(`${mlvPrefix}/`);
    if (objects < opts.files + 1)
      throw new BenchError(`the S3 remote holds ${objects} objects after push, expected ${opts.files + 1}`);
    s3Tree = { aws: awsPrefix, mlv: mlvPrefix };
    reps.push({ mlv: m, base: b });
  }
  record(
    6,
    "push folder to S3 (moto)",
    "aws s3 sync",
    1.0,
    "`mlv push -r s3` to an empty prefix of a moto bucket (remote set with `mlv remote add` + `modify endpointurl/access_key_id/secret_access_key`) vs `aws --endpoint-url URL s3 sync DIR s3://bucket/prefix` (awscli 1.x defaults, 10 threads); both read a warm cache.",
    reps,
    S3_PEAK_TARGET_MIB,
  );
});

await runS3Case(7, () => {
  ensureAdded();
  if (!s3Tree) {
    log("set-up: aws s3 sync and mlv push -r s3 (untimed)");
    s3Tree = { aws: "aws-tree-setup", mlv: "mlv-tree-setup" };
    sh(awsCmd(`s3 sync --quiet ${q(dataDir)} s3://${S3_BUCKET}/${s3Tree.aws}`), base, awsEnv);
    s3Remote(treeRepo, `s3://${S3_BUCKET}/${s3Tree.mlv}`);
    mlv(["push", "-r", "s3"], treeRepo);
  }
  const reps = [];
  for (let i = 0; i < opts.repeat; i++) {
    discard(copyDir);
    const b = shMeasure(
      "case7 baseline aws s3 sync",
      awsCmd(`s3 sync --quiet s3://${S3_BUCKET}/${s3Tree.aws} ${q(copyDir)}`),
      base,
      awsEnv,
    );
    const copied = existsSync(copyDir) ? countFiles(copyDir) : 0;
    if (copied !== opts.files) throw new BenchError(`aws s3 sync downloaded ${copied} files, expected ${opts.files}`);
    discard(copyDir);
    discard(join(treeRepo, ".dvc", "cache"));
    discard(dataDir);
    const m = mlvMeasure("case7 mlv pull", ["pull", "-r", "s3"], treeRepo);
    const n = existsSync(dataDir) ? countFiles(dataDir) : 0;
    if (n !== opts.files) throw new BenchError(`after pull the folder holds ${n} files, expected ${opts.files}`);
    reps.push({ mlv: m, base: b });
  }
  record(
    7,
    "pull folder from S3 (moto)",
    "aws s3 sync",
    1.0,
    "`mlv pull -r s3` after moving .dvc/cache and the folder away (download, verify md5, check out) vs `aws s3 sync s3://bucket/prefix DIR` into a fresh folder.",
    reps,
    S3_PEAK_TARGET_MIB,
  );
});

const bigS3Repo = join(base, "big-s3");
const bigS3File = join(bigS3Repo, "model.bin");
const bigS3Copy = join(base, "big-s3-copy.bin");
let bigS3 = null; // { md5, aws: key of awscli's copy }

function ensureBigS3() {
  if (bigS3) return;
  mkdirSync(bigS3Repo, { recursive: true });
  writeRandomFile(bigS3File, bigBytes);
  freshMlvRepo(bigS3Repo);
  log("set-up: mlv add model.bin (untimed)");
  mlv(["add", "model.bin"], bigS3Repo);
  const md5 = /md5: ([0-9a-f]{32})/.exec(readFileSync(join(bigS3Repo, "model.bin.dvc"), "utf8"))?.[1];
  if (!md5) throw new BenchError("model.bin.dvc records no md5");
  bigS3 = { md5, aws: null };
}

await runS3Case(8, () => {
  ensureBigS3();
  const reps = [];
  for (let i = 0; i < opts.repeat; i++) {
    const awsKey = `aws-big-${i}/model.bin`;
    sh(`cat ${q(bigS3File)} > /dev/null`, base);
    const b = shMeasure(
      "case8 baseline aws s3 cp",
      awsCmd(`s3 cp --quiet ${q(bigS3File)} s3://${S3_BUCKET}/${awsKey}`),
      base,
      awsEnv,
    );
    bigS3.aws = awsKey;
    s3Remote(bigS3Repo, `s3://${S3_BUCKET}/mlv-big-${i}`, true);
    sh(`cat ${q(bigS3File)} > /dev/null`, base);
    const m = mlvMeasure("case8 mlv push", ["push", "-r", "s3"], bigS3Repo);
    const key = `mlv-big-${i}/files/md5/${bigS3.md5.slice(0, 2)}/${bigS3.md5.slice(2)}`;
    const listed = sh(awsCmd(`s3 ls s3://${S3_BUCKET}/${key}`), base, awsEnv);
    const size = Number(listed.trim().split(/\s+/)[2]);
    if (size !== bigBytes)
      throw new BenchError(`after push s3://${S3_BUCKET}/${key} has ${size} bytes, expected ${bigBytes}`);
    reps.push({ mlv: m, base: b });
  }
  record(
    8,
    `push ${fmtBytes(bigBytes)} file to S3 (moto)`,
    "aws s3 cp",
    1.0,
    "`mlv push -r s3` of one added file (multipart upload from the cache) vs `aws s3 cp FILE s3://bucket/key` (awscli's multipart, 8 MiB parts, 10 threads).",
    reps,
    S3_PEAK_TARGET_MIB,
  );
});

await runS3Case(9, () => {
  ensureBigS3();
  if (!bigS3.aws) {
    log("set-up: aws s3 cp and mlv push -r s3 (untimed)");
    bigS3.aws = "aws-big-setup/model.bin";
    sh(awsCmd(`s3 cp --quiet ${q(bigS3File)} s3://${S3_BUCKET}/${bigS3.aws}`), base, awsEnv);
    s3Remote(bigS3Repo, `s3://${S3_BUCKET}/mlv-big-setup`, true);
    mlv(["push", "-r", "s3"], bigS3Repo);
  }
  const reps = [];
  for (let i = 0; i < opts.repeat; i++) {
    rmSync(bigS3Copy, { force: true });
    const b = shMeasure(
      "case9 baseline aws s3 cp",
      awsCmd(`s3 cp --quiet s3://${S3_BUCKET}/${bigS3.aws} ${q(bigS3Copy)}`),
      base,
      awsEnv,
    );
    rmSync(bigS3Copy, { force: true });
    rmSync(join(bigS3Repo, ".dvc", "cache"), { recursive: true, force: true });
    rmSync(bigS3File, { force: true });
    const m = mlvMeasure("case9 mlv pull", ["pull", "-r", "s3"], bigS3Repo);
    const got = sh(`md5sum ${q(bigS3File)}`, base).split(/\s/)[0];
    if (got !== bigS3.md5) throw new BenchError(`after pull model.bin hashes to ${got}, expected ${bigS3.md5}`);
    reps.push({ mlv: m, base: b });
  }
  record(
    9,
    `pull ${fmtBytes(bigBytes)} file from S3 (moto)`,
    "aws s3 cp",
    1.0,
    "`mlv pull -r s3` after deleting .dvc/cache and the file (parallel ranged download, md5 verified, checkout) vs `aws s3 cp s3://bucket/key FILE` (no verification).",
    reps,
    S3_PEAK_TARGET_MIB,
  );
  rmSync(bigS3Repo, { recursive: true, force: true });
});

// -- cases 10-13: SFTP against a local OpenSSH sshd, with rclone as the baseline (bench/sftp.mjs) --
if (!failed && [10, 11, 12, 13].some(selected)) {
  const { runSftpCases } = await import("./sftp.mjs");
  await runSftpCases({
    ...{ opts, selected, runCase, record, measure, mlvMeasure, mlv, sh, log, BenchError, base, baseEnv, q, discard },
    ...{ warmTree, writeRandomFile, ensureAdded, checkPointer, treeName, treeRepo, dataDir, bigBytes, fmtBytes },
  });
}

// -- cases 14-16: versions through git, on a generated repository of 2,000 commits (bench/history.mjs)
if (!failed && [14, 15, 16].some(selected)) {
  const { runHistoryBench, HistoryBenchError } = await import("./history.mjs");
  try {
    const history = await runHistoryBench({ base, firstCase: 14, repeat: opts.repeat, nodeArgs: opts.nodeArgs, log });
    // Rows are "14a. ...", "14b. ...", "15a. ...": each kept when its case is selected.
    for (const row of history.rows) if (selected(Number.parseInt(row.case, 10))) rows.push(row);
    notes.push(...history.notes);
  } catch (e) {
    if (!(e instanceof HistoryBenchError)) throw e;
    failed = `history cases: ${e.message}`;
  }
}

// -- case 17: status of a DVC pipeline of 40 stages, against find and the real DVC (bench/pipeline.mjs)
if (!failed && selected(17)) {
  const { runPipelineCase } = await import("./pipeline.mjs");
  runPipelineCase({
    ...{ opts, pipelineFiles, runCase, record, rows, measure, mlvMeasure, shMeasure, mlv, sh, log, BenchError },
    ...{ base, mlvEnv, warmTree, q, mlvBin },
  });
}

// -- case 18: pull over HTTP from a local nginx, against curl and the real DVC (bench/http.mjs) ---
if (!failed && selected(18)) {
  const { runHttpCase } = await import("./http.mjs");
  await runHttpCase({
    ...{ runCase, record, measure, mlvMeasure, shMeasure, mlv, sh, log, BenchError, base, mlvEnv, q, discard },
    ...{ bigBytes, fmtBytes, writeRandomFile, repeat: opts.repeat },
  });
}

// -- case 19: an image dataset (100,000 files of 1-64 KiB), add, push and pull against the real DVC,
// with floor rows against cp -r and aws s3 cp (bench/many-files.mjs)
if (!failed && selected(19)) {
  const { runManyFilesCase } = await import("./many-files.mjs");
  await runManyFilesCase({
    ...{ runCase, record, measure, mlvMeasure, shMeasure, mlv, sh, log, BenchError, base, mlvEnv, q, discard },
    ...{ fmtBytes, randomPool: () => randomBytes(16 * MiB), warm: warmTree, ensureMoto, s3Remote, awsEnv, awsCmd },
    ...{ many: opts.many, s3Bucket: S3_BUCKET },
  });
}

// ---------------------------------------------------------------------------------------------
// report
// ---------------------------------------------------------------------------------------------
cleanup();

const total = (performance.now() - t0) / 1000;
const report = [
  "",
  "mlv benchmark",
  ...info.map((l) => `  ${l}`),
  `  ${opts.files} small files${needPipeline ? ` (pipeline: ${pipelineFiles})` : ""}${needMany ? `, image dataset ${opts.many} files` : ""}, big file ${fmtBytes(bigBytes)}, repeat ${opts.repeat}${opts.repeat > 1 ? " (median time, max peak)" : ""}, total ${total.toFixed(0)} s`,
  ...(opts.nodeArgs.length ? [`  mlv run as: node ${opts.nodeArgs.join(" ")} bin.cjs ...`] : []),
  "",
  rows.length ? formatRows(rows) : "(no case completed)",
  "",
  "notes:",
  ...notes.map((n) => `  - ${n}`),
  `  - Targets: ratio = mlv s / baseline s at most the target, and mlv peak memory at most ${PEAK_TARGET_MIB} MiB (${S3_PEAK_TARGET_MIB} MiB for the S3 cases 6-9 and rows 19d-19e2).`,
  haveGnuTime
    ? "  - Every command (mlv and baseline alike) runs under `/usr/bin/time -f '%e %M'`: peak memory is its max RSS (largest process, worker threads included); wall time is the Node clock around the spawn (finer than %e's 10 ms)."
    : "  - GNU time (/usr/bin/time) is not available: wall time from the Node clock, peak memory unknown.",
  "  - Page cache: not dropped (that needs root). Both sides run warm: the input is read once (cat) before each measured command; `sync` runs untimed before each one.",
  "  - Generated data: random bytes; the folder of cases 2-7 and 10-11 has files of 1-8 KiB (a unique header + a slice of a random pool) in subfolders of 500; case 19's dataset has files of 1-64 KiB in folders of 1,000.",
  "  - Trees are set aside (renamed), not deleted, until the end of the run: ext4 passes over inodes freed in the last minutes when it creates files, so a command run right after deleting 100,000 files is slowed by up to 3x whoever runs it.",
];
if (failed) report.push("", `FAILED: ${failed}`);
process.stdout.write(`${report.join("\n")}\n`);
process.exit(failed ? 1 : 0);
