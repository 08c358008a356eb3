import { type Stats, statSync } from "node:fs";
import type { HashName } from "../cache/object-cache.js";
import { translateFsError } from "../errors.js";
import { dirManifestOid, serializeDirManifest } from "../formats/dir-manifest.js";
import { dos2unixFileMd5 } from "../hash/dos2unix.js";
import { md5File } from "../hash/md5.js";
import { HashPool } from "../hash/pool.js";
import type { Repo } from "../repo.js";
import { walkFiles } from "./walk.js";

/** Files at most this big are hashed in the worker pool; bigger ones stream on the main thread. */
const SMALL_FILE = 4 << 20;
/** Below this many files to hash, starting worker threads costs more than it saves. */
const POOL_THRESHOLD = 200;

export interface DirEntryState {
  relpath: string;
  md5: string;
  size: number;
  isexec: boolean;
  abs: string;
}

export type WorkspaceState =
  | { kind: "missing" }
  | { kind: "file"; md5: string; size: number; isexec: boolean; st: Stats }
  | { kind: "dir"; md5: string; size: number; nfiles: number; manifest: Buffer; entries: DirEntryState[] };

export interface HashOptions {
  /** Also put every file into the cache (add). */
  store?: boolean;
  /** Progress: files and bytes done so far, out of the totals. */
  onProgress?: (p: { files: number; totalFiles: number; bytes: number; totalBytes: number }) => void;
}

function isExec(st: Stats): boolean {
  return (st.mode & 0o111) !== 0;
}

/**
 * The current content of a workspace path, hashed the way its pointer says (md5, or legacy
 * md5-dos2unix). Unchanged files are answered from the hash cache without being read.
 */
export async function hashWorkspacePath(
  repo: Repo,
  abs: string,
  hashName: HashName,
  options: HashOptions = {},
): Promise<WorkspaceState> {
  let st: Stats;
  try {
    st = statSync(abs);
  } catch {
    return { kind: "missing" };
  }
  const rel = repo.relOf(abs);
  if (repo.ignore.isIgnored(rel, st.isDirectory())) return { kind: "missing" };
  if (st.isDirectory()) return hashDir(repo, abs, rel, hashName, options);
  const md5 = await hashOneFile(repo, abs, rel, st, hashName, options.store ?? false);
  options.onProgress?.({ files: 1, totalFiles: 1, bytes: st.size, totalBytes: st.size });
  return { kind: "file", md5, size: st.size, isexec: isExec(st), st };
}

async function hashOneFile(repo: Repo, abs: string, key: string, st: Stats, hashName: HashName, store: boolean) {
  const cacheKey = hashName === "md5" ? key : `${key}\0dos2unix`;
  const known = repo.hashCache.get(cacheKey, st);
  if (known && (!store || hashName !== "md5" || repo.cache.exists(known))) return known;
  let md5: string;
  try {
    if (hashName !== "md5") md5 = await dos2unixFileMd5(abs);
    else md5 = store ? (await repo.cache.addFile(abs)).md5 : (await md5File(abs)).md5;
  } catch (err) {
    throw translateFsError(err, abs);
  }
  repo.hashCache.set(cacheKey, st, md5);
  return md5;
}

async function hashDir(
  repo: Repo,
  abs: string,
  rel: string,
  hashName: HashName,
  options: HashOptions,
): Promise<WorkspaceState> {
  const files = walkFiles(abs, rel, repo.ignore);
  const store = options.store ?? false;
  const totalBytes = files.reduce((n, f) => n + f.st.size, 0);
  let doneFiles = 0;
  let doneBytes = 0;
  const progress = (n: number, bytes: number) => {
    doneFiles += n;
    doneBytes += bytes;
    options.onProgress?.({ files: doneFiles, totalFiles: files.length, bytes: doneBytes, totalBytes });
  };

  const md5s: string[] = new Array(files.length);
  const small: number[] = [];
  const large: number[] = [];
  const hc = repo.hashCache;
  const cache = repo.cache;
  for (let i = 0; i < files.length; i++) {
    const f = files[i]!;
    const key = hashName === "md5" ? `${rel}/${f.rel}` : `${rel}/${f.rel}\0dos2unix`;
    const known = hc.get(key, f.st);
    if (known && (!store || hashName !== "md5" || cache.exists(known))) {
      md5s[i] = known;
      progress(1, f.st.size);
    } else if (hashName === "md5" && f.st.size <= SMALL_FILE) small.push(i);
    else large.push(i);
  }

  if (small.length >= POOL_THRESHOLD) {
    const pool = new HashPool();
    try {
      if (store) await cache.ensureDir(cache.objectsDir);
      const results = await pool.hashAll(
        small.map((i) => files[i]!.abs),
        { objectsDir: store ? cache.objectsDir : undefined },
        progress,
      );
      for (let k = 0; k < small.length; k++) {
        const r = results[k]!;
        const i = small[k]!;
        const f = files[i]!;
        if (r.error) {
          const err = Object.assign(new Error(r.error.message), { code: r.error.code });
          throw translateFsError(err, f.abs);
        }
        md5s[i] = r.md5;
        hc.set(`${rel}/${f.rel}`, r, r.md5);
      }
    } finally {
      await pool.close();
    }
  } else {
    large.push(...small);
  }
  for (const i of large) {
    const f = files[i]!;
    md5s[i] = await hashOneFile(repo, f.abs, `${rel}/${f.rel}`, f.st, hashName, store);
    progress(1, f.st.size);
  }

  const entries: DirEntryState[] = files.map((f, i) => ({
    relpath: f.rel,
    md5: md5s[i]!,
    size: f.st.size,
    isexec: isExec(f.st),
    abs: f.abs,
  }));
  const manifest = serializeDirManifest(entries);
  const md5 = dirManifestOid(manifest);
  if (store) await cache.addBytes(md5, manifest, hashName);
  return { kind: "dir", md5, size: totalBytes, nfiles: files.length, manifest, entries };
}

/** Whether a file object, or a `.dir` object and every file it lists, is valid in the cache. */
export async function isInCache(repo: Repo, oid: string, hashName: HashName): Promise<boolean> {
  const cache = repo.cache;
  if (!oid.endsWith(".dir")) return cache.isValid(oid, hashName);
  const signature = hashName === "md5" ? cache.signature() : "";
  if (signature && repo.hashCache.isComplete(oid, signature)) return true;
  if (!(await cache.isValid(oid, hashName))) return false;
  const { readDirObject } = await import("./manifests.js");
  const entries = await readDirObject(repo, oid, hashName);
  for (const e of entries) {
    // A stat per object; only objects that are not read-only (0444) need the slower rehash.
    let mode: number;
    try {
      mode = statSync(cache.path(e.md5, hashName)).mode & 0o777;
    } catch {
      return false;
    }
    if (mode !== 0o444 && !(await cache.isValid(e.md5, hashName))) return false;
  }
  if (signature) repo.hashCache.markComplete(oid, cache.signature());
  return true;
}
