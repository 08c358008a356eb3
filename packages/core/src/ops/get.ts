/**
 * `mlv get`, `mlv import` and `mlv update` (spec §1.6): data tracked by another git repository,
 * read at any revision without a checkout, downloaded from that repository's cache when it is on
 * this machine, else from its default remote, every object's md5 verified.
 */
import * as fs from "node:fs";
import { createReadStream, existsSync, statSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join, posix, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { type AdapterSources, openRemote } from "../adapters.js";
import { type HashName, type LinkType, tmpName } from "../cache/object-cache.js";
import { Config, configBool } from "../config.js";
import { collectOuts } from "../data-index/index.js";
import { MlvError, NoDefaultRemoteError, ObjectNotFoundError, translateFsError, UsageError } from "../errors.js";
import { dirManifestOid, serializeDirManifest } from "../formats/dir-manifest.js";
import { addGitignoreEntry, escapeGitignoreEntry } from "../formats/gitignore.js";
import { type Out, type OutWrite, type PointerFile, parsePointer, serializePointer } from "../formats/pointer.js";
import { GitHistory, type RevisionOut } from "../git/history.js";
import { loadGit } from "../git/load.js";
import { md5Hex } from "../hash/md5.js";
import type { Remote } from "../remote.js";
import { Repo, type TrackedOut } from "../repo.js";
import { writeFileAtomic } from "../workspace/atomic.js";
import { readDirObject } from "../workspace/manifests.js";
import { checkout } from "./checkout.js";
import type { ProgressListener } from "./progress.js";
import { stageMd5 } from "./stage-md5.js";
import { describe, fetch, type TransferResult } from "./transfer.js";

/** Opens the default remote of a configuration (the CLI passes its own, which knows the built-in adapters). */
export type RemoteFactory = (config: Config) => Promise<{ name: string; remote: Remote }>;

export interface SourceOptions {
  /** A branch, tag or commit of the source repository; default its HEAD. */
  rev?: string;
  /** How the source's remote is opened: a factory, else `openRemote` with these adapter sources. */
  connect?: RemoteFactory;
  adapters?: AdapterSources;
  jobs?: number;
  onProgress?: ProgressListener;
  /** Where relative paths (the source, `out`) start; default `process.cwd()`. */
  cwd?: string;
  /** For the source's global and system config; default `process.env`. */
  env?: NodeJS.ProcessEnv;
}

export interface GetOptions extends SourceOptions {
  /** Where to put the data; default the basename of PATH in `cwd` (inside it when it is a folder). */
  out?: string;
  /** Replace an existing `out`. */
  force?: boolean;
}

/** Where the bytes came from. */
export type DataOrigin = "git" | "cache" | "remote" | "cache+remote";

export interface GetResult {
  /** Absolute path written. */
  path: string;
  isDir: boolean;
  files: number;
  origin: DataOrigin;
  /** The source commit read. */
  revLock: string;
}

export interface ImportOptions extends GetOptions {}

export interface ImportResult extends GetResult {
  /** The pointer file written, from the repository root. */
  pointer: string;
  /** Files to `git add` (pointer, `.gitignore`), from the repository root. */
  gitFiles: string[];
  autostaged: boolean;
  git: boolean;
}

export interface UpdateOptions extends SourceOptions {
  /** Overwrite workspace changes to the imported data. */
  force?: boolean;
}

export interface UpdateResult {
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

// ------------------------------------------------------------------------------------- sources

/** A git repository read at one commit, and what must be removed afterwards. */
interface Source {
  /** As given: recorded in imports, shown in messages. */
  url: string;
  /** The repository's folder (work tree, bare repository or temporary clone). */
  root: string;
  /** Where the project's `.dvc` folder would be: relative paths in its config are relative to it. */
  dvcDir: string;
  /** A work tree of the user's: its `.dvc/config.local` and cache count. */
  workTree: boolean;
  history: GitHistory;
  commit: string;
  temp: string[];
  config?: Promise<Config>;
}

const URL_RE = /^[a-z][a-z0-9+.-]*:\/\//i;
const SCP_RE = /^[\w.-]+@[\w.-]+:/;
const FULL_OID = /^[0-9a-f]{40}$/i;

function short(oid: string): string {
  return oid.slice(0, 7);
}

function notARepo(url: string, detail: string): MlvError {
  return new MlvError("ENOTREPO", `'${url}' is not a git repository: ${detail}`, { data: { url } });
}

async function cleanup(source: { temp: string[] }): Promise<void> {
  for (const dir of source.temp.splice(0)) await rm(dir, { recursive: true, force: true }).catch(() => {});
}

/** Open `url` (a local work tree, a local bare repository, `file://`, or a URL cloned shallowly) at `rev`. */
async function openSource(url: string, rev: string | undefined, cwd: string): Promise<Source> {
  const temp: string[] = [];
  try {
    let root: string;
    let gitRoot: string;
    let workTree = false;
    if (/^file:\/\//i.test(url) || (!URL_RE.test(url) && !SCP_RE.test(url))) {
      root = /^file:\/\//i.test(url) ? fileURLToPath(url) : resolve(cwd, url);
      if (!existsSync(root)) throw notARepo(url, `'${root}' does not exist`);
      if (existsSync(join(root, ".git"))) {
        gitRoot = root;
        workTree = true;
      } else if (existsSync(join(root, "HEAD")) && existsSync(join(root, "objects"))) {
        // A bare repository: isomorphic-git reads `<dir>/.git`, so give it a folder whose `.git` is the repository.
        gitRoot = await mkdtemp(join(tmpdir(), "mlv-src-"));
        temp.push(gitRoot);
        await symlink(root, join(gitRoot, ".git"), "dir");
      } else {
        throw notARepo(url, "it holds no .git folder (give the top folder of a git work tree, or a bare repository)");
      }
    } else {
      gitRoot = await mkdtemp(join(tmpdir(), "mlv-clone-"));
      temp.push(gitRoot);
      root = gitRoot;
      await cloneShallow(url, rev, gitRoot);
    }
    const history = new GitHistory(gitRoot);
    const commit = await resolveIn(history, rev ?? "HEAD", url);
    return { url, root, dvcDir: join(root, ".dvc"), workTree, history, commit, temp };
  } catch (err) {
    await cleanup({ temp });
    throw err;
  }
}

/**
 * A shallow clone of the git URL `url` in a temporary folder (no checkout), and the commit `rev`
 * (default HEAD) names there. Call `remove()` once done with it.
 */
export async function cloneToTemp(
  url: string,
  rev: string | undefined,
): Promise<{ dir: string; history: GitHistory; commit: string; remove(): Promise<void> }> {
  const source = await openSource(url, rev, process.cwd());
  return { dir: source.root, history: source.history, commit: source.commit, remove: () => cleanup(source) };
}

/** Whether `repo` names a git URL (http(s), ssh, scp-like) rather than a local path or file:// URL. */
export function isGitUrl(repo: string): boolean {
  return !/^file:\/\//i.test(repo) && (URL_RE.test(repo) || SCP_RE.test(repo));
}

async function resolveIn(history: GitHistory, rev: string, url: string): Promise<string> {
  try {
    return await history.resolveRevision(rev);
  } catch (err) {
    if (err instanceof MlvError && err.code === "EREV" && !FULL_OID.test(rev)) {
      // A clone keeps the branches it fetched as remote-tracking ones.
      const tracking = await history.resolveRevision(`origin/${rev}`).catch(() => undefined);
      if (tracking !== undefined) return tracking;
    }
    if (err instanceof MlvError && err.code === "EREV")
      throw new MlvError("EREV", `unknown revision '${rev}' in '${url}': give a branch, a tag or a commit of it`, {
        data: { rev, url },
        cause: err,
      });
    throw err;
  }
}

/**
 * Clone a git URL through isomorphic-git's HTTP transport: one branch or tag, one commit deep,
 * without a checkout. A commit id cannot be asked for by name, so then the whole history comes.
 */
async function cloneShallow(url: string, rev: string | undefined, dir: string): Promise<void> {
  if (!/^https?:\/\//i.test(url))
    throw new MlvError(
      "EUNSUPPORTED",
      `cannot clone '${url}': mlv reads git through isomorphic-git, which clones over http(s) only; clone it yourself ('git clone ${url}') and give the local path`,
      { data: { url } },
    );
  const git = await loadGit();
  const http = (await import("isomorphic-git/http/node")).default;
  const base = { fs, http, dir, url, noCheckout: true };
  try {
    if (rev !== undefined && FULL_OID.test(rev)) await git.clone({ ...base, noTags: false });
    else await git.clone({ ...base, depth: 1, singleBranch: true, ...(rev !== undefined ? { ref: rev } : {}) });
  } catch (err) {
    throw new MlvError("ECLONE", `cannot clone '${url}': ${(err as Error)?.message ?? err}`, {
      data: { url },
      cause: err,
    });
  }
}

/**
 * The source's configuration at the commit read: its `.dvc/config` of that commit, the
 * `.dvc/config.local` of its work tree, and this machine's global and system config.
 */
function sourceConfig(source: Source, env: NodeJS.ProcessEnv): Promise<Config> {
  source.config ??= (async () => {
    const text = (await source.history.configTextAtRevision(source.commit)) ?? "";
    // Without a work tree (a clone made here), no config.local is there to read.
    return Config.withRepoText(source.dvcDir, text, `${short(source.commit)}:.dvc/config`, env);
  })();
  return source.config;
}

/** The source's cache folder when it is on this machine. */
async function sourceCacheDir(source: Source, config: Config): Promise<string | undefined> {
  if (config.get("cache.dir") !== undefined) return config.cacheDir();
  return source.workTree ? join(source.dvcDir, "cache") : undefined;
}

// ---------------------------------------------------------------------------------- locating

type Item =
  | { kind: "git"; path: string; bytes: Buffer }
  /** An output, or (`sub`) a file or folder inside a tracked folder. */
  | { kind: "out"; path: string; out: RevisionOut; sub?: string };

function normalisePath(path: string): string {
  const p = posix.normalize(path.split(sep).join("/")).replace(/\/+$/, "");
  if (p === "" || p === "." || p === ".." || p.startsWith("../") || p.startsWith("/"))
    throw new UsageError(`'${path}' is not a path inside the source repository: give it from the repository's top`, {
      path,
    });
  return p;
}

async function locate(source: Source, path: string): Promise<Item> {
  const rel = normalisePath(path);
  // `cache: false` outputs are not data: their bytes, when anywhere, are in git.
  const outs = (await source.history.outsAtRevision(source.commit)).filter((o) => o.out.raw.cache !== false);
  const own = outs.find((o) => o.rel === rel);
  if (own) return { kind: "out", path: rel, out: own };
  const around = outs.find((o) => rel.startsWith(`${o.rel}/`));
  if (around) {
    if (!around.isDir)
      throw new MlvError("ENOTFOUND", `'${path}' is inside '${around.rel}', which is a file, in '${source.url}'`, {
        data: { path },
      });
    return { kind: "out", path: rel, out: around, sub: rel.slice(around.rel.length + 1) };
  }
  const bytes = await source.history.readFileAtRevision(source.commit, rel);
  if (bytes !== undefined) return { kind: "git", path: rel, bytes };
  const inside = outs.filter((o) => o.rel.startsWith(`${rel}/`));
  if (inside.length > 0)
    throw new MlvError(
      "EUNSUPPORTED",
      `'${path}' is a folder holding ${inside.length} tracked output(s) (${inside.map((o) => o.rel).join(", ")}) in '${source.url}': get each of them on its own`,
      { data: { path } },
    );
  throw new MlvError(
    "ENOTFOUND",
    `The path '${path}' does not exist in the target repository '${source.url}' at ${short(source.commit)} neither as a DVC output nor as a Git-tracked file.`,
    { data: { path, url: source.url, rev: source.commit } },
  );
}

// ---------------------------------------------------------------------------------- downloading

/** A source cache read as a remote: `read` gives the object or ObjectNotFoundError; nothing is written. */
function cacheAsRemote(cacheDir: string): Remote {
  const pathOf = (key: string) => join(cacheDir, ...key.split("/"));
  const readOnly = async (): Promise<never> => {
    throw new MlvError("EREADONLY", `the source cache '${cacheDir}' is only read`);
  };
  return {
    displayUrl: cacheDir,
    capabilities: { readFile: true },
    exists: async (key) => existsSync(pathOf(key)),
    async *list() {},
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
    write: readOnly,
    delete: readOnly,
  };
}

/** The objects of an item, once they are in the destination cache. */
interface Fetched {
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
  dest: Repo,
  outs: TrackedOut[],
  options: SourceOptions,
  origins: Set<"cache" | "remote">,
): Promise<void> {
  const env = options.env ?? process.env;
  const config = await sourceConfig(source, env);
  const transfer = { jobs: options.jobs, onProgress: options.onProgress };
  const cacheDir = await sourceCacheDir(source, config);
  if (cacheDir !== undefined && existsSync(cacheDir)) {
    const result = await fetch(dest, outs, cacheAsRemote(cacheDir), transfer);
    if (result.transferred > 0) origins.add("cache");
    if (!incomplete(result)) return;
  }
  let opened: { name: string; remote: Remote };
  try {
    opened = options.connect
      ? await options.connect(config)
      : await openRemote(config, undefined, options.adapters).then((o) => ({ name: o.name, remote: o.remote }));
  } catch (err) {
    if (err instanceof NoDefaultRemoteError)
      throw new MlvError(
        "ENODEFAULTREMOTE",
        `'${outs.map((o) => o.rel).join("', '")}' is not in the cache of '${source.url}' and that repository has no default remote at ${short(source.commit)}: push the data from a machine that has it, or set a default remote there ('mlv remote add -d NAME URL') and commit it`,
        { data: { url: source.url, rev: source.commit }, cause: err },
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
        `${result.missing.length} object(s) of '${source.url}' at ${short(source.commit)} are neither in its cache nor on its remote '${name}' (${remote.displayUrl}):\n${result.missing.map((p) => `\t${p}`).join("\n")}\nPush them there from a machine that has them ('mlv push' in that repository).`,
        { data: { missing: result.missing, remote: name } },
      );
    if (result.failed.length > 0)
      throw new MlvError(
        "EPARTIAL",
        `${result.failed.length} object(s) could not be downloaded from remote '${name}' (${remote.displayUrl}):\n${result.failed.map((f) => `\t${f.path}: ${f.message}`).join("\n")}\nRun the command again to finish the job.`,
        { data: { failures: result.failed } },
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

async function fetchItem(
  source: Source,
  item: Extract<Item, { kind: "out" }>,
  dest: Repo,
  options: SourceOptions,
): Promise<Fetched> {
  const { out } = item;
  const oid = out.out.md5;
  if (!oid)
    throw new MlvError(
      "ENOHASH",
      `'${out.rel}' has no hash in ${out.owner} of '${source.url}' at ${short(source.commit)}: it was never saved ('mlv add' it there and commit)`,
      { data: { path: out.rel } },
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
    const entries = await readDirObject(dest, oid, out.hashName);
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
  const entries = await readDirObject(dest, oid, out.hashName);
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

// ---------------------------------------------------------------------------------- get

/** DVC's `resolve_output`: OUT, inside OUT when it is a folder, else the basename of PATH. */
function resolveOutput(path: string, out: string | undefined, cwd: string, force: boolean | undefined): string {
  const name = posix.basename(path.split(sep).join("/").replace(/\/+$/, ""));
  let abs: string;
  if (out === undefined) abs = resolve(cwd, name);
  else {
    const given = resolve(cwd, out);
    abs = existsSync(given) && statSync(given).isDirectory() ? join(given, name) : given;
  }
  if (existsSync(abs) && !force) {
    const kind = statSync(abs).isDirectory() ? "directory" : "file";
    throw new MlvError(
      "EEXIST",
      `The ${kind} '${out === undefined ? name : abs}' already exists locally. To override it, re-run with '--force'.`,
      { data: { path: abs } },
    );
  }
  return abs;
}

/** A throw-away repository whose cache receives the objects of a `get`. */
async function scratchRepo(): Promise<{ repo: Repo; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), "mlv-get-"));
  await mkdir(join(dir, ".dvc"));
  await writeFile(join(dir, ".dvc", "config"), "[core]\n    no_scm = True\n[cache]\n    dir = cache\n");
  return { repo: await Repo.open(dir), dir };
}

/** Replace `dest` by `staged` with renames: readers see the old data or the new, never a mix. */
async function replaceWith(staged: string, dest: string): Promise<void> {
  if (!existsSync(dest)) {
    await rename(staged, dest);
    return;
  }
  const old = tmpName(dirname(dest));
  await rename(dest, old);
  try {
    await rename(staged, dest);
  } catch (err) {
    await rename(old, dest).catch(() => {});
    throw err;
  }
  await rm(old, { recursive: true, force: true });
}

/** Copy fetched objects out of a cache to `dest`, whole or not at all. */
async function placeCopy(cacheRepo: Repo, fetched: Fetched, dest: string): Promise<void> {
  await mkdir(dirname(dest), { recursive: true });
  const types: LinkType[] = ["reflink", "copy"];
  const staged = tmpName(dirname(dest));
  try {
    if (!fetched.isDir) {
      await cacheRepo.cache.linkTo(fetched.oid, fetched.hashName, staged, types, fetched.isexec);
    } else {
      await mkdir(staged);
      for (const f of fetched.files) {
        const target = join(staged, ...f.relpath.split("/"));
        await mkdir(dirname(target), { recursive: true });
        await cacheRepo.cache.linkTo(f.oid, fetched.hashName, target, types);
      }
    }
    await replaceWith(staged, dest);
  } catch (err) {
    await rm(staged, { recursive: true, force: true }).catch(() => {});
    throw translateFsError(err, dest);
  }
}

/**
 * `mlv get URL PATH`: copy what PATH is at a revision of another repository (an output, a file or
 * folder inside a tracked folder, or a plain git file) to `out`, without needing a repository here.
 */
export async function get(url: string, path: string, options: GetOptions = {}): Promise<GetResult> {
  const cwd = options.cwd ?? process.cwd();
  const dest = resolveOutput(path, options.out, cwd, options.force);
  const source = await openSource(url, options.rev, cwd);
  try {
    const item = await locate(source, path);
    if (item.kind === "git") {
      await mkdir(dirname(dest), { recursive: true });
      const staged = tmpName(dirname(dest));
      try {
        await writeFile(staged, item.bytes, { flag: "wx" });
        await replaceWith(staged, dest);
      } catch (err) {
        await rm(staged, { force: true }).catch(() => {});
        throw translateFsError(err, dest);
      }
      return { path: dest, isDir: false, files: 1, origin: "git", revLock: source.commit };
    }
    const scratch = await scratchRepo();
    source.temp.push(scratch.dir);
    try {
      const fetched = await fetchItem(source, item, scratch.repo, options);
      await placeCopy(scratch.repo, fetched, dest);
      return {
        path: dest,
        isDir: fetched.isDir,
        files: fetched.files.length,
        origin: fetched.origin,
        revLock: source.commit,
      };
    } finally {
      await scratch.repo.close();
    }
  } finally {
    await cleanup(source);
  }
}

// ---------------------------------------------------------------------------------- import

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

function outWriteOf(name: string, fetched: Fetched): OutWrite {
  const w: OutWrite = { path: name, md5: fetched.oid, size: fetched.size, hashName: fetched.hashName };
  if (fetched.isDir) w.nfiles = fetched.files.length;
  else if (fetched.isexec) w.isexec = true;
  return w;
}

/** Put the data of `item` into `repo`'s cache. */
async function intoCache(repo: Repo, source: Source, item: Item, options: SourceOptions): Promise<Fetched> {
  if (item.kind === "out") return fetchItem(source, item, repo, options);
  const oid = md5Hex(item.bytes);
  await repo.cache.addBytes(oid, item.bytes, "md5");
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

/**
 * `mlv import URL PATH`: `get` into this repository, recorded in `OUT.dvc` with the source's URL,
 * revision and resolved commit, the data in this repository's cache and checked out.
 */
export async function importData(
  repo: Repo,
  url: string,
  path: string,
  options: ImportOptions = {},
): Promise<ImportResult> {
  const cwd = options.cwd ?? process.cwd();
  const dest = resolveOutput(path, options.out, cwd, options.force);
  repo.assertInside(dest, options.out ?? path);
  const ownerPath = Repo.pointerPathFor(dest);
  if (existsSync(ownerPath) && !options.force)
    throw new MlvError("EEXIST", `'${repo.relOf(ownerPath)}' already exists. To override it, re-run with '--force'.`, {
      data: { path: ownerPath },
    });
  for (const o of await collectOuts(repo)) {
    if (o.ownerPath === ownerPath) continue;
    if (o.abs === dest || dest.startsWith(o.abs + sep) || o.abs.startsWith(dest + sep))
      throw new MlvError(
        "EOVERLAP",
        `cannot import to '${repo.relOf(dest)}': it overlaps '${o.rel}', which ${o.owner} tracks. Choose another output with -o`,
        { data: { path: dest, trackedBy: o.owner } },
      );
  }
  const scm = await repo.scm();
  if (scm && (await scm.isTracked(dest)))
    throw new MlvError(
      "ESCMTRACKED",
      `output '${repo.relOf(dest)}' is already tracked by SCM (e.g. Git). Remove it from git first, or choose another output with -o`,
      { data: { path: dest } },
    );

  const source = await openSource(url, options.rev, cwd);
  try {
    const item = await locate(source, path);
    const fetched = await intoCache(repo, source, item, options);
    const text = importPointerText(
      path,
      { url, rev: options.rev, rev_lock: source.commit },
      outWriteOf(basename(dest), fetched),
    );
    await writeFileAtomic(ownerPath, text);
    const gitFiles = new Set<string>([ownerPath]);
    if (scm && !(await scm.isIgnored(dest))) {
      const gitignore = join(dirname(dest), ".gitignore");
      await addGitignoreEntry(gitignore, `/${escapeGitignoreEntry(basename(dest))}`);
      gitFiles.add(gitignore);
    }
    await checkout(repo, repo.loadPointer(ownerPath), { force: options.force, onProgress: options.onProgress });
    let autostaged = false;
    if (scm && configBool(repo.config.get("core.autostage"))) {
      await scm.add([...gitFiles]);
      autostaged = true;
    }
    return {
      path: dest,
      isDir: fetched.isDir,
      files: fetched.files.length,
      origin: fetched.origin,
      revLock: source.commit,
      pointer: repo.relOf(ownerPath),
      gitFiles: [...gitFiles].map((f) => repo.relOf(f)),
      autostaged,
      git: scm !== null,
    };
  } finally {
    await cleanup(source);
  }
}

/** Whether the cache holds everything an output uses (a folder: its `.dir` and every file listed). */
async function inCache(repo: Repo, o: TrackedOut): Promise<boolean> {
  const oid = o.out.md5;
  if (oid === undefined || !repo.cache.exists(oid, o.hashName)) return false;
  if (!o.isDir) return true;
  try {
    return (await readDirObject(repo, oid, o.hashName)).every((e) => repo.cache.exists(e.md5, o.hashName));
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
  repo: Repo,
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
    if (await inCache(repo, o)) {
      result.skipped++;
      continue;
    }
    let found: ReturnType<typeof importOf>;
    try {
      if (!o.pointer) throw new MlvError("EFORMAT", `'${o.rel}' (${o.owner}) is not an import`);
      found = importOf(o.pointer);
    } catch (err) {
      result.failed.push({ path: o.rel, message: describe(err) });
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
      source = await openSource(group.url, group.rev, options.cwd ?? repo.root);
      for (const { o, path } of group.items) {
        try {
          const fetched = await intoCache(repo, source, await locate(source, path), options);
          if (fetched.oid !== o.out.md5)
            throw new MlvError(
              "ECHANGED",
              `'${path}' of '${group.url}' at ${short(source.commit)} is ${fetched.oid}, but '${o.owner}' records ${o.out.md5}: run 'mlv update ${o.owner}' to take the source's version`,
              { data: { path, url: group.url } },
            );
          result.transferred += fetched.files.length;
        } catch (err) {
          result.failed.push({ path: o.rel, message: describe(err) });
        }
      }
    } catch (err) {
      for (const { o } of group.items) result.failed.push({ path: o.rel, message: describe(err) });
    } finally {
      if (source) await cleanup(source);
    }
  }
  return result;
}

// ---------------------------------------------------------------------------------- update

/** The import recorded in a pointer file, or a UsageError naming the file. */
export function importOf(pointer: PointerFile): { path: string; source: ImportSource } {
  const deps = pointer.top.deps;
  const dep = Array.isArray(deps) && deps.length === 1 ? (deps[0] as Record<string, unknown>) : undefined;
  const repo = dep?.repo as Record<string, unknown> | undefined;
  if (!dep || typeof dep.path !== "string" || !repo || typeof repo.url !== "string" || pointer.outs.length !== 1)
    throw new UsageError(
      `'${pointer.file}' is not an import (no 'deps' entry with a 'repo'): only files written by 'mlv import' or 'dvc import' can be updated`,
      { file: pointer.file },
    );
  const source: ImportSource = { url: repo.url };
  if (typeof repo.rev === "string") source.rev = repo.rev;
  if (typeof repo.rev_lock === "string") source.rev_lock = repo.rev_lock;
  if (repo.config !== undefined) source.config = repo.config;
  if (repo.remote !== undefined) source.remote = repo.remote;
  return { path: dep.path, source };
}

/**
 * `mlv update TARGET...`: move each import to its recorded revision's current commit (or `rev`,
 * which is then recorded), downloading and checking out the data when it changed.
 */
export async function update(
  repo: Repo,
  targets: readonly string[],
  options: UpdateOptions = {},
): Promise<UpdateResult[]> {
  if (targets.length === 0) throw new UsageError("update needs at least one target: mlv update FILE.dvc...");
  const cwd = options.cwd ?? process.cwd();
  const pointers: string[] = [];
  for (const target of targets) {
    const abs = resolve(cwd, target);
    repo.assertInside(abs, target);
    const ownerPath = abs.endsWith(".dvc") ? abs : `${abs}.dvc`;
    if (!existsSync(ownerPath))
      throw new MlvError("ENOTARGET", `'${target}' is neither an import's .dvc file nor the data of one`, {
        data: { target },
      });
    pointers.push(ownerPath);
  }
  const results: UpdateResult[] = [];
  for (const ownerPath of pointers) {
    const [tracked] = repo.loadPointer(ownerPath);
    const pointer = tracked?.pointer ?? parsePointer(await readFile(ownerPath, "utf8"), repo.relOf(ownerPath));
    const { path, source: def } = importOf(pointer);
    if (!tracked) throw new UsageError(`'${repo.relOf(ownerPath)}' has no output`, {});
    const rev = options.rev ?? def.rev;
    const source = await openSource(def.url, rev, cwd);
    try {
      const base = {
        pointer: repo.relOf(ownerPath),
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
      const fetched = await intoCache(repo, source, item, options);
      const text = importPointerText(
        path,
        { ...def, rev, rev_lock: source.commit },
        outWriteOf(tracked.out.path, fetched),
        pointer,
      );
      if (text !== pointer.text) await writeFileAtomic(ownerPath, text);
      await checkout(repo, repo.loadPointer(ownerPath), { force: options.force, onProgress: options.onProgress });
      results.push({ ...base, changed: true, origin: fetched.origin });
    } finally {
      await cleanup(source);
    }
  }
  return results;
}

export { pythonJsonDumps, stageMd5 } from "./stage-md5.js";
