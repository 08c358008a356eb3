/**
 * `mlv plots show` and `plots diff`: the plots `dvc.yaml` defines, with their data at each
 * revision asked for (the workspace's files, or at a git revision from git, the cache or the
 * remote, verified), as Vega-Lite specifications and as one HTML page that works offline.
 */
import { posix } from "node:path";
import { raceAbort } from "../abort.js";
import { MlvError } from "../errors.js";
import type { PipelineFile } from "../formats/pipeline.js";
import { parseRegistryTag } from "../formats/registry-tags.js";
import { listProject } from "../ops/list.js";
import { gitView, loadPipelines, pipelinePaths, revisionSource, WORKSPACE, workspaceSource } from "../ops/sources.js";
import type { OutputVersion, VersionsResult } from "../ops/versions.js";
import { parsePlotData } from "../plots/data.js";
import { imageType, type PlotDefinition, plotDefinitions } from "../plots/definitions.js";
import { escapeHtml, type PackageImporter, plotDiv, plotsPage, type RenderedPlot, renderSvg } from "../plots/render.js";
import { type PlotData, plotSpec } from "../plots/spec.js";
import type { Project } from "../project/project.js";
import { type ReadAtOptions, readIn } from "./read.js";

export { WORKSPACE } from "../ops/sources.js";

export interface PlotsOptions extends Omit<ReadAtOptions, "rev"> {
  /** Plot ids or data files, from the project root; default every plot. */
  targets?: readonly string[];
  /** Revisions to draw, named as given (`v1.0`, `main~2`); default none. */
  revs?: readonly string[];
  /** Draw the workspace too (as `workspace`, first); default: when no revision is given. */
  workspace?: boolean;
  /** Revisions of `revs` to leave out when their plot files hold what the workspace's hold (`plots diff` alone). */
  omitIfSameAsWorkspace?: readonly string[];
}

/** One plot with its data: a Vega-Lite specification, or an image per revision. */
export interface PlotResult {
  id: string;
  kind: "data" | "image";
  template: string;
  /** The revisions that had data for it, in the order asked for. */
  revisions: string[];
  /** For a data plot: the specification, data inlined. */
  spec?: Record<string, unknown>;
  images?: { rev: string; path: string; mime: string; bytes: Buffer }[];
  errors: { rev: string; path: string; message: string }[];
}

interface Source {
  label: string;
  commit?: string;
}

async function sourcesOf(project: Project, options: PlotsOptions): Promise<Source[]> {
  const revs = options.revs ?? [];
  const sources: Source[] = [];
  if (options.workspace ?? revs.length === 0) sources.push({ label: WORKSPACE });
  if (revs.length > 0) {
    const git = await gitView(project);
    for (const rev of revs) sources.push({ label: rev, commit: await git.history.resolveRevision(rev) });
  }
  return sources;
}

async function pipelinesAt(project: Project, source: Source, paths: string[]): Promise<PipelineFile[]> {
  if (source.commit === undefined) return loadPipelines(workspaceSource(project), paths);
  return loadPipelines(revisionSource(await gitView(project), source.commit), paths);
}

/** A file's bytes at a source: the workspace's own file, else what the revision tracked (git, cache or remote). */
async function readAt(
  project: Project,
  path: string,
  source: Source,
  options: PlotsOptions,
): Promise<Buffer | undefined> {
  if (source.commit === undefined) {
    const here = await workspaceSource(project).read(path);
    if (here !== undefined) return here;
  }
  try {
    // No `encoding` is passed: the bytes come back as a Buffer.
    return (await readIn(project, path, { ...options, rev: source.commit })) as Buffer;
  } catch (err) {
    if (err instanceof MlvError && (err.code === "ENOTFOUND" || err.code === "ENOHASH")) return undefined;
    throw err;
  }
}

/** Whether a plot is one the targets name (a plot id, a data file, or a folder of them). */
function matches(def: PlotDefinition, targets: readonly string[], inside = true): boolean {
  return (
    targets.length === 0 ||
    targets.some(
      (t) =>
        def.id === t ||
        def.sources.some((s) => s.path === t || s.path.startsWith(`${t}/`) || (inside && t.startsWith(`${s.path}/`))),
    )
  );
}

/** Whether `path` is a folder (in git, in the workspace, or a tracked one) at a source. */
async function isFolderAt(project: Project, path: string, source: Source, options: PlotsOptions): Promise<boolean> {
  const parent = posix.dirname(path);
  const listed = await listProject(project, {
    ...(parent === "." ? {} : { path: parent }),
    ...(source.commit === undefined ? {} : { rev: source.commit }),
    adapters: options.adapters,
  }).catch(() => undefined);
  return listed?.entries.some((e) => e.path === posix.basename(path) && e.isdir) ?? false;
}

/**
 * A plot of a folder stands for a plot of each file below it, with the folder's props, as DVC
 * reads it (DVCLive's `dvclive/plots/metrics`, a TSV per metric, is such a folder).
 */
async function expandFolders(
  project: Project,
  defs: PlotDefinition[],
  sources: Source[],
  options: PlotsOptions,
): Promise<PlotDefinition[]> {
  const expanded: PlotDefinition[] = [];
  for (const def of defs) {
    const only = def.sources.length === 1 ? def.sources[0]! : undefined;
    const files = new Set<string>();
    if (only && !imageType(only.path))
      for (const source of sources) {
        if (!(await isFolderAt(project, only.path, source, options))) continue;
        const listed = await listProject(project, {
          path: only.path,
          recursive: true,
          ...(source.commit === undefined ? {} : { rev: source.commit }),
          adapters: options.adapters,
        });
        for (const e of listed.entries) if (!e.isdir) files.add(`${only.path}/${e.path}`);
      }
    if (files.size === 0) expanded.push(def);
    for (const file of [...files].sort())
      if (!expanded.some((d) => d.id === file))
        expanded.push({
          ...def,
          id: file,
          kind: imageType(file) ? "image" : "data",
          sources: [{ path: file, y: only!.y }],
        });
  }
  return expanded;
}

/**
 * The plots of the project at each revision asked for. Definitions come from every `dvc.yaml` of
 * each revision (a plot defined in any of them is drawn); a file a revision lacks is left out of
 * that revision; one that cannot be read is reported in the plot's `errors`.
 */
export function collectPlots(project: Project, options: PlotsOptions = {}): Promise<PlotResult[]> {
  return raceAbort(options.signal, () => plotsOf(project, options));
}

async function plotsOf(project: Project, options: PlotsOptions): Promise<PlotResult[]> {
  const sources = await sourcesOf(project, options);
  const paths = await pipelinePaths(project);
  const defs: PlotDefinition[] = [];
  for (const source of sources)
    for (const def of plotDefinitions(await pipelinesAt(project, source, paths)))
      if (!defs.some((d) => d.id === def.id)) defs.push(def);
  const targets = options.targets ?? [];
  const chosen = (
    await expandFolders(
      project,
      defs.filter((d) => matches(d, targets)),
      sources,
      options,
    )
  ).filter((d) => matches(d, targets, false));
  if (chosen.length === 0)
    throw new MlvError(
      "ENOTFOUND",
      targets.length > 0
        ? `no plot ${targets.map((t) => `'${t}'`).join(", ")}: give a plot id or a data file that dvc.yaml lists under 'plots'`
        : "no plots: define them under 'plots:' in dvc.yaml (or as a stage's 'plots' outputs)",
      { data: { targets } },
    );
  // Every file of every plot at every source, read once.
  const read = new Map<string, { bytes?: Buffer; error?: string }>();
  const key = (source: Source, path: string) => `${source.label}\0${path}`;
  for (const source of sources)
    for (const path of new Set(chosen.flatMap((d) => d.sources.map((s) => s.path)))) {
      options.signal?.throwIfAborted();
      try {
        read.set(key(source, path), { bytes: await readAt(project, path, source, options) });
      } catch (err) {
        if (!(err instanceof MlvError)) throw err;
        read.set(key(source, path), { error: err.message });
      }
    }
  // DVC's `plots diff` without revisions: HEAD is left out when the workspace holds the same data.
  const shown = sources.filter(
    (source) =>
      !(options.omitIfSameAsWorkspace?.includes(source.label) && sources[0]?.label === WORKSPACE) ||
      [...read.keys()]
        .filter((k) => k.startsWith(`${source.label}\0`))
        .some((k) => {
          const here = read.get(`${WORKSPACE}\0${k.slice(source.label.length + 1)}`)?.bytes;
          const there = read.get(k)?.bytes;
          return here === undefined || there === undefined ? here !== there : !here.equals(there);
        }),
  );
  return chosen.map((def) => {
    const result: PlotResult = { id: def.id, kind: def.kind, template: def.template, revisions: [], errors: [] };
    const data: PlotData[] = [];
    for (const source of shown)
      for (const { path } of def.sources) {
        const { bytes, error } = read.get(key(source, path)) ?? {};
        if (error !== undefined) result.errors.push({ rev: source.label, path, message: error });
        if (bytes === undefined) continue;
        if (!result.revisions.includes(source.label)) result.revisions.push(source.label);
        if (def.kind === "image") {
          result.images ??= [];
          result.images.push({ rev: source.label, path, mime: imageType(path)!, bytes });
          continue;
        }
        try {
          data.push({ rev: source.label, path, rows: parsePlotData(bytes, path, { header: def.header }) });
        } catch (err) {
          if (!(err instanceof MlvError)) throw err;
          result.errors.push({ rev: source.label, path, message: err.message });
        }
      }
    if (def.kind === "data" && data.length > 0) result.spec = plotSpec(def, data);
    return result;
  });
}

/** The plots drawn into one offline HTML page (see `plotsPage`); `template` as DVC's `--html-template`. */
export interface PageOptions {
  title?: string;
  /** How Vega and Vega-Lite are imported; default `import()` from @mlv/core. */
  importPackage?: PackageImporter;
}

export async function plotsHtml(
  plots: readonly PlotResult[],
  options: PageOptions & { template?: string } = {},
): Promise<string> {
  const divs: string[] = [];
  for (const p of plots) {
    const rendered: RenderedPlot = {
      id: p.id,
      revisions: p.revisions,
      errors: p.errors,
      ...(p.spec ? { svg: await renderSvg(p.spec, options.importPackage) } : {}),
      ...(p.images ? { images: p.images } : {}),
    };
    divs.push(plotDiv(rendered));
  }
  return plotsPage(options.title ?? "mlv plots", divs, options.template);
}

/** A version's name on a chart's axis: its first tag, else its registry version, else its commit. */
function versionLabel(v: OutputVersion): string {
  return v.tags.find((t) => parseRegistryTag(t) === undefined) ?? v.registry?.[0]?.version ?? v.rev;
}

/**
 * `mlv versions PATH --metrics FILE --html OUT`: one chart per metric across the versions of an
 * output (oldest first, named by tag), and the table of them all, as one offline page.
 */
export async function versionsHtml(result: VersionsResult, options: PageOptions = {}): Promise<string> {
  const ordered = [...result.versions].reverse();
  const keys: string[] = [];
  for (const v of ordered) for (const k of Object.keys(v.metrics ?? {})) if (!keys.includes(k)) keys.push(k);
  const labels = ordered.map(versionLabel);
  const divs: string[] = [];
  for (const key of keys) {
    const values = ordered.flatMap((v, i) => {
      const value = v.metrics?.[key];
      return typeof value === "number" ? [{ version: labels[i]!, order: i, value }] : [];
    });
    if (values.length === 0) continue;
    const spec = {
      width: 420,
      height: 240,
      data: { values },
      mark: { type: "line", point: { size: 60 } },
      encoding: {
        x: { field: "version", type: "ordinal", sort: { field: "order" }, title: null, axis: { labelAngle: -30 } },
        y: { field: "value", type: "quantitative", title: key, scale: { zero: false } },
        tooltip: [{ field: "version" }, { field: "value" }],
      },
      config: { font: "sans-serif", view: { stroke: "#ddd" } },
    };
    divs.push(plotDiv({ id: key, revisions: labels, errors: [], svg: await renderSvg(spec, options.importPackage) }));
  }
  const head = ["Version", "Commit", "Date", "Author", "Message", "MD5", ...keys];
  const rows = ordered.map((v, i) =>
    [labels[i]!, v.rev, v.date, v.author, v.message, v.md5 ?? "", ...keys.map((k) => String(v.metrics?.[k] ?? ""))]
      .map((c) => `<td>${escapeHtml(c)}</td>`)
      .join(""),
  );
  divs.push(
    `<table><thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join("")}</tr></thead><tbody>${rows.map((r) => `<tr>${r}</tr>`).join("")}</tbody></table>`,
  );
  const title = options.title ?? `${result.path}: ${result.metricsFile ?? "metrics"} across ${ordered.length} versions`;
  return plotsPage(title, divs);
}
