/**
 * The S3 remote. The AWS SDK is imported on the first call that needs it, never at module load.
 */
import { readFile as readFileCb, writeFile as writeFileCb } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { pipeline, Readable, Transform } from "node:stream";
import type { S3Client } from "@aws-sdk/client-s3";
import type { ByteRange, ObjectInfo, Remote, RemoteCapabilities, WriteFileOptions, WriteOptions } from "@mlv/core";
import { checkByteRange, cutBytes, emptyReadable, RemoteError, runAll } from "@mlv/core";
import { type ErrorContext, isNotFound, notFound, translate } from "./errors.js";
import { iniRegion, type S3Settings } from "./options.js";

type ClientS3 = typeof import("@aws-sdk/client-s3");
type LibStorage = typeof import("@aws-sdk/lib-storage");

const MiB = 1024 * 1024;
/** Objects up to this size go up in one PutObject from memory; larger ones in parts of this size (or more). */
const PART_SIZE = 8 * MiB;
/** Parts of one multipart upload in flight (each holds a part in memory). */
const UPLOAD_QUEUE = 6;
/** Multipart uploads running at once in this process: bounds memory to about 3 x 7 parts. */
const MAX_MULTIPART = 3;
/** Downloads are cut into ranges of this size, fetched in parallel. */
const RANGE_SIZE = 8 * MiB;
/** Objects above this size are downloaded as parallel ranges. */
const PARALLEL_FROM = 2 * RANGE_SIZE;
/** Parallel ranged GETs of one download. */
const RANGE_JOBS = 8;
/** Sockets per client: core's jobs, plus the parts and ranges of big objects. */
const MAX_SOCKETS = 128;
const MAX_PARTS = 10_000;
const LOCAL_ERRNO = new Set(["ENOSPC", "EDQUOT", "EACCES", "EPERM", "EROFS", "EISDIR", "EBADF", "EFBIG"]);

interface Loaded {
  client: S3Client;
  sdk: ClientS3;
  Upload: LibStorage["Upload"];
}

/** A silent logger: the SDK otherwise writes warnings to the console. */
const QUIET = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };

const NODE_WARNING = "AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED";

/**
 * Construct a client without the SDK's "upgrade to Node 22" process warning, which would be printed
 * on every command (mlv supports Node 20). The variable is set only for the synchronous constructor.
 */
function quietly<T>(make: () => T): T {
  if (process.env[NODE_WARNING] !== undefined) return make();
  process.env[NODE_WARNING] = "true";
  try {
    return make();
  } finally {
    delete process.env[NODE_WARNING];
  }
}

/** A counting semaphore. */
class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];
  constructor(n: number) {
    this.free = n;
  }
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((ok) => this.waiting.push(ok));
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    }
  }
}

export class S3Remote implements Remote {
  readonly displayUrl: string;
  readonly capabilities: RemoteCapabilities = {
    rangedRead: true,
    writeFile: true,
    readFile: true,
    traverse: true,
    cancelsWrites: true,
    awaitsCheck: true,
    defaultJobs: 16,
  };

  private readonly settings: S3Settings;
  private readonly ctx: ErrorContext;
  private loading: Promise<Loaded> | undefined;
  private readonly multipart = new Slots(MAX_MULTIPART);
  /** The last write of each key in progress (see oneAtATime). */
  private readonly writing = new Map<string, Promise<void>>();

  constructor(settings: S3Settings) {
    this.settings = settings;
    this.displayUrl = settings.displayUrl;
    this.ctx = {
      ...(settings.name !== undefined ? { name: settings.name } : {}),
      displayUrl: settings.displayUrl,
      bucket: settings.bucket,
      endpoint: settings.endpoint,
      secrets: settings.secrets,
    };
  }

  /** The SDK and a client, created on first use. */
  private load(): Promise<Loaded> {
    this.loading ??= this.init().catch((err: unknown) => {
      this.loading = undefined;
      throw err;
    });
    return this.loading;
  }

  private async init(): Promise<Loaded> {
    const s = this.settings;
    const [sdk, storage] = await Promise.all([import("@aws-sdk/client-s3"), import("@aws-sdk/lib-storage")]);
    const agent = { keepAlive: true, maxSockets: MAX_SOCKETS };
    let httpsAgent: Record<string, unknown> = agent;
    if (s.sslVerify === false) httpsAgent = { ...agent, rejectUnauthorized: false };
    else if (typeof s.sslVerify === "string") {
      const { readFile } = await import("node:fs/promises");
      try {
        httpsAgent = { ...agent, ca: await readFile(s.sslVerify) };
      } catch (err) {
        throw new RemoteError(
          "ECONFIG",
          `remote ${s.displayUrl}: cannot read the CA bundle '${s.sslVerify}' named by 'ssl_verify': ${(err as Error).message}`,
          { cause: err, data: { remote: s.displayUrl } },
        );
      }
    }
    const custom = s.endpoint !== undefined;
    let credentials: unknown;
    if (s.anonymous) credentials = { accessKeyId: "", secretAccessKey: "" };
    else if (s.credentials) credentials = s.credentials;
    else if (s.credentialsFile !== undefined || s.configFile !== undefined) {
      const { defaultProvider } = await import("@aws-sdk/credential-provider-node");
      credentials = defaultProvider({
        ...(s.profile !== undefined ? { profile: s.profile } : {}),
        ...(s.credentialsFile !== undefined ? { filepath: s.credentialsFile } : {}),
        ...(s.configFile !== undefined ? { configFilepath: s.configFile } : {}),
      });
    }
    const client = quietly(
      () =>
        new sdk.S3Client({
          // The SDK asks for the region on every request: look it up once.
          region: s.region ?? memo(() => this.defaultRegion()),
          ...(s.profile !== undefined ? { profile: s.profile } : {}),
          ...(credentials !== undefined ? { credentials: credentials as never } : {}),
          ...(s.anonymous ? { signer: { sign: async (request: unknown) => request } as never } : {}),
          ...(custom
            ? {
                endpoint: s.endpoint,
                forcePathStyle: true,
                // Many S3-compatible servers store the newer aws-chunked checksum bodies as they are.
                requestChecksumCalculation: "WHEN_REQUIRED" as const,
                responseChecksumValidation: "WHEN_REQUIRED" as const,
                // An extra round trip per part, and some servers answer "100 Continue" slowly or never.
                expectContinueHeader: false,
              }
            : { followRegionRedirects: true }),
          maxAttempts: 3,
          retryMode: "standard",
          logger: QUIET,
          requestHandler: {
            connectionTimeout: s.connectTimeoutMs,
            socketTimeout: s.readTimeoutMs,
            httpAgent: agent,
            httpsAgent,
          },
        }),
    );
    return { client, sdk, Upload: storage.Upload };
  }

  /** AWS_REGION, AWS_DEFAULT_REGION, the profile's region in the shared files, else us-east-1. */
  private async defaultRegion(): Promise<string> {
    const env = process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION;
    if (env) return env;
    const s = this.settings;
    const profile = s.profile ?? process.env.AWS_PROFILE ?? "default";
    const { readFile } = await import("node:fs/promises");
    const { homedir } = await import("node:os");
    const { join } = await import("node:path");
    const configFile = s.configFile ?? process.env.AWS_CONFIG_FILE ?? join(homedir(), ".aws", "config");
    try {
      const region = iniRegion(await readFile(configFile, "utf8"), profile);
      if (region) return region;
    } catch {
      // no config file: fall through
    }
    return "us-east-1";
  }

  private k(key: string): string {
    return this.settings.prefix + key;
  }

  /** SSE-C parameters for requests that read or write object data. */
  private get ssec() {
    return this.settings.customerKey ?? {};
  }

  async exists(key: string): Promise<boolean> {
    const { client, sdk } = await this.load();
    try {
      await client.send(new sdk.HeadObjectCommand({ Bucket: this.settings.bucket, Key: this.k(key), ...this.ssec }));
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw translate(err, this.ctx, "check", key);
    }
  }

  /**
   * Size and ETag from a HEAD. The ETag is recorded as DVC records it (through s3fs): without its
   * quotes, e.g. `e5ebd4c0...` for a single-part upload, `9b2cf535...-3` for a multipart one.
   */
  async stat(key: string): Promise<ObjectInfo> {
    const { client, sdk } = await this.load();
    let head: import("@aws-sdk/client-s3").HeadObjectCommandOutput;
    try {
      head = await client.send(
        new sdk.HeadObjectCommand({ Bucket: this.settings.bucket, Key: this.k(key), ...this.ssec }),
      );
    } catch (err) {
      if (isNotFound(err)) throw notFound(this.ctx, key, err);
      throw translate(err, this.ctx, "check", key);
    }
    const info: ObjectInfo = {};
    if (head.ContentLength !== undefined) info.size = head.ContentLength;
    if (head.ETag !== undefined) info.etag = head.ETag.replace(/^"+|"+$/g, "");
    return info;
  }

  async *list(prefix: string): AsyncIterable<string> {
    const { client, sdk } = await this.load();
    const base = this.settings.prefix;
    let token: string | undefined;
    do {
      let page: import("@aws-sdk/client-s3").ListObjectsV2CommandOutput;
      try {
        page = await client.send(
          new sdk.ListObjectsV2Command({
            Bucket: this.settings.bucket,
            Prefix: base + prefix,
            MaxKeys: 1000,
            ...(token !== undefined ? { ContinuationToken: token } : {}),
          }),
        );
      } catch (err) {
        throw translate(err, this.ctx, "list", `${prefix}*`);
      }
      for (const obj of page.Contents ?? []) {
        const key = obj.Key;
        // "folder/" markers made by consoles and other tools are not objects.
        if (key === undefined || key.endsWith("/") || !key.startsWith(base)) continue;
        yield key.slice(base.length);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    // The whole object is one plain GET, as without a range (and an empty object has no byte 0 to ask for).
    if (range !== undefined && (range.offset !== 0 || range.length !== undefined)) return this.readRange(key, range);
    const { client, sdk } = await this.load();
    try {
      const out = await client.send(
        new sdk.GetObjectCommand({ Bucket: this.settings.bucket, Key: this.k(key), ...this.ssec }),
      );
      return out.Body as Readable;
    } catch (err) {
      if (isNotFound(err)) throw notFound(this.ctx, key, err);
      throw translate(err, this.ctx, "read", key);
    }
  }

  private async readRange(key: string, range: ByteRange): Promise<Readable> {
    checkByteRange(range, key);
    const { client, sdk } = await this.load();
    if (range.length === 0) {
      // No Range header asks for nothing; the key must still exist.
      if (!(await this.exists(key))) throw notFound(this.ctx, key);
      return emptyReadable();
    }
    const last = range.length === undefined ? "" : range.offset + range.length - 1;
    let out: import("@aws-sdk/client-s3").GetObjectCommandOutput;
    try {
      out = await client.send(
        new sdk.GetObjectCommand({
          Bucket: this.settings.bucket,
          Key: this.k(key),
          Range: `bytes=${range.offset}-${last}`,
          ...this.ssec,
        }),
      );
    } catch (err) {
      if (isNotFound(err)) throw notFound(this.ctx, key, err);
      // 416 InvalidRange: the object exists but has no byte at `offset` (an empty object has no byte 0).
      if (statusOfErr(err) === 416) return emptyReadable();
      throw translate(err, this.ctx, "read", key);
    }
    return this.fitToRange(out, range, key);
  }

  /**
   * The response's body, cut to the range asked for when the server sent more. AWS and moto send
   * exactly the range; some S3-compatible servers ignore the Range header (200, the whole object)
   * or widen it (s3rver answers `bytes=0-0` with every byte, and an empty object with a body
   * announced as one byte long).
   */
  private fitToRange(
    out: import("@aws-sdk/client-s3").GetObjectCommandOutput,
    range: ByteRange,
    key: string,
  ): Readable {
    const body = out.Body as Readable;
    const sent = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(out.ContentRange ?? "");
    const from = sent ? Number(sent[1]) : 0;
    const count = sent ? Number(sent[2]) - from + 1 : out.ContentLength;
    const total = sent ? (sent[3] === "*" ? undefined : Number(sent[3])) : out.ContentLength;
    if (total !== undefined && range.offset >= total) {
      body.destroy();
      return emptyReadable();
    }
    const skip = range.offset - from;
    if (skip < 0) {
      body.destroy();
      throw new RemoteError(
        "EREMOTEIO",
        `cannot read '${key}' on remote ${this.displayUrl}: asked for the bytes from ${range.offset}, the server sent them from ${from}`,
        { data: { remote: this.displayUrl, key, offset: range.offset, sentFrom: from } },
      );
    }
    const limit = range.length ?? Number.POSITIVE_INFINITY;
    if (skip === 0 && count !== undefined && count <= limit) return body;
    return Readable.from(cutBytes(body, skip, limit), { objectMode: false });
  }

  async write(key: string, body: Readable, size?: number, options: WriteOptions = {}): Promise<void> {
    const { signal } = options;
    if (signal?.aborted) {
      body.destroy();
      throw signal.reason;
    }
    return this.oneAtATime(key, () => this.writeNow(key, body, size, signal));
  }

  /**
   * Writes of one key from this process run one after the other (the last one wins). S3 itself
   * keeps concurrent PUTs of a key atomic, but some S3-compatible servers (s3rver) write both into
   * one file and store a mix; writes of different keys are not slowed.
   */
  private async oneAtATime(key: string, fn: () => Promise<void>): Promise<void> {
    const before = this.writing.get(key);
    const run = before === undefined ? fn() : before.then(fn);
    const settled = run.then(
      () => {},
      () => {},
    );
    this.writing.set(key, settled);
    try {
      await run;
    } finally {
      if (this.writing.get(key) === settled) this.writing.delete(key);
    }
  }

  private async writeNow(key: string, body: Readable, size: number | undefined, signal?: AbortSignal): Promise<void> {
    let bodyError: unknown;
    const onError = (err: unknown) => {
      bodyError ??= err;
    };
    body.on("error", onError);
    // An abort also stops the reading of the body, which a multipart upload may be waiting on.
    const onAbort = () => body.destroy(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      signal?.throwIfAborted();
      const loaded = await this.load();
      if (size !== undefined && size <= PART_SIZE) {
        const data = await collect(body, size, () => this.sizeError(key, size));
        await this.put(loaded, key, data, signal);
      } else {
        const checked = size === undefined ? body : await withLength(body, size, () => this.sizeError(key, size));
        await this.multipart.run(() => this.upload(loaded, key, checked, partSizeFor(size), size, undefined, signal));
      }
    } catch (err) {
      if (!body.destroyed) body.destroy();
      if (signal?.aborted) throw signal.reason;
      if (err === bodyError || (bodyError !== undefined && (err as Error)?.name === "AbortError")) throw bodyError;
      throw err;
    } finally {
      body.off("error", onError);
      signal?.removeEventListener("abort", onAbort);
    }
  }

  async writeFile(key: string, localPath: string, size: number, options: WriteFileOptions = {}): Promise<void> {
    options.signal?.throwIfAborted();
    return this.oneAtATime(key, () => this.writeFileNow(key, localPath, size, options));
  }

  private async writeFileNow(
    key: string,
    localPath: string,
    expected: number,
    { onProgress, signal, checked }: WriteFileOptions,
  ): Promise<void> {
    signal?.throwIfAborted();
    const loaded = await this.load();
    // A missing or unreadable local file throws its own fs error: it is not the remote's fault.
    if (expected <= PART_SIZE) {
      // Small files (most of a dataset): one libuv readFile, much cheaper than a FileHandle.
      const data = await readWhole(localPath);
      if (data.length <= PART_SIZE) {
        await checked;
        await this.put(loaded, key, data, signal);
        return;
      }
    }
    const { open } = await import("node:fs/promises");
    const fh = await open(localPath, "r");
    try {
      const size = (await fh.stat()).size;
      if (size <= PART_SIZE) {
        const data = await fh.readFile();
        await checked;
        await this.put(loaded, key, data, signal);
        return;
      }
      const stream = fh.createReadStream({ highWaterMark: MiB, autoClose: false, start: 0 });
      // The upload reports a failure through its own promise. Once lib-storage has read the
      // stream to its end it no longer listens, so an abort that destroys the stream after that
      // point would otherwise leave its error unhandled and end the process.
      stream.on("error", () => {});
      const body = checked === undefined ? stream : untilChecked(stream, checked);
      const onAbort = () => stream.destroy(signal?.reason);
      signal?.addEventListener("abort", onAbort, { once: true });
      try {
        await this.multipart.run(() => this.upload(loaded, key, body, partSizeFor(size), size, onProgress, signal));
      } finally {
        signal?.removeEventListener("abort", onAbort);
      }
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      throw err;
    } finally {
      await fh.close();
    }
  }

  /** One PutObject from memory (the SDK can retry it); an abort cancels the request, so nothing is stored. */
  private async put({ client, sdk }: Loaded, key: string, data: Buffer, signal?: AbortSignal): Promise<void> {
    try {
      await client.send(
        new sdk.PutObjectCommand({
          Bucket: this.settings.bucket,
          Key: this.k(key),
          Body: data,
          ContentLength: data.length,
          ...(this.settings.writeParams as object),
          ...this.ssec,
        }),
        { abortSignal: signal },
      );
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      throw translate(err, this.ctx, "write", key);
    }
  }

  /**
   * A multipart upload through lib-storage: parts of `partSize`, UPLOAD_QUEUE of them in flight;
   * aborted on failure. `signal` cancels the requests of the parts and of the completion, so
   * that lib-storage fails the upload and aborts it (AbortMultipartUpload, sent without the
   * signal) before done() rejects.
   */
  private async upload(
    { client, sdk, Upload }: Loaded,
    key: string,
    body: Readable,
    partSize: number,
    size?: number,
    onProgress?: (bytes: number) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    signal?.throwIfAborted();
    let sourceError: unknown;
    const onSourceError = (err: unknown) => {
      sourceError ??= err;
    };
    body.on("error", onSourceError);
    const upload = new Upload({
      client: signal === undefined ? client : withSignal(client, sdk, signal),
      params: {
        Bucket: this.settings.bucket,
        Key: this.k(key),
        Body: body,
        // lib-storage counts the parts to expect from it (a file stream's own guess is Infinity).
        ...(size !== undefined ? { ContentLength: size } : {}),
        // Each part carries its CRC32, as awscli sends them: the server checks every part as it
        // arrives, and moto then builds the object's checksum from the parts' instead of running a
        // CRC64 over the whole object at completion (0.6 s of a 512 MiB push there).
        ChecksumAlgorithm: "CRC32",
        ...(this.settings.writeParams as object),
        ...this.ssec,
      },
      partSize,
      queueSize: UPLOAD_QUEUE,
      leavePartsOnError: false,
    });
    // Reported as each part is sent: `loaded` is the bytes of the parts done so far.
    if (onProgress) upload.on("httpUploadProgress", ({ loaded }) => loaded !== undefined && onProgress(loaded));
    try {
      await upload.done();
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      if (sourceError !== undefined) throw sourceError;
      throw translate(err, this.ctx, "write", key);
    } finally {
      body.off("error", onSourceError);
    }
  }

  private sizeError(key: string, size: number): RemoteError {
    return new RemoteError(
      "ESIZE",
      `'${key}' was not written to remote ${this.displayUrl}: the stream did not give the ${size} bytes announced`,
      { data: { remote: this.displayUrl, key, expected: size } },
    );
  }

  async readFile(key: string, localPath: string): Promise<void> {
    const loaded = await this.load();
    const { open } = await import("node:fs/promises");
    // One plain GET: small objects come whole. A big one is dropped at once, its headers giving
    // its size and ETag, and fetched as parallel ranges. (No Range on the first GET: an empty
    // object has no byte 0, and servers answer that differently, s3rver with a broken response.)
    const first = await this.get(loaded, key, undefined);
    const total = first.ContentLength ?? 0;
    const body = first.Body as Readable;
    const ranged = total > PARALLEL_FROM && first.ETag !== undefined;
    if (ranged) body.destroy();
    if (!ranged && total <= PART_SIZE) {
      // Small objects (most of a dataset): into memory, then one libuv writeFile (no FileHandle).
      let data: Buffer;
      try {
        data = await collect(body, total, () => truncated(this.displayUrl, key, total));
      } catch (err) {
        if (err instanceof RemoteError) throw err;
        throw translate(err, this.ctx, "read", key);
      }
      await writeWhole(localPath, data);
      return;
    }
    const fh = await open(localPath, "w");
    try {
      if (!ranged) {
        await this.drain(body, fh, 0, total, key);
      } else {
        const etag = first.ETag;
        const tasks: (() => Promise<void>)[] = [];
        for (let start = 0; start < total; start += RANGE_SIZE) {
          const end = Math.min(total, start + RANGE_SIZE) - 1;
          tasks.push(async () => {
            const part = await this.get(loaded, key, `bytes=${start}-${end}`, etag);
            await this.drain(part.Body as Readable, fh, start, end - start + 1, key);
          });
        }
        await runAll(tasks, RANGE_JOBS);
      }
      await fh.truncate(total);
    } catch (err) {
      if (!body.destroyed) body.destroy();
      throw err;
    } finally {
      await fh.close();
    }
  }

  private async get(
    { client, sdk }: Loaded,
    key: string,
    range: string | undefined,
    ifMatch?: string,
  ): Promise<import("@aws-sdk/client-s3").GetObjectCommandOutput> {
    try {
      return await client.send(
        new sdk.GetObjectCommand({
          Bucket: this.settings.bucket,
          Key: this.k(key),
          ...(range !== undefined ? { Range: range } : {}),
          ...(ifMatch !== undefined ? { IfMatch: ifMatch } : {}),
          ...this.ssec,
        }),
      );
    } catch (err) {
      if (isNotFound(err)) throw notFound(this.ctx, key, err);
      if (statusOfErr(err) === 412)
        throw new RemoteError(
          "ECHANGED",
          `'${key}' changed on remote ${this.displayUrl} while it was being downloaded`,
          { cause: err, transient: true, data: { remote: this.displayUrl, key } },
        );
      throw translate(err, this.ctx, "read", key);
    }
  }

  /** Write a response body at `position` in the file; check that it gave `length` bytes. */
  private async drain(body: Readable, fh: FileHandle, position: number, length: number, key: string): Promise<void> {
    let at = position;
    try {
      for await (const chunk of body) {
        const buf = chunk as Buffer;
        let off = 0;
        while (off < buf.length) {
          const { bytesWritten } = await fh.write(buf, off, buf.length - off, at);
          off += bytesWritten;
          at += bytesWritten;
        }
      }
    } catch (err) {
      // A local write error (disk full, permissions) is not the remote's; a dropped connection is.
      if (LOCAL_ERRNO.has((err as NodeJS.ErrnoException).code ?? "")) throw err;
      throw translate(err, this.ctx, "read", key);
    }
    if (at - position !== length) throw truncated(this.displayUrl, key, length, at - position);
  }

  async delete(key: string): Promise<void> {
    const { client, sdk } = await this.load();
    try {
      await client.send(new sdk.DeleteObjectCommand({ Bucket: this.settings.bucket, Key: this.k(key) }));
    } catch (err) {
      if (isNotFound(err)) return;
      throw translate(err, this.ctx, "delete", key);
    }
  }

  async close(): Promise<void> {
    const loading = this.loading;
    this.loading = undefined;
    if (!loading) return;
    try {
      (await loading).client.destroy();
    } catch {
      // it never loaded: nothing to release
    }
  }
}

/**
 * The client, with `signal` added to every request but CreateMultipartUpload (whose upload id is
 * needed to abort the upload) and AbortMultipartUpload (the clean-up itself).
 */
function withSignal(client: S3Client, sdk: ClientS3, signal: AbortSignal): S3Client {
  const send = (command: unknown, options?: object) =>
    command instanceof sdk.CreateMultipartUploadCommand || command instanceof sdk.AbortMultipartUploadCommand
      ? client.send(command as never, options)
      : client.send(command as never, { ...options, abortSignal: signal });
  return new Proxy(client, { get: (target, prop) => (prop === "send" ? send : Reflect.get(target, prop)) });
}

/** A provider that calls `fn` once and then returns its result (or, after a failure, tries again). */
function memo<T>(fn: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= fn().catch((err: unknown) => {
      pending = undefined;
      throw err;
    });
    return pending;
  };
}

function truncated(remote: string, key: string, length: number, got?: number): RemoteError {
  return new RemoteError(
    "ETRUNCATED",
    `'${key}' from remote ${remote} ${got === undefined ? "did not give" : `ended after ${got} of`} ${length} bytes`,
    { transient: true, data: { remote, key } },
  );
}

function writeWhole(path: string, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => writeFileCb(path, data, (err) => (err ? reject(err) : resolve())));
}

function readWhole(path: string): Promise<Buffer> {
  return new Promise((resolve, reject) => readFileCb(path, (err, data) => (err ? reject(err) : resolve(data))));
}

function statusOfErr(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

/** Part size: PART_SIZE, or more so that the object fits in 10,000 parts. */
/**
 * `source` passed through, its end held back until `checked` settles: lib-storage sends the last
 * part and completes the upload only after the end, and a failed check ends the stream with its
 * error instead, which aborts the multipart upload.
 */
function untilChecked(source: Readable, checked: Promise<void>): Readable {
  const gate = new Transform({
    transform: (chunk, _encoding, done) => done(null, chunk),
    flush: (done) => {
      checked.then(() => done(), done);
    },
  });
  gate.on("error", () => {}); // reported through the upload, as the source's are
  pipeline(source, gate, () => {});
  return gate;
}

function partSizeFor(size: number | undefined): number {
  if (size === undefined) return 16 * MiB; // up to 160 GB
  return Math.max(PART_SIZE, Math.ceil(size / MAX_PARTS / MiB) * MiB);
}

/** Read a small stream whole, checking that it gives exactly `size` bytes. */
async function collect(body: Readable, size: number, bad: () => Error): Promise<Buffer> {
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for await (const chunk of body) {
    const buf = chunk as Buffer;
    if (at + buf.length > size) throw bad();
    buf.copy(out, at);
    at += buf.length;
  }
  if (at !== size) throw bad();
  return out;
}

/** The stream, failing at its end if it did not give exactly `size` bytes (so that the upload is aborted). */
async function withLength(body: Readable, size: number, bad: () => Error): Promise<Readable> {
  const { Transform } = await import("node:stream");
  let seen = 0;
  const check = new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      if (seen > size) done(bad());
      else done(null, chunk);
    },
    flush(done) {
      done(seen === size ? null : bad());
    },
  });
  body.on("error", (err) => check.destroy(err));
  return body.pipe(check);
}
