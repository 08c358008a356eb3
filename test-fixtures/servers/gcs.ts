/**
 * The Cloud Storage emulator of firebase-tools (pinned in ./gcs-emulator/package.json), for tests
 * of anything that speaks the GCS JSON API.
 *
 * ```ts
 * const gcs = await startGcsEmulator();   // installs it on first use (about a minute), then ~1 s
 * new Storage({ apiEndpoint: gcs.endpoint, projectId: "demo-mlv" });
 * await gcs.stop();
 * ```
 *
 * firebase-tools is installed apart from the workspace, in ./gcs-emulator with its own lockfile
 * (`npm ci --ignore-scripts`), and runs in a child process (./gcs-emulator/launch.cjs), so that its
 * large module tree stays out of the test process. Buckets need no creation: they appear on first
 * use. Chunked resumable uploads (`chunkSize`) are not supported by the emulator.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The folder holding the emulator's package.json, lockfile and launcher. */
export const GCS_EMULATOR_DIR = join(dirname(fileURLToPath(import.meta.url)), "gcs-emulator");

export interface GcsEmulator {
  /** `http://127.0.0.1:PORT`: the `apiEndpoint` (and DVC `endpointurl`) to use. */
  endpoint: string;
  port: number;
  /** Where the emulator keeps object bytes (removed by stop()). */
  dir: string;
  /** Stop the emulator process this call started and remove its folder. */
  stop(): Promise<void>;
}

function run(command: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`${command} ${args.join(" ")} failed (exit ${code}): ${stderr.trim()}`)),
    );
  });
}

/** Install firebase-tools into ./gcs-emulator from its lockfile unless it is there already. */
export async function ensureGcsEmulatorInstalled(log: (line: string) => void = console.log): Promise<void> {
  if (existsSync(join(GCS_EMULATOR_DIR, "node_modules", "firebase-tools", "package.json"))) return;
  log(
    `gcs emulator: installing firebase-tools into ${GCS_EMULATOR_DIR} (npm ci --ignore-scripts, about a minute, once)...`,
  );
  const started = Date.now();
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  await run(npm, ["ci", "--ignore-scripts", "--no-audit", "--no-fund"], GCS_EMULATOR_DIR);
  log(`gcs emulator: installed in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

/** Start an emulator on 127.0.0.1 on a free port, in a fresh temp folder. */
export async function startGcsEmulator(options: { timeoutMs?: number } = {}): Promise<GcsEmulator> {
  await ensureGcsEmulatorInstalled();
  const dir = await mkdtemp(join(tmpdir(), "mlv-gcs-emulator-"));
  const child = spawn(
    process.execPath,
    [join(GCS_EMULATOR_DIR, "launch.cjs"), "--host", "127.0.0.1", "--dir", dir, "--remove-dir"],
    {
      cwd: GCS_EMULATOR_DIR,
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, TMPDIR: dir },
    },
  );
  let output = "";
  try {
    const endpoint = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the GCS emulator did not start within ${options.timeoutMs ?? 30_000} ms: ${output}`)),
        options.timeoutMs ?? 30_000,
      );
      const onData = (d: Buffer) => {
        output += d.toString();
        const m = /mlv-gcs-emulator listening (http:\/\/\S+)/.exec(output);
        if (m?.[1]) {
          clearTimeout(timer);
          child.stdout?.off("data", onData);
          resolve(m[1]);
        }
      };
      child.stdout?.on("data", onData);
      child.stderr?.on("data", (d: Buffer) => {
        output += d.toString();
      });
      child.on("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.on("exit", (code, sig) => {
        clearTimeout(timer);
        reject(new Error(`the GCS emulator exited (${sig ?? code}) before it listened: ${output.trim()}`));
      });
    });
    // Keep draining its output so that it never blocks on a full pipe.
    child.stdout?.resume();
    child.stderr?.resume();
    return {
      endpoint,
      port: Number(new URL(endpoint).port),
      dir,
      stop: () => stopChild(child, dir),
    };
  } catch (err) {
    await stopChild(child, dir);
    throw err;
  }
}

async function stopChild(child: ChildProcess, dir: string): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  }
  child.stdin?.destroy();
  await rm(dir, { recursive: true, force: true });
}
