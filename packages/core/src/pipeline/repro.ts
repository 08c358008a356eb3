/**
 * `repro`: bring a pipeline's outputs up to date (pipelines spec §5). The stages to look at come
 * from the graph (§5.3); each, in dependency order, is skipped when nothing it depends on or
 * produces changed, restored from the run cache when its inputs ran before, else run; then its
 * outputs go into the cache and its entry into `dvc.lock`, before the next stage is looked at.
 */
import { existsSync, lstatSync } from "node:fs";
import { copyFile, rename, rm, unlink } from "node:fs/promises";
import { join, relative } from "node:path";
import { tmpName } from "../atomic-write.js";
import { configBool } from "../config.js";
import { collectIndex, type DataIndex, selectTargets } from "../data-index/index.js";
import type { TrackedOut } from "../data-index/types.js";
import { isImport } from "../data-index/types.js";
import { MlvError, translateFsError } from "../errors.js";
import type { LockStage, PipelineStage } from "../formats/pipeline.js";
import { acquireRepoLock, type RepoLock } from "../lock.js";
import { add } from "../ops/add.js";
import { checkout } from "../ops/checkout.js";
import { toPosix } from "../paths.js";
import type { Project } from "../project/project.js";
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
import { saveOutputs, stageInputs, workspacePathOf, writeStageLock } from "./stage-save.js";
import { outputState, type StageStatus, StatusMemo, stageStatus } from "./status.js";

/** What `repro` tells as it goes; the CLI prints each as DVC words it. */
export type ReproEvent =
  /** A frozen stage: its dependencies are not reproduced. */
  | { type: "frozen"; stage: string }
  /** Nothing changed: skipped. `source` for a `.dvc` file. */
  | { type: "unchanged"; stage: string; source: boolean }
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

/** The stages the targets name, in the order named, each once. */
async function targetNodes(
  project: Project,
  index: DataIndex,
  graph: StageGraph,
  options: ReproOptions,
  cwd: string,
): Promise<GraphNode[]> {
  const targets = options.targets ?? [];
  if (targets.length === 0) {
    const file = project.relOf(join(cwd, "dvc.yaml"));
    if (!existsSync(join(cwd, "dvc.yaml")))
      throw new MlvError(
        "ENOPIPELINE",
        `'${join(cwd, "dvc.yaml")}' does not exist: name the stages to reproduce, or run this where dvc.yaml is`,
        {
          data: { file },
        },
      );
    return graph.nodes.filter((n) => n.file === file && n.locked);
  }
  const picked: GraphNode[] = [];
  for (const target of targets) {
    const selected = await selectTargets(project, [target], cwd, index);
    for (const node of nodesOf(graph.nodes, selected)) if (!picked.includes(node)) picked.push(node);
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
): Promise<GraphNode[]> {
  const active = activeGraph(graph);
  if (options.allPipelines) return dfsPostorder(active);
  const targets = await targetNodes(project, index, graph, options, cwd);
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

/** DVC's "changed" for repro (§4.3), with `allowMissing` ignoring missing data. */
function isChanged(stage: PipelineStage, status: StageStatus, allowMissing: boolean): boolean {
  for (const part of status) {
    if (part === "changed command") return true;
    if (part === "always changed") {
      if (!stage.frozen) return true;
      continue;
    }
    if ("changed deps" in part) {
      const states = Object.values(part["changed deps"]);
      if (!stage.frozen && (!allowMissing || states.some((s) => s !== "deleted"))) return true;
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

/** The stage's outputs as tracked outputs with the hashes of `recorded`, for checkout. */
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
        raw: { ...entry?.raw, cache: true },
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

class Reproduction {
  readonly gitFiles = new Set<string>();
  readonly reproduced: string[] = [];
  readonly failed: { node: GraphNode; error: MlvError }[] = [];
  private readonly forced = new Set<GraphNode>();
  private readonly emit: (event: ReproEvent) => void;

  constructor(
    private readonly project: Project,
    private readonly graph: StageGraph,
    private readonly lock: HeldLock,
    private readonly options: ReproOptions,
    private readonly display: (rel: string) => string,
  ) {
    this.emit = options.onEvent ?? (() => {});
  }

  address(node: GraphNode): string {
    return nodeAddress(node, this.display);
  }

  async run(order: GraphNode[]): Promise<void> {
    const consumers = consumersOf(activeGraph(this.graph));
    const skipped = new Set<GraphNode>();
    for (const node of order) {
      this.options.signal?.throwIfAborted();
      if (skipped.has(node)) continue;
      let ran: boolean;
      try {
        ran = node.locked ? await this.stage(node) : await this.source(node);
      } catch (err) {
        const error = err instanceof MlvError ? err : translateFsError(err, this.project.root);
        if (!(error instanceof MlvError)) throw err;
        const stage = this.address(node);
        if (!this.options.keepGoing && !this.options.ignoreErrors)
          throw new MlvError("EREPRO", `failed to reproduce '${stage}': ${error.message}`, {
            cause: error,
            data: { stages: [stage], gitFiles: this.gitFileList() },
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
      if (!ran) continue;
      this.reproduced.push(this.address(node));
      if (this.options.forceDownstream) for (const c of consumers.get(node) ?? []) this.forced.add(c);
    }
  }

  gitFileList(): string[] {
    return [...this.gitFiles].map((f) => this.project.relOf(f));
  }

  /** One `dvc.yaml` stage (§5.4); false when skipped. */
  private async stage(node: GraphNode): Promise<boolean> {
    const locked = node.locked as NonNullable<GraphNode["locked"]>;
    const { stage } = locked;
    const address = this.address(node);
    const { options, project } = this;
    if (stage.frozen) this.emit({ type: "frozen", stage: address });
    const force = !!options.force || this.forced.has(node);
    const memo = new StatusMemo(project);
    const status = force ? undefined : await stageStatus(project, locked, { memo });
    if (status && !isChanged(stage, status, !!options.allowMissing)) {
      this.emit({ type: "unchanged", stage: address, source: false });
      return false;
    }
    if (!options.dry && !stage.frozen) await removeOutputs(project, stage);
    if (stage.frozen) {
      this.emit({ type: "verifying", stage: address, source: false });
      const missing = stage.outs.filter((o) => !existsSync(workspacePathOf(project, o.rel))).map((o) => o.rel);
      if (missing.length > 0)
        throw new MlvError(
          "ENOOUTPUT",
          `missing data '${missing.length > 1 ? "sources" : "source"}': ${missing.join(", ")}`,
          {
            data: { paths: missing },
          },
        );
    } else {
      const restored = !force && status && (await this.fromRunCache(node, status, memo));
      if (restored) this.emit({ type: "cached", stage: address });
      else {
        // A missing dependency or params key fails here, before anything runs.
        await stageInputs(memo, locked);
        this.emit({ type: "running", stage: address });
        if (options.dry) {
          for (const line of commandLines(stage.cmd)) this.emit({ type: "command", line });
          return true;
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
    if (options.dry) return true;
    await this.save(node);
    return true;
  }

  /**
   * §5.4 step 4: the run to restore, when there is one whose outputs are all in the cache. An
   * unchanged stage whose outputs were deleted gets its own recorded run back; a changed one,
   * unless `noRunCache`, the newest run kept for its current inputs. Outputs are checked out.
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
        candidate = await findRun(this.project, await stageInputs(memo, locked));
      } catch {
        return false; // a missing dependency: reported when the stage is run
      }
    }
    if (!candidate || !(await allInCache(this.project, candidate))) return false;
    if (this.options.dry) return true;
    const result = await checkout(this.project, outputsAt(this.project, stage, candidate), { force: true });
    return result.failed.length === 0;
  }

  /** §5.4 steps 6-8: hash and cache the outputs, keep the run, write the lock. */
  private async save(node: GraphNode): Promise<void> {
    const locked = node.locked as NonNullable<GraphNode["locked"]>;
    const { stage } = locked;
    const { project, options } = this;
    const commit = !options.noCommit;
    const keepRun = commit && runCacheEligible(stage) && runCacheSaves(stage);
    const inputs = await stageInputs(new StatusMemo(project), locked);
    const outs = await saveOutputs(project, locked, {
      commit,
      storeUncached: keepRun,
      gitFiles: this.gitFiles,
      onEmpty: (rel) => this.emit({ type: "empty", path: this.display(rel) }),
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
  private async source(node: GraphNode): Promise<boolean> {
    const { project, options } = this;
    const address = this.address(node);
    const memo = new StatusMemo(project);
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
    const changed = states.some(
      (s) => s !== undefined && !(options.allowMissing && (s === "deleted" || s === "not in cache")),
    );
    if (!changed && !options.force && !this.forced.has(node)) {
      this.emit({ type: "unchanged", stage: address, source: true });
      return false;
    }
    this.emit({ type: "verifying", stage: address, source: true });
    const missing = node.pointerOuts.filter((o) => !existsSync(o.abs)).map((o) => this.display(o.rel));
    if (missing.length > 0)
      throw new MlvError(
        "ENOOUTPUT",
        `missing data '${missing.length > 1 ? "sources" : "source"}': ${missing.join(", ")}`,
        {
          data: { paths: missing },
        },
      );
    if (node.pointerOuts.some(isImport))
      throw new MlvError(
        "ECHANGED",
        `'${address}' is an import whose data changed in the workspace: run 'mlv update ${address}' for the source's version, or 'mlv checkout ${address}' for the recorded one`,
        { data: { file: node.file } },
      );
    if (options.dry) return true;
    const outcome = await add(
      project,
      node.pointerOuts.map((o) => o.abs),
      { cwd: project.root },
    );
    for (const f of outcome.gitFiles) this.gitFiles.add(join(project.root, f));
    return true;
  }
}

/** Reproduce the pipeline (see the module comment); a failure names the stage. */
export async function repro(project: Project, options: ReproOptions = {}): Promise<ReproResult> {
  const cwd = options.cwd ?? project.root;
  const display = (rel: string) => toPosix(relative(cwd, join(project.root, rel))) || ".";
  const lock = new HeldLock(project);
  await lock.take();
  try {
    const index = await collectIndex(project);
    const graph = buildGraph(index, { display });
    const order = await plan(project, index, graph, options, cwd);
    const run = new Reproduction(project, graph, lock, options, display);
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
      failed: run.failed.map((f) => run.address(f.node)),
      gitFiles,
      autostaged,
      git: scm !== null,
    };
  } finally {
    await lock.release();
  }
}
