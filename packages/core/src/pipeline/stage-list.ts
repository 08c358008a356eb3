/**
 * `dvc stage list`: the stages of a `dvc.yaml` (or of the project, or of a folder), each with a
 * one-line description: the first line of its `desc`, else what it outputs or depends on.
 */
import { existsSync } from "node:fs";
import { join, relative, resolve, sep } from "node:path";
import { collectIndex, selectTargets } from "../data-index/index.js";
import { MlvError } from "../errors.js";
import { PIPELINE_FILE } from "../formats/pipeline.js";
import type { Project } from "../project/project.js";
import { nodesOf } from "./dag.js";
import { type GraphNode, graphNodes } from "./graph.js";

/** One listed stage (or `.dvc` file). */
export interface StageListEntry {
  /** The `dvc.yaml` or `.dvc` file, posix from the project root. */
  file: string;
  /** The stage's name; absent for a `.dvc` file. */
  stage?: string;
  /** The first line of `desc`, else DVC's summary: `Outputs a, b; Reports m.json`, `Depends on x`. */
  description: string;
}

export interface StageListOptions {
  /** `dvc.yaml` or `.dvc` files, `[path:]name` stages or groups; with `recursive`, folders. Relative to `cwd`. */
  targets?: readonly string[];
  /** Every stage of the project (`--all`). */
  all?: boolean;
  /** Targets are folders: every stage whose file is inside one (`-R`). */
  recursive?: boolean;
  cwd?: string;
}

/** The first non-blank line of a description, trimmed; undefined when there is none. */
function firstLine(desc: string | undefined): string | undefined {
  return desc
    ?.split(/\r?\n/)
    .map((line) => line.trim())
    .find((line) => line !== "");
}

/** What a stage produces or reads, as DVC summarises it; paths as written in the file. */
function summary(node: GraphNode): string {
  const written = node.locked
    ? node.locked.stage.outs.map((o) => ({ path: o.path, kind: o.kind }))
    : node.pointerOuts.map((o) => ({ path: o.out.path, kind: "outs" }));
  const outs = written.filter((o) => o.kind === "outs").map((o) => o.path);
  const reports = written.filter((o) => o.kind !== "outs").map((o) => o.path);
  const parts = [];
  if (outs.length > 0) parts.push(`Outputs ${outs.join(", ")}`);
  if (reports.length > 0) parts.push(`Reports ${reports.join(", ")}`);
  if (parts.length > 0) return parts.join("; ");
  const stage = node.locked?.stage;
  const deps = stage ? [...stage.deps.map((d) => d.path), ...stage.params.map((p) => p.path)] : node.deps;
  return deps.length > 0 ? `Depends on ${deps.join(", ")}` : "No outputs or dependencies";
}

function describe(node: GraphNode): StageListEntry {
  const desc = node.locked ? node.locked.stage.desc : node.pointerOuts[0]?.pointer?.top.desc;
  const description = firstLine(typeof desc === "string" ? desc : undefined) ?? summary(node);
  return node.stage === undefined
    ? { file: node.file, description }
    : { file: node.file, stage: node.stage, description };
}

function isInside(file: string, folder: string): boolean {
  return folder === "" || file.startsWith(`${folder}/`);
}

/** The nodes the options pick, in collection order (targets in their own order). */
async function pick(project: Project, options: StageListOptions, cwd: string): Promise<GraphNode[]> {
  const index = await collectIndex(project);
  const nodes = graphNodes(index);
  if (options.all) return nodes;
  const targets = options.targets?.length ? options.targets : undefined;
  if (!targets) {
    const own = join(cwd, PIPELINE_FILE);
    if (!existsSync(own)) throw new MlvError("ENOPIPELINE", `'${own}' does not exist`, { data: { path: own } });
    const file = project.relOf(own);
    return nodes.filter((n) => n.file === file);
  }
  if (options.recursive)
    return targets.flatMap((t) => {
      const folder = relative(project.root, resolve(cwd, t)).split(sep).join("/");
      return nodes.filter((n) => isInside(n.file, folder));
    });
  const picked: GraphNode[] = [];
  for (const target of targets) picked.push(...nodesOf(nodes, await selectTargets(project, [target], cwd, index)));
  return [...new Set(picked)];
}

/**
 * `dvc stage list`: without targets the stages of the `dvc.yaml` in `cwd` (MlvError ENOPIPELINE
 * when there is none); `all`: every stage and `.dvc` file of the project.
 */
export async function listStages(project: Project, options: StageListOptions = {}): Promise<StageListEntry[]> {
  const nodes = await pick(project, options, options.cwd ?? process.cwd());
  return nodes.map(describe);
}
