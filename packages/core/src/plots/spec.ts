/**
 * A plot as a Vega-Lite specification, for each of DVC's templates: the data of every revision in
 * one table, one colour per revision (and per file or field when a plot has several), named in
 * the legend.
 */
import type { PlotRow, PlotValue } from "./data.js";
import type { PlotDefinition } from "./definitions.js";

/** The data of one file of a plot at one revision. */
export interface PlotData {
  rev: string;
  path: string;
  rows: PlotRow[];
}

const WIDTH = 480;
const HEIGHT = 300;

/** The y fields of a file: those named, else the last field that is not the x field. */
function yFields(def: PlotDefinition, path: string, rows: PlotRow[], xField: string | undefined): string[] {
  const named = def.sources.find((s) => s.path === path)?.y ?? [];
  if (named.length > 0) return named;
  const keys = Object.keys(rows[0] ?? {}).filter((k) => k !== xField);
  return keys.length > 0 ? [keys.at(-1)!] : [];
}

function xFieldOf(def: PlotDefinition, path: string): string | undefined {
  return def.x.get(path) ?? def.x.get("");
}

/** A series' name: the parts that vary between the series of this plot. */
function namer(data: PlotData[], fieldsPerFile: Map<string, string[]>) {
  const revs = new Set(data.map((d) => d.rev)).size > 1;
  const files = new Set(data.map((d) => d.path)).size > 1;
  const fields = new Set([...fieldsPerFile.values()].flat()).size > 1;
  return (rev: string, path: string, field: string) => {
    const parts = [revs ? rev : "", files ? path : "", fields ? field : ""].filter(Boolean);
    return parts.length > 0 ? parts.join(" · ") : rev;
  };
}

function lineSpec(def: PlotDefinition, data: PlotData[]): Record<string, unknown> {
  const fieldsPerFile = new Map<string, string[]>();
  for (const d of data)
    if (!fieldsPerFile.has(d.path)) fieldsPerFile.set(d.path, yFields(def, d.path, d.rows, xFieldOf(def, d.path)));
  const name = namer(data, fieldsPerFile);
  const values: Record<string, PlotValue>[] = [];
  for (const d of data) {
    const xField = xFieldOf(def, d.path);
    for (const field of fieldsPerFile.get(d.path) ?? [])
      d.rows.forEach((row, i) => {
        const y = row[field];
        if (typeof y !== "number") return;
        values.push({
          x: xField === undefined ? i : (row[xField] ?? null),
          y,
          series: name(d.rev, d.path, field),
          rev: d.rev,
        });
      });
  }
  const xs = [...new Set(data.map((d) => xFieldOf(def, d.path) ?? "step"))];
  const ys = [...new Set([...fieldsPerFile.values()].flat())];
  const numericX = values.every((v) => typeof v.x === "number");
  const encoding = {
    x: { field: "x", type: numericX ? "quantitative" : "ordinal", title: def.xLabel ?? xs.join(", ") },
    y: {
      field: "y",
      type: "quantitative",
      title: def.yLabel ?? (ys.length === 1 ? ys[0] : "value"),
      scale: { zero: false },
    },
    color: { field: "series", type: "nominal", title: null, legend: { orient: "bottom", labelLimit: 400 } },
  };
  const layers: Record<string, unknown>[] = [];
  switch (def.template) {
    case "scatter":
      layers.push({ mark: { type: "point", filled: true } });
      break;
    case "simple":
      layers.push({ mark: "line" });
      break;
    case "smooth":
      layers.push({ mark: { type: "point", opacity: 0.25 } });
      layers.push({
        mark: "line",
        transform: [{ loess: "y", on: "x", groupby: ["series"], bandwidth: 0.3 }],
      });
      break;
    default:
      layers.push({ mark: { type: "line", point: true } });
  }
  return { data: { values }, encoding, layer: layers };
}

/** A file's two fields of a category plot: x (DVC's `x`) and y (its `y`), else its first two fields. */
function categoryFields(def: PlotDefinition, d: PlotData): [string, string] {
  const keys = Object.keys(d.rows[0] ?? {});
  const x = xFieldOf(def, d.path) ?? keys[0] ?? "actual";
  const y = def.sources.find((s) => s.path === d.path)?.y[0] ?? keys.find((k) => k !== x) ?? "predicted";
  return [x, y];
}

/** Each file and revision's name, as the legend or a facet shows it. */
function seriesNames(def: PlotDefinition, data: PlotData[]) {
  const fields = new Map(data.map((d) => [d.path, [categoryFields(def, d)[1]]]));
  return namer(data, fields);
}

function confusionSpec(def: PlotDefinition, data: PlotData[], normalized: boolean): Record<string, unknown> {
  const name = seriesNames(def, data);
  const [xTitle, yTitle] = data.length > 0 ? categoryFields(def, data[0]!) : ["actual", "predicted"];
  const values = data.flatMap((d) => {
    const [xField, yField] = categoryFields(def, d);
    const series = name(d.rev, d.path, yField);
    return d.rows.map((r) => ({ actual: String(r[xField] ?? ""), predicted: String(r[yField] ?? ""), series }));
  });
  const value = normalized ? "share" : "count";
  const transform: Record<string, unknown>[] = [
    { aggregate: [{ op: "count", as: "count" }], groupby: ["series", "actual", "predicted"] },
  ];
  if (normalized)
    transform.push(
      { joinaggregate: [{ op: "sum", field: "count", as: "total" }], groupby: ["series", "actual"] },
      { calculate: "datum.count / datum.total", as: "share" },
    );
  const format = normalized ? ".2f" : "d";
  return {
    data: { values },
    transform,
    facet: { column: { field: "series", type: "nominal", title: null, header: { labelFontSize: 13 } } },
    spec: {
      width: Math.min(WIDTH, 320),
      height: Math.min(HEIGHT, 320),
      encoding: {
        x: { field: "actual", type: "nominal", title: def.xLabel ?? xTitle },
        y: { field: "predicted", type: "nominal", title: def.yLabel ?? yTitle },
      },
      layer: [
        { mark: "rect", encoding: { color: { field: value, type: "quantitative", title: value } } },
        {
          mark: { type: "text", fontSize: 12 },
          encoding: {
            text: { field: value, type: "quantitative", format },
            color: { condition: { test: `datum.${value} > 0`, value: "black" }, value: "#999" },
          },
        },
      ],
    },
    resolve: { scale: { color: "shared" } },
  };
}

function barSpec(def: PlotDefinition, data: PlotData[], sorted: boolean): Record<string, unknown> {
  const name = seriesNames(def, data);
  const [xTitle, yTitle] = data.length > 0 ? categoryFields(def, data[0]!) : ["value", "category"];
  const values = data.flatMap((d) => {
    const [valueField, categoryField] = categoryFields(def, d);
    const series = name(d.rev, d.path, categoryField);
    return d.rows.map((r) => ({ value: r[valueField] ?? null, category: String(r[categoryField] ?? ""), series }));
  });
  const several = new Set(values.map((v) => v.series)).size > 1;
  return {
    data: { values },
    mark: "bar",
    encoding: {
      x: { field: "value", type: "quantitative", title: def.xLabel ?? xTitle },
      y: { field: "category", type: "nominal", title: def.yLabel ?? yTitle, ...(sorted ? { sort: "-x" } : {}) },
      color: { field: "series", type: "nominal", title: null, legend: { orient: "bottom" } },
      ...(several ? { yOffset: { field: "series" } } : {}),
    },
  };
}

/**
 * The Vega-Lite specification of a data plot over the data of each revision (several files of a
 * plot, or several revisions, are overlaid, each series named).
 */
export function plotSpec(def: PlotDefinition, data: PlotData[]): Record<string, unknown> {
  let body: Record<string, unknown>;
  switch (def.template) {
    case "confusion":
    case "confusion_normalized":
      body = confusionSpec(def, data, def.template === "confusion_normalized");
      break;
    case "bar_horizontal":
    case "bar_horizontal_sorted":
      body = barSpec(def, data, def.template === "bar_horizontal_sorted");
      break;
    default:
      body = lineSpec(def, data);
  }
  const facet = "facet" in body;
  return {
    // The page names each plot by its id; a title of its own is drawn.
    ...(def.title ? { title: { text: def.title, anchor: "start", fontSize: 14 } } : {}),
    ...(facet ? {} : { width: WIDTH, height: HEIGHT }),
    ...body,
    config: { font: "sans-serif", view: { stroke: "#ddd" }, axis: { labelFontSize: 11, titleFontSize: 12 } },
  };
}
