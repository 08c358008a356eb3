import { checkoutTo, Project } from "@mlv/core/internal";
import type { Command } from "commander";
import { failIfMissing, printCheckout } from "../checkout-result.js";
import { type Context, withGlobals } from "../context.js";

export function register(program: Command, ctx: Context): void {
  withGlobals(program.command("checkout"))
    .description("Restore tracked files and folders in the workspace from the cache")
    .argument("[targets...]", ".dvc files or tracked paths (default: all)")
    .option("-f, --force", "overwrite or delete workspace files whose content is not in the cache")
    .option("--relink", "recreate every file with the configured cache.type")
    .action(
      async (targets: string[], opts: { force?: boolean; relink?: boolean; quiet?: boolean; verbose?: boolean }) => {
        const out = ctx.output(opts);
        const repo = await Project.open();
        const result = await checkoutTo(repo, {
          targets,
          cwd: process.cwd(),
          force: opts.force,
          relink: opts.relink,
          onProgress: out.progress,
        });
        printCheckout(out, repo, result);
        if (opts.relink) out.info("Relinked successfully");
        failIfMissing(result, out, repo);
      },
    );
}
