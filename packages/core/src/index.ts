export {
  type AdapterLoader,
  type AdapterSources,
  DEFAULT_ADAPTER_PACKAGES,
  forEachRemote,
  openRemote,
  resolveAdapter,
  urlScheme,
} from "./adapters.js";
export { type GetUrlOptions, getUrl, type OpenOptions, open, type ReadOptions, read } from "./api.js";
export { type HashName, type LinkType, ObjectCache, objectKey, parseLinkTypes } from "./cache/object-cache.js";
export { Config, type ConfigLevel, type ConfigValue, redactUrl } from "./config.js";
export { collectIndex, collectOuts, type DataIndex, selectTargets } from "./data-index/index.js";
export * from "./errors.js";
export { parseLockFile } from "./formats/dvc-lock.js";
export { loadPipelineFile, type ParsingOptions, type PipelineLoadOptions } from "./formats/dvc-yaml.js";
export {
  decodeUtf8,
  getDotted,
  isPyTuple,
  parseParamsFile,
  pyEquals,
  pyRepr,
  pyStr,
  pythonJson,
} from "./formats/params-file.js";
export {
  type LockEntry,
  type LockFile,
  type LockStage,
  type ParamsDep,
  type ParamValue,
  type PipelineFile,
  PipelineFormatError,
  type PipelineReader,
  type PipelineStage,
  PyFloat,
  type StageOut,
} from "./formats/pipeline.js";
export * from "./git/revisions.js";
export { md5File, md5Hex } from "./hash/md5.js";
export { type AddOptions, type AddOutcome, type AddResult, add } from "./ops/add.js";
export { type CheckoutOptions, type CheckoutResult, checkout } from "./ops/checkout.js";
export { type DiffEntry, type DiffModifiedEntry, type DiffOptions, type DiffResult, diff } from "./ops/diff.js";
export { type GcOptions, type GcResult, gc } from "./ops/gc.js";
export {
  type DataOrigin,
  type GetOptions,
  type GetResult,
  get,
  type ImportOptions,
  type ImportResult,
  type ImportSource,
  importData,
  importOf,
  importPointerText,
  isGitUrl,
  type RemoteFactory,
  type SourceOptions,
  stageMd5,
  type UpdateOptions,
  type UpdateResult,
  update,
} from "./ops/get.js";
export {
  type HookName,
  hooksDir,
  type InstalledHook,
  type InstallOptions,
  type InstallResult,
  install,
} from "./ops/install.js";
export { type ListEntry, type ListOptions, type ListResult, list, type UnknownFolder } from "./ops/list.js";
export {
  diffMetrics,
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
  showMetrics,
  WORKSPACE,
} from "./ops/metrics.js";
export type { ProgressEvent, ProgressListener } from "./ops/progress.js";
export { remove } from "./ops/remove.js";
export { hasRevisions, outsInScope, type RevisionScope } from "./ops/revisions.js";
export {
  addressedStatus,
  type DepStatusEntry,
  type DvcStatusJson,
  type OutState,
  type OutStatusEntry,
  type OwnerStatus,
  ownerAddress,
  projectStatus,
  type StageStatusEntry,
  type StatusEntry,
  type StatusSelection,
  statusEntries,
  toDvcStatusJson,
  workspaceStatus,
} from "./ops/status.js";
export {
  type CloudState,
  cloudStatus,
  defaultJobs,
  fetch,
  push,
  remoteContains,
  type TransferFailure,
  type TransferOptions,
  type TransferResult,
} from "./ops/transfer.js";
export { type OutputVersion, outputVersions, type VersionsOptions, type VersionsResult } from "./ops/versions.js";
export { type DagOptions, type DagView, dagView, type ProjectDagOptions, projectDag } from "./pipeline/dag.js";
export {
  buildGraph,
  componentsOf,
  dfsPostorder,
  type GraphLink,
  type GraphNode,
  type GraphOptions,
  graphNodes,
  nodeAddress,
  type StageGraph,
  upstreamOf,
} from "./pipeline/graph.js";
export {
  diffFlatParams,
  diffParams,
  type FlatParams,
  flattenParams,
  type ParamChange,
  type ParamsDiffOptions,
  type ParamsDiffResult,
  type ParamsOptions,
  type ParamsShowResult,
  showParams,
} from "./pipeline/params.js";
export { listStages, type StageListEntry, type StageListOptions } from "./pipeline/stage-list.js";
export { type StageStatus, type StageStatusOptions, StatusMemo, stageStatus } from "./pipeline/status.js";
export type { Remote, RemoteAdapter, RemoteCapabilities, RemoteConfig } from "./remote.js";
export { Repo, type TrackedOut } from "./repo.js";
export type {
  CloudStatusEntry,
  OperationOptions,
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
} from "./repo-api.js";
