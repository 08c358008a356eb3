import { Project, type ReproEvent, repro } from "@mlv/core/internal";
import type { Command } from "commander";
import { type Context, withGlobals } from "../context.js";
import { gitHint, type Output } from "../output.js";
import { ADAPTERS } from "../remotes.js";

interface Opts {
  force?: boolean;
  singleItem?: boolean;
  downstream?: boolean;
  pipeline?: boolean;
  allPipelines?: boolean;
  dry?: boolean;
  allowMissing?: boolean;
  keepGoing?: boolean;
  ignoreErrors?: boolean;
  commit?: boolean;
  runCache?: boolean;
  forceDownstream?: boolean;
  recursive?: boolean;
  glob?: boolean;
  pull?: boolean;
  quiet?: boolean;
  verbose?: boolean;
}

/**
 * Prints what repro tells as DVC words it. A stage that ran (or came from the run cache, or was
 * verified) is followed by an empty line before the next stage; a failed stage leaves that as it was.
 */
function printer(out: Output): (event: ReproEvent) => void {
  let afterRun = false;
  return (event) => {
    switch (event.type) {
      case "stage":
        if (afterRun) out.info();
        break;
      case "done":
        afterRun = event.ran;
        break;
      case "frozen":
        out.warn(`stage: '${event.stage}' is frozen. Its dependencies are not going to be reproduced.`);
        break;
      case "unchanged":
        out.info(
          event.source ? `'${event.stage}' didn't change, skipping` : `Stage '${event.stage}' didn't change, skipping`,
        );
        break;
      case "pulling":
        out.info(`Pulling data for stage: '${event.stage}'`);
        break;
      case "pull-failed":
        out.info(`Unable to pull data for stage: '${event.stage}'`);
        out.debug(event.reason);
        break;
      case "run-cache-unavailable":
        out.warn(`Failed to pull run cache: ${event.reason}`);
        break;
      case "warning":
        out.warn(event.message);
        break;
      case "running":
        out.info(`Running stage '${event.stage}':`);
        break;
      case "cached":
        out.info(`Stage '${event.stage}' is cached - skipping run, checking out outputs`);
        break;
      case "verifying":
        out.info(
          event.source
            ? `Verifying data sources in stage: '${event.stage}'`
            : `Verifying outputs in frozen stage: '${event.stage}'`,
        );
        break;
      case "command":
        out.info(`> ${event.line}`);
        break;
      case "lock":
        if (event.created) out.info(`Generating lock file '${event.file}'`);
        out.info(`Updating lock file '${event.file}'`);
        break;
      case "empty":
        out.warn(`'${event.path}' is empty.`);
        break;
      case "failed":
        {
          const line = event.ignored ? `${event.error.message} (ignored)` : event.error.message;
          out.warn(event.error.hint ? `${line}\n${event.error.hint}` : line);
        }
        if (event.skipping.length > 0) {
          const names = event.skipping.map((s) => `'${s}'`);
          const list =
            names.length === 1 ? `Stage ${names[0]}` : `Stages ${names.slice(0, -1).join(", ")} and ${names.at(-1)}`;
          out.warn(`${list} will be skipped due to this failure`);
        }
        break;
    }
  };
}

export function register(program: Command, ctx: Context): void {
  withGlobals(program.command("repro"))
    .description("Reproduce a pipeline: run the stages whose dependencies, params, command or outputs changed")
    .argument(
      "[targets...]",
      "stages ([path:]name), dvc.yaml or .dvc files, or outputs (default: the stages of ./dvc.yaml)",
    )
    .option("-f, --force", "run every stage of the plan, changed or not")
    .option("-s, --single-item", "only the targets, not the stages they depend on")
    .option("--downstream", "the targets and every stage depending on them")
    .option("-p, --pipeline", "the whole pipelines the targets belong to")
    .option("-P, --all-pipelines", "every stage of the project")
    .option("--dry", "print the commands that would run, change nothing")
    .option("--allow-missing", "missing data alone does not make a stage changed")
    .option("-k, --keep-going", "after a failure, go on with the stages that do not depend on it")
    .option("--ignore-errors", "after a failure, go on with every stage")
    .option("--no-commit", "record outputs in dvc.lock without putting them in the cache")
    .option("--no-run-cache", "run changed stages even when a run with the same inputs is cached")
    .option("--force-downstream", "run the stages depending on a stage that ran, even if its outputs did not change")
    .option("-R, --recursive", "folder targets: every stage and .dvc file below them")
    .option("--glob", "stage names in targets are shell-style patterns ('train-*', 'sub/dvc.yaml:eval@*')")
    .option("--pull", "download missing data from the remotes instead of reproducing it (run cache first)")
    .action(async (targets: string[], opts: Opts) => {
      const out = ctx.output(opts);
      const repo = await Project.open();
      const result = await repro(repo, {
        targets,
        cwd: process.cwd(),
        force: opts.force,
        single: opts.singleItem,
        downstream: opts.downstream,
        pipeline: opts.pipeline,
        allPipelines: opts.allPipelines,
        dry: opts.dry,
        allowMissing: opts.allowMissing,
        keepGoing: opts.keepGoing,
        ignoreErrors: opts.ignoreErrors,
        noCommit: opts.commit === false,
        noRunCache: opts.runCache === false,
        forceDownstream: opts.forceDownstream,
        recursive: opts.recursive,
        glob: opts.glob,
        pull: opts.pull,
        adapters: ADAPTERS,
        onEvent: printer(out),
      });
      if (!opts.dry) gitHint(out, repo, result);
      if (result.reproduced.length === 0) out.info("Data and pipelines are up to date.");
      else out.info("Use `mlv push` to send your updates to remote storage.");
    });
}
