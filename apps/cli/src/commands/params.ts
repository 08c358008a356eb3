import { WORKSPACE } from "@mlv/core";
import {
  diffParams,
  type ParamsDiffResult,
  type ParamsShowResult,
  type ParamValue,
  Project,
  pyStr,
  pythonJson,
  showParams,
} from "@mlv/core/internal";
import type { Command } from "commander";
import { type Context, withGlobals } from "../context.js";
import type { Output } from "../output.js";
import { renderTable } from "../tables.js";

interface Opts {
  targets?: string[];
  deps?: boolean;
  json?: boolean;
  md?: boolean;
  quiet?: boolean;
  verbose?: boolean;
}

interface DiffOpts extends Opts {
  all?: boolean;
  path?: boolean;
}

/** tabulate's least padding around a header, which DVC's tables keep. */
const HEADER_PADDING = 2;

/** A value as DVC prints it in a table: Python's `str()`, a missing one as "-". */
function cell(value: ParamValue | undefined): string {
  return value === null || value === undefined ? "-" : pyStr(value);
}

/** JSON as DVC prints it: indented on a terminal, else one line as Python's `json.dumps` writes it. */
function printJson(out: Output, value: ParamValue): void {
  const text = pythonJson(value);
  if (process.stdout.isTTY) out.json(JSON.parse(text));
  else process.stdout.write(`${text}\n`);
}

function diffJson(result: ParamsDiffResult, shown: (p: string) => string): ParamValue {
  return Object.fromEntries(
    Object.entries(result).map(([path, changes]) => [shown(path), changes as unknown as ParamValue]),
  );
}

function printDiff(
  out: Output,
  result: ParamsDiffResult,
  headers: string[],
  opts: DiffOpts,
  shown: (p: string) => string,
) {
  const withPath = opts.path !== false;
  const rows = Object.entries(result).flatMap(([path, changes]) =>
    Object.entries(changes).map(([key, c]) => [...(withPath ? [shown(path)] : []), key, cell(c.old), cell(c.new)]),
  );
  const columns = withPath ? headers : headers.slice(1);
  // DVC prints nothing when nothing changed, but a markdown table always, and a blank line after it.
  if (opts.md) {
    out.info(renderTable(columns, rows, true, HEADER_PADDING));
    out.info();
  } else if (rows.length > 0) out.info(renderTable(columns, rows, false, HEADER_PADDING));
}

function printShow(out: Output, result: ParamsShowResult, markdown: boolean, shown: (p: string) => string) {
  const files = Object.entries(result);
  if (files.length === 0) return;
  const keys = [...new Set(files.flatMap(([, values]) => [...values.keys()]))].sort();
  const rows = files.map(([path, values]) => [shown(path), ...keys.map((k) => cell(values.get(k)))]);
  out.info(renderTable(["Path", ...keys], rows, markdown, HEADER_PADDING));
  if (markdown) out.info();
}

export function register(program: Command, ctx: Context): void {
  const params = withGlobals(program.command("params")).description(
    "Show the parameters stages depend on (params.yaml and other params files), and how they changed",
  );

  withGlobals(params.command("show"))
    .description("Print the params of the workspace that 'params diff' compares, a row per file")
    .option("--targets <files...>", "params files to show, whole (default: those of dvc.yaml and params.yaml)")
    .option("--deps", "only the params stages depend on")
    .option("--json", "print the params as JSON")
    .option("--md", "print a markdown table")
    .action(async (opts: Opts) => {
      const out = ctx.output(opts);
      const repo = await Project.open();
      const result = await showParams(repo, { targets: opts.targets, deps: opts.deps });
      const shown = (p: string) => out.path(repo.root, p);
      if (opts.json)
        return printJson(
          out,
          Object.fromEntries(Object.entries(result).map(([path, values]) => [shown(path), Object.fromEntries(values)])),
        );
      printShow(out, result, !!opts.md, shown);
    });

  withGlobals(params.command("diff"))
    .description("Show params that changed between two revisions (default: HEAD and the workspace)")
    .argument("[a_rev]", "the old revision (default HEAD)")
    .argument("[b_rev]", "the new revision (default: the workspace)")
    .option("--targets <files...>", "params files to compare, whole (default: those of dvc.yaml and params.yaml)")
    .option("--all", "show unchanged params too")
    .option("--deps", "only the params stages depend on")
    .option("--json", "print the changes as JSON")
    .option("--md", "print a markdown table")
    .option("--no-path", "leave out the Path column")
    .action(async (a: string | undefined, b: string | undefined, opts: DiffOpts) => {
      const out = ctx.output(opts);
      const repo = await Project.open();
      const result = await diffParams(repo, { a, b, targets: opts.targets, deps: opts.deps, all: opts.all });
      const shown = (p: string) => out.path(repo.root, p);
      if (opts.json) return printJson(out, diffJson(result, shown));
      printDiff(out, result, ["Path", "Param", a ?? "HEAD", b ?? WORKSPACE], opts, shown);
    });
}
