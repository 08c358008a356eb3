/**
 * What `dvc dag` draws: the stage graph, or the graph of outputs, as labelled nodes and edges
 * going downstream (from a producer to what uses it), narrowed to the pipeline of a target.
 */
import { resolve } from "node:path";
import { collectIndex, type DataIndex, selectTargets } from "../data-index/index.js";
import type { Project } from "../project/project.js";
import { buildGraph, componentsOf, type GraphNode, nodeAddress, type StageGraph, upstreamOf } from "./graph.js";

/** A graph to draw: node labels in graph order, and edges `[upstream, downstream]` between them. */
export interface DagView {
  nodes: string[];
  edges: [string, string][];
}

export interface DagOptions {
  /** Show the pipeline of these nodes: they and what they depend on; with `full`, their whole pipelines. */
  targets?: readonly GraphNode[];
  full?: boolean;
  /** Draw outputs instead of stages: an edge from an output to each output of a stage using it. */
  outs?: boolean;
  /** A path from the project root → its label (default: unchanged). */
  display?: (rel: string) => string;
}

/** Nodes and edges of a directed graph, by key, with the edges in order and each once. */
interface KeyedGraph {
  nodes: string[];
  edges: [string, string][];
}

function uniqueEdges(edges: [string, string][]): [string, string][] {
  const seen = new Set<string>();
  return edges.filter(([a, b]) => {
    const key = `${a}\0${b}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The stage graph with nodes keyed by address; edges from producer to consumer. */
function stagesGraph(graph: StageGraph, display: (rel: string) => string): KeyedGraph {
  const name = (n: GraphNode) => nodeAddress(n, display);
  const edges: [string, string][] = graph.nodes.flatMap((consumer) =>
    (graph.producers.get(consumer) ?? []).map((producer): [string, string] => [name(producer), name(consumer)]),
  );
  return { nodes: graph.nodes.map(name), edges };
}

/** The outputs graph: an edge from each output a stage depends on to each output of that stage. */
function outputsGraph(graph: StageGraph, display: (rel: string) => string): KeyedGraph {
  const edges: [string, string][] = graph.links.flatMap(({ consumer, out }) =>
    consumer.outs.map((mine): [string, string] => [display(out), display(mine)]),
  );
  return { nodes: graph.nodes.flatMap((n) => n.outs.map(display)), edges: uniqueEdges(edges) };
}

/** `starts` and every node upstream of them (following edges backwards). */
function ancestors(view: KeyedGraph, starts: ReadonlySet<string>): Set<string> {
  const upstream = new Map<string, string[]>();
  for (const [a, b] of view.edges) upstream.set(b, [...(upstream.get(b) ?? []), a]);
  const found = new Set<string>();
  const pending = [...starts];
  for (let node = pending.pop(); node !== undefined; node = pending.pop()) {
    if (found.has(node)) continue;
    found.add(node);
    pending.push(...(upstream.get(node) ?? []));
  }
  return found;
}

function restrict(view: KeyedGraph, keep: ReadonlySet<string>): KeyedGraph {
  return {
    nodes: view.nodes.filter((n) => keep.has(n)),
    edges: view.edges.filter(([a, b]) => keep.has(a) && keep.has(b)),
  };
}

/** The pipeline of `starts`: what they depend on, or (`full`) the connected parts of the graph holding them. */
function narrow(view: KeyedGraph, starts: ReadonlySet<string>, full: boolean): KeyedGraph {
  if (starts.size === 0) return view;
  if (!full) return restrict(view, ancestors(view, starts));
  const parts = componentsOf(view.nodes, view.edges).filter((part) => part.some((n) => starts.has(n)));
  return restrict(view, new Set(parts.flat()));
}

/**
 * `dvc dag`: the stage graph (labels are stage addresses), or with `outs` the outputs graph
 * (labels are paths), whole or narrowed to the pipeline of `targets`. A target without outputs
 * leaves the outputs graph whole, as in DVC.
 */
export function dagView(graph: StageGraph, options: DagOptions = {}): DagView {
  const display = options.display ?? ((rel: string) => rel);
  const targets = options.targets ?? [];
  if (options.outs) {
    const starts = new Set(targets.flatMap((n) => n.outs.map(display)));
    return narrow(outputsGraph(graph, display), starts, !!options.full);
  }
  const view = stagesGraph(graph, display);
  if (targets.length === 0) return view;
  if (options.full) return narrow(view, new Set(targets.map((n) => nodeAddress(n, display))), true);
  return restrict(view, new Set([...upstreamOf(graph, targets)].map((n) => nodeAddress(n, display))));
}

/** The nodes standing for what `selectTargets` picked: its stages, and the owners of its outputs. */
export function nodesOf(nodes: readonly GraphNode[], picked: DataIndex): GraphNode[] {
  const stages = new Set(picked.stages);
  const owners = new Set<unknown>(picked.outs.map((o) => o.stage ?? o.owner));
  return nodes.filter(
    (n) => (n.locked && (stages.has(n.locked) || owners.has(n.locked))) || (!n.locked && owners.has(n.file)),
  );
}

/** The node producing the output `target` names (which need not exist yet), else what `selectTargets` finds. */
async function targetNodes(
  project: Project,
  graph: StageGraph,
  index: DataIndex,
  target: string,
  cwd = process.cwd(),
): Promise<GraphNode[]> {
  const rel = project.relOf(resolve(cwd, target));
  const producer = graph.nodes.find((n) => n.outs.includes(rel));
  if (producer && !target.includes(":")) return [producer];
  return nodesOf(graph.nodes, await selectTargets(project, [target], cwd, index));
}

export interface ProjectDagOptions extends Omit<DagOptions, "targets"> {
  /** A stage (`[path:]name`), a `dvc.yaml` or `.dvc` file, or an output path, relative to `cwd`. */
  target?: string;
  cwd?: string;
}

/**
 * `dvc dag [TARGET]`: the project's graph (checked as `buildGraph` checks it), narrowed to the
 * pipeline of `target` when given.
 */
export async function projectDag(project: Project, options: ProjectDagOptions = {}): Promise<DagView> {
  const index = await collectIndex(project);
  const graph = buildGraph(index, { display: options.display });
  const targets = options.target ? await targetNodes(project, graph, index, options.target, options.cwd) : [];
  return dagView(graph, { ...options, targets });
}
