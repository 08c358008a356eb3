/**
 * The one helper of the CLI end-to-end tests: a throw-away folder holding a git repository, the
 * built `mlv` binary run in it as a user would run it, and small file helpers.
 *
 * Everything a test touches lives in its sandbox: HOME, git's global config and DVC's global and
 * system config folders point into it, so the machine's own configuration is never read or written.
 * The sandbox is removed when the test finishes, whether it passed or not.
 */
import { execFile, type SpawnSyncOptions, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  type Stats,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { onTestFinished } from "vitest";

export const BIN = fileURLToPath(new URL("../dist/bin.cjs", import.meta.url));
export const CLI_PACKAGE = fileURLToPath(new URL("../package.json", import.meta.url));

if (!existsSync(BIN))
  throw new Error(`${BIN} is missing: build first (cd /work/main && npx turbo run build --output-logs=errors-only)`);

/** What a finished command left behind. */
export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Working directory, relative to the repository (default: the repository root). */
  cwd?: string;
  env?: Record<string, string | undefined>;
  input?: string;
}

/** DVC 3.64.0 `init` leaves exactly these (spec §6.2, §6.3, §10 item 2). */
export const DVC_GITIGNORE = "/config.local\n/tmp\n/cache\n";
export const DVCIGNORE =
  "# Add patterns of files dvc should ignore, which could improve\n# the performance. Learn more at\n# https://dvc.org/doc/user-guide/dvcignore\n";

export function md5(data: string | Buffer): string {
  return createHash("md5").update(data).digest("hex");
}

/** `files/md5/ac/bd18...` for an oid (3.x layout, spec §3.1 and §4.1). */
export function objectPath(oid: string): string {
  return `files/md5/${oid.slice(0, 2)}/${oid.slice(2)}`;
}

/** `ac/bd18...`: the 2.x (legacy) layout at the cache or remote root. */
export function legacyObjectPath(oid: string): string {
  return `${oid.slice(0, 2)}/${oid.slice(2)}`;
}

export interface SandboxOptions {
  /** Run `git init` in the repository folder (default true). */
  git?: boolean;
  /**
   * Make the repository an mlv/DVC one: "mlv" runs `mlv init`; "dvc" writes the files DVC 3 `init`
   * leaves (empty `.dvc/config`, `.dvc/.gitignore`, `.dvcignore`, staged in git), which is faster
   * and, since mlv must work in repositories DVC made, just as real. Default: false.
   */
  init?: false | "mlv" | "dvc";
}

export class Sandbox {
  /** The sandbox's own folder; everything below is removed afterwards. */
  readonly dir: string;
  /** The repository (workspace) folder. */
  readonly repo: string;
  /** A folder outside the repository for local remotes (created on demand by tests). */
  readonly remote: string;
  readonly env: Record<string, string>;

  constructor(options: SandboxOptions = {}) {
    this.dir = mkdtempSync(join(tmpdir(), "mlv-e2e-"));
    this.repo = join(this.dir, "repo");
    this.remote = join(this.dir, "remote");
    const home = join(this.dir, "home");
    for (const d of [this.repo, home, join(this.dir, "dvc-global"), join(this.dir, "dvc-system")])
      mkdirSync(d, { recursive: true });
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
    for (const k of Object.keys(env)) if (k.startsWith("GIT_") || k.startsWith("DVC_") || k === "CI") delete env[k];
    Object.assign(env, {
      HOME: home,
      XDG_CONFIG_HOME: join(home, ".config"),
      DVC_GLOBAL_CONFIG_DIR: join(this.dir, "dvc-global"),
      DVC_SYSTEM_CONFIG_DIR: join(this.dir, "dvc-system"),
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_AUTHOR_NAME: "Test User",
      GIT_AUTHOR_EMAIL: "test@example.com",
      GIT_COMMITTER_NAME: "Test User",
      GIT_COMMITTER_EMAIL: "test@example.com",
      NO_COLOR: "1",
    });
    this.env = env;
    if (options.git !== false) this.mustGit("init", "-q", "-b", "main");
    if (options.init === "mlv") this.must("init");
    else if (options.init === "dvc") this.dvcInit();
  }

  /** Absolute path of a repository-relative one. */
  path(rel = "."): string {
    return join(this.repo, rel);
  }

  private spawn(cmd: string, args: string[], options: RunOptions = {}): Result {
    const spawnOptions: SpawnSyncOptions = {
      cwd: options.cwd ? join(this.repo, options.cwd) : this.repo,
      env: { ...this.env, ...options.env } as NodeJS.ProcessEnv,
      encoding: "utf8",
      input: options.input ?? "",
      timeout: 60_000,
    };
    const r = spawnSync(cmd, args, spawnOptions);
    if (r.error) throw r.error;
    return { code: r.status ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
  }

  /** Run `mlv ARGS...` in the repository root. */
  mlv(...args: string[]): Result {
    return this.spawn(process.execPath, [BIN, ...args]);
  }

  /** Run `mlv ARGS...` with options (cwd inside the repository, extra env). */
  mlvWith(options: RunOptions, ...args: string[]): Result {
    return this.spawn(process.execPath, [BIN, ...args], options);
  }

  /** Run `mlv ARGS...` without waiting: for commands that must run at the same time. */
  mlvAsync(...args: string[]): Promise<Result> {
    return new Promise((resolve) => {
      const child = execFile(
        process.execPath,
        [BIN, ...args],
        { cwd: this.repo, env: this.env as NodeJS.ProcessEnv, encoding: "utf8", timeout: 60_000 },
        (err, stdout, stderr) => {
          const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
          resolve({ code, stdout, stderr });
        },
      );
      child.stdin?.end();
    });
  }

  /** Run mlv and fail the test, showing its output, unless it exits 0. */
  must(...args: string[]): Result {
    const r = this.mlv(...args);
    if (r.code !== 0)
      throw new Error(`mlv ${args.join(" ")} exited ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
    return r;
  }

  git(...args: string[]): Result {
    return this.spawn("git", args);
  }

  mustGit(...args: string[]): Result {
    const r = this.git(...args);
    if (r.code !== 0) throw new Error(`git ${args.join(" ")} exited ${r.code}\n${r.stderr}`);
    return r;
  }

  /** The files DVC 3 `init` writes, staged in git when there is one. */
  dvcInit(): void {
    this.write(".dvc/config", "");
    this.write(".dvc/.gitignore", DVC_GITIGNORE);
    this.write(".dvcignore", DVCIGNORE);
    if (existsSync(join(this.repo, ".git"))) this.mustGit("add", ".dvc/config", ".dvc/.gitignore", ".dvcignore");
  }

  /** Write a file (creating folders), optionally with a mode. */
  write(rel: string, content: string | Buffer, mode?: number): string {
    const abs = this.path(rel);
    mkdirSync(dirname(abs), { recursive: true });
    // Replace rather than write through: the old file may be a read-only hardlink of a cache object.
    rmSync(abs, { force: true });
    writeFileSync(abs, content);
    if (mode !== undefined) chmodSync(abs, mode);
    return abs;
  }

  /** Write several files: `{ "data/a": "a", ... }`. */
  writeTree(tree: Record<string, string | Buffer>, under = "."): void {
    for (const [rel, content] of Object.entries(tree)) this.write(join(under, rel), content);
  }

  read(rel: string): string {
    return readFileSync(this.path(rel), "utf8");
  }

  bytes(rel: string): Buffer {
    return readFileSync(this.path(rel));
  }

  exists(rel: string): boolean {
    return existsSync(this.path(rel));
  }

  stat(rel: string): Stats {
    return statSync(this.path(rel));
  }

  lstat(rel: string): Stats {
    return lstatSync(this.path(rel));
  }

  /** Delete a file or folder (read-only cache files included). */
  rm(rel: string): void {
    rmSync(this.path(rel), { recursive: true, force: true });
  }

  /** Path of a 3.x cache object, relative to the repository. */
  cacheObject(oid: string): string {
    return `.dvc/cache/${objectPath(oid)}`;
  }

  /** Every file below a folder (absolute), as posix paths relative to it, sorted. */
  static listFiles(root: string): string[] {
    const found: string[] = [];
    const visit = (abs: string) => {
      if (!existsSync(abs)) return;
      for (const e of readdirSync(abs, { withFileTypes: true })) {
        const child = join(abs, e.name);
        if (e.isDirectory()) visit(child);
        else found.push(relative(root, child).split(sep).join("/"));
      }
    };
    visit(root);
    return found.sort();
  }

  /** Files of a folder of the repository (relative to it), sorted. */
  files(rel: string): string[] {
    return Sandbox.listFiles(this.path(rel));
  }

  /** Files of the local remote folder, sorted. */
  remoteFiles(root = this.remote): string[] {
    return Sandbox.listFiles(root);
  }

  /**
   * Point the repository at a local remote folder by writing `.dvc/config` as DVC writes it after
   * `dvc remote add -d NAME PATH` (spec §5.2); quicker than running the command in every test.
   */
  useRemote(url = this.remote, name = "storage"): void {
    mkdirSync(url, { recursive: true });
    this.write(".dvc/config", `[core]\n    remote = ${name}\n['remote "${name}"']\n    url = ${url}\n`);
  }
}

/** A fresh sandbox, removed when the current test finishes. */
export function sandbox(options: SandboxOptions = {}): Sandbox {
  const s = new Sandbox(options);
  onTestFinished(() => {
    rmSync(s.dir, { recursive: true, force: true });
  });
  return s;
}

/** The mode bits of a file (e.g. 0o444). */
export function modeOf(st: Stats): number {
  return st.mode & 0o777;
}

// ---- DVC texts from the spec (§1.3, §9) ----

export const FOO_MD5 = "acbd18db4cc2f85cedef654fccc4a4d8";
export const BAR_MD5 = "37b51d194a7513e45b56f6524f2d51f2";

/** V-P1, file `foo` containing `foo`. */
export const VP1_FILE = "outs:\n- md5: acbd18db4cc2f85cedef654fccc4a4d8\n  size: 3\n  hash: md5\n  path: foo\n";
/** V-P1, folder `data` holding V-D1. */
export const VP1_DIR =
  "outs:\n- md5: 5ea40360f5b4ec688df672a4db9c17d1.dir\n  size: 6\n  nfiles: 2\n  hash: md5\n  path: data\n";
/** V-D1 `.dir` bytes, no trailing newline. */
export const VD1_OID = "5ea40360f5b4ec688df672a4db9c17d1.dir";
export const VD1_BYTES =
  '[{"md5": "37b51d194a7513e45b56f6524f2d51f2", "relpath": "bar"}, {"md5": "acbd18db4cc2f85cedef654fccc4a4d8", "relpath": "foo"}]';
/** V-P2, a 2.x pointer as DVC 3 leaves it. */
export const VP2_FILE = "outs:\n- md5: acbd18db4cc2f85cedef654fccc4a4d8\n  size: 3\n  path: foo\n";

/** A pointer text for one out, in DVC's key order. */
export function pointerText(o: { md5: string; size: number; nfiles?: number; isexec?: boolean; path: string }): string {
  let t = `outs:\n- md5: ${o.md5}\n  size: ${o.size}\n`;
  if (o.nfiles !== undefined) t += `  nfiles: ${o.nfiles}\n`;
  if (o.isexec) t += "  isexec: true\n";
  return `${t}  hash: md5\n  path: ${o.path}\n`;
}
