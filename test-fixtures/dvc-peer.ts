/**
 * The real DVC 3.64 as a black-box oracle for tests: find it, run it in an isolated environment,
 * and build with it a pipeline project shaped like DVC's "get started" example, so a test can
 * compare mlv with what DVC itself wrote and reports.
 *
 * DVC comes from `bash ../shared/dvc/install.sh` (CI runs it and exports `DVC_BIN`). Where it is
 * missing, `requireDvc()` warns loudly and the tests that need it skip; under `CI=true` nothing
 * may be skipped, so it throws instead.
 *
 *   const DVC = requireDvc("status against DVC");
 *   describe.skipIf(!DVC)("...", () => { ... makePipelineProject(s.repo, { remote: s.remote }) ... });
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, statSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { dirname, join, relative, sep } from "node:path";

/** What a finished DVC (or git) command left behind. */
export interface DvcResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Where `install.sh` puts DVC by default (its PREFIX is `${XDG_CACHE_HOME:-$HOME/.cache}/...`). */
export function defaultDvcPath(): string {
  const cache = process.env.XDG_CACHE_HOME || join(process.env.HOME || homedir(), ".cache");
  return join(cache, "mlv-dvc-peer", "dvc-3.64.0", "bin", "dvc");
}

/** The DVC executable: `$DVC_BIN`, else the installer's default path; undefined when absent. */
export function dvcBin(): string | undefined {
  const bin = process.env.DVC_BIN || defaultDvcPath();
  return existsSync(bin) ? bin : undefined;
}

let checked: { bin?: string; why?: string } | undefined;

/** Find DVC and run `dvc --version` once per process: a half-installed DVC counts as missing. */
function checkDvc(): { bin?: string; why?: string } {
  if (checked) return checked;
  const bin = dvcBin();
  if (!bin) {
    const where = process.env.DVC_BIN ? `DVC_BIN=${process.env.DVC_BIN} does not exist` : `no ${defaultDvcPath()}`;
    checked = { why: `the real DVC is not installed (${where}); install it with: bash ../shared/dvc/install.sh` };
    return checked;
  }
  const r = spawnSync(bin, ["--version"], { env: dvcEnv(tmpdir()), encoding: "utf8", timeout: 60_000 });
  const version = String(r.stdout ?? "").trim();
  checked =
    r.status === 0 && version === "3.64.0"
      ? { bin }
      : { why: `${bin} --version gave ${r.error?.message ?? `exit ${r.status}: ${version} ${r.stderr}`.trim()}` };
  return checked;
}

/**
 * DVC for the tests of `suite`. Missing: under `CI=true` this throws (the file fails, as the suite
 * rules want); elsewhere it warns loudly and returns undefined, for `describe.skipIf(!DVC)`.
 */
export function requireDvc(suite = "the tests against the real DVC"): string | undefined {
  const { bin, why } = checkDvc();
  if (bin) return bin;
  if (process.env.CI === "true") throw new Error(`CI=true: ${suite} need the real DVC: ${why}`);
  process.stderr.write(`\n!!! ${why}\n!!! ${suite.toUpperCase()} ARE SKIPPED\n\n`);
  return undefined;
}

/** Folders DVC and git are pointed at instead of the machine's; shared by this user's test runs. */
function isolationDir(): string {
  const dir = join(tmpdir(), `mlv-dvc-peer-${process.getuid?.() ?? "user"}`);
  for (const sub of ["home", "dvc-global", "dvc-system", "dvc-site"]) mkdirSync(join(dir, sub), { recursive: true });
  return dir;
}

/**
 * DVC keeps per-repository state (hash and index databases) in its "site cache", /var/tmp/dvc by
 * default. For a repository it goes to the repository's own `.dvc/tmp` (ignored by git and by DVC),
 * so it is removed with the test's folder; outside one, to the shared isolation folder. `root`:
 * the repository about to be made (`dvc init` opens it before `.dvc/config` exists).
 */
function siteCacheFor(cwd: string, root?: string): string {
  if (root) return join(root, ".dvc", "tmp", "site-cache");
  for (let dir = cwd; ; dir = dirname(dir)) {
    if (existsSync(join(dir, ".dvc", "config"))) return join(dir, ".dvc", "tmp", "site-cache");
    if (dirname(dir) === dir) return join(isolationDir(), "dvc-site");
  }
}

/**
 * The environment DVC and git run with in `cwd`: no analytics, an empty HOME, no git system config,
 * DVC's global and system config folders empty, its site cache as `siteCacheFor` says, and no
 * GIT_*, DVC_* or XDG_* variable of the machine's.
 */
export function dvcEnv(cwd: string, root?: string): Record<string, string> {
  const iso = isolationDir();
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !k.startsWith("GIT_") && !k.startsWith("DVC_") && !k.startsWith("XDG_")) env[k] = v;
  return Object.assign(env, {
    HOME: join(iso, "home"),
    DVC_NO_ANALYTICS: "1",
    DVC_GLOBAL_CONFIG_DIR: join(iso, "dvc-global"),
    DVC_SYSTEM_CONFIG_DIR: join(iso, "dvc-system"),
    DVC_SITE_CACHE_DIR: siteCacheFor(cwd, root),
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_AUTHOR_NAME: "DVC Peer",
    GIT_AUTHOR_EMAIL: "dvc-peer@example.invalid",
    GIT_COMMITTER_NAME: "DVC Peer",
    GIT_COMMITTER_EMAIL: "dvc-peer@example.invalid",
    NO_COLOR: "1",
  });
}

function spawn(cmd: string, args: string[], cwd: string, root?: string): DvcResult {
  const r = spawnSync(cmd, args, { cwd, env: dvcEnv(cwd, root), encoding: "utf8", timeout: 120_000 });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function must(cmd: string, args: string[], cwd: string): DvcResult {
  const r = spawn(cmd, args, cwd);
  if (r.code !== 0)
    throw new Error(
      `${cmd} ${args.join(" ")} (in ${cwd}) exited ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`,
    );
  return r;
}

/** Run `dvc ARGS...` in `cwd`; no check of its exit code. Throws when DVC is not installed. */
export function dvc(cwd: string, ...args: string[]): DvcResult {
  const bin = dvcBin();
  if (!bin) throw new Error(`dvc ${args.join(" ")}: ${checkDvc().why}`);
  return spawn(bin, args, cwd, args[0] === "init" ? cwd : undefined);
}

/** Run `dvc ARGS...` in `cwd` and throw, with its output, unless it exits 0. */
export function mustDvc(cwd: string, ...args: string[]): DvcResult {
  const r = dvc(cwd, ...args);
  if (r.code !== 0)
    throw new Error(
      `dvc ${args.join(" ")} (in ${cwd}) exited ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`,
    );
  return r;
}

/**
 * Run GTO 1.8.0, the registry tool bundled with the reference DVC (`dvc artifacts` reads its tags
 * through it), as `gto ARGS...` in `cwd`, with `env` added (GIT_COMMITTER_DATE for the tags' dates).
 * The bundle lacks GTO's package metadata, so its one plugin (how GTO reads an artifact's own
 * commit) is registered by hand before its CLI starts.
 */
export function mustGto(cwd: string, args: string[], env: Record<string, string> = {}): DvcResult {
  const bin = dvcBin();
  if (!bin) throw new Error(`gto ${args.join(" ")}: ${checkDvc().why}`);
  const lib = join(dirname(dirname(realpathSync(bin))), "dvc-3.64.0-py311-debian12");
  const script = [
    "import sys",
    "import gto.ext as ext",
    "from gto.index import GTOEnrichment",
    "ext._find_enrichments = lambda: {'gto': GTOEnrichment}",
    "from gto.cli import app",
    "sys.argv[0] = 'gto'",
    "app()",
  ].join("\n");
  const full = { ...dvcEnv(cwd), ...env, PYTHONPATH: join(lib, "lib", "python"), LD_LIBRARY_PATH: join(lib, "lib") };
  const r = spawnSync("/usr/bin/python3", ["-s", "-c", script, ...args], {
    cwd,
    env: full,
    encoding: "utf8",
    timeout: 120_000,
  });
  if (r.error) throw r.error;
  if (r.status !== 0)
    throw new Error(
      `gto ${args.join(" ")} (in ${cwd}) exited ${r.status}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`,
    );
  return { code: 0, stdout: r.stdout, stderr: r.stderr };
}

/** `dvc.lock` of a project, as DVC wrote it. */
export function lockText(dir: string): string {
  return readFileSync(join(dir, "dvc.lock"), "utf8");
}

/**
 * A YAML file of DVC's (dvc.lock, a .dvc file) as JSON, read by DVC's own YAML library (Debian's
 * ruamel.yaml, which install.sh installs) rather than the parser mlv uses, so the oracle stays
 * independent of the code under test.
 */
export function readDvcYaml(file: string): unknown {
  const script =
    "import json, sys\nfrom ruamel.yaml import YAML\njson.dump(YAML(typ='safe').load(open(sys.argv[1])), sys.stdout)";
  return JSON.parse(must("/usr/bin/python3", ["-c", script, file], dirname(file)).stdout);
}

/** One entry of `outs` (or `deps`) in dvc.lock or a .dvc file. */
export interface LockEntry {
  path: string;
  hash?: string;
  md5: string;
  size: number;
  nfiles?: number;
}

export interface DvcLock {
  schema: string;
  stages: Record<
    string,
    { cmd: string; deps?: LockEntry[]; params?: Record<string, Record<string, unknown>>; outs?: LockEntry[] }
  >;
}

/** dvc.lock of a project, parsed (see `readDvcYaml`). */
export function readLock(dir: string): DvcLock {
  return readDvcYaml(join(dir, "dvc.lock")) as DvcLock;
}

// ---- the "get started" pipeline ----

/** The raw data `dvc add data/raw` tracks: a nested folder of small text files. */
export const RAW_DATA: Readonly<Record<string, string>> = {
  "data/raw/train/a.csv": "id,text\n1,alpha\n2,beta\n",
  "data/raw/train/b.csv": "3,gamma\n",
  "data/raw/test/c.csv": "id,text\n4,delta\n",
};

export const PARAMS_YAML =
  "prepare:\n  split: 0.2\n  seed: 20170428\nfeaturize:\n  max_features: 100\ntrain:\n  n_est: 50\n";

/** A script dependency, as the example's `src/prepare.py` is; shell keeps it free of Python packages. */
export const PREPARE_SH =
  "# The training rows and the test rows, each in one file.\nset -e\nmkdir -p data/prepared\n" +
  "cat data/raw/train/a.csv data/raw/train/b.csv > data/prepared/train.csv\n" +
  "cp data/raw/test/c.csv data/prepared/test.csv\n";

/** One stage, as given to `dvc stage add`. */
interface StageSpec {
  name: string;
  params?: string[];
  deps: string[];
  /** `-o`: cached outs. */
  outs?: string[];
  /** `-M`: metrics files DVC does not cache (`cache: false` in dvc.yaml). */
  metrics?: string[];
  /** `--plots`: cached plots outs. */
  plots?: string[];
  /** Tiny shell and `python3 -c` only: stage commands run with DVC's PYTHONPATH. */
  cmd: string;
}

const STAGES: readonly StageSpec[] = [
  {
    name: "prepare",
    params: ["prepare.split", "prepare.seed"],
    deps: ["src/prepare.sh", "data/raw"],
    outs: ["data/prepared"],
    cmd: "sh src/prepare.sh",
  },
  {
    name: "featurize",
    params: ["featurize.max_features"],
    deps: ["data/prepared"],
    outs: ["data/features"],
    cmd:
      "mkdir -p data/features && tr , '\\t' < data/prepared/train.csv > data/features/train.tsv" +
      " && tr , '\\t' < data/prepared/test.csv > data/features/test.tsv",
  },
  {
    name: "train",
    params: ["train.n_est"],
    deps: ["data/features"],
    outs: ["model.pkl"],
    cmd: "printf 'model of %s rows\\n' \"$(wc -l < data/features/train.tsv)\" > model.pkl",
  },
  {
    name: "evaluate",
    deps: ["model.pkl", "data/features"],
    metrics: ["eval/metrics.json"],
    plots: ["eval/plots"],
    cmd:
      `python3 -c "import json, os; rows = open('data/features/test.tsv').read().splitlines();` +
      ` os.makedirs('eval/plots', exist_ok=True); json.dump({'accuracy': 0.75, 'test_rows': len(rows)},` +
      ` open('eval/metrics.json', 'w')); open('eval/plots/loss.csv', 'w').write('step,loss\\n0,0.9\\n1,0.4\\n');` +
      ` open('eval/plots/roc.csv', 'w').write('fpr,tpr\\n0,0\\n1,1\\n')"`,
  },
];

/** `dvc stage add` arguments of a stage. */
function stageAddArgs(s: StageSpec): string[] {
  const flag = (name: string, values: string[] = []) => values.flatMap((v) => [name, v]);
  const params = s.params ? ["-p", s.params.join(",")] : [];
  const outs = [...flag("-o", s.outs), ...flag("-M", s.metrics), ...flag("--plots", s.plots)];
  return ["-n", s.name, ...params, ...flag("-d", s.deps), ...outs, s.cmd];
}

/** Stage names, in dvc.yaml order. */
export const PIPELINE_STAGES: readonly string[] = STAGES.map((s) => s.name);

/** The outs DVC does not put in its cache (the metrics file). */
export const UNCACHED_OUTS: readonly string[] = STAGES.flatMap((s) => s.metrics ?? []);

export interface PipelineOptions {
  /** A folder to use as the default local remote (`dvc remote add -d storage DIR`), pushed to. */
  remote?: string;
}

/** A path DVC tracks, with the hash it recorded. */
export interface TrackedOut extends LockEntry {
  /** The stage that writes it; undefined for `data/raw`, tracked by `data/raw.dvc`. */
  stage?: string;
  /** False for outs DVC does not put in its cache (the metrics file). */
  cached: boolean;
}

export interface PipelineProject {
  dir: string;
  remote?: string;
  stages: readonly string[];
  /** `data/raw` and every stage out, path -> what DVC recorded (data/raw.dvc, dvc.lock). */
  outs: Record<string, TrackedOut>;
  /** Every file of `outs` (all ASCII text), workspace path -> content, as DVC's run left them. */
  files: Record<string, string>;
  dvcYaml: string;
  lock: string;
}

function writeFile(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

/** The files of `rel` (a file or a folder of `root`), as posix paths relative to `root`. */
function filesOf(root: string, rel: string): string[] {
  const abs = join(root, rel);
  if (!statSync(abs).isDirectory()) return [rel];
  return readdirSync(abs, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => relative(root, join(e.parentPath, e.name)).split(sep).join("/"))
    .sort();
}

/**
 * Build the pipeline project in `dir` with git and the real DVC: `git init` (unless `dir` is
 * already a repository), `dvc init`, `dvc add data/raw`, `dvc stage add` for prepare, featurize,
 * train and evaluate, `dvc repro`, optionally a default local remote and `dvc push`, then one git
 * commit of everything. About 5 s. Returns what DVC recorded and produced, for tests to compare.
 */
export function makePipelineProject(dir: string, options: PipelineOptions = {}): PipelineProject {
  mkdirSync(dir, { recursive: true });
  if (!existsSync(join(dir, ".git"))) must("git", ["init", "-q", "-b", "main"], dir);
  mustDvc(dir, "init", "-q");
  for (const [rel, text] of Object.entries(RAW_DATA)) writeFile(join(dir, rel), text);
  writeFile(join(dir, "params.yaml"), PARAMS_YAML);
  writeFile(join(dir, "src", "prepare.sh"), PREPARE_SH);
  mustDvc(dir, "add", "-q", "data/raw");
  for (const stage of STAGES) mustDvc(dir, "stage", "add", "-q", ...stageAddArgs(stage));
  mustDvc(dir, "repro", "-q");
  if (options.remote !== undefined) {
    mkdirSync(options.remote, { recursive: true });
    mustDvc(dir, "remote", "add", "-d", "storage", options.remote);
    mustDvc(dir, "push", "-q");
  }
  must("git", ["add", "-A"], dir);
  must("git", ["commit", "-q", "-m", "get-started pipeline, reproduced by DVC"], dir);

  // data/raw.dvc names its out relative to its own folder ("raw"): keyed here by workspace path.
  const raw = (readDvcYaml(join(dir, "data", "raw.dvc")) as { outs: LockEntry[] }).outs[0]!;
  const outs: Record<string, TrackedOut> = { "data/raw": { ...raw, path: "data/raw", cached: true } };
  for (const [stage, entry] of Object.entries(readLock(dir).stages))
    for (const out of entry.outs ?? []) outs[out.path] = { ...out, stage, cached: !UNCACHED_OUTS.includes(out.path) };
  const files: Record<string, string> = {};
  for (const path of Object.keys(outs))
    for (const rel of filesOf(dir, path)) files[rel] = readFileSync(join(dir, rel), "utf8");
  return {
    dir,
    remote: options.remote,
    stages: PIPELINE_STAGES,
    outs,
    files,
    dvcYaml: readFileSync(join(dir, "dvc.yaml"), "utf8"),
    lock: lockText(dir),
  };
}
