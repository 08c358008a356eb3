import { Project } from "@mlv/core/internal";
import type { Command } from "commander";
import { type Context, withGlobals } from "../context.js";

export function register(program: Command, ctx: Context): void {
  withGlobals(program.command("init"))
    .description("Create an mlv (DVC 3 format) repository in the current git repository")
    .option("--no-scm", "initiate in a folder that is not a git repository")
    .option("-f, --force", "overwrite an existing .dvc folder")
    .option("--subdir", "create a project in a subfolder of a git repository")
    .action(async (opts: { scm: boolean; force?: boolean; subdir?: boolean; quiet?: boolean; verbose?: boolean }) => {
      const out = ctx.output(opts);
      await Project.init(process.cwd(), { noScm: !opts.scm, force: opts.force, subdir: opts.subdir });
      out.info("Initialized mlv repository (DVC 3 format).");
      if (opts.scm) {
        out.info();
        out.info("You can now commit the changes to git:");
        out.info();
        out.info('\tgit commit -m "Initialize mlv"');
      }
    });
}
