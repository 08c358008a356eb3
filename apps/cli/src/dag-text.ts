/**
 * `dvc dag`'s three pictures of a graph: graphviz dot, mermaid, and boxes drawn in ASCII. DVC
 * lays the boxes out with grandalf (a Sugiyama layout); here dagre, the layered layout of the
 * JavaScript world, places them, and the drawing follows DVC's conventions (box and layer sizes,
 * spacing, edges drawn as `*` lines between box centres, boxes over edges), so that chains, fans
 * and diamonds come out as DVC draws them.
 */
import dagre from "@dagrejs/dagre";
import { componentsOf, type DagView } from "@mlv/core/internal";

type Edge = readonly [string, string];

/** Weakly connected parts of the graph, in order of their first node; each part's nodes in graph order. */
function components(view: DagView): { nodes: string[]; edges: Edge[] }[] {
  return componentsOf(view.nodes, view.edges).map((nodes) => {
    const members = new Set(nodes);
    return { nodes, edges: view.edges.filter(([a]) => members.has(a)) };
  });
}

const byLabel = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Graphviz dot as DVC prints it (`strict digraph  {`), nodes and edges sorted for a stable text. */
export function toDot(view: DagView): string {
  const quote = (s: string) => `"${s.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
  const nodes = [...view.nodes].sort(byLabel).map((n) => `${quote(n)};\n`);
  const edges = [...view.edges]
    .sort(([a, b], [c, d]) => byLabel(a, c) || byLabel(b, d))
    .map(([a, b]) => `${quote(a)} -> ${quote(b)};\n`);
  return `strict digraph  {\n${nodes.join("")}${edges.join("")}}\n`;
}

/** A mermaid flowchart as DVC prints it: per connected part, its nodes by label, then its edges. */
export function toMermaid(view: DagView, markdown = false): string {
  const lines = ["flowchart TD"];
  const ids = new Map<string, string>();
  for (const part of components(view)) {
    for (const node of [...part.nodes].sort(byLabel)) {
      ids.set(node, `node${ids.size + 1}`);
      lines.push(`\t${ids.get(node)}["${node}"]`);
    }
    const edges = [...part.edges].sort(([a, b], [c, d]) => byLabel(a, c) || byLabel(b, d));
    for (const [a, b] of edges) lines.push(`\t${ids.get(a)}-->${ids.get(b)}`);
  }
  const chart = lines.join("\n");
  return markdown ? `\`\`\`mermaid\n${chart}\n\`\`\`` : chart;
}

// ---- ASCII ----

/** Box height: the label between two borders. Layers are this far apart again (DVC's spacing). */
const BOX_HEIGHT = 3;
const LAYER_GAP = 3;

interface Point {
  x: number;
  y: number;
}

/** Python's `round()`: halves go to the even neighbour. */
function pyRound(x: number): number {
  const floor = Math.floor(x);
  const rest = x - floor;
  if (rest !== 0.5) return rest < 0.5 ? floor : floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

function boxWidth(label: string): number {
  return label.length + 4;
}

/** Where the straight line from a box's centre towards `toward` leaves it (the box shrunk by half a cell). */
function leaveBox(center: Point, width: number, toward: Point): Point {
  const dx = toward.x - center.x;
  const dy = toward.y - center.y;
  let t = 1;
  if (dx !== 0) t = Math.min(t, (width / 2 - 0.5) / Math.abs(dx));
  if (dy !== 0) t = Math.min(t, (BOX_HEIGHT / 2 - 0.5) / Math.abs(dy));
  return { x: center.x + dx * t, y: center.y + dy * t };
}

/** A laid-out part: box centres (the y being where DVC draws the box's top) and each edge's polyline. */
interface Layout {
  boxes: Map<string, Point>;
  paths: Point[][];
}

function layout(part: { nodes: string[]; edges: Edge[] }, spacing: number): Layout {
  const g = new dagre.graphlib.Graph();
  // edgesep 0: dagre's own bend points on edges take no room, as grandalf has none.
  g.setGraph({ rankdir: "TB", nodesep: spacing, edgesep: 0, ranksep: LAYER_GAP, marginx: 0, marginy: 0 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of part.nodes) g.setNode(n, { width: boxWidth(n), height: BOX_HEIGHT });
  for (const [a, b] of part.edges) g.setEdge(a, b);
  // Keep the nodes in graph order within a layer, as DVC's layout mostly does.
  dagre.layout(g, { disableOptimalOrderHeuristic: true });
  // Centred on 0 as grandalf centres its layouts: the canvas size depends on where the halves fall.
  const centres = part.nodes.map((n) => g.node(n).x ?? 0);
  const origin = (Math.min(...centres) + Math.max(...centres)) / 2;
  const at = (p: { x?: number; y?: number }): Point => ({ x: (p.x ?? 0) - origin, y: p.y ?? 0 });
  const boxes = new Map(part.nodes.map((n) => [n, at(g.node(n))]));
  const layers = new Set([...boxes.values()].map((p) => p.y));
  const paths = part.edges.map(([a, b]) => {
    const from = boxes.get(a) as Point;
    const to = boxes.get(b) as Point;
    // dagre bends long edges through points on the layers they cross; other points are its own.
    const points: Point[] = g.edge(a, b).points ?? [];
    const bends = points.map(at).filter((p) => layers.has(p.y));
    const inner = bends.filter((p) => p.y !== from.y && p.y !== to.y);
    const start = leaveBox(from, boxWidth(a), inner[0] ?? to);
    const end = leaveBox(to, boxWidth(b), inner[inner.length - 1] ?? from);
    return [start, ...inner, end];
  });
  return { boxes, paths };
}

class Canvas {
  private readonly cells: string[][];
  constructor(cols: number, rows: number) {
    this.cells = Array.from({ length: rows }, () => Array<string>(cols).fill(" "));
  }

  private put(x: number, y: number, text: string): void {
    const row = this.cells[y];
    if (!row) return;
    for (let i = 0; i < text.length; i++) if (x + i < row.length) row[x + i] = text[i] as string;
  }

  /** A line of `*` from one cell to another, one cell per step along its longer axis. */
  line(x0: number, y0: number, x1: number, y1: number): void {
    const dx = x1 - x0;
    const dy = y1 - y0;
    if (dx === 0 && dy === 0) this.put(x0, y0, "*");
    else if (Math.abs(dx) >= Math.abs(dy)) {
      const [xa, ya, xb, yb] = x0 <= x1 ? [x0, y0, x1, y1] : [x1, y1, x0, y0];
      for (let x = xa; x <= xb; x++) this.put(x, ya + pyRound(((x - xa) * (yb - ya)) / (xb - xa)), "*");
    } else {
      const [xa, ya, xb, yb] = y0 <= y1 ? [x0, y0, x1, y1] : [x1, y1, x0, y0];
      for (let y = ya; y <= yb; y++) this.put(xa + pyRound(((y - ya) * (xb - xa)) / (yb - ya)), y, "*");
    }
  }

  box(x: number, y: number, label: string): void {
    const border = `+${"-".repeat(label.length + 2)}+`;
    this.put(x, y, border);
    this.put(x, y + 1, `| ${label} |`);
    this.put(x, y + 2, border);
  }

  text(): string[] {
    return this.cells.map((row) => row.join(""));
  }
}

function drawPart(part: { nodes: string[]; edges: Edge[] }, spacing: number): string[] {
  const { boxes, paths } = layout(part, spacing);
  const xs: number[] = [];
  const ys: number[] = [];
  for (const [label, c] of boxes) {
    xs.push(c.x - boxWidth(label) / 2, c.x + boxWidth(label) / 2);
    ys.push(c.y, c.y + BOX_HEIGHT);
  }
  for (const p of paths.flat()) {
    xs.push(p.x);
    ys.push(p.y);
  }
  const minX = Math.min(...xs);
  const minY = Math.min(...ys);
  const canvas = new Canvas(Math.ceil(Math.max(...xs)) - Math.floor(minX) + 1, pyRound(Math.max(...ys) - minY));
  const cell = (p: Point) => [pyRound(p.x - minX), pyRound(p.y - minY)] as const;
  for (const path of paths)
    for (let i = 1; i < path.length; i++) canvas.line(...cell(path[i - 1] as Point), ...cell(path[i] as Point));
  for (const [label, c] of boxes) canvas.box(pyRound(c.x - boxWidth(label) / 2 - minX), pyRound(c.y - minY), label);
  return canvas.text();
}

/** The graph as boxes and `*` edges, one drawing per connected part, upstream on top; "" when empty. */
export function toAscii(view: DagView): string {
  if (view.nodes.length === 0) return "";
  const spacing = Math.min(...view.nodes.map(boxWidth));
  return components(view)
    .flatMap((part) => drawPart(part, spacing))
    .join("\n");
}
