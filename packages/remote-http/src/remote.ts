/**
 * The HTTP(S) remote, on undici: one keep-alive connection pool per remote. undici is imported,
 * the CA bundle read and the password asked for by the first call that talks to the server.
 */
import { createWriteStream, open as openCb, writeFile as writeFileCb } from "node:fs";
import { type FileHandle, open, readFile } from "node:fs/promises";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ByteRange, ObjectInfo, Remote, RemoteCapabilities, WriteFileOptions, WriteOptions } from "@mlv/core";
import { askSecret, ConfigError, checkByteRange, cutBytes, emptyReadable, RemoteError, runAll } from "@mlv/core";
import type { Dispatcher } from "undici";
import { checksumOf, infoDict, infoFromHeaders, infoSize, mergeInfo } from "./checksum.js";
import { type Doing, notFound, statusError, translate } from "./errors.js";
import { type HttpSettings, objectPath } from "./settings.js";

const MiB = 1024 * 1024;
/** Parallel transfers core runs by default: small objects are latency-bound, so many at once. */
export const DEFAULT_JOBS = 32;
/** readFile asks for the first this many bytes; a bigger object's rest comes as parallel ranges of this size. */
export const RANGE_SIZE = 16 * MiB;
/** Parallel ranged GETs of one big download. */
export const RANGE_JOBS = 4;
/** Objects up to this size are collected in memory and written with one call. */
const SMALL = 1 * MiB;
const MAX_REDIRECTS = 10;
/** How much of a response body undici buffers before it stops reading the socket. */
const BODY_BUFFER = 1 * MiB;
const LOCAL_ERRNO = new Set(["ENOSPC", "EDQUOT", "EACCES", "EPERM", "EROFS", "EISDIR", "EBADF", "EFBIG", "ENOENT"]);

type Undici = typeof import("undici");
type Headers = Record<string, string | string[] | undefined>;

interface Loaded {
  dispatcher: Dispatcher;
  /** Headers sent with every request to the remote's own origin (authentication, user agent). */
  headers: Record<string, string>;
}

interface Response {
  status: number;
  headers: Headers;
  body: Dispatcher.ResponseData["body"];
  /** The URL that answered, after redirects. */
  url: string;
  /** A redirect to the same path with a "/" added: a folder, not an object. */
  folder: boolean;
}

function first(headers: Headers, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Drop a response body; small ones are read so that the connection stays open for the next request. */
function discard(body: Dispatcher.ResponseData["body"]): void {
  body.dump({ limit: 64 * 1024 }).catch(() => {});
}

export class HttpRemote implements Remote {
  readonly displayUrl: string;
  readonly capabilities: RemoteCapabilities = {
    rangedRead: true,
    readFile: true,
    writeFile: true,
    traverse: false,
    cancelsWrites: true,
    defaultJobs: DEFAULT_JOBS,
  };

  private readonly s: HttpSettings;
  private loading: Promise<Loaded> | undefined;

  constructor(settings: HttpSettings) {
    this.s = settings;
    this.displayUrl = settings.displayUrl;
  }

  private load(): Promise<Loaded> {
    if (this.s.auth === "digest")
      return Promise.reject(
        new RemoteError(
          "EUNSUPPORTED",
          `remote ${this.displayUrl}: auth = digest is not supported: use 'auth basic' or 'auth custom'`,
          {
            data: { remote: this.displayUrl, option: "auth" },
            hint: `Change it with 'mlv remote modify ${this.s.name} auth basic'.`,
          },
        ),
      );
    this.loading ??= this.init().catch((err: unknown) => {
      this.loading = undefined;
      throw err;
    });
    return this.loading;
  }

  private async init(): Promise<Loaded> {
    const s = this.s;
    const headers: Record<string, string> = { "user-agent": "mlv" };
    if (s.auth === "basic" || s.auth === "custom") {
      let password = s.password;
      if (password === undefined) {
        const who = s.auth === "basic" ? `user ${s.user ?? ""}` : `header ${s.customAuthHeader ?? ""}`;
        password = await askSecret(s.name, "password", `Password for ${s.displayUrl} (${who}): `);
        s.password = password;
      }
      if (s.auth === "basic")
        headers.authorization = `Basic ${Buffer.from(`${s.user ?? ""}:${password}`, "utf8").toString("base64")}`;
      else headers[s.customAuthHeader!.toLowerCase()] = password;
    }
    let ca: string | undefined;
    if (typeof s.sslVerify === "string") {
      try {
        ca = await readFile(s.sslVerify, "utf8");
      } catch (err) {
        throw new ConfigError(
          `remote '${s.name}': 'ssl_verify' names the CA bundle '${s.sslVerify}', which cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): give the path of a PEM file, true (the system's authorities) or false`,
          { remote: s.name, option: "ssl_verify" },
        );
      }
    }
    const undici: Undici = await import("undici");
    const tls = { ...(ca !== undefined ? { ca } : {}), rejectUnauthorized: s.sslVerify !== false };
    const options = {
      connections: Math.max(s.jobs ?? 0, DEFAULT_JOBS) + RANGE_JOBS,
      connect: { ...tls, timeout: s.connectTimeoutMs },
      connectTimeout: s.connectTimeoutMs,
      headersTimeout: s.readTimeoutMs,
      bodyTimeout: s.readTimeoutMs,
    };
    const env = process.env;
    const proxied = [env.http_proxy, env.HTTP_PROXY, env.https_proxy, env.HTTPS_PROXY].some((v) => !!v);
    // Like DVC, honour HTTP(S)_PROXY and NO_PROXY; TLS settings then apply to the tunnelled connection.
    const dispatcher = proxied
      ? new undici.EnvHttpProxyAgent({ ...options, requestTls: tls })
      : new undici.Agent(options);
    return { dispatcher, headers };
  }

  private url(key: string): string {
    return this.s.origin + objectPath(this.s.basePath, key);
  }

  /**
   * One request, following redirects for GET and HEAD. Credentials go only to the remote's own
   * origin. A redirect from `…/x` to `…/x/` (how web servers answer for a folder) is not followed.
   */
  private async send(
    doing: Doing,
    method: "GET" | "HEAD" | "PUT" | "POST" | "DELETE",
    key: string,
    extra: Record<string, string> = {},
    body?: Readable,
    signal?: AbortSignal,
  ): Promise<Response> {
    // Large body buffers: fewer pauses of the socket while a big answer streams to a file.
    const highWaterMark = method === "GET" ? BODY_BUFFER : undefined;
    const { dispatcher, headers } = await this.load();
    let url = this.url(key);
    for (let hop = 0; ; hop++) {
      const target = new URL(url);
      const own = target.origin === this.s.origin;
      let res: Dispatcher.ResponseData;
      try {
        res = await dispatcher.request({
          origin: target.origin,
          path: target.pathname + target.search,
          method,
          headers: { ...(own ? headers : { "user-agent": headers["user-agent"]! }), ...extra },
          ...(body !== undefined ? { body } : {}),
          ...(highWaterMark !== undefined ? { highWaterMark } : {}),
          ...(signal !== undefined ? { signal } : {}),
        });
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        if (body?.errored) throw body.errored; // the local data failed, not the server
        throw translate(err, this.s, doing);
      }
      const { statusCode: status } = res;
      const location = first(res.headers, "location");
      if (status < 300 || status >= 400 || status === 304 || location === undefined)
        return { status, headers: res.headers, body: res.body, url, folder: false };
      discard(res.body);
      const nextUrl = new URL(location, url);
      const next = nextUrl.href;
      if (nextUrl.pathname === `${target.pathname}/`)
        return { status, headers: res.headers, body: res.body, url, folder: true };
      if (body !== undefined || (method !== "GET" && method !== "HEAD"))
        throw new RemoteError(
          "EREMOTEIO",
          `cannot ${doing.op} '${doing.key}' on remote ${this.displayUrl}: the server redirects it (HTTP ${status}) to ${redact(next)}: set the remote's URL to where it points`,
          {
            data: { remote: this.displayUrl, key: doing.key, status },
            hint: `Set it with 'mlv remote modify ${this.s.name} url URL'.`,
          },
        );
      if (hop >= MAX_REDIRECTS)
        throw new RemoteError(
          "EREMOTEIO",
          `cannot ${doing.op} '${doing.key}' on remote ${this.displayUrl}: more than ${MAX_REDIRECTS} redirects (last to ${redact(next)})`,
          { data: { remote: this.displayUrl, key: doing.key, status } },
        );
      url = next;
    }
  }

  async exists(key: string): Promise<boolean> {
    const doing: Doing = { op: "check", key };
    // A GET, as DVC checks, of one byte: undici closes the connection after every HEAD (a
    // server may send a body with it), and a whole body would have to be read or the connection
    // dropped. 416: the object exists but is empty.
    const res = await this.send(doing, "GET", key, { range: "bytes=0-0" });
    discard(res.body);
    if (res.folder || res.status === 404 || res.status === 410) return false;
    if (res.status < 300 || res.status === 416) return true;
    throw statusError(this.s, doing, res.status, res.headers);
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    const doing: Doing = { op: "read", key };
    if (range !== undefined) {
      checkByteRange(range, key);
      if (range.length === 0) {
        // Nothing to ask for; the key must still exist.
        if (!(await this.exists(key))) throw notFound(this.s, key);
        return emptyReadable();
      }
      if (range.offset === 0 && range.length === undefined) range = undefined;
    }
    const extra: Record<string, string> = {};
    if (range !== undefined)
      extra.range = `bytes=${range.offset}-${range.length === undefined ? "" : range.offset + range.length - 1}`;
    const res = await this.send(doing, "GET", key, extra);
    return this.bodyOf(res, doing, range);
  }

  /**
   * The object's bytes from a GET response: a 206 or a 200 to a Range request (a server may
   * ignore Range and send everything) are cut to the range asked for.
   */
  private bodyOf(res: Response, doing: Doing, range: ByteRange | undefined): Readable {
    const { status, body } = res;
    if (res.folder || status === 404 || status === 410) {
      discard(body);
      throw notFound(this.s, doing.key);
    }
    if (status === 416 && range !== undefined) {
      // The object exists but ends before `offset` (an empty object has no byte 0).
      discard(body);
      return emptyReadable();
    }
    if (status >= 300) {
      discard(body);
      throw statusError(this.s, doing, status, res.headers);
    }
    let skip = 0;
    let limit = Number.POSITIVE_INFINITY;
    if (range !== undefined) {
      limit = range.length ?? limit;
      skip = range.offset;
      if (status === 206) {
        const sent = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(first(res.headers, "content-range") ?? "");
        const from = sent ? Number(sent[1]) : 0;
        if (from > range.offset) {
          body.destroy();
          throw new RemoteError(
            "EREMOTEIO",
            `cannot read '${doing.key}' on remote ${this.displayUrl}: asked for the bytes from ${range.offset}, the server sent them from ${from}`,
            { data: { remote: this.displayUrl, key: doing.key, offset: range.offset, sentFrom: from } },
          );
        }
        skip = range.offset - from;
      }
    }
    return Readable.from(this.guard(body, doing, skip, limit), { objectMode: false });
  }

  /** The bytes of `body` after the first `skip`, at most `limit` of them; network errors become RemoteErrors. */
  private async *guard(
    body: Dispatcher.ResponseData["body"],
    doing: Doing,
    skip: number,
    limit: number,
  ): AsyncGenerator<Buffer> {
    try {
      yield* cutBytes(body, skip, limit);
    } catch (err) {
      throw translate(err, this.s, doing);
    } finally {
      if (!body.readableEnded) discard(body);
    }
  }

  async readFile(key: string, localPath: string): Promise<void> {
    const doing: Doing = { op: "read", key };
    // The first range: all of a small object; for a big one, its size (Content-Range), then the
    // rest as parallel ranges written in place.
    const res = await this.send(doing, "GET", key, { range: `bytes=0-${RANGE_SIZE - 1}` });
    if (res.status === 416) {
      discard(res.body);
      // Nothing at byte 0: an empty object (or a server that refuses ranges: ask once more without).
      if (/^bytes \*\/0$/.test(first(res.headers, "content-range") ?? ""))
        return writeWhole(localPath, Buffer.alloc(0));
      return this.fileFrom(await this.send(doing, "GET", key), doing, localPath);
    }
    return this.fileFrom(res, doing, localPath);
  }

  private async fileFrom(res: Response, doing: Doing, localPath: string): Promise<void> {
    const { status, body } = res;
    if (res.folder || status === 404 || status === 410) {
      discard(body);
      throw notFound(this.s, doing.key);
    }
    if (status >= 300 || (status !== 200 && status !== 206)) {
      discard(body);
      throw statusError(this.s, doing, status, res.headers);
    }
    let total: number | undefined;
    let sent: number | undefined;
    if (status === 206) {
      const m = /^bytes 0-(\d+)\/(\d+)$/.exec(first(res.headers, "content-range") ?? "");
      if (!m) {
        // No total size (`bytes 0-N/*`) or another range than asked: fetch it whole instead.
        body.destroy();
        const whole = await this.send(doing, "GET", doing.key);
        if (whole.status === 206) {
          discard(whole.body);
          throw new RemoteError(
            "EREMOTEIO",
            `cannot read '${doing.key}' on remote ${this.displayUrl}: the server answers a GET without Range with a part of the object (HTTP 206)`,
            { data: { remote: this.displayUrl, key: doing.key } },
          );
        }
        return this.fileFrom(whole, doing, localPath);
      }
      sent = Number(m[1]) + 1;
      total = Number(m[2]);
    } else {
      const length = first(res.headers, "content-length");
      if (length !== undefined) sent = total = Number(length);
    }
    if (sent !== undefined && sent === total && total <= SMALL) {
      // Most objects of a dataset: into memory, then one write (no FileHandle).
      let data: Buffer;
      try {
        data = await collect(body, total);
      } catch (err) {
        throw translate(err, this.s, doing);
      }
      return writeWhole(localPath, data);
    }
    const fh = await open(localPath, "w");
    try {
      // The first answer is written while the other ranges are fetched.
      const tasks: (() => Promise<void>)[] = [() => this.drain(body, fh, 0, sent, doing)];
      if (total !== undefined && sent !== undefined && total > sent) {
        for (let start = sent; start < total; start += RANGE_SIZE) {
          const end = Math.min(total, start + RANGE_SIZE) - 1;
          tasks.push(async () => {
            const part = await this.send(doing, "GET", doing.key, { range: `bytes=${start}-${end}` });
            const range = first(part.headers, "content-range");
            if (part.status !== 206 || range === undefined || !range.startsWith(`bytes ${start}-${end}/`)) {
              discard(part.body);
              if (part.status === 404 || part.status === 410) throw notFound(this.s, doing.key);
              if (part.status >= 300) throw statusError(this.s, doing, part.status, part.headers);
              throw new RemoteError(
                "ECHANGED",
                `'${doing.key}' changed on remote ${this.displayUrl} while it was being downloaded (asked for bytes ${start}-${end} of ${total}, got ${range ?? `HTTP ${part.status}`})`,
                { transient: true, data: { remote: this.displayUrl, key: doing.key } },
              );
            }
            await this.drain(part.body, fh, start, end - start + 1, doing);
          });
        }
      }
      await runAll(tasks, RANGE_JOBS);
      if (total !== undefined) await fh.truncate(total);
    } catch (err) {
      if (!body.destroyed) body.destroy();
      throw err;
    } finally {
      await fh.close();
    }
  }

  /** Write a response body at `position` in the file; check that it gave `length` bytes (when known). */
  private async drain(
    body: Dispatcher.ResponseData["body"],
    fh: FileHandle,
    position: number,
    length: number | undefined,
    doing: Doing,
  ): Promise<void> {
    // A write stream batches the body's chunks into few large writes (writev) at their offset.
    const out = createWriteStream("", { fd: fh.fd, start: position, autoClose: false, highWaterMark: MiB });
    try {
      await pipeline(body, out);
    } catch (err) {
      // A local write error (disk full, permissions) is not the remote's; a dropped connection is.
      if (LOCAL_ERRNO.has((err as NodeJS.ErrnoException).code ?? "")) throw err;
      throw translate(err, this.s, doing);
    }
    if (length !== undefined && out.bytesWritten !== length)
      throw new RemoteError(
        "ETRUNCATED",
        `'${doing.key}' from remote ${this.displayUrl} gave ${out.bytesWritten} of ${length} bytes`,
        { transient: true, data: { remote: this.displayUrl, key: doing.key } },
      );
  }

  async stat(key: string): Promise<ObjectInfo> {
    const doing: Doing = { op: "stat", key };
    const identity = { "accept-encoding": "identity" };
    let info: ReturnType<typeof infoFromHeaders> = [];
    let headOk = false;
    const head = await this.send(doing, "HEAD", key, identity);
    discard(head.body);
    if (head.folder || head.status === 404 || head.status === 410) throw notFound(this.s, key);
    if (head.status === 401 || head.status === 403) throw statusError(this.s, doing, head.status, head.headers);
    if (head.status < 300) {
      info = infoFromHeaders(head.headers, head.url);
      headOk = true;
    }
    if (infoSize(info) === undefined) {
      // No size from HEAD (or no HEAD at all): the headers of a GET, whose body is not read.
      const get = await this.send(doing, "GET", key, identity);
      get.body.destroy();
      if (get.folder || get.status === 404 || get.status === 410) throw notFound(this.s, key);
      if (get.status >= 300) {
        if (!headOk) throw statusError(this.s, doing, get.status, get.headers);
      } else info = mergeInfo(info, infoFromHeaders(get.headers, get.url));
    }
    const dict = infoDict(this.url(key), info);
    const size = infoSize(dict);
    return { ...(size !== undefined ? { size } : {}), checksum: checksumOf(dict) };
  }

  /**
   * An abort cuts the request: the server sees an incomplete body and stores nothing (a WebDAV
   * server writes a PUT to a temporary file and moves it into place only once it is complete).
   */
  async write(key: string, body: Readable, size?: number, options: WriteOptions = {}): Promise<void> {
    const { signal } = options;
    if (signal?.aborted) {
      body.destroy();
      throw signal.reason;
    }
    const doing: Doing = { op: "upload", key };
    const method = this.s.method;
    if (typeof method !== "string") {
      body.destroy();
      throw new ConfigError(
        `remote '${this.s.name}': 'method' must be post or put, not '${method.invalid}'`,
        { remote: this.s.name, option: "method" },
        `Set it with 'mlv remote modify ${this.s.name} method put' (or post).`,
      );
    }
    const extra: Record<string, string> = { "content-type": "application/octet-stream" };
    if (size !== undefined) extra["content-length"] = String(size);
    let res: Response;
    try {
      res = await this.send(doing, method, key, extra, body, signal);
    } catch (err) {
      if (!body.destroyed) body.destroy();
      throw err;
    }
    discard(res.body);
    if (res.status >= 200 && res.status < 300) return;
    throw statusError(this.s, doing, res.status, res.headers);
  }

  async writeFile(key: string, localPath: string, size: number, options: WriteFileOptions = {}): Promise<void> {
    const { signal, onProgress } = options;
    signal?.throwIfAborted();
    // Open first: a missing file fails before anything is sent.
    const fd = await new Promise<number>((ok, fail) => openCb(localPath, "r", (err, fd) => (err ? fail(err) : ok(fd))));
    const { createReadStream } = await import("node:fs");
    const stream = createReadStream(localPath, { fd, highWaterMark: 256 * 1024 });
    if (onProgress === undefined) return this.write(key, stream, size, { signal });
    // The bytes the request has taken from the file so far.
    let sent = 0;
    const counted = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        sent += chunk.length;
        onProgress(sent);
        done(null, chunk);
      },
    });
    stream.on("error", (err) => counted.destroy(err));
    counted.on("close", () => {
      if (!stream.destroyed) stream.destroy();
    });
    return this.write(key, stream.pipe(counted), size, { signal });
  }

  async delete(key: string): Promise<void> {
    const doing: Doing = { op: "delete", key };
    const res = await this.send(doing, "DELETE", key);
    discard(res.body);
    if ((res.status >= 200 && res.status < 300) || res.status === 404 || res.status === 410) return;
    throw statusError(this.s, doing, res.status, res.headers);
  }

  async close(): Promise<void> {
    const loading = this.loading;
    this.loading = undefined;
    if (!loading) return;
    let dispatcher: Dispatcher;
    try {
      dispatcher = (await loading).dispatcher;
    } catch {
      return; // it never loaded: nothing to release
    }
    // Idle keep-alive connections close at once; a request still running is cut after a moment.
    const timer = setTimeout(() => dispatcher.destroy().catch(() => {}), 2000);
    try {
      await dispatcher.close();
    } finally {
      clearTimeout(timer);
    }
  }
}

function redact(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/?#]*@/i, "$1");
}

function writeWhole(path: string, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => writeFileCb(path, data, (err) => (err ? reject(err) : resolve())));
}

/** Read a small body whole, checking that it gives exactly `size` bytes. */
async function collect(body: AsyncIterable<unknown>, size: number): Promise<Buffer> {
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for await (const chunk of body) {
    const buf = chunk as Buffer;
    if (at + buf.length > size) throw Object.assign(new Error("more bytes than announced"), { code: "EMOREBYTES" });
    buf.copy(out, at);
    at += buf.length;
  }
  if (at !== size)
    throw Object.assign(new Error(`${at} of ${size} bytes`), { code: "UND_ERR_RES_CONTENT_LENGTH_MISMATCH" });
  return out;
}
