import { Project, removeTargets } from "@mlv/core/internal";
import type { Command } from "commander";
import { type Context, withGlobals } from "../context.js";

export function register(program: Command, ctx: Context): void {
  withGlobals(program.command("remove"))
    .description(
      "Stop tracking: delete .dvc files, or stages of dvc.yaml with their dvc.lock entries, and their .gitignore entries; the data stays",
    )
    .argument("<targets...>", ".dvc files, stages ([path/dvc.yaml:]name) or dvc.yaml files (all their stages)")
    .option("--outs", "also delete the outputs from the workspace")
    .action(async (targets: string[], opts: { outs?: boolean; quiet?: boolean; verbose?: boolean }) => {
      const out = ctx.output(opts);
      const repo = await Project.open();
      const removed = await repo.locked("mlv remove", () =>
        removeTargets(repo, targets, { outs: opts.outs, cwd: process.cwd() }),
      );
      for (const r of removed)
        for (const p of r.paths) out.debug(`${opts.outs ? "deleted" : "no longer tracked"}: ${out.path(repo.root, p)}`);
    });
}
