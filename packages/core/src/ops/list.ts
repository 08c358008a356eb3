/**
 * `mlv list REPO [PATH]`: what a repository holds at a revision (or in its workspace), as DVC's
 * `dvc list` shows it: the files and folders git tracks, merged with the outputs the pointer files
 * track, including the files inside tracked folders (read from their `.dir` objects in the local
 * cache). Nothing is downloaded.
 */
import { existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { join, posix, relative, resolve, sep } from "node:path";
import ignore from "ignore";
import { raceAbort } from "../abort.js";
import { type AdapterSources, openRemote } from "../adapters.js";
import { HistoryOuts } from "../data-index/history-outs.js";
import { collectOuts } from "../data-index/index.js";
import type { TrackedOut } from "../data-index/types.js";
import { MlvError, UsageError } from "../errors.js";
import { cloneToTemp, isGitUrl } from "../external/source.js";
import { GitHistory } from "../git/history.js";
import { GitTreeReader } from "../git/tree.js";
import { Project } from "../project/project.js";
import { fetchDirManifests } from "../transfer/fetch.js";
import { commitFolders, type FolderSource, workspaceFolders } from "./list-folders.js";
import { type Node, Tree } from "./list-tree.js";

/** One listed file or folder, in `dvc list --json`'s shape. */
export interface ListEntry {
  /** Relative to the listed path (its own name when the listed path is a file), posix. */
  path: string;
  isdir: boolean;
  /** Whether this path is tracked data: an output, or a file or folder inside a tracked folder (as DVC marks them). */
  isout: boolean;
  isexec: boolean;
  /** Bytes; for a tracked folder, the total its pointer records; null when unknown (git folders). */
  size: number | null;
  /** The hash mlv/DVC records for it (`....dir` for a tracked folder); null for what only git tracks. */
  md5: string | null;
}

/** A tracked folder whose `.dir` object is not in the local cache: listed as a whole. */
export interface UnknownFolder {
  /** As in `ListEntry.path`. */
  path: string;
  /** From the repository root, posix. */
  repoPath: string;
  md5: string;
  nfiles: number | null;
  size: number | null;
}

export interface ListOptions {
  /** A path inside the repository, from its root (posix or native, whatever `process.cwd()` is); default the root. */
  path?: string;
  /** A git revision; default the workspace. */
  rev?: string;
  /** List every file below, at any depth (files only, as `dvc list -R`). */
  recursive?: boolean;
  /** Only tracked outputs, what they hold, and the folders leading to them. */
  dvcOnly?: boolean;
  /** For a git URL: how the source's default remote is opened, for the file lists of tracked folders. */
  adapters?: AdapterSources;
  /** Abort: the call rejects with the signal's reason; a temporary clone is removed all the same. */
  signal?: AbortSignal;
}

export interface ListResult {
  /** The repository's root. */
  root: string;
  /** The commit listed; undefined for the workspace. */
  commit?: string;
  entries: ListEntry[];
  /** Tracked folders that were listed without their contents. */
  unknown: UnknownFolder[];
}

/** Open REPO (a local path, its root) for `list`, `get` and the like. */
async function openLocal(repoPath: string): Promise<Project> {
  const abs = resolve(repoPath);
  if (!existsSync(abs) || !statSync(abs).isDirectory())
    throw new UsageError(`'${repoPath}' is not a folder: REPO is the local path of an mlv or DVC repository`, {
      repo: repoPath,
    });
  const repo = await Project.open(abs);
  if (repo.root !== abs)
    throw new UsageError(
      `'${repoPath}' is inside the repository '${repo.root}', not its root: give the repository as REPO and the path inside it as PATH`,
      { repo: repoPath, root: repo.root },
      `For example: 'mlv list ${relative(process.cwd(), repo.root) || "."} ${relative(repo.root, abs).split(sep).join("/")}'.`,
    );
  return repo;
}

/**
 * List what an mlv/DVC repository (`repoPath`: the root of a local one, relative to
 * `process.cwd()`, or a git URL) holds at `rev` (default: its workspace) below `path`, like
 * `dvc list`: without `recursive`, the entries of the folder (or the file itself); with it, every
 * file below. A tracked folder whose `.dir` object is not in that repository's cache is listed as a
 * whole and reported in `unknown`.
 */
export function list(repoPath: string, options: ListOptions = {}): Promise<ListResult> {
  return raceAbort(options.signal, async () => {
    if (isGitUrl(repoPath)) return listClone(repoPath, options);
    const repo = await openLocal(repoPath);
    try {
      return await listProject(repo, options);
    } finally {
      await repo.close();
    }
  });
}

/** `list` of a project already open (the `Repo` handle's `list`): `repoPath` is its root. */
export function listProject(project: Project, options: ListOptions = {}): Promise<ListResult> {
  return raceAbort(options.signal, () => listRepo(project, project.root, options));
}

/**
 * `list` of a git URL: a shallow clone of `rev` (default HEAD) made in a temporary folder, read as a
 * revision with the project's config of that commit, whose default remote gives the file lists of
 * tracked folders.
 */
async function listClone(url: string, options: ListOptions): Promise<ListResult> {
  const clone = await cloneToTemp(url, options.rev);
  try {
    const dvcDir = join(clone.dir, ".dvc");
    mkdirSync(dvcDir, { recursive: true });
    writeFileSync(join(dvcDir, "config"), (await clone.history.configTextAtRevision(clone.commit)) ?? "");
    options.signal?.throwIfAborted();
    const repo = await Project.open(clone.dir);
    try {
      const result = await listRepo(repo, url, { ...options, rev: clone.commit }, async (outs) => {
        if (!outs.some((o) => o.isDir)) return;
        const opened = await openRemote(repo.config, undefined, options.adapters).catch(() => undefined);
        if (opened === undefined) return; // no usable remote: the folders are listed as unknown
        try {
          await fetchDirManifests(repo, outs, opened.remote);
        } finally {
          await opened.remote.close?.();
        }
      });
      return { ...result, root: url };
    } finally {
      await repo.close();
    }
  } finally {
    await clone.remove();
  }
}

async function listRepo(
  repo: Project,
  repoPath: string,
  options: ListOptions,
  beforeListing?: (outs: TrackedOut[]) => Promise<void>,
): Promise<ListResult> {
  let folders: FolderSource;
  let outs: TrackedOut[];
  let commit: string | undefined;
  if (options.rev === undefined) {
    folders = workspaceFolders(repo);
    outs = await collectOuts(repo);
  } else {
    const scm = await repo.scm();
    if (!scm)
      throw new UsageError(`--rev reads versions from git, and '${repoPath}' is not in a git repository`, {
        repo: repoPath,
      });
    const history = new GitHistory(scm.root);
    commit = await history.resolveRevision(options.rev);
    const subdir = relative(scm.root, repo.root).split(sep).join("/");
    const reader = new GitTreeReader(scm.root);
    const top = await reader.entryAt((await history.commit(commit)).tree, subdir === "" ? [] : subdir.split("/"));
    if (top?.type !== "tree")
      throw new MlvError(
        "ENOTREPO",
        `revision '${options.rev}' of '${scm.root}' has no folder '${subdir}': the project did not exist there yet`,
        { data: { rev: options.rev, commit } },
      );
    const dvcignore = (await reader.entries(top.oid)).find((e) => e.name === ".dvcignore" && e.type === "blob");
    const rules = dvcignore ? ignore().add(Buffer.from(await reader.blob(dvcignore.oid)).toString("utf8")) : null;
    folders = commitFolders(reader, top.oid, rules);
    outs = await new HistoryOuts(history).at(commit, { subdir: subdir || undefined });
  }
  // `cache: false` outputs are files git keeps, listed as such (as DVC lists them).
  outs = outs.filter((o) => o.out.raw.cache !== false);
  await beforeListing?.(outs);
  const tree = new Tree(repo, folders, outs);
  const entries = await listBelow(tree, repo, options, commit);
  return { root: repo.root, commit, ...entries };
}

async function listBelow(
  tree: Tree,
  repo: Project,
  options: ListOptions,
  commit: string | undefined,
): Promise<{ entries: ListEntry[]; unknown: UnknownFolder[] }> {
  const given = options.path ?? "";
  const normal = posix
    .normalize(given.split(sep).join("/"))
    .replace(/^\.\/?/, "")
    .replace(/\/+$/, "");
  if (normal === ".." || normal.startsWith("../") || posix.isAbsolute(normal))
    throw new UsageError(`'${given}' is outside the repository '${repo.root}'`, { path: given });
  const parts = normal === "" || normal === "." ? [] : normal.split("/");
  const where = commit === undefined ? "in the workspace" : `at revision ${commit.slice(0, 7)}`;
  let node = tree.root();
  for (const [i, part] of parts.entries()) {
    options.signal?.throwIfAborted();
    const children = node.children ? await node.children() : [];
    const next = children.find((c) => c.name === part);
    if (next === undefined) {
      if (node.unknown && node.md5)
        throw new MlvError(
          "ENOTINCACHE",
          `'${given}' is inside '${node.rel}', whose file list (${node.md5}) is not in the cache of '${repo.root}': fetch it there first`,
          {
            data: { path: given, md5: node.md5 },
            hint: `Run 'mlv fetch${options.rev === undefined ? "" : ` --rev ${options.rev}`} ${node.rel}' in '${repo.root}'.`,
          },
        );
      throw new MlvError(
        "ENOTARGET",
        `'${given}' does not exist in '${repo.root}' ${where}${i > 0 ? ` ('${parts.slice(0, i).join("/")}' has no '${part}')` : ""}`,
        { data: { path: given, commit } },
      );
    }
    node = next;
  }
  const { signal } = options;
  const keep = (n: Node) => !options.dvcOnly || n.tracked || (n.isdir && tree.holdsOuts.has(n.rel));
  const found: { path: string; node: Node }[] = [];
  const unknown: UnknownFolder[] = [];
  const noteUnknown = (path: string, n: Node) =>
    unknown.push({ path, repoPath: n.rel, md5: n.md5!, nfiles: n.unknown?.nfiles ?? null, size: null });

  if (!node.isdir) found.push({ path: node.name, node });
  else {
    const children = await node.children!();
    if (node.unknown) {
      found.push({ path: node.name, node });
      noteUnknown(node.name, node);
    } else if (!options.recursive) {
      for (const c of children) if (keep(c)) found.push({ path: c.name, node: c });
      // A tracked folder listed here is shown as is; note it when its contents are unknown.
      for (const { path, node: c } of found)
        if (c.isout && c.isdir && c.children) {
          await c.children();
          if (c.unknown) noteUnknown(path, c);
        }
    } else {
      const walk = async (dir: Node[], prefix: string) => {
        for (const c of dir) {
          signal?.throwIfAborted();
          if (!keep(c)) continue;
          const path = prefix === "" ? c.name : `${prefix}/${c.name}`;
          if (!c.isdir) {
            found.push({ path, node: c });
            continue;
          }
          const inner = await c.children!();
          if (c.unknown) {
            found.push({ path, node: c });
            noteUnknown(path, c);
          } else await walk(inner, path);
        }
      };
      await walk(children, "");
    }
  }
  found.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const entries = await Promise.all(
    found.map(
      async ({ path, node: n }): Promise<ListEntry> => ({
        path,
        isdir: n.isdir,
        isout: n.isout,
        isexec: n.isexec,
        size: await n.size(),
        md5: n.md5,
      }),
    ),
  );
  for (const u of unknown) u.size = entries.find((e) => e.path === u.path)?.size ?? null;
  return { entries, unknown };
}
