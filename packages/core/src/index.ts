export { type AdapterLoader, type AdapterSources, openRemote, resolveAdapter, urlScheme } from "./adapters.js";
export { type HashName, type LinkType, ObjectCache, objectKey, parseLinkTypes } from "./cache/object-cache.js";
export { Config, type ConfigLevel, type ConfigValue, redactUrl } from "./config.js";
export * from "./errors.js";
export * from "./git/revisions.js";
export { md5File, md5Hex } from "./hash/md5.js";
export { type AddOptions, type AddOutcome, type AddResult, add } from "./ops/add.js";
export { type CheckoutOptions, type CheckoutResult, checkout } from "./ops/checkout.js";
export { type GcOptions, type GcResult, gc } from "./ops/gc.js";
export type { ProgressEvent, ProgressListener } from "./ops/progress.js";
export { remove } from "./ops/remove.js";
export { hasRevisions, outsInScope, type RevisionScope } from "./ops/revisions.js";
export { type OutState, type StatusEntry, toDvcStatusJson, workspaceStatus } from "./ops/status.js";
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
export type { Remote, RemoteAdapter, RemoteCapabilities, RemoteConfig } from "./remote.js";
export { Repo, type TrackedOut } from "./repo.js";
