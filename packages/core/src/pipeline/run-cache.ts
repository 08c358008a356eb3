/**
 * DVC's run cache (pipelines spec §3.8): every successful run of a stage is kept under
 * `<cache>/runs/<key[0:2]>/<key>/<value>`, the key naming its command and inputs, the file holding
 * its lock entry. A stage about to run with inputs seen before gets its outputs back from the
 * cache instead. The keys are DVC's, so mlv and DVC share the entries.
 */
import { mkdir, readdir, readFile, stat } from "node:fs/promises";
import { join, posix } from "node:path";
import { writeFileAtomic } from "../atomic-write.js";
import { type LockStageWrite, runCacheEntryText, runCacheKeys } from "../formats/lock-writer.js";
import type { LockStage, PipelineStage } from "../formats/pipeline.js";
import type { Project } from "../project/project.js";
import { readRunCacheEntry } from "../transfer/run-cache.js";
import { isCallback } from "./status.js";

const HEX64 = /^[0-9a-f]{64}$/;

/** The run cache's folder: `runs` beside `files` in the cache. */
export function runCacheDir(project: Project): string {
  return join(project.cache.root, "runs");
}

function isLocalInside(rel: string): boolean {
  return !(
    posix.isAbsolute(rel) ||
    /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(rel) ||
    /^[A-Za-z]:[\\/]/.test(rel) ||
    rel === ".." ||
    rel.startsWith("../")
  );
}

/**
 * Whether runs of this stage are kept and looked up (DVC's rules): a command, at least one
 * dependency (params count) and one output, not always changed, every dependency and output a
 * path inside the project, no persistent output.
 */
export function runCacheEligible(stage: PipelineStage): boolean {
  if (stage.alwaysChanged || isCallback(stage) || (typeof stage.cmd === "string" ? !stage.cmd : stage.cmd.length === 0))
    return false;
  if (stage.deps.length + stage.params.length === 0 || stage.outs.length === 0) return false;
  return stage.deps.every((d) => isLocalInside(d.rel)) && stage.outs.every((o) => isLocalInside(o.rel) && !o.persist);
}

/**
 * Whether a run is saved: outputs outside the cache (`cache: false`) cannot be restored, except
 * metrics and plots, which are copied into the cache for that.
 */
export function runCacheSaves(stage: PipelineStage): boolean {
  return stage.outs.every((o) => o.cache || o.kind !== "outs");
}

/** Keep a finished run: the entry file is written once (its name is its content's hash). */
export async function saveRun(project: Project, entry: LockStageWrite): Promise<void> {
  const { key, value } = runCacheKeys(entry);
  const folder = join(runCacheDir(project), key.slice(0, 2), key);
  const file = join(folder, value);
  if (await stat(file).catch(() => undefined)) return;
  await mkdir(folder, { recursive: true });
  await writeFileAtomic(file, runCacheEntryText(entry));
}

/**
 * The newest run kept for these inputs (deps and params hashed now, outputs named only), or
 * undefined. An entry that does not parse, or that is not for this stage's outputs, is ignored.
 */
export async function findRun(project: Project, inputs: LockStageWrite): Promise<LockStage | undefined> {
  const { key } = runCacheKeys(inputs);
  const folder = join(runCacheDir(project), key.slice(0, 2), key);
  const names = (await readdir(folder).catch(() => [] as string[])).filter((n) => HEX64.test(n));
  const dated = await Promise.all(
    names.map(async (name) => ({
      name,
      mtime: (await stat(join(folder, name)).catch(() => undefined))?.mtimeMs ?? -1,
    })),
  );
  dated.sort((a, b) => b.mtime - a.mtime);
  const wanted = new Set(inputs.outs.map((o) => o.path));
  for (const { name } of dated) {
    const text = await readFile(join(folder, name), "utf8").catch(() => undefined);
    if (text === undefined) continue;
    let stage: LockStage;
    try {
      stage = readRunCacheEntry(text, "run cache");
    } catch {
      continue;
    }
    if (stage.outs.length === wanted.size && stage.outs.every((o) => wanted.has(o.path))) return stage;
  }
  return undefined;
}
