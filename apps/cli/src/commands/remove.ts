import { resolve } from "node:path";
import { Repo, remove } from "@mlv/core";
import type { Command } from "commander";
import { type Context, withGlobals } from "../context.js";

export function register(program: Command, ctx: Context): void {
  withGlobals(program.command("remove"))
    .description("Stop tracking: delete .dvc files and their .gitignore entries, keep the data")
    .argument("<targets...>", ".dvc files")
    .action(async (targets: string[], opts: { quiet?: boolean; verbose?: boolean }) => {
      const out = ctx.output(opts);
      const repo = await Repo.open();
      await repo.locked("mlv remove", async () => {
        for (const t of targets) {
          const abs = resolve(t);
          repo.assertInside(abs, t);
          const paths = await remove(repo, abs);
          for (const p of paths) out.debug(`no longer tracked: ${out.path(repo.root, p)}`);
        }
      });
    });
}
