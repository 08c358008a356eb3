/**
 * `mlv update` (spec §1.6): move imports to a newer commit of their source repository, and take
 * the current version of URL imports (`import-url`) whose source changed.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { writeFileAtomic } from "../atomic-write.js";
import { loadPointer } from "../data-index/pointer-outs.js";
import { MlvError, UsageError } from "../errors.js";
import { parsePointer } from "../formats/pointer.js";
import { checkout } from "../ops/checkout.js";
import type { Project } from "../project/project.js";
import { type DataOrigin, intoCache } from "./fetch-from-source.js";
import { importOf, importPointerText, outWriteOf } from "./import-pointer.js";
import { locate } from "./locate.js";
import { closeSource, openSource, type SourceOptions } from "./source.js";
import { isUrlImport, type UrlUpdateResult, updateUrlImport } from "./url-import.js";

export interface UpdateOptions extends SourceOptions {
  /** Overwrite workspace changes to the imported data. */
  force?: boolean;
}

/** What `update` did to one import: of a git repository (`kind: "repo"`) or of a URL (`kind: "url"`). */
export type UpdateResult = RepoUpdateResult | (UrlUpdateResult & { kind: "url" });

export interface RepoUpdateResult {
  kind: "repo";
  /** The pointer file, from the repository root. */
  pointer: string;
  /** The data, from the repository root. */
  path: string;
  /** The source path and repository, as recorded. */
  source: { path: string; url: string };
  /** False when the import already pointed at that commit (nothing was downloaded or written). */
  changed: boolean;
  revLock: string;
  previousRevLock?: string;
  origin?: DataOrigin;
}

/**
 * `mlv update TARGET...`: move each import to its recorded revision's current commit (or `rev`,
 * which is then recorded), downloading and checking out the data when it changed.
 */
export async function update(
  project: Project,
  targets: readonly string[],
  options: UpdateOptions = {},
): Promise<UpdateResult[]> {
  if (targets.length === 0) throw new UsageError("update needs at least one target: mlv update FILE.dvc...");
  const cwd = options.cwd ?? process.cwd();
  const pointers: string[] = [];
  for (const target of targets) {
    const abs = resolve(cwd, target);
    project.assertInside(abs, target);
    const ownerPath = abs.endsWith(".dvc") ? abs : `${abs}.dvc`;
    if (!existsSync(ownerPath))
      throw new MlvError("ENOTARGET", `'${target}' is neither an import's .dvc file nor the data of one`, {
        data: { target },
      });
    pointers.push(ownerPath);
  }
  const results: UpdateResult[] = [];
  for (const ownerPath of pointers) {
    const [tracked] = loadPointer(project, ownerPath);
    const pointer = tracked?.pointer ?? parsePointer(await readFile(ownerPath, "utf8"), project.relOf(ownerPath));
    if (isUrlImport(pointer)) {
      // A URL has no revisions: `rev` does not apply (DVC ignores it too).
      results.push({ kind: "url", ...(await updateUrlImport(project, ownerPath, { ...options, cwd })) });
      continue;
    }
    const { path, source: def } = importOf(pointer);
    if (!tracked) throw new UsageError(`'${project.relOf(ownerPath)}' has no output`, {});
    const rev = options.rev ?? def.rev;
    const source = await openSource(def.url, rev, cwd);
    try {
      const base = {
        kind: "repo" as const,
        pointer: project.relOf(ownerPath),
        path: tracked.rel,
        source: { path, url: def.url },
        revLock: source.commit,
        ...(def.rev_lock !== undefined ? { previousRevLock: def.rev_lock } : {}),
      };
      if (source.commit === def.rev_lock && rev === def.rev) {
        results.push({ ...base, changed: false });
        continue;
      }
      const item = await locate(source, path);
      const fetched = await intoCache(project, source, item, options);
      const text = importPointerText(
        path,
        { ...def, rev, rev_lock: source.commit },
        outWriteOf(tracked.out.path, fetched),
        pointer,
      );
      if (text !== pointer.text) await writeFileAtomic(ownerPath, text);
      await checkout(project, loadPointer(project, ownerPath), {
        force: options.force,
        onProgress: options.onProgress,
      });
      results.push({ ...base, changed: true, origin: fetched.origin });
    } finally {
      await closeSource(source);
    }
  }
  return results;
}
