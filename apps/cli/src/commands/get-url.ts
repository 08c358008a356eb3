import { type Config, downloadUrl } from "@mlv/core";
import { Project, parseFsConfig } from "@mlv/core/internal";
import type { Command } from "commander";
import { type Context, withGlobals } from "../context.js";
import { ADAPTERS } from "../remotes.js";
import { positiveInt } from "./options.js";

interface Opts {
  jobs?: number;
  force?: boolean;
  fsConfig?: string[];
  quiet?: boolean;
  verbose?: boolean;
}

/** The configuration of the repository around the current folder, if any (for `remote://NAME/path`). */
async function projectConfig(url: string): Promise<Config | undefined> {
  if (!/^remote:\/\//i.test(url)) return undefined;
  return (await Project.open()).config;
}

export function register(program: Command, ctx: Context): void {
  withGlobals(program.command("get-url"))
    .description(
      "Download a file or folder from a URL (local path, s3://, gs://, azure://, ssh://, http(s)://, remote://NAME/path); no repository needed",
    )
    .argument("<url>", "where the data is")
    .argument("[out]", "where to put it (default: the URL's last name, here)")
    .option("-j, --jobs <n>", "parallel downloads", (v) => positiveInt(v, "--jobs"))
    .option("-f, --force", "replace the output if it exists")
    .option("--fs-config <name=value...>", "options for the source's storage")
    .action(async (url: string, outPath: string | undefined, opts: Opts) => {
      const out = ctx.output(opts);
      const config = await projectConfig(url);
      const result = await downloadUrl(url, {
        out: outPath,
        jobs: opts.jobs,
        force: opts.force,
        fsConfig: parseFsConfig(opts.fsConfig),
        ...(config ? { config } : {}),
        adapters: ADAPTERS,
        onProgress: out.progress,
      });
      out.stopProgress();
      out.debug(`${url} -> ${result.path} (${result.files} file(s), ${result.size} bytes)`);
    });
}
