import { flattenMetrics, type MetricValue, UsageError, WORKSPACE } from "@mlv/core";
import { diffMetrics, Project, showMetrics } from "@mlv/core/internal";
import type { Command } from "commander";
import { type Context, withGlobals } from "../context.js";
import type { Output } from "../output.js";
import { formatMetric, METRIC_PRECISION, renderTable } from "../tables.js";
import { fromRoot } from "./options.js";

interface Opts {
  json?: boolean;
  md?: boolean;
  precision?: number;
  quiet?: boolean;
  verbose?: boolean;
}

interface ShowOpts extends Opts {
  rev?: string[];
  allBranches?: boolean;
  allTags?: boolean;
}

interface DiffOpts extends Opts {
  targets?: string[];
  all?: boolean;
}

function precisionOf(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new UsageError(`--precision takes a whole number of at least 0, got '${value}'`);
  return n;
}

/** Print a table for people (nothing when it has no rows, as DVC), columns at least their header + 2 wide as DVC's. */
function print(out: Output, headers: string[], rows: string[][], markdown: boolean): void {
  if (rows.length === 0) return;
  out.info(renderTable(headers, rows, markdown, 2));
  if (markdown) out.info();
}

export function register(program: Command, ctx: Context): void {
  const metrics = withGlobals(program.command("metrics")).description(
    "Show metrics files (JSON or YAML) of the workspace and of revisions, and how they changed",
  );

  withGlobals(metrics.command("show"))
    .description("Print the metrics of the workspace and, with --rev/-a/-T, of those revisions (read from git)")
    .argument(
      "[files...]",
      "metrics files (default: the metrics listed in dvc.yaml, else metrics.json/.yaml/.yml at the root)",
    )
    .option(
      "--rev <rev>",
      "also the metrics of this revision (a branch, tag or commit); may repeat",
      (v: string, acc: string[] = []) => [...acc, v],
    )
    .option("-a, --all-branches", "also the metrics of the tip of every branch")
    .option("-T, --all-tags", "also the metrics of every tag")
    .option("--json", "print the metrics as JSON")
    .option("--md", "print a markdown table")
    .option("--precision <n>", `round floats to this many decimal places (default ${METRIC_PRECISION})`, precisionOf)
    .action(async (files: string[], opts: ShowOpts) => {
      const out = ctx.output(opts);
      const repo = await Project.open();
      const result = await showMetrics(repo, {
        files: files.map((f) => fromRoot(repo.root, f)),
        signal: ctx.signal,
        revs: opts.rev,
        allBranches: opts.allBranches,
        allTags: opts.allTags,
      });
      const shown = (p: string) => out.path(repo.root, p);
      if (opts.json) {
        const json = Object.fromEntries(
          Object.entries(result).map(([rev, { data }]) => [
            rev,
            { data: Object.fromEntries(Object.entries(data).map(([p, v]) => [shown(p), v])) },
          ]),
        );
        return out.json(json);
      }
      const keys = new Set<string>();
      const rows: { rev: string; path: string; values: Map<string, MetricValue> }[] = [];
      for (const [rev, { data }] of Object.entries(result))
        for (const [path, file] of Object.entries(data)) {
          if ("error" in file) {
            out.warn(
              `failed to load metrics from '${shown(path)}'${rev === WORKSPACE ? "" : ` at ${rev}`}: ${file.error.msg}`,
            );
            continue;
          }
          const values = flattenMetrics(file.data);
          for (const k of values.keys()) keys.add(k);
          rows.push({ rev, path: shown(path), values });
        }
      const columns = [...keys].sort();
      const withRev = Object.keys(result).length > 1 || !!opts.rev?.length || !!opts.allBranches || !!opts.allTags;
      const headers = [...(withRev ? ["Revision"] : []), "Path", ...columns];
      const table = rows.map((r) => [
        ...(withRev ? [r.rev] : []),
        r.path,
        ...columns.map((k) => formatMetric(r.values.get(k), opts.precision)),
      ]);
      print(out, headers, table, !!opts.md);
    });

  withGlobals(metrics.command("diff"))
    .description("Show metrics that changed between two revisions (default: HEAD and the workspace)")
    .argument("[a_rev]", "the old revision (default HEAD)")
    .argument("[b_rev]", "the new revision (default: the workspace)")
    .option("--targets <files...>", "metrics files to compare (default: as for 'metrics show')")
    .option("--all", "show unchanged metrics too")
    .option("--json", "print the changes as JSON")
    .option("--md", "print a markdown table")
    .option("--precision <n>", `round floats to this many decimal places (default ${METRIC_PRECISION})`, precisionOf)
    .action(async (a: string | undefined, b: string | undefined, opts: DiffOpts) => {
      const out = ctx.output(opts);
      const repo = await Project.open();
      const result = await diffMetrics(repo, {
        a,
        b,
        files: opts.targets?.map((f) => fromRoot(repo.root, f)),
        all: opts.all,
        signal: ctx.signal,
      });
      const shown = (p: string) => out.path(repo.root, p);
      if (opts.json) return out.json(Object.fromEntries(Object.entries(result).map(([p, v]) => [shown(p), v])));
      const rows: string[][] = [];
      for (const [path, changes] of Object.entries(result))
        for (const [key, c] of Object.entries(changes))
          rows.push([
            shown(path),
            key,
            formatMetric(c.old, opts.precision),
            formatMetric(c.new, opts.precision),
            formatMetric(c.diff, opts.precision),
          ]);
      print(out, ["Path", "Metric", a ?? "HEAD", b ?? WORKSPACE, "Change"], rows, !!opts.md);
    });
}
