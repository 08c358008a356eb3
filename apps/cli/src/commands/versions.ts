import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { UsageError, versionsHtml } from "@mlv/core";
import { outputVersions, Project, parseRegistryTag, writeFileAtomic } from "@mlv/core/internal";
import type { Command } from "commander";
import { type Context, withGlobals } from "../context.js";
import { importDrawingPackage } from "../drawing.js";
import { formatMetric, renderTable } from "../tables.js";
import { formatBytes } from "../units.js";
import { fromRoot } from "./options.js";

interface Opts {
  rev?: string;
  metrics?: string;
  json?: boolean;
  md?: boolean;
  html?: string;
  quiet?: boolean;
  verbose?: boolean;
}

export function register(program: Command, ctx: Context): void {
  withGlobals(program.command("versions"))
    .description(
      "List every version of a tracked file or folder: the commits that changed its .dvc file, and the tags that hold it",
    )
    .argument("<path>", "a tracked path (model.h5) or its .dvc file")
    .option("--rev <rev>", "walk the history of this revision instead of HEAD")
    .option("--metrics <file>", "also show this metrics file's values at each version")
    .option("--json", "print the versions as JSON")
    .option("--md", "print a markdown table")
    .option("--html <file>", "write a page (it works offline) charting each metric across the versions, with the table")
    .action(async (path: string, opts: Opts) => {
      const out = ctx.output(opts);
      const repo = await Project.open();
      const result = await outputVersions(repo, fromRoot(repo.root, path), {
        rev: opts.rev,
        metricsFile: opts.metrics === undefined ? undefined : fromRoot(repo.root, opts.metrics),
        signal: ctx.signal,
      });
      if (opts.json) return out.json(result.versions);
      if (opts.html !== undefined) {
        if (opts.metrics === undefined)
          throw new UsageError("--html charts metrics across versions: give --metrics FILE too");
        const page = resolve(opts.html);
        await writeFileAtomic(page, await versionsHtml(result, { importPackage: importDrawingPackage }));
        out.info(pathToFileURL(page).href);
        return;
      }
      for (const v of result.versions) if (v.error) out.warn(`${v.rev}: ${v.error}`);
      const keys: string[] = [];
      for (const v of result.versions)
        for (const k of Object.keys(v.metrics ?? {})) if (!keys.includes(k)) keys.push(k);
      // Registry tags (name@v1.0.0, name#prod#3) show as the version and stages they make.
      const registry = result.versions.some((v) => v.registry);
      const registryCell = (v: (typeof result.versions)[number]) =>
        (v.registry ?? [])
          .map((r) => `${r.artifact} ${r.version}${r.stages.length ? ` [${r.stages.join(", ")}]` : ""}`)
          .join("; ");
      const headers = [
        "Revision",
        "Tags",
        ...(registry ? ["Registry"] : []),
        "Date",
        "Author",
        "Message",
        "MD5",
        "Size",
        ...keys,
      ];
      const rows = result.versions.map((v) => [
        v.onBranch ? v.rev : `${v.rev}*`,
        v.tags.filter((t) => !registry || parseRegistryTag(t) === undefined).join(","),
        ...(registry ? [registryCell(v)] : []),
        v.date,
        v.author,
        v.message,
        v.change === "deleted" ? "(deleted)" : (v.md5 ?? "-"),
        v.size === undefined ? "-" : formatBytes(v.size),
        ...keys.map((k) => {
          const value = v.metrics?.[k];
          return value === undefined ? "" : formatMetric(value);
        }),
      ]);
      out.info(renderTable(headers, rows, !!opts.md));
      if (result.versions.some((v) => !v.onBranch))
        out.info(`${opts.md ? "\n" : ""}* a tag off the history of ${result.rev}, holding a version of its own`);
    });
}
