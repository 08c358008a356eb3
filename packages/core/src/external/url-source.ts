/**
 * A URL of any scheme mlv has an adapter for (a local path, `s3://`, `gs://`, `azure://`, `ssh://`,
 * `http(s)://`, or `remote://NAME/path` through a configured remote), read as a storage folder (the
 * URL's parent) and a key in it: what `get-url`, `import-url` and `update` read from, and how they
 * tell whether it changed, as DVC records it in a `.dvc` dependency (pipelines spec §1.4, §9.5).
 */
import { dirname, isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type AdapterSources, resolveAdapter, urlScheme } from "../adapters.js";
import type { Config } from "../config.js";
import { MlvError, UsageError } from "../errors.js";
import { compareCodePoints } from "../formats/dir-manifest.js";
import { md5Hex } from "../hash/md5.js";
import { pythonJsonDumps } from "../ops/stage-md5.js";
import type { ObjectInfo, ReadableRemote } from "../remote.js";

/** How DVC fingerprints a dependency of this scheme: the content's md5, or the storage's own tag. */
export type DepHashName = "md5" | "etag" | "checksum";

/** The storage of a URL, opened. */
export interface OpenedUrl {
  /** As given (and recorded). */
  url: string;
  /** The URL scheme after `remote://` resolution ("local" for paths). */
  scheme: string;
  /** The URL's parent folder as a storage. */
  remote: ReadableRemote;
  /** The file or folder, as a key below `remote`. */
  key: string;
  /** A local source's absolute path. */
  localPath?: string;
}

export interface OpenUrlOptions {
  /** Where a relative local path starts. */
  cwd: string;
  /** For `remote://NAME/...`: the project's configuration. */
  config?: Config;
  /** Options for the storage (DVC's `--fs-config`, a dependency's `fs_config`), over a named remote's. */
  fsConfig?: Readonly<Record<string, string>>;
  adapters?: AdapterSources;
}

/** A file of a URL source: `relpath` "" for the URL itself, else the path below the folder. */
export interface UrlFile {
  relpath: string;
  key: string;
  info: ObjectInfo;
}

/** What a URL is: one file, or a folder of files (storage that lists). */
export interface UrlEntry {
  isDir: boolean;
  files: UrlFile[];
}

const URL_RE = /^([a-z][a-z0-9+.-]*):\/\//i;

/** Whether `url` is a URL rather than a local path (`file://` counts as a path). */
export function isUrl(url: string): boolean {
  return urlScheme(url) !== "local";
}

/** `file://` URLs as the plain paths DVC understands. */
export function localPathOf(url: string): string {
  return /^file:\/\//i.test(url) ? fileURLToPath(url) : url;
}

/** A URL split into its parent (scheme, authority and folders) and its last name, query kept with the name. */
function splitUrl(url: string): { parent: string; name: string } | undefined {
  const m = /^([a-z][a-z0-9+.-]*:\/\/[^/?#]*)([^?#]*)(.*)$/i.exec(url);
  if (!m) return undefined;
  const authority = m[1]!;
  const path = m[2]!.replace(/\/+$/, "");
  const slash = path.lastIndexOf("/");
  const name = path.slice(slash + 1);
  if (name === "") return undefined;
  return { parent: authority + path.slice(0, Math.max(slash, 0)), name: name + m[3]! };
}

/** `remote://NAME/path`: the remote's URL joined with `path`, and the remote's options. */
function viaRemote(
  url: string,
  config: Config | undefined,
): { url: string; options: Record<string, string>; name: string } | undefined {
  const m = /^remote:\/\/([^/]+)(?:\/(.*))?$/i.exec(url);
  if (!m) return undefined;
  if (!config)
    throw new UsageError(`'${url}' names a remote of a project: run the command inside the project that defines it`, {
      url,
    });
  const remote = config.remote(m[1]!);
  const sub = (m[2] ?? "").replace(/^\/+/, "");
  const base = remote.url.replace(/\/+$/, "");
  return { url: sub === "" ? base : `${base}/${sub}`, options: { ...remote.options }, name: remote.name };
}

/** Open the storage holding `url`, through the adapter of its scheme (nothing is read yet). */
export async function openUrl(url: string, options: OpenUrlOptions): Promise<OpenedUrl> {
  const named = viaRemote(url, options.config);
  const target = named?.url ?? url;
  const fsOptions: Record<string, string> = { ...(named?.options ?? {}) };
  for (const [k, v] of Object.entries(options.fsConfig ?? {})) fsOptions[k.toLowerCase()] = v;
  const scheme = urlScheme(target);
  let parent: string;
  let key: string;
  let localPath: string | undefined;
  if (scheme === "local") {
    localPath = resolve(options.cwd, localPathOf(target));
    parent = dirname(localPath);
    key = localPath.slice(parent.length).replace(/^[\\/]+/, "");
    if (key === "")
      throw new UsageError(`'${url}' is the root of a file system: give a file or folder inside it`, { url });
  } else {
    const split = splitUrl(target);
    if (!split)
      throw new UsageError(
        `'${url}' names no file or folder: give the path of one (e.g. ${URL_RE.exec(target)?.[1] ?? scheme}://bucket/path/data.csv)`,
        { url },
      );
    parent = split.parent;
    key = split.name;
  }
  const adapter = await resolveAdapter(scheme, options.adapters);
  const remote = await adapter.create({ name: named?.name ?? url, url: parent, options: fsOptions });
  return { url, scheme, remote, key, ...(localPath !== undefined ? { localPath } : {}) };
}

/** The error for a URL that names nothing. */
export function missingSource(url: string, cause?: unknown): MlvError {
  return new MlvError("ENOTFOUND", `'${url}' does not exist: check the URL (and its credentials or 'fs_config')`, {
    data: { url },
    ...(cause !== undefined ? { cause } : {}),
  });
}

function isMissing(err: unknown): boolean {
  return err instanceof MlvError && err.code === "ENOOBJECT";
}

function isUnsupported(err: unknown): boolean {
  return err instanceof MlvError && err.code === "EUNSUPPORTED";
}

/** The hash name DVC gives a dependency of `scheme` (format spec §1.5, case 2). */
export function depHashNameOf(scheme: string, info?: ObjectInfo): DepHashName {
  switch (scheme) {
    case "local":
    case "ssh":
    case "sftp":
      return "md5";
    case "s3":
    case "gs":
    case "azure":
      return info?.etag !== undefined ? "etag" : "md5";
    case "http":
    case "https":
      return info?.checksum !== undefined ? "checksum" : "md5";
    default:
      // An adapter of another scheme: whatever fingerprint its storage gives, else the content.
      if (info?.etag !== undefined) return "etag";
      if (info?.checksum !== undefined) return "checksum";
      return "md5";
  }
}

/** Whether DVC fingerprints dependencies of `scheme` by their content (then no metadata is asked for). */
function hashedByContent(scheme: string): boolean {
  return scheme === "local" || scheme === "ssh" || scheme === "sftp";
}

/**
 * What `opened` names: a file (with its size and the storage's fingerprint when the storage gives
 * them), or a folder and every file below it. Throws ENOTFOUND naming the URL when it is neither.
 */
export async function describeUrl(opened: OpenedUrl): Promise<UrlEntry> {
  const { remote, key, scheme } = opened;
  const wantInfo = !hashedByContent(scheme);
  let info: ObjectInfo | undefined;
  if (wantInfo && remote.stat) {
    try {
      info = await remote.stat(key);
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
  } else if (await remote.exists(key)) info = {};
  if (info !== undefined) return { isDir: false, files: [{ relpath: "", key, info }] };
  const keys: string[] = [];
  if (remote.list) {
    try {
      for await (const k of remote.list(`${key}/`)) keys.push(k);
    } catch (err) {
      if (!isUnsupported(err)) throw err;
    }
  }
  if (keys.length === 0) throw missingSource(opened.url);
  keys.sort(compareCodePoints);
  const files: UrlFile[] = [];
  for (const k of keys) {
    let fileInfo: ObjectInfo = {};
    if (wantInfo && remote.stat) {
      try {
        fileInfo = await remote.stat(k);
      } catch (err) {
        if (isMissing(err)) continue; // deleted while listing
        throw err;
      }
    }
    files.push({ relpath: k.slice(key.length + 1), key: k, info: fileInfo });
  }
  return { isDir: true, files };
}

/** A dependency's fingerprint as DVC writes it (keys in `Output.dumpd` order, `hash` and `path` excluded). */
export interface DepHash {
  name: DepHashName;
  /** The hash value (a folder: a `.dir` value under `md5`). */
  value: string;
  size?: number;
  nfiles?: number;
}

/**
 * The fingerprint of a folder whose files carry an etag or checksum: DVC builds the folder's tree
 * from them and names it by the md5 of its JSON listing (`[{"etag": ..., "relpath": ...}, ...]`),
 * recorded under `md5` with `.dir`.
 */
export function metaTreeOid(files: readonly { relpath: string; value: string }[], name: "etag" | "checksum"): string {
  const sorted = files.slice().sort((a, b) => compareCodePoints(a.relpath, b.relpath));
  const listing = sorted.map((f) => ({ [name]: f.value, relpath: f.relpath }));
  return `${md5Hex(pythonJsonDumps(listing))}.dir`;
}

/**
 * The dependency hash of an entry whose fingerprint is the storage's (etag, checksum); undefined
 * when it is the content's md5, which only reading the data gives.
 */
export function metaDepHash(scheme: string, entry: UrlEntry): DepHash | undefined {
  const first = entry.files[0]?.info;
  const name = depHashNameOf(scheme, first);
  if (name === "md5") return undefined;
  const fingerprint = (info: ObjectInfo) => (name === "etag" ? info.etag : info.checksum);
  if (entry.files.some((f) => fingerprint(f.info) === undefined)) return undefined;
  const size = entry.files.every((f) => f.info.size !== undefined)
    ? entry.files.reduce((n, f) => n + (f.info.size ?? 0), 0)
    : undefined;
  if (!entry.isDir)
    return { name, value: fingerprint(first!)!, ...(first?.size !== undefined ? { size: first.size } : {}) };
  const value = metaTreeOid(
    entry.files.map((f) => ({ relpath: f.relpath, value: fingerprint(f.info)! })),
    name,
  );
  return { name: "md5", value, ...(size !== undefined ? { size } : {}), nfiles: entry.files.length };
}

/** Whether `path` (as recorded in a dependency) is a URL or an absolute path rather than a path relative to the `.dvc` file. */
export function isRelativeLocal(path: string): boolean {
  return !URL_RE.test(path) && !isAbsolute(path) && !/^[a-z]:[\\/]/i.test(path);
}

/** DVC's `--fs-config NAME=VALUE ...` as a mapping, in the order given (the order DVC records). */
export function parseFsConfig(pairs: readonly string[] | undefined): Record<string, string> | undefined {
  if (!pairs || pairs.length === 0) return undefined;
  const config: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0)
      throw new UsageError(`--fs-config takes NAME=VALUE pairs (e.g. endpointurl=https://...), got '${pair}'`, {
        value: pair,
      });
    Object.defineProperty(config, pair.slice(0, eq), { value: pair.slice(eq + 1), enumerable: true, writable: true });
  }
  return config;
}
