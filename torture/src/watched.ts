/**
 * Running a command under a watchdog: it is killed (SIGKILL) when it runs past a limit, or when it
 * stops making progress, progress being measured by the caller (bytes through a proxy, say). A
 * client that lost its connection and waits forever on a request that will never be answered is
 * found in the idle time instead of the whole limit.
 */
import { spawn } from "node:child_process";
import type { Run } from "./tools.js";

export interface WatchedRun extends Run {
  /** Why the watchdog killed it: "limit" or "idle"; undefined when it ended by itself. */
  hung?: "limit" | "idle";
  /** Seconds it ran. */
  seconds: number;
}

export interface WatchOptions {
  cwd: string;
  /** The whole environment of the command. */
  env: Record<string, string>;
  /** Kill it after this long. */
  limitMs: number;
  /** Kill it when `progress()` grew by less than `minProgress` over the last `idleMs`. */
  idleMs: number;
  minProgress: number;
  progress: () => number;
}

export function runWatched(file: string, args: readonly string[], options: WatchOptions): Promise<WatchedRun> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(file, args, { cwd: options.cwd, env: options.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let hung: WatchedRun["hung"];
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    // One sample of the progress counter per second; the oldest one kept is `idleMs` old.
    const samples: number[] = [options.progress()];
    const keep = Math.max(1, Math.round(options.idleMs / 1000));
    const tick = setInterval(() => {
      samples.push(options.progress());
      if (samples.length > keep + 1) samples.shift();
      const stuck = samples.length > keep && samples[samples.length - 1]! - samples[0]! < options.minProgress;
      const over = Date.now() - started >= options.limitMs;
      if ((stuck || over) && child.exitCode === null && child.signalCode === null) {
        hung = over ? "limit" : "idle";
        child.kill("SIGKILL");
      }
    }, 1000);
    child.on("error", (err) => {
      clearInterval(tick);
      reject(err);
    });
    child.on("close", (code, signal) => {
      clearInterval(tick);
      resolve({
        code,
        signal,
        stdout,
        stderr,
        killed: hung !== undefined,
        ...(hung ? { hung } : {}),
        seconds: (Date.now() - started) / 1000,
      });
    });
  });
}
