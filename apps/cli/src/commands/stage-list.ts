import { listStages, ownerAddress, Project } from "@mlv/core/internal";
import { type Command, Option } from "commander";
import { type Context, withGlobals } from "../context.js";
import { stageCommand } from "./options.js";

interface Opts {
  all?: boolean;
  recursive?: boolean;
  nameOnly?: boolean;
  namesOnly?: boolean;
  quiet?: boolean;
  verbose?: boolean;
}

export function register(program: Command, ctx: Context): void {
  withGlobals(stageCommand(program).command("list"))
    .description("List the stages of dvc.yaml (here), with their description or what they output")
    .argument("[targets...]", "dvc.yaml or .dvc files, stages ([path:]name), or with -R folders (default: ./dvc.yaml)")
    .option("--all", "every stage of the project, .dvc files included")
    .option("-R, --recursive", "every stage inside the given folders")
    .option("--name-only", "print the stage names only")
    .addOption(new Option("--names-only").hideHelp())
    .action(async (targets: string[], opts: Opts) => {
      const out = ctx.output(opts);
      const repo = await Project.open();
      const entries = await listStages(repo, { targets, all: opts.all, recursive: opts.recursive });
      const names = entries.map((e) => ownerAddress(e, (rel) => out.path(repo.root, rel)));
      const width = Math.max(...names.map((n) => n.length));
      entries.forEach((entry, i) => {
        const name = names[i] ?? "";
        out.info(opts.nameOnly || opts.namesOnly ? name : `${name.padEnd(width)}  ${entry.description}`);
      });
    });
}
