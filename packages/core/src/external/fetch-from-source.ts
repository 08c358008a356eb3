/**
 * The data of a source repository into a cache: from the source's own cache when it is on this
 * machine, else from its default remote, every object's md5 verified.
 */
import { createReadStream, existsSync, statSync } from "node:fs";
import { copyFile } from "node:fs/promises";
import { join } from "node:path";
import { openRemote } from "../adapters.js";
import type { HashName } from "../cache/object-cache.js";
import type { RevisionOut, TrackedOut } from "../data-index/types.js";
import { MlvError, NoDefaultRemoteError, ObjectNotFoundError, PartialFailureError } from "../errors.js";
import { dirManifestOid, serializeDirManifest } from "../formats/dir-manifest.js";
import type { Out } from "../formats/pointer.js";
import { short } from "../git/objects.js";
import { md5Hex } from "../hash/md5.js";
import type { Project } from "../project/project.js";
import type { ReadableRemote } from "../remote.js";
import { fetch } from "../transfer/fetch.js";
import type { TransferResult } from "../transfer/result.js";
import type { Item } from "./locate.js";
import { type Source, type SourceOptions, sourceCacheDir, sourceConfig } from "./source.js";

/** Where the bytes came from. */
export type DataOrigin = "git" | "cache" | "remote" | "cache+remote";

/** A source cache read as a remote: `read` gives the object or ObjectNotFoundError; nothing is written. */
function cacheAsRemote(cacheDir: string): ReadableRemote {
  const pathOf = (key: string) => join(cacheDir, ...key.split("/"));
  return {
    displayUrl: cacheDir,
    capabilities: { readFile: true },
    exists: async (key) => existsSync(pathOf(key)),
    read: async (key) => {
      if (!existsSync(pathOf(key))) throw new ObjectNotFoundError(cacheDir, key);
      return createReadStream(pathOf(key));
    },
    readFile: async (key, localPath) => {
      try {
        await copyFile(pathOf(key), localPath);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new ObjectNotFoundError(cacheDir, key, err);
        throw err;
      }
    },
  };
}

/** The objects of an item, once they are in the destination cache. */
export interface Fetched {
  hashName: HashName;
  isDir: boolean;
  /** The output's hash: a file's md5, or a `.dir` oid (made for a sub-folder). */
  oid: string;
  /** One entry with relpath "" for a file. */
  files: { relpath: string; oid: string }[];
  size: number;
  isexec: boolean;
  origin: DataOrigin;
}

function incomplete(r: TransferResult): boolean {
  return r.missing.length > 0 || r.failed.length > 0;
}

/**
 * Put what `outs` use into `dest`'s cache: from the source's cache when it is on this machine,
 * then whatever is still missing from the source's default remote. Every object is verified.
 */
async function fetchFromSource(
  source: Source,
  dest: Project,
  outs: TrackedOut[],
  options: SourceOptions,
  origins: Set<"cache" | "remote">,
): Promise<void> {
  const env = options.env ?? process.env;
  const config = await sourceConfig(source, env);
  const transfer = { jobs: options.jobs, onProgress: options.onProgress, signal: options.signal };
  const cacheDir = await sourceCacheDir(source, config);
  if (cacheDir !== undefined && existsSync(cacheDir)) {
    const result = await fetch(dest, outs, cacheAsRemote(cacheDir), transfer);
    if (result.transferred > 0) origins.add("cache");
    if (!incomplete(result)) return;
  }
  let opened: { name: string; remote: ReadableRemote };
  try {
    opened = options.connect
      ? await options.connect(config)
      : await openRemote(config, undefined, options.adapters).then((o) => ({ name: o.name, remote: o.remote }));
  } catch (err) {
    if (err instanceof NoDefaultRemoteError)
      throw new MlvError(
        "ENODEFAULTREMOTE",
        `'${outs.map((o) => o.rel).join("', '")}' is not in the cache of '${source.url}' and that repository has no default remote at ${short(source.commit)}: push the data from a machine that has it, or set a default remote there and commit it`,
        {
          data: { url: source.url, rev: source.commit },
          cause: err,
          hint: "In that repository, run 'mlv remote add -d NAME URL', commit .dvc/config, and push the data.",
        },
      );
    throw err;
  }
  const { name, remote } = opened;
  try {
    const result = await fetch(dest, outs, remote, transfer);
    if (result.transferred > 0) origins.add("remote");
    if (result.missing.length > 0)
      throw new MlvError(
        "EMISSING",
        `${result.missing.length} object(s) of '${source.url}' at ${short(source.commit)} are neither in its cache nor on its remote '${name}' (${remote.displayUrl}):\n${result.missing.map((p) => `\t${p}`).join("\n")}`,
        {
          data: { missing: result.missing, remote: name },
          hint: "Push them there from a machine that has them ('mlv push' in that repository).",
        },
      );
    if (result.failed.length > 0)
      throw new PartialFailureError(
        `${result.failed.length} object(s) could not be downloaded from remote '${name}' (${remote.displayUrl}):\n${result.failed.map((f) => `\t${f.path}: ${f.message}`).join("\n")}`,
        result.failed,
      );
  } finally {
    await remote.close?.();
  }
}

function originOf(origins: Set<"cache" | "remote">): DataOrigin {
  if (origins.has("cache") && origins.has("remote")) return "cache+remote";
  if (origins.has("remote")) return "remote";
  return "cache";
}

/** A tracked output standing for one object: a file of a folder, or a folder's `.dir` alone. */
function objectOut(out: RevisionOut, oid: string, rel: string): TrackedOut {
  const single: Out = { ...out.out, md5: oid, isDir: false };
  return { ...out, out: single, rel, isDir: false };
}

/** Put the data of an output of the source (or of a path inside a tracked folder) into `dest`'s cache. */
export async function fetchItem(
  source: Source,
  item: Extract<Item, { kind: "out" }>,
  dest: Project,
  options: SourceOptions,
): Promise<Fetched> {
  const { out } = item;
  const oid = out.out.md5;
  if (!oid)
    throw new MlvError(
      "ENOHASH",
      `'${out.rel}' has no hash in ${out.owner} of '${source.url}' at ${short(source.commit)}: it was never saved`,
      { data: { path: out.rel }, hint: "Run 'mlv add' on it in that repository and commit its .dvc file." },
    );
  if (out.out.raw.cache === false)
    throw new MlvError(
      "ENOCACHE",
      `'${out.rel}' is not cached in '${source.url}' ('cache: false' in ${out.owner}): its data is not on any remote`,
      { data: { path: out.rel } },
    );
  const origins = new Set<"cache" | "remote">();
  const sizeOf = (o: string) => statSync(dest.cache.path(o, out.hashName)).size;
  const isexec = out.out.isexec === true;
  if (!out.isDir) {
    await fetchFromSource(source, dest, [out], options, origins);
    return {
      hashName: out.hashName,
      isDir: false,
      oid,
      files: [{ relpath: "", oid }],
      size: sizeOf(oid),
      isexec,
      origin: originOf(origins),
    };
  }
  if (item.sub === undefined) {
    await fetchFromSource(source, dest, [out], options, origins);
    const entries = await dest.cache.readDirObject(oid, out.hashName);
    const files = entries.map((e) => ({ relpath: e.relpath, oid: e.md5 }));
    return {
      hashName: out.hashName,
      isDir: true,
      oid,
      files,
      size: files.reduce((n, f) => n + sizeOf(f.oid), 0),
      isexec: false,
      origin: originOf(origins),
    };
  }
  // A file or folder inside a tracked folder: its `.dir` first, then the files below `sub`.
  await fetchFromSource(source, dest, [objectOut(out, oid, out.rel)], options, origins);
  const sub = item.sub;
  const entries = await dest.cache.readDirObject(oid, out.hashName);
  const file = entries.find((e) => e.relpath === sub);
  const below = entries.filter((e) => e.relpath.startsWith(`${sub}/`));
  if (!file && below.length === 0)
    throw new MlvError(
      "ENOTFOUND",
      `The path '${item.path}' does not exist in the target repository '${source.url}' at ${short(source.commit)}: '${out.rel}' holds no '${sub}'.`,
      { data: { path: item.path } },
    );
  const picked = file ? [file] : below;
  await fetchFromSource(
    source,
    dest,
    picked.map((e) => objectOut(out, e.md5, `${out.rel}/${e.relpath}`)),
    options,
    origins,
  );
  if (file)
    return {
      hashName: out.hashName,
      isDir: false,
      oid: file.md5,
      files: [{ relpath: "", oid: file.md5 }],
      size: sizeOf(file.md5),
      isexec: false,
      origin: originOf(origins),
    };
  const files = below.map((e) => ({ relpath: e.relpath.slice(sub.length + 1), oid: e.md5 }));
  const bytes = serializeDirManifest(files.map((f) => ({ relpath: f.relpath, md5: f.oid })));
  const dirOid = dirManifestOid(bytes);
  await dest.cache.addBytes(dirOid, bytes, out.hashName);
  return {
    hashName: out.hashName,
    isDir: true,
    oid: dirOid,
    files,
    size: files.reduce((n, f) => n + sizeOf(f.oid), 0),
    isexec: false,
    origin: originOf(origins),
  };
}

/** Put the data of `item` into `project`'s cache. */
export async function intoCache(
  project: Project,
  source: Source,
  item: Item,
  options: SourceOptions,
): Promise<Fetched> {
  if (item.kind === "out") return fetchItem(source, item, project, options);
  const oid = md5Hex(item.bytes);
  await project.cache.addBytes(oid, item.bytes, "md5");
  return {
    hashName: "md5",
    isDir: false,
    oid,
    files: [{ relpath: "", oid }],
    size: item.bytes.length,
    isexec: false,
    origin: "git",
  };
}
