import type { DiffResult } from "@mlv/core";
import { diff, Project } from "@mlv/core/internal";
import type { Command } from "commander";
import { type Context, withGlobals } from "../context.js";
import { renderTable } from "../tables.js";
import { fromRoot } from "./options.js";

interface Opts {
  targets?: string[];
  json?: boolean;
  md?: boolean;
  showHash?: boolean;
  hideMissing?: boolean;
  quiet?: boolean;
  verbose?: boolean;
}

type Hash = string | { old: string; new: string };
type Row = { path: string; hash?: Hash };

const STATES = ["added", "deleted", "renamed", "modified", "not in cache"] as const;

export function register(program: Command, ctx: Context): void {
  withGlobals(program.command("diff"))
    .description("Show added, modified, or deleted tracked data between commits, or between a commit and the workspace")
    .argument("[a_rev]", "old git commit to compare (default: HEAD)")
    .argument("[b_rev]", "new git commit to compare (default: the workspace)")
    .option("--targets <paths...>", "only these tracked files or folders")
    .option("--json", "print the result as JSON")
    .option("--show-hash", "show the hash of each entry")
    .option("--md", "print a Markdown table")
    .option("--hide-missing", "leave out the 'not in cache' entries")
    .action(async (a: string | undefined, b: string | undefined, opts: Opts) => {
      const out = ctx.output(opts);
      const repo = await Project.open();
      const targets = opts.targets?.map((t) => fromRoot(repo.root, t));
      const result = await diff(repo, { a, b, targets, signal: ctx.signal });
      repo.hashCache.save();
      const shown = present(result, !!opts.showHash, b !== undefined || !!opts.hideMissing);
      if (opts.json) out.json(shown);
      else if (opts.md) process.stdout.write(markdown(shown, !!opts.showHash));
      else for (const line of human(shown)) out.info(line);
    });
}

/** What DVC prints: `{}` when nothing changed; else every state, hashes only with --show-hash. */
function present(result: DiffResult, showHash: boolean, hideMissing: boolean): Record<string, Row[]> {
  const states = STATES.filter((s) => !(hideMissing && s === "not in cache"));
  if (states.every((s) => result[s].length === 0)) return {};
  const shown: Record<string, Row[]> = {};
  for (const s of states)
    shown[s] = (result[s] as Row[]).map((e) => (showHash ? { path: e.path, hash: e.hash } : { path: e.path }));
  return shown;
}

function digest(hash: Hash | undefined): string {
  if (hash === undefined) return "";
  return typeof hash === "string" ? hash.slice(0, 8) : `${hash.old.slice(0, 8)}..${hash.new.slice(0, 8)}`;
}

function human(shown: Record<string, Row[]>): string[] {
  const lines: string[] = [];
  const counts: string[] = [];
  for (const [state, rows] of Object.entries(shown)) {
    if (rows.length === 0) continue;
    lines.push(`${state[0]!.toUpperCase()}${state.slice(1)}:`);
    let files = 0;
    for (const r of rows) {
      lines.push(`    ${r.hash === undefined ? "" : `${digest(r.hash)}  `}${r.path}`);
      if (!r.path.endsWith("/")) files++;
    }
    lines.push("");
    if (files > 0) counts.push(`${files} ${state}`);
  }
  if (counts.length > 0) lines.push(`files summary: ${counts.join(", ")}`);
  return lines;
}

/** A GitHub-flavoured Markdown table, as DVC's `--md` prints it (tabulate's "github" format). */
function markdown(shown: Record<string, Row[]>, showHash: boolean): string {
  const headers = showHash ? ["Status", "Hash", "Path"] : ["Status", "Path"];
  const rows: string[][] = [];
  for (const [state, entries] of Object.entries(shown))
    for (const e of entries) rows.push(showHash ? [state, digest(e.hash), e.path] : [state, e.path]);
  return `${renderTable(headers, rows, true, 2)}\n\n`;
}
