// The options several commands share; a command file imports these, never another command.
import { isAbsolute, relative, resolve, sep } from "node:path";
import { type ConfigLevel, type RevisionScope, UsageError } from "@mlv/core";
import { Config, Project } from "@mlv/core/internal";
import type { Command } from "commander";
import { type Context, withGlobals } from "../context.js";
import type { Output } from "../output.js";
import { connect } from "../remotes.js";

/**
 * A path as the user typed it (from where they stand) as the library takes paths: from the
 * repository root, posix. One outside the repository stays absolute, for the library's error to name it.
 */
export function fromRoot(root: string, given: string): string {
  const abs = resolve(given);
  const rel = relative(root, abs);
  if (rel.startsWith("..") || isAbsolute(rel)) return abs;
  return rel.split(sep).join("/");
}

/** Parse a count such as `--jobs`: a whole number of at least 1. */
export function positiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} takes a whole number of at least 1, got '${value}'`);
  return n;
}

/** Collect a repeatable option's values: `-d a -d b` → `["a", "b"]`. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

// ---------------------------------------------------------------- stage

/** The `stage` command, made by whichever `stage` subcommand registers first. */
export function stageCommand(program: Command): Command {
  return (
    program.commands.find((c) => c.name() === "stage") ??
    withGlobals(program.command("stage")).description("Pipeline stages (dvc.yaml)")
  );
}

// ---------------------------------------------------------------- revisions

export interface RevisionOpts {
  rev?: string[];
  allBranches?: boolean;
  allTags?: boolean;
  allCommits?: boolean;
}

/** DVC's revision flags, shared by push, fetch, pull, status -c and gc. */
export function withRevisions(cmd: Command): Command {
  return cmd
    .option(
      "--rev <rev>",
      "also the data of this revision (a branch, tag or commit); may repeat",
      (v: string, acc: string[] = []) => [...acc, v],
    )
    .option("-a, --all-branches", "also the data of the tip of every branch")
    .option("-T, --all-tags", "also the data of every tag")
    .option("-A, --all-commits", "also the data of every commit");
}

export function scopeOf(opts: RevisionOpts): RevisionScope {
  return { revs: opts.rev, allBranches: opts.allBranches, allTags: opts.allTags, allCommits: opts.allCommits };
}

// ---------------------------------------------------------------- config levels

export interface LevelOpts {
  local?: boolean;
  global?: boolean;
  system?: boolean;
  project?: boolean;
}

/** Add the config-level flags DVC has on `config` and `remote` commands. */
export function withLevels(cmd: Command): Command {
  return cmd
    .option("--global", "use the global config (~/.config/dvc/config)")
    .option("--system", "use the system config (/etc/xdg/dvc/config)")
    .option("--project", "use the project config (.dvc/config, the default)")
    .option("--local", "use the local config (.dvc/config.local, not committed: the place for secrets)");
}

export function levelOf(opts: LevelOpts): ConfigLevel | undefined {
  const chosen = (["local", "global", "system", "project"] as const).filter((l) => opts[l]);
  if (chosen.length > 1)
    throw new UsageError(
      `choose one of --local, --global, --system and --project, not ${chosen.map((c) => `--${c}`).join(" and ")}`,
    );
  const level = chosen[0];
  return level === "project" ? "repo" : level;
}

/**
 * The config to act on: the repository's when there is one; outside a repository only the global
 * and system levels can be used.
 */
export async function openConfig(level: ConfigLevel | undefined): Promise<{ config: Config; root: string | null }> {
  try {
    const repo = await Project.open(process.cwd(), { checkConfig: false });
    return { config: repo.config, root: repo.root };
  } catch (err) {
    if (level === "global" || level === "system") return { config: await Config.load(null), root: null };
    throw err;
  }
}

// ---------------------------------------------------------------- downloads from another repository

export interface DownloadOpts {
  out?: string;
  jobs?: number;
  force?: boolean;
}

/** `-o`, `-j` and `-f` as `get` and `artifacts get` take them (DVC's flags). */
export function withDownloadOptions(cmd: Command, outHelp: string): Command {
  return cmd
    .option("-o, --out <path>", outHelp)
    .option("-j, --jobs <n>", "parallel downloads", (v) => positiveInt(v, "--jobs"))
    .option("-f, --force", "replace the output if it exists");
}

/** What core's `get` and `getArtifact` take from those flags and the run: the source's remote, progress, Ctrl-C. */
export function downloadOptions(ctx: Context, out: Output, opts: DownloadOpts) {
  return {
    out: opts.out,
    jobs: opts.jobs,
    force: opts.force,
    connect: (config: Config) => connect(config, undefined),
    onProgress: out.progress,
    signal: ctx.signal,
  };
}
