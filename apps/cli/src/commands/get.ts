import { get } from "@mlv/core";
import type { Command } from "commander";
import { type Context, withGlobals } from "../context.js";
import { type DownloadOpts, downloadOptions, withDownloadOptions } from "./options.js";

interface Opts extends DownloadOpts {
  rev?: string;
  quiet?: boolean;
  verbose?: boolean;
}

export function register(program: Command, ctx: Context): void {
  withDownloadOptions(
    withGlobals(program.command("get"))
      .description("Download a file or folder tracked by another mlv/DVC git repository (no 'mlv init' needed)")
      .argument("<url>", "the repository: a local path, or a git URL")
      .argument("<path>", "the file or folder, from the top of that repository")
      .option("--rev <rev>", "the branch, tag or commit to read (default: the repository's HEAD)"),
    "where to put it (default: the name of PATH, here)",
  ).action(async (url: string, path: string, opts: Opts) => {
    const out = ctx.output(opts);
    const result = await get(url, path, { rev: opts.rev, ...downloadOptions(ctx, out, opts) });
    out.stopProgress();
    out.debug(
      `${path} (${url} at ${result.revLock.slice(0, 7)}, from ${result.origin}) -> ${out.path(out.cwd, result.path)}`,
    );
  });
}
