import { MlvError, PartialFailureError, type RepoTransferOptions, type TransferResult } from "@mlv/core";
import {
  fetchInto,
  fetchRunCacheInto,
  Project,
  pullInto,
  pushFrom,
  pushRunCacheTo,
  type RunCacheResult,
} from "@mlv/core/internal";
import type { Command } from "commander";
import { failIfMissing, printCheckout } from "../checkout-result.js";
import { type Context, withGlobals } from "../context.js";
import { type Output, plural } from "../output.js";
import { ADAPTERS } from "../remotes.js";
import { positiveInt, type RevisionOpts, scopeOf, withRevisions } from "./options.js";

interface Opts extends RevisionOpts {
  remote?: string;
  jobs?: number;
  force?: boolean;
  runCache?: boolean;
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
}

function define(program: Command, name: string, description: string): Command {
  // DVC's wording: the run cache is the "run history" of the stages.
  const verb = name === "push" ? "push" : "fetch";
  return withRevisions(withGlobals(program.command(name)))
    .description(description)
    .argument("[targets...]", ".dvc files or tracked paths (default: all)")
    .option("-r, --remote <name>", "the remote to use (default: core.remote)")
    .option("-j, --jobs <n>", "parallel transfers", (v) => positiveInt(v, "--jobs"))
    .option("--run-cache", `${verb} run history for all stages`)
    .option("--no-run-cache", `do not ${verb} run history (the default)`)
    .option("--json", "print the result as JSON");
}

/** The options of the core operation, from the command line. */
function transferOptions(targets: string[], opts: Opts, out: Output, signal: AbortSignal): RepoTransferOptions {
  return {
    signal,
    targets,
    cwd: process.cwd(),
    ...scopeOf(opts),
    remote: opts.remote,
    jobs: opts.jobs,
    adapters: ADAPTERS,
    onProgress: out.progress,
  };
}

/**
 * With `--run-cache`: the run cache moves first, to or from `-r` or the default remote, whatever
 * the targets (as in DVC). Entries refused are warned about; a remote that cannot list (HTTP)
 * moves nothing, silently, as in DVC.
 */
async function moveRunCache(
  verb: "push" | "fetch",
  repo: Project,
  opts: Opts,
  out: Output,
): Promise<RunCacheResult | undefined> {
  if (!opts.runCache) return undefined;
  const options = { remote: opts.remote, jobs: opts.jobs, adapters: ADAPTERS, onProgress: out.progress };
  const result = await (verb === "push" ? pushRunCacheTo(repo, options) : fetchRunCacheInto(repo, options));
  for (const { reason } of result.refused) out.warn(reason);
  return result;
}

/**
 * A data transfer's result with the run cache's: DVC counts the entries a push sends among the
 * files pushed, but not those a fetch brings; failures count either way.
 */
function withRunCache(result: TransferResult, runCache: RunCacheResult | undefined, counted: boolean): TransferResult {
  if (!runCache) return result;
  return {
    ...result,
    transferred: result.transferred + (counted ? runCache.transferred : 0),
    skipped: result.skipped + (counted ? runCache.skipped : 0),
    failed: [...runCache.failed, ...result.failed],
  };
}

/** The run cache's part of `--json` output. */
function runCacheJson(runCache: RunCacheResult | undefined, verb: string): Record<string, unknown> {
  if (!runCache) return {};
  return {
    runCache: {
      [verb]: runCache.transferred,
      skipped: runCache.skipped,
      refused: runCache.refused,
      ...(runCache.unsupported && { unsupported: true }),
    },
  };
}

export function register(program: Command, ctx: Context): void {
  define(program, "push", "Upload tracked data from the cache to the remote").action(
    async (targets: string[], opts: Opts) => {
      const out = ctx.output(opts);
      const repo = await Project.open();
      const runCache = await moveRunCache("push", repo, opts, out);
      const result = await pushFrom(repo, transferOptions(targets, opts, out, ctx.signal));
      summarise(out, repo, withRunCache(result, runCache, true), "pushed", opts.json, runCacheJson(runCache, "pushed"));
    },
  );

  define(program, "fetch", "Download tracked data from the remote into the cache").action(
    async (targets: string[], opts: Opts) => {
      const out = ctx.output(opts);
      const repo = await Project.open();
      const runCache = await moveRunCache("fetch", repo, opts, out);
      const result = await fetchInto(repo, transferOptions(targets, opts, out, ctx.signal));
      summarise(
        out,
        repo,
        withRunCache(result, runCache, false),
        "fetched",
        opts.json,
        runCacheJson(runCache, "fetched"),
      );
    },
  );

  define(program, "pull", "Download tracked data from the remote and check it out in the workspace")
    .option("-f, --force", "overwrite or delete workspace files whose content is not in the cache")
    .action(async (targets: string[], opts: Opts) => {
      const out = ctx.output(opts);
      const repo = await Project.open();
      const runCache = await moveRunCache("fetch", repo, opts, out);
      const pulled = await pullInto(repo, {
        ...transferOptions(targets, opts, out, ctx.signal),
        force: opts.force,
      });
      const fetched = withRunCache(pulled.fetched, runCache, false);
      const result = pulled.checkout;
      warnUnversioned(out, repo, fetched);
      if (opts.json) {
        out.json({
          fetched: fetched.transferred,
          ...runCacheJson(runCache, "fetched"),
          added: result.added.map((p) => out.path(repo.root, p)),
          modified: result.modified.map((p) => out.path(repo.root, p)),
          failed: [
            ...fetched.failed,
            ...fetched.missing.map((p) => ({ path: p, message: "missing on the remote" })),
          ].map((f) => ({
            ...f,
            path: out.path(repo.root, f.path),
          })),
        });
      } else {
        printCheckout(out, repo, result);
        const parts = [`${plural(fetched.transferred, "file")} fetched`];
        if (result.added.length) parts.push(`${plural(result.added.length, "output")} added`);
        if (result.modified.length) parts.push(`${plural(result.modified.length, "output")} modified`);
        out.info(parts.join(", "));
      }
      raiseFailures(out, repo, fetched, "fetched");
      failIfMissing(result, out, repo);
    });
}

/** DVC's warning for outputs recorded without a hash: nothing of theirs can move. */
function warnUnversioned(out: Output, repo: Project, result: TransferResult): void {
  for (const { path, owner } of result.unversioned ?? []) {
    const stage = owner.includes(":") ? owner.slice(owner.lastIndexOf(":") + 1) : out.path(repo.root, owner);
    const fix = owner.includes(":")
      ? "run the stage to record it in dvc.lock"
      : `run 'mlv add ${out.path(repo.root, path)}'`;
    out.warn(
      `Output '${out.path(repo.root, path)}'(stage: '${stage}') is missing version info. Its data cannot be moved: ${fix}.`,
    );
  }
}

function summarise(
  out: Output,
  repo: Project,
  result: TransferResult,
  verb: string,
  json?: boolean,
  extraJson: Record<string, unknown> = {},
): void {
  out.stopProgress();
  warnUnversioned(out, repo, result);
  if (json) {
    out.json({
      [verb]: result.transferred,
      skipped: result.skipped,
      failed: result.failed.map((f) => ({ ...f, path: out.path(repo.root, f.path) })),
      missing: result.missing.map((p) => out.path(repo.root, p)),
      ...extraJson,
    });
  } else if (result.transferred === 0 && result.failed.length === 0 && result.missing.length === 0) {
    out.info("Everything is up to date.");
  } else {
    out.info(`${plural(result.transferred, "file")} ${verb}`);
  }
  raiseFailures(out, repo, result, verb);
}

function raiseFailures(out: Output, repo: Project, result: TransferResult, verb: string): void {
  if (result.missing.length > 0) {
    const where = verb === "pushed" ? "neither in the cache nor on the remote" : "not on the remote";
    const lines = result.missing.map((p) => `\t${out.path(repo.root, p)}`).join("\n");
    if (result.failed.length === 0)
      throw new MlvError(
        "EMISSING",
        `${plural(result.missing.length, "file")} ${where}:\n${lines}\n${verb === "pushed" ? "Run 'mlv add' on them again, or 'mlv fetch' from another remote." : "Push them from a machine that has them ('mlv push'), or check the remote with 'mlv status -c'."}`,
        {
          data: { missing: result.missing },
        },
      );
    out.error(`${plural(result.missing.length, "file")} ${where}:\n${lines}`);
  }
  if (result.failed.length > 0) {
    const lines = result.failed.map((f) => `\t${out.path(repo.root, f.path)}: ${f.message}`).join("\n");
    throw new PartialFailureError(
      `${plural(result.failed.length, "file")} failed to be ${verb}:\n${lines}`,
      result.failed,
    );
  }
}
