import { realpathSync } from "node:fs";
import { install, Project } from "@mlv/core/internal";
import type { Command } from "commander";
import { type Context, withGlobals } from "../context.js";

export function register(program: Command, ctx: Context): void {
  withGlobals(program.command("install"))
    .description(
      "Install git hooks: post-checkout runs 'mlv checkout', pre-push runs 'mlv push', pre-commit shows 'mlv status' (hooks already there are kept and run first)",
    )
    .action(async (opts: { quiet?: boolean; verbose?: boolean }) => {
      const out = ctx.output(opts);
      const repo = await Project.open();
      const result = await install(repo, { command: runningMlv() });
      for (const h of result.hooks) {
        const kept = h.previous ? ` (the hook that was there runs first, kept as '${h.previous}')` : "";
        out.info(`${h.action === "updated" ? "Updated" : "Installed"} git hook '${h.path}'${kept}`);
      }
    });
}

/** This very mlv, so that the hooks work without a global install: node and the CLI's bin.cjs. */
function runningMlv(): string[] | undefined {
  const script = process.argv[1];
  if (!script) return undefined;
  try {
    return [process.execPath, realpathSync(script)];
  } catch {
    return undefined;
  }
}
