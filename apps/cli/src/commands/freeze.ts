import { Project, setFrozen } from "@mlv/core/internal";
import type { Command } from "commander";
import { type Context, withGlobals } from "../context.js";

export function register(program: Command, ctx: Context): void {
  for (const frozen of [true, false])
    withGlobals(program.command(frozen ? "freeze" : "unfreeze"))
      .description(
        frozen
          ? "Freeze stages or .dvc files: repro leaves them as they are and status does not check their dependencies"
          : "Unfreeze stages or .dvc files frozen by 'mlv freeze'",
      )
      .argument("<targets...>", "stages ([path/dvc.yaml:]name) or .dvc files")
      .action(async (targets: string[], opts: { quiet?: boolean; verbose?: boolean }) => {
        const out = ctx.output(opts);
        const repo = await Project.open();
        const edited = await repo.locked(`mlv ${frozen ? "freeze" : "unfreeze"}`, () =>
          setFrozen(repo, targets, frozen, { cwd: process.cwd() }),
        );
        for (const e of edited)
          if (e.stage !== undefined) out.info(`Modifying stage '${e.stage}' in '${out.path(repo.root, e.file)}'`);
          else out.debug(`${frozen ? "frozen" : "unfrozen"}: ${out.path(repo.root, e.file)}`);
      });
}
