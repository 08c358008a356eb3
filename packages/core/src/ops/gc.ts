import { readdirSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import pMap from "p-map";
import { type HashName, objectKey } from "../cache/object-cache.js";
import { MlvError } from "../errors.js";
import type { Remote } from "../remote.js";
import type { Repo, TrackedOut } from "../repo.js";
import { defaultJobs, type UsedObject, usedObjects, withRetry } from "./transfer.js";

export interface GcResult {
  /** Objects removed (or, with `dry`, that would be) from the local cache. */
  removedLocal: number;
  /** Objects removed (or that would be) from the remote (with a remote). */
  removedRemote: number;
  /** With `dry`: the object paths that would go, cache-relative then remote keys. */
  wouldRemove?: { local: string[]; remote: string[] };
}

export interface GcOptions {
  jobs?: number;
  /** List what would be removed; remove nothing. */
  dry?: boolean;
  /** Stops between objects (deletions under way finish), then the call rejects with the signal's reason. */
  signal?: AbortSignal;
}

const HEX2 = /^[0-9a-f]{2}$/;
const REST = /^[0-9a-f]{30}(\.dir)?$/;

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
    `gc stopped before deleting anything: the file lists of these kept folders are in neither the cache nor the remote, so their files cannot be told from unused ones:\n${lines}\nFetch them first ('mlv fetch' with the same revision flags), or restore them from wherever the data was made.`,
    { data: { dirs: dirs.map((d) => ({ path: d.path, oid: d.oid })) } },
  );
}

/**
 * `mlv gc -w [-c]`: delete every object that no output of `outs` uses, from the cache and, with a
 * remote, from the remote too. Objects a folder uses include its `.dir` and every file it lists.
 */
export async function gc(repo: Repo, outs: TrackedOut[], remote?: Remote, options: GcOptions = {}): Promise<GcResult> {
  const { jobs, dry, signal } = options;
  const wouldRemove = { local: [] as string[], remote: [] as string[] };
  const { objects, missingDirs } = await usedObjects(repo, outs);
  // Without a folder's file list its files look unused: refuse rather than delete a kept version.
  if (missingDirs.length > 0) throw missingListings(missingDirs);
  const used = { md5: new Set<string>(), "md5-dos2unix": new Set<string>() } as Record<HashName, Set<string>>;
  for (const o of objects) {
    for (const u of [...(o.dir ? [o.dir] : []), ...o.files]) used[u.hashName].add(u.oid);
  }
  let removedLocal = 0;
  for (const [hashName, root] of [
    ["md5", repo.cache.objectsDir],
    ["md5-dos2unix", repo.cache.root],
  ] as const) {
    for (const oid of dirsFirst(listLocal(root).filter((o) => !used[hashName].has(o)))) {
      signal?.throwIfAborted();
      if (dry) wouldRemove.local.push(objectKey(oid, hashName));
      else await rm(repo.cache.path(oid, hashName), { force: true });
      removedLocal++;
    }
  }
  let removedRemote = 0;
  if (remote) {
    const concurrency = jobs ?? defaultJobs(remote);
    for (const [hashName, prefix] of [
      ["md5", "files/md5/"],
      ["md5-dos2unix", ""],
    ] as const) {
      const unused: string[] = [];
      for await (const key of remote.list(prefix)) {
        const rel = key.slice(prefix.length).split("/");
        if (rel.length !== 2 || !HEX2.test(rel[0]!) || !REST.test(rel[1]!)) continue;
        const oid = rel[0]! + rel[1]!;
        if (!used[hashName].has(oid)) unused.push(oid);
      }
      const ordered = dirsFirst(unused);
      const dirs = ordered.filter((o) => o.endsWith(".dir"));
      const files = ordered.filter((o) => !o.endsWith(".dir"));
      for (const batch of [dirs, files]) {
        if (dry) {
          wouldRemove.remote.push(...batch.map((oid) => objectKey(oid, hashName)));
          removedRemote += batch.length;
          continue;
        }
        signal?.throwIfAborted();
        await pMap(
          batch,
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
  }
  return dry ? { removedLocal, removedRemote, wouldRemove } : { removedLocal, removedRemote };
}
