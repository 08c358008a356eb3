/**
 * Plots drawn as SVG here, with Vega and Vega-Lite, and put in one HTML page that needs nothing
 * else: no script, no font, no request when opened, so it shows the same offline, behind a
 * firewall or attached to an email. Vega is loaded only when a plot is drawn.
 */

/** One plot as the page shows it. */
export interface RenderedPlot {
  id: string;
  /** The revisions drawn in it, in order. */
  revisions: string[];
  /** A data plot, drawn. */
  svg?: string;
  /** An image plot: the image of each revision. */
  images?: { rev: string; mime: string; bytes: Buffer }[];
  /** Files that could not be read or drawn, per revision. */
  errors: { rev: string; path: string; message: string }[];
}

/** How the drawing packages are imported: `import()` here, or the caller's (code run through `vm` cannot import()). */
export type PackageImporter = (name: string) => Promise<unknown>;

type Engine = { vega: typeof import("vega"); vegaLite: typeof import("vega-lite") };
let engine: Promise<Engine> | undefined;

function loadEngine(importPackage: PackageImporter): Promise<Engine> {
  engine ??= Promise.all([importPackage("vega"), importPackage("vega-lite")]).then(
    ([vega, vegaLite]) => ({ vega, vegaLite }) as Engine,
  );
  engine.catch(() => {
    engine = undefined;
  });
  return engine;
}

/** A Vega-Lite specification drawn as an SVG document. */
export async function renderSvg(
  spec: Record<string, unknown>,
  importPackage: PackageImporter = (name) => import(name),
): Promise<string> {
  const { vega, vegaLite } = await loadEngine(importPackage);
  const compiled = vegaLite.compile(spec as unknown as import("vega-lite").TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none", logLevel: vega.Error });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE = `
body { font-family: sans-serif; margin: 24px; color: #222; background: #fff; }
h1 { font-size: 20px; font-weight: 600; }
.plot { display: inline-block; vertical-align: top; margin: 0 24px 32px 0; }
.plot h2 { font-size: 14px; font-weight: 600; margin: 0 0 8px; font-family: monospace; }
.images { display: flex; flex-wrap: wrap; gap: 16px; }
figure { margin: 0; }
figure img { max-width: 480px; max-height: 360px; border: 1px solid #ddd; }
figcaption { font-size: 12px; color: #555; margin-top: 4px; }
.errors { color: #a00; font-size: 12px; }
table { border-collapse: collapse; font-size: 13px; margin-top: 16px; }
th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: left; }
th { background: #f5f5f5; }
`;

/** The `<div>` of one plot. */
export function plotDiv(plot: RenderedPlot): string {
  const parts = [`<div class="plot" data-plot="${escapeHtml(plot.id)}">`, `<h2>${escapeHtml(plot.id)}</h2>`];
  if (plot.svg) parts.push(plot.svg);
  if (plot.images) {
    parts.push('<div class="images">');
    for (const image of plot.images)
      parts.push(
        `<figure><img alt="${escapeHtml(`${plot.id} at ${image.rev}`)}" src="data:${image.mime};base64,${image.bytes.toString("base64")}"><figcaption>${escapeHtml(image.rev)}</figcaption></figure>`,
      );
    parts.push("</div>");
  }
  if (plot.errors.length > 0)
    parts.push(
      `<ul class="errors">${plot.errors.map((e) => `<li>${escapeHtml(`${e.rev}: ${e.path}: ${e.message}`)}</li>`).join("")}</ul>`,
    );
  parts.push("</div>");
  return parts.join("\n");
}

/**
 * The whole page. `template` is an HTML page of the user's with `{plot_divs}` where the plots go
 * (DVC's `--html-template`); default a plain one titled `title`.
 */
export function plotsPage(title: string, divs: string[], template?: string): string {
  const body = divs.join("\n");
  if (template !== undefined) return template.replace("{plot_divs}", () => body);
  return `<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
${body}
</body>
</html>
`;
}
