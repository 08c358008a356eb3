/**
 * `commit`: record what the workspace holds now for stages and `.dvc` files, without running
 * anything: outputs go into the cache, `dvc.lock` entries and `.dvc` files are rewritten. What
 * `repro --no-commit` left out of the cache gets in; outputs edited by hand get recorded. A stage
 * whose dependencies, outputs or command changed needs `force`, as in DVC.
 */
import { join, relative } from "node:path";
import { configBool } from "../config.js";
import { selectTargets } from "../data-index/index.js";
import type { TrackedOut } from "../data-index/types.js";
import { isImport } from "../data-index/types.js";
import { MlvError } from "../errors.js";
import type { LockedStage } from "../formats/pipeline.js";
import { add } from "../ops/add.js";
import { ownerAddress } from "../ops/status.js";
import { toPosix } from "../paths.js";
import type { Project } from "../project/project.js";
import { runCacheEligible, runCacheSaves, saveRun } from "./run-cache.js";
import { saveOutputs, stageInputs, writeStageLock } from "./stage-save.js";
import { outputState, type StageStatus, StatusMemo, stageStatus } from "./status.js";

export interface CommitOptions {
  /** Stages, `dvc.yaml` or `.dvc` files, or outputs, relative to `cwd`; default everything. */
  targets?: readonly string[];
  cwd?: string;
  /** Record stages whose dependencies, outputs or command changed. */
  force?: boolean;
  /** Told each lock file written: created, or an entry changed. */
  onLock?: (file: string, created: boolean) => void;
}

export interface CommitResult {
  /** Stages and `.dvc` files recorded, as addressed from `cwd`. */
  committed: string[];
  gitFiles: string[];
  autostaged: boolean;
  git: boolean;
}

/** What counts as changed for commit: anything but outputs missing from the cache (what commit is for). */
function changedForCommit(status: StageStatus): boolean {
  return status.some((part) => {
    if (part === "always changed") return false;
    if (part === "changed command") return true;
    if ("changed deps" in part) return true;
    return Object.values(part["changed outs"]).some((s) => s !== "not in cache");
  });
}

function refuse(address: string): MlvError {
  return new MlvError(
    "ESTAGECHANGED",
    `failed to commit - unable to commit changed stage: '${address}'. Use \`-f|--force\` to force.`,
    { data: { stage: address } },
  );
}

/** Record the targets' current state (see the module comment). */
export async function commit(project: Project, options: CommitOptions = {}): Promise<CommitResult> {
  const cwd = options.cwd ?? project.root;
  const display = (rel: string) => toPosix(relative(cwd, join(project.root, rel))) || ".";
  return project.locked("mlv commit", async () => {
    const selection = await selectTargets(project, options.targets ?? [], cwd);
    const stages = new Set<LockedStage>(selection.stages);
    const pointers = new Map<string, TrackedOut[]>();
    for (const out of selection.outs) {
      if (out.stage) stages.add(out.stage);
      else if (!isImport(out)) pointers.set(out.ownerPath, [...(pointers.get(out.ownerPath) ?? []), out]);
    }
    const gitFiles = new Set<string>();
    const committed: string[] = [];

    // Check everything first: nothing is written when one target refuses.
    const memo = new StatusMemo(project);
    for (const locked of stages) {
      if (options.force) break;
      const status = await stageStatus(project, locked, { memo });
      if (changedForCommit(status))
        throw refuse(ownerAddress({ file: locked.stage.file, stage: locked.stage.name }, display));
    }
    for (const [, outs] of pointers) {
      if (options.force) break;
      const states = await Promise.all(
        outs.map((o) =>
          outputState(
            memo,
            o.abs,
            { md5: o.out.md5, hashName: o.hashName, nfiles: o.out.nfiles },
            o.out.raw?.cache !== false,
          ),
        ),
      );
      if (states.some((s) => s !== undefined && s !== "not in cache"))
        throw refuse(display((outs[0] as TrackedOut).owner));
    }

    for (const locked of stages) {
      const { stage } = locked;
      const inputs = await stageInputs(new StatusMemo(project), locked, display);
      // As in DVC, only a forced commit keeps the stage's run in the run cache.
      const keepRun = !!options.force && runCacheEligible(stage) && runCacheSaves(stage);
      const outs = await saveOutputs(project, locked, { commit: true, storeUncached: keepRun, gitFiles, display });
      const entry = { ...inputs, outs };
      if (keepRun) await saveRun(project, entry);
      const written = await writeStageLock(project, stage, entry);
      if (written.updated) {
        gitFiles.add(written.path);
        options.onLock?.(display(project.relOf(written.path)), written.created);
      }
      committed.push(ownerAddress({ file: stage.file, stage: stage.name }, display));
    }
    for (const [, outs] of pointers) {
      const outcome = await add(
        project,
        outs.map((o) => o.abs),
        { cwd: project.root },
      );
      for (const f of outcome.gitFiles) gitFiles.add(join(project.root, f));
      committed.push(display((outs[0] as TrackedOut).owner));
    }

    const scm = await project.scm();
    let autostaged = false;
    if (scm && gitFiles.size > 0 && configBool(project.config.get("core.autostage"))) {
      await scm.add([...gitFiles]);
      autostaged = true;
    }
    return { committed, gitFiles: [...gitFiles].map((f) => project.relOf(f)), autostaged, git: scm !== null };
  });
}
