/** The `.dvc` file of an import (spec §1.6, §1.7): its dependency on a source repository, read and written as DVC does. */

import { UsageError } from "../errors.js";
import { type OutWrite, type PointerFile, parsePointer, serializePointer } from "../formats/pointer.js";
import { stageMd5 } from "../ops/stage-md5.js";
import type { Fetched } from "./fetch-from-source.js";

/** The `repo` mapping of an import dependency, keys in `RepoDependency._dump_def_repo` order. */
export interface ImportSource {
  url: string;
  rev?: string;
  rev_lock?: string;
  config?: unknown;
  remote?: unknown;
}

function repoMapping(def: ImportSource): Record<string, unknown> {
  const repo: Record<string, unknown> = { url: def.url };
  if (def.rev) repo.rev = def.rev;
  if (def.rev_lock) repo.rev_lock = def.rev_lock;
  if (def.config) repo.config = def.config;
  if (def.remote) repo.remote = def.remote;
  return repo;
}

/**
 * The text of an import's `.dvc` file as DVC writes it (spec §1.6, §1.7): the stage `md5`,
 * `frozen: true`, `deps: [{path, repo: {url, rev, rev_lock}}]` and the out. `previous`: the
 * file being rewritten, whose other keys (wdir, desc, meta, the out's extra keys) stay.
 */
export function importPointerText(
  depPath: string,
  source: ImportSource,
  out: OutWrite,
  previous?: PointerFile,
): string {
  const prevOut = previous?.outs[0];
  const outWrite: OutWrite = { ...out, extra: out.extra ?? prevOut?.raw ?? {} };
  const base = parsePointer(serializePointer({ outs: [outWrite] }), "import");
  const top: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(previous?.top ?? {})) if (k !== "md5") top[k] = v;
  top.frozen = true;
  top.deps = [{ path: depPath, repo: repoMapping(source) }];
  const withoutMd5 = parsePointer(serializePointer({ ...base, top }), "import");
  const md5 = stageMd5({ ...withoutMd5.top, outs: withoutMd5.outs.map((o) => o.raw) });
  return serializePointer({ ...withoutMd5, top: { md5, ...withoutMd5.top } });
}

/** The out of an import's pointer, for the data fetched. */
export function outWriteOf(name: string, fetched: Fetched): OutWrite {
  const w: OutWrite = { path: name, md5: fetched.oid, size: fetched.size, hashName: fetched.hashName };
  if (fetched.isDir) w.nfiles = fetched.files.length;
  else if (fetched.isexec) w.isexec = true;
  return w;
}

/** The import recorded in a pointer file, or a UsageError naming the file. */
export function importOf(pointer: PointerFile): { path: string; source: ImportSource } {
  const deps = pointer.top.deps;
  const dep = Array.isArray(deps) && deps.length === 1 ? (deps[0] as Record<string, unknown>) : undefined;
  const repo = dep?.repo as Record<string, unknown> | undefined;
  if (!dep || typeof dep.path !== "string" || !repo || typeof repo.url !== "string" || pointer.outs.length !== 1)
    throw new UsageError(
      `'${pointer.file}' is not an import (no 'deps' entry with a 'repo'): only the .dvc files of imports can be updated`,
      { file: pointer.file },
      "Only .dvc files written by 'mlv import' or 'dvc import' can be updated.",
    );
  const source: ImportSource = { url: repo.url };
  if (typeof repo.rev === "string") source.rev = repo.rev;
  if (typeof repo.rev_lock === "string") source.rev_lock = repo.rev_lock;
  if (repo.config !== undefined) source.config = repo.config;
  if (repo.remote !== undefined) source.remote = repo.remote;
  return { path: dep.path, source };
}
