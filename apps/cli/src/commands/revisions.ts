import type { RevisionScope } from "@mlv/core";
import type { Command } from "commander";

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
