/**
 * `@mlv/core`, the public API: the `Repo` handle and the reading functions for programs, and the
 * `Remote` contract, errors and helpers for storage adapter packages. Paths given to the API are
 * from the repository root (posix or native) whatever `process.cwd()` is; every call that does I/O
 * takes an AbortSignal. What the CLI is built from is in `@mlv/core/internal` (not a stable API).
 */

// Adapter packages: the Remote contract, how adapters are found, and shared helpers.
export {
  type AdapterLoader,
  type AdapterSources,
  DEFAULT_ADAPTER_PACKAGES,
  resolveAdapter,
  urlScheme,
} from "./adapters.js";
// Programs: a repository and its commands.
export type {
  CloudStatusEntry,
  PullResult,
  RemoteOptions,
  RepoAddOptions,
  RepoCheckoutOptions,
  RepoGcOptions,
  RepoGcResult,
  RepoPullOptions,
  RepoStatusOptions,
  RepoTransferOptions,
  TargetOptions,
} from "./api/operations.js";
export {
  type PageOptions,
  type PlotResult,
  type PlotsOptions,
  plotsHtml,
  versionsHtml,
} from "./api/plots.js";
export {
  type ArtifactReadOptions,
  type GetUrlOptions,
  getUrl,
  type OpenOptions,
  open,
  openArtifact,
  type ReadAtOptions,
  type ReadOptions,
  read,
  readArtifact,
} from "./api/read.js";
export { Repo, type RepoConfig, type RepoGetOptions, type RepoOpenOptions } from "./api/repo.js";
export { askSecret } from "./ask-secret.js";
export { objectKey } from "./cache/object-cache.js";
export type { Config, ConfigLevel, ConfigValue } from "./config.js";
export { redactUrl } from "./config.js";
// Errors: one MlvError class with a typed `code` (MlvErrorCode), and its subclasses.
export * from "./errors.js";
export {
  type GetArtifactOptions,
  type GetArtifactResult,
  getArtifact,
} from "./external/artifact-get.js";
export type { DataOrigin } from "./external/fetch-from-source.js";
export { type GetOptions, type GetResult, get } from "./external/get.js";
export type { RemoteChoice } from "./external/remote-override.js";
export type { RemoteFactory, SourceOptions } from "./external/source.js";
export { downloadUrl, type GetUrlDataOptions, type GetUrlDataResult } from "./external/url-get.js";
export type { AddOutcome, AddResult } from "./ops/add.js";
export type {
  ArtifactInfo,
  ArtifactSelector,
  ArtifactVersionInfo,
  AssignOptions,
  DeregisterOptions,
  ListArtifactsOptions,
  RegisterOptions,
  RegistryChange,
  RegistryWriteOptions,
  ResolvedArtifact,
  UnassignOptions,
  VersionTarget,
} from "./ops/artifacts.js";
export type { CheckoutResult } from "./ops/checkout.js";
export type { DiffEntry, DiffModifiedEntry, DiffOptions, DiffResult } from "./ops/diff.js";
export type { GcResult } from "./ops/gc.js";
export { type ListEntry, type ListOptions, type ListResult, list, type UnknownFolder } from "./ops/list.js";
export {
  flattenMetrics,
  type MetricChange,
  type MetricsDiffOptions,
  type MetricsDiffResult,
  type MetricsFileResult,
  type MetricsShowOptions,
  type MetricsShowResult,
  type MetricsTree,
  type MetricValue,
  parseMetrics,
  WORKSPACE,
} from "./ops/metrics.js";
export type { RevisionScope } from "./ops/revisions.js";
export type { DepStatusEntry, OutState, OutStatusEntry, StageStatusEntry, StatusEntry } from "./ops/status.js";
export type { OutputVersion, VersionsOptions, VersionsResult } from "./ops/versions.js";
// `watchGrowth`: progress of a copy with no stream to count (an adapter's `writeFile`/`readFile`).
export { type OperationOptions, type ProgressEvent, type ProgressListener, watchGrowth } from "./progress.js";
export type { InitOptions } from "./project/project.js";
export type {
  ByteRange,
  ObjectInfo,
  ReadableRemote,
  Remote,
  RemoteAdapter,
  RemoteCapabilities,
  RemoteConfig,
  WriteFileOptions,
  WriteOptions,
} from "./remote.js";
export { isWritable } from "./remote.js";
export { isNetworkErrorCode, isTransient, NETWORK_ERROR_CODES, TLS_ERROR_PATTERN } from "./remote-errors.js";
export { checkByteRange, cutBytes, emptyReadable, runAll } from "./remote-ranges.js";
export { isRemoteTempName, isStaleRemoteTemp, remoteTempPrefix, sweepStaleRemoteTemps } from "./remote-temps.js";
export type { CloudState } from "./transfer/cloud-status.js";
export type { TransferFailure, TransferResult } from "./transfer/result.js";
