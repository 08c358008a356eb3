/**
 * A faulty network between mlv and real servers: `push`, `pull`, `fetch` and `status -c` through a
 * fault-injecting TCP proxy (src/fault-proxy.ts) to moto (S3) and OpenSSH (SFTP). Each case runs
 * the command under one fault plan with a time limit: it must complete correctly or fail cleanly
 * (non-zero exit, a message naming the remote, no stack trace); a hang is a failure. The same
 * command then runs without faults and must complete, and then every object on the remote and in
 * the cache must hash to its name, the workspace must hold the right bytes, and no temporary file
 * may be left in the repository or (SFTP) in the remote folder. The real DVC runs the same plans in
 * a repository of its own, as a comparison column.
 */
import { randomBytes } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dvcBin, dvcEnv, requireDvc } from "../../test-fixtures/dvc-peer.js";
import { type RunningS3Server, startMoto } from "../../test-fixtures/servers/s3.js";
import { type SshdServer, startSshd } from "../../test-fixtures/servers/sshd.js";
import { LEFTOVER, leftovers, md5, verifyObjects, walkFiles, workspaceDiff } from "../src/check.js";
import { type FaultProxy, PASS, type Plan, seededRandom, startFaultProxy } from "../src/fault-proxy.js";
import { FULL, sized } from "../src/mode.js";
import { emptyTally, report, type Tally } from "../src/table.js";
import { dvc, MLV_BIN, mlv, type Run, run } from "../src/tools.js";
import { runWatched, type WatchedRun } from "../src/watched.js";

const MiB = 1024 * 1024;
const SEED = Number(process.env.TORTURE_SEED ?? Math.floor(Math.random() * 2 ** 31));
/** A command under a fault must end (either way) within this; so must its rerun. */
const LIMIT_MS = 60_000;
/**
 * A command that moved less than IDLE_BYTES through the proxy in IDLE_MS (four times the remote
 * timeouts below) is waiting for nothing: it is killed as a hang without waiting for the limit.
 */
const IDLE_MS = 20_000;
const IDLE_BYTES = 4096;
/** Short timeouts in the remote config, so that stalls are noticed quickly where the remote allows it. */
const TIMEOUT_S = "5";
const DVC = requireDvc("the faulty-network comparison with DVC");

type Command = "push" | "pull" | "fetch" | "status";
type Tool = "mlv" | "dvc";
const COMMANDS: Command[] = ["push", "pull", "fetch", "status"];
/**
 * Whether the real DVC runs case `i` too (its stalls can take the whole limit): the first case in
 * the short run; in the full one every family with one of the four commands, in turn.
 */
const dvcRuns = (i: number) => (FULL ? (i + Math.floor(i / COMMANDS.length)) % COMMANDS.length === 0 : i === 0);

/** The data: a few big files (S3 multipart and ranged downloads, SFTP chunked transfers) and a folder of small ones. */
function makeData(): Record<string, Buffer> {
  const files: Record<string, Buffer> = {};
  const big = sized([2 * MiB + 3, 17 * MiB + 5], [1 * MiB + 1, 9 * MiB + 7, 17 * MiB + 5, 40 * MiB + 11]);
  big.forEach((size, i) => {
    files[`big${i}.bin`] = randomBytes(size);
  });
  for (let i = 0; i < sized(200, 400); i++)
    files[`small/${String(i % 10)}/f${i}.txt`] = Buffer.from(`${i} ${randomBytes(8 + (i % 50)).toString("hex")}\n`);
  return files;
}

/** One fault plan as a case runs it: what the proxy does, and what the report calls it. */
interface Case {
  backend: string;
  command: Command;
  label: string;
  plan: Plan;
}

/** Where the tool's objects live and how to look at them through the server, not through the proxy. */
interface Backend {
  name: "s3" | "ssh";
  proxy: FaultProxy;
  /** Environment of both tools (HOME with known_hosts for ssh). */
  env: Record<string, string>;
  /** `remote add -d storage <url>` and `remote modify` options, per tool. */
  remote(tool: Tool): { url: string; options: Record<string, string> };
  /** Keys stored for the tool (relative to its prefix), keys whose bytes do not hash to their name, and temporary or partial things left there. */
  inspect(tool: Tool): Promise<{ keys: Set<string>; corrupt: string[]; temps: string[] }>;
  /** Remove the temporary things `inspect` found, so that the next case counts only its own. */
  removeTemps(tool: Tool): Promise<void>;
  /** Remove everything the tool stored (objects, temp files, unfinished uploads). */
  clear(tool: Tool): Promise<void>;
}

/** A clean failure: a non-zero exit within the limit, a message naming the remote, no stack trace. */
function cleanFailure(r: WatchedRun, names: string[]): string | undefined {
  if (r.hung === "limit") return `still running after ${LIMIT_MS / 1000} s (a hang)`;
  if (r.hung === "idle")
    return `a hang: nothing moved through the proxy for ${IDLE_MS / 1000} s, killed after ${r.seconds.toFixed(0)} s`;
  if (r.signal !== null) return `killed by ${r.signal}`;
  if (r.code === 0) return "exit 0";
  if (
    /^\s+at .+[:(]\d+:\d+\)?$/m.test(r.stderr) ||
    /\b(TypeError|ReferenceError|RangeError|Unhandled)\b/.test(r.stderr)
  )
    return `a stack trace or internal error: ${firstLines(r.stderr)}`;
  if (!names.some((n) => r.stderr.includes(n))) return `the message does not name the remote: ${firstLines(r.stderr)}`;
  return undefined;
}

function firstLines(text: string, n = 3): string {
  return text.trim().split("\n").slice(0, n).join(" / ").slice(0, 400);
}

/** Whether a completed `status -c` says the cache and the remote are in sync (mlv's and DVC's wording). */
function inSync(r: Run): boolean {
  return /are in sync|Data and pipelines are up to date|Cache and remote .* are in sync/i.test(r.stdout + r.stderr);
}

const ARGS: Record<Command, string[]> = {
  push: ["push"],
  pull: ["pull"],
  fetch: ["fetch"],
  status: ["status", "-c"],
};

// ---- the fault plans ----

/** Bytes a command moves in the direction that matters to it, to aim mid-transfer faults. */
function traffic(command: Command, total: number): { dir: "up" | "down"; bytes: number } {
  if (command === "push") return { dir: "up", bytes: total };
  if (command === "status") return { dir: "down", bytes: 32 * 1024 };
  return { dir: "down", bytes: total };
}

type Family = (rnd: () => number, command: Command, total: number, backend: string) => { label: string; plan: Plan };

const int = (rnd: () => number, lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
const kib = (n: number) => (n >= MiB ? `${(n / MiB).toFixed(1)}MiB` : `${Math.round(n / 1024)}KiB`);

/** The kinds of trouble a network makes, each with its parameters drawn from the seeded generator. */
const FAMILIES: Record<string, Family> = {
  "reset mid-transfer": (rnd, command, total) => {
    const { dir, bytes } = traffic(command, total);
    const after = Math.floor(bytes * (0.1 + 0.8 * rnd()));
    return {
      label: `RST at ${dir} byte ${kib(after)}`,
      plan: { fault: { kind: "drop", dir, after, rst: true }, on: { proxyWide: true } },
    };
  },
  "close mid-transfer": (rnd, command, total) => {
    const { dir, bytes } = traffic(command, total);
    const after = Math.floor(bytes * (0.1 + 0.8 * rnd()));
    return {
      label: `close at ${dir} byte ${kib(after)}`,
      plan: { fault: { kind: "drop", dir, after }, on: { proxyWide: true } },
    };
  },
  "reset k-th connection early": (rnd, _command, _total, backend) => {
    const nth = backend === "ssh" ? 1 : int(rnd, 1, 4);
    const after = int(rnd, 0, 8 * 1024);
    const dir = rnd() < 0.5 ? "up" : "down";
    return {
      label: `RST conn #${nth} at ${dir} byte ${after}`,
      plan: { fault: { kind: "drop", dir, after, rst: true }, on: { nth } },
    };
  },
  "drop a fraction": (rnd, command, total, backend) => {
    const fraction = backend === "ssh" ? 0.5 : 0.15 + 0.25 * rnd();
    const { dir } = traffic(command, total);
    const after = int(rnd, 0, backend === "ssh" ? 4 * MiB : 256 * 1024);
    return {
      label: `drop ${Math.round(fraction * 100)}% of conns at ${dir} byte ${kib(after)}`,
      plan: { fault: { kind: "drop", dir, after, rst: rnd() < 0.5 }, on: { fraction } },
    };
  },
  "black hole at connect": (rnd, _command, _total, backend) => {
    const nth = backend === "ssh" ? 1 : int(rnd, 1, 3);
    return {
      label: `conn #${nth} never answers`,
      plan: { fault: { kind: "stall", dir: "up", after: 0 }, on: { nth } },
    };
  },
  "stall mid-transfer forever": (rnd, command, total) => {
    const { dir, bytes } = traffic(command, total);
    const after = Math.floor(bytes * (0.1 + 0.8 * rnd()));
    return {
      label: `stall forever at ${dir} byte ${kib(after)}`,
      plan: { fault: { kind: "stall", dir, after }, on: { proxyWide: true } },
    };
  },
  "stall a while": (rnd, command, total) => {
    const { dir, bytes } = traffic(command, total);
    const after = Math.floor(bytes * (0.1 + 0.8 * rnd()));
    const ms = int(rnd, 2000, sized(4000, 8000));
    return {
      label: `stall ${(ms / 1000).toFixed(1)} s at ${dir} byte ${kib(after)}`,
      plan: { fault: { kind: "stall", dir, after, ms }, on: { proxyWide: true } },
    };
  },
  "truncated response": (rnd, command, total) => {
    const { bytes } = traffic(command === "push" ? "status" : command, total);
    const after = Math.floor(bytes * (0.05 + 0.9 * rnd()));
    return {
      label: `response cut (FIN) at byte ${kib(after)}`,
      plan: { fault: { kind: "truncate", after }, on: { proxyWide: true } },
    };
  },
  "slow trickle": (rnd, command, total) => {
    const { dir, bytes } = traffic(command, total);
    // Slow enough to notice, fast enough that the whole transfer fits in about 15 s.
    const tickMs = 10;
    const perTick = Math.max(1024, Math.ceil((bytes / 15_000) * tickMs * (1 + rnd())));
    return {
      label: `trickle ${dir} ${kib(perTick * 100)}/s`,
      plan: { fault: { kind: "trickle", dir, after: int(rnd, 0, 64 * 1024), bytes: perTick, tickMs } },
    };
  },
  "refuse connections": (rnd, _command, _total, backend) => {
    const ms = int(rnd, 1000, sized(5000, 12_000));
    const afterConnections = backend === "ssh" ? 0 : int(rnd, 0, 2);
    return {
      label: `refuse new conns for ${(ms / 1000).toFixed(1)} s after ${afterConnections}`,
      plan: { fault: { kind: "pass" }, refuse: { afterConnections, ms } },
    };
  },
};

/** The short run: six cases per backend, every command and the most telling faults. */
const SHORT: [Command, string][] = [
  ["push", "reset mid-transfer"],
  ["pull", "close mid-transfer"],
  ["fetch", "stall a while"],
  ["status", "reset k-th connection early"],
  ["push", "black hole at connect"],
  ["pull", "refuse connections"],
];

function casesFor(backend: string, total: number, rnd: () => number): Case[] {
  const pairs: [Command, string][] = [];
  if (FULL) {
    // Every family with every command: 40 cases.
    for (const family of Object.keys(FAMILIES)) for (const command of COMMANDS) pairs.push([command, family]);
  } else pairs.push(...SHORT);
  return pairs.map(([command, family]) => {
    const { label, plan } = FAMILIES[family]!(rnd, command, total, backend);
    return { backend, command, label: `${family}: ${label}`, plan };
  });
}

// ---- the servers and the repositories ----

function s3Client(server: RunningS3Server): S3Client {
  return new S3Client({
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials: server.credentials,
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
}

const OBJECT_KEY = /(?:^|\/)files\/md5\/([0-9a-f]{2})\/([0-9a-f]{30})(\.dir)?$/;

async function s3Backend(server: RunningS3Server, proxy: FaultProxy, home: string): Promise<Backend> {
  const client = s3Client(server);
  const bucket = `faults-${randomBytes(4).toString("hex")}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  const list = async (prefix: string) => {
    const out: { key: string; etag: string }[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) out.push({ key: o.Key ?? "", etag: (o.ETag ?? "").replaceAll('"', "") });
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  };
  const checked = new Map<string, string>();
  const uploads = async (prefix: string) =>
    (await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }))).Uploads ?? [];
  return {
    name: "s3",
    proxy,
    env: { HOME: home },
    remote: (tool) => ({
      url: `s3://${bucket}/${tool}`,
      options: {
        endpointurl: `http://127.0.0.1:${proxy.port}`,
        access_key_id: server.credentials.accessKeyId,
        secret_access_key: server.credentials.secretAccessKey,
        connect_timeout: TIMEOUT_S,
        read_timeout: TIMEOUT_S,
      },
    }),
    async inspect(tool) {
      const keys = new Set<string>();
      const corrupt: string[] = [];
      for (const { key, etag } of await list(`${tool}/`)) {
        const rel = key.slice(tool.length + 1);
        const m = OBJECT_KEY.exec(rel);
        if (!m) continue;
        keys.add(rel);
        // A single-part ETag is the md5 the server computed over what it stored; a multipart one
        // (md5 of the parts' md5s) is read back once, then trusted while it stays the same.
        let sum = etag;
        if (etag.includes("-")) {
          sum = checked.get(`${key} ${etag}`) ?? "";
          if (!sum) {
            const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
            sum = md5(Buffer.from(await got.Body!.transformToByteArray()));
            checked.set(`${key} ${etag}`, sum);
          }
        }
        if (sum !== `${m[1]}${m[2]}`) corrupt.push(rel);
      }
      const temps = (await uploads(`${tool}/`)).map((u) => `unfinished multipart upload of ${u.Key}`);
      return { keys, corrupt, temps };
    },
    async removeTemps(tool) {
      for (const u of await uploads(`${tool}/`))
        await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.Key, UploadId: u.UploadId }));
    },
    async clear(tool) {
      for (const u of await uploads(`${tool}/`))
        await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.Key, UploadId: u.UploadId }));
      const keys = (await list(`${tool}/`)).map((o) => ({ Key: o.key }));
      for (let i = 0; i < keys.length; i += 1000)
        await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys.slice(i, i + 1000) } }));
    },
  };
}

function sshBackend(sshd: SshdServer, proxy: FaultProxy, home: string): Backend {
  // Both tools reach the server through the proxy: known_hosts names the proxy's port.
  const key = sshd.hostPublicKey.split(" ").slice(0, 2).join(" ");
  sshd.makeHome(home, { knownHosts: `[127.0.0.1]:${proxy.port} ${key}\n` });
  const isTemp = (rel: string) => LEFTOVER.test(rel) || /(^|\/)\.[^/]+\.tmp$/.test(rel);
  return {
    name: "ssh",
    proxy,
    env: { HOME: home },
    remote: (tool): { url: string; options: Record<string, string> } =>
      tool === "mlv"
        ? {
            url: `ssh://${sshd.user}@127.0.0.1:${proxy.port}${sshd.remotePath("mlv")}`,
            options: { keyfile: sshd.clientKey, timeout: TIMEOUT_S },
          }
        : {
            url: `ssh://${sshd.user}@127.0.0.1${sshd.remotePath("dvc")}`,
            options: { port: String(proxy.port), keyfile: sshd.clientKey, timeout: TIMEOUT_S },
          },
    async inspect(tool) {
      const root = sshd.localPath(tool);
      const files = walkFiles(root);
      const keys = new Set(files.filter((f) => OBJECT_KEY.test(f) && !isTemp(f)));
      return { keys, corrupt: verifyObjects(root).corrupt, temps: files.filter(isTemp) };
    },
    async removeTemps(tool) {
      for (const f of walkFiles(sshd.localPath(tool))) if (isTemp(f)) rmSync(sshd.localPath(`${tool}/${f}`));
    },
    async clear(tool) {
      rmSync(sshd.localPath(tool), { recursive: true, force: true });
    },
  };
}

/** A repository of `tool` with the data added and the backend's remote configured; `bare` keeps only what git would. */
interface Template {
  full: string;
  bare: string;
  /** Object keys of its cache (`files/md5/xx/…`), all of which a push must store. */
  objects: string[];
}

async function must(r: Run | undefined, what: string): Promise<Run> {
  if (!r) throw new Error(`${what}: the tool is not installed`);
  if (r.code !== 0) throw new Error(`${what} exited ${r.code ?? r.signal}\n${r.stdout}\n${r.stderr}`);
  return r;
}

async function makeTemplate(
  tool: Tool,
  dir: string,
  data: Record<string, Buffer>,
  backend: Backend,
  toolEnv: Record<string, string>,
): Promise<Template> {
  const full = join(dir, "full");
  mkdirSync(full, { recursive: true });
  const exec = async (args: string[]) =>
    must(
      await (tool === "mlv"
        ? mlv(full, args, { env: toolEnv, timeoutMs: LIMIT_MS })
        : dvc(full, args, { timeoutMs: LIMIT_MS })),
      `${tool} ${args.join(" ")}`,
    );
  await must(await run("git", ["init", "-q"], { cwd: full }), "git init");
  await exec(["init", "-q"]);
  for (const [rel, bytes] of Object.entries(data)) {
    mkdirSync(join(full, rel, ".."), { recursive: true });
    writeFileSync(join(full, rel), bytes);
  }
  const targets = [...new Set(Object.keys(data).map((rel) => rel.split("/")[0] as string))];
  await exec(["add", "-q", ...targets]);
  const { url, options } = backend.remote(tool);
  await exec(["remote", "add", "-d", "storage", url]);
  for (const [k, v] of Object.entries(options)) await exec(["remote", "modify", "--local", "storage", k, v]);
  // What a fresh clone has: the .dvc files and the config, no cache and no data.
  const bare = join(dir, "bare");
  cpSync(full, bare, {
    recursive: true,
    filter: (src) => {
      const rel = src.slice(full.length + 1);
      return !(rel === ".dvc/cache" || rel === ".dvc/tmp" || targets.includes(rel));
    },
  });
  const objects = walkFiles(join(full, ".dvc", "cache")).filter((f) => OBJECT_KEY.test(f));
  return { full, bare, objects };
}

// ---- one case ----

/** Run the tool in `cwd` under the watchdog, progress being the bytes through the backend's proxy. */
function watched(
  tool: Tool,
  cwd: string,
  args: string[],
  toolEnv: Record<string, string>,
  proxy: FaultProxy,
): Promise<WatchedRun> {
  const [file, argv, env] =
    tool === "mlv"
      ? [process.execPath, [MLV_BIN, ...args], { ...process.env, NO_COLOR: "1", CI: "true", ...toolEnv }]
      : [dvcBin() ?? "dvc", args, dvcEnv(cwd)];
  return runWatched(file, argv, {
    cwd,
    env: env as Record<string, string>,
    limitMs: LIMIT_MS,
    idleMs: IDLE_MS,
    minProgress: IDLE_BYTES,
    progress: () => {
      const { bytes } = proxy.stats();
      return bytes.up + bytes.down;
    },
  });
}

interface Outcome {
  passed: boolean;
  /** Whether the fault happened at all (a late offset may come after the command's last byte). */
  fired: boolean;
  corrupt: number;
  lost: number;
  leftBehind: number;
  note?: string;
}

async function runCase(
  c: Case,
  tool: Tool,
  backend: Backend,
  template: Template,
  data: Record<string, Buffer>,
  work: string,
  toolEnv: Record<string, string>,
  remoteFull: Record<Tool, boolean>,
): Promise<Outcome> {
  const { proxy } = backend;
  const exec = (cwd: string, args: string[]) => watched(tool, cwd, args, toolEnv, proxy);
  await proxy.setPlan(PASS);

  // The remote as the command expects it: empty before a push, holding everything otherwise.
  if (c.command === "push") {
    await backend.clear(tool);
    remoteFull[tool] = false;
  } else if (!remoteFull[tool]) {
    await backend.clear(tool);
    await must(await exec(template.full, ["push", "-q"]), `${tool} push (filling the remote)`);
    remoteFull[tool] = true;
  }
  let repo = template.full;
  if (c.command === "pull" || c.command === "fetch") {
    repo = join(work, `${tool}-${c.backend}-${Math.random().toString(36).slice(2, 8)}`);
    cpSync(template.bare, repo, { recursive: true });
  }

  await proxy.setPlan(c.plan);
  const first = await exec(repo, ARGS[c.command]);
  const seconds = first.seconds.toFixed(1);
  const fired = proxy.stats().faulted + proxy.stats().refusedWindows > 0;
  await proxy.setPlan(PASS);
  proxy.dropConnections();

  const problems: string[] = [];
  const remoteNames = ["storage", backend.remote(tool).url.replace(/\/[^/]*$/, ""), "127.0.0.1"];
  const completed = first.code === 0 && first.signal === null && (c.command !== "status" || inSync(first));
  if (!completed) {
    const why =
      first.code === 0
        ? `exit 0 but not reported in sync; it printed: ${firstLines(first.stdout + first.stderr) || "nothing"}`
        : cleanFailure(first, remoteNames);
    if (why) problems.push(`under the fault (${seconds} s): ${why}`);
  }
  const again = await exec(repo, ARGS[c.command]);
  if (again.code !== 0)
    problems.push(
      `the rerun without faults ${again.hung ? cleanFailure(again, []) : `exited ${again.code ?? again.signal}`}: ${firstLines(again.stderr)}`,
    );
  else if (c.command === "status" && !inSync(again))
    problems.push(`the rerun says not in sync: ${firstLines(again.stdout)}`);

  // What is stored now, on the remote and in the cache, and what the workspace holds.
  const remote = await backend.inspect(tool);
  const cache = verifyObjects(join(repo, ".dvc", "cache"));
  const cacheKeys = new Set(walkFiles(join(repo, ".dvc", "cache")).filter((f) => OBJECT_KEY.test(f)));
  let corrupt = remote.corrupt.length + cache.corrupt.length;
  let lost = 0;
  if (c.command !== "fetch" && c.command !== "pull") lost += template.objects.filter((k) => !remote.keys.has(k)).length;
  if (c.command === "pull" || c.command === "fetch") lost += template.objects.filter((k) => !cacheKeys.has(k)).length;
  if (c.command === "pull") {
    const ws = workspaceDiff(repo, data);
    corrupt += ws.wrong.length;
    lost += ws.missing.length;
  }
  const left = [...leftovers(repo), ...remote.temps.map((t) => `remote: ${t}`)];
  await backend.removeTemps(tool);
  if (corrupt) {
    const where = [
      ...remote.corrupt.map((k) => `remote ${k}`),
      ...cache.corrupt.map((k) => `cache ${k}`),
      ...(c.command === "pull" ? workspaceDiff(repo, data).wrong.map((f) => `workspace ${f}`) : []),
    ];
    problems.push(`corrupt: ${where.slice(0, 3).join(", ")}`);
  }
  if (lost) problems.push(`${lost} objects or files missing after the rerun`);
  if (left.length) problems.push(`left behind: ${left.slice(0, 3).join(", ")}${left.length > 3 ? ", ..." : ""}`);
  if (c.command === "push") remoteFull[tool] = again.code === 0 && lost === 0;
  if (repo !== template.full) rmSync(repo, { recursive: true, force: true });

  const passed = problems.length === 0;
  const how = completed ? "completed" : first.hung ? "hung" : `failed (exit ${first.code ?? first.signal})`;
  const note = passed
    ? undefined
    : `${tool} ${c.backend} ${ARGS[c.command].join(" ")} [${c.label}]${fired ? "" : " (fault never fired)"}: ${how}; ${problems.join("; ")}`;
  return { passed, fired, corrupt, lost, leftBehind: left.length, ...(note ? { note } : {}) };
}

// ---- the suite ----

describe("faulty network between the tools and S3 (moto) / SFTP (OpenSSH)", () => {
  const rows = new Map<string, Tally>();
  const notes: string[] = [];
  const stops: (() => Promise<void>)[] = [];
  let root = "";
  let data: Record<string, Buffer> = {};
  let total = 0;
  const timings: string[] = [];

  const tally = (backend: string, command: Command, tool: Tool) => {
    const key = `${backend} ${command} ${tool}`;
    let row = rows.get(key);
    if (!row) {
      row = emptyTally(`${backend} ${ARGS[command].join(" ")}`, tool);
      rows.set(key, row);
    }
    return row;
  };

  beforeAll(() => {
    process.stdout.write(`faulty network: seed ${SEED} (TORTURE_SEED=${SEED} replays it)\n`);
    root = mkdtempSync(join(tmpdir(), "mlv-faults-"));
    data = makeData();
    total = Object.values(data).reduce((n, b) => n + b.length, 0);
  });

  afterAll(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    const order = (k: string) => k;
    const sorted = [...rows.entries()].sort(([a], [b]) => order(a).localeCompare(order(b))).map(([, r]) => r);
    report("faulty network", sorted, [
      `seed ${SEED}; ${FULL ? "full" : "short"} run; limit ${LIMIT_MS / 1000} s per command (a hang also: under ${IDLE_BYTES} bytes through the proxy in ${IDLE_MS / 1000} s); remote timeouts ${TIMEOUT_S} s where the config has them`,
      ...timings,
      ...notes,
    ]);
    if (root) rmSync(root, { recursive: true, force: true });
  });

  async function suite(name: "s3" | "ssh", start: () => Promise<{ backend: Backend }>) {
    const started = Date.now();
    const { backend } = await start();
    const dir = join(root, name);
    const toolEnv = (tool: Tool): Record<string, string> => ({
      ...backend.env,
      DVC_GLOBAL_CONFIG_DIR: join(dir, `${tool}-global`),
      DVC_SYSTEM_CONFIG_DIR: join(dir, `${tool}-system`),
      XDG_CONFIG_HOME: join(backend.env.HOME ?? dir, ".config"),
    });
    const tools: Tool[] = DVC ? ["mlv", "dvc"] : ["mlv"];
    const templates = {} as Record<Tool, Template>;
    for (const tool of tools) templates[tool] = await makeTemplate(tool, join(dir, tool), data, backend, toolEnv(tool));
    const rnd = seededRandom(SEED ^ (name === "s3" ? 0x53 : 0x55));
    const cases = casesFor(name, total, rnd);
    const remoteFull: Record<Tool, boolean> = { mlv: false, dvc: false };
    let failures = 0;
    let fired = 0;
    for (const [i, c] of cases.entries()) {
      for (const tool of tools) {
        if (tool === "dvc" && !dvcRuns(i)) continue;
        const t0 = Date.now();
        const outcome = await runCase(c, tool, backend, templates[tool], data, dir, toolEnv(tool), remoteFull);
        process.stdout.write(
          `  ${tool} ${name} ${c.command} [${c.label}]: ${outcome.passed ? "ok" : "FAILED"} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`,
        );
        const row = tally(name, c.command, tool);
        row.tried++;
        if (outcome.passed) row.passed++;
        row.corrupt += outcome.corrupt;
        row.lost += outcome.lost;
        row.leftBehind += outcome.leftBehind;
        if (outcome.note) {
          notes.push(outcome.note);
          process.stdout.write(`    ${outcome.note}\n`);
        }
        if (!outcome.passed && tool === "mlv") failures++;
        if (outcome.fired && tool === "mlv") fired++;
      }
    }
    timings.push(
      `${name}: ${cases.length} plans in ${((Date.now() - started) / 1000).toFixed(0)} s; the fault happened in ${fired} of mlv's runs`,
    );
    return failures;
  }

  // The two backends run side by side: most of a case is waiting (timeouts, stalls, servers).
  it.concurrent("S3 (moto) through the proxy: every case completes or fails cleanly, and the rerun leaves everything right", async () => {
    const failures = await suite("s3", async () => {
      const server = await startMoto();
      stops.push(() => server.stop());
      const proxy = await startFaultProxy({ port: Number(new URL(server.endpoint).port) }, { seed: SEED });
      stops.push(() => proxy.close());
      const home = join(root, "s3-home");
      mkdirSync(home, { recursive: true });
      return { backend: await s3Backend(server, proxy, home) };
    });
    expect(failures, "mlv cases that did not pass (see the notes of the table)").toBe(0);
  });

  it.concurrent("SFTP (OpenSSH) through the proxy: every case completes or fails cleanly, and the rerun leaves everything right", async () => {
    const failures = await suite("ssh", async () => {
      const sshd = await startSshd();
      stops.push(() => sshd.stop());
      const proxy = await startFaultProxy({ port: sshd.port }, { seed: SEED });
      stops.push(() => proxy.close());
      const home = join(root, "ssh-home");
      mkdirSync(home, { recursive: true });
      return { backend: sshBackend(sshd, proxy, home) };
    });
    expect(failures, "mlv cases that did not pass (see the notes of the table)").toBe(0);
  });
});
