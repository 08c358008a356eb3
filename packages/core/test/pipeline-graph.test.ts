import { describe, expect, it } from "vitest";
import type { DataIndex } from "../src/data-index/index.js";
import type { TrackedOut } from "../src/data-index/types.js";
import { MlvError } from "../src/errors.js";
import type { LockedStage, PipelineStage } from "../src/formats/pipeline.js";
import { parsePointer } from "../src/formats/pointer.js";
import { dagView } from "../src/pipeline/dag.js";
import { buildGraph, dfsPostorder, type GraphNode, nodeAddress, upstreamOf } from "../src/pipeline/graph.js";

/** A stage of `file` with deps and outs given as paths from the project root. */
function stage(name: string, deps: string[] = [], outs: string[] = [], file = "dvc.yaml"): LockedStage {
  const s: PipelineStage = {
    name,
    file,
    wdir: "",
    cmd: "echo",
    deps: deps.map((p) => ({ path: p, rel: p })),
    params: [],
    outs: outs.map((p) => ({ path: p, rel: p, kind: "outs", cache: true, persist: false, push: true, flags: {} })),
    frozen: false,
    alwaysChanged: false,
  };
  return { stage: s };
}

/** The output of a `.dvc` file tracking `path` (at the project root). */
function pointerOut(path: string): TrackedOut {
  const owner = `${path}.dvc`;
  const pointer = parsePointer(
    `outs:\n- md5: acbd18db4cc2f85cedef654fccc4a4d8\n  size: 3\n  hash: md5\n  path: ${path}\n`,
    owner,
  );
  const out = pointer.outs[0];
  if (!out) throw new Error("no out");
  return { ownerPath: `/p/${owner}`, owner, pointer, out, abs: `/p/${path}`, rel: path, hashName: "md5", isDir: false };
}

function index(stages: LockedStage[], outs: TrackedOut[] = []): DataIndex {
  return { stages, outs };
}

function names(nodes: Iterable<GraphNode>): string[] {
  return [...nodes].map((n) => nodeAddress(n));
}

function failure(fn: () => unknown): MlvError {
  try {
    fn();
  } catch (err) {
    if (err instanceof MlvError) return err;
    throw err;
  }
  throw new Error("expected an MlvError");
}

describe("stage graph checks (pipelines spec §5.2, P-9)", () => {
  it("refuses overlapping outputs, the outer one first", () => {
    for (const stages of [
      [stage("a", [], ["data"]), stage("b", [], ["data/sub"])],
      [stage("b", [], ["data/sub"]), stage("a", [], ["data"])],
    ])
      expect(failure(() => buildGraph(index(stages))).message).toBe(
        "The output paths:\n'data'('a')\n'data/sub'('b')\noverlap and are thus in the same tracked directory.\n" +
          "To keep reproducibility, outputs should be in separate tracked directories or tracked individually.",
      );
  });

  it("refuses an output tracked twice, naming the first two stages", () => {
    const err = failure(() => buildGraph(index([stage("a", [], ["x"]), stage("b", [], ["x"]), stage("c", [], ["x"])])));
    expect(err.code).toBe("EOUTDUP");
    expect(err.message).toBe(
      "output 'x' is specified in:\n\t- a\n\t- b\n" +
        "Use `dvc remove` with any of the above targets to stop tracking the overlapping output.",
    );
  });

  it("refuses cycles, and a stage using its own output", () => {
    const cycle = failure(() => buildGraph(index([stage("a", ["y"], ["x"]), stage("b", ["x"], ["y"])])));
    expect(cycle.message).toBe("Same item(s) are defined as both a dependency and an output in stages: a, b.");
    const self = failure(() => buildGraph(index([stage("a", ["x"], ["x"])])));
    expect(self.message).toBe("Same item(s) are defined as both a dependency and an output in stage: a.");
  });

  it("names stages and paths as the display function shows them", () => {
    const stages = [stage("s", [], ["data"], "sub/dvc.yaml"), stage("a", [], ["data"])];
    const shown = (rel: string) => (rel.startsWith("sub/") ? rel.slice(4) : `../${rel}`);
    expect(failure(() => buildGraph(index(stages), { display: shown })).message).toBe(
      "output '../data' is specified in:\n\t- ../dvc.yaml:a\n\t- s\n" +
        "Use `dvc remove` with any of the above targets to stop tracking the overlapping output.",
    );
  });
});

describe("stage graph edges and order (§5.2, §5.3)", () => {
  it("runs the §5.3 example as a, b, c, d", () => {
    const graph = buildGraph(
      index([
        stage("b", ["a.txt", "foo"], ["b.txt"]),
        stage("a", [], ["a.txt", "x.sh"]),
        stage("c", ["b.txt"]),
        stage("d"),
      ]),
    );
    expect(names(dfsPostorder(graph))).toEqual(["a", "b", "c", "d"]);
  });

  it("links a dependency to the output holding it, and a folder dependency to the outputs inside it", () => {
    const graph = buildGraph(
      index([
        stage("raw", [], ["data/raw"]),
        stage("other", [], ["data/other/part"]),
        stage("use", ["data/raw/part/file.csv"]),
        stage("all", ["data"]),
      ]),
    );
    const [raw, other, use, all] = graph.nodes as GraphNode[];
    expect(names(graph.producers.get(use as GraphNode) ?? [])).toEqual(["raw"]);
    expect(names(graph.producers.get(all as GraphNode) ?? [])).toEqual(["raw", "other"]);
    expect(names(upstreamOf(graph, [all as GraphNode])).sort()).toEqual(["all", "other", "raw"]);
    expect([raw, other].every((n) => graph.producers.get(n as GraphNode)?.length === 0)).toBe(true);
  });

  it("makes .dvc files nodes, ordered by file path among the dvc.yaml stages", () => {
    const graph = buildGraph(index([stage("prepare", ["data.csv"], ["prepared.csv"])], [pointerOut("data.csv")]));
    expect(names(graph.nodes)).toEqual(["data.csv.dvc", "prepare"]);
    expect(dagView(graph)).toEqual({ nodes: ["data.csv.dvc", "prepare"], edges: [["data.csv.dvc", "prepare"]] });
    expect(dagView(graph, { outs: true })).toEqual({
      nodes: ["data.csv", "prepared.csv"],
      edges: [["data.csv", "prepared.csv"]],
    });
  });

  it("narrows the dag to a target's upstream, or with full to its whole pipeline", () => {
    const graph = buildGraph(
      index([stage("a", [], ["a1"]), stage("b", ["a1"], ["b1"]), stage("c", ["b1"]), stage("d", ["a1"]), stage("z")]),
    );
    const b = graph.nodes[1] as GraphNode;
    expect(dagView(graph, { targets: [b] }).nodes).toEqual(["a", "b"]);
    expect(dagView(graph, { targets: [b], full: true }).nodes).toEqual(["a", "b", "c", "d"]);
  });
});
