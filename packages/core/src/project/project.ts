import { existsSync, lstatSync, statSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { HashCache } from "../cache/hash-cache.js";
import { type LinkType, ObjectCache, parseLinkTypes } from "../cache/object-cache.js";
import { Config, configBool } from "../config.js";
import { ConfigError, MlvError, NotARepoError, UsageError } from "../errors.js";
import { HashPool } from "../hash/pool.js";
import { acquireRepoLock } from "../lock.js";
import { toPosix } from "../paths.js";
import { DvcIgnore } from "../workspace/dvcignore.js";
import { Scm } from "../workspace/scm.js";

/** The folders `mlv init` creates, with DVC's exact contents (spec §6.2, §6.3). */
const DVC_GITIGNORE = "/config.local\n/tmp\n/cache\n";
const DVCIGNORE =
  "# Add patterns of files mlv and DVC should ignore (gitignore syntax);\n# they are left out of tracked directories and never scanned.\n";

export interface InitOptions {
  /** Make a project outside git (`core.no_scm`). */
  noScm?: boolean;
  /** Start again over an existing `.dvc` folder. */
  force?: boolean;
  /** Allow a project in a folder below the top of its git repository. */
  subdir?: boolean;
}

export interface ProjectOpenOptions {
  /** Check the config files against DVC's schema (default true). */
  checkConfig?: boolean;
}

/** The root of the project holding `cwd` (its nearest ancestor with a `.dvc` folder), and its configuration. */
export async function findProject(
  cwd: string,
  options: ProjectOpenOptions = {},
): Promise<{ root: string; config: Config }> {
  let dir = resolve(cwd);
  for (;;) {
    if (existsSync(join(dir, ".dvc")) && statSync(join(dir, ".dvc")).isDirectory()) break;
    const parent = dirname(dir);
    if (parent === dir) throw new NotARepoError(resolve(cwd), "mlv");
    dir = parent;
  }
  const config = await Config.load(join(dir, ".dvc"));
  if (options.checkConfig !== false) config.validate();
  return { root: dir, config };
}

/** `mlv init`: create `.dvc/` in a git work tree (or anywhere with `noScm`). */
export async function createProject(
  cwd: string,
  options: InitOptions,
): Promise<{ root: string; config: Config; scm: Scm | null }> {
  const root = resolve(cwd);
  const dvcDir = join(root, ".dvc");
  if (existsSync(dvcDir) && !options.force)
    throw new MlvError("EEXIST", `'${dvcDir}' exists. Use \`-f\` to force.`, { data: { path: dvcDir } });
  const scm = options.noScm ? null : await Scm.find(root);
  if (!options.noScm && !scm) throw new NotARepoError(root, "git");
  if (scm && scm.root !== root && !options.subdir)
    throw new MlvError(
      "ENOTGITROOT",
      `'${root}' is not the top of the git repository '${scm.root}': create the project there, or use the subdir option to keep a separate project in this folder`,
      {
        data: { path: root, gitRoot: scm.root },
        hint: `Run 'mlv init' in '${scm.root}', or 'mlv init --subdir' to keep a separate project here.`,
      },
    );
  await mkdir(join(dvcDir, "tmp"), { recursive: true });
  await writeFile(join(dvcDir, "config"), "");
  await writeFile(join(dvcDir, ".gitignore"), DVC_GITIGNORE);
  if (!existsSync(join(root, ".dvcignore"))) await writeFile(join(root, ".dvcignore"), DVCIGNORE);
  const config = await Config.load(dvcDir);
  if (options.noScm) await config.set("repo", "core.no_scm", "True", root);
  if (scm) await scm.add([join(dvcDir, "config"), join(dvcDir, ".gitignore"), join(root, ".dvcignore")]);
  return { root, config, scm };
}

/**
 * An mlv (DVC 3) project: the workspace, its `.dvc` folder, configuration, cache, lock and git.
 * What every operation shares; the operations themselves take a Project and live in their own
 * modules (the public `Repo` handle adds them as methods).
 */
export class Project {
  readonly dvcDir: string;
  readonly cache: ObjectCache;
  readonly ignore: DvcIgnore;
  private hashCacheInstance: HashCache | undefined;

  private scmLookup: Promise<Scm | null> | undefined;
  private pool: HashPool | undefined;

  protected constructor(
    readonly root: string,
    readonly config: Config,
    scm?: Scm | null,
  ) {
    if (scm !== undefined) this.scmLookup = Promise.resolve(scm);
    this.dvcDir = join(root, ".dvc");
    refuseUnsafeStateDirs(this.dvcDir, config.cacheDir());
    this.cache = new ObjectCache(config.cacheDir());
    this.ignore = new DvcIgnore(root);
  }

  /**
   * Open the project containing `cwd` (its nearest ancestor with a `.dvc` folder). Its config is
   * checked against DVC's schema unless `checkConfig` is false (for the commands that repair it).
   */
  static async open(cwd: string = process.cwd(), options: ProjectOpenOptions = {}): Promise<Project> {
    const { root, config } = await findProject(cwd, options);
    return new Project(root, config);
  }

  /** `mlv init`: create `.dvc/` in a git work tree (or anywhere with `noScm`). */
  static async init(cwd: string, options: InitOptions = {}): Promise<Project> {
    const { root, config, scm } = await createProject(cwd, options);
    return new Project(root, config, scm);
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
      // An application that handles the signal itself (the CLI aborts `fn` through an AbortSignal)
      // decides when to exit; the lock is released when `fn` ends, or by its exit hook.
      if (process.listenerCount(signal) > 0) return;
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

  /** The file name a new pointer for `abs` gets: `<dir>/<name>.dvc` (spec §1.1). */
  static pointerPathFor(abs: string): string {
    return join(dirname(abs), `${basename(abs)}.dvc`);
  }
}

/**
 * Refuse what a cloned repository could plant to make mlv write elsewhere: `.dvc/tmp` (lock, hash
 * cache) as a symbolic link, or a cache folder that is a file.
 */
function refuseUnsafeStateDirs(dvcDir: string, cacheDir: string): void {
  const tmp = join(dvcDir, "tmp");
  if (lstatSync(tmp, { throwIfNoEntry: false })?.isSymbolicLink())
    throw new MlvError(
      "ELINKED",
      `'${tmp}' is a symbolic link: mlv keeps its lock and state there and never writes through a link; remove the link`,
      { data: { path: tmp }, hint: `Remove it with 'rm ${tmp}'.` },
    );
  const cache = statSync(cacheDir, { throwIfNoEntry: false });
  if (cache !== undefined && !cache.isDirectory())
    throw new ConfigError(
      `the cache folder '${cacheDir}' is a file, not a folder: move the file away, or set cache.dir to a folder`,
      {
        key: "cache.dir",
        value: cacheDir,
      },
    );
}
