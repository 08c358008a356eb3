/** Running the built `mlv` and the real DVC as black boxes, optionally killed at a chosen moment. */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { dvcBin, dvcEnv } from "../../test-fixtures/dvc-peer.js";

export const MLV_BIN = fileURLToPath(new URL("../../apps/cli/dist/bin.cjs", import.meta.url));

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Whether the run was killed by `killAfterMs`. */
  killed: boolean;
}

export interface RunOptions {
  cwd: string;
  env?: Record<string, string>;
  /** Send SIGKILL this many ms after the start (if it is still running). */
  killAfterMs?: number;
  /** Give up (SIGKILL) after this long; default 120 s. */
  timeoutMs?: number;
}

/** Run a command to its end (or its kill), collecting its output. */
export function run(file: string, args: readonly string[], options: RunOptions): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let killed = false;
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    const timers: NodeJS.Timeout[] = [];
    if (options.killAfterMs !== undefined)
      timers.push(
        setTimeout(() => {
          killed = child.exitCode === null;
          child.kill("SIGKILL");
        }, options.killAfterMs),
      );
    timers.push(setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 120_000));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      for (const t of timers) clearTimeout(t);
      resolve({ code, signal, stdout, stderr, killed });
    });
  });
}

/** Run `mlv args…` in `cwd` (NO_COLOR, no prompts). */
export function mlv(cwd: string, args: readonly string[], options: Omit<RunOptions, "cwd"> = {}): Promise<Run> {
  return run(process.execPath, [MLV_BIN, ...args], {
    ...options,
    cwd,
    env: { NO_COLOR: "1", CI: "true", ...options.env },
  });
}

/** Run the real DVC in `cwd`; undefined when it is not installed (see test-fixtures/dvc-peer.ts). */
export function dvc(
  cwd: string,
  args: readonly string[],
  options: Omit<RunOptions, "cwd"> = {},
): Promise<Run> | undefined {
  const bin = dvcBin();
  if (bin === undefined) return undefined;
  return run(bin, args, { ...options, cwd, env: { ...dvcEnv(cwd), ...options.env } });
}
