/**
 * Plot definitions as DVC writes them in dvc.yaml (pipelines spec §1.8, §1.5), plot data files in
 * each format DVC reads, the Vega-Lite specification of each template, and the SVG it draws.
 */
import { describe, expect, it } from "vitest";
import { loadPipelineFile } from "../src/formats/dvc-yaml.js";
import { parsePlotData } from "../src/plots/data.js";
import { PLOT_TEMPLATES, plotDefinitions } from "../src/plots/definitions.js";
import { plotsPage, renderSvg } from "../src/plots/render.js";
import { plotSpec } from "../src/plots/spec.js";

const noFiles = { read: async () => undefined };

async function definitions(yaml: string, path = "dvc.yaml") {
  return plotDefinitions([await loadPipelineFile(path, yaml, noFiles)]);
}

describe("plot definitions", () => {
  it("reads top-level plots: a path, a path with props, a named plot over files, stage plots", async () => {
    const defs = await definitions(
      `plots:
  - loss.csv
  - train.json:
      x: step
      y: [loss, acc]
      template: smooth
      title: Training
  - Precision-Recall:
      x: recall
      y:
        eval/prc.json: precision
        eval/prc-test.json: [precision]
  - importance.png
stages:
  evaluate:
    cmd: python evaluate.py
    plots:
    - eval/roc.json:
        x: fpr
        y: tpr
    - train.json
`,
      "sub/dvc.yaml",
    );
    expect(defs.map((d) => [d.id, d.kind, d.template])).toEqual([
      ["sub/loss.csv", "data", "linear"],
      ["sub/train.json", "data", "smooth"],
      ["Precision-Recall", "data", "linear"],
      ["sub/importance.png", "image", "linear"],
      ["sub/eval/roc.json", "data", "linear"],
    ]);
    expect(defs[1]).toMatchObject({ sources: [{ path: "sub/train.json", y: ["loss", "acc"] }], title: "Training" });
    expect(defs[1]!.x.get("")).toBe("step");
    expect(defs[2]!.sources).toEqual([
      { path: "sub/eval/prc.json", y: ["precision"] },
      { path: "sub/eval/prc-test.json", y: ["precision"] },
    ]);
    expect(defs[4]!.x.get("")).toBe("fpr");
    expect(defs[4]!.sources[0]!.y).toEqual(["tpr"]);
  });
});

describe("plot data", () => {
  it("reads JSON and YAML lists, or a mapping holding one", () => {
    expect(parsePlotData(Buffer.from('[{"step": 0, "loss": 0.5}]'), "a.json")).toEqual([{ step: 0, loss: 0.5 }]);
    expect(parsePlotData(Buffer.from('{"train": [{"x": 1, "name": "a", "nested": {"no": 1}}]}'), "a.json")).toEqual([
      { x: 1, name: "a" },
    ]);
    expect(parsePlotData(Buffer.from("- x: 1\n  y: 2\n- x: 2\n  y: 3\n"), "a.yaml")).toEqual([
      { x: 1, y: 2 },
      { x: 2, y: 3 },
    ]);
  });

  it("reads CSV and TSV with a header, numbers as numbers, quoted text as text", () => {
    expect(parsePlotData(Buffer.from('actual,predicted,score\ncat,"dog, big",0.25\n"1",2,1e-3\n'), "c.csv")).toEqual([
      { actual: "cat", predicted: "dog, big", score: 0.25 },
      { actual: "1", predicted: 2, score: 0.001 },
    ]);
    expect(parsePlotData(Buffer.from("a\tb\n1\tx\n"), "t.tsv")).toEqual([{ a: 1, b: "x" }]);
    expect(parsePlotData(Buffer.from("1,2\n3,4\n"), "n.csv", { header: false })).toEqual([
      { 0: 1, 1: 2 },
      { 0: 3, 1: 4 },
    ]);
  });

  it("names the file and line of what it cannot read", () => {
    expect(() => parsePlotData(Buffer.from("a,b\n1,2\n3\n"), "bad.csv")).toThrow(/bad\.csv: line 3/);
    expect(() => parsePlotData(Buffer.from("{"), "bad.json")).toThrow(/bad\.json: cannot be read as JSON/);
    expect(() => parsePlotData(Buffer.from('{"a": 1}'), "flat.json")).toThrow(/holds no list of records/);
  });
});

describe("plot specifications", () => {
  const train = [
    { step: 0, loss: 1, acc: 0.1 },
    { step: 1, loss: 0.5, acc: 0.6 },
  ];

  it("overlays revisions, one named series each, and several fields as series of their own", async () => {
    const [def] = await definitions("plots:\n  - train.json:\n      x: step\n      y: [loss, acc]\n");
    const spec = plotSpec(def!, [
      { rev: "v1", path: "train.json", rows: train },
      { rev: "v3", path: "train.json", rows: train },
    ]) as { data: { values: { series: string }[] }; encoding: { x: { title: string } } };
    expect(new Set(spec.data.values.map((v) => v.series))).toEqual(
      new Set(["v1 · loss", "v1 · acc", "v3 · loss", "v3 · acc"]),
    );
    expect(spec.encoding.x.title).toBe("step");
  });

  it("takes the last field when no y is given, and the row number as x", async () => {
    const [def] = await definitions("plots:\n  - train.json\n");
    const spec = plotSpec(def!, [{ rev: "workspace", path: "train.json", rows: train }]) as {
      data: { values: { x: number; y: number }[] };
    };
    expect(spec.data.values).toEqual([
      { x: 0, y: 0.1, series: "workspace", rev: "workspace" },
      { x: 1, y: 0.6, series: "workspace", rev: "workspace" },
    ]);
  });

  it("draws a confusion matrix per file and revision, as DVC's get-started defines train and test", async () => {
    const [def] = await definitions(`plots:
  - Confusion-Matrix:
      template: confusion
      x: actual
      y:
        eval/train.json: predicted
        eval/test.json: predicted
`);
    const rows = [
      { actual: "a", predicted: "a" },
      { actual: "a", predicted: "b" },
    ];
    const spec = plotSpec(def!, [
      { rev: "v1", path: "eval/train.json", rows },
      { rev: "v1", path: "eval/test.json", rows },
    ]) as { data: { values: { series: string }[] }; facet: { column: { field: string } } };
    expect(spec.facet.column.field).toBe("series");
    expect([...new Set(spec.data.values.map((v) => v.series))]).toEqual(["eval/train.json", "eval/test.json"]);
    const svg = await renderSvg(spec);
    expect(svg).toContain(">eval/train.json</text>");
    expect(svg).toContain(">eval/test.json</text>");
  }, 30_000);

  it.each(PLOT_TEMPLATES)(
    "draws template %s as SVG with marks",
    async (template) => {
      const rows =
        template.startsWith("confusion") || template.startsWith("bar")
          ? [
              { a: "cat", p: "cat" },
              { a: "cat", p: "dog" },
              { a: "dog", p: "dog" },
            ].map((r, i) => (template.startsWith("bar") ? { value: i + 1, name: r.a + i } : r))
          : train;
      const fields = template.startsWith("confusion")
        ? "x: a\n      y: p"
        : template.startsWith("bar")
          ? "x: value\n      y: name"
          : "x: step\n      y: loss";
      const [def] = await definitions(`plots:\n  - d.json:\n      template: ${template}\n      ${fields}\n`);
      const svg = await renderSvg(plotSpec(def!, [{ rev: "v1", path: "d.json", rows }]));
      expect(svg.startsWith("<svg")).toBe(true);
      expect(svg).toMatch(/class="mark-(line|symbol|rect)/);
    },
    30_000,
  );

  it("puts the plots in a page with no script and nothing to fetch, or in the user's template", () => {
    const page = plotsPage("Mine <b>", ['<div class="plot">x</div>']);
    expect(page).toContain("<title>Mine &#60;b&#62;</title>");
    expect(page).not.toMatch(/<script|src="http|href="http/);
    expect(page).toContain("default-src 'none'");
    expect(plotsPage("t", ["<p>a</p>", "<p>b</p>"], "<main>{plot_divs}</main>")).toBe(
      "<main><p>a</p>\n<p>b</p></main>",
    );
  });
});
