import { Project, update } from "@mlv/core/internal";
import type { Command } from "commander";
import { type Context, withGlobals } from "../context.js";
import { gitHint } from "../output.js";
import { ADAPTERS, connect } from "../remotes.js";
import { positiveInt } from "./options.js";

interface Opts {
  rev?: string;
  jobs?: number;
  force?: boolean;
  quiet?: boolean;
  verbose?: boolean;
}

export function register(program: Command, ctx: Context): void {
  withGlobals(program.command("update"))
    .description(
      "Move imports to the newest commit of their recorded revision (or to --rev), or to the current version of their URL, and download the data",
    )
    .argument("<targets...>", ".dvc files of imports (or their data's paths)")
    .option("--rev <rev>", "the branch, tag or commit to move to (recorded in the .dvc file)")
    .option("-j, --jobs <n>", "parallel downloads", (v) => positiveInt(v, "--jobs"))
    .option("-f, --force", "overwrite changes made to the imported data in the workspace")
    .action(async (targets: string[], opts: Opts) => {
      const out = ctx.output(opts);
      const repo = await Project.open();
      const results = await repo.locked("mlv update", () =>
        update(repo, targets, {
          rev: opts.rev,
          jobs: opts.jobs,
          force: opts.force,
          connect: (config) => connect(config, undefined),
          adapters: ADAPTERS,
          onProgress: out.progress,
        }),
      );
      out.stopProgress();
      for (const r of results) {
        if (r.kind === "url") {
          if (opts.rev !== undefined)
            out.warn(
              `--rev does not apply to '${out.path(repo.root, r.pointer)}': it imports a URL, not a git repository`,
            );
          if (!r.changed) out.info(`'${out.path(repo.root, r.pointer)}' didn't change, skipping`);
          else out.info(`Importing '${r.source.shown}' -> '${out.path(repo.root, r.path)}'`);
        } else if (!r.changed) out.info(`Stage '${out.path(repo.root, r.pointer)}' didn't change, skipping`);
        else {
          out.info(`Importing '${r.source.path} (${r.source.url})' -> '${out.path(repo.root, r.path)}'`);
          out.debug(`${r.previousRevLock ?? "(none)"} -> ${r.revLock}, data from ${r.origin}`);
        }
      }
      // DVC gives no git hint after updating a URL import.
      const changed = results.filter((r) => r.changed && r.kind === "repo").map((r) => r.pointer);
      const scm = await repo.scm();
      gitHint(out, repo, { gitFiles: changed, autostaged: false, git: scm !== null });
    });
}
