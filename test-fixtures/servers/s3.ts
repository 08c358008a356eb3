/**
 * Real S3 servers for tests, started on 127.0.0.1 on free ports in temporary folders (see
 * /work/shared/TESTING.md):
 *
 * - `startMoto()`: moto's standalone server (`python3 -m moto.server`), a Python package. It accepts
 *   the SDK's default checksums and aws-chunked bodies. With `checkAuth: true` it enforces request
 *   signatures (moto's `INITIAL_NO_AUTH_ACTION_COUNT`): an IAM user and access key are created
 *   first, and `credentials` holds them.
 * - `startS3rver()`: the npm `s3rver` (a devDependency of @mlv/remote-s3), with the legacy OpenSSL
 *   provider that its paginated listings need. It accepts any credentials.
 *
 * Nothing here imports an AWS SDK: creating buckets is left to the caller. Each launcher resolves
 * to a running server or throws `ServerUnavailableError` saying why it cannot run on this machine.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { freePort } from "./process.mjs";

export { freePort };

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface RunningS3Server {
  kind: "moto" | "s3rver";
  /** `http://127.0.0.1:PORT` */
  endpoint: string;
  region: string;
  /** Credentials the server accepts. */
  credentials: S3Credentials;
  /** Whether a wrong key or secret is refused (s3rver and plain moto accept anything). */
  checksSignatures: boolean;
  /** The process id, for logs. */
  pid: number;
  /** Stop the server process (only it) and remove its folder. */
  stop(): Promise<void>;
}

/** The server cannot run here (not installed, fails to start): the reason says which. */
export class ServerUnavailableError extends Error {
  override name = "ServerUnavailableError";
}

function httpStatus(url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(url, { method: init.method ?? "GET", headers: init.headers, timeout: 2000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => {
        body += d;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end(init.body);
  });
}

interface Spawned {
  child: ChildProcess;
  output: () => string;
  exited: Promise<void>;
}

function start(cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Spawned {
  const child = spawn(cmd, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const keep = (d: Buffer) => {
    out = (out + d.toString("utf8")).slice(-8000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<void>((resolve) => {
    child.once("exit", () => resolve());
    child.once("error", (err) => {
      out += `\n${err.message}`;
      resolve();
    });
  });
  return { child, output: () => out, exited };
}

async function waitReady(sp: Spawned, url: string, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let gone = false;
  void sp.exited.then(() => {
    gone = true;
  });
  while (Date.now() < deadline) {
    if (gone) throw new ServerUnavailableError(`${what} exited during start-up:\n${sp.output()}`);
    try {
      const { status } = await httpStatus(url);
      if (status > 0) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await stopProcess(sp);
  throw new ServerUnavailableError(`${what} did not answer on ${url} within ${timeoutMs} ms:\n${sp.output()}`);
}

async function stopProcess(sp: Spawned): Promise<void> {
  const { child } = sp;
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
  await sp.exited;
  clearTimeout(timer);
}

function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Whether `python3 -c 'import moto.server'` works here. */
export function motoAvailable(): { ok: true } | { ok: false; reason: string } {
  const r = spawnSync("python3", ["-c", "import moto, moto.server; print(moto.__version__)"], { encoding: "utf8" });
  if (r.error) return { ok: false, reason: `python3 cannot be run: ${r.error.message}` };
  if (r.status !== 0) return { ok: false, reason: `the Python package moto[server] is not installed:\n${r.stderr}` };
  return { ok: true };
}

export interface MotoOptions {
  /** Enforce signatures: create an IAM user and key first, then refuse unknown keys and bad signatures. */
  checkAuth?: boolean;
}

/** Start `python3 -m moto.server -H 127.0.0.1 -p PORT` (moto 5.x). */
export async function startMoto(options: MotoOptions = {}): Promise<RunningS3Server> {
  const avail = motoAvailable();
  if (!avail.ok) throw new ServerUnavailableError(avail.reason);
  const port = await freePort();
  const dir = tempDir("mlv-moto-");
  const env: NodeJS.ProcessEnv = { ...process.env, PYTHONUNBUFFERED: "1", MOTO_CALL_RESET_API: "false" };
  for (const k of Object.keys(env)) if (k.startsWith("AWS_")) delete env[k];
  // The first three actions (CreateUser, PutUserPolicy, CreateAccessKey below) are let through unauthenticated.
  if (options.checkAuth) env.INITIAL_NO_AUTH_ACTION_COUNT = "3";
  const sp = start("python3", ["-m", "moto.server", "-H", "127.0.0.1", "-p", String(port)], env, dir);
  const endpoint = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await stopProcess(sp);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitReady(sp, `${endpoint}/moto-api/`, "moto", 30_000);
    let credentials: S3Credentials = { accessKeyId: "testing", secretAccessKey: "testing" };
    if (options.checkAuth) credentials = await motoIamKey(endpoint);
    return {
      kind: "moto",
      endpoint,
      region: "us-east-1",
      credentials,
      checksSignatures: options.checkAuth === true,
      pid: sp.child.pid ?? -1,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Create user `mlv-test`, allowed everything, and an access key through moto's IAM API (unsigned: moto routes by the credential scope). */
async function motoIamKey(endpoint: string): Promise<S3Credentials> {
  const headers = {
    "content-type": "application/x-www-form-urlencoded",
    authorization:
      "AWS4-HMAC-SHA256 Credential=setup/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0",
  };
  const call = async (body: string) => {
    const r = await httpStatus(`${endpoint}/`, { method: "POST", headers, body: `${body}&Version=2010-05-08` });
    if (r.status !== 200) throw new ServerUnavailableError(`moto IAM ${body} failed (${r.status}): ${r.body}`);
    return r.body;
  };
  await call("Action=CreateUser&UserName=mlv-test");
  const policy = JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }],
  });
  await call(`Action=PutUserPolicy&UserName=mlv-test&PolicyName=all&PolicyDocument=${encodeURIComponent(policy)}`);
  const xml = await call("Action=CreateAccessKey&UserName=mlv-test");
  const accessKeyId = /<AccessKeyId>([^<]+)</.exec(xml)?.[1];
  const secretAccessKey = /<SecretAccessKey>([^<]+)</.exec(xml)?.[1];
  if (!accessKeyId || !secretAccessKey) throw new ServerUnavailableError(`moto IAM gave no access key: ${xml}`);
  return { accessKeyId, secretAccessKey };
}

/** The s3rver CLI of the installed package, or undefined when it is not installed. */
function s3rverBin(): string | undefined {
  const require = createRequire(import.meta.url);
  for (const from of [process.cwd(), join(dirname(new URL(import.meta.url).pathname), "../../packages/remote-s3")]) {
    try {
      const pkg = require.resolve("s3rver/package.json", { paths: [from] });
      return join(dirname(pkg), "bin", "s3rver.js");
    } catch {
      // try the next place
    }
  }
  return undefined;
}

/** Start `s3rver -d DIR -a 127.0.0.1 -p PORT --silent` (npm s3rver 3.7.x) with Node's legacy OpenSSL provider. */
export async function startS3rver(): Promise<RunningS3Server> {
  const bin = s3rverBin();
  if (bin === undefined) throw new ServerUnavailableError("the npm package s3rver is not installed (npm ci)");
  const port = await freePort();
  const dir = tempDir("mlv-s3rver-");
  const env = { ...process.env, NODE_OPTIONS: "--openssl-legacy-provider" };
  const sp = start(
    process.execPath,
    [bin, "-d", join(dir, "data"), "-a", "127.0.0.1", "-p", String(port), "--silent"],
    env,
    dir,
  );
  const endpoint = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await stopProcess(sp);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitReady(sp, `${endpoint}/`, "s3rver", 30_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    kind: "s3rver",
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
    checksSignatures: false,
    pid: sp.child.pid ?? -1,
    stop,
  };
}
