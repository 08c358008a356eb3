/**
 * Imports point one way. The sources of core and of the CLI are each read as a graph of relative
 * imports (type-only imports, re-exports and dynamic `import("./x.js")` included): any cycle fails
 * the test, shown as the files it goes through. Core's folders also keep the layers of
 * /ARCHITECTURE.md: a module imports only from its own layer or an earlier one.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, posix, sep } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

/** Every `.ts` file below `root` → the files below `root` it imports, all as posix paths from `root`. */
function importGraph(root: string): Map<string, string[]> {
  const files = (readdirSync(root, { recursive: true }) as string[])
    .map((f) => f.split(sep).join("/"))
    .filter((f) => f.endsWith(".ts"))
    .sort();
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    // TypeScript's own scanner: comments and strings that merely look like imports are not taken.
    const { importedFiles } = ts.preProcessFile(readFileSync(join(root, file), "utf8"), true, true);
    const targets = importedFiles
      .map((i) => i.fileName)
      .filter((name) => name.startsWith("./") || name.startsWith("../"))
      .map((name) => posix.normalize(posix.join(posix.dirname(file), name)).replace(/\.js$/, ".ts"))
      .filter((target) => known.has(target));
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

/** The strongly connected components with more than one file, or a file importing itself (Tarjan). */
function knots(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || graph.get(v)?.includes(v)) found.push(component.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

/** A shortest cycle through the first file of a knot, staying inside the knot (breadth first). */
function cycleThrough(graph: Map<string, string[]>, knot: string[]): string[] {
  const inKnot = new Set(knot);
  const start = knot[0]!;
  const cameFrom = new Map<string, string>();
  const queue = [start];
  for (let i = 0; i < queue.length; i++) {
    const v = queue[i]!;
    for (const w of graph.get(v) ?? []) {
      if (!inKnot.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let at = v; at !== start; at = cameFrom.get(at)!) path.splice(1, 0, at);
        return [...path, start];
      }
      if (!cameFrom.has(w)) {
        cameFrom.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start];
}

/** One line per knot: a cycle in it, and every file it ties together. */
function cycleReport(root: string): string[] {
  const graph = importGraph(root);
  return knots(graph).map(
    (knot) => `${cycleThrough(graph, knot).join(" -> ")}   (a knot of ${knot.length} files: ${knot.join(", ")})`,
  );
}

/**
 * Core's layers, first to last (ARCHITECTURE.md), by top-level folder or file of `src`. Folders in
 * one layer may import each other (a cycle between files is still caught above).
 */
const CORE_LAYERS: readonly (readonly string[])[] = [
  [
    "errors.ts",
    "paths.ts",
    "atomic-write.ts",
    "remote-temps.ts",
    "abort.ts",
    "progress.ts",
    "collect-garbage.ts",
    "batches.ts",
  ],
  ["hash", "formats"],
  [
    "config-schema.ts",
    "config.ts",
    "lock.ts",
    "cache",
    "remote.ts",
    "remote-ranges.ts",
    "remote-errors.ts",
    "ask-secret.ts",
    "adapters.ts",
  ],
  ["git", "workspace"],
  ["project"],
  ["data-index"],
  ["ops", "transfer", "external", "pipeline", "plots"],
  ["api"],
  ["index.ts", "internal.ts"],
];

function layerOf(file: string): number {
  const top = file.split("/")[0]!;
  return CORE_LAYERS.findIndex((layer) => layer.includes(top));
}

describe("the import graph", () => {
  it("of packages/core/src has no cycle", () => {
    expect(cycleReport(join(repoRoot, "packages/core/src"))).toEqual([]);
  });

  it("of apps/cli/src has no cycle", () => {
    expect(cycleReport(join(repoRoot, "apps/cli/src"))).toEqual([]);
  });

  it("of packages/core/src points from later layers to earlier ones only", () => {
    const graph = importGraph(join(repoRoot, "packages/core/src"));
    const unplaced = [...graph.keys()].filter((file) => layerOf(file) < 0);
    expect(unplaced, "files in no layer of CORE_LAYERS").toEqual([]);
    const upward = [...graph].flatMap(([file, targets]) =>
      targets.filter((target) => layerOf(target) > layerOf(file)).map((target) => `${file} -> ${target}`),
    );
    expect(upward).toEqual([]);
  });
});
