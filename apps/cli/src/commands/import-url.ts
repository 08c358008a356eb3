import { UsageError } from "@mlv/core";
import { importUrl, Project, parseFsConfig } from "@mlv/core/internal";
import type { Command } from "commander";
import { type Context, withGlobals } from "../context.js";
import { gitHint } from "../output.js";
import { ADAPTERS } from "../remotes.js";
import { positiveInt } from "./options.js";

interface Opts {
  jobs?: number;
  force?: boolean;
  exec?: boolean;
  download?: boolean;
  fsConfig?: string[];
  quiet?: boolean;
  verbose?: boolean;
}

export function register(program: Command, ctx: Context): void {
  withGlobals(program.command("import-url"))
    .description(
      "Download a file or folder from a URL (local path, s3://, gs://, azure://, ssh://, http(s)://, remote://NAME/path) and track it, with its source recorded in a .dvc file",
    )
    .argument("<url>", "where the data is")
    .argument("[out]", "where to put it (default: the URL's last name, here)")
    .option("-j, --jobs <n>", "parallel downloads", (v) => positiveInt(v, "--jobs"))
    .option("-f, --force", "replace the output if it exists")
    .option("--no-exec", "only write the .dvc file: read nothing, download nothing")
    .option("--no-download", "record the source's hash in the .dvc file, but download nothing")
    .option("--fs-config <name=value...>", "options for the source's storage (recorded in the .dvc file)")
    .action(async (url: string, outPath: string | undefined, opts: Opts) => {
      // commander turns `--no-x` into `x: false`.
      const noExec = opts.exec === false;
      const noDownload = opts.download === false;
      if (noExec && noDownload) throw new UsageError("--no-exec and --no-download cannot be used together");
      const out = ctx.output(opts);
      const repo = await Project.open();
      const result = await repo.locked("mlv import-url", () =>
        importUrl(repo, url, {
          out: outPath,
          jobs: opts.jobs,
          force: opts.force,
          noExec,
          noDownload,
          fsConfig: parseFsConfig(opts.fsConfig),
          adapters: ADAPTERS,
          onProgress: out.progress,
        }),
      );
      out.stopProgress();
      out.info(`Importing '${result.source}' -> '${out.path(repo.root, repo.relOf(result.path))}'`);
      gitHint(out, repo, result);
    });
}
