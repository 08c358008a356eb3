/**
 * `@mlv/core/internal`: everything the `mlv` command line is built from (the `Project` the
 * operations share, each operation as a function, formats, git history, caches), on top of the
 * public API of `@mlv/core`, which it re-exports whole. Not a stable API: names and signatures
 * change without notice between versions. Programs use `@mlv/core`; adapter packages too.
 */

export { abortStream, raceAbort } from "./abort.js";
export { createRemote, openRemote } from "./adapters.js";
export { addTo, checkoutTo, collect, fetchInto, perRemote, pullInto, pushFrom, statusOf } from "./api/operations.js";
export { collectPlots } from "./api/plots.js";
export { writeFileAtomic } from "./atomic-write.js";
export { type HashName, type LinkType, ObjectCache, parseLinkTypes } from "./cache/object-cache.js";
export { Config, configBool, defaultConfigDir } from "./config.js";
export { HistoryOuts, type OutsAtRevisionOptions, outsAtRevision } from "./data-index/history-outs.js";
export { collectIndex, collectOuts, type DataIndex, selectTargets } from "./data-index/index.js";
export { loadPointer } from "./data-index/pointer-outs.js";
export type { RevisionOut, TrackedOut } from "./data-index/types.js";
export { type ImportOptions, type ImportResult, importData } from "./external/import.js";
export { type ImportSource, importOf, importPointerText } from "./external/import-pointer.js";
export { chosenRemote, isRemoteLocation, openChosenRemote } from "./external/remote-override.js";
export { isGitUrl } from "./external/source.js";
export { type UpdateOptions, type UpdateResult, update } from "./external/update.js";
export {
  type ImportUrlOptions,
  type ImportUrlResult,
  importUrl,
  isUrlImport,
  type UrlImportDep,
  type UrlUpdateOptions,
  type UrlUpdateResult,
  urlImportOf,
} from "./external/url-import.js";
export {
  type DepHash,
  type DepHashName,
  depHashNameOf,
  metaTreeOid,
  openUrl,
  parseFsConfig,
} from "./external/url-source.js";
export { parseLockFile } from "./formats/dvc-lock.js";
export { loadPipelineFile, type ParsingOptions, type PipelineLoadOptions } from "./formats/dvc-yaml.js";
export {
  type OutDefinition,
  type OutKind,
  type ParamsDefinition,
  removeStage,
  restoreFields,
  type StageDefinition,
  stageDefinitionOf,
  stageDefinitionValue,
  writeStage,
} from "./formats/dvc-yaml-writer.js";
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
export {
  artifactInTag,
  formatRegistryTag,
  parseRegistryTag,
  type RegistryAction,
  type RegistryTagName,
} from "./formats/registry-tags.js";
export * from "./git/revisions.js";
export { md5File, md5Hex } from "./hash/md5.js";
export * from "./index.js";
export { type AddOptions, add } from "./ops/add.js";
export {
  assignStage,
  deprecateArtifact,
  deregisterVersion,
  listArtifacts,
  projectRegistry,
  type RegistryRepo,
  registerVersion,
  resolveArtifact,
  showArtifact,
  unassignStage,
} from "./ops/artifacts.js";
export { type CheckoutOptions, checkout } from "./ops/checkout.js";
export { type ConfigChange, recordConfigChange } from "./ops/config-change.js";
export { diff } from "./ops/diff.js";
export { filesystemOf, probeLinkTypes } from "./ops/doctor.js";
export { type GcOptions, gc } from "./ops/gc.js";
export {
  type HookName,
  hooksDir,
  type InstalledHook,
  type InstallOptions,
  type InstallResult,
  install,
} from "./ops/install.js";
export { listProject } from "./ops/list.js";
export { diffMetrics, showMetrics } from "./ops/metrics.js";
export { type ArtifactState, type RegistryEvent, registryState } from "./ops/registry.js";
export { remove } from "./ops/remove.js";
export { hasRevisions, outsInScope } from "./ops/revisions.js";
export { stageMd5 } from "./ops/stage-md5.js";
export {
  addressedStatus,
  type DvcStatusJson,
  type OwnerStatus,
  ownerAddress,
  projectStatus,
  type StatusSelection,
  statusEntries,
  toDvcStatusJson,
  workspaceStatus,
} from "./ops/status.js";
export { outputVersions } from "./ops/versions.js";
export { type CommitOptions, type CommitResult, commit } from "./pipeline/commit.js";
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
export { type ReproEvent, type ReproOptions, type ReproResult, repro } from "./pipeline/repro.js";
export { findRun, runCacheDir, runCacheEligible, saveRun } from "./pipeline/run-cache.js";
export { CommandFailedError, commandLines, shellCommand } from "./pipeline/run-command.js";
export {
  commandText,
  parseParamsFlags,
  type StageAddOptions,
  type StageAddResult,
  stageAdd,
} from "./pipeline/stage-add.js";
export {
  type EditedTarget,
  type RemovedTarget,
  type RemoveOptions,
  removeTargets,
  type StageEditOptions,
  setFrozen,
} from "./pipeline/stage-edit.js";
export { listStages, type StageListEntry, type StageListOptions } from "./pipeline/stage-list.js";
export { type StageStatus, type StageStatusOptions, StatusMemo, stageStatus } from "./pipeline/status.js";
export { Project, type ProjectOpenOptions } from "./project/project.js";
export { STALE_REMOTE_TEMP_RULE } from "./remote-temps.js";
export { cloudStatus } from "./transfer/cloud-status.js";
export { fetch } from "./transfer/fetch.js";
export { push } from "./transfer/push.js";
export { defaultJobs, remoteContains } from "./transfer/remote-contains.js";
export { forEachRemote } from "./transfer/remotes.js";
export type { TransferOptions } from "./transfer/result.js";
export {
  checkRunCacheEntry,
  fetchRunCache,
  fetchRunCacheInto,
  localRunCacheEntries,
  parseRunCacheKey,
  pushRunCache,
  pushRunCacheTo,
  type RefusedRunCacheEntry,
  RUN_CACHE_PREFIX,
  type RunCacheEntry,
  type RunCacheResult,
  type RunCacheTransferOptions,
  runCacheEntryKey,
  runCacheEntryPath,
} from "./transfer/run-cache.js";
