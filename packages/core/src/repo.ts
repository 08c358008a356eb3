import { existsSync, readFileSync, statSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { HashCache } from "./cache/hash-cache.js";
import { type HashName, type LinkType, ObjectCache, parseLinkTypes } from "./cache/object-cache.js";
import { Config, configBool } from "./config.js";
import { FormatError, MlvError, NotARepoError, UsageError } from "./errors.js";
import type { LockedStage } from "./formats/pipeline.js";
import { type Out, type PointerFile, parsePointer } from "./formats/pointer.js";
import { HashPool } from "./hash/pool.js";
import { acquireRepoLock } from "./lock.js";
import type { AddOutcome } from "./ops/add.js";
import type { CheckoutResult } from "./ops/checkout.js";
import type { StatusEntry } from "./ops/status.js";
import type { TransferResult } from "./ops/transfer.js";
import type {
  CloudStatusEntry,
  PullResult,
  RepoAddOptions,
  RepoCheckoutOptions,
  RepoGcOptions,
  RepoGcResult,
  RepoPullOptions,
  RepoStatusOptions,
  RepoTransferOptions,
} from "./repo-api.js";
import { DvcIgnore } from "./workspace/dvcignore.js";
import { Scm } from "./workspace/scm.js";

/**
 * One tracked output, located in the workspace: an out of a `.dvc` file, or of a `dvc.yaml`
 * stage (its hash from `dvc.lock`). Every data command works on these.
 */
export interface TrackedOut {
  /** Absolute path of the owning file: the `.dvc` file, or the stage's `dvc.yaml`. */
  ownerPath: string;
  /** The owner as DVC names it, from the repository root: `data.dvc`, or `dvc.yaml:train`. */
  owner: string;
  /** The `.dvc` file, for an output of one. */
  pointer?: PointerFile;
  /** The stage and its lock entry, for a stage output. */
  stage?: LockedStage;
  /**
   * The output: for a stage output, `path` as written in `dvc.yaml`, the hash fields from the lock
   * and `raw` holding the flags (`cache`, `push`, `remote`, ...) with the lock's keys.
   */
  out: Out;
  /** Absolute workspace path of the data. */
  abs: string;
  /** The data's path from the repository root, posix. */
  rel: string;
  hashName: HashName;
  isDir: boolean;
}

export function toPosix(p: string): string {
  return sep === "/" ? p : p.split(sep).join("/");
}

/** The folders `mlv init` creates, with DVC's exact contents (spec §6.2, §6.3). */
const DVC_GITIGNORE = "/config.local\n/tmp\n/cache\n";
const DVCIGNORE =
  "# Add patterns of files mlv and DVC should ignore (gitignore syntax);\n# they are left out of tracked directories and never scanned.\n";

/**
 * An mlv (DVC 3) repository: the workspace, its `.dvc` folder, configuration, cache and git.
 * Operations live in their own modules; this class holds what they share.
 */
export class Repo {
  readonly dvcDir: string;
  readonly cache: ObjectCache;
  readonly ignore: DvcIgnore;
  private hashCacheInstance: HashCache | undefined;

  private scmLookup: Promise<Scm | null> | undefined;
  private pool: HashPool | undefined;

  private constructor(
    readonly root: string,
    readonly config: Config,
    scm?: Scm | null,
  ) {
    if (scm !== undefined) this.scmLookup = Promise.resolve(scm);
    this.dvcDir = join(root, ".dvc");
    this.cache = new ObjectCache(config.cacheDir());
    this.ignore = new DvcIgnore(root);
  }

  /** Open the repository containing `cwd` (its nearest ancestor with a `.dvc` folder). */
  static async open(cwd: string = process.cwd()): Promise<Repo> {
    let dir = resolve(cwd);
    for (;;) {
      if (existsSync(join(dir, ".dvc")) && statSync(join(dir, ".dvc")).isDirectory()) break;
      const parent = dirname(dir);
      if (parent === dir) throw new NotARepoError(resolve(cwd), "mlv");
      dir = parent;
    }
    const config = await Config.load(join(dir, ".dvc"));
    return new Repo(dir, config);
  }

  /** `mlv init`: create `.dvc/` in a git work tree (or anywhere with `noScm`). */
  static async init(cwd: string, options: { noScm?: boolean; force?: boolean; subdir?: boolean } = {}): Promise<Repo> {
    const root = resolve(cwd);
    const dvcDir = join(root, ".dvc");
    if (existsSync(dvcDir) && !options.force)
      throw new MlvError("EEXIST", `'${dvcDir}' exists. Use \`-f\` to force.`, { data: { path: dvcDir } });
    const scm = options.noScm ? null : await Scm.find(root);
    if (!options.noScm && !scm) throw new NotARepoError(root, "git");
    if (scm && scm.root !== root && !options.subdir)
      throw new MlvError(
        "ENOTGITROOT",
        `'${root}' is not the top of the git repository '${scm.root}': run 'mlv init' there, or pass --subdir to keep a separate project in this folder`,
        { data: { path: root, gitRoot: scm.root } },
      );
    await mkdir(join(dvcDir, "tmp"), { recursive: true });
    await writeFile(join(dvcDir, "config"), "");
    await writeFile(join(dvcDir, ".gitignore"), DVC_GITIGNORE);
    if (!existsSync(join(root, ".dvcignore"))) await writeFile(join(root, ".dvcignore"), DVCIGNORE);
    const config = await Config.load(dvcDir);
    if (options.noScm) await config.set("repo", "core.no_scm", "True", root);
    if (scm) await scm.add([join(dvcDir, "config"), join(dvcDir, ".gitignore"), join(root, ".dvcignore")]);
    return new Repo(root, config, scm);
  }

  /**
   * The git repository around the workspace, or null (`core.no_scm`, or none). Looked up on first
   * use: commands that never touch git (status, push, pull) never load a git library.
   */
  scm(): Promise<Scm | null> {
    this.scmLookup ??= configBool(this.config.get("core.no_scm")) ? Promise.resolve(null) : Scm.find(this.root);
    return this.scmLookup;
  }

  /** Worker threads for many small files, started on first use and shared by the whole command. */
  workers(): HashPool {
    this.pool ??= new HashPool();
    return this.pool;
  }

  /** Stop the worker threads (they never keep the process alive while idle, but a library user may want them gone). */
  async close(): Promise<void> {
    this.hashCacheInstance?.save();
    await this.pool?.close();
    this.pool = undefined;
  }

  get hashCache(): HashCache {
    this.hashCacheInstance ??= HashCache.load(join(this.dvcDir, "tmp", "mlv", "hashes.bin"));
    return this.hashCacheInstance;
  }

  linkTypes(): LinkType[] {
    return parseLinkTypes(this.config.get("cache.type"));
  }

  /** Run `fn` holding the repository lock (one writer at a time). */
  async locked<T>(command: string, fn: () => Promise<T>): Promise<T> {
    const lock = await acquireRepoLock(this.dvcDir, { command });
    // Interrupted: give the lock back before exiting; temporary files never replace real ones.
    const onSignal = (signal: NodeJS.Signals) => {
      void lock.release().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
    };
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    try {
      return await fn();
    } finally {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      this.hashCacheInstance?.save();
      await lock.release();
    }
  }

  /** Posix path from the repository root. */
  relOf(abs: string): string {
    return toPosix(relative(this.root, abs));
  }

  /** Check that `abs` is inside the workspace and not inside `.dvc`. */
  assertInside(abs: string, given: string): void {
    const rel = relative(this.root, abs);
    if (rel.startsWith("..") || isAbsolute(rel))
      throw new UsageError(`'${given}' is outside the repository '${this.root}'`, { path: given });
    if (rel === ".dvc" || rel.startsWith(`.dvc${sep}`))
      throw new UsageError(`'${given}' is inside the .dvc folder, which mlv manages itself`, { path: given });
  }

  /** Read one pointer file into tracked outs. */
  loadPointer(ownerPath: string): TrackedOut[] {
    let text: string;
    try {
      text = readFileSync(ownerPath, "utf8");
    } catch (err) {
      throw new FormatError(ownerPath, `cannot be read: ${(err as Error).message}`, undefined, err);
    }
    const owner = this.relOf(ownerPath);
    const pointer = parsePointer(text, owner);
    const wdir = typeof pointer.wdir === "string" ? pointer.wdir : ".";
    return pointer.outs.map((out) => {
      if (out.external)
        throw new FormatError(owner, `output '${out.path}' is outside the repository; mlv tracks data inside it only`);
      const abs = resolve(dirname(ownerPath), wdir, out.path);
      return {
        ownerPath,
        owner,
        pointer,
        out,
        abs,
        rel: this.relOf(abs),
        hashName: out.hashName,
        isDir: out.md5?.endsWith(".dir") ?? false,
      };
    });
  }

  /** The file name a new pointer for `abs` gets: `<dir>/<name>.dvc` (spec §1.1). */
  static pointerPathFor(abs: string): string {
    return join(dirname(abs), `${basename(abs)}.dvc`);
  }

  // The operations, as the CLI runs them: each takes the lock, opens the remotes it needs, and
  // accepts an AbortSignal and a progress listener. Loaded on first use (no import cycle).

  /** `mlv add`: cache files or folders and write their pointer files (targets relative to `cwd`, default the root). */
  async add(targets: readonly string[], options: RepoAddOptions = {}): Promise<AddOutcome> {
    return (await import("./repo-api.js")).addTo(this, targets, options);
  }

  /** `mlv status`: outputs that differ from their pointers, or (`cloud`) objects that differ between cache and remote. */
  async status(options: RepoStatusOptions & { cloud: true }): Promise<CloudStatusEntry[]>;
  async status(options?: RepoStatusOptions & { cloud?: false }): Promise<StatusEntry[]>;
  async status(options: RepoStatusOptions = {}): Promise<StatusEntry[] | CloudStatusEntry[]> {
    return (await import("./repo-api.js")).statusOf(this, options);
  }

  /** `mlv push`: upload what the outputs (and chosen revisions) use and the remote lacks. */
  async push(options: RepoTransferOptions = {}): Promise<TransferResult> {
    return (await import("./repo-api.js")).pushFrom(this, options);
  }

  /** `mlv fetch`: download what the outputs (and chosen revisions) use into the cache, verified. */
  async fetch(options: RepoTransferOptions = {}): Promise<TransferResult> {
    return (await import("./repo-api.js")).fetchInto(this, options);
  }

  /** `mlv pull`: fetch, then check out the workspace. */
  async pull(options: RepoPullOptions = {}): Promise<PullResult> {
    return (await import("./repo-api.js")).pullInto(this, options);
  }

  /** `mlv checkout`: make the workspace match the pointer files, from the cache. */
  async checkout(options: RepoCheckoutOptions = {}): Promise<CheckoutResult> {
    return (await import("./repo-api.js")).checkoutTo(this, options);
  }

  /** `mlv gc`: delete cached (and with `cloud`, remote) objects that neither the workspace nor the chosen revisions use. */
  async gc(options: RepoGcOptions = {}): Promise<RepoGcResult> {
    return (await import("./repo-api.js")).collect(this, options);
  }
}
