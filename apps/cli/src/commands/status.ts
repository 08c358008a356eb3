import { cloudStatus, hasRevisions, outsInScope, Repo, toDvcStatusJson, UsageError, workspaceStatus } from "@mlv/core";
import type { Command } from "commander";
import { type Context, withGlobals } from "../cli.js";
import { perRemote } from "../remotes.js";
import { type RevisionOpts, scopeOf, withRevisions } from "./revisions.js";

interface Opts extends RevisionOpts {
  cloud?: boolean;
  remote?: string;
  jobs?: number;
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
}

export function register(program: Command, ctx: Context): void {
  withRevisions(withGlobals(program.command("status")))
    .description("Show tracked data that changed in the workspace, or (-c) differs between cache and remote")
    .argument("[targets...]", ".dvc files or tracked paths (default: all)")
    .option("-c, --cloud", "compare the cache with the remote instead")
    .option("-r, --remote <name>", "the remote to compare with (implies -c)")
    .option("-j, --jobs <n>", "parallel remote requests", (v) => positiveInt(v, "--jobs"))
    .option("--json", "print the result as JSON")
    .action(async (targets: string[], opts: Opts) => {
      const out = ctx.output(opts);
      const repo = await Repo.open();
      const outs = repo.resolveTargets(targets);
      if (opts.cloud || opts.remote) {
        const scoped = await outsInScope(repo, outs, scopeOf(opts), targets);
        const results = await perRemote(repo.config, scoped, opts.remote, async (remote, group, name) => ({
          name,
          states: await cloudStatus(repo, group, remote, opts.jobs),
        }));
        const states = results.flatMap((r) => r.states);
        if (opts.json) out.json(Object.fromEntries(states.map((s) => [out.path(repo.root, s.path), s.state])));
        else if (states.length === 0)
          out.info(`Cache and remote '${results.map((r) => r.name).join("', '")}' are in sync.`);
        else for (const s of states) out.info(`\t${`${s.state}:`.padEnd(20)}${out.path(repo.root, s.path)}`);
        if (states.length > 0 && opts.quiet) ctx.exitCode = 1;
        return;
      }
      if (opts.jobs !== undefined) throw new UsageError("-j/--jobs only applies with -c/--cloud");
      if (hasRevisions(scopeOf(opts))) throw new UsageError("--rev, -a, -T and -A only apply with -c/--cloud");
      const entries = await workspaceStatus(repo, outs);
      repo.hashCache.save();
      if (opts.json) {
        out.json(toDvcStatusJson(entries, (p) => out.path(repo.root, p)));
      } else if (outs.length === 0) {
        out.info("There are no data or pipelines tracked in this project yet.");
      } else if (entries.length === 0) {
        out.info("Data and pipelines are up to date.");
      } else {
        let last = "";
        for (const e of entries) {
          if (e.pointer !== last) {
            out.info(`${out.path(repo.root, e.pointer)}:`);
            out.info("\tchanged outs:");
            last = e.pointer;
          }
          out.info(`\t\t${`${e.state}:`.padEnd(20)}${out.path(repo.root, e.path)}`);
        }
      }
      if (entries.length > 0 && opts.quiet) ctx.exitCode = 1;
    });
}

export function positiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} takes a whole number of at least 1, got '${value}'`);
  return n;
}
