/**
 * The stage graph of a project (pipelines spec §5.2-§5.3): every `dvc.yaml` stage and every `.dvc`
 * file is a node; a node points to the nodes whose outputs it depends on. Building it checks what
 * DVC checks (an output tracked twice, outputs inside one another, cycles); `dfsPostorder` gives
 * the order `repro` runs stages in.
 */
import { posix } from "node:path";
import type { DataIndex } from "../data-index/index.js";
import type { TrackedOut } from "../data-index/types.js";
import { MlvError } from "../errors.js";
import type { LockedStage } from "../formats/pipeline.js";
import { ownerAddress } from "../ops/status.js";

/** A node of the graph: a `dvc.yaml` stage, or a `.dvc` file (a data source, or an import). */
export interface GraphNode {
  /** The `dvc.yaml` or `.dvc` file, posix from the project root. */
  file: string;
  /** The stage's name; absent for a `.dvc` file. */
  stage?: string;
  /** The stage with its lock entry; absent for a `.dvc` file. */
  locked?: LockedStage;
  /** The `.dvc` file's outputs; empty for a stage. */
  pointerOuts: TrackedOut[];
  /** Dependencies, params files included, in DVC's order: posix from the root (URLs and absolute paths as written). */
  deps: string[];
  /** Outputs (metrics and plots included), in order, as `deps`. */
  outs: string[];
  frozen: boolean;
}

/** An edge: `consumer` depends on `out`, an output of `producer` (the dep's path, or above or below it). */
export interface GraphLink {
  consumer: GraphNode;
  producer: GraphNode;
  out: string;
}

export interface StageGraph {
  /** Every node, in collection order: owner files by path, a file's stages in file order. */
  nodes: GraphNode[];
  /** Node → the nodes producing its dependencies, each once, in the order the edges were found. */
  producers: Map<GraphNode, GraphNode[]>;
  /** Every dependency-to-output match, in the order found (several per edge when several outputs match). */
  links: GraphLink[];
}

export interface GraphOptions {
  /** A path from the project root → the path shown in messages (default: unchanged). */
  display?: (rel: string) => string;
}

/** How DVC names a node in messages: `train`, `sub/dvc.yaml:train`, `data.dvc` (through `display`). */
export function nodeAddress(node: GraphNode, display: (rel: string) => string = (rel) => rel): string {
  return ownerAddress(node, display);
}

function isLocal(path: string): boolean {
  return !posix.isAbsolute(path) && !/^[A-Za-z]:[\\/]/.test(path) && !/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(path);
}

function stageNode(locked: LockedStage): GraphNode {
  const { stage } = locked;
  return {
    file: stage.file,
    stage: stage.name,
    locked,
    pointerOuts: [],
    deps: [...stage.deps.map((d) => d.rel), ...stage.params.map((p) => p.rel)],
    outs: stage.outs.map((o) => o.rel),
    frozen: stage.frozen,
  };
}

/** The local dependencies of a `.dvc` file (`import-url` of a path); imports from a repository are not edges. */
function pointerDeps(out: TrackedOut): string[] {
  const pointer = out.pointer;
  const deps = pointer?.top.deps;
  if (!pointer || !Array.isArray(deps)) return [];
  const base = posix.join(posix.dirname(out.owner), pointer.wdir ?? ".");
  return deps.flatMap((dep: { path?: unknown; repo?: unknown }) => {
    if (typeof dep?.path !== "string" || dep.repo !== undefined) return [];
    return [isLocal(dep.path) ? posix.normalize(posix.join(base, dep.path)) : dep.path];
  });
}

function pointerNode(outs: TrackedOut[]): GraphNode {
  const first = outs[0] as TrackedOut;
  return {
    file: first.owner,
    pointerOuts: outs,
    deps: pointerDeps(first),
    outs: outs.map((o) => o.rel),
    frozen: first.pointer?.top.frozen === true,
  };
}

/** The nodes of an index in collection order: owner files by path (as the walk orders them), stages in file order. */
export function graphNodes(index: DataIndex): GraphNode[] {
  const pointers = new Map<string, TrackedOut[]>();
  for (const out of index.outs) {
    if (!out.pointer) continue;
    const group = pointers.get(out.ownerPath);
    if (group) group.push(out);
    else pointers.set(out.ownerPath, [out]);
  }
  const nodes = [...[...pointers.values()].map(pointerNode), ...index.stages.map(stageNode)];
  // A stable sort keeps each file's stages in order.
  return nodes.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}

/** Outputs by path components: finds an output at, above or below a path. */
class OutsTrie {
  private readonly root: TrieNode = { children: new Map() };

  /** The outputs at the path itself and above it (shortest first), then those below it. */
  find(path: string): { path: string; node: GraphNode }[] {
    const found: { path: string; node: GraphNode }[] = [];
    let at: TrieNode | undefined = this.root;
    for (const part of path.split("/")) {
      at = at.children.get(part);
      if (!at) return found;
      if (at.value) found.push(at.value);
    }
    for (const child of at.children.values()) collectBelow(child, found);
    return found;
  }

  insert(path: string, node: GraphNode): void {
    let at = this.root;
    for (const part of path.split("/")) {
      let next = at.children.get(part);
      if (!next) {
        next = { children: new Map() };
        at.children.set(part, next);
      }
      at = next;
    }
    at.value = { path, node };
  }
}

interface TrieNode {
  value?: { path: string; node: GraphNode };
  children: Map<string, TrieNode>;
}

function collectBelow(at: TrieNode, into: { path: string; node: GraphNode }[]): void {
  if (at.value) into.push(at.value);
  for (const child of at.children.values()) collectBelow(child, into);
}

function duplicateOutput(path: string, owners: GraphNode[], display: (rel: string) => string): MlvError {
  const names = owners.map((n) => nodeAddress(n, display));
  return new MlvError(
    "EOUTDUP",
    `output '${display(path)}' is specified in:\n${names.map((n) => `\t- ${n}`).join("\n")}\n` +
      "Use `dvc remove` with any of the above targets to stop tracking the overlapping output.",
    { data: { path, owners: names } },
  );
}

function overlappingOutputs(
  parent: { path: string; node: GraphNode },
  child: { path: string; node: GraphNode },
  display: (rel: string) => string,
): MlvError {
  const line = (o: { path: string; node: GraphNode }) => `'${display(o.path)}'('${nodeAddress(o.node, display)}')`;
  return new MlvError(
    "EOUTOVERLAP",
    `The output paths:\n${line(parent)}\n${line(child)}\noverlap and are thus in the same tracked directory.\n` +
      "To keep reproducibility, outputs should be in separate tracked directories or tracked individually.",
    { data: { parent: parent.path, child: child.path } },
  );
}

/** Every output in one trie; an output tracked twice, or inside another, fails as DVC fails (§5.2). */
function buildOutsTrie(nodes: readonly GraphNode[], display: (rel: string) => string): OutsTrie {
  const trie = new OutsTrie();
  for (const node of nodes)
    for (const path of node.outs) {
      const clash = trie.find(path)[0];
      if (clash?.path === path) throw duplicateOutput(path, [clash.node, node], display);
      if (clash) {
        const inside = path.startsWith(`${clash.path}/`);
        throw overlappingOutputs(inside ? clash : { path, node }, inside ? { path, node } : clash, display);
      }
      trie.insert(path, node);
    }
  return trie;
}

/** A cycle reached by a depth-first walk in node order, as its nodes in node order; undefined when acyclic. */
function findCycle(graph: Pick<StageGraph, "nodes" | "producers">): GraphNode[] | undefined {
  const state = new Map<GraphNode, "open" | "done">();
  for (const start of graph.nodes) {
    if (state.has(start)) continue;
    const path: GraphNode[] = [start];
    const next: number[] = [0];
    state.set(start, "open");
    while (path.length > 0) {
      const node = path[path.length - 1] as GraphNode;
      const i = next[next.length - 1] as number;
      const child = graph.producers.get(node)?.[i];
      if (child === undefined) {
        state.set(node, "done");
        path.pop();
        next.pop();
        continue;
      }
      next[next.length - 1] = i + 1;
      if (state.get(child) === "open") {
        const cycle = new Set(path.slice(path.indexOf(child)));
        return graph.nodes.filter((n) => cycle.has(n));
      }
      if (!state.has(child)) {
        state.set(child, "open");
        path.push(child);
        next.push(0);
      }
    }
  }
  return undefined;
}

function cycleError(cycle: GraphNode[], display: (rel: string) => string): MlvError {
  const names = cycle.map((n) => nodeAddress(n, display));
  const which = names.length === 1 ? "stage" : "stages";
  return new MlvError(
    "ECYCLE",
    `Same item(s) are defined as both a dependency and an output in ${which}: ${names.join(", ")}.`,
    { data: { stages: names } },
  );
}

/**
 * The stage graph of an index (§5.2): outputs checked for duplicates and overlaps, an edge from
 * each node to the producers of its dependencies (in stage order, deps in order, outputs at or
 * above a dependency before those below it), then checked for cycles. Throws MlvError EOUTDUP,
 * EOUTOVERLAP or ECYCLE with DVC's messages.
 */
export function buildGraph(index: DataIndex, options: GraphOptions = {}): StageGraph {
  const display = options.display ?? ((rel: string) => rel);
  const nodes = graphNodes(index);
  const trie = buildOutsTrie(nodes, display);
  const producers = new Map<GraphNode, GraphNode[]>(nodes.map((n) => [n, []]));
  const links: GraphLink[] = [];
  for (const consumer of nodes) {
    const edges = producers.get(consumer) as GraphNode[];
    for (const dep of consumer.deps)
      for (const { path, node: producer } of trie.find(dep)) {
        links.push({ consumer, producer, out: path });
        if (!edges.includes(producer)) edges.push(producer);
      }
  }
  const graph = { nodes, producers, links };
  const cycle = findCycle(graph);
  if (cycle) throw cycleError(cycle, display);
  return graph;
}

/**
 * Nodes in dependency order (§5.3, networkx `dfs_postorder_nodes`): a depth-first walk from each
 * node in graph order, following edges in order, a node emitted after everything it depends on.
 * With `within`, only those nodes and the edges between them.
 */
export function dfsPostorder(graph: StageGraph, within?: ReadonlySet<GraphNode>): GraphNode[] {
  const inside = (n: GraphNode) => !within || within.has(n);
  const seen = new Set<GraphNode>();
  const order: GraphNode[] = [];
  for (const start of graph.nodes) {
    if (!inside(start) || seen.has(start)) continue;
    seen.add(start);
    const stack: { node: GraphNode; next: number }[] = [{ node: start, next: 0 }];
    while (stack.length > 0) {
      const top = stack[stack.length - 1] as { node: GraphNode; next: number };
      const child = graph.producers.get(top.node)?.[top.next++];
      if (child === undefined) {
        order.push(top.node);
        stack.pop();
      } else if (inside(child) && !seen.has(child)) {
        seen.add(child);
        stack.push({ node: child, next: 0 });
      }
    }
  }
  return order;
}

/** The nodes `starts` depend on, directly or not, with `starts` themselves. */
export function upstreamOf(graph: StageGraph, starts: Iterable<GraphNode>): Set<GraphNode> {
  const found = new Set<GraphNode>();
  const pending = [...starts];
  for (let node = pending.pop(); node; node = pending.pop()) {
    if (found.has(node)) continue;
    found.add(node);
    pending.push(...(graph.producers.get(node) ?? []));
  }
  return found;
}

/** The weakly connected components of a directed graph given by its nodes (in order) and edges, in order of their first node. */
export function componentsOf<T>(nodes: readonly T[], edges: readonly (readonly [T, T])[]): T[][] {
  const neighbours = new Map<T, T[]>(nodes.map((n) => [n, []]));
  for (const [a, b] of edges) {
    neighbours.get(a)?.push(b);
    neighbours.get(b)?.push(a);
  }
  const seen = new Set<T>();
  const components: T[][] = [];
  for (const start of nodes) {
    if (seen.has(start)) continue;
    const component: T[] = [];
    const pending = [start];
    seen.add(start);
    for (let node = pending.pop(); node !== undefined; node = pending.pop()) {
      component.push(node);
      for (const next of neighbours.get(node) ?? [])
        if (!seen.has(next)) {
          seen.add(next);
          pending.push(next);
        }
    }
    const members = new Set(component);
    components.push(nodes.filter((n) => members.has(n)));
  }
  return components;
}
