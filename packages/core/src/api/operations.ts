/**
 * The write side of the JavaScript API: what `Repo#add`, `status`, `push`, `pull`, `fetch`,
 * `checkout` and `gc` do. Each resolves its targets, takes the repository lock as the CLI does,
 * opens the remotes it needs, runs the operation and gives back the same result the CLI prints.
 */
import { type AdapterSources, openRemote } from "../adapters.js";
import { collectGarbageIfGrown } from "../collect-garbage.js";
import { collectOuts, selectTargets } from "../data-index/index.js";
import { isImport, type TrackedOut } from "../data-index/types.js";
import { MlvError, ReadOnlyRemoteError } from "../errors.js";
import { fetchImports, pullUrlImports } from "../external/fetch-imports.js";
import { isUrlImport } from "../external/url-import.js";
import { type AddOutcome, add } from "../ops/add.js";
import { type CheckoutResult, checkout } from "../ops/checkout.js";
import { type GcResult, gc, unlistable } from "../ops/gc.js";
import { outsInScope, type RevisionScope } from "../ops/revisions.js";
import { projectStatus, type StatusEntry, statusEntries } from "../ops/status.js";
import type { OperationOptions } from "../progress.js";
import type { Project } from "../project/project.js";
import { isWritable, type ReadableRemote, type Remote } from "../remote.js";
import { type CloudState, cloudStatus } from "../transfer/cloud-status.js";
import { fetch, fetchDirManifests } from "../transfer/fetch.js";
import { push } from "../transfer/push.js";
import { forEachRemote } from "../transfer/remotes.js";
import { mergeResults, type TransferResult } from "../transfer/result.js";

export interface TargetOptions extends OperationOptions {
  /** `.dvc` files or tracked paths; default every output of the workspace. */
  targets?: readonly string[];
  /** Where relative targets start; default the repository's root. */
  cwd?: string;
}

export interface RemoteOptions {
  /** The remote by name; default each output's own `remote:`, else the default remote (`core.remote`). */
  remote?: string;
  /** Parallel transfers; default the remote's choice (4 per core). */
  jobs?: number;
  /** How storage adapters are found; default `@mlv/remote-<scheme>` packages (see `resolveAdapter`). */
  adapters?: AdapterSources;
}

export interface RepoAddOptions extends OperationOptions {
  /** Where relative targets start; default the repository's root. */
  cwd?: string;
}

/** `push` and `fetch`: the workspace's outputs, plus those of the revisions chosen (DVC's `--rev`, `-a`, `-T`, `-A`). */
export interface RepoTransferOptions extends TargetOptions, RemoteOptions, RevisionScope {}

export interface RepoPullOptions extends RepoTransferOptions {
  /** Overwrite or delete workspace files whose content is not in the cache. */
  force?: boolean;
}

export interface RepoCheckoutOptions extends TargetOptions {
  force?: boolean;
  /** Recreate every file with the configured `cache.type`. */
  relink?: boolean;
}

export interface RepoStatusOptions extends TargetOptions, RemoteOptions, RevisionScope {
  /** Compare the cache with the remote (`status -c`) instead of the workspace with the pointers. */
  cloud?: boolean;
}

export interface RepoGcOptions extends OperationOptions, RemoteOptions, RevisionScope {
  /** Also delete unused objects on the remote (`gc -c`). */
  cloud?: boolean;
  /** Only list what would go. */
  dry?: boolean;
}

/** One object whose cache and remote copies differ (`status -c`). */
export interface CloudStatusEntry {
  path: string;
  state: CloudState;
  /** The remote compared with. */
  remote: string;
}

export interface RepoGcResult extends GcResult {
  /** With `cloud`: the name of the remote collected. */
  remote?: string;
}

export interface PullResult {
  fetched: TransferResult;
  checkout: CheckoutResult;
}

async function targetsOf(project: Project, options: TargetOptions): Promise<TrackedOut[]> {
  return (await selectTargets(project, options.targets ?? [], options.cwd ?? project.root)).outs;
}

/**
 * Run `fn` once per remote the outputs go to: an output's own `remote:` key picks its remote
 * (spec §4.2), the others use the default; `options.remote` sends everything to that one.
 */
export function perRemote<T>(
  project: Project,
  outs: TrackedOut[],
  options: RemoteOptions,
  fn: (remote: ReadableRemote, outs: TrackedOut[], name: string) => Promise<T>,
): Promise<T[]> {
  return forEachRemote(project.config, outs, options.remote, options.adapters ?? {}, fn);
}

export function addTo(project: Project, targets: readonly string[], options: RepoAddOptions): Promise<AddOutcome> {
  options.signal?.throwIfAborted();
  return project.locked("mlv add", () =>
    add(project, targets, { cwd: options.cwd ?? project.root, signal: options.signal, onProgress: options.onProgress }),
  );
}

export async function statusOf(
  project: Project,
  options: RepoStatusOptions,
): Promise<StatusEntry[] | CloudStatusEntry[]> {
  const { signal, onProgress } = options;
  signal?.throwIfAborted();
  const { outs, stages } = await selectTargets(project, options.targets ?? [], options.cwd ?? project.root);
  if (options.cloud) {
    const scoped = await outsInScope(project, outs, options, options.targets, options.cwd ?? project.root);
    const results = await perRemote(project, scoped, options, async (remote, group, name) => {
      signal?.throwIfAborted();
      return (await cloudStatus(project, group, remote, options.jobs)).map((s) => ({ ...s, remote: name }));
    });
    return results.flat();
  }
  try {
    return statusEntries(await projectStatus(project, { outs, stages }, { signal, onProgress }));
  } finally {
    project.hashCache.save();
  }
}

async function transfer(
  project: Project,
  verb: "push" | "fetch",
  outs: TrackedOut[],
  options: RepoTransferOptions,
): Promise<TransferResult> {
  const { jobs, onProgress, signal } = options;
  // Imported data comes from its source repository, not from this project's remotes (as in DVC).
  const imports = verb === "fetch" ? outs.filter(isImport) : [];
  const own = imports.length === 0 ? outs : outs.filter((o) => !isImport(o));
  const results: TransferResult[] = [];
  if (own.length > 0 || imports.length === 0)
    results.push(
      ...(verb === "push"
        ? await forEachRemote(
            project.config,
            own,
            options.remote,
            options.adapters ?? {},
            (remote, group) => push(project, group, remote, { jobs, onProgress, signal }),
            "mlv push",
          )
        : await perRemote(project, own, options, (remote, group) =>
            fetch(project, group, remote, { jobs, onProgress, signal }),
          )),
    );
  if (imports.length > 0)
    results.push(await fetchImports(project, imports, { adapters: options.adapters, jobs, onProgress }));
  const merged = mergeResults(results);
  const unversioned = outs
    .filter((o) => !o.out.md5 && o.out.raw.cache !== false)
    .map((o) => ({ path: o.rel, owner: o.owner }));
  return unversioned.length > 0 ? { ...merged, unversioned } : merged;
}

/**
 * The outputs a transfer covers: the targets', plus the chosen revisions'. Read under the lock,
 * which is taken first: starting the lock's helper process costs more once the history is in memory.
 */
async function scopedTargets(project: Project, options: RepoTransferOptions): Promise<TrackedOut[]> {
  return outsInScope(project, await targetsOf(project, options), options, options.targets, options.cwd ?? project.root);
}

export async function pushFrom(project: Project, options: RepoTransferOptions): Promise<TransferResult> {
  options.signal?.throwIfAborted();
  return project.locked("mlv push", async () =>
    transfer(project, "push", await scopedTargets(project, options), options),
  );
}

export async function fetchInto(project: Project, options: RepoTransferOptions): Promise<TransferResult> {
  options.signal?.throwIfAborted();
  return project.locked("mlv fetch", async () =>
    transfer(project, "fetch", await scopedTargets(project, options), options),
  );
}

export async function pullInto(project: Project, options: RepoPullOptions): Promise<PullResult> {
  options.signal?.throwIfAborted();
  return project.locked("mlv pull", async () => {
    const outs = await targetsOf(project, options);
    const fetchOuts = await outsInScope(project, outs, options, options.targets, options.cwd ?? project.root);
    // An output imported with `import-url --no-download` has no version yet: pull takes it from its source.
    const fromSource = (o: TrackedOut) => !o.out.md5 && o.pointer !== undefined && isUrlImport(o.pointer);
    let fetched = await transfer(
      project,
      "fetch",
      fetchOuts.filter((o) => !fromSource(o)),
      options,
    );
    const notDownloaded = fetchOuts.filter(fromSource);
    if (notDownloaded.length > 0) {
      const { jobs, adapters, onProgress } = options;
      fetched = mergeResults([fetched, await pullUrlImports(project, notDownloaded, { jobs, adapters, onProgress })]);
    }
    // What the downloads left (their buffers, the plan) is garbage now: collected before the
    // checkout adds its own, it does not add up to the peak (an SFTP pull of 50,000 files peaked there).
    collectGarbageIfGrown();
    const result = await checkout(project, outs, {
      force: options.force,
      onProgress: options.onProgress,
      signal: options.signal,
    });
    return { fetched, checkout: result };
  });
}

export function checkoutTo(project: Project, options: RepoCheckoutOptions): Promise<CheckoutResult> {
  options.signal?.throwIfAborted();
  return project.locked("mlv checkout", async () =>
    checkout(project, await targetsOf(project, options), {
      force: options.force,
      relink: options.relink,
      onProgress: options.onProgress,
      signal: options.signal,
    }),
  );
}

/**
 * The `.dir` listings that kept folders use and the cache lacks, downloaded from their remotes
 * when they can be: gc refuses to run without them. No remote configured is not an error here.
 */
async function fetchMissingListings(project: Project, outs: TrackedOut[], options: RepoGcOptions): Promise<void> {
  const missing = outs.filter(
    (o) => o.isDir && o.out.md5 && o.out.raw?.cache !== false && !project.cache.exists(o.out.md5, o.hashName),
  );
  if (missing.length === 0) return;
  try {
    await perRemote(project, missing, options, (remote, group) => fetchDirManifests(project, group, remote));
  } catch (err) {
    if (!(err instanceof MlvError)) throw err;
  }
}

export async function collect(project: Project, options: RepoGcOptions): Promise<RepoGcResult> {
  const { signal, onProgress } = options;
  signal?.throwIfAborted();
  const opened = options.cloud ? await openRemote(project.config, options.remote, options.adapters) : undefined;
  if (opened && !isWritable(opened.remote)) {
    await opened.remote.close?.();
    throw new ReadOnlyRemoteError(opened.name, opened.remote.displayUrl, "mlv gc -c");
  }
  const remote = opened?.remote as Remote | undefined;
  if (remote && remote.list === undefined) {
    await remote.close?.();
    throw unlistable(remote);
  }
  try {
    const result = await project.locked("mlv gc", async () => {
      // The workspace's outputs are always kept; the revisions chosen add theirs.
      const outs = await outsInScope(project, await collectOuts(project), options);
      await fetchMissingListings(project, outs, options);
      return gc(project, outs, remote, { jobs: options.jobs, dry: options.dry, signal });
    });
    const removed = result.removedLocal + result.removedRemote;
    onProgress?.({ phase: "gc", files: removed, totalFiles: removed, bytes: 0, totalBytes: 0 });
    return opened ? { ...result, remote: opened.name } : result;
  } finally {
    await opened?.remote.close?.();
  }
}
