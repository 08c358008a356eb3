/**
 * The workflow a DVC user follows, with the built `mlv` binary, shared by the adapters' cli tests:
 * `git init`, `mlv init`, the remote set only through `mlv remote add -d storage <url>` and
 * `mlv remote modify`, add a file and a folder, push (then `status -c` is in sync), delete the
 * cache and the data, pull, every byte back, `status -c` in sync again.
 *
 * It runs in a throw-away sandbox folder whose HOME and DVC global/system config folders are temp
 * folders too, with no cloud, SSH, git or DVC variables inherited from the machine.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";

/** The built CLI. */
export const BIN = fileURLToPath(new URL("../apps/cli/dist/bin.cjs", import.meta.url));

/** Variables that could change which credentials, config or repository the commands use. */
const LEAKY_ENV = /^(AWS_|GOOGLE_|GCLOUD_|CLOUDSDK_|STORAGE_EMULATOR_HOST$|AZURE_|SSH_|GIT_|DVC_)/;

export interface CliWorkflowOptions {
  /** An empty folder for the sandbox: `repo/`, `home/` (HOME; prepare it first if needed), `dvc-global/`, `dvc-system/`. */
  dir: string;
  /** The URL given to `mlv remote add -d storage`. */
  url: string;
  /** `mlv remote modify [--local] storage <name> <value>` for each entry, in order. */
  modify?: Record<string, string>;
  /** Pass `--local` to each `mlv remote modify` (secrets go to .dvc/config.local). */
  local?: boolean;
  /** Variables set on top of the sandbox's environment. */
  env?: Record<string, string>;
  /** The data to add, workspace path -> bytes: each top-level name is one `mlv add` target. Default: `defaultFiles()`. */
  files?: Record<string, Buffer>;
  /** Adapter-specific checks of the remote after the push (and before the local data is deleted). */
  afterPush?: (ctx: { cli: CliSandbox; files: Record<string, Buffer>; pushed: CliResult }) => Promise<void> | void;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliSandbox {
  dir: string;
  repo: string;
  home: string;
  env: Record<string, string>;
  /** Run a command in the repository (no check of its exit code). */
  run: (cmd: string, args: string[]) => CliResult;
  /** Run `mlv` in the repository and check that it exits 0. */
  mlv: (...args: string[]) => CliResult;
}

/** A model file of 3 MiB + 7 and a folder with small, binary, empty and nested files. */
export function defaultFiles(): Record<string, Buffer> {
  return {
    "model.bin": randomBytes(3 * 1024 * 1024 + 7),
    "data/a.txt": Buffer.from("alpha\n"),
    "data/b.txt": Buffer.from("beta\n"),
    "data/sub/c.bin": randomBytes(70_000),
    "data/empty": Buffer.alloc(0),
  };
}

/** The sandbox of `dir` (folders made if missing), without running anything. */
export function cliSandbox(dir: string, extraEnv: Record<string, string> = {}): CliSandbox {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: build first (cd /work/main && npx turbo run build)`);
  const repo = join(dir, "repo");
  const home = join(dir, "home");
  for (const d of [repo, home, join(dir, "dvc-global"), join(dir, "dvc-system")]) mkdirSync(d, { recursive: true });
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !LEAKY_ENV.test(k)) env[k] = v;
  Object.assign(
    env,
    {
      HOME: home,
      XDG_CONFIG_HOME: join(home, ".config"),
      DVC_GLOBAL_CONFIG_DIR: join(dir, "dvc-global"),
      DVC_SYSTEM_CONFIG_DIR: join(dir, "dvc-system"),
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_CONFIG_GLOBAL: "/dev/null",
      NO_COLOR: "1",
    },
    extraEnv,
  );
  const run = (cmd: string, args: string[]): CliResult => {
    const r = spawnSync(cmd, args, { cwd: repo, env, encoding: "utf8", timeout: 120_000 });
    if (r.error) throw r.error;
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  };
  const mlv = (...args: string[]): CliResult => {
    const r = run(process.execPath, [BIN, ...args]);
    expect(r.code, `mlv ${args.join(" ")} exited ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`).toBe(0);
    return r;
  };
  return { dir, repo, home, env, run, mlv };
}

const IN_SYNC = "Cache and remote 'storage' are in sync.";

/** Run the whole workflow (see the top of this file); resolve to the sandbox, for further commands. */
export async function runCliWorkflow(options: CliWorkflowOptions): Promise<CliSandbox> {
  const cli = cliSandbox(options.dir, options.env);
  const { repo, run, mlv } = cli;
  const files = options.files ?? defaultFiles();

  const git = run("git", ["init", "-q"]);
  expect(git.code, git.stderr).toBe(0);
  mlv("init");
  mlv("remote", "add", "-d", "storage", options.url);
  for (const [name, value] of Object.entries(options.modify ?? {}))
    mlv("remote", "modify", ...(options.local ? ["--local"] : []), "storage", name, value);

  for (const [rel, bytes] of Object.entries(files)) {
    mkdirSync(join(repo, rel, ".."), { recursive: true });
    writeFileSync(join(repo, rel), bytes);
  }
  const targets = [...new Set(Object.keys(files).map((rel) => rel.split("/")[0] as string))];
  mlv("add", ...targets);
  const pushed = mlv("push");
  expect(mlv("status", "-c").stdout).toContain(IN_SYNC);
  await options.afterPush?.({ cli, files, pushed });

  rmSync(join(repo, ".dvc", "cache"), { recursive: true, force: true });
  for (const target of targets) rmSync(join(repo, target), { recursive: true, force: true });
  mlv("pull");
  for (const [rel, bytes] of Object.entries(files))
    expect(readFileSync(join(repo, rel)).equals(bytes), `${rel} restored byte for byte`).toBe(true);
  expect(mlv("status", "-c").stdout).toContain(IN_SYNC);
  return cli;
}
