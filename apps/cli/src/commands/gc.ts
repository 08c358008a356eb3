import { createInterface } from "node:readline/promises";
import { UsageError } from "@mlv/core";
import { collect, hasRevisions, Project, STALE_REMOTE_TEMP_RULE } from "@mlv/core/internal";
import type { Command } from "commander";
import { type Context, withGlobals } from "../context.js";
import { ADAPTERS } from "../remotes.js";
import { positiveInt, type RevisionOpts, scopeOf, withRevisions } from "./options.js";

interface Opts extends RevisionOpts {
  dry?: boolean;
  workspace?: boolean;
  cloud?: boolean;
  remote?: string;
  force?: boolean;
  jobs?: number;
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
}

export function register(program: Command, ctx: Context): void {
  withRevisions(withGlobals(program.command("gc")))
    .description("Delete cached objects that neither the workspace nor the chosen revisions use")
    .option("-w, --workspace", "keep what the current workspace uses (always kept)")
    .option("--dry", "only list what would be removed")
    .option("-c, --cloud", "delete unused objects on the remote too")
    .option("-r, --remote <name>", "the remote to collect (with -c)")
    .option("-f, --force", "do not ask for confirmation")
    .option("-j, --jobs <n>", "parallel remote requests", (v) => positiveInt(v, "--jobs"))
    .option("--json", "print the result as JSON")
    .action(async (opts: Opts) => {
      const out = ctx.output(opts);
      const scope = scopeOf(opts);
      if (!opts.workspace && !hasRevisions(scope))
        throw new UsageError(
          "Either of `-w|--workspace`, `-a|--all-branches`, `-T|--all-tags`, `--all-commits` or `--rev` needs to be set.",
        );
      if (opts.remote && !opts.cloud) throw new UsageError("`-r|--remote` needs `-c|--cloud`");
      const repo = await Project.open();
      if (!opts.force && !opts.dry) {
        const what = opts.cloud ? "cache and remote storage" : "cache";
        const kept = hasRevisions(scope) ? "the workspace and the chosen revisions" : "the workspace";
        const question = `This will remove all ${what} except items used in ${kept} of the current repo.\nAre you sure you want to proceed? [y/n] `;
        if (!process.stdin.isTTY)
          throw new UsageError(
            `gc deletes data and needs confirmation: run it on a terminal, or pass -f to proceed without asking`,
          );
        const rl = createInterface({ input: process.stdin, output: process.stderr });
        const answer = (await rl.question(`WARNING: ${question}`)).trim().toLowerCase();
        rl.close();
        if (answer !== "y" && answer !== "yes") {
          out.info("Nothing removed.");
          return;
        }
      }
      const { remote, ...result } = await collect(repo, {
        ...scope,
        cloud: opts.cloud,
        remote: opts.remote,
        jobs: opts.jobs,
        dry: opts.dry,
        adapters: ADAPTERS,
        signal: ctx.signal,
      });
      const temps = result.remoteTemps?.length ?? 0;
      if (opts.json) out.json(result);
      else if (result.wouldRemove) {
        for (const key of result.wouldRemove.local) out.info(`would remove from cache: ${key}`);
        for (const key of result.wouldRemove.remote) out.info(`would remove from remote '${remote}': ${key}`);
        out.info(
          `${result.removedLocal} cache and ${result.removedRemote} remote objects would be removed (--dry: nothing was).`,
        );
        if (temps)
          out.info(
            `${temps} stale temporary files would be removed from remote '${remote}' (${STALE_REMOTE_TEMP_RULE}).`,
          );
      } else {
        out.info(
          result.removedLocal
            ? `Removed ${result.removedLocal} objects from repo cache.`
            : "No unused cache to remove.",
        );
        if (remote)
          out.info(
            result.removedRemote
              ? `Removed ${result.removedRemote} objects from remote '${remote}'.`
              : `No unused cache to remove from remote '${remote}'.`,
          );
        if (temps)
          out.info(`Removed ${temps} stale temporary files from remote '${remote}' (${STALE_REMOTE_TEMP_RULE}).`);
      }
    });
}
