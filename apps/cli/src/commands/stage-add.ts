import { join } from "node:path";
import { Project, stageAdd } from "@mlv/core/internal";
import type { Command } from "commander";
import { type Context, withGlobals } from "../context.js";
import { gitHint } from "../output.js";
import { collect, stageCommand } from "./options.js";

interface Opts {
  name: string;
  deps?: string[];
  outs?: string[];
  outsNoCache?: string[];
  outsPersist?: string[];
  outsPersistNoCache?: string[];
  metrics?: string[];
  metricsNoCache?: string[];
  plots?: string[];
  plotsNoCache?: string[];
  params?: string[];
  wdir?: string;
  alwaysChanged?: boolean;
  desc?: string;
  force?: boolean;
  quiet?: boolean;
  verbose?: boolean;
}

export function register(program: Command, ctx: Context): void {
  withGlobals(stageCommand(program).command("add"))
    .description("Add a stage to dvc.yaml (here): its command, dependencies and outputs; nothing is run")
    .usage("-n NAME [options] COMMAND...")
    .requiredOption("-n, --name <name>", "the stage's name")
    .option("-d, --deps <path>", "a dependency (file or folder); may repeat", collect)
    .option("-o, --outs <path>", "an output, cached; may repeat", collect)
    .option("-O, --outs-no-cache <path>", "an output recorded in dvc.lock but not cached; may repeat", collect)
    .option("--outs-persist <path>", "an output kept when the stage runs again; may repeat", collect)
    .option("--outs-persist-no-cache <path>", "a persistent output, not cached; may repeat", collect)
    .option("-m, --metrics <path>", "a metrics file, cached; may repeat", collect)
    .option("-M, --metrics-no-cache <path>", "a metrics file, not cached; may repeat", collect)
    .option("--plots <path>", "a plots file or folder, cached; may repeat", collect)
    .option("--plots-no-cache <path>", "a plots file or folder, not cached; may repeat", collect)
    .option(
      "-p, --params <[file:]keys>",
      "params the stage reads: keys of params.yaml (lr,batch), or of another file (train.yaml:lr); 'file:' for all of it; may repeat",
      collect,
    )
    .option("-w, --wdir <dir>", "the folder the command runs in; the paths above are relative to it")
    .option("--always-changed", "run the stage every time, whether its dependencies changed or not")
    .option("--desc <text>", "a description, shown by 'mlv stage list'")
    .option("-f, --force", "replace a stage of the same name")
    .argument("[command...]", "the command: everything after the options, as typed")
    .passThroughOptions()
    .action(async (command: string[], opts: Opts) => {
      const out = ctx.output(opts);
      const repo = await Project.open();
      const result = await repo.locked("mlv stage add", () => stageAdd(repo, { ...opts, command, cwd: process.cwd() }));
      for (const gitignore of result.postponedGitignores)
        out.warn(
          `Could not create .gitignore entry in ${join(repo.root, gitignore)}. DVC will attempt to create .gitignore entry again when the stage is run.`,
        );
      out.info(`Added stage '${result.name}' in '${out.path(repo.root, result.file)}'`);
      gitHint(out, repo, result);
    });
}
