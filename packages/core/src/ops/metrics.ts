/**
 * Metrics files (`metrics.json`, `metrics.yaml` written by training and committed to git), read in
 * the workspace and at any revision without a checkout, compared the way `dvc metrics show` and
 * `dvc metrics diff` compare them.
 */
import { parse as parseYaml } from "yaml";
import { raceAbort } from "../abort.js";
import { FormatError, MlvError } from "../errors.js";
import type { PipelineFile } from "../formats/pipeline.js";
import type { Project as Repo } from "../project/project.js";
import {
  type FileSource,
  gitView,
  givenFiles,
  loadPipelines,
  pipelinePaths,
  revisionSource,
  WORKSPACE,
  workspaceSource,
} from "./sources.js";

export { WORKSPACE } from "./sources.js";

/** A metric value as DVC keeps it: numbers, strings and booleans (lists and nulls are left out). */
export type MetricValue = number | string | boolean;

/** A metrics file's values, nested as written. */
export interface MetricsTree {
  [key: string]: MetricValue | MetricsTree;
}

/** One metrics file at one revision: its values, or why they could not be read (DVC's `--json` shape). */
export type MetricsFileResult = { data: MetricsTree | MetricValue } | { error: { type: string; msg: string } };

/** `dvc metrics show --json`: revision → `{ data: { path → { data } } }`; paths from the project root, posix. */
export type MetricsShowResult = Record<string, { data: Record<string, MetricsFileResult> }>;

/** One changed metric (`dvc metrics diff --json`); `diff` only when both values are numbers. */
export interface MetricChange {
  old: MetricValue | null;
  new: MetricValue | null;
  diff?: number;
}

/** `dvc metrics diff --json`: path → flattened key → change. */
export type MetricsDiffResult = Record<string, Record<string, MetricChange>>;

/** Files looked for at the project root when neither the command line nor `dvc.yaml` name any. */
const DEFAULT_FILES = ["metrics.json", "metrics.yaml", "metrics.yml"];

function isMetricValue(v: unknown): v is MetricValue {
  return typeof v === "number" || typeof v === "string" || typeof v === "boolean";
}

/** What DVC keeps of a parsed file (`_extract_metrics`): scalars, and mappings of them; undefined for nothing. */
function extract(value: unknown): MetricsTree | MetricValue | undefined {
  if (isMetricValue(value)) return typeof value === "number" && !Number.isFinite(value) ? String(value) : value;
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const out: MetricsTree = {};
  for (const [key, v] of Object.entries(value)) {
    const kept = extract(v);
    if (kept === undefined || (typeof kept === "object" && Object.keys(kept).length === 0)) continue;
    Object.defineProperty(out, key, { value: kept, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/**
 * Parse a metrics file (JSON or YAML; JSON is read as YAML when it is not strict JSON). `file`
 * names it in errors. Throws FormatError when the text cannot be parsed.
 */
export function parseMetrics(text: string, file: string): MetricsTree | MetricValue {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    try {
      value = parseYaml(text, { prettyErrors: true, uniqueKeys: false });
    } catch (err) {
      throw new FormatError(file, `is neither JSON nor YAML: ${(err as Error).message.split("\n")[0]}`, undefined, err);
    }
  }
  const kept = extract(value ?? {});
  return kept ?? {};
}

/** Nested values as dotted keys (`train.loss`), in file order; a file holding a single value gives key "". */
export function flattenMetrics(tree: MetricsTree | MetricValue): Map<string, MetricValue> {
  const flat = new Map<string, MetricValue>();
  if (isMetricValue(tree)) {
    flat.set("", tree);
    return flat;
  }
  const visit = (node: MetricsTree, prefix: string) => {
    for (const [key, v] of Object.entries(node)) {
      const name = prefix ? `${prefix}.${key}` : key;
      if (isMetricValue(v)) flat.set(name, v);
      else visit(v, name);
    }
  };
  visit(tree, "");
  return flat;
}

export interface MetricsOptions {
  /**
   * Metrics files, from the repository root (posix, whatever `process.cwd()` is); default: those
   * `dvc.yaml` lists, else `metrics.{json,yaml,yml}` at the root.
   */
  files?: readonly string[];
  /** Abort: the call rejects with the signal's reason (nothing is written). */
  signal?: AbortSignal;
}

export interface MetricsShowOptions extends MetricsOptions {
  /** Revisions by name (`v1.0`, `main`, `HEAD~1`). */
  revs?: readonly string[];
  allBranches?: boolean;
  allTags?: boolean;
}

export interface MetricsDiffOptions extends MetricsOptions {
  /** Default `HEAD`. */
  a?: string;
  /** Default the workspace. */
  b?: string;
  /** Keep unchanged metrics too (`--all`). */
  all?: boolean;
}

/** The metrics files of a project's pipelines: each `dvc.yaml`'s top-level list, then its stages' metrics outputs. */
function pipelineMetrics(pipelines: readonly PipelineFile[]): string[] {
  const found = pipelines.flatMap((file) => [
    ...file.metrics,
    ...file.stages.flatMap((stage) => stage.outs.filter((o) => o.kind === "metrics").map((o) => o.rel)),
  ]);
  return [...new Set(found)];
}

/** The metrics files of one source when none were given: its pipelines', else the default names that exist. */
async function discover(source: FileSource, pipelines: readonly string[]): Promise<string[]> {
  const listed = pipelineMetrics(await loadPipelines(source, pipelines));
  if (listed.length > 0) return listed;
  const present = await Promise.all(DEFAULT_FILES.map(async (f) => ((await source.read(f)) ? f : undefined)));
  return present.filter((f) => f !== undefined);
}

/** The files of one source, each with its values or error; files absent from the source are left out. */
async function readSource(
  source: FileSource,
  files: readonly string[] | undefined,
  label: string,
  pipelines: readonly string[],
  signal: AbortSignal | undefined,
): Promise<Record<string, MetricsFileResult>> {
  signal?.throwIfAborted();
  const names = files ?? (await discover(source, pipelines));
  const result: Record<string, MetricsFileResult> = {};
  for (const name of names) {
    signal?.throwIfAborted();
    const bytes = await source.read(name);
    if (bytes === undefined) continue;
    try {
      result[name] = { data: parseMetrics(bytes.toString("utf8"), label === WORKSPACE ? name : `${label}:${name}`) };
    } catch (err) {
      if (!(err instanceof MlvError)) throw err;
      result[name] = { error: { type: err.code, msg: err.message } };
    }
  }
  return result;
}

function noMetrics(files: readonly string[] | undefined, where: string): MlvError {
  if (files && files.length > 0)
    return new MlvError(
      "ENOMETRICS",
      `no metrics file found: ${files.map((f) => `'${f}'`).join(", ")} ${files.length === 1 ? "exists" : "exist"} in none of ${where}: check the path`,
      { data: { files } },
    );
  return new MlvError(
    "ENOMETRICS",
    `no metrics files in ${where}: name them on the command line, list them under 'metrics:' in dvc.yaml, or write metrics.json (or metrics.yaml) at the project root`,
    { data: { files: [] } },
  );
}

/**
 * `dvc metrics show`: the metrics files of the workspace and of the chosen revisions, read from git
 * without a checkout. Revisions are named as given (several names of one commit joined with ",");
 * the workspace is `workspace`. Throws ENOMETRICS when no file is found anywhere.
 */
export function showMetrics(repo: Repo, options: MetricsShowOptions = {}): Promise<MetricsShowResult> {
  return raceAbort(options.signal, () => metricsOf(repo, options));
}

async function metricsOf(repo: Repo, options: MetricsShowOptions): Promise<MetricsShowResult> {
  const { signal } = options;
  const files = options.files?.length ? givenFiles(repo, options.files, repo.root, "a metrics file") : undefined;
  const pipelines = files ? [] : await pipelinePaths(repo);
  const result: MetricsShowResult = {
    [WORKSPACE]: { data: await readSource(workspaceSource(repo), files, WORKSPACE, pipelines, signal) },
  };
  const anyRevision = (options.revs?.length ?? 0) > 0 || options.allBranches || options.allTags;
  if (anyRevision) {
    const git = await gitView(repo);
    const picked = await git.history.selectRevisions({
      revs: options.revs,
      allBranches: options.allBranches,
      allTags: options.allTags,
    });
    for (const [commit, names] of picked) {
      const label = names.length > 0 ? names.join(",") : commit.slice(0, 7);
      result[label] = { data: await readSource(revisionSource(git, commit), files, label, pipelines, signal) };
    }
  }
  if (Object.values(result).every((r) => Object.keys(r.data).length === 0))
    throw noMetrics(files, anyRevision ? "the workspace or the chosen revisions" : "the workspace");
  return result;
}

function flatValues(file: MetricsFileResult | undefined): Map<string, MetricValue> | undefined {
  return file && "data" in file ? flattenMetrics(file.data) : undefined;
}

/**
 * `dvc metrics diff A B`: metrics that differ between two revisions (A default HEAD, B default the
 * workspace), per file, by flattened key. A value absent on one side is null; `diff` is new − old
 * when both are numbers. Unchanged metrics are kept with `all`.
 */
export function diffMetrics(repo: Repo, options: MetricsDiffOptions = {}): Promise<MetricsDiffResult> {
  return raceAbort(options.signal, () => metricsDiffOf(repo, options));
}

async function metricsDiffOf(repo: Repo, options: MetricsDiffOptions): Promise<MetricsDiffResult> {
  const { signal } = options;
  const files = options.files?.length ? givenFiles(repo, options.files, repo.root, "a metrics file") : undefined;
  const pipelines = files ? [] : await pipelinePaths(repo);
  const sides = await Promise.all(
    [options.a ?? "HEAD", options.b].map(async (rev) => {
      if (rev === undefined || rev === WORKSPACE)
        return readSource(workspaceSource(repo), files, WORKSPACE, pipelines, signal);
      const git = await gitView(repo);
      const commit = await git.history.resolveRevision(rev);
      return readSource(revisionSource(git, commit), files, rev, pipelines, signal);
    }),
  );
  const [old, now] = sides as [Record<string, MetricsFileResult>, Record<string, MetricsFileResult>];
  const paths = [...new Set([...Object.keys(old), ...Object.keys(now)])].sort();
  if (paths.length === 0) throw noMetrics(files, `${options.a ?? "HEAD"} or ${options.b ?? WORKSPACE}`);
  const result: MetricsDiffResult = {};
  for (const path of paths) {
    const before = flatValues(old[path]) ?? new Map<string, MetricValue>();
    const after = flatValues(now[path]) ?? new Map<string, MetricValue>();
    const changes: Record<string, MetricChange> = {};
    for (const key of [...new Set([...before.keys(), ...after.keys()])].sort()) {
      const o = before.get(key) ?? null;
      const n = after.get(key) ?? null;
      if (o === n && !options.all) continue;
      const change: MetricChange = { old: o, new: n };
      if (typeof o === "number" && typeof n === "number") change.diff = n - o;
      changes[key] = change;
    }
    if (Object.keys(changes).length > 0) result[path] = changes;
  }
  return result;
}
