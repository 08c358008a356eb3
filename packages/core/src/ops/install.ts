/**
 * `mlv install`: git hooks that keep the data in step with git, as `dvc install` installs them.
 * post-checkout runs `mlv checkout` after a branch checkout, pre-push runs `mlv push`, pre-commit
 * shows `mlv status`. A hook already there is never overwritten: it is kept beside ours as
 * `<hook>.pre-mlv` and ours runs it first, with the same arguments and input, stopping with its
 * exit code when it fails. Our part of each hook sits between marker comments, so running `mlv
 * install` again rewrites that part only.
 */
import * as fs from "node:fs";
import { chmod, lstat, readFile, rename, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { MlvError, NotARepoError } from "../errors.js";
import { loadGit } from "../git/load.js";
import type { Project } from "../project/project.js";

export type HookName = "post-checkout" | "pre-commit" | "pre-push";

export const HOOKS: readonly HookName[] = ["post-checkout", "pre-commit", "pre-push"];

export interface InstallOptions {
  /**
   * How the hooks start mlv: an executable and its first arguments, such as
   * `[process.execPath, "/…/@mlv/cli/dist/bin.js"]`. The hooks fall back to `mlv` on the PATH when
   * the first is gone. Default: `mlv` on the PATH only.
   */
  command?: readonly string[];
}

export interface InstalledHook {
  name: HookName;
  /** The hook file. */
  path: string;
  /** "created": there was no hook; "chained": a hook was there and is now kept as `previous`; "updated": ours was there. */
  action: "created" | "chained" | "updated";
  /** The hook that was there before, now run first by ours. */
  previous?: string;
}

export interface InstallResult {
  hooksDir: string;
  hooks: InstalledHook[];
}

const BEGIN = "# >>> mlv install >>>";
const END = "# <<< mlv install <<<";
const SUFFIX = ".pre-mlv";

/** A shell word that stays one word, whatever it holds. */
function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The git folder of a work tree: `.git`, or where a `.git` file points (linked worktrees, submodules). */
async function gitDirOf(gitRoot: string): Promise<string> {
  const dotGit = join(gitRoot, ".git");
  const st = await lstat(dotGit).catch(() => undefined);
  if (!st?.isFile()) return dotGit;
  const text = await readFile(dotGit, "utf8");
  const m = /^gitdir:\s*(.+?)\s*$/m.exec(text);
  if (!m) return dotGit;
  const gitDir = resolve(gitRoot, m[1]!);
  // A linked worktree shares the hooks of the main repository (its `commondir`).
  const common = await readFile(join(gitDir, "commondir"), "utf8").catch(() => undefined);
  return common === undefined ? gitDir : resolve(gitDir, common.trim());
}

/** Where git looks for hooks: `core.hooksPath` (relative to the work tree), else `<git dir>/hooks`. */
export async function hooksDir(gitRoot: string): Promise<string> {
  const git = await loadGit();
  let configured: unknown;
  try {
    configured = await git.getConfig({ fs, dir: gitRoot, gitdir: await gitDirOf(gitRoot), path: "core.hooksPath" });
  } catch {
    configured = undefined;
  }
  if (typeof configured === "string" && configured.trim() !== "") {
    const p = configured.trim();
    if (p === "~" || p.startsWith("~/")) return join(homedir(), p.slice(1));
    return isAbsolute(p) ? p : resolve(gitRoot, p);
  }
  return join(await gitDirOf(gitRoot), "hooks");
}

/** Our section of a hook: run the hook that was there first, then mlv. */
function section(name: HookName, command: readonly string[], projectDir: string): string {
  const lines = [
    BEGIN,
    `# Written by 'mlv install' (run it again to update this part; leave the marker lines).`,
    `# A hook that was here before is kept as ${name}${SUFFIX} and runs first.`,
    `mlv_previous="$(dirname "$0")/${name}${SUFFIX}"`,
    `if [ -x "$mlv_previous" ]; then "$mlv_previous" "$@" || exit $?; fi`,
  ];
  const [exe, ...args] = command;
  if (exe === undefined) lines.push(`mlv_run() { mlv "$@"; }`);
  else {
    const test = [`[ -x ${shellQuote(exe)} ]`, ...args.map((a) => `[ -f ${shellQuote(a)} ]`)].join(" && ");
    lines.push(
      `mlv_run() {`,
      `  if ${test}; then ${[exe, ...args].map(shellQuote).join(" ")} "$@"; else mlv "$@"; fi`,
      `}`,
    );
  }
  const inProject = (cmd: string) => (projectDir === "" ? cmd : `(cd ${shellQuote(projectDir)} && ${cmd})`);
  switch (name) {
    case "post-checkout":
      // Only branch checkouts (the third argument is 1), and not in the middle of a rebase.
      lines.push(
        `mlv_git_dir="$(git rev-parse --git-dir 2>/dev/null)"`,
        `if [ "$3" = 1 ] && [ ! -d "$mlv_git_dir/rebase-merge" ] && [ ! -d "$mlv_git_dir/rebase-apply" ]; then`,
        `  ${inProject("mlv_run checkout")} || exit $?`,
        `fi`,
      );
      break;
    case "pre-push":
      // The remote git pushes to ($1) names a git remote, not an mlv one: push to the default.
      lines.push(`${inProject("mlv_run push")} </dev/null || exit $?`);
      break;
    case "pre-commit":
      // Shows what changed; never blocks the commit.
      lines.push(`${inProject("mlv_run status")} </dev/null || :`);
      break;
  }
  lines.push(END);
  return `${lines.join("\n")}\n`;
}

/** Replace our section in a hook of ours; undefined when the text has no (complete) section. */
function replaceSection(text: string, ours: string): string | undefined {
  const begin = text.indexOf(BEGIN);
  const end = text.indexOf(END, begin);
  if (begin < 0 || end < 0) return undefined;
  let after = end + END.length;
  if (text[after] === "\n") after++;
  return text.slice(0, begin) + ours + text.slice(after);
}

/**
 * Install (or update) mlv's git hooks in the repository's hooks folder. Hooks already there are
 * kept and chained, never overwritten; hooks are made executable.
 */
export async function install(project: Project, options: InstallOptions = {}): Promise<InstallResult> {
  const scm = await project.scm();
  if (!scm) throw new NotARepoError(project.root, "git");
  const dir = await hooksDir(scm.root);
  await fs.promises.mkdir(dir, { recursive: true });
  const projectDir = relative(scm.root, project.root).split(sep).join("/");
  const hooks: InstalledHook[] = [];
  for (const name of HOOKS) {
    const path = join(dir, name);
    const previous = `${path}${SUFFIX}`;
    const ours = section(name, options.command ?? [], projectDir);
    const existing = await lstat(path).catch(() => undefined);
    let action: InstalledHook["action"] = "created";
    if (existing) {
      const text = existing.isFile() ? await readFile(path, "utf8") : undefined;
      const replaced = text === undefined ? undefined : replaceSection(text, ours);
      if (replaced !== undefined) {
        if (replaced !== text) await writeFile(path, replaced);
        await makeExecutable(path);
        hooks.push({ name, path, action: "updated", ...(fs.existsSync(previous) ? { previous } : {}) });
        continue;
      }
      if (fs.existsSync(previous))
        throw new MlvError(
          "EHOOK",
          `cannot install the ${name} hook: '${path}' is not mlv's, and '${previous}' (a hook mlv kept earlier) is in the way; merge the two into '${path}' (or delete one)`,
          { data: { hook: path, previous }, hint: "Then run 'mlv install' again." },
        );
      await rename(path, previous);
      action = "chained";
    }
    await writeFile(path, `#!/bin/sh\n${ours}`);
    await makeExecutable(path);
    hooks.push({ name, path, action, ...(action === "chained" ? { previous } : {}) });
  }
  return { hooksDir: dir, hooks };
}

async function makeExecutable(path: string): Promise<void> {
  const mode = (await fs.promises.stat(path)).mode & 0o777;
  await chmod(path, mode | ((mode & 0o444) >> 2) | 0o100);
}
