/**
 * `mlv gc -w [-c]`: a plan (every object in the cache, and on the remote, that no kept output
 * uses), then the deletions. `--dry` gives the plan without applying it. A plan that cannot tell a
 * kept folder's files from unused ones is refused, never applied.
 */

import { readdirSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import pMap from "p-map";
import { removeStaleTemps } from "../atomic-write.js";
import { type HashName, objectKey } from "../cache/object-cache.js";
import type { TrackedOut } from "../data-index/types.js";
import { MlvError } from "../errors.js";
import type { Project } from "../project/project.js";
import type { Remote } from "../remote.js";
import { defaultJobs } from "../transfer/remote-contains.js";
import { withRetry } from "../transfer/retry.js";
import { type UsedObject, usedObjects } from "../transfer/used-objects.js";

export interface GcResult {
  /** Objects removed (or, with `dry`, that would be) from the local cache. */
  removedLocal: number;
  /** Objects removed (or that would be) from the remote (with a remote). */
  removedRemote: number;
  /** With `dry`: the object paths that would go, cache-relative then remote keys. */
  wouldRemove?: { local: string[]; remote: string[] };
  /**
   * With a remote whose uploads write temporary files (a folder, SFTP): the keys of the stale ones
   * interrupted uploads left, removed (or, with `dry`, that would be). See `STALE_REMOTE_TEMP_RULE`.
   */
  remoteTemps?: string[];
}

export interface GcOptions {
  jobs?: number;
  /** List what would be removed; remove nothing. */
  dry?: boolean;
  /** Stops between objects (deletions under way finish), then the call rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Objects of one object database (`files/md5`, or the legacy root of md5-dos2unix objects). */
interface ObjectBatch {
  hashName: HashName;
  oids: string[];
}

/** What a gc will delete, in the order it deletes: `.dir` objects before files, so no listing outlives its files. */
export interface GcPlan {
  /** Unused cache objects. */
  local: ObjectBatch[];
  /** With a remote: its unused objects, a batch of `.dir` objects then a batch of files per database. */
  remote: ObjectBatch[];
}

const HEX2 = /^[0-9a-f]{2}$/;
const REST = /^[0-9a-f]{30}(\.dir)?$/;

/** Where a remote keeps each kind of object: md5 below `files/md5/`, md5-dos2unix (DVC 2.x) at its root. */
const REMOTE_PREFIXES = [
  ["md5", "files/md5/"],
  ["md5-dos2unix", ""],
] as const;

/** Remove what killed commands left in an object database root and its two-hex folders. */
function sweepStaleTemps(root: string): void {
  removeStaleTemps(root);
  let dirs: string[];
  try {
    dirs = readdirSync(root);
  } catch {
    return;
  }
  for (const d of dirs) if (HEX2.test(d)) removeStaleTemps(join(root, d));
}

/** Every object in one local object database root (`files/md5` or the legacy root). */
function listLocal(root: string): string[] {
  const oids: string[] = [];
  let dirs: string[];
  try {
    dirs = readdirSync(root);
  } catch {
    return oids;
  }
  for (const d of dirs) {
    if (!HEX2.test(d)) continue;
    let names: string[];
    try {
      names = readdirSync(join(root, d));
    } catch {
      continue;
    }
    for (const n of names) if (REST.test(n)) oids.push(d + n);
  }
  return oids;
}

/** `.dir` objects first, so no remote ever holds a listing whose files are gone (spec §4.3, §8.6). */
function dirsFirst(oids: string[]): string[] {
  return [...oids.filter((o) => o.endsWith(".dir")), ...oids.filter((o) => !o.endsWith(".dir"))];
}

function missingListings(dirs: UsedObject[]): MlvError {
  const lines = dirs.map((d) => `\t${d.path} (${d.oid})`).join("\n");
  return new MlvError(
    "EMISSINGDIR",
    `gc stopped before deleting anything: the file lists of these kept folders are in neither the cache nor the remote, so their files cannot be told from unused ones:\n${lines}`,
    {
      data: { dirs: dirs.map((d) => ({ path: d.path, oid: d.oid })) },
      hint: "Fetch them first ('mlv fetch' with the same revision flags), or restore them from wherever the data was made.",
    },
  );
}

/** `gc -c` finds what to delete by listing the remote: storage without a listing cannot be cleaned. */
export function unlistable(remote: Remote): MlvError {
  return new MlvError(
    "EUNSUPPORTED",
    `remote ${remote.displayUrl} cannot list its objects, so its unused ones cannot be told: clean it with the storage's own tools`,
    { data: { remote: remote.displayUrl }, hint: "Run 'mlv gc' without -c to clean the cache only." },
  );
}

/**
 * The gc plan that keeps what `outs` use (a folder: its `.dir` and every file it lists) and deletes
 * everything else from the cache and, with a remote, from the remote too. Refused (EMISSINGDIR)
 * when a kept folder's `.dir` is not in the cache: its files would look unused.
 */
export async function planGc(project: Project, outs: TrackedOut[], remote?: Remote): Promise<GcPlan> {
  const { objects, missingDirs } = await usedObjects(project, outs);
  if (missingDirs.length > 0) throw missingListings(missingDirs);
  const used = { md5: new Set<string>(), "md5-dos2unix": new Set<string>() } as Record<HashName, Set<string>>;
  for (const o of objects) {
    for (const u of [...(o.dir ? [o.dir] : []), ...o.files]) used[u.hashName].add(u.oid);
  }
  const unusedIn = (hashName: HashName, root: string): ObjectBatch => ({
    hashName,
    oids: dirsFirst(listLocal(root).filter((o) => !used[hashName].has(o))),
  });
  const local = [unusedIn("md5", project.cache.objectsDir), unusedIn("md5-dos2unix", project.cache.root)];
  const onRemote: ObjectBatch[] = [];
  if (remote) {
    const list = remote.list?.bind(remote);
    if (list === undefined) throw unlistable(remote);
    for (const [hashName, prefix] of REMOTE_PREFIXES) {
      const unused: string[] = [];
      for await (const key of list(prefix)) {
        const rel = key.slice(prefix.length).split("/");
        if (rel.length !== 2 || !HEX2.test(rel[0]!) || !REST.test(rel[1]!)) continue;
        const oid = rel[0]! + rel[1]!;
        if (!used[hashName].has(oid)) unused.push(oid);
      }
      onRemote.push(
        { hashName, oids: unused.filter((o) => o.endsWith(".dir")) },
        { hashName, oids: unused.filter((o) => !o.endsWith(".dir")) },
      );
    }
  }
  return { local, remote: onRemote };
}

/** Carry out a gc plan: the cache's objects one by one, then the remote's a batch at a time. */
export async function applyGc(
  project: Project,
  plan: GcPlan,
  remote?: Remote,
  options: Omit<GcOptions, "dry"> = {},
): Promise<GcResult> {
  const { jobs, signal } = options;
  // Temporary files of killed commands (a half-copied big file of an add) go too.
  for (const root of [project.cache.objectsDir, project.cache.root]) sweepStaleTemps(root);
  let removedLocal = 0;
  for (const { hashName, oids } of plan.local)
    for (const oid of oids) {
      signal?.throwIfAborted();
      await rm(project.cache.path(oid, hashName), { force: true });
      removedLocal++;
    }
  let removedRemote = 0;
  if (remote) {
    const concurrency = jobs ?? defaultJobs(remote);
    for (const { hashName, oids } of plan.remote) {
      signal?.throwIfAborted();
      await pMap(
        oids,
        async (oid) => {
          if (signal?.aborted) return;
          await withRetry(() => remote.delete(objectKey(oid, hashName)));
          removedRemote++;
        },
        { concurrency },
      );
      signal?.throwIfAborted();
    }
  }
  // Interrupted uploads' leftovers only: a concurrent push's temporary files are not stale yet.
  const remoteTemps = await remote?.removeStaleTemps?.({ signal });
  return { removedLocal, removedRemote, ...(remoteTemps && { remoteTemps }) };
}

/** What a dry run reports: the plan's objects, as cache paths and remote keys. */
function dryResult(plan: GcPlan): GcResult {
  const keys = (batches: ObjectBatch[]) =>
    batches.flatMap(({ hashName, oids }) => oids.map((oid) => objectKey(oid, hashName)));
  const wouldRemove = { local: keys(plan.local), remote: keys(plan.remote) };
  return { removedLocal: wouldRemove.local.length, removedRemote: wouldRemove.remote.length, wouldRemove };
}

/**
 * `mlv gc -w [-c]`: delete every object that no output of `outs` uses, from the cache and, with a
 * remote, from the remote too. Objects a folder uses include its `.dir` and every file it lists.
 */
export async function gc(
  project: Project,
  outs: TrackedOut[],
  remote?: Remote,
  options: GcOptions = {},
): Promise<GcResult> {
  const plan = await planGc(project, outs, remote);
  options.signal?.throwIfAborted();
  if (!options.dry) return applyGc(project, plan, remote, options);
  const remoteTemps = await remote?.removeStaleTemps?.({ dry: true, signal: options.signal });
  return { ...dryResult(plan), ...(remoteTemps && { remoteTemps }) };
}
