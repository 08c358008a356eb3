/**
 * `mlv get` (spec §1.6): data tracked by another git repository, read at any revision without a
 * checkout, copied out without needing a repository here.
 */
import { existsSync, statSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, posix, resolve, sep } from "node:path";
import { replaceWith } from "../atomic-write.js";
import { type LinkType, tmpName } from "../cache/object-cache.js";
import { MlvError, translateFsError } from "../errors.js";
import { Project } from "../project/project.js";
import { type DataOrigin, type Fetched, fetchItem } from "./fetch-from-source.js";
import { locate } from "./locate.js";
import { openChosenRemote, type RemoteChoice } from "./remote-override.js";
import { closeSource, openSource, type Source, type SourceOptions } from "./source.js";

export interface GetOptions extends SourceOptions, RemoteChoice {
  /** Where to put the data; default the basename of PATH in `cwd` (inside it when it is a folder). */
  out?: string;
  /** Replace an existing `out`. */
  force?: boolean;
}

export interface GetResult {
  /** Absolute path written. */
  path: string;
  isDir: boolean;
  files: number;
  origin: DataOrigin;
  /** The source commit read. */
  revLock: string;
}

/** DVC's `resolve_output`: OUT, inside OUT when it is a folder, else the basename of PATH. */
export function resolveOutput(path: string, out: string | undefined, cwd: string, force: boolean | undefined): string {
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

/** A throw-away project whose cache receives the objects of a `get`. */
async function scratchProject(): Promise<{ project: Project; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), "mlv-get-"));
  await mkdir(join(dir, ".dvc"));
  await writeFile(join(dir, ".dvc", "config"), "[core]\n    no_scm = True\n[cache]\n    dir = cache\n");
  return { project: await Project.open(dir), dir };
}

/** Copy fetched objects out of a cache to `dest`, whole or not at all. */
async function placeCopy(cacheProject: Project, fetched: Fetched, dest: string, signal?: AbortSignal): Promise<void> {
  await mkdir(dirname(dest), { recursive: true });
  const types: LinkType[] = ["reflink", "copy"];
  const staged = tmpName(dirname(dest));
  try {
    if (!fetched.isDir) {
      await cacheProject.cache.linkTo(fetched.oid, fetched.hashName, staged, types, fetched.isexec);
    } else {
      await mkdir(staged);
      for (const f of fetched.files) {
        signal?.throwIfAborted();
        const target = join(staged, ...f.relpath.split("/"));
        await mkdir(dirname(target), { recursive: true });
        await cacheProject.cache.linkTo(f.oid, fetched.hashName, target, types);
      }
    }
    signal?.throwIfAborted();
    await replaceWith(staged, dest);
  } catch (err) {
    await rm(staged, { recursive: true, force: true }).catch(() => {});
    throw translateFsError(err, dest);
  }
}

/** The options with `remote`/`remoteConfig` turned into the way the source's remote is opened. */
function withChosenRemote(options: GetOptions, root: string): GetOptions {
  if (options.connect || (options.remote === undefined && options.remoteConfig === undefined)) return options;
  return { ...options, connect: (config) => openChosenRemote(config, options, root, options.adapters) };
}

/**
 * `mlv get URL PATH`: copy what PATH (from the root of that repository) is at a revision of another
 * repository (an output, a file or folder inside a tracked folder, or a plain git file) to `out`,
 * without needing a repository here. `url` and `out`, when relative, start at `cwd` (default
 * `process.cwd()`). With `signal`, the call stops between objects and rejects with its reason;
 * `out` is then left as it was (the copy is put in place whole, or not at all).
 */
export async function get(url: string, path: string, options: GetOptions = {}): Promise<GetResult> {
  options.signal?.throwIfAborted();
  const cwd = options.cwd ?? process.cwd();
  const dest = resolveOutput(path, options.out, cwd, options.force);
  const source = await openSource(url, options.rev, cwd);
  try {
    return await getFromSource(source, path, dest, options);
  } finally {
    await closeSource(source);
  }
}

/** `get` from a source already open, at its commit, to the absolute path `dest` (see `resolveOutput`). */
export async function getFromSource(
  source: Source,
  path: string,
  dest: string,
  options: GetOptions,
): Promise<GetResult> {
  const item = await locate(source, path);
  if (item.kind === "git") {
    await mkdir(dirname(dest), { recursive: true });
    options.signal?.throwIfAborted();
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
  const scratch = await scratchProject();
  source.temp.push(scratch.dir);
  try {
    const fetched = await fetchItem(source, item, scratch.project, withChosenRemote(options, source.root));
    options.signal?.throwIfAborted();
    await placeCopy(scratch.project, fetched, dest, options.signal);
    return {
      path: dest,
      isDir: fetched.isDir,
      files: fetched.files.length,
      origin: fetched.origin,
      revLock: source.commit,
    };
  } finally {
    await scratch.project.close();
  }
}
