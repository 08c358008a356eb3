import { type ListEntry, list } from "@mlv/core";
import { isGitUrl } from "@mlv/core/internal";
import type { Command } from "commander";
import { type Context, withGlobals } from "../context.js";
import { ADAPTERS } from "../remotes.js";
import { formatBytes } from "../units.js";

interface Opts {
  rev?: string;
  recursive?: boolean;
  dvcOnly?: boolean;
  size?: boolean;
  showHash?: boolean;
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
}

export function register(program: Command, ctx: Context): void {
  withGlobals(program.command("list").alias("ls"))
    .description("List repository contents, including files and directories tracked by mlv/DVC and by Git")
    .argument("<repo>", "the mlv/DVC repository to list: a local path ('.' for this one) or a git URL")
    .argument("[path]", "path to a folder or file inside the repository (default: its root)")
    .option("--rev <rev>", "git revision to list (a branch, tag or commit; default: the workspace)")
    .option("-R, --recursive", "list every file below, at any depth")
    .option("--dvc-only", "show only tracked outputs and their contents")
    .option("--size", "show sizes")
    .option("--show-hash", "show hashes")
    .option("--json", "print the entries as JSON")
    .action(async (repo: string, path: string | undefined, opts: Opts) => {
      const out = ctx.output(opts);
      const result = await list(repo, {
        path,
        rev: opts.rev,
        recursive: opts.recursive,
        dvcOnly: opts.dvcOnly,
        adapters: ADAPTERS,
        signal: ctx.signal,
      });
      for (const u of result.unknown)
        out.warn(
          isGitUrl(repo)
            ? `the files of '${u.repoPath}' are not listed: its file list (${u.md5}) is not on the default remote of '${repo}'`
            : `the files of '${u.repoPath}' are not listed: its file list (${u.md5}) is not in the cache of '${repo}'; run 'mlv fetch${opts.rev ? ` --rev ${opts.rev}` : ""} ${u.repoPath}' there to see them`,
        );
      if (opts.json) {
        out.json(result.entries);
        return;
      }
      if (opts.size || opts.showHash) {
        for (const line of table(result.entries, !!opts.size, !!opts.showHash)) out.info(line);
        return;
      }
      for (const e of result.entries) out.info(e.path);
    });
}

/** DVC's `--size`/`--show-hash` table: size (right-aligned), hash, path. */
function table(entries: ListEntry[], withSize: boolean, withHash: boolean): string[] {
  const rows = entries.map((e) => {
    const cells: string[] = [];
    if (withSize) cells.push(e.size === null || (e.isdir && e.size <= 0) ? "" : formatBytes(e.size));
    if (withHash) cells.push(e.md5 ?? "");
    cells.push(e.path);
    return cells;
  });
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => r[i]!.length))) ?? [];
  return rows.map((r) =>
    r
      .map((cell, i) => {
        if (i === r.length - 1) return cell;
        return withSize && i === 0 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!);
      })
      .join("  "),
  );
}
