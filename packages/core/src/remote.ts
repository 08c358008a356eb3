import type { Readable } from "node:stream";

/**
 * Object storage as mlv sees it: a flat namespace of keys ("files/md5/ab/cdef...") below the
 * remote's URL. Adapters implement these primitives only; what to transfer, in which order, with
 * which concurrency, retries and verification is decided once, in core.
 *
 * The contract has two levels. `ReadableRemote` is what any storage offers (a plain web server,
 * a public dataset): existence, reads, and a listing when the storage has one. `Remote` adds
 * writes and deletes. An adapter whose storage cannot be written returns a `ReadableRemote`; core
 * then refuses `push` and `gc -c` up front with one `EREADONLY` error, and everything that only
 * reads (pull, fetch, status -c, import-url) works.
 *
 * Keys always use "/" and never start with "/". Errors are MlvErrors from ../errors: a missing
 * object is ObjectNotFoundError; auth failures PermissionDeniedError; throttling ThrottledError;
 * network failures RemoteUnreachableError (or any RemoteError with `transient: true`).
 */
export interface ReadableRemote {
  /** The URL shown to people, with any credentials removed. */
  readonly displayUrl: string;
  /** Optional extras; core checks them before it calls an optional method. */
  readonly capabilities: RemoteCapabilities;

  /** Whether an object exists under `key`. A "directory" is not an object. */
  exists(key: string): Promise<boolean>;

  /**
   * Every object key starting with `prefix` (a plain string prefix, not only a folder), in any
   * order. Pages through large listings lazily. A prefix matching nothing yields nothing.
   * Storage that cannot list (a plain web server) leaves it out (or throws an MlvError with code
   * `EUNSUPPORTED`): what needs a listing (`gc -c`, the run cache, importing a folder) is then
   * skipped or refused, and existence is checked object by object.
   */
  list?(prefix: string): AsyncIterable<string>;

  /**
   * The bytes of `key` as a stream. Throws ObjectNotFoundError if it does not exist. With `range`
   * (only passed when the adapter declares `rangedRead`): the bytes from `range.offset` on, at most
   * `range.length` of them; a range starting at or past the end gives an empty stream.
   */
  read(key: string, range?: ByteRange): Promise<Readable>;

  /**
   * Download to a local file (capability `readFile`), which the adapter creates or truncates.
   * Core hands it a temporary path and verifies the bytes before renaming it into place.
   */
  readFile?(key: string, localPath: string): Promise<void>;

  /**
   * The file on this machine that holds `key` (capability `localFiles`), named without looking:
   * it may not exist. Core then reads many small objects itself, off the main thread, verifying
   * each as it goes into the cache, instead of copying each through `readFile` and reading the
   * copy again. Throws only for a key the adapter would refuse everywhere.
   */
  localPath?(key: string): string;

  /**
   * What the storage says about one object without reading it: its size and the storage's own
   * fingerprint (an S3/GCS/Azure ETag, an HTTP ETag or Content-MD5). Used to tell whether a
   * URL imported with `import-url` changed. Throws ObjectNotFoundError if it does not exist.
   */
  stat?(key: string): Promise<ObjectInfo>;

  /** Release connections. Called once when core is done with the remote. */
  close?(): Promise<void>;
}

/**
 * Storage that can also be written. Writes are atomic; deletes are idempotent.
 */
export interface Remote extends ReadableRemote {
  /**
   * Store `body` under `key`, replacing any object there. Atomic: readers see the old object or
   * none, then the whole new one, never a partial one, even if the write fails midway.
   * `size` is the byte count when known (lets adapters pick single or multipart uploads).
   * When `options.signal` aborts, an adapter that honours it stops the upload, removes what it
   * wrote (a temporary file, an unfinished multipart upload) and rejects; one that ignores it
   * finishes the upload, which is just as atomic.
   */
  write(key: string, body: Readable, size?: number, options?: WriteOptions): Promise<void>;

  /** Delete `key`. Deleting a missing key succeeds (idempotent). */
  delete(key: string): Promise<void>;

  /**
   * Upload a local file (capability `writeFile`): lets an adapter use its SDK's parallel
   * multipart upload straight from the cache. Same atomicity as write(). An adapter that can tell
   * how far the upload got calls `options.onProgress` (optional: core counts it done at the end).
   */
  writeFile?(key: string, localPath: string, size: number, options?: WriteFileOptions): Promise<void>;

  /**
   * Remove the temporary files that interrupted uploads (mlv's or DVC's) left, those stale by
   * `isStaleRemoteTemp`'s rule (a concurrent upload's are kept); with `dry`, only find them. Their
   * keys. For storage whose uploads write temporary files (a folder, SFTP); `gc -c` calls it.
   */
  removeStaleTemps?(options?: { dry?: boolean; signal?: AbortSignal }): Promise<string[]>;
}

/** What core passes to `write`. */
export interface WriteOptions {
  /** Abort the upload (Ctrl-C): nothing of it may stay on the remote, not even a temporary object. */
  signal?: AbortSignal;
}

/** What core passes to `writeFile`. */
export interface WriteFileOptions extends WriteOptions {
  /** The bytes of this object sent so far (call as often as convenient; core throttles what it shows). */
  onProgress?: (bytes: number) => void;
  /**
   * Core's check of the file's bytes, still running while they are sent (given only to adapters
   * with the capability `awaitsCheck`). The object must not appear under `key` before it resolves;
   * if it rejects, the upload is dropped as for an abort and writeFile rejects with its reason.
   * Core keeps the promise handled, so the adapter need not listen before it commits.
   */
  checked?: Promise<void>;
}

/** Whether `remote` can be written (push, gc -c), as opposed to read only. */
export function isWritable(remote: ReadableRemote): remote is Remote {
  const r = remote as Partial<Remote>;
  return typeof r.write === "function" && typeof r.delete === "function";
}

/** What `stat` reports. Fields the storage does not provide are left out. */
export interface ObjectInfo {
  /** Bytes, when the storage says. */
  size?: number;
  /** The storage's entity tag, exactly as DVC records it (`etag` in a `.dvc` dependency). */
  etag?: string;
  /** A fingerprint that is not an ETag in DVC's terms (an HTTP server's ETag or Content-MD5: `checksum`). */
  checksum?: string;
}

/** A part of an object: `length` bytes from `offset` (to the end when `length` is omitted). */
export interface ByteRange {
  offset: number;
  length?: number;
}

export interface RemoteCapabilities {
  /**
   * read() honours its `range` argument. Core then downloads big objects as ranges written in
   * order, so an interrupted download resumes where it stopped instead of starting over.
   */
  rangedRead?: boolean;
  /** writeFile() is implemented. */
  writeFile?: boolean;
  /** readFile() is implemented. */
  readFile?: boolean;
  /** localPath() is implemented: the objects are plain files on this machine (a local remote). */
  localFiles?: boolean;
  /** Listing is cheap enough to prefer over per-object exists() for large sets (object stores, local). */
  traverse?: boolean;
  /**
   * Objects written are stored read-only (0444), as DVC does for local remotes; then an object
   * that is present but not 0444 must be re-verified before it is trusted.
   */
  protectsObjects?: boolean;
  /** A sensible default number of parallel transfers for this backend. */
  defaultJobs?: number;
  /**
   * write() and writeFile() honour `options.signal`: an aborted upload stops, removes what it
   * started (a temporary file, a multipart upload) and rejects with the signal's reason, so Ctrl-C
   * during a push leaves nothing on the remote. Without it, core still stops between objects.
   */
  cancelsWrites?: boolean;
  /**
   * writeFile() honours `options.checked`: it sends the bytes while core checks them and commits
   * only once the check passed. Without it, core reads and checks the whole file before writeFile.
   */
  awaitsCheck?: boolean;
}

/** The configuration a remote is created with: its URL and its section of the DVC config. */
export interface RemoteConfig {
  /** The remote's name in the config (e.g. "storage"). */
  name: string;
  /** The URL as configured, with relative local paths already resolved to absolute ones. */
  url: string;
  /** Every other key of the `['remote "name"']` section, as strings (keys lowercased). */
  options: Record<string, string>;
}

/**
 * What an adapter package exports as its default export. Core finds the package by the URL's
 * scheme: built-ins first, then an installed `@mlv/remote-<scheme>` or `mlv-remote-<scheme>`.
 */
export interface RemoteAdapter {
  /** A short name, e.g. "s3". */
  name: string;
  /** URL schemes served, e.g. ["s3"]; "file" also serves plain paths. */
  schemes: string[];
  /** Config keys understood beyond `url`, with a one-line description each (for help and checks). */
  options: Record<string, string>;
  /** Config keys whose values are secrets: never printed. */
  secretOptions?: string[];
  /** Create a client. Must not do I/O until a method is called. */
  create(config: RemoteConfig): ReadableRemote | Remote | Promise<ReadableRemote | Remote>;
}
