import { createReadStream, existsSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { isAbsolute, join, posix, relative, resolve } from "node:path";
import { pipeline, Readable, Transform } from "node:stream";
import { buffer as readAll } from "node:stream/consumers";
import { fileURLToPath } from "node:url";
import { abortStream, raceAbort } from "../abort.js";
import type { AdapterSources } from "../adapters.js";
import { type HashName, objectKey } from "../cache/object-cache.js";
import { Config } from "../config.js";
import { HistoryOuts } from "../data-index/history-outs.js";
import { collectOuts } from "../data-index/index.js";
import { loadPointer } from "../data-index/pointer-outs.js";
import type { TrackedOut } from "../data-index/types.js";
import { MlvError, NoDefaultRemoteError, ObjectNotFoundError, UsageError } from "../errors.js";
import { chosenRemote, openChosenRemote, type RemoteChoice } from "../external/remote-override.js";
import { parseDirManifest } from "../formats/dir-manifest.js";
import { GitHistory } from "../git/history.js";
import { md5Hex } from "../hash/md5.js";
import { verifyingStream } from "../hash/verify.js";
import { type ArtifactSelector, projectRegistry, resolveArtifact } from "../ops/artifacts.js";
import { toPosix } from "../paths.js";
import { ProgressCounter, type ProgressListener } from "../progress.js";
import { Project } from "../project/project.js";
import type { ReadableRemote } from "../remote.js";

/** Where a path is read: the revision, and the remote that has the data the cache lacks. */
export interface ReadAtOptions extends RemoteChoice {
  /**
   * A branch, tag or commit (`v1.0`, `main~2`, `1a2b3c4`): the pointer files are read from git at
   * that revision, without a checkout. Default: the pointer files in the workspace.
   */
  rev?: string;
  /** How storage adapters are found; default `@mlv/remote-<scheme>` packages (see `resolveAdapter`). */
  adapters?: AdapterSources;
  /**
   * Abort: the call rejects with the signal's reason; a stream already given ends with it as its
   * error. Nothing is written (the cache is only read).
   */
  signal?: AbortSignal;
  /** Progress of the bytes downloaded from the remote (phase `fetch`); nothing is reported for bytes the cache has. */
  onProgress?: ProgressListener;
}

export interface OpenOptions extends ReadAtOptions {
  /** The mlv/DVC repository: a local folder (or any folder inside it). Default `process.cwd()`. */
  repo?: string;
}

export interface ReadOptions extends OpenOptions {
  /** Decode the bytes as text (`"utf8"`); without it, `read()` gives a Buffer. */
  encoding?: BufferEncoding;
}

export interface GetUrlOptions extends Omit<OpenOptions, "onProgress"> {}

/** What a path is at a revision: a tracked file's object, or a plain file of git or the workspace. */
type Located =
  | { kind: "object"; path: string; oid: string; hashName: HashName; out: TrackedOut }
  | { kind: "plain"; path: string; read: () => Promise<Readable> };

/** A repository opened for reading one path, and what must be released afterwards. */
class Reader {
  private configPromise: Promise<Config> | undefined;
  private history: GitHistory | undefined;
  private commit: string | undefined;
  private subdir = "";

  private constructor(
    readonly project: Project,
    readonly options: OpenOptions,
  ) {}

  static async open(options: OpenOptions, project?: Project): Promise<Reader> {
    options.signal?.throwIfAborted();
    const reader = new Reader(project ?? (await Project.open(options.repo ?? process.cwd())), options);
    if (options.rev !== undefined) {
      const scm = await reader.project.scm();
      if (!scm)
        throw new UsageError(
          `cannot read '${reader.project.root}' at revision '${options.rev}': the project is not in a git repository`,
          { rev: options.rev },
        );
      reader.history = new GitHistory(scm.root);
      reader.commit = await reader.history.resolveRevision(options.rev);
      reader.subdir = toPosix(relative(scm.root, reader.project.root));
    }
    return reader;
  }

  /** `rev` as given and the commit it names, for messages. */
  where(): string {
    const at = this.commit === undefined ? "in the workspace" : `at '${this.options.rev}' (${this.commit.slice(0, 7)})`;
    return `of '${this.project.root}' ${at}`;
  }

  /** The path from the repository root, posix; a UsageError when it leaves the repository. */
  normalise(path: string): string {
    const abs = isAbsolute(path) ? path : resolve(this.project.root, path);
    const rel = toPosix(relative(this.project.root, abs));
    const p = posix.normalize(rel).replace(/\/+$/, "");
    if (p === "" || p === "." || p === ".." || p.startsWith("../") || isAbsolute(p))
      throw new UsageError(`'${path}' is not a path inside the repository '${this.project.root}'`, { path });
    return p;
  }

  private async outs(rel: string): Promise<TrackedOut[]> {
    if (this.history && this.commit)
      return new HistoryOuts(this.history).at(this.commit, { subdir: this.subdir || undefined });
    // The usual case, `model.h5` beside `model.h5.dvc`, needs no walk of the workspace.
    const abs = join(this.project.root, ...rel.split("/"));
    const sibling = Project.pointerPathFor(abs);
    if (existsSync(sibling)) {
      const own = loadPointer(this.project, sibling).filter((o) => o.abs === abs);
      if (own.length > 0) return own;
    }
    return collectOuts(this.project);
  }

  /** The configuration of the revision read (its `.dvc/config`, this machine's local, global and system ones). */
  config(): Promise<Config> {
    this.configPromise ??= this.loadConfig();
    return this.configPromise;
  }

  private async loadConfig(): Promise<Config> {
    const { history, commit, project } = this;
    if (!history || !commit) return project.config;
    const gitPath = [this.subdir, ".dvc", "config"].filter(Boolean).join("/");
    const text = (await history.readFileAtRevision(commit, gitPath))?.toString("utf8") ?? "";
    const current = await readFile(join(project.dvcDir, "config"), "utf8").catch(() => undefined);
    if (text === current) return project.config;
    return Config.withRepoText(project.dvcDir, text, `${commit.slice(0, 7)}:${gitPath}`);
  }

  /** The remote to read from: `options.remote` (a name, URL or path) and `remoteConfig`, else the revision's default remote. */
  async remote(): Promise<{ name: string; remote: ReadableRemote }> {
    return openChosenRemote(await this.config(), this.options, this.project.root, this.options.adapters);
  }

  /** What `path` is: an output, a file inside a tracked folder, or a plain file. */
  async locate(path: string): Promise<Located> {
    const rel = this.normalise(path);
    // `cache: false` outputs are plain files (in git, or only in the workspace).
    const outs = (await this.outs(rel)).filter((o) => o.out.raw.cache !== false);
    const own = outs.find((o) => o.rel === rel);
    if (own) {
      const oid = this.oidOf(own, path);
      return { kind: "object", path: rel, oid, hashName: own.hashName, out: own };
    }
    const around = outs.find((o) => rel.startsWith(`${o.rel}/`));
    if (around) {
      if (!around.isDir)
        throw new MlvError("ENOTFOUND", `'${path}' is inside '${around.rel}', which is a file, ${this.where()}`, {
          data: { path },
        });
      const sub = rel.slice(around.rel.length + 1);
      const entries = await this.dirEntries(around, this.oidOf(around, path));
      const entry = entries.find((e) => e.relpath === sub);
      if (entry) return { kind: "object", path: rel, oid: entry.md5, hashName: around.hashName, out: around };
      if (entries.some((e) => e.relpath.startsWith(`${sub}/`))) throw isAFolder(path, this.where());
      throw new MlvError(
        "ENOTFOUND",
        `'${path}' does not exist ${this.where()}: the tracked folder '${around.rel}' holds no '${sub}'`,
        { data: { path, rev: this.options.rev } },
      );
    }
    const plain = await this.plainFile(rel);
    if (plain) return { kind: "plain", path: rel, read: plain };
    throw new MlvError(
      "ENOTFOUND",
      `'${path}' does not exist ${this.where()} neither as a tracked output (no .dvc file or stage tracks it) nor as a plain file`,
      { data: { path, rev: this.options.rev } },
    );
  }

  private oidOf(out: TrackedOut, path: string): string {
    const oid = out.out.md5;
    if (!oid)
      throw new MlvError(
        "ENOHASH",
        `'${out.rel}' has no hash in ${out.owner} ${this.where()}: it was never saved${out.stage ? " (its stage never ran)" : ""}`,
        { data: { path }, hint: out.stage ? "Run its stage ('mlv repro')." : `Run 'mlv add ${out.rel}'.` },
      );
    return oid;
  }

  /** A file git tracks at the revision, or a workspace file outside any output. */
  private async plainFile(rel: string): Promise<(() => Promise<Readable>) | undefined> {
    if (this.history && this.commit) {
      const gitPath = [this.subdir, rel].filter(Boolean).join("/");
      const bytes = await this.history.readFileAtRevision(this.commit, gitPath);
      return bytes === undefined ? undefined : async () => Readable.from([bytes]);
    }
    const abs = join(this.project.root, ...rel.split("/"));
    const st = statSync(abs, { throwIfNoEntry: false });
    if (st?.isDirectory()) throw isAFolder(rel, this.where());
    return st?.isFile() ? async () => createReadStream(abs) : undefined;
  }

  /** The file list of a tracked folder: from its `.dir` in the cache, else from the remote, verified. */
  private async dirEntries(out: TrackedOut, oid: string) {
    const label = objectKey(oid, out.hashName);
    if (await this.project.cache.isValid(oid, out.hashName))
      return parseDirManifest(await readFile(this.project.cache.path(oid, out.hashName)), label, "md5");
    const bytes = await this.fromRemote(out.rel, oid, out.hashName, async (stream) => readAll(stream));
    const actual = `${md5Hex(bytes)}.dir`;
    if (actual !== oid) throw corrupt(out.rel, label, actual, oid);
    return parseDirManifest(bytes, label, "md5");
  }

  /**
   * Run `use` on the remote's stream of an object; the remote is closed when `use` settles, or (when
   * `keepOpen`) when the stream it returns ends. Missing objects and remotes become errors naming `path`.
   */
  async fromRemote<T>(
    path: string,
    oid: string,
    hashName: HashName,
    use: (stream: Readable, done: () => Promise<void>) => Promise<T>,
    keepOpen = false,
  ): Promise<T> {
    const key = objectKey(oid, hashName);
    let opened: { name: string; remote: ReadableRemote };
    try {
      opened = await this.remote();
    } catch (err) {
      if (err instanceof NoDefaultRemoteError)
        throw new MlvError(
          "ENODEFAULTREMOTE",
          `'${path}' is not in the cache ${this.where()}, and no remote is given and no default remote is set there: pass { remote: NAME } or { remote: URL }, or set a default remote`,
          { data: { path, key }, cause: err },
        );
      throw err;
    }
    const { name, remote } = opened;
    this.options.signal?.throwIfAborted();
    const done = async () => {
      await remote.close?.();
    };
    let handedOver = false;
    try {
      let stream: Readable;
      try {
        stream = await remote.read(key);
      } catch (err) {
        if (err instanceof ObjectNotFoundError)
          throw new MlvError(
            "EMISSING",
            `'${path}' (${key}) is neither in the cache ${this.where()} nor on remote '${name}' (${remote.displayUrl}): push it from a machine that has it`,
            { data: { path, key, remote: name }, cause: err, hint: "Run 'mlv push' on a machine that has it." },
          );
        throw err;
      }
      handedOver = keepOpen;
      return await use(stream, done);
    } finally {
      if (!handedOver) await done();
    }
  }
}

function isAFolder(path: string, where: string): MlvError {
  return new MlvError("EISDIR", `'${path}' is a folder ${where}: open the files inside it one by one`, {
    data: { path },
  });
}

function corrupt(path: string, key: string, actual: string, expected: string): MlvError {
  return new MlvError(
    "ECORRUPT",
    `'${path}': the remote's object '${key}' hashes to ${actual}, not ${expected}: the object on the remote is corrupt, and its bytes must not be used; push a good copy from a machine that has it`,
    { data: { path, key, actual, expected } },
  );
}

/**
 * A readable stream of a tracked file at a revision: an output, or a file inside a tracked folder
 * (`data/labels.csv`), given from the repository's root. The bytes come from the local cache when
 * the object is there (a read-only object is trusted, any other rehashed first, as everywhere in
 * mlv), else they are streamed from the remote while their md5 is computed: when it does not
 * match, the stream ends with an error (MlvError `ECORRUPT` naming the path) instead of ending
 * normally, so wrong bytes are never taken for the file. Files git tracks are read too.
 *
 * ```js
 * const stream = await open("models/model.onnx", { repo: "/src/project", rev: "v1.0" });
 * ```
 */
export function open(path: string, options: OpenOptions = {}): Promise<Readable> {
  return openIn(undefined, path, options);
}

/** `open` in a project already open (the `Repo` handle's), else in `options.repo`. */
export function openIn(project: Project | undefined, path: string, options: OpenOptions): Promise<Readable> {
  const { signal } = options;
  // The stream is bound to the signal as soon as it exists: one that arrives after the call was
  // aborted is destroyed at once, which releases its file or remote.
  return raceAbort(signal, async () => abortStream(await locateStream(project, path, options), signal));
}

async function locateStream(project: Project | undefined, path: string, options: OpenOptions): Promise<Readable> {
  const reader = await Reader.open(options, project);
  const found = await reader.locate(path);
  if (found.kind === "plain") return found.read();
  const { oid, hashName } = found;
  if (oid.endsWith(".dir")) throw isAFolder(path, reader.where());
  const cache = reader.project.cache;
  const local = cache.path(oid, hashName);
  const st = statSync(local, { throwIfNoEntry: false });
  if (st?.isFile() && ((st.mode & 0o777) === 0o444 || (await cache.isValid(oid, hashName))))
    return createReadStream(local);
  const key = objectKey(oid, hashName);
  // A file of its own has its size in its pointer; one inside a folder does not (its `.dir` lists no sizes).
  const size = found.out.rel === found.path ? (found.out.out.size ?? 0) : 0;
  return reader.fromRemote(
    found.path,
    oid,
    hashName,
    async (stream, done) => {
      const checked = verifyingStream(oid, hashName, (actual) => corrupt(found.path, key, actual, oid));
      const counted = countingStream(new ProgressCounter(options.onProgress, "fetch", 1, size, found.path));
      pipeline(stream, counted, checked, () => void done().catch(() => {}));
      return checked;
    },
    true,
  );
}

/** A pass-through reporting the bytes that go by as one file's progress (nothing when no one listens). */
function countingStream(counter: ProgressCounter): Transform {
  const file = counter.file();
  if (counter.enabled) counter.emit();
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      file.add(chunk.length);
      callback(null, chunk);
    },
    flush(callback) {
      file.done();
      callback();
    },
  });
}

/** The bytes of a tracked file (see `open`), or its text with `encoding`. */
export async function read(path: string, options: ReadOptions & { encoding: BufferEncoding }): Promise<string>;
export async function read(path: string, options?: ReadOptions): Promise<Buffer>;
export async function read(path: string, options: ReadOptions = {}): Promise<Buffer | string> {
  return readIn(undefined, path, options);
}

/** `read` in a project already open (the `Repo` handle's), else in `options.repo`. */
export async function readIn(
  project: Project | undefined,
  path: string,
  options: ReadOptions,
): Promise<Buffer | string> {
  const bytes = await readAll(await openIn(project, path, options));
  return options.encoding ? bytes.toString(options.encoding) : bytes;
}

/**
 * Where a tracked file's object is stored on the remote, like `dvc.api.get_url`:
 * `<remote url>/files/md5/ab/cdef…` (`<remote url>/ab/cdef…` for an output of DVC 2.x). For a
 * tracked folder, the URL of its `.dir` listing. Nothing is downloaded, except the listing of a
 * tracked folder when a file inside it is asked for and the cache does not have it.
 */
export function getUrl(path: string, options: GetUrlOptions = {}): Promise<string> {
  return getUrlIn(undefined, path, options);
}

/** `getUrl` in a project already open (the `Repo` handle's), else in `options.repo`. */
export function getUrlIn(project: Project | undefined, path: string, options: GetUrlOptions): Promise<string> {
  return raceAbort(options.signal, () => urlOf(project, path, options));
}

async function urlOf(project: Project | undefined, path: string, options: GetUrlOptions): Promise<string> {
  const reader = await Reader.open(options, project);
  const found = await reader.locate(path);
  if (found.kind === "plain")
    throw new MlvError(
      "ENOTTRACKED",
      `'${path}' is not tracked by mlv ${reader.where()} (git tracks it, or nothing does): it has no URL on a remote`,
      { data: { path } },
    );
  const { url } = chosenRemote(await reader.config(), options, reader.project.root);
  const key = objectKey(found.oid, found.hashName);
  if (/^file:\/\//i.test(url)) return join(fileURLToPath(url), ...key.split("/"));
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return `${url.replace(/\/+$/, "")}/${key}`;
  return join(url, ...key.split("/"));
}

/** Which artifact version `openArtifact` and `readArtifact` read, and in which repository. */
export interface ArtifactReadOptions extends Omit<OpenOptions, "rev">, ArtifactSelector {}

/**
 * A readable stream of a version of a registered artifact (`mlv artifacts list` names them): the
 * version `version` names, the one `stage` holds, or the latest. Read as `open` reads its path at
 * that version's commit, bytes verified.
 *
 * ```js
 * const stream = await openArtifact("text-classification", { repo: "/src/project", stage: "prod" });
 * ```
 */
export function openArtifact(name: string, options: ArtifactReadOptions = {}): Promise<Readable> {
  return openArtifactIn(undefined, name, options);
}

/** `openArtifact` in a project already open (the `Repo` handle's), else in `options.repo`. */
export async function openArtifactIn(
  project: Project | undefined,
  name: string,
  options: ArtifactReadOptions,
): Promise<Readable> {
  options.signal?.throwIfAborted();
  const opened = project ?? (await Project.open(options.repo ?? process.cwd()));
  const { version, stage, ...rest } = options;
  const found = await resolveArtifact(await projectRegistry(opened), name, { version, stage });
  return openIn(opened, found.path, { ...rest, rev: found.commit });
}

/** The bytes of a version of a registered artifact (see `openArtifact`), or its text with `encoding`. */
export async function readArtifact(
  name: string,
  options: ArtifactReadOptions & { encoding: BufferEncoding },
): Promise<string>;
export async function readArtifact(name: string, options?: ArtifactReadOptions): Promise<Buffer>;
export async function readArtifact(
  name: string,
  options: ArtifactReadOptions & { encoding?: BufferEncoding } = {},
): Promise<Buffer | string> {
  return readArtifactIn(undefined, name, options);
}

/** `readArtifact` in a project already open, else in `options.repo`. */
export async function readArtifactIn(
  project: Project | undefined,
  name: string,
  options: ArtifactReadOptions & { encoding?: BufferEncoding },
): Promise<Buffer | string> {
  const bytes = await readAll(await openArtifactIn(project, name, options));
  return options.encoding ? bytes.toString(options.encoding) : bytes;
}
