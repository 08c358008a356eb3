/**
 * The repositories `mlv get`, `import`, `update` and `list` read from: a local work tree, a bare
 * repository or a git URL cloned shallowly, read at one commit without a checkout, with that
 * commit's configuration.
 */
import * as fs from "node:fs";
import { existsSync } from "node:fs";
import { mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { AdapterSources } from "../adapters.js";
import { Config } from "../config.js";
import { HistoryOuts } from "../data-index/history-outs.js";
import { MlvError } from "../errors.js";
import { GitHistory } from "../git/history.js";
import { loadGit } from "../git/load.js";
import { short } from "../git/objects.js";
import type { ProgressListener } from "../progress.js";
import type { ReadableRemote } from "../remote.js";

/** Opens the default remote of a configuration (the CLI passes its own, which knows the built-in adapters). */
export type RemoteFactory = (config: Config) => Promise<{ name: string; remote: ReadableRemote }>;

export interface SourceOptions {
  /** A branch, tag or commit of the source repository; default its HEAD. */
  rev?: string;
  /** How the source's remote is opened: a factory, else `openRemote` with these adapter sources. */
  connect?: RemoteFactory;
  adapters?: AdapterSources;
  jobs?: number;
  onProgress?: ProgressListener;
  /** Stops between objects (each download is atomic), then the call rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Where relative paths (the source, `out`) start; default `process.cwd()`. */
  cwd?: string;
  /** For the source's global and system config; default `process.env`. */
  env?: NodeJS.ProcessEnv;
}

/** A git repository read at one commit, and what must be removed afterwards. */
export interface Source {
  /** As given: recorded in imports, shown in messages. */
  url: string;
  /** The repository's folder (work tree, bare repository or temporary clone). */
  root: string;
  /** Where the project's `.dvc` folder would be: relative paths in its config are relative to it. */
  dvcDir: string;
  /** A work tree of the user's: its `.dvc/config.local` and cache count. */
  workTree: boolean;
  history: GitHistory;
  /** The outputs its commits track. */
  tracked: HistoryOuts;
  commit: string;
  temp: string[];
  config?: Promise<Config>;
}

const URL_RE = /^[a-z][a-z0-9+.-]*:\/\//i;
const SCP_RE = /^[\w.-]+@[\w.-]+:/;
const FULL_OID = /^[0-9a-f]{40}$/i;

function notARepo(url: string, detail: string): MlvError {
  return new MlvError("ENOTREPO", `'${url}' is not a git repository: ${detail}`, { data: { url } });
}

/** Remove what reading a source needed (a clone, a link to a bare repository). */
export async function closeSource(source: { temp: string[] }): Promise<void> {
  for (const dir of source.temp.splice(0)) await rm(dir, { recursive: true, force: true }).catch(() => {});
}

/**
 * Open `url` (a local work tree, a local bare repository, `file://`, or a URL cloned shallowly) at
 * `rev`. With `whole`, a URL is cloned with all its history and tags (what the model registry needs).
 */
export async function openSource(
  url: string,
  rev: string | undefined,
  cwd: string,
  options: { whole?: boolean } = {},
): Promise<Source> {
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
      await cloneShallow(url, rev, gitRoot, options.whole);
    }
    const history = new GitHistory(gitRoot);
    const commit = await resolveIn(history, rev ?? "HEAD", url);
    return {
      url,
      root,
      dvcDir: join(root, ".dvc"),
      workTree,
      history,
      tracked: new HistoryOuts(history),
      commit,
      temp,
    };
  } catch (err) {
    await closeSource({ temp });
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
  return { dir: source.root, history: source.history, commit: source.commit, remove: () => closeSource(source) };
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
 * without a checkout. A commit id cannot be asked for by name, so then (or when `whole`) the whole
 * history comes, with every tag.
 */
async function cloneShallow(url: string, rev: string | undefined, dir: string, whole = false): Promise<void> {
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
    if (whole || (rev !== undefined && FULL_OID.test(rev))) await git.clone({ ...base, noTags: false });
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
export function sourceConfig(source: Source, env: NodeJS.ProcessEnv): Promise<Config> {
  source.config ??= (async () => {
    const text = (await source.history.configTextAtRevision(source.commit)) ?? "";
    // Without a work tree (a clone made here), no config.local is there to read.
    return Config.withRepoText(source.dvcDir, text, `${short(source.commit)}:.dvc/config`, env);
  })();
  return source.config;
}

/** The source's cache folder when it is on this machine. */
export async function sourceCacheDir(source: Source, config: Config): Promise<string | undefined> {
  if (config.get("cache.dir") !== undefined) return config.cacheDir();
  return source.workTree ? join(source.dvcDir, "cache") : undefined;
}
