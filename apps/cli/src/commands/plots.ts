import { spawn } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { type PlotResult, type PlotsOptions, plotsHtml } from "@mlv/core";
import { collectPlots, Project, writeFileAtomic } from "@mlv/core/internal";
import type { Command } from "commander";
import { type Context, withGlobals } from "../context.js";
import { importDrawingPackage } from "../drawing.js";
import type { Output } from "../output.js";
import { ADAPTERS } from "../remotes.js";
import { fromRoot } from "./options.js";

interface Opts {
  out?: string;
  json?: boolean;
  open?: boolean;
  htmlTemplate?: string;
  targets?: string[];
  remote?: string;
  quiet?: boolean;
  verbose?: boolean;
}

/**
 * DVC's `--json`: `data`, plot id → its renderers (a Vega-Lite specification, or an image per
 * revision), and `errors`, what could not be read.
 */
function asJson(plots: PlotResult[]) {
  return {
    errors: plots.flatMap((p) => p.errors.map((e) => ({ name: p.id, rev: e.rev, source: e.path, msg: e.message }))),
    data: Object.fromEntries(
      plots.map((p) => [
        p.id,
        p.spec
          ? [{ type: "vega", revisions: p.revisions, content: p.spec }]
          : (p.images ?? []).map((i) => ({ type: "image", revisions: [i.rev], path: i.path })),
      ]),
    ),
  };
}

/** Write the page into `dir` (whole or not at all), say where, and open it when asked. */
async function writePage(out: Output, plots: PlotResult[], opts: Opts, title: string): Promise<void> {
  for (const p of plots) for (const e of p.errors) out.warn(`${p.id}: ${e.rev}: ${e.message}`);
  const template = opts.htmlTemplate === undefined ? undefined : readFileSync(opts.htmlTemplate, "utf8");
  const html = await plotsHtml(plots, { title, template, importPackage: importDrawingPackage });
  const dir = resolve(opts.out ?? "dvc_plots");
  mkdirSync(dir, { recursive: true });
  const page = join(dir, "index.html");
  await writeFileAtomic(page, html);
  const url = pathToFileURL(page).href;
  out.info(url);
  if (opts.open) {
    const opener = process.platform === "darwin" ? "open" : process.platform === "win32" ? "explorer" : "xdg-open";
    const child = spawn(opener, [url], { detached: true, stdio: "ignore" });
    child.on("error", () => out.warn(`cannot open a browser ('${opener}' did not start): open ${url} yourself`));
    child.unref();
  }
}

async function run(ctx: Context, opts: Opts, options: PlotsOptions, title: string): Promise<void> {
  const out = ctx.output(opts);
  const project = await Project.open();
  const targets = (options.targets ?? []).map((t) => fromRoot(project.root, t));
  const plots = await collectPlots(project, {
    ...options,
    targets,
    remote: opts.remote,
    adapters: ADAPTERS,
    signal: ctx.signal,
  });
  if (opts.json) return out.json(asJson(plots));
  await writePage(out, plots, opts, title);
}

function pageOptions(cmd: Command): Command {
  return cmd
    .option("-o, --out <dir>", "the folder to write index.html into", "dvc_plots")
    .option("--json", "print the plots (Vega-Lite specifications with their data) as JSON instead")
    .option("--open", "open the page in a browser")
    .option("--html-template <file>", "an HTML page of yours, with {plot_divs} where the plots go")
    .option("-r, --remote <name>", "the remote to read data from that neither the workspace nor the cache has");
}

export function register(program: Command, ctx: Context): void {
  const plots = withGlobals(program.command("plots")).description(
    "Draw the plots dvc.yaml defines into one HTML page that works offline",
  );

  pageOptions(
    withGlobals(plots.command("show"))
      .description("Draw the plots of the workspace")
      .argument("[targets...]", "plot ids or data files (default: every plot)"),
  ).action(async (targets: string[], opts: Opts) => {
    await run(ctx, opts, { targets }, "mlv plots");
  });

  pageOptions(
    withGlobals(plots.command("diff"))
      .description("Draw the plots of several revisions over each other, one colour per revision")
      .argument("[revisions...]", "git revisions to compare (default: HEAD and the workspace)")
      .option("--targets <targets...>", "plot ids or data files (default: every plot)"),
  ).action(async (revisions: string[], opts: Opts) => {
    const revs = revisions.length > 0 ? revisions : ["HEAD"];
    await run(
      ctx,
      opts,
      {
        targets: opts.targets,
        revs,
        workspace: revisions.length === 0,
        ...(revisions.length === 0 ? { omitIfSameAsWorkspace: ["HEAD"] } : {}),
      },
      `mlv plots diff ${revs.join(" ")}`,
    );
  });
}
