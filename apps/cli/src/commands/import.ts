import { importData, Project } from "@mlv/core/internal";
import type { Command } from "commander";
import { type Context, withGlobals } from "../context.js";
import { gitHint } from "../output.js";
import { connect } from "../remotes.js";
import { positiveInt } from "./options.js";

interface Opts {
  rev?: string;
  out?: string;
  jobs?: number;
  force?: boolean;
  quiet?: boolean;
  verbose?: boolean;
}

export function register(program: Command, ctx: Context): void {
  withGlobals(program.command("import"))
    .description(
      "Download a file or folder tracked by another mlv/DVC git repository and track it here, with its source recorded in a .dvc file",
    )
    .argument("<url>", "the repository: a local path, or a git URL")
    .argument("<path>", "the file or folder, from the top of that repository")
    .option("--rev <rev>", "the branch, tag or commit to import from (recorded; default: the repository's HEAD)")
    .option("-o, --out <path>", "where to put it (default: the name of PATH, here)")
    .option("-j, --jobs <n>", "parallel downloads", (v) => positiveInt(v, "--jobs"))
    .option("-f, --force", "replace the output and its .dvc file if they exist")
    .action(async (url: string, path: string, opts: Opts) => {
      const out = ctx.output(opts);
      const repo = await Project.open();
      const result = await repo.locked("mlv import", () =>
        importData(repo, url, path, {
          rev: opts.rev,
          out: opts.out,
          jobs: opts.jobs,
          force: opts.force,
          connect: (config) => connect(config, undefined),
          onProgress: out.progress,
        }),
      );
      out.stopProgress();
      out.info(`Importing '${path} (${url})' -> '${out.path(out.cwd, result.path)}'`);
      out.debug(`resolved to commit ${result.revLock}, data from ${result.origin}`);
      gitHint(out, repo, result);
    });
}
