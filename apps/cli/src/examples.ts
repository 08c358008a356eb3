/**
 * The "Examples:" section of `mlv <command> --help`, for the commands people start with. Kept here,
 * apart from the command files, so that one place shows the CLI's typical use.
 */
import type { Command } from "commander";

/** Command path (as typed after `mlv`) → example lines: the command, then what it does. */
const EXAMPLES: Record<string, [string, string][]> = {
  init: [
    ["mlv init", "start tracking data in the current git repository"],
    ["mlv init --no-scm", "use mlv in a folder without git"],
    ["mlv init --subdir", "a project in a subfolder of a git repository"],
  ],
  add: [
    ["mlv add model.h5", "track a file: cache it, write model.h5.dvc, keep it out of git"],
    ["mlv add data/images", "track a whole folder as one output"],
    ["git add model.h5.dvc .gitignore", "then record the pointer in git"],
  ],
  push: [
    ["mlv push", "upload every tracked file the default remote lacks"],
    ["mlv push -r backup model.h5.dvc", "one output, to the remote 'backup'"],
    ["mlv push --all-tags", "also the data of every tagged version"],
  ],
  pull: [
    ["mlv pull", "download what the workspace tracks and check it out"],
    ["mlv pull data/images.dvc", "only one output"],
    ["mlv pull -r backup -j 8", "from the remote 'backup', 8 downloads at a time"],
  ],
  fetch: [
    ["mlv fetch", "download into the cache only; the workspace is left as it is"],
    ["mlv fetch --rev v1.0", "also the data of the tag v1.0"],
  ],
  checkout: [
    ["mlv checkout", "make the workspace match the .dvc files (after 'git checkout')"],
    ["mlv checkout model.h5.dvc", "restore one output"],
    ["mlv checkout --force", "also overwrite local changes that are not in the cache"],
  ],
  status: [
    ["mlv status", "what changed in the workspace since the last 'mlv add' or 'mlv repro'"],
    ["mlv status -c", "what the default remote lacks, or has that the cache lacks"],
    ["mlv status --json", "the same, for a script"],
  ],
  "remote add": [
    ["mlv remote add -d storage /mnt/shared/mlv", "a folder as the default remote"],
    ["mlv remote add -d storage s3://bucket/path", "an S3 bucket (needs @mlv/remote-s3)"],
    ["git add .dvc/config", "then commit the config so that clones can pull"],
  ],
  gc: [
    ["mlv gc -w", "delete cached objects the workspace does not use (asks first)"],
    ["mlv gc -w -a -T --dry", "list what would go, keeping every branch and tag"],
    ["mlv gc -w -c -f", "the remote too, without asking (and its stale temporary files)"],
  ],
  list: [
    ["mlv list .", "the files of this repository, tracked ones included"],
    ["mlv list https://github.com/org/repo data --dvc-only", "only what mlv/DVC tracks, in another repository"],
    ["mlv list . -R --size", "every file at any depth, with sizes"],
  ],
  get: [
    ["mlv get https://github.com/org/repo models/model.h5", "download a tracked file of another repository"],
    ["mlv get ../other data -o input --rev v2", "a folder at the tag v2, saved as ./input"],
  ],
  import: [
    ["mlv import https://github.com/org/repo data/raw", "download and track, recording where it came from"],
    ["mlv update raw.dvc", "later: bring it up to date with its source"],
  ],
  "import-url": [
    ["mlv import-url https://example.com/data.csv", "download a file and track it, recording the URL"],
    ["mlv import-url s3://bucket/images images", "a folder from S3, saved as ./images"],
    ["mlv import-url --no-download s3://bucket/big.bin", "record the source's version only"],
  ],
  diff: [
    ["mlv diff", "tracked data changed between HEAD and the workspace"],
    ["mlv diff v1.0 v2.0", "between two tags"],
    ["mlv diff HEAD~1 --targets data", "only below 'data'"],
  ],
  versions: [
    ["mlv versions model.h5", "every commit and tag holding a version of model.h5"],
    ["mlv versions model.h5 --metrics metrics.json", "with the metrics at each version"],
  ],
  metrics: [
    ["mlv metrics show", "the metrics files of the workspace"],
    ["mlv metrics show -T", "and of every tag"],
    ["mlv metrics diff HEAD~1", "what changed since the previous commit"],
  ],
  repro: [
    ["mlv repro", "run the stages of dvc.yaml whose inputs changed"],
    ["mlv repro train", "the stage 'train' and the stages it depends on"],
    ["mlv repro --dry", "print what would run"],
  ],
};

/** Add each command's examples after its options in `--help`. */
export function addExamples(program: Command): void {
  for (const [path, examples] of Object.entries(EXAMPLES)) {
    const cmd = find(program, path.split(" "));
    if (!cmd) continue;
    const width = Math.max(...examples.map(([line]) => line.length));
    const lines = examples.map(([line, what]) => `  $ ${line.padEnd(width)}  # ${what}`);
    cmd.addHelpText("after", `\nExamples:\n${lines.join("\n")}`);
  }
}

function find(cmd: Command, names: string[]): Command | undefined {
  let at: Command | undefined = cmd;
  for (const name of names) at = at?.commands.find((c) => c.name() === name);
  return at;
}
