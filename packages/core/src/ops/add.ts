import { existsSync, lstatSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join, resolve, sep } from "node:path";
import { removeStaleTemps, writeFileAtomic } from "../atomic-write.js";
import { configBool } from "../config.js";
import { collectOuts } from "../data-index/index.js";
import { loadPointer } from "../data-index/pointer-outs.js";
import { MlvError, TargetNotFoundError, UsageError } from "../errors.js";
import { addGitignoreEntry, escapeGitignoreEntry } from "../formats/gitignore.js";
import { type OutWrite, parsePointer, serializePointer, updatePointer } from "../formats/pointer.js";
import type { ProgressListener } from "../progress.js";
import { Project } from "../project/project.js";
import { hashWorkspacePath, type WorkspaceState } from "../workspace/hasher.js";
import { materialise } from "./checkout.js";

export interface AddResult {
  /** The data's path from the repository root. */
  path: string;
  /** The pointer file's path from the repository root. */
  pointer: string;
  /** False when the data was already recorded exactly so. */
  changed: boolean;
}

export interface AddOptions {
  cwd?: string;
  onProgress?: ProgressListener;
  /** Stops between targets and before each pointer is written; the call rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Files `git add` would need after an add: the pointers and the `.gitignore`s written. */
export interface AddOutcome {
  results: AddResult[];
  gitFiles: string[];
  autostaged: boolean;
  /** Whether the repository is in git at all. */
  git: boolean;
}

/**
 * `mlv add TARGET...`: put files or folders into the cache, write their pointer files and keep the
 * data out of git. Re-adding records the new version; adding inside a tracked folder is refused.
 */
export async function add(project: Project, targets: readonly string[], options: AddOptions = {}): Promise<AddOutcome> {
  if (targets.length === 0)
    throw new UsageError("add needs at least one target: a file or folder", {}, "Usage: mlv add FILE|DIR...");
  const cwd = options.cwd ?? process.cwd();
  // A killed add leaves its half-copied file here (it can be as big as the data): cleared first.
  removeStaleTemps(project.cache.objectsDir);
  const existing = await collectOuts(project);
  const results: AddResult[] = [];
  const gitFiles = new Set<string>();
  const scm = await project.scm();

  // Check every target before changing anything.
  const plans = [];
  for (const target of targets) {
    const abs = resolve(cwd, target.replace(/[\\/]+$/, "") || target);
    project.assertInside(abs, target);
    if (!existsSync(abs)) throw new TargetNotFoundError(target, "does not exist");
    if (project.ignore.isIgnored(project.relOf(abs), statSync(abs).isDirectory()))
      throw new MlvError(
        "EIGNORED",
        `'${target}' is ignored by a .dvcignore pattern: remove the pattern that matches it to track it`,
        { data: { target } },
      );
    if (abs.endsWith(".dvc") && statSync(abs).isFile())
      throw new UsageError(`'${target}' is a pointer file: add the data it tracks instead`, { target });
    if (abs === project.root)
      throw new UsageError("cannot add the whole repository: add its files or folders", { target });
    const ownerPath = Project.pointerPathFor(abs);
    for (const o of existing) {
      if (o.abs === abs && o.ownerPath === ownerPath) continue;
      if (o.stage && (o.abs === abs || abs.startsWith(o.abs + sep) || o.abs.startsWith(abs + sep)))
        throw new MlvError(
          "EOVERLAP",
          `cannot add '${target}': '${o.rel}' is an output of stage '${o.stage.stage.name}' in ${o.stage.stage.file}. Running the stage records its new version in dvc.lock`,
          { data: { target, trackedBy: o.owner } },
        );
      if (o.abs === abs)
        throw new MlvError("EOVERLAP", `cannot add '${target}': it is already tracked by ${o.owner}`, {
          data: { target, trackedBy: o.owner },
          hint: `Run 'mlv add' on that output's path from there, or stop tracking it with 'mlv remove ${o.owner}'.`,
        });
      if (abs.startsWith(o.abs + sep))
        throw new MlvError(
          "EOVERLAP",
          `cannot add '${target}': it is inside '${o.rel}', which ${o.owner} already tracks as a whole`,
          {
            data: { target, trackedBy: o.owner },
            hint: `Change the file and run 'mlv add ${o.rel}' to record the whole folder's new version.`,
          },
        );
      if (o.abs.startsWith(abs + sep))
        throw new MlvError(
          "EOVERLAP",
          `cannot add '${target}': '${o.rel}' inside it is already tracked by ${o.owner}`,
          { data: { target, trackedBy: o.owner }, hint: `Stop tracking it first with 'mlv remove ${o.owner}'.` },
        );
    }
    if (scm) {
      if (await scm.isTracked(abs))
        throw new MlvError(
          "ESCMTRACKED",
          `output '${project.relOf(abs)}' is already tracked by SCM (e.g. Git). Remove it from git first: git rm -r --cached '${project.relOf(abs)}' && git commit -m "stop tracking ${project.relOf(abs)}"`,
          { data: { target } },
        );
      if (await scm.isIgnored(ownerPath))
        throw new MlvError("EIGNORED", `bad DVC file name '${project.relOf(ownerPath)}' is git-ignored.`, {
          data: { target },
        });
    }
    const previous = existsSync(ownerPath) ? loadPointer(project, ownerPath).find((o) => o.abs === abs) : undefined;
    plans.push({ target, abs, ownerPath, previous });
  }

  // A killed add leaves its pointer or .gitignore temporary beside the data: cleared once per folder.
  for (const folder of new Set(plans.map((p) => dirname(p.abs)))) removeStaleTemps(folder);
  for (const plan of plans) {
    options.signal?.throwIfAborted();
    const { abs, ownerPath, previous } = plan;
    // A legacy (2.x) output whose data did not change stays legacy, as DVC does (spec §1.5).
    if (previous && previous.hashName === "md5-dos2unix") {
      const legacy = await hashWorkspacePath(project, abs, "md5-dos2unix");
      if (legacy.kind !== "missing" && legacy.md5 === previous.out.md5) {
        results.push({ path: project.relOf(abs), pointer: project.relOf(ownerPath), changed: false });
        continue;
      }
    }
    const state = await hashWorkspacePath(project, abs, "md5", {
      store: true,
      expectedFiles: previous?.out.nfiles,
      onProgress: options.onProgress && ((p) => options.onProgress?.({ ...p, target: project.relOf(abs) })),
    });
    if (state.kind === "missing")
      throw new TargetNotFoundError(plan.target, "does not exist (it was removed meanwhile)");
    options.signal?.throwIfAborted();
    await relinkWorkspace(project, abs, state);

    const outWrite = toOutWrite(basename(abs), state);
    const changed =
      !previous || previous.out.md5 !== state.md5 || previous.hashName !== "md5" || previous.out.size !== outWrite.size;
    let text: string;
    if (existsSync(ownerPath)) {
      const old = parsePointer(readFileSync(ownerPath, "utf8"), project.relOf(ownerPath));
      text = updatePointer(
        old,
        old.outs.map((o) => (resolve(dirname(ownerPath), o.path) === abs ? outWrite : o)),
      );
    } else {
      text = serializePointer({ outs: [outWrite] });
    }
    if (!existsSync(ownerPath) || readFileSync(ownerPath, "utf8") !== text) await writeFileAtomic(ownerPath, text);
    gitFiles.add(ownerPath);

    if (scm && !(await scm.isIgnored(abs))) {
      const gitignore = join(dirname(abs), ".gitignore");
      await addGitignoreEntry(gitignore, `/${escapeGitignoreEntry(basename(abs))}`);
      gitFiles.add(gitignore);
    } else if (scm && existsSync(join(dirname(abs), ".gitignore"))) {
      gitFiles.add(join(dirname(abs), ".gitignore"));
    }
    results.push({ path: project.relOf(abs), pointer: project.relOf(ownerPath), changed });
  }

  let autostaged = false;
  const files = [...gitFiles];
  if (scm && files.length > 0 && configBool(project.config.get("core.autostage"))) {
    await scm.add(files);
    autostaged = true;
  }
  return { results, gitFiles: files.map((f) => project.relOf(f)), autostaged, git: scm !== null };
}

export function toOutWrite(path: string, state: Exclude<WorkspaceState, { kind: "missing" }>): OutWrite {
  if (state.kind === "dir") return { path, md5: state.md5, size: state.size, nfiles: state.nfiles, hashName: "md5" };
  return { path, md5: state.md5, size: state.size, isexec: state.isexec || undefined, hashName: "md5" };
}

/**
 * After an add, make the workspace use the configured link type (spec §8.1). With copy or reflink
 * the workspace file already holds the same bytes and is left alone; hardlink and symlink replace
 * each file by a link to its cache object.
 */
export async function relinkWorkspace(
  project: Project,
  abs: string,
  state: Exclude<WorkspaceState, { kind: "missing" }>,
) {
  const types = project.linkTypes().filter((t) => t !== "reflink");
  const first = types[0];
  // A symlinked file is tracked by its content: the link gives way to the data itself (spec §8.1).
  const symlinked = state.kind === "file" && lstatSync(abs).isSymbolicLink();
  if (first !== "hardlink" && first !== "symlink" && !symlinked) return;
  const files =
    state.kind === "file"
      ? [{ oid: state.md5, dest: abs, rel: project.relOf(abs), isexec: state.isexec }]
      : state.entries.map((e) => ({
          oid: e.md5,
          dest: join(abs, e.relpath),
          rel: `${project.relOf(abs)}/${e.relpath}`,
          isexec: e.isexec,
        }));
  await materialise(project, "md5", files, types);
}
