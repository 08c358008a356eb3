import { commit, Project } from "@mlv/core/internal";
import type { Command } from "commander";
import { type Context, withGlobals } from "../context.js";

export function register(program: Command, ctx: Context): void {
  withGlobals(program.command("commit"))
    .description("Record outputs as they are now: into the cache, and into dvc.lock or their .dvc files")
    .argument("[targets...]", "stages ([path:]name), dvc.yaml or .dvc files, or outputs (default: everything)")
    .option("-f, --force", "also record stages whose dependencies, outputs or command changed")
    .action(async (targets: string[], opts: { force?: boolean; quiet?: boolean; verbose?: boolean }) => {
      const out = ctx.output(opts);
      const repo = await Project.open();
      const result = await commit(repo, {
        targets,
        cwd: process.cwd(),
        force: opts.force,
        onLock: (file, created) => {
          if (created) out.info(`Generating lock file '${file}'`);
          out.info(`Updating lock file '${file}'`);
        },
      });
      for (const name of result.committed) out.debug(`committed: ${name}`);
      // As DVC's commit, no git hint: the files changed are listed with -v only.
      if (!result.autostaged) for (const file of result.gitFiles) out.debug(`changed: ${file}`);
    });
}
