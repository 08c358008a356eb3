import { UsageError } from "@mlv/core";
import {
  addressedStatus,
  cloudStatus,
  hasRevisions,
  outsInScope,
  ownerAddress,
  Project,
  projectStatus,
  pythonJson,
  type StageStatus,
  type StatusSelection,
  selectTargets,
  toDvcStatusJson,
} from "@mlv/core/internal";
import type { Command } from "commander";
import { type Context, withGlobals } from "../context.js";
import type { Output } from "../output.js";
import { perRemote } from "../remotes.js";
import { positiveInt, type RevisionOpts, scopeOf, withRevisions } from "./options.js";

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
    .argument("[targets...]", ".dvc files, tracked paths, dvc.yaml files or stages (default: all)")
    .option("-c, --cloud", "compare the cache with the remote instead")
    .option("-r, --remote <name>", "the remote to compare with (implies -c)")
    .option("-j, --jobs <n>", "parallel remote requests", (v) => positiveInt(v, "--jobs"))
    .option("--json", "print the result as JSON")
    .action(async (targets: string[], opts: Opts) => {
      const out = ctx.output(opts);
      const repo = await Project.open();
      const selection = await selectTargets(repo, targets);
      const { outs } = selection;
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
      await showWorkspaceStatus(ctx, out, repo, selection);
    });
}

const EMPTY_PROJECT =
  "There are no data or pipelines tracked in this project yet.\nSee <https://dvc.org/doc/start> to get started!";

/** `status` without `-c` (pipelines spec §4.5): owners and paths shown relative to the current folder. */
async function showWorkspaceStatus(
  ctx: Context,
  out: Output,
  repo: Project,
  selection: StatusSelection,
): Promise<void> {
  const owners = await projectStatus(repo, selection);
  repo.hashCache.save();
  const display = (rel: string) => out.path(repo.root, rel);
  for (const owner of owners)
    if (owner.frozen)
      out.warn(
        `stage: '${ownerAddress(owner, display)}' is frozen. Its dependencies are not going to be shown in the status output.`,
      );
  const changed = addressedStatus(owners, display);
  if (out.options.quiet) {
    // DVC: `-q` prints nothing; its exit code tells whether anything changed, except with --json.
    if (changed.length > 0 && !out.options.json) ctx.exitCode = 1;
  } else if (out.options.json) {
    // A terminal gets it indented; a pipe gets one line, as Python's json.dumps writes it.
    if (process.stdout.isTTY) out.json(toDvcStatusJson(owners, display));
    else process.stdout.write(`${jsonLine(changed)}\n`);
  } else if (owners.length === 0) out.info(EMPTY_PROJECT);
  else if (changed.length === 0) out.info("Data and pipelines are up to date.");
  else
    for (const { address, status } of changed) {
      out.info(`${address}:`);
      for (const line of statusLines(status, 1)) out.info(line);
    }
}

/** The `status --json` object on one line, as Python's `json.dumps` writes it, owners in order. */
function jsonLine(changed: { address: string; status: StageStatus }[]): string {
  return `{${changed.map(({ address, status }) => `${pythonJson(address)}: ${pythonJson(status)}`).join(", ")}}`;
}

/**
 * DVC's text layout below an owner's line: a TAB more for each level; a change is its state and
 * a colon padded to 20 columns, then the path or params key; a bare string as it is.
 */
function statusLines(value: object, depth: number): string[] {
  const indent = "\t".repeat(depth);
  if (Array.isArray(value))
    return value.flatMap((item) => (typeof item === "string" ? [indent + item] : statusLines(item, depth)));
  return Object.entries(value).flatMap(([name, inner]) =>
    typeof inner === "string"
      ? [`${indent}${`${inner}:`.padEnd(20)}${name}`]
      : [`${indent}${name}:`, ...statusLines(inner as object, depth + 1)],
  );
}
