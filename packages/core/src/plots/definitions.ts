/**
 * DVC's plot definitions (pipelines spec §1.8 and §1.5): the top-level `plots:` of each `dvc.yaml`
 * and the `plots` outputs of its stages, as one list of plots, each with its data files, the
 * fields drawn, and its template.
 */
import { posix } from "node:path";
import type { PipelineFile } from "../formats/pipeline.js";

/** DVC's templates. */
export const PLOT_TEMPLATES = [
  "linear",
  "simple",
  "scatter",
  "smooth",
  "confusion",
  "confusion_normalized",
  "bar_horizontal",
  "bar_horizontal_sorted",
] as const;
export type PlotTemplate = (typeof PLOT_TEMPLATES)[number];

const IMAGE_TYPES: Record<string, string> = {
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".svg": "image/svg+xml",
};

/** The MIME type of an image file DVC shows as an image, by its extension; undefined for data. */
export function imageType(path: string): string | undefined {
  return IMAGE_TYPES[posix.extname(path).toLowerCase()];
}

/** One file of a plot and the fields of it drawn on the y axis (empty: its last field). */
export interface PlotSource {
  /** From the project root, posix. */
  path: string;
  y: string[];
}

export interface PlotDefinition {
  /** The plot's id: its file for a plot of one file, else the name given in `dvc.yaml`. */
  id: string;
  /** The `dvc.yaml` that defines it, from the project root. */
  file: string;
  kind: "data" | "image";
  sources: PlotSource[];
  /** The x field, per file (`""`: every file); none: the row number, named `step`. */
  x: Map<string, string>;
  template: string;
  /** `header: false`: a CSV or TSV file without a header row (its columns are named 0, 1, ...). */
  header?: boolean;
  title?: string;
  xLabel?: string;
  yLabel?: string;
}

type Props = Record<string, unknown>;

function strings(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === "string");
  return [];
}

function common(props: Props): Pick<PlotDefinition, "template" | "header" | "title" | "xLabel" | "yLabel"> {
  return {
    template: typeof props.template === "string" ? props.template : "linear",
    ...(typeof props.header === "boolean" ? { header: props.header } : {}),
    ...(typeof props.title === "string" ? { title: props.title } : {}),
    ...(typeof props.x_label === "string" ? { xLabel: props.x_label } : {}),
    ...(typeof props.y_label === "string" ? { yLabel: props.y_label } : {}),
  };
}

/** A plot of one file (or image) at `path`, with its props. */
function filePlot(path: string, file: string, props: Props): PlotDefinition {
  const x = new Map<string, string>();
  if (typeof props.x === "string") x.set("", props.x);
  return {
    id: path,
    file,
    kind: imageType(path) ? "image" : "data",
    sources: [{ path, y: strings(props.y) }],
    x,
    ...common(props),
  };
}

/** The plots of one `dvc.yaml`: its top-level definitions, then its stages' plot outputs. */
function plotsOf(pipeline: PipelineFile): PlotDefinition[] {
  const dir = posix.dirname(pipeline.path);
  const fromDir = (p: string) => posix.normalize(dir === "." ? p : `${dir}/${p}`);
  const plots: PlotDefinition[] = [];
  for (const item of pipeline.plots) {
    if (typeof item === "string") {
      plots.push(filePlot(fromDir(item), pipeline.path, {}));
      continue;
    }
    if (item === null || typeof item !== "object") continue;
    for (const [id, value] of Object.entries(item as Record<string, unknown>)) {
      const props = (value ?? {}) as Props;
      if (props.y !== null && typeof props.y === "object" && !Array.isArray(props.y)) {
        // `y: {file: field}`: the id is a name, the keys are the files.
        const x = new Map<string, string>();
        if (typeof props.x === "string") x.set("", props.x);
        else if (props.x !== null && typeof props.x === "object")
          for (const [f, field] of Object.entries(props.x as Record<string, unknown>))
            if (typeof field === "string") x.set(fromDir(f), field);
        const sources = Object.entries(props.y as Record<string, unknown>).map(([f, fields]) => ({
          path: fromDir(f),
          y: strings(fields),
        }));
        plots.push({ id, file: pipeline.path, kind: "data", sources, x, ...common(props) });
      } else plots.push(filePlot(fromDir(id), pipeline.path, props));
    }
  }
  for (const stage of pipeline.stages)
    for (const out of stage.outs)
      if (out.kind === "plots" && !plots.some((p) => p.id === out.rel))
        plots.push(filePlot(out.rel, pipeline.path, out.flags));
  return plots;
}

/** The plots of every `dvc.yaml`, each id once (the first definition wins). */
export function plotDefinitions(pipelines: readonly PipelineFile[]): PlotDefinition[] {
  const seen = new Set<string>();
  const all: PlotDefinition[] = [];
  for (const p of pipelines.flatMap(plotsOf)) {
    if (seen.has(p.id)) continue;
    seen.add(p.id);
    all.push(p);
  }
  return all;
}
