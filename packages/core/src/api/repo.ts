import { loadPointer } from "../data-index/pointer-outs.js";
import type { TrackedOut } from "../data-index/types.js";
import type { AddOutcome } from "../ops/add.js";
import type { CheckoutResult } from "../ops/checkout.js";
import type { StatusEntry } from "../ops/status.js";
import { createProject, findProject, type InitOptions, Project, type ProjectOpenOptions } from "../project/project.js";
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

/**
 * An mlv (DVC 3) repository, as a program holds it: the project (workspace, `.dvc` folder,
 * configuration, cache, git) and the operations the CLI runs on it, each taking the lock, opening
 * the remotes it needs, and accepting an AbortSignal and a progress listener.
 */
export class Repo extends Project {
  /** Open the repository containing `cwd` (its nearest ancestor with a `.dvc` folder). */
  static override async open(cwd: string = process.cwd(), options: ProjectOpenOptions = {}): Promise<Repo> {
    const { root, config } = await findProject(cwd, options);
    return new Repo(root, config);
  }

  /** `mlv init`: create `.dvc/` in a git work tree (or anywhere with `noScm`). */
  static override async init(cwd: string, options: InitOptions = {}): Promise<Repo> {
    const { root, config, scm } = await createProject(cwd, options);
    return new Repo(root, config, scm);
  }

  /** The outputs of one `.dvc` file of the workspace (`ownerPath`, absolute). */
  loadPointer(ownerPath: string): TrackedOut[] {
    return loadPointer(this, ownerPath);
  }

  // The operations, as the CLI runs them. Async, so that a signal aborted beforehand rejects.

  /** `mlv add`: cache files or folders and write their pointer files (targets relative to `cwd`, default the root). */
  async add(targets: readonly string[], options: RepoAddOptions = {}): Promise<AddOutcome> {
    return addTo(this, targets, options);
  }

  /** `mlv status`: outputs that differ from their pointers, or (`cloud`) objects that differ between cache and remote. */
  status(options: RepoStatusOptions & { cloud: true }): Promise<CloudStatusEntry[]>;
  status(options?: RepoStatusOptions & { cloud?: false }): Promise<StatusEntry[]>;
  async status(options: RepoStatusOptions = {}): Promise<StatusEntry[] | CloudStatusEntry[]> {
    return statusOf(this, options);
  }

  /** `mlv push`: upload what the outputs (and chosen revisions) use and the remote lacks. */
  async push(options: RepoTransferOptions = {}): Promise<TransferResult> {
    return pushFrom(this, options);
  }

  /** `mlv fetch`: download what the outputs (and chosen revisions) use into the cache, verified. */
  async fetch(options: RepoTransferOptions = {}): Promise<TransferResult> {
    return fetchInto(this, options);
  }

  /** `mlv pull`: fetch, then check out the workspace. */
  async pull(options: RepoPullOptions = {}): Promise<PullResult> {
    return pullInto(this, options);
  }

  /** `mlv checkout`: make the workspace match the pointer files, from the cache. */
  async checkout(options: RepoCheckoutOptions = {}): Promise<CheckoutResult> {
    return checkoutTo(this, options);
  }

  /** `mlv gc`: delete cached (and with `cloud`, remote) objects that neither the workspace nor the chosen revisions use. */
  async gc(options: RepoGcOptions = {}): Promise<RepoGcResult> {
    return collect(this, options);
  }
}
