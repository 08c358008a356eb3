/**
 * AWS SDK errors turned into @mlv/core's errors, which say what to check and never show a secret.
 */
import {
  isNetworkErrorCode,
  MlvError,
  ObjectNotFoundError,
  PermissionDeniedError,
  RemoteError,
  RemoteUnreachableError,
  ThrottledError,
  TLS_ERROR_PATTERN,
} from "@mlv/core";
import { redact } from "./options.js";

export interface ErrorContext {
  /** The remote's name in the config, when known (for hints). */
  name?: string;
  displayUrl: string;
  bucket: string;
  /** The endpoint as configured, or undefined for AWS. */
  endpoint: string | undefined;
  secrets: string[];
}

/** What an SDK error looks like (service exceptions, network errors, credential provider errors). */
interface SdkErrorLike {
  name?: string;
  code?: string;
  Code?: string;
  message?: string;
  $fault?: "client" | "server";
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
  errors?: unknown[];
  cause?: unknown;
}

const AUTH = new Set([
  "AccessDenied",
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "ExpiredToken",
  "InvalidToken",
  "TokenRefreshRequired",
  "AllAccessDisabled",
  "AccountProblem",
  "InvalidSecurity",
  "Forbidden",
  "UnauthorizedAccess",
]);
const THROTTLE = new Set([
  "SlowDown",
  "Throttling",
  "ThrottlingException",
  "ThrottledException",
  "RequestLimitExceeded",
  "TooManyRequestsException",
  "RequestThrottled",
  "RequestThrottledException",
  "ServiceUnavailable",
  "ProvisionedThroughputExceededException",
  "BandwidthLimitExceeded",
]);
const TIMEOUT_NAMES = new Set(["TimeoutError", "RequestTimeout", "RequestTimeoutException", "NetworkingError"]);

function nameOf(e: SdkErrorLike): string {
  return e.Code ?? e.name ?? "";
}

/** The errno-like code of the error or of what it wraps (AggregateError of a dual-stack connect, causes). */
function systemCode(e: SdkErrorLike, depth = 0): string | undefined {
  if (typeof e.code === "string") return e.code;
  if (depth > 3) return undefined;
  for (const inner of [...(Array.isArray(e.errors) ? e.errors : []), e.cause]) {
    if (inner && typeof inner === "object") {
      const c = systemCode(inner as SdkErrorLike, depth + 1);
      if (c) return c;
    }
  }
  return undefined;
}

export function statusOf(err: unknown): number | undefined {
  return (err as SdkErrorLike | undefined)?.$metadata?.httpStatusCode;
}

/** A missing object (GetObject's NoSuchKey, HeadObject's bare 404). */
export function isNotFound(err: unknown): boolean {
  const e = err as SdkErrorLike | undefined;
  if (!e || typeof e !== "object") return false;
  const n = nameOf(e);
  if (n === "NoSuchKey" || n === "NotFound") return true;
  return statusOf(e) === 404 && n !== "NoSuchBucket" && n !== "NoSuchUpload";
}

export function isNoSuchBucket(err: unknown): boolean {
  return nameOf((err ?? {}) as SdkErrorLike) === "NoSuchBucket";
}

/**
 * Translate an SDK error raised while doing `action` (e.g. "read") on `key` (undefined for
 * listings). Not-found is left to the caller, which knows whether it means "false" or an error.
 */
export function translate(err: unknown, ctx: ErrorContext, action: string, key?: string): Error {
  if (err instanceof MlvError) return err;
  const e = (err && typeof err === "object" ? err : { message: String(err) }) as SdkErrorLike;
  const name = nameOf(e);
  const status = statusOf(e);
  const code = systemCode(e);
  const remote = ctx.displayUrl;
  const where = ctx.endpoint ?? "AWS S3";
  const what = key === undefined ? action : `${action} '${key}'`;
  const detail = redact(String(e.message ?? name ?? "unknown error"), ctx.secrets)
    .replace(/\s+/g, " ")
    .trim();
  const data = { remote, bucket: ctx.bucket, key, sdkError: name, status };
  const remoteName = ctx.name ?? "NAME";

  if (name === "NoSuchBucket")
    return new RemoteError(
      "ENOBUCKET",
      `bucket '${ctx.bucket}' of remote ${remote} does not exist on ${where}: check the bucket name in the remote's URL${
        ctx.endpoint ? ", and 'endpointurl'" : " and 'region'"
      } (mlv does not create buckets)`,
      { cause: err, data },
    );
  if (name === "CredentialsProviderError" || /could not load credentials/i.test(detail))
    return new PermissionDeniedError(
      remote,
      `no AWS credentials were found: set the remote's 'access_key_id' and 'secret_access_key', or use an AWS profile ('profile', AWS_PROFILE, ~/.aws/credentials), AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or 'allow_anonymous_login true' for a public bucket (${detail})`,
      err,
      `Set them with 'mlv remote modify --local ${remoteName} access_key_id ...' and 'mlv remote modify --local ${remoteName} secret_access_key ...'.`,
    );
  if (AUTH.has(name) || status === 401 || status === 403)
    return new PermissionDeniedError(
      remote,
      `${what} was refused (${name || status}): check access_key_id/secret_access_key or your AWS profile, and that they may use bucket '${ctx.bucket}'`,
      err,
    );
  if (THROTTLE.has(name) || status === 429 || status === 503)
    return new ThrottledError(remote, `${what}: ${name || status} (${detail})`, err);
  if (isNetworkErrorCode(code) || TIMEOUT_NAMES.has(name) || TIMEOUT_NAMES.has(code ?? ""))
    return new RemoteUnreachableError(
      remote,
      `${what} failed: ${code ?? name} talking to ${where}: check 'endpointurl'${
        ctx.endpoint ? ` (${ctx.endpoint})` : ""
      }, your network and proxy settings (${detail})`,
      err,
    );
  if (TLS_ERROR_PATTERN.test(code ?? "") || TLS_ERROR_PATTERN.test(name))
    return new RemoteError(
      "ETLS",
      `remote ${remote}: the TLS connection to ${where} failed (${code ?? name}): give 'ssl_verify' the path of a CA bundle, or set it to false for a test server (${detail})`,
      { cause: err, data },
    );
  if (
    name === "PermanentRedirect" ||
    name === "AuthorizationHeaderMalformed" ||
    name === "IllegalLocationConstraintException"
  )
    return new RemoteError(
      "EREGION",
      `remote ${remote}: ${what} failed: bucket '${ctx.bucket}' is in another region (${name}): set the remote's 'region' (${detail})`,
      { cause: err, data, hint: `Set it with 'mlv remote modify ${remoteName} region REGION'.` },
    );
  if (name === "InvalidBucketName")
    return new RemoteError("EBADBUCKET", `remote ${remote}: '${ctx.bucket}' is not a valid bucket name`, {
      cause: err,
      data,
    });
  const transient = e.$fault === "server" || (status !== undefined && status >= 500) || name === "InternalError";
  return new RemoteError("EREMOTEIO", `cannot ${what} on remote ${remote}: ${name ? `${name}: ` : ""}${detail}`, {
    cause: err,
    data,
    transient,
  });
}

export function notFound(ctx: ErrorContext, key: string, cause?: unknown): ObjectNotFoundError {
  return new ObjectNotFoundError(ctx.displayUrl, key, cause);
}
