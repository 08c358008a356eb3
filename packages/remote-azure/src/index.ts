/**
 * `@mlv/remote-azure`: Azure Blob Storage remotes, `azure://container/prefix`, configured with
 * DVC's keys (`account_name`, `connection_string`, `account_key`, `sas_token`, `tenant_id`,
 * `client_id`, `client_secret`, `allow_anonymous_login`, `exclude_*_credential`, `timeout`).
 *
 * Key `files/md5/ab/cdef` is the block blob `prefix/files/md5/ab/cdef` in the container. A write is
 * one Put Blob, or staged blocks followed by one Put Block List: either way the blob appears whole
 * or not at all. `@azure/storage-blob` (and `@azure/identity`, only when a token credential is used)
 * is imported on the first call, never at module load; `create()` does no I/O.
 */
import { createWriteStream } from "node:fs";
import { PassThrough, Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { TokenCredential } from "@azure/identity";
import type { ContainerClient, StoragePipelineOptions } from "@azure/storage-blob";
import {
  type ByteRange,
  ConfigError,
  checkByteRange,
  emptyReadable,
  isNetworkErrorCode,
  MlvError,
  type ObjectInfo,
  ObjectNotFoundError,
  PermissionDeniedError,
  type Remote,
  type RemoteAdapter,
  type RemoteCapabilities,
  type RemoteConfig,
  RemoteError,
  RemoteUnreachableError,
  ThrottledError,
  type WriteFileOptions,
  type WriteOptions,
} from "@mlv/core";

const MiB = 1024 * 1024;

/** Config keys whose values are secrets. */
export const SECRET_OPTIONS = ["connection_string", "account_key", "sas_token", "client_secret"];

/** How big transfers are cut; the defaults suit a handful of parallel jobs on a small machine. */
export interface AzureTuning {
  /** writeFile: files up to this size go in one Put Blob request (SDK default 256 MiB). */
  maxSingleShotSize: number;
  /** writeFile: size of each staged block above that. */
  blockSize: number;
  /** writeFile: blocks of one file in flight at once. */
  fileConcurrency: number;
  /** write: size of each buffered block of a stream (also the largest object sent in one request). */
  streamBlockSize: number;
  /** write: buffers of that size one stream may hold (bounds memory: streamBlockSize × this). */
  streamBuffers: number;
  /** read/readFile: times a broken download stream is resumed where it stopped. */
  maxRetryRequests: number;
  /** list: blobs asked for per page (the service returns at most 5000). */
  listPageSize: number;
}

export const DEFAULT_TUNING: AzureTuning = {
  maxSingleShotSize: 32 * MiB,
  blockSize: 8 * MiB,
  fileConcurrency: 4,
  streamBlockSize: 4 * MiB,
  streamBuffers: 3,
  maxRetryRequests: 5,
  listPageSize: 5000,
};

/** Where the remote lives: `azure://container/prefix` (or `azure://container@account/prefix`). */
export interface AzureLocation {
  container: string;
  /** Without leading or trailing "/"; "" for the container's root. */
  prefix: string;
  /** An account named in the URL (`container@account`), if any. */
  account?: string;
}

export function parseAzureUrl(url: string): AzureLocation {
  const m = /^(?:azure|az):\/\/([^/]*)(?:\/(.*))?$/i.exec(url);
  if (!m) throw new Error(`expected a URL of the form azure://container/prefix, got '${url}'`);
  let host = m[1] ?? "";
  let account: string | undefined;
  const at = host.indexOf("@");
  if (at >= 0) {
    account = host.slice(at + 1).split(".")[0];
    host = host.slice(0, at);
  }
  if (host === "") throw new Error(`the URL '${url}' names no container: use azure://container/prefix`);
  const prefix = (m[2] ?? "").replace(/^\/+|\/+$/g, "");
  return account ? { container: host, prefix, account } : { container: host, prefix };
}

/** `Key=Value;Key=Value` pairs of an Azure connection string (keys as written). */
export function parseConnectionString(cs: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of cs.split(";")) {
    const eq = part.indexOf("=");
    if (eq <= 0) continue;
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

/** The account a connection string is for: `AccountName`, else the first label of its blob endpoint. */
function accountOfConnectionString(cs: string): string | undefined {
  const parts = parseConnectionString(cs);
  const ci = (name: string) => Object.entries(parts).find(([k]) => k.toLowerCase() === name)?.[1];
  const name = ci("accountname");
  if (name) return name;
  if (ci("usedevelopmentstorage") === "true") return "devstoreaccount1";
  const endpoint = ci("blobendpoint");
  if (!endpoint) return undefined;
  try {
    const u = new URL(endpoint);
    const path = u.pathname.split("/").filter(Boolean)[0];
    // http://127.0.0.1:10000/devstoreaccount1 (emulator style) or https://account.blob.core.windows.net
    return /^[\d.]+$|^localhost$|^\[/.test(u.hostname) ? path : u.hostname.split(".")[0];
  } catch {
    return undefined;
  }
}

/** The blob endpoint a connection string points at (for messages; without any query string). */
function endpointOfConnectionString(cs: string, account: string | undefined): string {
  const parts = parseConnectionString(cs);
  const ci = (name: string) => Object.entries(parts).find(([k]) => k.toLowerCase() === name)?.[1];
  const explicit = ci("blobendpoint");
  if (explicit) return explicit.split("?")[0]!.replace(/\/+$/, "");
  if (ci("usedevelopmentstorage") === "true") return "http://127.0.0.1:10000/devstoreaccount1";
  const protocol = ci("defaultendpointsprotocol") ?? "https";
  return `${protocol}://${account ?? "ACCOUNT"}.blob.${ci("endpointsuffix") ?? "core.windows.net"}`;
}

/** Credentials in DefaultAzureCredential's chain that `exclude_<name>_credential` can leave out. */
export const EXCLUDABLE_CREDENTIALS = [
  "environment",
  "workload_identity",
  "managed_identity",
  "visual_studio_code",
  "cli",
  "powershell",
  "developer_cli",
  // In DVC's (Python) chain but not in the JavaScript one: accepted, nothing to leave out.
  "shared_token_cache",
  "interactive_browser",
] as const;
const JS_CHAIN = [
  "environment",
  "workload_identity",
  "managed_identity",
  "visual_studio_code",
  "cli",
  "powershell",
  "developer_cli",
];

/** How the client authenticates, decided from the options alone (no I/O). */
export type AzureAuth =
  | { kind: "connection_string"; connectionString: string }
  | { kind: "account_key"; accountKey: string }
  | { kind: "sas_token"; sasToken: string }
  | { kind: "client_secret"; tenantId: string; clientId: string; clientSecret: string }
  | { kind: "anonymous" }
  | { kind: "default"; tenantId?: string; clientId?: string; exclude: string[] };

export interface AzureSettings extends AzureLocation {
  /** The storage account ("" only when a connection string names none). */
  accountName: string;
  /** `https://<account>.blob.core.windows.net`, unless a connection string gives the endpoint. */
  endpoint: string;
  auth: AzureAuth;
  /** The server-side timeout of each try, in ms (`timeout`), or undefined for the service default. */
  tryTimeoutMs?: number;
  /** Every secret value in play, for redaction. */
  secrets: string[];
}

/** Environment variables read for options the config does not set (as adlfs, which DVC uses, does). */
const ENV_FALLBACK: Record<string, string[]> = {
  connection_string: ["AZURE_STORAGE_CONNECTION_STRING"],
  account_name: ["AZURE_STORAGE_ACCOUNT_NAME", "AZURE_STORAGE_ACCOUNT"],
  account_key: ["AZURE_STORAGE_ACCOUNT_KEY", "AZURE_STORAGE_KEY"],
  sas_token: ["AZURE_STORAGE_SAS_TOKEN"],
  tenant_id: ["AZURE_STORAGE_TENANT_ID"],
  client_id: ["AZURE_STORAGE_CLIENT_ID"],
  client_secret: ["AZURE_STORAGE_CLIENT_SECRET"],
};

function isTrue(value: string | undefined): boolean {
  return value !== undefined && /^(?:true|yes|on|1)$/i.test(value.trim());
}

/**
 * Resolve a remote's config into settings. Precedence, as in DVC/adlfs: connection_string >
 * account_key > sas_token > client secret (tenant_id + client_id + client_secret) > anonymous
 * (allow_anonymous_login, only when no credential is set) > DefaultAzureCredential.
 */
export function resolveSettings(config: RemoteConfig, env: NodeJS.ProcessEnv = process.env): AzureSettings {
  const where = `remote '${config.name}'`;
  let location: AzureLocation;
  try {
    location = parseAzureUrl(config.url);
  } catch (err) {
    throw new ConfigError(`${where}: ${(err as Error).message}`, { remote: config.name, url: config.url });
  }
  const opt = (key: string): string | undefined => {
    const own = config.options[key];
    if (own !== undefined && own !== "") return own;
    for (const name of ENV_FALLBACK[key] ?? []) {
      const v = env[name];
      if (v !== undefined && v !== "") return v;
    }
    return undefined;
  };
  const connectionString = opt("connection_string");
  const accountKey = opt("account_key");
  const sasToken = opt("sas_token")?.replace(/^\?/, "");
  const tenantId = opt("tenant_id");
  const clientId = opt("client_id");
  const clientSecret = opt("client_secret");
  const secrets = [connectionString, accountKey, sasToken, clientSecret].filter((s): s is string => !!s);
  if (connectionString) {
    const parts = parseConnectionString(connectionString);
    for (const [k, v] of Object.entries(parts))
      if (/^(?:accountkey|sharedaccesssignature)$/i.test(k) && v !== "") secrets.push(v);
  }

  let accountName = opt("account_name") ?? location.account;
  if (!accountName && connectionString) accountName = accountOfConnectionString(connectionString);
  if (!accountName && !connectionString)
    throw new ConfigError(
      `${where}: Azure needs the storage account: set 'account_name' (or AZURE_STORAGE_ACCOUNT_NAME), or give a 'connection_string'`,
      { remote: config.name },
      `Set it with 'mlv remote modify ${config.name} account_name NAME', or give a connection string with 'mlv remote modify --local ${config.name} connection_string "..."'.`,
    );

  let tryTimeoutMs: number | undefined;
  const timeout = config.options.timeout;
  if (timeout !== undefined && timeout !== "") {
    if (!/^\d+$/.test(timeout.trim()))
      throw new ConfigError(`${where}: 'timeout' must be a whole number of seconds, got '${timeout}'`, {
        remote: config.name,
      });
    tryTimeoutMs = Number(timeout.trim()) * 1000 || undefined;
  }
  for (const key of ["read_timeout", "connection_timeout"]) {
    const v = config.options[key];
    if (v !== undefined && v !== "" && !/^\d+$/.test(v.trim()))
      throw new ConfigError(`${where}: '${key}' must be a whole number of seconds, got '${v}'`, {
        remote: config.name,
      });
  }

  const exclude: string[] = [];
  for (const [key, value] of Object.entries(config.options)) {
    const m = /^exclude_(.+)_credential$/.exec(key);
    if (!m) continue;
    const name = m[1] ?? "";
    if (!(EXCLUDABLE_CREDENTIALS as readonly string[]).includes(name))
      throw new ConfigError(
        `${where}: unknown option '${key}': the credentials that can be excluded are ${EXCLUDABLE_CREDENTIALS.map((c) => `exclude_${c}_credential`).join(", ")}`,
        { remote: config.name, key },
      );
    if (isTrue(value)) exclude.push(name);
  }

  let auth: AzureAuth;
  if (connectionString) auth = { kind: "connection_string", connectionString };
  else if (accountKey) auth = { kind: "account_key", accountKey };
  else if (sasToken) auth = { kind: "sas_token", sasToken };
  else if (clientSecret) {
    const missing = [tenantId ? "" : "tenant_id", clientId ? "" : "client_id"].filter(Boolean);
    if (missing.length > 0)
      throw new ConfigError(
        `${where}: 'client_secret' is set but ${missing.map((k) => `'${k}'`).join(" and ")} ${missing.length > 1 ? "are" : "is"} not: a service principal needs tenant_id, client_id and client_secret`,
        { remote: config.name, missing },
      );
    auth = { kind: "client_secret", tenantId: tenantId!, clientId: clientId!, clientSecret };
  } else if (isTrue(config.options.allow_anonymous_login) && !tenantId && !clientId) auth = { kind: "anonymous" };
  else {
    auth = { kind: "default", exclude };
    if (tenantId) auth.tenantId = tenantId;
    if (clientId) auth.clientId = clientId;
  }

  const settings: AzureSettings = {
    ...location,
    accountName: accountName ?? "",
    endpoint: connectionString
      ? endpointOfConnectionString(connectionString, accountName)
      : `https://${accountName}.blob.core.windows.net`,
    auth,
    secrets: [...new Set(secrets)].filter((s) => s.length >= 4),
  };
  if (tryTimeoutMs !== undefined) settings.tryTimeoutMs = tryTimeoutMs;
  return settings;
}

/** Replace every secret (and anything shaped like an account key or SAS signature) with "***". */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    for (const form of new Set([secret, encodeURIComponent(secret), decodeSafe(secret)])) {
      if (form.length >= 4) out = out.split(form).join("***");
    }
  }
  return out
    .replace(/(AccountKey|SharedAccessSignature)=[^;\s"']+/gi, "$1=***")
    .replace(/([?&]sig=)[^&\s"']+/gi, "$1***");
}

function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Error codes of the Blob service that mean "your credentials are wrong or not allowed". */
const AUTH_CODES = new Set([
  "AuthenticationFailed",
  "AuthorizationFailure",
  "AuthorizationPermissionMismatch",
  "AuthorizationProtocolMismatch",
  "AuthorizationResourceTypeMismatch",
  "AuthorizationServiceMismatch",
  "AuthorizationSourceIPMismatch",
  "InsufficientAccountPermissions",
  "InvalidAuthenticationInfo",
  "NoAuthenticationInformation",
  "AccountIsDisabled",
  "KeyBasedAuthenticationNotPermitted",
]);
/** Errors from @azure/identity: no credential could produce a token. */
const IDENTITY_ERRORS = new Set([
  "CredentialUnavailableError",
  "AuthenticationError",
  "AggregateAuthenticationError",
  "AuthenticationRequiredError",
]);
const THROTTLE_CODES = new Set(["ServerBusy", "IngressOverAccountLimit", "EgressOverAccountLimit", "TooManyRequests"]);

interface SdkError {
  name?: string;
  message?: string;
  code?: string;
  statusCode?: number;
  details?: { errorCode?: string };
  stack?: string;
}

function errorCodeOf(err: SdkError): string | undefined {
  const detail = err.details?.errorCode;
  if (typeof detail === "string" && detail !== "") return detail;
  return typeof err.code === "string" ? err.code : undefined;
}

export class AzureRemote implements Remote {
  readonly displayUrl: string;
  readonly capabilities: RemoteCapabilities = {
    rangedRead: true,
    writeFile: true,
    readFile: true,
    traverse: true,
    cancelsWrites: true,
    defaultJobs: 16,
  };

  private readonly base: string;
  private readonly tuning: AzureTuning;
  private client: Promise<ContainerClient> | undefined;

  constructor(
    private readonly settings: AzureSettings,
    tuning: Partial<AzureTuning> = {},
  ) {
    this.displayUrl = `azure://${settings.container}${settings.prefix === "" ? "" : `/${settings.prefix}`}`;
    this.base = settings.prefix === "" ? "" : `${settings.prefix}/`;
    this.tuning = { ...DEFAULT_TUNING, ...tuning };
  }

  async exists(key: string): Promise<boolean> {
    const container = await this.container();
    try {
      const props = await container.getBlobClient(this.base + key).getProperties();
      return !isFolder(props.metadata);
    } catch (err) {
      if (this.isBlobMissing(err)) return false;
      throw this.failure(err, "check", key);
    }
  }

  /**
   * Size and ETag of a blob. The ETag is recorded as DVC records it: adlfs gives the blob's ETag and
   * DVC keeps it in double quotes (adding them when missing), e.g. `"0x8DBF6C1A2B3C4D5"`.
   */
  async stat(key: string): Promise<ObjectInfo> {
    const container = await this.container();
    let props: Awaited<ReturnType<ReturnType<ContainerClient["getBlobClient"]>["getProperties"]>>;
    try {
      props = await container.getBlobClient(this.base + key).getProperties();
    } catch (err) {
      if (this.isBlobMissing(err)) throw new ObjectNotFoundError(this.displayUrl, key, err);
      throw this.failure(err, "check", key);
    }
    if (isFolder(props.metadata)) throw new ObjectNotFoundError(this.displayUrl, key);
    const info: ObjectInfo = {};
    if (props.contentLength !== undefined) info.size = props.contentLength;
    if (props.etag !== undefined) info.etag = props.etag.startsWith('"') ? props.etag : `"${props.etag}"`;
    return info;
  }

  async *list(prefix: string): AsyncIterable<string> {
    const container = await this.container();
    const pages = container
      .listBlobsFlat({ prefix: this.base + prefix, includeMetadata: true })
      .byPage({ maxPageSize: this.tuning.listPageSize });
    const it = pages[Symbol.asyncIterator]();
    try {
      for (;;) {
        let step: IteratorResult<Awaited<ReturnType<typeof it.next>>["value"]>;
        try {
          step = await it.next();
        } catch (err) {
          throw this.failure(err, "list", prefix);
        }
        if (step.done) return;
        for (const item of step.value.segment.blobItems) {
          if (isFolder(item.metadata)) continue; // a directory entry of a hierarchical-namespace account
          yield item.name.slice(this.base.length);
        }
      }
    } finally {
      await it.return?.();
    }
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    if (range !== undefined) checkByteRange(range, key);
    const body = await this.download(key, range);
    const out = new PassThrough({ highWaterMark: MiB });
    body.on("error", (err) => out.destroy(this.failure(err, "read", key)));
    out.on("close", () => {
      if (!body.destroyed) body.destroy();
    });
    body.pipe(out);
    return out;
  }

  async readFile(key: string, localPath: string): Promise<void> {
    const body = await this.download(key);
    let bodyError: unknown;
    body.on("error", (err) => {
      bodyError ??= err;
    });
    try {
      await pipeline(body, createWriteStream(localPath));
    } catch (err) {
      if (err === bodyError) throw this.failure(err, "read", key);
      throw err; // the local file: not a remote error
    }
  }

  /**
   * An abort cancels the requests under way: a Put Blob stores nothing, and staged blocks that
   * no block list commits are never a blob (the service discards them after a week).
   */
  async write(key: string, body: Readable, size?: number, options: WriteOptions = {}): Promise<void> {
    const { signal } = options;
    if (signal?.aborted) {
      body.destroy();
      throw signal.reason;
    }
    // An abort also stops the reading of the body, which the upload may be waiting on. The error
    // that destroying it emits is the abort itself, reported below: it must not go unhandled
    // while nothing else listens (before the upload starts, or after it has read the body).
    const ignore = () => {};
    body.on("error", ignore);
    const onAbort = () => body.destroy(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      await this.writeStream(key, body, size, signal);
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      throw err;
    } finally {
      signal?.removeEventListener("abort", onAbort);
      body.off("error", ignore);
    }
  }

  private async writeStream(key: string, body: Readable, size: number | undefined, signal?: AbortSignal) {
    const container = await this.container();
    const blob = container.getBlockBlobClient(this.base + key);
    const source = body[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
    const { streamBlockSize, streamBuffers } = this.tuning;
    let bodyError: unknown;
    const nextChunk = async (): Promise<Buffer | undefined> => {
      try {
        const r = await source.next();
        if (r.done) return undefined;
        return typeof r.value === "string" ? Buffer.from(r.value) : r.value;
      } catch (err) {
        bodyError = err;
        throw err;
      }
    };
    const sizeError = (actual: number) =>
      new RemoteError(
        "ESIZE",
        `'${key}' was not written to remote ${this.displayUrl}: expected ${size} bytes, the stream gave ${actual}`,
        { data: { remote: this.displayUrl, key, expected: size, actual } },
      );
    try {
      // Read up to one block: an object that fits goes in one Put Blob request, the rest in staged blocks.
      const head: Buffer[] = [];
      let headBytes = 0;
      let ended = false;
      while (headBytes < streamBlockSize) {
        const chunk = await nextChunk();
        if (chunk === undefined) {
          ended = true;
          break;
        }
        head.push(chunk);
        headBytes += chunk.length;
      }
      if (ended) {
        if (size !== undefined && headBytes !== size) throw sizeError(headBytes);
        const data = head.length === 1 ? head[0]! : Buffer.concat(head, headBytes);
        signal?.throwIfAborted();
        await blob.upload(data, data.length, { abortSignal: signal });
        return;
      }
      let total = 0;
      const rest = Readable.from(
        (async function* () {
          for (const chunk of head) {
            total += chunk.length;
            yield chunk;
          }
          head.length = 0;
          for (;;) {
            const chunk = await nextChunk();
            if (chunk === undefined) break;
            total += chunk.length;
            yield chunk;
          }
          // Failing here fails the upload before its block list is committed: nothing appears.
          if (size !== undefined && total !== size) throw sizeError(total);
        })(),
        { objectMode: false },
      );
      await blob.uploadStream(rest, streamBlockSize, streamBuffers, { abortSignal: signal });
    } catch (err) {
      if (err === bodyError || err instanceof MlvError) throw err;
      throw this.failure(err, "write", key);
    } finally {
      if (!body.destroyed) body.destroy();
    }
  }

  async writeFile(key: string, localPath: string, _size: number, options: WriteFileOptions = {}): Promise<void> {
    const { signal, onProgress } = options;
    signal?.throwIfAborted();
    const container = await this.container();
    const blob = container.getBlockBlobClient(this.base + key);
    try {
      signal?.throwIfAborted();
      await blob.uploadFile(localPath, {
        maxSingleShotSize: this.tuning.maxSingleShotSize,
        blockSize: this.tuning.blockSize,
        concurrency: this.tuning.fileConcurrency,
        abortSignal: signal,
        ...(onProgress ? { onProgress: ({ loadedBytes }: { loadedBytes: number }) => onProgress(loadedBytes) } : {}),
      });
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      // The local file is missing or unreadable: not a remote error.
      if (typeof (err as NodeJS.ErrnoException).errno === "number" && (err as SdkError).statusCode === undefined)
        throw err;
      throw this.failure(err, "write", key);
    }
  }

  async delete(key: string): Promise<void> {
    const container = await this.container();
    try {
      await container.getBlobClient(this.base + key).deleteIfExists({ deleteSnapshots: "include" });
    } catch (err) {
      if (this.isBlobMissing(err)) return;
      throw this.failure(err, "delete", key);
    }
  }

  async close(): Promise<void> {
    this.client = undefined;
  }

  /**
   * A download response's body (the whole blob, or `range` of it); a missing blob is
   * ObjectNotFoundError, raised here and not from the stream.
   */
  private async download(key: string, range?: ByteRange): Promise<Readable> {
    const container = await this.container();
    const blob = container.getBlobClient(this.base + key);
    if (range?.length === 0) {
      // The SDK reads a count of 0 as "to the end"; the key must still exist.
      let props: Awaited<ReturnType<typeof blob.getProperties>>;
      try {
        props = await blob.getProperties();
      } catch (err) {
        if (this.isBlobMissing(err)) throw new ObjectNotFoundError(this.displayUrl, key, this.sanitize(err));
        throw this.failure(err, "read", key);
      }
      if (isFolder(props.metadata)) throw new ObjectNotFoundError(this.displayUrl, key);
      return emptyReadable();
    }
    let response: Awaited<ReturnType<typeof blob.download>>;
    try {
      response = await blob.download(range?.offset ?? 0, range?.length, {
        maxRetryRequests: this.tuning.maxRetryRequests,
      });
    } catch (err) {
      if (this.isBlobMissing(err)) throw new ObjectNotFoundError(this.displayUrl, key, this.sanitize(err));
      // 416 InvalidRange: the blob exists but has no byte at the range's offset.
      if (range !== undefined && (err as SdkError).statusCode === 416) return emptyReadable();
      throw this.failure(err, "read", key);
    }
    const body = response.readableStreamBody as Readable | undefined;
    if (isFolder(response.metadata)) {
      body?.destroy();
      throw new ObjectNotFoundError(this.displayUrl, key);
    }
    return body ?? emptyReadable();
  }

  /** A 404 about the blob itself (not about the container, which is a configuration problem). */
  private isBlobMissing(err: unknown): boolean {
    const e = err as SdkError;
    return e?.statusCode === 404 && errorCodeOf(e) !== "ContainerNotFound";
  }

  private container(): Promise<ContainerClient> {
    if (this.client === undefined) {
      const pending = this.connect();
      this.client = pending;
      pending.catch(() => {
        if (this.client === pending) this.client = undefined;
      });
    }
    return this.client;
  }

  private async connect(): Promise<ContainerClient> {
    const s = this.settings;
    const sdk = await import("@azure/storage-blob");
    const options: StoragePipelineOptions = {
      // Core retries whole transfers; the SDK retries single requests (a block, a page), briefly.
      retryOptions: {
        maxTries: 3,
        retryDelayInMs: 1000,
        maxRetryDelayInMs: 8000,
        ...(s.tryTimeoutMs === undefined ? {} : { tryTimeoutInMs: s.tryTimeoutMs }),
      },
      userAgentOptions: { userAgentPrefix: "mlv" },
    };
    let service: InstanceType<typeof sdk.BlobServiceClient>;
    try {
      const auth = s.auth;
      switch (auth.kind) {
        case "connection_string":
          service = sdk.BlobServiceClient.fromConnectionString(auth.connectionString, options);
          break;
        case "account_key":
          service = new sdk.BlobServiceClient(
            s.endpoint,
            new sdk.StorageSharedKeyCredential(s.accountName, auth.accountKey),
            options,
          );
          break;
        case "sas_token":
          service = new sdk.BlobServiceClient(`${s.endpoint}?${auth.sasToken}`, new sdk.AnonymousCredential(), options);
          break;
        case "anonymous":
          service = new sdk.BlobServiceClient(s.endpoint, new sdk.AnonymousCredential(), options);
          break;
        case "client_secret":
        case "default":
          service = new sdk.BlobServiceClient(s.endpoint, await tokenCredential(auth), options);
          break;
      }
    } catch (err) {
      throw new ConfigError(
        `remote ${this.displayUrl}: cannot set up the Azure client: ${this.detail(err)}; check connection_string, account_name and sas_token`,
        { remote: this.displayUrl },
      );
    }
    return service.getContainerClient(s.container);
  }

  /** The original error with its secrets removed, to keep as `cause` (a RestError holds the request URL, SAS included). */
  private sanitize(err: unknown): Error {
    const e = (err ?? {}) as SdkError;
    const clean = new Error(
      this.detail(err, true) === "unknown error" ? this.describe(err) : this.detail(err, true),
    ) as Error & { code?: string; statusCode?: number };
    clean.name = typeof e.name === "string" ? e.name : "Error";
    const code = errorCodeOf(e);
    if (code !== undefined) clean.code = code;
    if (typeof e.statusCode === "number") clean.statusCode = e.statusCode;
    if (typeof e.stack === "string") clean.stack = redact(e.stack, this.settings.secrets);
    return clean;
  }

  /** The error's first line, redacted, with the HTTP status and service error code when they add something. */
  private describe(err: unknown): string {
    const e = (err ?? {}) as SdkError;
    const code = errorCodeOf(e);
    const text = this.detail(err);
    const status = typeof e.statusCode === "number" ? `HTTP ${e.statusCode}` : "";
    if (text === "unknown error") return [status, code].filter(Boolean).join(" ") || text;
    return code && !text.includes(code) ? `${text} (${code})` : text;
  }

  /** The error's message, redacted; only its first line unless `full`. */
  private detail(err: unknown, full = false): string {
    const message = err instanceof Error ? err.message : String(err);
    const text = redact(message, this.settings.secrets);
    return (full ? text : (text.split("\n")[0] ?? "")).trim() || "unknown error";
  }

  /** Turn an SDK error into the MlvError a caller can act on. Secrets never reach the message. */
  private failure(err: unknown, action: string, key: string): Error {
    if (err instanceof MlvError) return err;
    const e = (err ?? {}) as SdkError;
    const status = e.statusCode;
    const code = errorCodeOf(e);
    const s = this.settings;
    const remote = this.displayUrl;
    const what = `cannot ${action} '${key}'`;
    const account = s.accountName === "" ? "" : ` of storage account '${s.accountName}'`;
    const detail = this.describe(err);
    const cause = this.sanitize(err);
    if (code === "ContainerNotFound")
      return new RemoteError(
        "ENOCONTAINER",
        `remote ${remote}: the container '${s.container}'${account} does not exist: check the container name in the URL and the account (account_name or connection_string), or create the container (mlv does not create containers)`,
        {
          cause,
          data: { remote, container: s.container, account: s.accountName, key },
          hint: `Create it with 'az storage container create --name ${s.container}${s.accountName === "" ? "" : ` --account-name ${s.accountName}`}'.`,
        },
      );
    if (
      status === 401 ||
      status === 403 ||
      (code !== undefined && AUTH_CODES.has(code)) ||
      IDENTITY_ERRORS.has(e.name ?? "")
    )
      return new PermissionDeniedError(
        remote,
        `${what} in container '${s.container}'${account}: ${detail}; check account_key/sas_token/connection_string, or your Azure login (or tenant_id/client_id/client_secret)`,
        cause,
        s.auth.kind === "default" ? "To use your own Azure account, run 'az login'." : undefined,
      );
    if (status === 429 || status === 503 || (code !== undefined && THROTTLE_CODES.has(code)))
      return new ThrottledError(remote, `${what}: ${detail}`, cause);
    if (
      isNetworkErrorCode(code) ||
      e.name === "AbortError" ||
      (status === undefined && /ECONNREFUSED|ENOTFOUND|ECONNRESET|ETIMEDOUT|socket hang up/i.test(e.message ?? ""))
    ) {
      return new RemoteUnreachableError(
        remote,
        `${what}: ${detail}: check the network and the endpoint ${redact(s.endpoint, s.secrets)} (account_name or connection_string)`,
        cause,
      );
    }
    // Another writer committed the same blob and discarded our uncommitted blocks: writing again works.
    const transient =
      (status !== undefined && status >= 500) || code === "InvalidBlockList" || code === "OperationTimedOut";
    return new RemoteError("EREMOTEIO", `${what} on remote ${remote}: ${detail}`, {
      cause,
      data: { remote, key, status, code },
      transient,
    });
  }
}

function isFolder(metadata: Record<string, string> | undefined): boolean {
  if (!metadata) return false;
  for (const [k, v] of Object.entries(metadata)) if (k.toLowerCase() === "hdi_isfolder" && v === "true") return true;
  return false;
}

/** A service principal's credential, or DefaultAzureCredential (optionally without some of its chain). */
async function tokenCredential(
  auth: Extract<AzureAuth, { kind: "client_secret" | "default" }>,
): Promise<TokenCredential> {
  const id = await import("@azure/identity");
  if (auth.kind === "client_secret")
    return new id.ClientSecretCredential(auth.tenantId, auth.clientId, auth.clientSecret);
  const common = auth.tenantId ? { tenantId: auth.tenantId } : {};
  if (auth.exclude.length === 0) {
    return new id.DefaultAzureCredential(
      auth.clientId
        ? { ...common, managedIdentityClientId: auth.clientId, workloadIdentityClientId: auth.clientId }
        : common,
    );
  }
  const make: Record<string, () => TokenCredential> = {
    environment: () => new id.EnvironmentCredential(),
    workload_identity: () =>
      new id.WorkloadIdentityCredential(auth.clientId ? { ...common, clientId: auth.clientId } : common),
    managed_identity: () =>
      auth.clientId
        ? new id.ManagedIdentityCredential({ clientId: auth.clientId })
        : new id.ManagedIdentityCredential(),
    visual_studio_code: () => new id.VisualStudioCodeCredential(common),
    cli: () => new id.AzureCliCredential(common),
    powershell: () => new id.AzurePowerShellCredential(common),
    developer_cli: () => new id.AzureDeveloperCliCredential(common),
  };
  const chain: TokenCredential[] = [];
  for (const name of credentialChain(auth.exclude)) {
    try {
      chain.push(make[name]!());
    } catch {
      // a credential that cannot even be constructed here (missing environment): leave it out
    }
  }
  return new id.ChainedTokenCredential(...chain);
}

/** DefaultAzureCredential's chain (JavaScript's), less the excluded credentials. */
export function credentialChain(exclude: readonly string[]): string[] {
  return JS_CHAIN.filter((name) => !exclude.includes(name));
}

/** Create a remote with non-default transfer sizes (tests; tuning for unusual networks). */
export function createAzureRemote(config: RemoteConfig, tuning: Partial<AzureTuning> = {}): AzureRemote {
  return new AzureRemote(resolveSettings(config), tuning);
}

const adapter: RemoteAdapter = {
  name: "azure",
  schemes: ["azure"],
  options: {
    account_name: "storage account name (not needed with connection_string)",
    connection_string: "full connection string of the storage account (secret: use --local)",
    account_key: "storage account access key (secret)",
    sas_token: "shared access signature token (secret)",
    tenant_id: "Azure AD tenant of a service principal or of DefaultAzureCredential",
    client_id: "client id of a service principal, or of a managed identity",
    client_secret: "client secret of a service principal (secret)",
    allow_anonymous_login: "true: read public containers without credentials",
    "exclude_*_credential":
      "true: leave that credential (environment, workload_identity, managed_identity, visual_studio_code, cli, powershell, developer_cli) out of DefaultAzureCredential",
    timeout: "server-side timeout of each request, in seconds",
    read_timeout: "accepted for DVC compatibility; not applied (use timeout)",
    connection_timeout: "accepted for DVC compatibility; not applied (use timeout)",
  },
  secretOptions: SECRET_OPTIONS,
  create(config: RemoteConfig): Remote {
    return createAzureRemote(config);
  },
};

export default adapter;
