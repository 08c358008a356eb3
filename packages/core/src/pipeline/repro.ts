/**
 * `repro`: bring a pipeline's outputs up to date (pipelines spec §5). The stages to look at come
 * from the graph (§5.3); each, in dependency order, is skipped when nothing it depends on or
 * produces changed, restored from the run cache when its inputs ran before, else run; then its
 * outputs go into the cache and its entry into `dvc.lock`, before the next stage is looked at.
 * With `pull`, data that is only missing is downloaded rather than made: the remote's run cache
 * first, then the outputs of stages lacking nothing else, and the dependencies of stages to run.
 */
import { existsSync, lstatSync, readFileSync, statSync } from "node:fs";
import { copyFile, rename, rm, unlink } from "node:fs/promises";
import { join, relative, resolve, sep } from "node:path";
import { type AdapterSources, openRemote } from "../adapters.js";
import { tmpName } from "../atomic-write.js";
import { configBool } from "../config.js";
import { collectIndex, type DataIndex, selectTargets } from "../data-index/index.js";
import { loadPointer } from "../data-index/pointer-outs.js";
import type { TrackedOut } from "../data-index/types.js";
import { isImport } from "../data-index/types.js";
import { MlvError, translateFsError } from "../errors.js";
import { fetchImports } from "../external/fetch-imports.js";
import { type LockStage, PIPELINE_FILE, type PipelineStage } from "../formats/pipeline.js";
import { acquireRepoLock, type RepoLock } from "../lock.js";
import { add } from "../ops/add.js";
import { checkout } from "../ops/checkout.js";
import { toPosix } from "../paths.js";
import type { Project } from "../project/project.js";
import type { ReadableRemote } from "../remote.js";
import { fetch } from "../transfer/fetch.js";
import { fetchRunCache } from "../transfer/run-cache.js";
import { isInCache } from "../workspace/hasher.js";
import { walkFiles } from "../workspace/walk.js";
import { nodesOf } from "./dag.js";
import {
  buildGraph,
  componentsOf,
  dfsPostorder,
  type GraphNode,
  nodeAddress,
  type StageGraph,
  upstreamOf,
} from "./graph.js";
import { findRun, runCacheEligible, runCacheSaves, saveRun } from "./run-cache.js";
import { commandLines, runStageCommand } from "./run-command.js";
import { type Display, saveOutputs, stageInputs, workspacePathOf, writeStageLock } from "./stage-save.js";
import { outputState, type StageStatus, StatusMemo, stageStatus } from "./status.js";

/** What `repro` tells as it goes; the CLI prints each as DVC words it. */
export type ReproEvent =
  /** A stage (or `.dvc` file) is about to be looked at. */
  | { type: "stage"; stage: string }
  /** A stage is done with: `ran` when it ran, came from the run cache or was verified (not when skipped or pulled). */
  | { type: "done"; stage: string; ran: boolean }
  /** A frozen stage: its dependencies are not reproduced. */
  | { type: "frozen"; stage: string }
  /** Nothing changed: skipped. `source` for a `.dvc` file. */
  | { type: "unchanged"; stage: string; source: boolean }
  /** `pull`: only data is missing, so the stage's outputs are downloaded instead of made. */
  | { type: "pulling"; stage: string }
  /** `pull`: the outputs could not all be had; the stage is reproduced instead. */
  | { type: "pull-failed"; stage: string; reason: string }
  /** `pull`: the run cache could not be downloaded (`reason` says why); repro goes on without it. */
  | { type: "run-cache-unavailable"; reason: string }
  /** Something the user should know that does not stop anything (an entry of the remote's run cache refused). */
  | { type: "warning"; message: string }
  | { type: "running"; stage: string }
  /** One command line, before it runs. */
  | { type: "command"; line: string }
  /** Restored from the run cache instead of run. */
  | { type: "cached"; stage: string }
  /** A frozen stage's outputs, or a data source's, checked and recorded. */
  | { type: "verifying"; stage: string; source: boolean }
  /** A `dvc.lock` written: created, or a stage's entry changed. */
  | { type: "lock"; file: string; created: boolean }
  /** An output that is an empty file. */
  | { type: "empty"; path: string }
  /** A stage failed under `keepGoing` or `ignoreErrors`; `skipping` names the stages that depend on it. */
  | { type: "failed"; stage: string; error: MlvError; skipping: string[]; ignored: boolean };

export interface ReproOptions {
  /** Stages (`[path:]name`), `dvc.yaml` or `.dvc` files, or outputs, relative to `cwd`; default the stages of `cwd/dvc.yaml`. */
  targets?: readonly string[];
  /** Where targets and messages start from; default the project root. */
  cwd?: string;
  /** Folder targets select every stage and `.dvc` file below them. */
  recursive?: boolean;
  /** Stage names in targets are shell-style patterns (`*`, `?`, `[...]`), as in `train-*` or `sub/dvc.yaml:eval@*`. */
  glob?: boolean;
  /** Run every planned stage, changed or not, without the run cache. */
  force?: boolean;
  /** Only the targets, not what they depend on. */
  single?: boolean;
  /** The targets and every stage that depends on them, instead of what they depend on. */
  downstream?: boolean;
  /** The whole pipelines the targets are in. */
  pipeline?: boolean;
  /** Every stage of the project. */
  allPipelines?: boolean;
  /** Say what would run; change nothing. */
  dry?: boolean;
  /** Missing data alone does not make a stage changed. */
  allowMissing?: boolean;
  /**
   * Download missing data instead of making it: the default remote's run cache first, then the
   * outputs of stages that lack only data, the missing dependencies of stages about to run, and
   * the outputs of runs found in the run cache.
   */
  pull?: boolean;
  /** How storage adapters are found, for `pull`; default `@mlv/remote-<scheme>` packages. */
  adapters?: AdapterSources;
  /** Parallel transfers for `pull`; default the remote's choice. */
  jobs?: number;
  /** On a failure, go on with the stages that do not depend on the failed one. */
  keepGoing?: boolean;
  /** On a failure, go on with every stage. */
  ignoreErrors?: boolean;
  /** Record outputs in `dvc.lock` without putting them into the cache. */
  noCommit?: boolean;
  /** Do not look runs up in the run cache (restoring deleted outputs of an unchanged stage still works). */
  noRunCache?: boolean;
  /** Run the stages depending on a stage that ran, even when its outputs came out the same. */
  forceDownstream?: boolean;
  onEvent?: (event: ReproEvent) => void;
  signal?: AbortSignal;
}

export interface ReproResult {
  /** Stages run or restored from the run cache, as addressed from `cwd`. */
  reproduced: string[];
  /** Stages (and `.dvc` files) whose outputs were downloaded instead (`pull`). */
  pulled: string[];
  /** Stages that failed under `keepGoing`/`ignoreErrors`. */
  failed: string[];
  /** Files to `git add` (lock files, `.gitignore` files, rewritten `.dvc` files), from the root. */
  gitFiles: string[];
  autostaged: boolean;
  git: boolean;
}

/** The repository lock, let go while a stage's command runs (the command may call mlv or DVC). */
class HeldLock {
  private lock: RepoLock | undefined;
  private readonly onSignal = (signal: NodeJS.Signals) => {
    void this.release().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
  };

  constructor(private readonly project: Project) {}

  async take(): Promise<void> {
    this.lock = await acquireRepoLock(this.project.dvcDir, { command: "mlv repro" });
    process.once("SIGINT", this.onSignal);
    process.once("SIGTERM", this.onSignal);
  }

  async release(): Promise<void> {
    process.off("SIGINT", this.onSignal);
    process.off("SIGTERM", this.onSignal);
    this.project.hashCache.save();
    const lock = this.lock;
    this.lock = undefined;
    await lock?.release();
  }

  async without<T>(fn: () => Promise<T>): Promise<T> {
    await this.release();
    try {
      return await fn();
    } finally {
      await this.take();
    }
  }
}

/**
 * Downloads for `repro --pull`: each remote is opened once, on first use, and closed at the end.
 * An output goes to its own `remote:`, the others to the default remote.
 */
class Puller {
  private readonly remotes = new Map<string, Promise<ReadableRemote>>();

  constructor(
    private readonly project: Project,
    private readonly options: ReproOptions,
  ) {}

  private remote(name: string | undefined): Promise<ReadableRemote> {
    const key = name ?? "";
    let opened = this.remotes.get(key);
    if (!opened) {
      opened = openRemote(this.project.config, name, this.options.adapters).then((r) => r.remote);
      opened.catch(() => {}); // reported to whoever awaits it
      this.remotes.set(key, opened);
    }
    return opened;
  }

  /** The default remote's run cache into the cache; why it could not be had, or undefined. */
  async runCache(onRefused: (reason: string) => void): Promise<string | undefined> {
    try {
      const remote = await this.remote(undefined);
      const result = await fetchRunCache(this.project, remote, {
        jobs: this.options.jobs,
        signal: this.options.signal,
      });
      for (const { reason } of result.refused) onRefused(reason);
      if (result.unsupported)
        return `remote '${remote.displayUrl}' cannot list its files, so its run cache cannot be read`;
      if (result.failed.length > 0) return result.failed.map((f) => `${f.path}: ${f.message}`).join("; ");
      return undefined;
    } catch (err) {
      if (!(err instanceof MlvError)) throw err;
      return err.message;
    }
  }

  /** Download what `outs` use and the cache lacks. Throws, naming what could not be had. */
  async fetch(outs: readonly TrackedOut[]): Promise<void> {
    const groups = new Map<string | undefined, TrackedOut[]>();
    const imports: TrackedOut[] = [];
    for (const out of outs) {
      if (!out.out.md5 || out.out.raw?.cache === false) continue;
      // Imported data comes from its source repository, as `pull` gets it.
      if (isImport(out)) {
        imports.push(out);
        continue;
      }
      const own = out.out.raw?.remote;
      const key = typeof own === "string" ? own.toLowerCase() : undefined;
      groups.set(key, [...(groups.get(key) ?? []), out]);
    }
    const lacking: string[] = [];
    const hints = new Set<string>();
    for (const [name, group] of groups) {
      const result = await fetch(this.project, group, await this.remote(name), {
        jobs: this.options.jobs,
        signal: this.options.signal,
      });
      lacking.push(...result.missing, ...result.failed.map((f) => `${f.path} (${f.message})`));
      for (const f of result.failed) if (f.hint) hints.add(f.hint);
    }
    if (imports.length > 0) {
      const result = await fetchImports(this.project, imports, {
        adapters: this.options.adapters,
        jobs: this.options.jobs,
      });
      lacking.push(...result.missing, ...result.failed.map((f) => `${f.path} (${f.message})`));
      for (const f of result.failed) if (f.hint) hints.add(f.hint);
    }
    if (lacking.length > 0)
      throw new MlvError("EMISSING", `not on the remote: ${lacking.join(", ")}`, {
        data: { missing: lacking },
        hint: hints.size > 0 ? [...hints].join("\n") : undefined,
      });
  }

  async close(): Promise<void> {
    for (const opened of this.remotes.values()) {
      const remote = await opened.catch(() => undefined);
      await remote?.close?.();
    }
  }
}

/** The graph with the upstream edges of frozen stages cut: a frozen stage does not pull in what it depends on (§5.3). */
function activeGraph(graph: StageGraph): StageGraph {
  const producers = new Map(graph.nodes.map((n) => [n, n.frozen ? [] : (graph.producers.get(n) ?? [])]));
  return { ...graph, producers };
}

function consumersOf(graph: StageGraph): Map<GraphNode, GraphNode[]> {
  const consumers = new Map<GraphNode, GraphNode[]>(graph.nodes.map((n) => [n, []]));
  for (const [node, producers] of graph.producers) for (const p of producers) consumers.get(p)?.push(node);
  return consumers;
}

function reachable(from: Iterable<GraphNode>, next: Map<GraphNode, GraphNode[]>): Set<GraphNode> {
  const found = new Set<GraphNode>();
  const pending = [...from];
  for (let node = pending.pop(); node; node = pending.pop()) {
    if (found.has(node)) continue;
    found.add(node);
    pending.push(...(next.get(node) ?? []));
  }
  return found;
}

/** Python's `fnmatch` pattern as a regular expression: `*`, `?`, `[seq]`, `[!seq]`; the whole name must match. */
function fnmatchRegExp(pattern: string): RegExp {
  const special = /[\\^$.*+?()[\]{}|/-]/g;
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === "*") re += "[\\s\\S]*";
    else if (c === "?") re += "[\\s\\S]";
    else if (c === "[") {
      let j = i + 1;
      if (pattern[j] === "!") j++;
      if (pattern[j] === "]") j++;
      while (j < pattern.length && pattern[j] !== "]") j++;
      if (j >= pattern.length) {
        re += "\\[";
        continue;
      }
      let set = pattern.slice(i + 1, j);
      const negated = set.startsWith("!");
      if (negated) set = set.slice(1);
      // Ranges (`a-z`) stay ranges; everything else is literal.
      const body = set.replace(/[\\^[\]]/g, (m) => `\\${m}`);
      re += negated ? `[^${body}]` : `[${body}]`;
      i = j;
    } else re += c.replace(special, (m) => `\\${m}`);
  }
  try {
    return new RegExp(`^${re}$`);
  } catch {
    throw new MlvError("EUSAGE", `'${pattern}' is not a valid pattern: check its [...] ranges (such as [a-z])`, {
      data: { pattern },
      exitCode: 2,
    });
  }
}

const GLOB_CHARS = /[*?[]/;

/** A `--glob` target: `[path:]pattern`, the path a `dvc.yaml` relative to `cwd` (default the one in `cwd`). */
function globTarget(project: Project, target: string, cwd: string): { file: string; pattern: string } | undefined {
  const at = target.indexOf("@");
  const head = at < 0 ? target : target.slice(0, at);
  const colon = head.lastIndexOf(":");
  const named = colon >= 0 && !/[\\/]/.test(head.slice(colon + 1));
  const pattern = named ? target.slice(colon + 1) : target;
  if (!GLOB_CHARS.test(pattern)) return undefined;
  const path = named ? head.slice(0, colon) : "";
  return { file: project.relOf(resolve(cwd, path || PIPELINE_FILE)), pattern };
}

/** The stages the targets name, in the order named, each once. */
async function targetNodes(
  project: Project,
  index: DataIndex,
  graph: StageGraph,
  options: ReproOptions,
  cwd: string,
  display: Display,
): Promise<GraphNode[]> {
  const targets = options.targets ?? [];
  if (targets.length === 0) {
    const file = project.relOf(join(cwd, PIPELINE_FILE));
    if (!existsSync(join(cwd, PIPELINE_FILE)))
      throw new MlvError(
        "ENOPIPELINE",
        `'${join(cwd, PIPELINE_FILE)}' does not exist: name the stages to reproduce, or run this where dvc.yaml is`,
        { data: { file } },
      );
    return graph.nodes.filter((n) => n.file === file && n.locked);
  }
  const picked: GraphNode[] = [];
  const add = (nodes: GraphNode[]) => {
    for (const node of nodes) if (!picked.includes(node)) picked.push(node);
  };
  for (const target of targets) {
    const abs = resolve(cwd, target);
    // A tracked folder (or one inside it) holds no pipeline files: as a target it names its producer, -R or not.
    const output = (o: TrackedOut) => o.abs === abs || abs.startsWith(o.abs + sep);
    if (options.recursive && statSync(abs, { throwIfNoEntry: false })?.isDirectory() && !index.outs.some(output)) {
      project.assertInside(abs, target);
      const dir = project.relOf(abs);
      const below = graph.nodes.filter((n) => dir === "" || n.file.startsWith(`${dir}/`));
      // DVC reproduces the whole project when a folder or a pattern selects nothing; mlv says so instead.
      if (below.length === 0)
        throw new MlvError(
          "ENOTARGET",
          `there is no dvc.yaml stage and no .dvc file below '${target}': nothing to reproduce`,
          { data: { target } },
        );
      add(below);
      continue;
    }
    const glob = options.glob ? globTarget(project, target, cwd) : undefined;
    if (glob) {
      const re = fnmatchRegExp(glob.pattern);
      const matching = graph.nodes.filter(
        (n) =>
          n.locked &&
          n.file === glob.file &&
          (re.test(n.locked.stage.name) || (n.locked.stage.group !== undefined && re.test(n.locked.stage.group))),
      );
      if (matching.length === 0)
        throw new MlvError("ENOTARGET", `no stage of '${display(glob.file)}' matches '${glob.pattern}'`, {
          data: { target },
          hint: "See 'mlv stage list' for the stages.",
        });
      add(matching);
      continue;
    }
    add(nodesOf(graph.nodes, await selectTargets(project, [target], cwd, index)));
  }
  return picked;
}

/** The stages to look at, in the order to look at them (§5.3). */
async function plan(
  project: Project,
  index: DataIndex,
  graph: StageGraph,
  options: ReproOptions,
  cwd: string,
  display: Display,
): Promise<GraphNode[]> {
  const active = activeGraph(graph);
  if (options.allPipelines) return dfsPostorder(active);
  const targets = await targetNodes(project, index, graph, options, cwd, display);
  if (options.pipeline) {
    const edges = active.nodes.flatMap((n) => (active.producers.get(n) ?? []).map((p) => [n, p] as const));
    const wanted = new Set(targets);
    const members = componentsOf(active.nodes, edges).filter((c) => c.some((n) => wanted.has(n)));
    return dfsPostorder(active, new Set(members.flat()));
  }
  if (options.single) return targets;
  const closure = options.downstream ? reachable(targets, consumersOf(active)) : upstreamOf(active, targets);
  return dfsPostorder(active, closure);
}

function hasChangedDeps(status: StageStatus): boolean {
  return status.some((s) => typeof s === "object" && "changed deps" in s);
}

/**
 * DVC's "changed" for repro (§4.3). With `allowMissing`, missing data does not count: outputs
 * deleted or not in the cache, and deleted dependencies, unless `upstreamChanged` says the stage
 * producing one now records different data for it than this stage used.
 */
function isChanged(
  stage: PipelineStage,
  status: StageStatus,
  allowMissing: boolean,
  upstreamChanged: (depRel: string) => boolean,
): boolean {
  for (const part of status) {
    if (part === "changed command") return true;
    if (part === "always changed") {
      if (!stage.frozen) return true;
      continue;
    }
    if ("changed deps" in part) {
      if (stage.frozen) continue;
      const entries = Object.entries(part["changed deps"]);
      if (!allowMissing || entries.some(([rel, state]) => state !== "deleted" || upstreamChanged(rel))) return true;
      continue;
    }
    const states = Object.values(part["changed outs"]);
    if (!allowMissing || states.some((s) => s !== "deleted" && s !== "not in cache")) return true;
  }
  return false;
}

/** Move a linked output's data out of the cache's way: a persistent output is edited in place by its command. */
async function unprotect(project: Project, abs: string): Promise<void> {
  const st = lstatSync(abs, { throwIfNoEntry: false });
  if (!st) return;
  const files = st.isDirectory() ? walkFiles(abs, project.relOf(abs), project.ignore).map((f) => f.abs) : [abs];
  for (const file of files) {
    const fst = lstatSync(file);
    if (!fst.isSymbolicLink() && fst.nlink <= 1) continue;
    const tmp = tmpName(join(file, ".."));
    await copyFile(file, tmp);
    await rename(tmp, file);
  }
}

/** Before a run (§5.4 step 2): outputs are deleted, persistent ones only made writable copies. */
async function removeOutputs(project: Project, stage: PipelineStage): Promise<void> {
  for (const out of stage.outs) {
    const abs = workspacePathOf(project, out.rel);
    try {
      if (out.persist) await unprotect(project, abs);
      else {
        const st = lstatSync(abs, { throwIfNoEntry: false });
        if (st?.isDirectory()) await rm(abs, { recursive: true, force: true });
        else if (st) await unlink(abs);
      }
    } catch (err) {
      throw translateFsError(err, abs);
    }
  }
}

/** The stage's outputs as tracked outputs with the hashes of `recorded`, for checkout (and pulling). */
function outputsAt(project: Project, stage: PipelineStage, recorded: LockStage): TrackedOut[] {
  return stage.outs.map((so) => {
    const entry = recorded.outs.find((e) => e.path === so.path);
    const md5 = entry?.md5;
    const isDir = md5?.endsWith(".dir") ?? false;
    return {
      ownerPath: join(project.root, ...stage.file.split("/")),
      owner: `${stage.file}:${stage.name}`,
      out: {
        path: so.path,
        md5,
        hashName: entry?.hashName ?? "md5",
        size: entry?.size,
        nfiles: entry?.nfiles,
        isexec: entry?.isexec,
        isDir,
        external: false,
        line: 0,
        // A run restores `cache: false` metrics and plots too: the run cache copied them into the cache.
        raw: { ...entry?.raw, cache: true, ...(so.remote !== undefined && { remote: so.remote }) },
      },
      abs: workspacePathOf(project, so.rel),
      rel: so.rel,
      hashName: entry?.hashName ?? "md5",
      isDir,
    };
  });
}

async function allInCache(project: Project, recorded: LockStage): Promise<boolean> {
  for (const out of recorded.outs) if (!out.md5 || !(await isInCache(project, out.md5, out.hashName))) return false;
  return true;
}

function sameCommand(a: string | string[], b: string | string[]): boolean {
  if (typeof a === "string" || typeof b === "string") return a === b;
  return a.length === b.length && a.every((part, i) => part === b[i]);
}

/** A file's text, or undefined when it does not exist: to tell whether an operation changed it. */
function textOf(abs: string): string | undefined {
  try {
    return readFileSync(abs, "utf8");
  } catch {
    return undefined;
  }
}

/** How one stage came out: skipped, its outputs downloaded (`pull`), or made (run, run cache, verified). */
type Outcome = "unchanged" | "pulled" | "ran";

class Reproduction {
  readonly gitFiles = new Set<string>();
  readonly reproduced: string[] = [];
  readonly pulled: string[] = [];
  readonly failed: { node: GraphNode; error: MlvError }[] = [];
  private readonly forced = new Set<GraphNode>();
  private readonly emit: (event: ReproEvent) => void;
  /** Each output's hash as recorded now (path from the root → md5), updated as stages are recorded. */
  private readonly recordedOuts = new Map<string, string | undefined>();
  /** What has been hashed since the workspace last changed. */
  private memo: StatusMemo;
  /**
   * Every planned stage's status, all computed at once at the start (as `status` does), valid
   * until a stage changes the workspace: a run where nothing changed costs what `status` costs,
   * not one stage's hashing after another.
   */
  private early: Map<GraphNode, Promise<StageStatus>> | undefined;

  constructor(
    private readonly project: Project,
    private readonly index: DataIndex,
    private readonly graph: StageGraph,
    private readonly lock: HeldLock,
    private readonly options: ReproOptions,
    private readonly display: Display,
    private readonly puller: Puller | undefined,
  ) {
    this.emit = options.onEvent ?? (() => {});
    this.memo = new StatusMemo(project);
    for (const node of graph.nodes) {
      for (const o of node.pointerOuts) this.recordedOuts.set(o.rel, o.out.md5);
      const locked = node.locked;
      if (locked)
        for (const o of locked.stage.outs)
          this.recordedOuts.set(o.rel, locked.lock?.outs.find((e) => e.path === o.path)?.md5);
    }
  }

  address(node: GraphNode): string {
    return nodeAddress(node, this.display);
  }

  async run(order: GraphNode[]): Promise<void> {
    const consumers = consumersOf(activeGraph(this.graph));
    if (!this.options.force) {
      const memo = this.memo;
      this.early = new Map();
      for (const node of order) {
        if (!node.locked) continue;
        const status = stageStatus(this.project, node.locked, { memo });
        status.catch(() => {}); // awaited (and reported) when the stage's turn comes
        this.early.set(node, status);
      }
    }
    const skipped = new Set<GraphNode>();
    for (const node of order) {
      this.options.signal?.throwIfAborted();
      if (skipped.has(node)) continue;
      const stage = this.address(node);
      this.emit({ type: "stage", stage });
      let outcome: Outcome;
      try {
        outcome = node.locked ? await this.stage(node) : await this.source(node);
      } catch (err) {
        this.memo = new StatusMemo(this.project);
        this.early = undefined;
        const error = err instanceof MlvError ? err : translateFsError(err, this.project.root);
        if (!(error instanceof MlvError)) throw err;
        if (!this.options.keepGoing && !this.options.ignoreErrors)
          throw new MlvError("EREPRO", `failed to reproduce '${stage}': ${error.message}`, {
            cause: error,
            data: { stages: [stage], gitFiles: this.gitFileList() },
            hint: error.hint,
          });
        const dependents =
          this.options.ignoreErrors || this.options.single
            ? []
            : [...reachable(consumers.get(node) ?? [], consumers)].filter((n) => order.includes(n) && !skipped.has(n));
        for (const d of dependents) skipped.add(d);
        this.failed.push({ node, error });
        this.emit({
          type: "failed",
          stage,
          error,
          skipping: order.filter((n) => dependents.includes(n)).map((n) => this.address(n)),
          ignored: !!this.options.ignoreErrors,
        });
        continue;
      }
      // What a stage ran or restored may be any file: the next stage hashes afresh. Unchanged
      // stages share what was hashed (a folder output is read once, not again as a dependency).
      if (outcome !== "unchanged") {
        this.memo = new StatusMemo(this.project);
        this.early = undefined;
      }
      this.emit({ type: "done", stage, ran: outcome === "ran" });
      if (outcome === "pulled") this.pulled.push(stage);
      if (outcome !== "ran") continue;
      this.reproduced.push(stage);
      if (this.options.forceDownstream) for (const c of consumers.get(node) ?? []) this.forced.add(c);
    }
  }

  gitFileList(): string[] {
    return [...this.gitFiles].map((f) => this.project.relOf(f));
  }

  /** Whether the stage producing `depRel` records other data for it than `locked` was run with. */
  private upstreamChanged(locked: NonNullable<GraphNode["locked"]>, depRel: string): boolean {
    if (!this.recordedOuts.has(depRel)) return false;
    const dep = locked.stage.deps.find((d) => d.rel === depRel);
    const used = dep && locked.lock?.deps.find((d) => d.path === dep.path)?.md5;
    return this.recordedOuts.get(depRel) !== used;
  }

  private get pulling(): Puller | undefined {
    return this.options.dry ? undefined : this.puller;
  }

  /**
   * `pull`, for a stage or `.dvc` file missing only data (§5.4 step 1): download its outputs and
   * check them out; true when every output is back. Checkout never overwrites unsaved work.
   */
  private async pullOutputs(address: string, outs: TrackedOut[], puller: Puller): Promise<boolean> {
    this.emit({ type: "pulling", stage: address });
    try {
      await puller.fetch(outs);
      const result = await checkout(this.project, outs);
      const absent = outs.filter((o) => !existsSync(o.abs)).map((o) => this.display(o.rel));
      if (result.failed.length > 0 || absent.length > 0)
        throw new MlvError("EMISSING", `not restored: ${[...new Set([...result.failed, ...absent])].join(", ")}`);
      return true;
    } catch (err) {
      if (!(err instanceof MlvError)) throw err;
      this.emit({ type: "pull-failed", stage: address, reason: err.message });
      return false;
    }
  }

  /**
   * `pull`, before a stage runs: the tracked data its missing dependencies name (what fails to
   * come is reported by the run). True when there was something to pull.
   */
  private async pullMissingDeps(stage: PipelineStage, puller: Puller): Promise<boolean> {
    const wanted: TrackedOut[] = [];
    for (const dep of stage.deps) {
      const abs = workspacePathOf(this.project, dep.rel);
      if (existsSync(abs)) continue;
      for (const o of this.index.outs)
        if (o.abs === abs || o.abs.startsWith(abs + sep) || abs.startsWith(o.abs + sep)) wanted.push(o);
    }
    if (wanted.length === 0) return false;
    try {
      await puller.fetch(wanted);
    } catch (err) {
      if (!(err instanceof MlvError)) throw err;
    }
    await checkout(this.project, wanted).catch((err) => {
      if (!(err instanceof MlvError)) throw err;
    });
    return true;
  }

  /** One `dvc.yaml` stage (§5.4). */
  private async stage(node: GraphNode): Promise<Outcome> {
    const locked = node.locked as NonNullable<GraphNode["locked"]>;
    const { stage } = locked;
    const address = this.address(node);
    const { options, project } = this;
    if (stage.frozen) this.emit({ type: "frozen", stage: address });
    const force = !!options.force || this.forced.has(node);
    let memo = this.memo;
    let status = force ? undefined : await (this.early?.get(node) ?? stageStatus(project, locked, { memo }));
    const upstreamChanged = (rel: string) => this.upstreamChanged(locked, rel);
    if (status && !isChanged(stage, status, !!options.allowMissing, upstreamChanged)) {
      this.emit({ type: "unchanged", stage: address, source: false });
      return "unchanged";
    }
    const puller = this.pulling;
    if (status && puller && !isChanged(stage, status, true, upstreamChanged)) {
      const outs = this.index.outs.filter((o) => o.stage === locked);
      if (await this.pullOutputs(address, outs, puller)) return "pulled";
    }
    if (!options.dry && !stage.frozen) await removeOutputs(project, stage);
    if (stage.frozen) {
      this.emit({ type: "verifying", stage: address, source: false });
      const missing = stage.outs
        .filter((o) => !existsSync(workspacePathOf(project, o.rel)))
        .map((o) => this.display(o.rel));
      if (missing.length > 0)
        throw new MlvError(
          "ENOOUTPUT",
          `missing data '${missing.length > 1 ? "sources" : "source"}': ${missing.join(", ")}`,
          { data: { paths: missing } },
        );
    } else {
      if (puller && (await this.pullMissingDeps(stage, puller))) {
        // The workspace changed: what was hashed before is stale.
        memo = new StatusMemo(project);
        this.memo = memo;
        this.early = undefined;
        if (status) status = await stageStatus(project, locked, { memo });
      }
      const restored = !force && status && (await this.fromRunCache(node, status, memo));
      if (restored) this.emit({ type: "cached", stage: address });
      else {
        // A missing dependency or params key fails here, before anything runs.
        await stageInputs(memo, locked, this.display);
        this.emit({ type: "running", stage: address });
        if (options.dry) {
          for (const line of commandLines(stage.cmd)) this.emit({ type: "command", line });
          return "ran";
        }
        await this.lock.without(() =>
          runStageCommand(stage.cmd, {
            cwd: workspacePathOf(project, stage.wdir),
            root: project.root,
            address,
            onLine: (line) => this.emit({ type: "command", line }),
          }),
        );
      }
    }
    if (options.dry) return "ran";
    await this.save(node);
    return "ran";
  }

  /**
   * §5.4 step 4: the run to restore, when there is one whose outputs are all in the cache (with
   * `pull`, after downloading them). An unchanged stage whose outputs were deleted gets its own
   * recorded run back; a changed one, unless `noRunCache`, the newest run kept for its current
   * inputs. Outputs are checked out.
   */
  private async fromRunCache(node: GraphNode, status: StageStatus, memo: StatusMemo): Promise<boolean> {
    const locked = node.locked as NonNullable<GraphNode["locked"]>;
    const { stage, lock } = locked;
    if (!runCacheEligible(stage)) return false;
    let candidate: LockStage | undefined;
    const recordedWhole =
      lock &&
      sameCommand(lock.cmd, stage.cmd) &&
      !hasChangedDeps(status) &&
      stage.outs.every((o) => lock.outs.some((e) => e.path === o.path && e.md5));
    if (recordedWhole) candidate = lock;
    else if (!this.options.noRunCache) {
      try {
        candidate = await findRun(this.project, await stageInputs(memo, locked, this.display));
      } catch {
        return false; // a missing dependency: reported when the stage is run
      }
    }
    if (!candidate) return false;
    const outs = outputsAt(this.project, stage, candidate);
    const puller = this.pulling;
    if (puller) {
      // Outputs kept out of the cache were never pushed: only the cached ones can come from a remote.
      const cached = new Set(stage.outs.filter((o) => o.cache).map((o) => o.rel));
      await puller.fetch(outs.filter((o) => cached.has(o.rel))).catch((err) => {
        if (!(err instanceof MlvError)) throw err;
      });
    }
    if (!(await allInCache(this.project, candidate))) return false;
    if (this.options.dry) return true;
    const result = await checkout(this.project, outs, { force: true });
    return result.failed.length === 0;
  }

  /** §5.4 steps 6-8: hash and cache the outputs, keep the run, write the lock. */
  private async save(node: GraphNode): Promise<void> {
    const locked = node.locked as NonNullable<GraphNode["locked"]>;
    const { stage } = locked;
    const { project, options } = this;
    const commit = !options.noCommit;
    const keepRun = commit && runCacheEligible(stage) && runCacheSaves(stage);
    const inputs = await stageInputs(new StatusMemo(project), locked, this.display);
    const outs = await saveOutputs(project, locked, {
      commit,
      storeUncached: keepRun,
      gitFiles: this.gitFiles,
      display: this.display,
      onEmpty: (rel) => this.emit({ type: "empty", path: this.display(rel) }),
    });
    stage.outs.forEach((o, i) => {
      const written = outs[i];
      this.recordedOuts.set(o.rel, written?.md5 ?? (written?.raw?.md5 as string | undefined));
    });
    const entry = { ...inputs, outs };
    if (keepRun) await saveRun(project, entry);
    const written = await writeStageLock(project, stage, entry);
    if (written.updated) {
      this.gitFiles.add(written.path);
      this.emit({ type: "lock", file: this.display(project.relOf(written.path)), created: written.created });
    }
  }

  /** A `.dvc` file in the plan (§5.4, data sources): re-recorded when its data changed. */
  private async source(node: GraphNode): Promise<Outcome> {
    const { project, options } = this;
    const address = this.address(node);
    const memo = this.memo;
    const states = await Promise.all(
      node.pointerOuts.map((o) =>
        outputState(
          memo,
          o.abs,
          { md5: o.out.md5, hashName: o.hashName, nfiles: o.out.nfiles },
          o.out.raw?.cache !== false,
        ),
      ),
    );
    const missingOnly = (s: (typeof states)[number]) => s === undefined || s === "deleted" || s === "not in cache";
    const forced = !!options.force || this.forced.has(node);
    const changed = states.some((s) => s !== undefined && !(options.allowMissing && missingOnly(s)));
    if (!changed && !forced) {
      this.emit({ type: "unchanged", stage: address, source: true });
      return "unchanged";
    }
    const puller = this.pulling;
    if (puller && !forced && states.every(missingOnly) && (await this.pullOutputs(address, node.pointerOuts, puller)))
      return "pulled";
    this.emit({ type: "verifying", stage: address, source: true });
    const missing = node.pointerOuts.filter((o) => !existsSync(o.abs)).map((o) => this.display(o.rel));
    if (missing.length > 0)
      throw new MlvError(
        "ENOOUTPUT",
        `missing data '${missing.length > 1 ? "sources" : "source"}': ${missing.join(", ")}`,
        { data: { paths: missing } },
      );
    if (node.pointerOuts.some(isImport))
      throw new MlvError(
        "ECHANGED",
        `'${address}' is an import whose data changed in the workspace: update it to take the source's version, or check it out to restore the recorded one`,
        {
          data: { file: node.file },
          hint: `Run 'mlv update ${address}' for the source's version, or 'mlv checkout ${address}' for the recorded one.`,
        },
      );
    if (options.dry) return "ran";
    const ownerPath = (node.pointerOuts[0] as TrackedOut).ownerPath;
    const candidates = [ownerPath, ...node.pointerOuts.map((o) => join(o.abs, "..", ".gitignore"))];
    const before = new Map(candidates.map((f) => [f, textOf(f)]));
    await add(
      project,
      node.pointerOuts.map((o) => o.abs),
      { cwd: project.root },
    );
    // Only what the add changed is for git to pick up, as DVC lists it.
    for (const [file, text] of before) if (textOf(file) !== text) this.gitFiles.add(file);
    for (const o of loadPointer(project, ownerPath)) this.recordedOuts.set(o.rel, o.out.md5);
    return "ran";
  }
}

/** Reproduce the pipeline (see the module comment); a failure names the stage. */
export async function repro(project: Project, options: ReproOptions = {}): Promise<ReproResult> {
  const cwd = options.cwd ?? project.root;
  const display = (rel: string) => toPosix(relative(cwd, join(project.root, rel))) || ".";
  const emit = options.onEvent ?? (() => {});
  const lock = new HeldLock(project);
  await lock.take();
  const puller = options.pull ? new Puller(project, options) : undefined;
  try {
    const index = await collectIndex(project);
    const graph = buildGraph(index, { display });
    const order = await plan(project, index, graph, options, cwd, display);
    if (puller && !options.dry) {
      const reason = await puller.runCache((message) => emit({ type: "warning", message }));
      if (reason !== undefined) emit({ type: "run-cache-unavailable", reason });
    }
    const run = new Reproduction(project, index, graph, lock, options, display, puller);
    await run.run(order);
    const gitFiles = run.gitFileList();
    const scm = await project.scm();
    let autostaged = false;
    if (scm && gitFiles.length > 0 && !options.dry && configBool(project.config.get("core.autostage"))) {
      await scm.add([...run.gitFiles]);
      autostaged = true;
    }
    if (run.failed.length > 0 && !options.ignoreErrors) {
      const names = run.failed.map((f) => `'${run.address(f.node)}'`);
      const list = names.length === 1 ? names[0] : `stages: ${names.slice(0, -1).join(", ")} and ${names.at(-1)}`;
      throw new MlvError("EREPRO", `failed to reproduce ${list}`, {
        cause: run.failed[0]?.error,
        data: { stages: run.failed.map((f) => run.address(f.node)), gitFiles },
      });
    }
    return {
      reproduced: run.reproduced,
      pulled: run.pulled,
      failed: run.failed.map((f) => run.address(f.node)),
      gitFiles,
      autostaged,
      git: scm !== null,
    };
  } finally {
    await puller?.close();
    await lock.release();
  }
}
