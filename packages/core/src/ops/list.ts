/**
 * `mlv list REPO [PATH]`: what a repository holds at a revision (or in its workspace), as DVC's
 * `dvc list` shows it: the files and folders git tracks, merged with the outputs the pointer files
 * track, including the files inside tracked folders (read from their `.dir` objects in the local
 * cache). Nothing is downloaded.
 */
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join, posix, relative, resolve, sep } from "node:path";
import ignore, { type Ignore } from "ignore";
import { type AdapterSources, openRemote } from "../adapters.js";
import { collectOuts } from "../data-index/index.js";
import { MlvError, UsageError } from "../errors.js";
import { GitHistory } from "../git/history.js";
import { GitTreeReader } from "../git/tree.js";
import { Repo, type TrackedOut } from "../repo.js";
import { readDirObject } from "../workspace/manifests.js";
import { cloneToTemp, isGitUrl } from "./get.js";
import { fetchDirManifests } from "./transfer.js";

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
  /** A path inside the repository (posix or native, from its root); default the root. */
  path?: string;
  /** A git revision; default the workspace. */
  rev?: string;
  /** List every file below, at any depth (files only, as `dvc list -R`). */
  recursive?: boolean;
  /** Only tracked outputs, what they hold, and the folders leading to them. */
  dvcOnly?: boolean;
  /** For a git URL: how the source's default remote is opened, for the file lists of tracked folders. */
  adapters?: AdapterSources;
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

/** What a folder holds in the source: git's tree at a commit, or the workspace on disk. */
interface SourceEntry {
  name: string;
  isdir: boolean;
  isexec: boolean;
  size: () => Promise<number | null>;
}

interface Source {
  /** The entries of a folder (from the project root, posix; "" for the root); empty when absent. */
  children(rel: string): Promise<SourceEntry[]>;
}

interface Node {
  /** From the project root, posix. */
  rel: string;
  name: string;
  isdir: boolean;
  isout: boolean;
  isexec: boolean;
  size: () => Promise<number | null>;
  md5: string | null;
  /** Inside (or is) a tracked output. */
  tracked: boolean;
  /** A tracked folder whose contents are not known. */
  unknown?: { nfiles: number | null };
  children?: () => Promise<Node[]>;
}

/** Paths every walk leaves out (spec §2.4). */
const BUILTIN = new Set([".git", ".hg", ".dvc"]);
const NO_SIZE = () => Promise.resolve(null);

function byName(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function parentOf(rel: string): string {
  const i = rel.lastIndexOf("/");
  return i < 0 ? "" : rel.slice(0, i);
}

function join2(dir: string, name: string): string {
  return dir === "" ? name : `${dir}/${name}`;
}

/** Open REPO (a local path, its root) for `list`, `get` and the like. */
async function openLocal(repoPath: string): Promise<Repo> {
  const abs = resolve(repoPath);
  if (!existsSync(abs) || !statSync(abs).isDirectory())
    throw new UsageError(`'${repoPath}' is not a folder: REPO is the local path of an mlv or DVC repository`, {
      repo: repoPath,
    });
  const repo = await Repo.open(abs);
  if (repo.root !== abs)
    throw new UsageError(
      `'${repoPath}' is inside the repository '${repo.root}', not its root: give the repository as REPO and the path inside it as PATH (e.g. 'mlv list ${relative(process.cwd(), repo.root) || "."} ${relative(repo.root, abs).split(sep).join("/")}')`,
      { repo: repoPath, root: repo.root },
    );
  return repo;
}

function workspaceSource(repo: Repo): Source {
  return {
    async children(rel) {
      const abs = join(repo.root, rel);
      let dirents: import("node:fs").Dirent[];
      try {
        dirents = readdirSync(abs, { withFileTypes: true });
      } catch {
        return [];
      }
      const found: SourceEntry[] = [];
      for (const d of dirents) {
        if (BUILTIN.has(d.name)) continue;
        const childAbs = join(abs, d.name);
        const st = statSync(childAbs, { throwIfNoEntry: false });
        if (!st) continue; // a dangling link
        const isdir = st.isDirectory();
        if (repo.ignore.isIgnored(join2(rel, d.name), isdir)) continue;
        found.push({
          name: d.name,
          isdir,
          isexec: !isdir && (st.mode & 0o111) !== 0,
          size: () => Promise.resolve(isdir ? null : st.size),
        });
      }
      return found;
    },
  };
}

function gitSource(reader: GitTreeReader, projectTree: string, rules: Ignore | null): Source {
  return {
    async children(rel) {
      const entry = await reader.entryAt(projectTree, rel === "" ? [] : rel.split("/"));
      if (entry?.type !== "tree") return [];
      const found: SourceEntry[] = [];
      for (const e of await reader.entries(entry.oid)) {
        if (BUILTIN.has(e.name)) continue;
        const isdir = e.type !== "blob";
        if (rules?.ignores(`${join2(rel, e.name)}${isdir ? "/" : ""}`)) continue;
        found.push({
          name: e.name,
          isdir,
          isexec: e.mode === "100755",
          size: isdir ? NO_SIZE : () => reader.blobSize(e.oid),
        });
      }
      return found;
    },
  };
}

/** The merged tree of one repository version: git's (or the workspace's) files, and the tracked outputs. */
class Tree {
  private readonly outs = new Map<string, TrackedOut>();
  /** Folders (from the project root) that hold tracked outputs, at any depth. */
  readonly holdsOuts = new Set<string>();
  readonly unknown: { node: Node; md5: string }[] = [];

  constructor(
    private readonly repo: Repo,
    private readonly source: Source,
    outs: readonly TrackedOut[],
  ) {
    for (const o of outs) {
      this.outs.set(o.rel, o);
      for (let p = parentOf(o.rel); p !== ""; p = parentOf(p)) this.holdsOuts.add(p);
    }
  }

  root(): Node {
    return this.folder("", "", () => Promise.resolve(null));
  }

  private folder(rel: string, name: string, size: () => Promise<number | null>): Node {
    return {
      rel,
      name,
      isdir: true,
      isout: false,
      isexec: false,
      size,
      md5: null,
      tracked: false,
      children: () => this.childrenOf(rel),
    };
  }

  private async childrenOf(rel: string): Promise<Node[]> {
    const named = new Map<string, Node>();
    for (const e of await this.source.children(rel)) {
      const childRel = join2(rel, e.name);
      const out = this.outs.get(childRel);
      if (out) named.set(e.name, this.outNode(out, e.name));
      else if (e.isdir) named.set(e.name, this.folder(childRel, e.name, e.size));
      else
        named.set(e.name, {
          rel: childRel,
          name: e.name,
          isdir: false,
          isout: false,
          isexec: e.isexec,
          size: e.size,
          md5: null,
          tracked: false,
        });
    }
    // Outputs git does not track (they are git-ignored), and folders that only hold such outputs.
    for (const [outRel, out] of this.outs) {
      if (parentOf(outRel) !== rel) continue;
      const name = outRel.slice(rel === "" ? 0 : rel.length + 1);
      named.set(name, this.outNode(out, name));
    }
    for (const folderRel of this.holdsOuts) {
      if (parentOf(folderRel) !== rel) continue;
      const name = folderRel.slice(rel === "" ? 0 : rel.length + 1);
      if (!named.has(name)) named.set(name, this.folder(folderRel, name, NO_SIZE));
    }
    return [...named.values()].sort(byName);
  }

  private outNode(out: TrackedOut, name: string): Node {
    const md5 = out.out.md5 ?? null;
    const size = () => Promise.resolve(out.out.size ?? null);
    if (!out.isDir)
      return {
        rel: out.rel,
        name,
        isdir: false,
        isout: true,
        isexec: out.out.isexec ?? false,
        size,
        md5,
        tracked: true,
      };
    const node: Node = { rel: out.rel, name, isdir: true, isout: true, isexec: false, size, md5, tracked: true };
    let manifest: Promise<Map<string, Node[]> | undefined> | undefined;
    const folders = () => {
      manifest ??= this.manifestTree(out);
      return manifest;
    };
    node.children = async () => {
      const tree = await folders();
      if (tree === undefined) {
        node.unknown = { nfiles: out.out.nfiles ?? null };
        return [];
      }
      return tree.get("") ?? [];
    };
    return node;
  }

  /** A tracked folder's files, by folder (relative to it); undefined when its `.dir` object is not cached. */
  private async manifestTree(out: TrackedOut): Promise<Map<string, Node[]> | undefined> {
    const oid = out.out.md5!;
    let files: Awaited<ReturnType<typeof readDirObject>>;
    try {
      files = await readDirObject(this.repo, oid, out.hashName);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
    const tree = new Map<string, Node[]>();
    const made = new Set<string>();
    const add = (dir: string, node: Node) => {
      const list = tree.get(dir) ?? tree.set(dir, []).get(dir)!;
      list.push(node);
    };
    for (const f of files) {
      const parts = f.relpath.split("/");
      for (let i = 1; i < parts.length; i++) {
        const dir = parts.slice(0, i).join("/");
        if (made.has(dir)) continue;
        made.add(dir);
        const folderNode: Node = {
          rel: `${out.rel}/${dir}`,
          name: parts[i - 1]!,
          isdir: true,
          isout: true,
          isexec: false,
          size: NO_SIZE,
          md5: null,
          tracked: true,
          children: async () => tree.get(dir) ?? [],
        };
        add(parts.slice(0, i - 1).join("/"), folderNode);
      }
      const recorded = (f as { extra?: Record<string, unknown> }).extra;
      const objectPath = this.repo.cache.path(f.md5, out.hashName);
      add(parts.slice(0, -1).join("/"), {
        rel: `${out.rel}/${f.relpath}`,
        name: parts[parts.length - 1]!,
        isdir: false,
        isout: true,
        isexec: recorded?.isexec === true,
        size: () =>
          Promise.resolve(
            typeof recorded?.size === "number"
              ? recorded.size
              : (statSync(objectPath, { throwIfNoEntry: false })?.size ?? null),
          ),
        md5: f.md5,
        tracked: true,
      });
    }
    for (const list of tree.values()) list.sort(byName);
    return tree;
  }
}

/**
 * List what a local mlv/DVC repository holds at `rev` (default: its workspace) below `path`, like
 * `dvc list`: without `recursive`, the entries of the folder (or the file itself); with it, every
 * file below. A tracked folder whose `.dir` object is not in that repository's cache is listed as a
 * whole and reported in `unknown`.
 */
export async function list(repoPath: string, options: ListOptions = {}): Promise<ListResult> {
  if (isGitUrl(repoPath)) return listClone(repoPath, options);
  const repo = await openLocal(repoPath);
  try {
    return await listRepo(repo, repoPath, options);
  } finally {
    await repo.close();
  }
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
    const repo = await Repo.open(clone.dir);
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
  repo: Repo,
  repoPath: string,
  options: ListOptions,
  beforeListing?: (outs: TrackedOut[]) => Promise<void>,
): Promise<ListResult> {
  let source: Source;
  let outs: TrackedOut[];
  let commit: string | undefined;
  if (options.rev === undefined) {
    source = workspaceSource(repo);
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
    source = gitSource(reader, top.oid, rules);
    outs = await history.outsAtRevision(commit, { subdir: subdir || undefined });
  }
  // `cache: false` outputs are files git keeps, listed as such (as DVC lists them).
  outs = outs.filter((o) => o.out.raw.cache !== false);
  await beforeListing?.(outs);
  const tree = new Tree(repo, source, outs);
  const entries = await listBelow(tree, repo, options, commit);
  return { root: repo.root, commit, ...entries };
}

async function listBelow(
  tree: Tree,
  repo: Repo,
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
    const children = node.children ? await node.children() : [];
    const next = children.find((c) => c.name === part);
    if (next === undefined) {
      if (node.unknown && node.md5)
        throw new MlvError(
          "ENOTINCACHE",
          `'${given}' is inside '${node.rel}', whose file list (${node.md5}) is not in the cache of '${repo.root}': run 'mlv fetch${options.rev === undefined ? "" : ` --rev ${options.rev}`} ${node.rel}' there first`,
          { data: { path: given, md5: node.md5 } },
        );
      throw new MlvError(
        "ENOTARGET",
        `'${given}' does not exist in '${repo.root}' ${where}${i > 0 ? ` ('${parts.slice(0, i).join("/")}' has no '${part}')` : ""}`,
        { data: { path: given, commit } },
      );
    }
    node = next;
  }
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
