/**
 * Every failure mlv reports is an MlvError: a stable `code` for programs, a message that names the
 * file, value or remote involved (and what fixes it, when that needs no command line), structured
 * `data`, the original error as `cause`, and an optional `hint` for a person at a terminal (which
 * `mlv` command to run). The CLI prints the hint after the message and maps `exitCode` straight to
 * the process exit status.
 */
/**
 * Every code an MlvError carries, so that a program can switch on it and a new code is declared
 * here, with when it is thrown, before any code throws it.
 */
export type MlvErrorCode =
  // The command line and the project
  | "EUSAGE" // a command or API call was given wrong arguments or flags (exit code 2)
  | "ENOTREPO" // not inside a git or mlv/DVC repository, or a source repository is not one
  | "ENOTGITROOT" // `init` below the top of a git repository without --subdir
  | "EEXIST" // what would be created (.dvc folder, output, .dvc file) exists and --force was not given
  | "EFORMAT" // a .dvc file, dvc.yaml, dvc.lock, .dir listing or config file cannot be read as one
  | "ECONFIG" // a config value is missing or invalid (or a file it names cannot be read)
  | "ELOCKED" // another process holds the repository's lock
  | "EHOOK" // `install` finds a git hook of someone else's where it would keep the previous one
  // Targets and what tracks them
  | "ENOTARGET" // a target is neither in the workspace nor tracked
  | "ENOTFOUND" // a path does not exist in a repository at a revision, neither tracked nor in git
  | "ENOTTRACKED" // a path git tracks (or nothing does) was asked for as tracked data
  | "EISDIR" // a tracked folder was opened as a file
  | "ENOHASH" // an output has no hash recorded: it was never added or its stage never run
  | "ENOCACHE" // an output marked `cache: false` was asked for from another repository
  | "ENOTINCACHE" // a folder's file list (.dir) is not in the cache, so its files cannot be listed
  | "EOVERLAP" // `add` or `import` of a path that overlaps an output something already tracks
  | "ESCMTRACKED" // `add` or `import` of a path git already tracks
  | "EIGNORED" // `add` of a path .dvcignore ignores, or whose .dvc file git ignores
  | "EUNSAVED" // `checkout` would delete or overwrite workspace files not in the cache, without --force
  | "ELINKED" // an output lies below a folder that is a symbolic link: never written through
  | "ECHECKOUT" // `checkout` or `pull` could not restore some targets: their data is not in the cache
  | "ELINK" // no link type of `cache.type` works between the cache and the workspace
  | "EREAD" // a workspace file exists but cannot be read
  | "ENOTFILE" // a workspace path is neither a file nor a folder (a FIFO, socket or device)
  | "EACCES" // the file system denied access to a local file
  | "ENOSPC" // the disk is full (or the quota reached) while writing
  | "ELOOP" // a symbolic link loop in the workspace
  | "ENAMETOOLONG" // a file name longer than the file system allows
  | "EROFS" // the file system to write to is read-only
  | "EMFILE" // the process ran out of file descriptors
  | "ENOTDIR" // a file stands where a folder is needed
  // Pipelines, metrics and history
  | "EOUTDUP" // two stages or .dvc files declare the same output
  | "EOUTOVERLAP" // one declared output is inside another
  | "ECYCLE" // the pipeline's dependencies form a cycle (an item is both a stage's dependency and output)
  | "ECOMMAND" // a stage's command exited with a non-zero code, or could not start
  | "EREPRO" // stages failed to reproduce; `data.stages` names them, `cause` holds the first failure
  | "ENOOUTPUT" // a stage ran without producing an output, or a frozen stage's or data source's output is missing
  | "ENOPARAMS" // params a stage depends on are missing from their file
  | "ESTAGECHANGED" // `commit` of a stage whose dependencies or outputs changed, without --force
  | "ENOPIPELINE" // the dvc.yaml named does not exist
  | "ENOMETRICS" // no metrics file was found where metrics were asked for
  | "ENOVERSIONS" // `versions` of a .dvc file that git's history does not hold
  | "ENOARTIFACT" // an artifact, or a version or stage of one, that the model registry does not hold
  | "EREGISTRY" // a registry change that contradicts the registry (a version taken, a stage held already)
  | "EREV" // a git revision is unknown, malformed or ambiguous
  | "EGIT" // the git repository's objects or refs cannot be read
  | "EGITWORKTREE" // a linked git worktree, which mlv's git reader cannot read
  | "ECLONE" // a source repository of `get`, `import` or `list` could not be cloned
  | "EUNSUPPORTED" // something mlv deliberately does not do (a non-http clone, a version-aware remote, ...)
  // Remotes and transfers
  | "ENOREMOTE" // a remote name that is not configured
  | "ENODEFAULTREMOTE" // no remote given and no default remote set
  | "ENOADAPTER" // no storage adapter is installed for a remote's URL scheme
  | "EADAPTER" // an adapter package fails to load or exports no adapter
  | "EREADONLY" // a write or delete on a storage that is only read
  | "EMISSING" // objects a command needs are neither in the cache nor on the remote
  | "EMISSINGDIR" // `gc` refuses: a kept folder's file list is missing, so its files are unknown
  | "EPARTIAL" // some objects of a transfer or checkout failed; `data.failures` names each
  | "ECORRUPT" // a downloaded object's content does not hash to its name
  | "ECHANGED" // data changed from what was recorded, or on the remote while being read
  | "ENOOBJECT" // an object is not on the remote (ObjectNotFoundError)
  | "EUNREACHABLE" // the remote cannot be reached (transient)
  | "EPERMISSION" // the remote refused the credentials or the access
  | "ETHROTTLED" // the remote is throttling requests (transient)
  | "EREMOTEIO" // any other failure of a remote request, from the adapter's SDK
  | "ENOBUCKET" // the S3 or GCS bucket of a remote's URL does not exist
  | "ENOCONTAINER" // the Azure container of a remote's URL does not exist
  | "EBADBUCKET" // an S3 bucket name that is not valid
  | "EREGION" // an S3 bucket is in another region than the one configured
  | "ETLS" // the TLS connection to a remote failed (certificate not trusted)
  | "ESSH" // the SSH connection to an sftp remote failed
  | "EHOSTKEY" // an SSH host key is unknown or has changed
  | "ECLOSED" // an sftp connection was used after it closed
  | "EBADKEY" // an object key that is not a valid relative posix path
  | "ESIZE" // an upload's stream gave another number of bytes than announced
  | "ETRUNCATED" // a download ended before its announced length
  | "ERANGE" // a ranged read gave more bytes than asked (an adapter ignoring its range)
  | "EABORTED"; // the operation was stopped through its AbortSignal (or the CLI was interrupted)

/** Marks every MlvError, whichever copy of this module created it. */
const BRAND = Symbol.for("@mlv/core/MlvError");

export class MlvError extends Error {
  /**
   * `instanceof` works across copies of @mlv/core (a bundled CLI and an adapter package each load
   * their own): an error is an instance of a class when it carries the brand and a class of that
   * name is in its prototype chain.
   */
  static [Symbol.hasInstance](value: unknown): boolean {
    if (typeof value !== "object" || value === null || !(BRAND in value)) return false;
    for (let proto = Object.getPrototypeOf(value); proto; proto = Object.getPrototypeOf(proto)) {
      // biome-ignore lint/complexity/noThisInStatic: `this` is the class on the right of instanceof
      if (proto.constructor === this || proto.constructor?.name === this.name) return true;
    }
    return false;
  }

  readonly [BRAND] = true;
  readonly code: MlvErrorCode;
  readonly data: Record<string, unknown>;
  /** 1 for failures, 2 for usage errors. */
  readonly exitCode: number;
  /**
   * Advice for a person running `mlv` (e.g. "Run 'mlv remote list' to see them."), kept out of the
   * message so that a program's own messages stay free of another tool's commands. May be absent.
   */
  readonly hint?: string;

  constructor(
    code: MlvErrorCode,
    message: string,
    options: { data?: Record<string, unknown>; cause?: unknown; exitCode?: number; hint?: string } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.data = options.data ?? {};
    this.exitCode = options.exitCode ?? 1;
    if (options.hint !== undefined) this.hint = options.hint;
  }
}

/** The command was called wrongly: exit code 2. */
export class UsageError extends MlvError {
  constructor(message: string, data: Record<string, unknown> = {}, hint?: string) {
    super("EUSAGE", message, { data, exitCode: 2, hint });
  }
}

export class NotARepoError extends MlvError {
  constructor(cwd: string, reason: "git" | "mlv") {
    super(
      "ENOTREPO",
      reason === "git"
        ? `'${cwd}' is not inside a git repository`
        : `'${cwd}' is not inside an mlv/DVC repository (no .dvc folder found)`,
      {
        data: { cwd, reason },
        hint:
          reason === "git"
            ? "Run 'git init' first, or 'mlv init --no-scm' to use mlv without git."
            : "Run 'mlv init' first.",
      },
    );
  }
}

/** A pointer (.dvc) file, a .dir manifest or a config file that cannot be read. */
export class FormatError extends MlvError {
  constructor(file: string, detail: string, line?: number, cause?: unknown, hint?: string) {
    super("EFORMAT", `${file}: ${line === undefined ? "" : `line ${line}: `}${detail}`, {
      data: { file, line },
      cause,
      hint,
    });
  }
}

export class TargetNotFoundError extends MlvError {
  /** `detail` follows the quoted target ("does not exist", ...); `hint` is what to run. */
  constructor(target: string, detail = "does not exist and is not tracked", hint?: string) {
    super("ENOTARGET", `'${target}' ${detail}`, { data: { target }, hint });
  }
}

export class ConfigError extends MlvError {
  constructor(message: string, data: Record<string, unknown> = {}, hint?: string) {
    super("ECONFIG", message, { data, hint });
  }
}

export class RemoteNotFoundError extends MlvError {
  constructor(name: string) {
    super("ENOREMOTE", `remote '${name}' is not configured`, {
      data: { name },
      hint: `See 'mlv remote list', or add it with 'mlv remote add ${name} URL'.`,
    });
  }
}

export class NoDefaultRemoteError extends MlvError {
  constructor() {
    super("ENODEFAULTREMOTE", "no remote given and no default remote set", {
      hint: "Use '-r NAME', or set one with 'mlv remote default NAME' (or 'mlv remote add -d NAME URL').",
    });
  }
}

/** No adapter is installed for a URL scheme. */
export class AdapterNotFoundError extends MlvError {
  /**
   * `packages`: the names looked up, the first-party one first; `remote`: the remote whose URL has
   * the scheme, when there is one. The hint installs the last name: a first-party package when it
   * is the only one, else the third-party naming convention (`mlv-remote-<scheme>`).
   */
  constructor(scheme: string, packages: string[], remote?: string) {
    const subject = remote === undefined ? `'${scheme}://' URLs are` : `remote '${remote}' uses ${scheme}://,`;
    const served =
      packages.length === 1
        ? `served by the package ${packages[0]}, which is not installed`
        : `served by a package named ${packages.join(" or ")}, and none is installed`;
    const pkg = packages.at(-1) ?? `mlv-remote-${scheme}`;
    super("ENOADAPTER", `${subject} ${served}`, {
      data: { scheme, packages, ...(remote === undefined ? {} : { remote }) },
      hint: `Run 'npm install -g ${pkg}' (or, for this project only, 'npm install -D ${pkg}').`,
    });
  }
}

/** Storage errors, raised by adapters from their SDK's errors so that core can act on them. */
export class RemoteError extends MlvError {
  /** Whether trying again later may succeed (throttling, timeouts, dropped connections). */
  readonly transient: boolean;
  constructor(
    code: MlvErrorCode,
    message: string,
    options: { cause?: unknown; data?: Record<string, unknown>; transient?: boolean; hint?: string } = {},
  ) {
    super(code, message, options);
    this.transient = options.transient ?? false;
  }
}

export class ObjectNotFoundError extends RemoteError {
  constructor(remote: string, key: string, cause?: unknown) {
    super("ENOOBJECT", `'${key}' is not on remote ${remote}`, { cause, data: { remote, key } });
  }
}

/** A command that writes (push, gc -c) was pointed at a remote whose storage is only read. */
export class ReadOnlyRemoteError extends RemoteError {
  constructor(name: string, displayUrl: string, action: string) {
    super(
      "EREADONLY",
      `remote '${name}' (${displayUrl}) is read-only: it cannot be written, so '${action}' cannot use it`,
      {
        data: { remote: name, url: displayUrl },
        hint: "Choose a writable remote with '-r NAME', or set one for this output with its 'remote:' key.",
      },
    );
  }
}

export class RemoteUnreachableError extends RemoteError {
  constructor(remote: string, detail: string, cause?: unknown, hint?: string) {
    super("EUNREACHABLE", `remote ${remote} cannot be reached: ${detail}`, {
      cause,
      data: { remote },
      transient: true,
      hint,
    });
  }
}

export class PermissionDeniedError extends RemoteError {
  constructor(remote: string, detail: string, cause?: unknown, hint?: string) {
    super("EPERMISSION", `remote ${remote} refused access: ${detail}`, { cause, data: { remote }, hint });
  }
}

export class ThrottledError extends RemoteError {
  constructor(remote: string, detail: string, cause?: unknown) {
    super("ETHROTTLED", `remote ${remote} is throttling requests: ${detail}`, {
      cause,
      data: { remote },
      transient: true,
    });
  }
}

export class LockError extends MlvError {
  /**
   * `canBeStale`: false for DVC's flock (the kernel drops it when its holder dies, and deleting the
   * file would break DVC's locking), true for mlv's own marker file.
   */
  constructor(lockPath: string, holder: string, canBeStale = true) {
    super("ELOCKED", `the repository is busy: ${holder} holds the lock ${lockPath}`, {
      data: { lockPath, holder },
      hint: `Wait for it to finish and run the command again${
        canBeStale ? "; if no such process runs any more, delete that file." : "."
      }`,
    });
  }
}

export class DiskFullError extends MlvError {
  /** `doing`: what was being written, when it says more than the path (e.g. which cache). */
  constructor(path: string, cause?: unknown, doing = `writing '${path}'`) {
    super("ENOSPC", `no space left on the device while ${doing}; nothing was half-written`, {
      data: { path },
      cause,
      hint: "Free some space (e.g. 'mlv gc -w') and run the command again.",
    });
  }
}

/**
 * Some objects of a transfer or checkout failed; each failure names its path and cause. The hint
 * gathers the failures' own hints (each once), then advises trying again only when one of them
 * may pass next time (`transient`): a file where a folder must be, a refused access or a corrupt
 * object fails the same way however often it is tried.
 */
export class PartialFailureError extends MlvError {
  constructor(message: string, failures: { path: string; message: string; transient?: boolean; hint?: string }[]) {
    const hints = new Set(failures.flatMap((f) => (f.hint ? [f.hint] : [])));
    if (failures.some((f) => f.transient)) hints.add("Run the command again to finish the job.");
    super("EPARTIAL", message, {
      data: { failures },
      hint: hints.size > 0 ? [...hints].join("\n") : undefined,
    });
  }
}

/** Whether `err` is the file system saying the disk (or the quota) is full. */
export function isDiskFull(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === "ENOSPC" || code === "EDQUOT";
}

/** Turn a Node fs error into an MlvError where a user can act on it, else return it unchanged. */
export function translateFsError(err: unknown, path: string): unknown {
  if (err instanceof MlvError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (isDiskFull(err)) return new DiskFullError(path, err);
  if (code === "EACCES" || code === "EPERM")
    return new MlvError("EACCES", `permission denied on '${path}': check its owner and mode`, {
      data: { path },
      cause: err,
    });
  const problem = code === undefined ? undefined : FS_PROBLEMS[code];
  if (problem === undefined) return err;
  // The path Node names can be a temporary file or a parent folder: name it when it is not `path`.
  const named = (err as NodeJS.ErrnoException).path;
  const at = named !== undefined && named !== path && !TEMP_NAME.test(named) ? ` (at '${named}')` : "";
  return new MlvError(code as MlvErrorCode, `'${path}'${at}: ${problem}`, {
    data: { path },
    cause: err,
    hint: code === undefined ? undefined : FS_HINTS[code],
  });
}

/** What a file-system error means for the user, and what to do about it. */
const FS_PROBLEMS: Record<string, string> = {
  ELOOP:
    "a symbolic link that leads back to itself (a loop): remove the link or fix its target, or list it in .dvcignore",
  ENAMETOOLONG:
    "a name longer than the file system allows (255 bytes per name on most): rename it (a pointer file adds '.dvc' to the name)",
  EROFS: "the file system is read-only: make it writable, or work on a copy",
  EMFILE: "too many open files",
  ENOTDIR: "a file stands where a folder is needed: move the file away",
  EISDIR: "a folder stands where a file is needed: move the folder away",
};

/** What to type about a file-system problem, where that is a command. */
const FS_HINTS: Record<string, string> = {
  EMFILE: "Raise the limit ('ulimit -n') or lower the number of jobs ('-j').",
};

const TEMP_NAME = /\/\.mlv-[0-9]+-[A-Za-z0-9_-]+\.tmp$/;
