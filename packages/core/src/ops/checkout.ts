import { lstatSync, type Stats, statSync } from "node:fs";
import { chmod, mkdir, rm, rmdir, unlink } from "node:fs/promises";
import { dirname, join, sep } from "node:path";
import { removeIfStale, removeStaleTemps } from "../atomic-write.js";
import type { HashName, LinkType } from "../cache/object-cache.js";
import type { TrackedOut } from "../data-index/types.js";
import { FormatError, MlvError, PartialFailureError } from "../errors.js";
import type { LinkTask } from "../hash/pool.js";
import { ProgressCounter, type ProgressListener } from "../progress.js";
import type { Project } from "../project/project.js";
import { hashWorkspacePath, isInCache } from "../workspace/hasher.js";

export interface CheckoutOptions {
  force?: boolean;
  relink?: boolean;
  onProgress?: ProgressListener;
  /** Stops between outputs and files (each file is written whole or not at all); the call rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface CheckoutResult {
  added: string[];
  modified: string[];
  /** Outputs whose data is not in the cache: left as they were. */
  failed: string[];
  /** Which of the paths above are folders (shown with a trailing "/"). */
  dirs: string[];
}

/** A workspace file to create from a cache object. */
export interface FileToCreate {
  oid: string;
  /** Absolute destination. */
  readonly dest: string;
  /** Path from the repository root. */
  readonly rel: string;
  isexec: boolean;
}

/** A file of a tracked folder; its paths are spelled out only when it is written (memory, at 50,000 files). */
class FolderFile implements FileToCreate {
  readonly isexec = false;
  constructor(
    private readonly out: TrackedOut,
    private readonly relpath: string,
    readonly oid: string,
  ) {}

  get dest(): string {
    return join(this.out.abs, this.relpath);
  }

  get rel(): string {
    return `${this.out.rel}/${this.relpath}`;
  }
}

interface Plan {
  out: TrackedOut;
  change: "added" | "modified" | "relink" | "exec";
  /** Workspace files to delete (absolute). */
  remove: string[];
  /** Whether the workspace path must first be removed whole (a file where a folder goes, or vice versa). */
  removeWhole: boolean;
  /** Symbolic links where a tracked folder has subfolders: removed (the links, not what they point to) before writing. */
  unlinkFirst: string[];
  /** Files to create from the cache. */
  create: FileToCreate[];
  /** Their bytes: the pointer's size when every file of the output is created, else the cache objects' sizes. */
  bytes: number;
  chmodExec: string[];
}

/**
 * `mlv checkout`: make the workspace match the pointer files, from the cache. Files that would be
 * overwritten or deleted and whose content is not in the cache stop the command unless `force`.
 */
export async function checkout(
  project: Project,
  outs: TrackedOut[],
  options: CheckoutOptions = {},
): Promise<CheckoutResult> {
  const result: CheckoutResult = {
    added: [],
    modified: [],
    failed: [],
    dirs: outs.filter((o) => o.isDir).map((o) => o.rel),
  };
  const plans: Plan[] = [];
  const unsaved: string[] = [];
  const fileFolders = new Set<string>();

  for (const out of outs) {
    options.signal?.throwIfAborted();
    const oid = out.out.md5;
    if (!oid || out.out.raw?.cache === false) continue;
    if (!(await isInCache(project, oid, out.hashName))) {
      result.failed.push(out.rel);
      continue;
    }
    refuseLinkedParents(project.root, out);
    const plan: Plan = {
      out,
      change: "modified",
      remove: [],
      removeWhole: false,
      unlinkFirst: [],
      create: [],
      bytes: 0,
      chmodExec: [],
    };
    // A link to a folder where a tracked folder goes is never written through: the link itself
    // is replaced (like unsaved changes, only with --force), whatever it points to.
    const linkedFolder = out.isDir && isLinkToFolder(out.abs);
    if (linkedFolder) {
      unsaved.push(out.rel);
      plan.removeWhole = true;
    }
    const ws = linkedFolder
      ? ({ kind: "missing" } as const)
      : await hashWorkspacePath(project, out.abs, out.hashName, { expectedFiles: out.out.nfiles });
    const inCache = (md5: string) => project.cache.exists(md5, out.hashName);
    // What a killed checkout or pull left: a file output's temporary sits beside it, a folder's inside.
    if (ws.kind === "dir") removeIfStale(ws.temps);
    if (!out.isDir && !fileFolders.has(dirname(out.abs))) {
      fileFolders.add(dirname(out.abs));
      removeStaleTemps(dirname(out.abs));
    }
    if (!out.isDir) {
      const isexec = out.out.isexec === true;
      if (ws.kind === "file" && ws.md5 === oid) {
        if (options.relink) plan.change = "relink";
        else if (isexec && !ws.isexec) {
          plan.change = "exec";
          plan.chmodExec.push(out.abs);
        } else continue;
      } else if (ws.kind === "missing") plan.change = "added";
      else if (ws.kind === "file" && !inCache(ws.md5)) unsaved.push(out.rel);
      else if (ws.kind === "dir") {
        plan.removeWhole = true;
        for (const e of ws.entries) if (!inCache(e.md5)) unsaved.push(`${out.rel}/${e.relpath}`);
      }
      if (plan.change !== "exec") {
        plan.create.push({ oid, dest: out.abs, rel: out.rel, isexec });
        plan.bytes = objectSize(project, oid, out.hashName);
      }
      plans.push(plan);
      continue;
    }

    const entries = await project.cache.readDirObject(oid, out.hashName);
    refuseFileFolderClash(out, entries);
    const current = new Map<string, string>();
    if (ws.kind === "dir") for (const e of ws.entries) current.set(e.relpath, e.md5);
    else if (ws.kind === "file") {
      plan.removeWhole = true;
      if (!inCache(ws.md5)) unsaved.push(out.rel);
    }
    if (ws.kind === "missing") plan.change = "added";
    const wanted = new Set<string>();
    for (const e of entries) {
      wanted.add(e.relpath);
      const have = current.get(e.relpath);
      if (have === e.md5 && !options.relink) continue;
      if (have !== undefined && have !== e.md5 && !inCache(have)) unsaved.push(`${out.rel}/${e.relpath}`);
      plan.create.push(new FolderFile(out, e.relpath, e.md5));
    }
    for (const [relpath, md5] of current) {
      if (wanted.has(relpath)) continue;
      plan.remove.push(join(out.abs, ...relpath.split("/")));
      if (!inCache(md5)) unsaved.push(`${out.rel}/${relpath}`);
    }
    for (const link of linkedSubfolders(out, plan.create)) {
      unsaved.push(`${out.rel}/${link}`); // replaced by a real folder with --force; its target is never touched
      plan.unlinkFirst.push(join(out.abs, link));
    }
    if (plan.create.length === 0 && plan.remove.length === 0 && ws.kind === "dir") continue;
    if (
      options.relink &&
      plan.remove.length === 0 &&
      ws.kind === "dir" &&
      entries.every((e) => current.get(e.relpath) === e.md5)
    )
      plan.change = "relink";
    // A whole folder's bytes are in its pointer (with copies of one file counted each time, as they are written).
    plan.bytes =
      plan.create.length === entries.length && out.out.size !== undefined
        ? out.out.size
        : plan.create.reduce((n, f) => n + objectSize(project, f.oid, out.hashName), 0);
    plans.push(plan);
  }

  if (unsaved.length > 0 && !options.force)
    throw new MlvError(
      "EUNSAVED",
      `Can't remove the following unsaved files without confirmation. Use \`--force\` to force.\n${unsaved.map((p) => `\t${p}`).join("\n")}`,
      { data: { files: unsaved } },
    );

  const types = project.linkTypes();
  const progress = new ProgressCounter(
    options.onProgress,
    "checkout",
    plans.reduce((n, p) => n + p.create.length, 0),
    plans.reduce((n, p) => n + p.bytes, 0),
  );
  progress.start();
  for (const plan of plans) {
    options.signal?.throwIfAborted();
    const { out } = plan;
    progress.target = out.rel;
    if (plan.removeWhole) await rm(out.abs, { recursive: true, force: true });
    for (const link of plan.unlinkFirst) await unlink(link).catch(() => {});
    for (const f of plan.remove) await unlink(f).catch(() => {});
    if (plan.remove.length > 0) await removeEmptyDirs(out.abs, plan.remove);
    for (const f of plan.chmodExec) {
      const st = statSync(f);
      await chmod(f, st.mode | 0o111);
    }
    if (out.isDir) await mkdir(out.abs, { recursive: true });
    else await mkdir(dirname(out.abs), { recursive: true });
    await materialise(project, out.hashName, plan.create, types, progress, options.signal);
    if (plan.change === "added") result.added.push(out.rel);
    else if (plan.change !== "relink" || options.relink) result.modified.push(out.rel);
  }
  return result;
}

/**
 * Refuse an output below a folder that is a symbolic link: writing there would land wherever the
 * link points, maybe outside the project (git, too, never writes through a linked folder).
 */
function refuseLinkedParents(root: string, out: TrackedOut): void {
  const parts = out.rel.split("/");
  for (let i = 1; i < parts.length; i++) {
    const folder = parts.slice(0, i).join("/");
    const st = lstatSync(join(root, folder), { throwIfNoEntry: false });
    if (st === undefined) return;
    if (st.isSymbolicLink())
      throw new MlvError(
        "ELINKED",
        `cannot check out '${out.rel}' (${out.owner}): '${folder}' is a symbolic link, and mlv does not write through links. Replace it by a real folder`,
        { data: { path: out.rel, link: folder } },
      );
  }
}

/**
 * Subfolders (relative to the output) through which files would be written but that are symbolic
 * links: writing through one would put files wherever it points, maybe outside the project.
 */
function linkedSubfolders(out: TrackedOut, create: readonly FileToCreate[]): string[] {
  const links: string[] = [];
  const checked = new Set<string>();
  const prefix = `${out.rel}/`;
  for (const f of create) {
    const rel = f.rel.startsWith(prefix) ? f.rel.slice(prefix.length) : "";
    let at = rel.indexOf("/");
    while (at !== -1) {
      const sub = rel.slice(0, at);
      if (checked.has(sub)) {
        if (links.includes(sub)) break; // never look through a link, even to list what is behind it
        at = rel.indexOf("/", at + 1);
        continue;
      }
      checked.add(sub);
      const st = lstatSync(join(out.abs, sub), { throwIfNoEntry: false });
      if (st === undefined) break; // not there yet: made as a real folder
      if (st.isSymbolicLink()) {
        links.push(sub);
        break;
      }
      at = rel.indexOf("/", at + 1);
    }
  }
  return links;
}

/** A folder's listing naming `x` as a file and `x/y` inside it cannot be written: say so before writing. */
function refuseFileFolderClash(out: TrackedOut, entries: readonly { relpath: string }[]): void {
  const files = new Set(entries.map((e) => e.relpath));
  for (const { relpath } of entries)
    for (let at = relpath.indexOf("/"); at !== -1; at = relpath.indexOf("/", at + 1))
      if (files.has(relpath.slice(0, at)))
        throw new FormatError(
          out.owner,
          `the file list of '${out.rel}' (${out.out.md5}) names '${relpath.slice(0, at)}' both as a file and as the folder holding '${relpath}': it cannot be checked out. The listing was made that way: ask whoever pushed it for a good one`,
        );
}

function isLinkToFolder(abs: string): boolean {
  return (
    lstatSync(abs, { throwIfNoEntry: false })?.isSymbolicLink() === true &&
    statSync(abs, { throwIfNoEntry: false })?.isDirectory() === true
  );
}

/** Remove folders left empty by deletions, deepest first, never `top` itself. */
async function removeEmptyDirs(top: string, removed: string[]): Promise<void> {
  const dirs = new Set<string>();
  for (const f of removed) {
    for (let d = dirname(f); d.startsWith(top + sep); d = dirname(d)) dirs.add(d);
  }
  for (const d of [...dirs].sort((a, b) => b.length - a.length)) await rmdir(d).catch(() => {});
}

/** The size of a cache object (0 if it went missing: checking it out then fails and says so). */
function objectSize(project: Project, oid: string, hashName: HashName): number {
  return statSync(project.cache.path(oid, hashName), { throwIfNoEntry: false })?.size ?? 0;
}

/** Below this many files, linking on the main thread beats starting worker threads. */
const POOL_THRESHOLD = 200;

/**
 * Create workspace files from cache objects, each through a temporary file and a rename, and
 * remember their hashes so the next status does not read them again.
 */
export async function materialise(
  project: Project,
  hashName: HashName,
  files: FileToCreate[],
  types: LinkType[],
  progress?: ProgressCounter,
  signal?: AbortSignal,
): Promise<void> {
  if (files.length === 0) return;
  const record = (rel: string, st: Pick<Stats, "ino" | "mtimeMs" | "size">, oid: string) =>
    project.hashCache.set(hashName === "md5" ? rel : `${rel}\0dos2unix`, st, oid);
  // One file on this thread: a copy's bytes are reported as it grows, the file once it is there.
  const linkOne = async (f: FileToCreate) => {
    await mkdir(dirname(f.dest), { recursive: true });
    const file = progress?.file();
    await project.cache.linkTo(f.oid, hashName, f.dest, types, f.isexec, file && ((n) => file.set(n)));
    const st = statSync(f.dest);
    record(f.rel, st, f.oid);
    file?.done(st.size);
  };
  // The first file settles which link type works here; the rest use it.
  let rest = files;
  if (files.length < POOL_THRESHOLD || types.length > 1) {
    await linkOne(files[0]!);
    rest = files.slice(1);
  }
  const type = types[0]!;
  if (rest.length < POOL_THRESHOLD) {
    for (const f of rest) {
      signal?.throwIfAborted();
      await linkOne(f);
    }
    return;
  }
  const toTask = (f: FileToCreate): LinkTask => ({
    src: project.cache.path(f.oid, hashName),
    dest: f.dest,
    type,
    isexec: f.isexec,
  });
  const results = await project.workers().linkAll(
    rest.length,
    (start, end) => rest.slice(start, end).map(toTask),
    (n, bytes) => progress?.addFiles(n, bytes),
  );
  const failures: { path: string; message: string }[] = [];
  results.forEach((r, i) => {
    const f = rest[i]!;
    if (r.error) failures.push({ path: f.rel, message: r.error.message });
    else record(f.rel, r, f.oid);
  });
  if (failures.length > 0)
    throw new PartialFailureError(
      `${failures.length} file(s) could not be checked out:\n${failures.map((f) => `\t${f.path}: ${f.message}`).join("\n")}`,
      failures,
    );
}
