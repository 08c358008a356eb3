import { addTo, Project } from "@mlv/core/internal";
import type { Command } from "commander";
import { type Context, withGlobals } from "../context.js";
import { gitHint, plural } from "../output.js";

export function register(program: Command, ctx: Context): void {
  withGlobals(program.command("add"))
    .description("Track files or folders: put them in the cache and write their .dvc pointer files")
    .argument("<targets...>", "files or folders to track")
    .action(async (targets: string[], opts: { quiet?: boolean; verbose?: boolean }) => {
      const out = ctx.output(opts);
      const repo = await Project.open();
      const outcome = await addTo(repo, targets, { cwd: process.cwd(), onProgress: out.progress, signal: ctx.signal });
      out.stopProgress();
      for (const r of outcome.results)
        out.debug(`${r.changed ? "recorded" : "unchanged"}: ${out.path(repo.root, r.path)}`);
      const changed = outcome.results.filter((r) => r.changed).length;
      if (changed === 0) out.info(`Nothing changed: ${plural(outcome.results.length, "target")} already recorded.`);
      gitHint(out, repo, outcome);
    });
}
