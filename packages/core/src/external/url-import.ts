/**
 * `mlv import-url` and the `update` of its imports (format spec §1.6, §1.7; pipelines spec §1.4,
 * §9.5): a file or folder at a URL brought into the project through the cache, recorded in a
 * frozen `.dvc` file whose dependency holds the URL and its fingerprint as DVC writes them (`md5`
 * of the content for local and ssh sources, the storage's `etag` for s3/gs/azure, the web
 * server's `checksum` for http), so that `update` can tell whether the source changed.
 */
import { existsSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { writeFileAtomic } from "../atomic-write.js";
import { configBool } from "../config.js";
import { collectOuts } from "../data-index/index.js";
import { loadPointer } from "../data-index/pointer-outs.js";
import type { TrackedOut } from "../data-index/types.js";
import { MlvError, UsageError } from "../errors.js";
import { addGitignoreEntry, escapeGitignoreEntry } from "../formats/gitignore.js";
import { type PointerFile, parsePointer } from "../formats/pointer.js";
import { parseForEdit, rewriteMapping, setKey } from "../formats/yaml-roundtrip.js";
import { dumpYaml, type YamlValue } from "../formats/yaml-scalar.js";
import { checkout } from "../ops/checkout.js";
import { stageMd5 } from "../ops/stage-md5.js";
import { projectStatus } from "../ops/status.js";
import { Project } from "../project/project.js";
import { resolveOutput } from "./get.js";
import { type UrlDownloadOptions, type UrlFetched, urlContentHash, urlToCache } from "./url-download.js";
import {
  type DepHash,
  describeUrl,
  isUrl,
  localPathOf,
  metaDepHash,
  type OpenedUrl,
  type OpenUrlOptions,
  openUrl,
  type UrlEntry,
} from "./url-source.js";

export interface ImportUrlOptions extends UrlDownloadOptions {
  /** Where to put the data; default the URL's last name in `cwd` (inside it when it is a folder). */
  out?: string;
  /** Replace an existing output. */
  force?: boolean;
  /** Record the source's fingerprint but download nothing. */
  noDownload?: boolean;
  /** Write the `.dvc` file only: neither the source is read nor anything downloaded. */
  noExec?: boolean;
  /** Options for the source's storage, recorded as the dependency's `fs_config` (DVC's `--fs-config`). */
  fsConfig?: Record<string, string>;
  /** Where relative paths start; default `process.cwd()`. */
  cwd?: string;
  adapters?: OpenUrlOptions["adapters"];
}

export interface ImportUrlResult {
  /** Absolute path of the data. */
  path: string;
  /** The pointer file written, from the repository root. */
  pointer: string;
  /** The source as DVC shows it: the URL, or a local path (from `cwd` when inside the repository). */
  source: string;
  isDir: boolean;
  /** Files downloaded (0 with noDownload/noExec). */
  files: number;
  /** The dependency's fingerprint recorded; undefined with noExec. */
  dep?: DepHash;
  /** Files to `git add` (pointer, `.gitignore`), from the repository root. */
  gitFiles: string[];
  autostaged: boolean;
  git: boolean;
}

/** The dependency of a URL import as recorded. */
export interface UrlImportDep {
  path: string;
  fsConfig?: Record<string, string>;
  /** Undefined for a file written with `--no-exec`. */
  hash?: DepHash;
}

/** Whether a `.dvc` file is an `import-url`: one dependency, on a path or URL, with no `repo`. */
export function isUrlImport(pointer: PointerFile): boolean {
  const deps = pointer.top.deps;
  if (!Array.isArray(deps) || deps.length !== 1) return false;
  const dep = deps[0] as Record<string, unknown> | null;
  return typeof dep === "object" && dep !== null && !("repo" in dep) && typeof dep.path === "string";
}

/** The dependency of an `import-url` file, or a UsageError naming the file. */
export function urlImportOf(pointer: PointerFile): UrlImportDep {
  if (!isUrlImport(pointer) || pointer.outs.length !== 1)
    throw new UsageError(
      `'${pointer.file}' is not an import (no 'deps' entry): only files written by 'import', 'import-url' or their DVC counterparts can be updated`,
      { file: pointer.file },
    );
  const dep = (pointer.top.deps as Record<string, unknown>[])[0]!;
  const result: UrlImportDep = { path: dep.path as string };
  const fs = dep.fs_config;
  if (fs && typeof fs === "object" && !Array.isArray(fs)) {
    result.fsConfig = {};
    for (const [k, v] of Object.entries(fs)) setKey(result.fsConfig, k, String(v));
  }
  for (const name of ["md5", "etag", "checksum"] as const) {
    const value = dep[name];
    if (typeof value !== "string" && typeof value !== "number") continue;
    const hash: DepHash = { name, value: String(value) };
    if (typeof dep.size === "number") hash.size = dep.size;
    if (typeof dep.nfiles === "number") hash.nfiles = dep.nfiles;
    result.hash = hash;
    break;
  }
  return result;
}

/**
 * The path recorded for a local source, as DVC records it: inside the repository, relative to the
 * `.dvc` file's folder; outside it, as given when absolute, or when relative and given from that
 * folder; else relative to that folder (so that it names the same file when read back).
 */
export function recordedLocalPath(given: string, cwd: string, wdir: string, root: string): string {
  const local = localPathOf(given);
  const abs = resolve(cwd, local);
  const fromRoot = relative(root, abs);
  const inside = fromRoot === "" || !(fromRoot.startsWith("..") || isAbsolute(fromRoot));
  if (!inside && local === given && (isAbsolute(given) || resolve(cwd) === resolve(wdir))) return given;
  return relative(wdir, abs).split(sep).join("/") || ".";
}

/** How DVC shows the source in "Importing 'SOURCE' -> 'OUT'": a URL as given, a local path from `cwd` inside the repository, else absolute. */
function shownSource(url: string, cwd: string, root: string): string {
  if (isUrl(url)) return url;
  const abs = resolve(cwd, localPathOf(url));
  const fromRoot = relative(root, abs);
  if (fromRoot.startsWith("..") || isAbsolute(fromRoot)) return abs;
  return relative(cwd, abs).split(sep).join("/");
}

/** A dependency entry in DVC's key order: the hash, `size`, `nfiles`, `isexec`, `hash`, `path`, `fs_config`. */
function depEntry(
  path: string,
  hash: DepHash | undefined,
  fsConfig: Record<string, string> | undefined,
  isexec: boolean,
) {
  const dep: Record<string, unknown> = {};
  if (hash) {
    setKey(dep, hash.name, hash.value);
    if (hash.size !== undefined) dep.size = hash.size;
    if (hash.nfiles !== undefined) dep.nfiles = hash.nfiles;
    if (isexec) dep.isexec = true;
  }
  dep.hash = "md5";
  dep.path = path;
  if (fsConfig && Object.keys(fsConfig).length > 0) dep.fs_config = fsConfig;
  return dep;
}

/** Keys of an out this writer computes; any other key of a rewritten out stays as it was. */
const OWNED_OUT_KEYS = new Set(["md5", "size", "nfiles", "isexec", "hash", "path"]);

/** An out entry in `Output.dumpd` order; `extra`: the other keys of the out being rewritten. */
function outEntry(path: string, fetched: UrlFetched | undefined, extra: Record<string, unknown> = {}) {
  const out: Record<string, unknown> = {};
  if (fetched) {
    out.md5 = fetched.oid;
    out.size = fetched.size;
    if (fetched.isDir) out.nfiles = fetched.files.length;
  }
  out.hash = "md5";
  out.path = path;
  for (const [k, v] of Object.entries(extra)) if (!OWNED_OUT_KEYS.has(k)) setKey(out, k, v);
  return out;
}

/** The stage mapping with its checksum: `md5` first for a new file; a rewritten file keeps its keys' places. */
function withStageMd5(stage: Record<string, unknown>, noExec: boolean): Record<string, unknown> {
  if (noExec) {
    const { md5: _, ...rest } = stage;
    return rest;
  }
  const md5 = stageMd5(stage);
  if (Object.hasOwn(stage, "md5")) return { ...stage, md5 };
  return { md5, ...stage };
}

/** The text of a new `import-url` file (DVC writes no stage checksum with `--no-exec`). */
export function urlImportText(
  dep: Record<string, unknown>,
  out: Record<string, unknown>,
  options: { noExec?: boolean } = {},
): string {
  const stage = withStageMd5({ frozen: true, deps: [dep], outs: [out] }, options.noExec === true);
  return dumpYaml(stage as YamlValue);
}

/** The text of an `import-url` file after `update`: DVC's rewrite, which keeps the keys' places, comments and the other keys. */
function rewrittenText(pointer: PointerFile, dep: Record<string, unknown>, out: Record<string, unknown>): string {
  const parsed = parseForEdit(pointer.text, pointer.file);
  const next: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(parsed.data)) setKey(next, k, v);
  next.frozen = true;
  next.deps = [dep];
  next.outs = [out];
  // An existing checksum keeps its place; a new one goes at the end, where ruamel appends it.
  next.md5 = stageMd5(next);
  return rewriteMapping(pointer.text, parsed, next);
}

/** Whether a local source file has an executable bit (DVC records `isexec` on such a dependency). */
function localExec(opened: OpenedUrl, entry: UrlEntry): boolean {
  if (!opened.localPath || entry.isDir) return false;
  try {
    return (statSync(opened.localPath).mode & 0o111) !== 0;
  } catch {
    return false;
  }
}

/** The dependency hash of content hashed by mlv (local and ssh sources). */
function contentHash(fetched: UrlFetched): DepHash {
  return {
    name: "md5",
    value: fetched.oid,
    size: fetched.size,
    ...(fetched.isDir ? { nfiles: fetched.files.length } : {}),
  };
}

function sameHash(a: DepHash | undefined, b: DepHash): boolean {
  return a !== undefined && a.name === b.name && a.value === b.value;
}

/** Refuse an output that overlaps another tracked one, or that git tracks. */
async function checkOutput(project: Project, dest: string, ownerPath: string): Promise<void> {
  for (const o of await collectOuts(project)) {
    if (o.ownerPath === ownerPath) continue;
    if (o.abs === dest || dest.startsWith(o.abs + sep) || o.abs.startsWith(dest + sep))
      throw new MlvError(
        "EOVERLAP",
        `cannot import to '${project.relOf(dest)}': it overlaps '${o.rel}', which ${o.owner} tracks. Choose another output`,
        { data: { path: dest, trackedBy: o.owner } },
      );
  }
  const scm = await project.scm();
  if (scm && (await scm.isTracked(dest)))
    throw new MlvError(
      "ESCMTRACKED",
      `output '${project.relOf(dest)}' is already tracked by SCM (e.g. Git). Remove it from git first, or choose another output`,
      { data: { path: dest } },
    );
}

/**
 * `mlv import-url URL [OUT]`: download a file or folder from a URL into the cache, check it out at
 * OUT and record it in `OUT.dvc`, with the URL and its fingerprint as DVC writes them.
 */
export async function importUrl(
  project: Project,
  url: string,
  options: ImportUrlOptions = {},
): Promise<ImportUrlResult> {
  const cwd = options.cwd ?? process.cwd();
  const name = isUrl(url) ? url.replace(/[?#].*$/, "") : localPathOf(url);
  const dest = resolveOutput(name, options.out, cwd, options.force);
  project.assertInside(dest, options.out ?? basename(dest));
  const ownerPath = Project.pointerPathFor(dest);
  await checkOutput(project, dest, ownerPath);
  const wdir = dirname(dest);
  const depPath = isUrl(url) ? url : recordedLocalPath(url, cwd, wdir, project.root);
  const fsConfig = options.fsConfig && Object.keys(options.fsConfig).length > 0 ? options.fsConfig : undefined;

  let text: string;
  let fetched: UrlFetched | undefined;
  let dep: DepHash | undefined;
  let isDir = false;
  if (options.noExec) {
    text = urlImportText(depEntry(depPath, undefined, fsConfig, false), outEntry(basename(dest), undefined), {
      noExec: true,
    });
  } else {
    const opened = await openUrl(url, { cwd, config: project.config, fsConfig, adapters: options.adapters });
    try {
      const entry = await describeUrl(opened);
      isDir = entry.isDir;
      dep = metaDepHash(opened.scheme, entry);
      if (!options.noDownload) fetched = await urlToCache(project, opened.remote, url, entry, options);
      if (!dep) dep = contentHash(fetched ?? (await urlContentHash(opened.remote, url, entry, options)));
      text = urlImportText(
        depEntry(depPath, dep, fsConfig, localExec(opened, entry)),
        outEntry(basename(dest), fetched),
      );
    } finally {
      await opened.remote.close?.();
    }
  }
  await writeFileAtomic(ownerPath, text);
  const gitFiles = new Set<string>([ownerPath]);
  const scm = await project.scm();
  if (scm && !(await scm.isIgnored(dest))) {
    const gitignore = join(dirname(dest), ".gitignore");
    await addGitignoreEntry(gitignore, `/${escapeGitignoreEntry(basename(dest))}`);
    gitFiles.add(gitignore);
  }
  if (fetched)
    await checkout(project, loadPointer(project, ownerPath), { force: options.force, onProgress: options.onProgress });
  let autostaged = false;
  if (scm && configBool(project.config.get("core.autostage"))) {
    await scm.add([...gitFiles]);
    autostaged = true;
  }
  return {
    path: dest,
    pointer: project.relOf(ownerPath),
    source: shownSource(url, cwd, project.root),
    isDir: fetched?.isDir ?? isDir,
    files: fetched?.files.length ?? 0,
    ...(dep ? { dep } : {}),
    gitFiles: [...gitFiles].map((f) => project.relOf(f)),
    autostaged,
    git: scm !== null,
  };
}

export interface UrlUpdateOptions extends UrlDownloadOptions {
  /** Overwrite workspace changes to the imported data. */
  force?: boolean;
  cwd?: string;
  adapters?: OpenUrlOptions["adapters"];
}

export interface UrlUpdateResult {
  pointer: string;
  path: string;
  /** The dependency as recorded, and as shown. */
  source: { path: string; shown: string };
  /** False when neither the source nor the data changed (nothing was downloaded or written). */
  changed: boolean;
  previous?: DepHash;
  dep: DepHash;
}

/** Whether the workspace and cache still hold the recorded data of `outs`. */
async function outsUnchanged(project: Project, outs: TrackedOut[]): Promise<boolean> {
  if (outs.some((o) => o.out.md5 === undefined)) return false;
  const [status] = await projectStatus(project, { outs, stages: [] });
  return status === undefined || status.status.length === 0;
}

/**
 * `mlv update` of an `import-url` file: the source's fingerprint again; when it or the data in
 * the workspace changed, the source is downloaded anew and the file rewritten as DVC rewrites it.
 */
export async function updateUrlImport(
  project: Project,
  ownerPath: string,
  options: UrlUpdateOptions = {},
): Promise<UrlUpdateResult> {
  const rel = project.relOf(ownerPath);
  const pointer = parsePointer(await readFile(ownerPath, "utf8"), rel);
  const recorded = urlImportOf(pointer);
  const outs = loadPointer(project, ownerPath);
  const tracked = outs[0];
  if (!tracked) throw new UsageError(`'${rel}' has no output`, { file: rel });
  const wdir = resolve(dirname(ownerPath), pointer.wdir ?? ".");
  const opened = await openUrl(recorded.path, {
    cwd: wdir,
    config: project.config,
    ...(recorded.fsConfig ? { fsConfig: recorded.fsConfig } : {}),
    adapters: options.adapters,
  });
  const shown = shownSource(opened.localPath ?? recorded.path, options.cwd ?? process.cwd(), project.root);
  try {
    const entry = await describeUrl(opened);
    let dep = metaDepHash(opened.scheme, entry);
    if (!dep) {
      const hashed = await urlContentHash(opened.remote, recorded.path, entry, options);
      dep = contentHash(hashed);
    }
    const base = {
      pointer: rel,
      path: tracked.rel,
      source: { path: recorded.path, shown },
      ...(recorded.hash ? { previous: recorded.hash } : {}),
      dep,
    };
    if (sameHash(recorded.hash, dep) && (await outsUnchanged(project, outs))) return { ...base, changed: false };
    const fetched = await urlToCache(project, opened.remote, recorded.path, entry, options);
    const prevOut = pointer.outs[0]!;
    const prevDep = (pointer.top.deps as Record<string, unknown>[])[0]!;
    const depValue = depEntry(recorded.path, dep, undefined, localExec(opened, entry));
    // The other keys of the old dependency (`fs_config`) stay as written.
    for (const [k, v] of Object.entries(prevDep))
      if (!["md5", "etag", "checksum", "size", "nfiles", "isexec", "hash", "path"].includes(k)) setKey(depValue, k, v);
    const outValue = outEntry(prevOut.path, fetched, prevOut.raw);
    const text = rewrittenText(pointer, depValue, outValue);
    if (text !== pointer.text) await writeFileAtomic(ownerPath, text);
    await checkout(project, loadPointer(project, ownerPath), { force: options.force, onProgress: options.onProgress });
    return { ...base, changed: true };
  } finally {
    await opened.remote.close?.();
  }
}

/** Whether `ownerPath` is a `.dvc` file written by `import-url` (read from disk). */
export async function isUrlImportFile(ownerPath: string): Promise<boolean> {
  if (!existsSync(ownerPath)) return false;
  try {
    return isUrlImport(parsePointer(await readFile(ownerPath, "utf8"), ownerPath));
  } catch {
    return false;
  }
}
