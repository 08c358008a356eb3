import type { Readable } from "node:stream";
import type { Config } from "../config.js";
import { type GetOptions, type GetResult, get } from "../external/get.js";
import type { AddOutcome } from "../ops/add.js";
import {
  type ArtifactInfo,
  type AssignOptions,
  assignStage,
  type DeregisterOptions,
  deprecateArtifact,
  deregisterVersion,
  type ListArtifactsOptions,
  listArtifacts,
  projectRegistry,
  type RegisterOptions,
  type RegistryChange,
  type RegistryWriteOptions,
  registerVersion,
  showArtifact,
  type UnassignOptions,
  unassignStage,
} from "../ops/artifacts.js";
import type { CheckoutResult } from "../ops/checkout.js";
import { type DiffOptions, type DiffResult, diff } from "../ops/diff.js";
import { type ListOptions, type ListResult, listProject } from "../ops/list.js";
import {
  diffMetrics,
  type MetricsDiffOptions,
  type MetricsDiffResult,
  type MetricsShowOptions,
  type MetricsShowResult,
  showMetrics,
} from "../ops/metrics.js";
import type { StatusEntry } from "../ops/status.js";
import { outputVersions, type VersionsOptions, type VersionsResult } from "../ops/versions.js";
import { type InitOptions, Project, type ProjectOpenOptions } from "../project/project.js";
import type { TransferResult } from "../transfer/result.js";
import {
  addTo,
  type CloudStatusEntry,
  checkoutTo,
  collect,
  fetchInto,
  type PullResult,
  pullInto,
  pushFrom,
  type RepoAddOptions,
  type RepoCheckoutOptions,
  type RepoGcOptions,
  type RepoGcResult,
  type RepoPullOptions,
  type RepoStatusOptions,
  type RepoTransferOptions,
  statusOf,
} from "./operations.js";
import { collectPlots, type PlotResult, type PlotsOptions } from "./plots.js";
import {
  type ArtifactReadOptions,
  getUrlIn,
  openArtifactIn,
  openIn,
  type ReadAtOptions,
  type ReadOptions,
  readArtifactIn,
  readIn,
} from "./read.js";

/** What `Repo.open` takes. */
export type RepoOpenOptions = ProjectOpenOptions;

/** The repository's configuration, merged from its levels (system, global, repo, local), read only. */
export type RepoConfig = Pick<
  Config,
  "get" | "getLevel" | "defaultRemote" | "remoteNames" | "remote" | "cacheDir" | "listLevel"
>;

/** `Repo#get`: where the copy goes, and what to copy it from. */
export interface RepoGetOptions
  extends Pick<
    GetOptions,
    "rev" | "force" | "jobs" | "remote" | "remoteConfig" | "adapters" | "signal" | "onProgress"
  > {
  /** Where to write the file or folder: a local path (not one in the repository), relative to `process.cwd()`. */
  out: string;
}

/**
 * An mlv (DVC 3) repository, as a program holds it: its root, its configuration, and the commands
 * the CLI runs on it. Paths given to its methods are from the repository root (posix or native),
 * whatever `process.cwd()` is, and the paths it gives back are from the root too, posix. Every
 * method that reads or writes data accepts an AbortSignal (`signal`: the call rejects with its
 * reason and leaves no file half-written) and, where bytes move, a progress listener.
 *
 * ```js
 * const repo = await Repo.open("/src/project/notebooks"); // any folder inside the repository
 * const { versions } = await repo.versions("models/model.onnx");
 * const bytes = await repo.read("models/model.onnx", { rev: versions[1].commit });
 * await repo.close();
 * ```
 */
export class Repo {
  readonly #project: Project;

  private constructor(project: Project) {
    this.#project = project;
  }

  /** Open the repository containing `cwd` (its nearest ancestor with a `.dvc` folder). */
  static async open(cwd: string = process.cwd(), options: RepoOpenOptions = {}): Promise<Repo> {
    return new Repo(await Project.open(cwd, options));
  }

  /** `mlv init`: create `.dvc/` in a git work tree (or anywhere with `noScm`). */
  static async init(cwd: string, options: InitOptions = {}): Promise<Repo> {
    return new Repo(await Project.init(cwd, options));
  }

  /** The repository's root folder, absolute. */
  get root(): string {
    return this.#project.root;
  }

  /** The configuration (read only: change it with `mlv config` / `mlv remote`, or edit `.dvc/config`). */
  get config(): RepoConfig {
    return this.#project.config;
  }

  /** Release what the repository holds open (hashing worker threads, the hash cache is saved). */
  close(): Promise<void> {
    return this.#project.close();
  }

  // Writing: each takes the repository lock, as the CLI does.

  /** `mlv add`: cache files or folders and write their pointer files (targets from the root, or from `cwd`). */
  async add(targets: readonly string[], options: RepoAddOptions = {}): Promise<AddOutcome> {
    return addTo(this.#project, targets, options);
  }

  /** `mlv status`: outputs that differ from their pointers, or (`cloud`) objects that differ between cache and remote. */
  status(options: RepoStatusOptions & { cloud: true }): Promise<CloudStatusEntry[]>;
  status(options?: RepoStatusOptions & { cloud?: false }): Promise<StatusEntry[]>;
  async status(options: RepoStatusOptions = {}): Promise<StatusEntry[] | CloudStatusEntry[]> {
    return statusOf(this.#project, options);
  }

  /** `mlv push`: upload what the outputs (and chosen revisions) use and the remote lacks. */
  async push(options: RepoTransferOptions = {}): Promise<TransferResult> {
    return pushFrom(this.#project, options);
  }

  /** `mlv fetch`: download what the outputs (and chosen revisions) use into the cache, verified. */
  async fetch(options: RepoTransferOptions = {}): Promise<TransferResult> {
    return fetchInto(this.#project, options);
  }

  /** `mlv pull`: fetch, then check out the workspace. */
  async pull(options: RepoPullOptions = {}): Promise<PullResult> {
    return pullInto(this.#project, options);
  }

  /** `mlv checkout`: make the workspace match the pointer files, from the cache. */
  async checkout(options: RepoCheckoutOptions = {}): Promise<CheckoutResult> {
    return checkoutTo(this.#project, options);
  }

  /** `mlv gc`: delete cached (and with `cloud`, remote) objects that neither the workspace nor the chosen revisions use. */
  async gc(options: RepoGcOptions = {}): Promise<RepoGcResult> {
    return collect(this.#project, options);
  }

  // Reading: no lock, nothing written but the caches of hashes and git history.

  /**
   * `mlv versions PATH`: every version of a tracked output (`models/model.onnx`, or its `.dvc`
   * file) in git history: the commits that changed it, and the tags that hold it.
   */
  versions(path: string, options: VersionsOptions = {}): Promise<VersionsResult> {
    return outputVersions(this.#project, path, options);
  }

  /** `mlv plots show` / `plots diff`: the plots `dvc.yaml` defines, with their data at each revision (draw them with `plotsHtml`). */
  plots(options: PlotsOptions = {}): Promise<PlotResult[]> {
    return collectPlots(this.#project, options);
  }

  /** `mlv diff A B`: tracked files added, deleted and modified from revision `a` (default HEAD) to `b` (default the workspace). */
  async diff(options: DiffOptions = {}): Promise<DiffResult> {
    try {
      return await diff(this.#project, options);
    } finally {
      this.#project.hashCache.save();
    }
  }

  /** `mlv metrics show`: the metrics files of the workspace and of the revisions chosen. */
  metricsShow(options: MetricsShowOptions = {}): Promise<MetricsShowResult> {
    return showMetrics(this.#project, options);
  }

  /** `mlv metrics diff A B`: the metrics that changed from revision `a` (default HEAD) to `b` (default the workspace). */
  metricsDiff(options: MetricsDiffOptions = {}): Promise<MetricsDiffResult> {
    return diffMetrics(this.#project, options);
  }

  /** `mlv list . PATH`: the files and folders below `path` (default the root), in git and tracked, at `rev` or in the workspace. */
  list(path = "", options: Omit<ListOptions, "path"> = {}): Promise<ListResult> {
    return listProject(this.#project, { ...options, path });
  }

  /** A readable stream of a tracked (or git) file at `rev`, default the workspace (see the `open` function). */
  open(path: string, options: ReadAtOptions = {}): Promise<Readable> {
    return openIn(this.#project, path, options);
  }

  /** The bytes of a tracked (or git) file at `rev`, default the workspace, or its text with `encoding`. */
  read(path: string, options: ReadAtOptions & { encoding: BufferEncoding }): Promise<string>;
  read(path: string, options?: ReadAtOptions): Promise<Buffer>;
  read(path: string, options: ReadOptions = {}): Promise<Buffer | string> {
    return readIn(this.#project, path, options);
  }

  /** Where a tracked file's object is on the remote (see the `getUrl` function). */
  getUrl(path: string, options: Omit<ReadAtOptions, "onProgress"> = {}): Promise<string> {
    return getUrlIn(this.#project, path, options);
  }

  /**
   * `mlv get . PATH -o OUT`: copy a tracked file or folder (or one inside a tracked folder) as it is
   * at `rev` (default HEAD, as `mlv get`) to `out`, from the cache or the remote. `out` is written
   * whole or not at all.
   */
  get(path: string, options: RepoGetOptions): Promise<GetResult> {
    return get(this.#project.root, path, options);
  }

  // The model registry: git tags in GTO's convention, which `dvc artifacts get` reads too.

  /** `mlv artifacts list`: every artifact declared in a dvc.yaml or named by a registry tag, with its versions and stages. */
  async artifacts(options: ListArtifactsOptions = {}): Promise<ArtifactInfo[]> {
    return listArtifacts(await projectRegistry(this.#project), options);
  }

  /** `mlv artifacts show NAME`: one artifact with all its versions, deregistered ones included. */
  async artifact(name: string): Promise<ArtifactInfo> {
    return showArtifact(await projectRegistry(this.#project), name);
  }

  /** `mlv artifacts register NAME [REF]`: tag `name@vX.Y.Z` on a commit (default HEAD). */
  async registerArtifact(name: string, ref = "HEAD", options: RegisterOptions = {}): Promise<RegistryChange> {
    return registerVersion(await projectRegistry(this.#project), name, ref, options);
  }

  /** `mlv artifacts assign NAME --stage S`: tag `name#S#N` on a version's commit. */
  async assignStage(name: string, options: AssignOptions): Promise<RegistryChange> {
    return assignStage(await projectRegistry(this.#project), name, options);
  }

  /** `mlv artifacts unassign NAME --stage S`: tag `name#S!#N`. */
  async unassignStage(name: string, options: UnassignOptions): Promise<RegistryChange> {
    return unassignStage(await projectRegistry(this.#project), name, options);
  }

  /** `mlv artifacts deregister NAME`: tag `name@vX.Y.Z!`. */
  async deregisterVersion(name: string, options: DeregisterOptions): Promise<RegistryChange> {
    return deregisterVersion(await projectRegistry(this.#project), name, options);
  }

  /** `mlv artifacts deprecate NAME`: tag `name@deprecated`. */
  async deprecateArtifact(name: string, options: RegistryWriteOptions = {}): Promise<RegistryChange> {
    return deprecateArtifact(await projectRegistry(this.#project), name, options);
  }

  /** A readable stream of a version of an artifact (see the `openArtifact` function). */
  openArtifact(name: string, options: Omit<ArtifactReadOptions, "repo"> = {}): Promise<Readable> {
    return openArtifactIn(this.#project, name, options);
  }

  /** The bytes of a version of an artifact, or its text with `encoding` (see `readArtifact`). */
  readArtifact(
    name: string,
    options: Omit<ArtifactReadOptions, "repo"> & { encoding: BufferEncoding },
  ): Promise<string>;
  readArtifact(name: string, options?: Omit<ArtifactReadOptions, "repo">): Promise<Buffer>;
  readArtifact(
    name: string,
    options: Omit<ArtifactReadOptions, "repo"> & { encoding?: BufferEncoding } = {},
  ): Promise<Buffer | string> {
    return readArtifactIn(this.#project, name, options);
  }
}
