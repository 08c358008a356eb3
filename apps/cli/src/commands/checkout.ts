import { type CheckoutResult, MlvError, Repo } from "@mlv/core";
import type { Command } from "commander";
import { type Context, withGlobals } from "../cli.js";
import type { Output } from "../output.js";

export function register(program: Command, ctx: Context): void {
  withGlobals(program.command("checkout"))
    .description("Restore tracked files and folders in the workspace from the cache")
    .argument("[targets...]", ".dvc files or tracked paths (default: all)")
    .option("-f, --force", "overwrite or delete workspace files whose content is not in the cache")
    .option("--relink", "recreate every file with the configured cache.type")
    .action(
      async (targets: string[], opts: { force?: boolean; relink?: boolean; quiet?: boolean; verbose?: boolean }) => {
        const out = ctx.output(opts);
        const repo = await Repo.open();
        const result = await repo.checkout({
          targets,
          cwd: process.cwd(),
          force: opts.force,
          relink: opts.relink,
          onProgress: out.progress,
        });
        printCheckout(out, repo, result);
        if (opts.relink) out.info("Relinked successfully");
        failIfMissing(result, out, repo);
      },
    );
}

export function printCheckout(out: Output, repo: Repo, result: CheckoutResult): void {
  out.stopProgress();
  const isDir = new Set(result.dirs);
  const show = (p: string) => out.path(repo.root, p) + (isDir.has(p) ? "/" : "");
  for (const p of result.added) out.info(`A\t${show(p)}`);
  for (const p of result.modified) out.info(`M\t${show(p)}`);
}

export function failIfMissing(result: CheckoutResult, out: Output, repo: Repo): void {
  if (result.failed.length === 0) return;
  throw new MlvError(
    "ECHECKOUT",
    `Checkout failed for following targets:\n${result.failed.map((p) => out.path(repo.root, p)).join("\n")}\nIs your cache up to date? Run 'mlv pull' (or 'mlv fetch') to download the data from the remote.`,
    { data: { failed: result.failed } },
  );
}
