import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { AdapterSources } from "../adapters.js";
import type { TrackedOut } from "../data-index/types.js";
import { MlvError } from "../errors.js";
import { short } from "../git/objects.js";
import type { ProgressListener } from "../progress.js";
import type { Project } from "../project/project.js";
import { failureOf, type TransferResult } from "../transfer/result.js";
import { intoCache } from "./fetch-from-source.js";
import { importOf } from "./import-pointer.js";
import { locate } from "./locate.js";
import { closeSource, openSource, type Source, type SourceOptions } from "./source.js";
import { urlToPath } from "./url-download.js";
import { isUrlImport, urlImportOf } from "./url-import.js";
import { describeUrl, openUrl } from "./url-source.js";

/** Whether the cache holds everything an output uses (a folder: its `.dir` and every file listed). */
async function inCache(project: Project, o: TrackedOut): Promise<boolean> {
  const oid = o.out.md5;
  if (oid === undefined || !project.cache.exists(oid, o.hashName)) return false;
  if (!o.isDir) return true;
  try {
    return (await project.cache.readDirObject(oid, o.hashName)).every((e) => project.cache.exists(e.md5, o.hashName));
  } catch {
    return false; // an unreadable `.dir` is fetched again
  }
}

/**
 * `fetch` for imports (outputs of `mlv import` or `dvc import`): what the cache lacks comes from
 * the source repository at the commit recorded (`rev_lock`), from its cache when it is on this
 * machine, else its default remote, every object verified: as in DVC, imported data lives with its
 * source, not on this project's remote. Imports of one source commit share one clone.
 */
export async function fetchImports(
  project: Project,
  outs: readonly TrackedOut[],
  options: SourceOptions = {},
): Promise<TransferResult> {
  const result: TransferResult = { transferred: 0, skipped: 0, failed: [], missing: [] };
  const bySource = new Map<
    string,
    { url: string; rev: string | undefined; items: { o: TrackedOut; path: string }[] }
  >();
  for (const o of outs) {
    if (o.out.md5 === undefined) continue;
    if (await inCache(project, o)) {
      result.skipped++;
      continue;
    }
    let found: ReturnType<typeof importOf>;
    try {
      if (!o.pointer) throw new MlvError("EFORMAT", `'${o.rel}' (${o.owner}) is not an import`);
      found = importOf(o.pointer);
    } catch (err) {
      result.failed.push(failureOf(o.rel, err));
      continue;
    }
    const rev = found.source.rev_lock ?? found.source.rev;
    const key = `${found.source.url}\0${rev ?? ""}`;
    const group = bySource.get(key) ?? bySource.set(key, { url: found.source.url, rev, items: [] }).get(key)!;
    group.items.push({ o, path: found.path });
  }
  for (const group of bySource.values()) {
    let source: Source | undefined;
    try {
      // A local source's path is as `import` recorded it, from the project's root.
      source = await openSource(group.url, group.rev, options.cwd ?? project.root);
      for (const { o, path } of group.items) {
        try {
          const fetched = await intoCache(project, source, await locate(source, path), options);
          if (fetched.oid !== o.out.md5)
            throw new MlvError(
              "ECHANGED",
              `'${path}' of '${group.url}' at ${short(source.commit)} is ${fetched.oid}, but '${o.owner}' records ${o.out.md5}: update the import to take the source's version`,
              { data: { path, url: group.url }, hint: `Run 'mlv update ${o.owner}' to take the source's version.` },
            );
          result.transferred += fetched.files.length;
        } catch (err) {
          result.failed.push(failureOf(o.rel, err));
        }
      }
    } catch (err) {
      for (const { o } of group.items) result.failed.push(failureOf(o.rel, err));
    } finally {
      if (source) await closeSource(source);
    }
  }
  return result;
}

/**
 * `pull` of URL imports written with `--no-download` (their output has no hash): as DVC does, the
 * data is downloaded from the source URL straight into the workspace, and the `.dvc` file stays
 * as it is (`status` then reports the output as modified until `update` records it). Outputs
 * already in the workspace are left alone.
 */
export async function pullUrlImports(
  project: Project,
  outs: readonly TrackedOut[],
  options: { jobs?: number; adapters?: AdapterSources; onProgress?: ProgressListener } = {},
): Promise<TransferResult> {
  const result: TransferResult = { transferred: 0, skipped: 0, failed: [], missing: [] };
  for (const o of outs) {
    if (o.out.md5 !== undefined || !o.pointer || !isUrlImport(o.pointer)) continue;
    if (existsSync(o.abs)) {
      result.skipped++;
      continue;
    }
    try {
      const dep = urlImportOf(o.pointer);
      const wdir = resolve(dirname(o.ownerPath), o.pointer.wdir ?? ".");
      const opened = await openUrl(dep.path, {
        cwd: wdir,
        config: project.config,
        ...(dep.fsConfig ? { fsConfig: dep.fsConfig } : {}),
        adapters: options.adapters,
      });
      try {
        const entry = await describeUrl(opened);
        const done = await urlToPath(opened.remote, dep.path, entry, o.abs, options);
        result.transferred += done.files;
      } finally {
        await opened.remote.close?.();
      }
    } catch (err) {
      result.failed.push(failureOf(o.rel, err));
    }
  }
  return result;
}
