import { Project, projectDag } from "@mlv/core/internal";
import type { Command } from "commander";
import { type Context, withGlobals } from "../context.js";
import { toAscii, toDot, toMermaid } from "../dag-text.js";

interface Opts {
  dot?: boolean;
  mermaid?: boolean;
  md?: boolean;
  full?: boolean;
  outs?: boolean;
  quiet?: boolean;
  verbose?: boolean;
}

export function register(program: Command, ctx: Context): void {
  withGlobals(program.command("dag"))
    .description("Draw the pipeline: stages and .dvc files, each below what it depends on")
    .argument("[target]", "a stage or output: draw only its pipeline (default: every stage of the project)")
    .option("--dot", "print the graph in graphviz dot format")
    .option("--mermaid", "print the graph as a mermaid flowchart")
    .option("--md", "print the mermaid flowchart in a markdown code block")
    .option("--full", "with a target, its whole pipeline rather than only what it depends on")
    .option("-o, --outs", "draw outputs instead of stages")
    .action(async (target: string | undefined, opts: Opts) => {
      const out = ctx.output(opts);
      const repo = await Project.open();
      const view = await projectDag(repo, {
        target,
        full: opts.full,
        outs: opts.outs,
        display: (rel) => out.path(repo.root, rel),
      });
      // DVC prints dot text (which ends in a newline) with one more newline.
      if (opts.dot) out.info(toDot(view));
      else if (opts.mermaid || opts.md) out.info(toMermaid(view, !opts.mermaid && !!opts.md));
      else out.info(toAscii(view));
    });
}
