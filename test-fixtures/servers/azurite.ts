/**
 * Starts Azurite's Blob service (npm `azurite`, pinned to 3.35.0: 3.36+ needs Node 22) on
 * 127.0.0.1, on a free port, storing into a fresh temp folder, and stops exactly that process.
 *
 * ```ts
 * const azurite = await startAzurite();
 * // azurite.connectionString: the well-known development account, at azurite.blobEndpoint
 * await azurite.stop();
 * ```
 *
 * Azurite checks Shared Key signatures, so a wrong account key is refused (403) as by Azure.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { request } from "node:http";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { freePort } from "./process.mjs";

/** Azurite's well-known development account and key (public, documented by Microsoft). */
export const AZURITE_ACCOUNT = "devstoreaccount1";
export const AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

export interface AzuriteServer {
  port: number;
  /** `http://127.0.0.1:PORT/devstoreaccount1` */
  blobEndpoint: string;
  account: string;
  accountKey: string;
  /** The development account's connection string for this server. */
  connectionString: string;
  /** A connection string for this server with another account key (to test refused credentials). */
  connectionStringWithKey(key: string): string;
  /** The folder Azurite stores into (removed by stop()). */
  location: string;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Milliseconds to wait for the server to answer. Default 30 s. */
  timeoutMs?: number;
}

/** Path of the `azurite-blob` entry point of the installed `azurite` package. */
export function azuriteBlobBin(): string {
  const require = createRequire(import.meta.url);
  const pkgPath = require.resolve("azurite/package.json");
  const pkg = require(pkgPath) as { bin: Record<string, string> };
  const bin = pkg.bin["azurite-blob"];
  if (!bin) throw new Error(`${pkgPath} has no azurite-blob binary`);
  return join(dirname(pkgPath), bin);
}

/** Any HTTP answer means the server is up. */
function answers(port: number): Promise<boolean> {
  return new Promise((ok) => {
    const req = request(
      { host: "127.0.0.1", port, path: `/${AZURITE_ACCOUNT}?comp=list`, method: "GET", timeout: 1000 },
      (res) => {
        res.resume();
        ok(true);
      },
    );
    req.on("error", () => ok(false));
    req.on("timeout", () => {
      req.destroy();
      ok(false);
    });
    req.end();
  });
}

function connectionString(port: number, key: string): string {
  return `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${key};BlobEndpoint=http://127.0.0.1:${port}/${AZURITE_ACCOUNT};`;
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((ok) => {
    if (child.exitCode !== null || child.signalCode !== null) return ok();
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    child.once("exit", () => {
      clearTimeout(timer);
      ok();
    });
    child.kill("SIGTERM");
  });
}

export async function startAzurite(options: StartOptions = {}): Promise<AzuriteServer> {
  const bin = azuriteBlobBin();
  const timeoutMs = options.timeoutMs ?? 30_000;
  let lastError = "";
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const location = await mkdtemp(join(tmpdir(), "mlv-azurite-"));
    const args = [
      bin,
      "--blobHost",
      "127.0.0.1",
      "--blobPort",
      String(port),
      "--location",
      location,
      "--skipApiVersionCheck",
      "--disableTelemetry",
      "--silent",
    ];
    const child = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => {
      if (stderr.length < 4000) stderr += d.toString();
    });
    let exited = false;
    child.once("exit", () => {
      exited = true;
    });
    const killOnExit = () => child.kill("SIGKILL");
    process.once("exit", killOnExit);
    const deadline = Date.now() + timeoutMs;
    while (!exited && Date.now() < deadline) {
      if (await answers(port)) {
        return {
          port,
          blobEndpoint: `http://127.0.0.1:${port}/${AZURITE_ACCOUNT}`,
          account: AZURITE_ACCOUNT,
          accountKey: AZURITE_KEY,
          connectionString: connectionString(port, AZURITE_KEY),
          connectionStringWithKey: (key: string) => connectionString(port, key),
          location,
          stop: async () => {
            process.off("exit", killOnExit);
            await stopChild(child);
            await rm(location, { recursive: true, force: true });
          },
        };
      }
      await new Promise((ok) => setTimeout(ok, 100));
    }
    lastError = exited
      ? `azurite-blob exited with code ${child.exitCode}: ${stderr.trim() || "(no output)"}`
      : `azurite-blob did not answer on 127.0.0.1:${port} within ${timeoutMs} ms`;
    process.off("exit", killOnExit);
    await stopChild(child);
    await rm(location, { recursive: true, force: true });
    if (!/EADDRINUSE/.test(stderr)) break; // only a lost race for the port is worth another try
  }
  throw new Error(`cannot start Azurite (${bin}): ${lastError}`);
}
