/**
 * `@mlv/remote-gcs`: Google Cloud Storage remotes, `gs://bucket/prefix`, as DVC's `gs` remotes.
 *
 * Key `files/md5/ab/cdef` is the object `prefix/files/md5/ab/cdef` in `bucket` (spec §4.1). The
 * options are DVC's (`projectname`, `credentialpath`, `endpointurl`, `allow_anonymous_login`);
 * without them the SDK finds Application Default Credentials by itself.
 *
 * Only `@mlv/core` and node builtins are imported at module load: `@google-cloud/storage` is
 * imported by the first method that talks to the bucket, and `create()` does no I/O.
 */
import { open } from "node:fs/promises";
import { createRequire } from "node:module";
import { homedir } from "node:os";
import { PassThrough, Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type {
  Bucket,
  CreateReadStreamOptions,
  CreateWriteStreamOptions,
  File,
  StorageOptions,
} from "@google-cloud/storage";
import {
  type ByteRange,
  ConfigError,
  checkByteRange,
  cutBytes,
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

/** Objects up to this size go up in one request (a multipart upload); bigger ones as a resumable upload. */
export const RESUMABLE_THRESHOLD = 8 * 1024 * 1024;
/** Keys per listing page (the API's maximum). */
const PAGE_SIZE = 1000;
/** Read buffer for uploads from local files. */
const FILE_CHUNK = 1024 * 1024;

/**
 * The SDK retries idempotent calls on 408/429/5xx and dropped connections. Core retries transient
 * failures too, so keep the SDK's own budget short: a few quick attempts, then report.
 */
const RETRY_OPTIONS: NonNullable<StorageOptions["retryOptions"]> = {
  autoRetry: true,
  maxRetries: 2,
  retryDelayMultiplier: 2,
  maxRetryDelay: 16,
  totalTimeout: 300,
};

/** What a `gs://` URL and its config section say, checked. */
export interface GcsSettings {
  bucket: string;
  /** "" or a folder ending with "/": an object's name is `prefix + key`. */
  prefix: string;
  /** `gs://bucket/prefix`, with nothing secret in it. */
  displayUrl: string;
  /** `projectname`: the project billed for requests. */
  projectId?: string;
  /** `credentialpath`: a service-account (or other) JSON key file. */
  keyFilename?: string;
  /** `endpointurl`: another API endpoint (an emulator, a private endpoint). */
  apiEndpoint?: string;
  /** `allow_anonymous_login`: send no credentials at all (public buckets). */
  anonymous: boolean;
}

/** GCS bucket names: 3-63 characters (up to 222 with dots), lowercase letters, digits, `-`, `_`, `.`. */
const BUCKET_NAME = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;

/** Parse and check a remote's URL and options; throws ConfigError naming the remote and the bad value. */
export function parseGcsConfig(config: RemoteConfig): GcsSettings {
  const { name, url, options } = config;
  const m = /^gs:\/\/([^/]*)(.*)$/i.exec(url);
  if (!m)
    throw new ConfigError(`remote '${name}': '${url}' is not a Google Cloud Storage URL: use gs://BUCKET/PREFIX`, {
      remote: name,
    });
  const rawBucket = m[1] ?? "";
  const bucket = rawBucket.slice(rawBucket.lastIndexOf("@") + 1); // never keep user info
  if (!BUCKET_NAME.test(bucket) || bucket.split(".").some((part) => part.length === 0 || part.length > 63))
    throw new ConfigError(
      `remote '${name}': '${bucket}' is not a valid bucket name in 'gs://${bucket}${m[2] ?? ""}': bucket names are 3-63 lowercase letters, digits, '-', '_' or '.'`,
      { remote: name, bucket },
    );
  const path = (m[2] ?? "").replace(/^\/+|\/+$/g, "");
  if (
    path !== "" &&
    (/[?#]/.test(path) || path.split("/").some((part) => part === "" || part === "." || part === ".."))
  )
    throw new ConfigError(
      `remote '${name}': the path '${path}' in '${url}' is not a plain folder: use gs://BUCKET/FOLDER/SUBFOLDER`,
      { remote: name },
    );
  const prefix = path === "" ? "" : `${path}/`;
  const settings: GcsSettings = {
    bucket,
    prefix,
    displayUrl: `gs://${bucket}${path === "" ? "" : `/${path}`}`,
    anonymous: parseBool(name, "allow_anonymous_login", options.allow_anonymous_login),
  };
  const projectId = options.projectname?.trim();
  if (projectId) settings.projectId = projectId;
  const keyFile = options.credentialpath?.trim();
  if (keyFile)
    settings.keyFilename = keyFile === "~" || keyFile.startsWith("~/") ? homedir() + keyFile.slice(1) : keyFile;
  const endpoint = options.endpointurl?.trim();
  if (endpoint) {
    const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint) ? endpoint : `https://${endpoint}`;
    let parsed: URL;
    try {
      parsed = new URL(withScheme);
    } catch {
      throw new ConfigError(
        `remote '${name}': endpointurl '${endpoint}' is not a URL: use e.g. https://storage.example.com or http://127.0.0.1:9199`,
        { remote: name },
      );
    }
    if ((parsed.protocol !== "http:" && parsed.protocol !== "https:") || parsed.username || parsed.password)
      throw new ConfigError(
        `remote '${name}': endpointurl must be an http:// or https:// URL without credentials, e.g. http://127.0.0.1:9199`,
        { remote: name },
      );
    settings.apiEndpoint = withScheme.replace(/\/+$/, "");
  }
  if (settings.anonymous && settings.keyFilename !== undefined)
    throw new ConfigError(`remote '${name}': set either credentialpath or allow_anonymous_login = true, not both`, {
      remote: name,
    });
  return settings;
}

function parseBool(remote: string, key: string, value: string | undefined): boolean {
  if (value === undefined) return false;
  const v = value.trim().toLowerCase();
  if (["true", "yes", "on", "1"].includes(v)) return true;
  if (["false", "no", "off", "0", ""].includes(v)) return false;
  throw new ConfigError(`remote '${remote}': ${key} must be true or false, got '${value}'`, { remote, key });
}

/** Whether `endpoint` is a Google endpoint (auth applies) rather than an emulator or a look-alike service. */
function isGoogleEndpoint(endpoint: string): boolean {
  const host = new URL(endpoint).hostname.toLowerCase();
  return host === "googleapis.com" || host.endsWith(".googleapis.com");
}

/** The options the SDK's `Storage` client is built with. */
export function storageOptions(settings: GcsSettings): StorageOptions {
  const opts: StorageOptions = { retryOptions: { ...RETRY_OPTIONS } };
  if (settings.projectId !== undefined) opts.projectId = settings.projectId;
  if (settings.keyFilename !== undefined) opts.keyFilename = settings.keyFilename;
  if (settings.apiEndpoint !== undefined) {
    opts.apiEndpoint = settings.apiEndpoint;
    // The SDK sends no credentials to a custom endpoint unless asked: ask when the endpoint is
    // Google's (a private or regional endpoint) or a key file was configured for it.
    opts.useAuthWithCustomEndpoint =
      !settings.anonymous && (settings.keyFilename !== undefined || isGoogleEndpoint(settings.apiEndpoint));
  }
  return opts;
}

type Sdk = typeof import("@google-cloud/storage");

export class GcsRemote implements Remote {
  readonly displayUrl: string;
  readonly capabilities: RemoteCapabilities = {
    rangedRead: true,
    writeFile: true,
    readFile: true,
    traverse: true,
    cancelsWrites: true,
    defaultJobs: 16,
  };

  private readonly settings: GcsSettings;
  private readonly prefix: string;
  private bucketRef: Promise<Bucket> | undefined;

  constructor(settings: GcsSettings) {
    this.settings = settings;
    this.prefix = settings.prefix;
    this.displayUrl = settings.displayUrl;
  }

  /** The SDK's bucket handle, made on first use. */
  private bucket(): Promise<Bucket> {
    this.bucketRef ??= (async () => {
      const sdk: Sdk = await import("@google-cloud/storage");
      const opts = storageOptions(this.settings);
      if (this.settings.anonymous) opts.authClient = anonymousClient();
      return new sdk.Storage(opts).bucket(this.settings.bucket);
    })();
    return this.bucketRef;
  }

  private async file(key: string): Promise<File> {
    return (await this.bucket()).file(this.prefix + key);
  }

  async exists(key: string): Promise<boolean> {
    try {
      const [found] = await (await this.file(key)).exists();
      return found;
    } catch (err) {
      throw this.failure(err, "check", key);
    }
  }

  /**
   * Size and ETag of an object. The ETag is recorded as DVC records it: gcsfs gives the JSON API's
   * `etag` (base64, e.g. `CKih16GjycICEAE=`) and DVC stores its bytes in hex (`08a8a1...1001`).
   */
  async stat(key: string): Promise<ObjectInfo> {
    let metadata: { size?: string | number; etag?: string };
    try {
      [metadata] = await (await this.file(key)).getMetadata();
    } catch (err) {
      // "read": a 404 about the object is a missing object, one about the bucket a configuration error.
      throw this.failure(err, "read", key);
    }
    const info: ObjectInfo = {};
    if (metadata.size !== undefined) info.size = Number(metadata.size);
    if (typeof metadata.etag === "string") info.etag = Buffer.from(metadata.etag, "base64").toString("hex");
    return info;
  }

  async *list(prefix: string): AsyncIterable<string> {
    const bucket = await this.bucket();
    const skip = this.prefix.length;
    let pageToken: string | undefined;
    do {
      let files: File[];
      let next: { pageToken?: string } | null;
      try {
        [files, next] = (await bucket.getFiles({
          prefix: this.prefix + prefix,
          autoPaginate: false,
          maxResults: PAGE_SIZE,
          fields: "items(name),nextPageToken",
          ...(pageToken === undefined ? {} : { pageToken }),
        })) as [File[], { pageToken?: string } | null, unknown];
      } catch (err) {
        throw this.failure(err, "list", prefix);
      }
      for (const file of files) {
        // "folder/" placeholders made by consoles are not objects of ours.
        if (!file.name.endsWith("/")) yield file.name.slice(skip);
      }
      pageToken = next?.pageToken || undefined;
    } while (pageToken !== undefined);
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    // The whole object is a plain download, as without a range (an empty object has no byte 0 to ask for).
    const part = range !== undefined && (range.offset !== 0 || range.length !== undefined) ? range : undefined;
    let options: CreateReadStreamOptions = { validation: false, decompress: false };
    if (part !== undefined) {
      checkByteRange(part, key);
      if (part.length === 0) {
        // No Range header asks for nothing; the key must still exist.
        if (!(await this.exists(key))) throw new ObjectNotFoundError(this.displayUrl, key);
        return emptyReadable();
      }
      const last = part.length === undefined ? {} : { end: part.offset + part.length - 1 };
      options = { ...options, start: part.offset, ...last };
    }
    const source = (await this.file(key)).createReadStream(options);
    let response: ResponseLike | undefined;
    if (part !== undefined) source.once("response", (res: ResponseLike) => (response = res));
    // The request starts with the first read: wait for the first bytes (or the end) or the error,
    // so that a missing object fails here and not later in the consumer's stream.
    const pastTheEnd = await new Promise<boolean>((resolve, reject) => {
      const done = (err?: unknown) => {
        source.off("readable", onReadable);
        source.off("error", done);
        if (err === undefined) resolve(false);
        // 416: the object exists but has no byte at the range's offset.
        else if (part !== undefined && httpStatus(err) === 416) resolve(true);
        else reject(this.failure(err, "read", key));
      };
      const onReadable = () => done();
      source.on("readable", onReadable);
      source.on("error", done);
    });
    let body: Readable = source;
    if (part !== undefined) {
      let cut: Cut | undefined;
      try {
        cut = pastTheEnd ? undefined : this.cutOf(response, part, key);
      } catch (err) {
        source.destroy();
        throw err;
      }
      if (cut === undefined) {
        source.destroy();
        return emptyReadable();
      }
      if (cut.skip > 0 || cut.sent > cut.limit)
        body = Readable.from(cutBytes(source, cut.skip, cut.limit), { objectMode: false });
    }
    // Hand out a stream of our own, so that a failure mid-way is an mlv error too.
    const out = new PassThrough({ highWaterMark: FILE_CHUNK });
    body.on("error", (err) => out.destroy(this.failure(err, "read", key)));
    out.on("close", () => {
      // abandoned early: drop the connection
      if (!body.destroyed) body.destroy();
      if (!source.destroyed) source.destroy();
    });
    body.pipe(out);
    return out;
  }

  /**
   * What to drop and keep of a ranged response, or undefined when the object has no byte at the
   * offset. Cloud Storage sends the range asked for (416 past the end); the Firebase emulator
   * ignores a range starting at or past the end, and sends the whole object (200).
   */
  private cutOf(response: ResponseLike | undefined, range: ByteRange, key: string): Cut | undefined {
    const headers = response?.headers ?? {};
    const contentLength = Number(headers["content-length"]);
    const length = Number.isSafeInteger(contentLength) ? contentLength : undefined;
    const sent = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(String(headers["content-range"] ?? ""));
    const from = sent ? Number(sent[1]) : 0;
    // Without a Content-Range, the whole object was sent.
    const total = sent ? (sent[3] === "*" ? undefined : Number(sent[3])) : length;
    if (total !== undefined && range.offset >= total) return undefined;
    if (from > range.offset)
      throw new RemoteError(
        "EREMOTEIO",
        `cannot read '${key}' on remote ${this.displayUrl}: asked for the bytes from ${range.offset}, the server sent them from ${from}`,
        { data: { remote: this.displayUrl, key, offset: range.offset, sentFrom: from } },
      );
    return {
      skip: range.offset - from,
      limit: range.length ?? Number.POSITIVE_INFINITY,
      sent: sent ? Number(sent[2]) - from + 1 : (length ?? Number.POSITIVE_INFINITY),
    };
  }

  /**
   * An abort destroys the upload stream, which cuts its request: a simple upload then stores
   * nothing, and a resumable session is left unfinished (no object; Cloud Storage drops the
   * session after a week).
   */
  async write(key: string, body: Readable, size?: number, options: WriteOptions = {}): Promise<void> {
    const { signal } = options;
    let bodyError: unknown;
    const onBodyError = (err: unknown) => {
      bodyError ??= err;
    };
    body.on("error", onBodyError);
    try {
      signal?.throwIfAborted();
      const target = (await this.file(key)).createWriteStream(this.uploadOptions(size));
      await pipeline(body, target, signal === undefined ? {} : { signal });
    } catch (err) {
      if (!body.destroyed) body.destroy();
      if (signal?.aborted) throw signal.reason;
      if (err === bodyError) throw err; // the source failed, not the remote
      throw this.failure(err, "write", key);
    } finally {
      body.off("error", onBodyError);
    }
  }

  async writeFile(key: string, localPath: string, size: number, options: WriteFileOptions = {}): Promise<void> {
    const { signal, onProgress } = options;
    signal?.throwIfAborted();
    // Open first: a missing local file fails before any request is made.
    const handle = await open(localPath, "r");
    const source = handle.createReadStream({ highWaterMark: FILE_CHUNK });
    let sourceError: unknown;
    source.once("error", (err) => {
      sourceError ??= err;
    });
    try {
      signal?.throwIfAborted();
      const target = (await this.file(key)).createWriteStream(this.uploadOptions(size));
      // A resumable upload reports the bytes it has handed to its request; a simple one, nothing.
      if (onProgress) target.on("progress", ({ bytesWritten }: { bytesWritten: number }) => onProgress(bytesWritten));
      await pipeline(source, target, signal === undefined ? {} : { signal });
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      if (err === sourceError) throw err; // the local file, not the remote
      throw this.failure(err, "write", key);
    } finally {
      if (!source.destroyed) source.destroy();
      await handle.close().catch(() => {});
    }
  }

  async readFile(key: string, localPath: string): Promise<void> {
    const source = await this.read(key);
    // The local file is created (or truncated) only once the object is known to exist.
    const handle = await open(localPath, "w");
    try {
      await pipeline(source, handle.createWriteStream({ highWaterMark: FILE_CHUNK }));
    } finally {
      await handle.close().catch(() => {});
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await (await this.file(key)).delete({ ignoreNotFound: true });
    } catch (err) {
      throw this.failure(err, "delete", key);
    }
  }

  async close(): Promise<void> {
    this.bucketRef = undefined;
  }

  private uploadOptions(size: number | undefined): CreateWriteStreamOptions {
    return {
      // A known small size goes up in one request; the rest as one resumable session, streamed in
      // a single PUT (no chunkSize: the SDK would otherwise hold a whole chunk in memory).
      resumable: size === undefined || size > RESUMABLE_THRESHOLD,
      // The SDK hashes what it sends and compares with what GCS stored (and deletes a mismatch).
      validation: "md5",
      metadata: { contentType: "application/octet-stream" },
    };
  }

  /** Turn an SDK error into the mlv error a user (and core's retry logic) can act on. */
  private failure(err: unknown, action: string, key: string): Error {
    if (err instanceof MlvError) return err;
    const remote = this.displayUrl;
    const { bucket } = this.settings;
    const status = httpStatus(err);
    const detail = serverMessage(err);
    const what = key === "" ? `cannot ${action} objects` : `cannot ${action} '${key}'`;
    const network = networkCode(err);
    if (network !== undefined) {
      const endpoint = failedOrigin(err) ?? this.settings.apiEndpoint ?? "https://storage.googleapis.com";
      return new RemoteUnreachableError(
        remote,
        `${what}: ${network} talking to ${endpoint}: check endpointurl and your network connection`,
        err,
      );
    }
    if (status === 404) {
      if (action === "read" && !/bucket does not exist|specified bucket|no such bucket/i.test(detail))
        return new ObjectNotFoundError(remote, key, err);
      return new RemoteError(
        "ENOBUCKET",
        `remote ${remote}: bucket '${bucket}' does not exist: check the bucket name in the URL${
          this.settings.projectId === undefined ? "" : ` and projectname '${this.settings.projectId}'`
        }`,
        { cause: err, data: { remote, bucket, key } },
      );
    }
    if (status === 401 || status === 403 || (status === undefined && isAuthFailure(err))) {
      const why =
        status === undefined
          ? `the credentials could not be used (${detail})`
          : `HTTP ${status}${detail ? `: ${detail}` : ""}`;
      const adc = !this.settings.anonymous && this.settings.keyFilename === undefined;
      return new PermissionDeniedError(
        remote,
        `${what} in bucket '${bucket}' (${why}): ${
          this.settings.anonymous
            ? "the bucket does not allow anonymous access: unset allow_anonymous_login and give credentials"
            : this.settings.keyFilename !== undefined
              ? "check credentialpath (the key file, and its account's access to the bucket)"
              : "check credentialpath or your Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, or your gcloud login)"
        }`,
        err,
        adc ? "To use your own Google account, run 'gcloud auth application-default login'." : undefined,
      );
    }
    if (status === 429) return new ThrottledError(remote, `${what}: ${detail || "HTTP 429 Too Many Requests"}`, err);
    if (isMissingKeyFile(err, this.settings.keyFilename)) {
      return new ConfigError(
        `remote ${remote}: credentialpath '${this.settings.keyFilename}' cannot be read: check the path of the JSON key file`,
        { remote },
      );
    }
    const transient = status !== undefined && (status === 408 || status >= 500);
    return new RemoteError(
      "EREMOTEIO",
      `${what} on remote ${remote}: ${status === undefined ? "" : `HTTP ${status}: `}${detail || "request failed"}`,
      { cause: err, data: { remote, key, status }, transient },
    );
  }
}

/** The part of an HTTP response a ranged read looks at. */
interface ResponseLike {
  headers?: Record<string, string | string[] | undefined>;
}

/** Of a ranged response: the bytes to drop before the range, the most to keep, and how many were sent. */
interface Cut {
  skip: number;
  limit: number;
  sent: number;
}

/** An auth client that adds no credentials (google-auth-library's PassThroughClient, as the SDK uses it). */
function anonymousClient(): NonNullable<StorageOptions["authClient"]> {
  const sdkRequire = createRequire(import.meta.resolve("@google-cloud/storage"));
  const { PassThroughClient } = sdkRequire("google-auth-library") as {
    PassThroughClient: new () => NonNullable<StorageOptions["authClient"]>;
  };
  return new PassThroughClient();
}

interface ErrorLike {
  code?: unknown;
  status?: unknown;
  errno?: unknown;
  message?: unknown;
  response?: { status?: unknown; data?: unknown };
  errors?: { message?: unknown; reason?: unknown }[];
  cause?: unknown;
}

function httpStatus(err: unknown): number | undefined {
  const e = err as ErrorLike | undefined;
  for (const v of [e?.code, e?.status, e?.response?.status]) {
    const n = typeof v === "string" && /^\d{3}$/.test(v) ? Number(v) : v;
    if (typeof n === "number" && n >= 100 && n < 600) return n;
  }
  return undefined;
}

/** The system error code of a network failure, looking through wrapped causes. */
function networkCode(err: unknown): string | undefined {
  let e = err as ErrorLike | undefined;
  for (let depth = 0; e && depth < 4; depth++) {
    for (const v of [e.code, e.errno]) {
      // EPROTO (a TLS handshake cut short) as well: this adapter reports no TLS errors of its own.
      if (typeof v === "string" && (isNetworkErrorCode(v) || v === "EPROTO")) return v;
    }
    const msg = typeof e.message === "string" ? e.message : "";
    if (
      /socket hang up|premature close|network timeout|Unexpected connection closure/i.test(msg) &&
      httpStatus(e) === undefined
    )
      return "connection lost";
    e = e.cause as ErrorLike | undefined;
  }
  return undefined;
}

/** The origin (scheme, host, port) of the request that failed, when the error tells. */
function failedOrigin(err: unknown): string | undefined {
  let e = err as (ErrorLike & { config?: { url?: unknown } }) | undefined;
  for (let depth = 0; e && depth < 4; depth++) {
    const url =
      typeof e.config?.url === "string"
        ? e.config.url
        : typeof e.message === "string"
          ? /request to (\S+) failed/.exec(e.message)?.[1]
          : undefined;
    if (url !== undefined) {
      try {
        return new URL(url).origin;
      } catch {
        return undefined;
      }
    }
    e = e.cause as typeof e;
  }
  return undefined;
}

/** The server's (or auth library's) explanation, short and on one line. */
function serverMessage(err: unknown): string {
  const e = err as ErrorLike | undefined;
  let msg = "";
  const data = e?.response?.data as { error?: unknown; error_description?: unknown } | undefined;
  if (data && typeof data === "object" && typeof data.error_description === "string") msg = data.error_description;
  else if (Array.isArray(e?.errors) && typeof e.errors[0]?.message === "string") msg = e.errors[0].message;
  else if (typeof e?.message === "string") msg = e.message;
  // Streamed requests put the JSON body of the response in the message.
  if (msg.startsWith("{")) {
    try {
      const body = JSON.parse(msg) as { error?: { message?: unknown } | string; error_description?: unknown };
      const inner = typeof body.error === "object" ? body.error.message : (body.error_description ?? body.error);
      if (typeof inner === "string") msg = inner;
    } catch {
      // not JSON after all: keep it
    }
  }
  msg = msg.replace(/\s+/g, " ").trim();
  return msg.length > 300 ? `${msg.slice(0, 297)}...` : msg;
}

/** Credentials that could not be found, read or exchanged for a token. */
function isAuthFailure(err: unknown): boolean {
  const e = err as ErrorLike | undefined;
  const msg = typeof e?.message === "string" ? e.message : "";
  const data = e?.response?.data as { error?: unknown } | undefined;
  return (
    /Could not load the default credentials|invalid_grant|invalid_client|unauthorized_client|private key|DECODER routines|No key or keyFile set|Unable to detect a Project Id/i.test(
      msg,
    ) ||
    (typeof data?.error === "string" &&
      /^(invalid_grant|invalid_client|unauthorized_client|access_denied)$/.test(data.error))
  );
}

function isMissingKeyFile(err: unknown, keyFilename: string | undefined): boolean {
  if (keyFilename === undefined) return false;
  const e = err as ErrorLike & { path?: unknown };
  return (e?.code === "ENOENT" || e?.code === "EACCES" || e?.code === "EISDIR") && e.path === keyFilename;
}

const adapter: RemoteAdapter = {
  name: "gcs",
  schemes: ["gs"],
  options: {
    projectname: "the Google Cloud project ID (for billing and bucket lookups)",
    credentialpath: "path of a service-account JSON key file (default: Application Default Credentials)",
    endpointurl: "another API endpoint, e.g. an emulator at http://127.0.0.1:9199 (then no credentials are sent)",
    allow_anonymous_login: "true: send no credentials (public buckets)",
  },
  secretOptions: [],
  create(config: RemoteConfig): Remote {
    return new GcsRemote(parseGcsConfig(config));
  },
};

export default adapter;
