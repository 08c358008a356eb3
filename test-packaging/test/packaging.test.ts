/**
 * The packages as their users get them: every publishable package is packed with `npm pack`, and
 * the tarballs, not the workspace, are what the checks use. A strict TypeScript project installs
 * them from the tarballs and compiles against their public types (`skipLibCheck: false`, so every
 * published .d.ts is checked); the packed CLI is installed globally into a prefix of its own and
 * run in a project whose node_modules holds the example third-party adapter.
 */
import { type SpawnSyncReturns, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, posix } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** Every package a user installs, by workspace folder. */
const PACKAGES = [
  "packages/core",
  "packages/testkit",
  "packages/remote-local",
  "packages/remote-s3",
  "packages/remote-gcs",
  "packages/remote-azure",
  "packages/remote-sftp",
  "packages/remote-http",
  "examples/mlv-remote-memdir",
  "apps/cli",
];

interface Packed {
  name: string;
  folder: string;
  tarball: string;
  /** Paths inside the package, as `npm pack` lists them. */
  files: string[];
  /** Where the tarball was unpacked. */
  unpacked: string;
}

let work: string;
const packed: Packed[] = [];
const byName = (name: string) => packed.find((p) => p.name === name)!;

/** The environment of child processes, without what the `npm test` around this test set for npm. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  return { ...env, npm_config_update_notifier: "false", npm_config_fund: "false", npm_config_audit: "false", ...extra };
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = cleanEnv()): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd, env, encoding: "utf8", maxBuffer: 64 * 2 ** 20 });
}

function must(cmd: string, args: string[], cwd: string, env?: NodeJS.ProcessEnv): string {
  const r = run(cmd, args, cwd, env);
  if (r.status !== 0)
    throw new Error(`'${cmd} ${args.join(" ")}' in ${cwd} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** The version of a package installed in the workspace, so that the consumer's npm finds it in its cache. */
function workspaceVersion(name: string): string {
  return (JSON.parse(readFileSync(join(ROOT, "node_modules", name, "package.json"), "utf8")) as { version: string })
    .version;
}

const NPM_INSTALL = ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"];

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "mlv-packaging-"));
  const tarballs = join(work, "tarballs");
  mkdirSync(tarballs);
  const workspaces = PACKAGES.flatMap((folder) => ["-w", folder]);
  const out = must("npm", ["pack", "--json", "--pack-destination", tarballs, ...workspaces], ROOT);
  const listed = JSON.parse(out.slice(out.indexOf("["))) as {
    name: string;
    filename: string;
    files: { path: string }[];
  }[];
  for (const [i, entry] of listed.entries()) {
    const unpacked = join(work, "unpacked", entry.name);
    mkdirSync(unpacked, { recursive: true });
    must("tar", ["-xzf", join(tarballs, entry.filename), "-C", unpacked, "--strip-components=1"], work);
    packed.push({
      name: entry.name,
      folder: PACKAGES[i]!,
      tarball: join(tarballs, entry.filename),
      files: entry.files.map((f) => f.path),
      unpacked,
    });
  }
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("every tarball", () => {
  it("is packed, one per package", () => {
    expect(packed.map((p) => p.folder)).toEqual(PACKAGES);
  });

  it("carries the license and the metadata npm shows", () => {
    for (const p of packed) {
      expect(p.files, `${p.name}: no LICENSE in the tarball`).toContain("LICENSE");
      expect(readFileSync(join(p.unpacked, "LICENSE"), "utf8"), p.name).toContain("Apache License");
      expect(p.files, `${p.name}: no README.md in the tarball`).toContain("README.md");
      const pkg = JSON.parse(readFileSync(join(p.unpacked, "package.json"), "utf8"));
      expect(pkg.license, p.name).toBe("Apache-2.0");
      expect(pkg.repository, p.name).toEqual({
        type: "git",
        url: "git+https://github.com/mlv-dev/mlv.git",
        directory: p.folder,
      });
      expect(pkg.homepage, p.name).toMatch(/^https:\/\/github\.com\/mlv-dev\/mlv\//);
      expect(pkg.bugs?.url, p.name).toBe("https://github.com/mlv-dev/mlv/issues");
      expect(pkg.keywords?.length, `${p.name}: keywords`).toBeGreaterThan(0);
    }
  });

  it("holds no tests, and every source map points at sources the tarball carries", () => {
    const problems: string[] = [];
    for (const p of packed) {
      const files = new Set(p.files);
      for (const f of p.files) {
        if (/(^|\/)test\/|\.test\.[cm]?[jt]s$/.test(f)) problems.push(`${p.name}: ships the test file ${f}`);
        if (!f.endsWith(".map")) continue;
        const map = JSON.parse(readFileSync(join(p.unpacked, f), "utf8")) as {
          sources: string[];
          sourceRoot?: string;
          sourcesContent?: (string | null)[];
        };
        for (const [i, source] of map.sources.entries()) {
          if (typeof map.sourcesContent?.[i] === "string") continue; // embedded: nothing to find
          const path = posix.normalize(posix.join(posix.dirname(f), map.sourceRoot ?? "", source));
          if (!files.has(path))
            problems.push(`${p.name}: ${f} points at ${path}, which is not in the package (a stale build output?)`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it("does not list what is bundled as a dependency of the CLI, nor any storage SDK", () => {
    const cli = JSON.parse(readFileSync(join(byName("@mlv/cli").unpacked, "package.json"), "utf8"));
    expect(cli.dependencies ?? {}).toEqual({});
    expect(cli.optionalDependencies ?? {}).toEqual({});
  });

  it("adapters and the testkit take @mlv/core as a peer, with a range", () => {
    for (const p of packed) {
      if (p.name === "@mlv/core" || p.name === "@mlv/cli") continue;
      const pkg = JSON.parse(readFileSync(join(p.unpacked, "package.json"), "utf8"));
      expect(pkg.dependencies?.["@mlv/core"], p.name).toBeUndefined();
      expect(pkg.peerDependencies?.["@mlv/core"], p.name).toMatch(/^\^\d+\.\d+\.\d+$/);
    }
  });
});

describe("a user's project", () => {
  let consumer: string;

  beforeAll(() => {
    consumer = join(work, "consumer");
    mkdirSync(consumer);
    writeFileSync(
      join(consumer, "package.json"),
      `${JSON.stringify({ name: "consumer", private: true, type: "module" }, null, 2)}\n`,
    );
    must(
      "npm",
      [
        ...NPM_INSTALL,
        ...packed.map((p) => p.tarball),
        `@types/node@${workspaceVersion("@types/node")}`,
        `vitest@${workspaceVersion("vitest")}`,
      ],
      consumer,
    );
  });

  it("compiles against every package's public types in strict mode, checking every .d.ts", () => {
    writeFileSync(
      join(consumer, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          lib: ["ES2023"],
          types: ["node"],
          strict: true,
          skipLibCheck: false,
          noEmit: true,
        },
        include: ["consumer.ts"],
      }),
    );
    writeFileSync(
      join(consumer, "consumer.ts"),
      `import { isWritable, MlvError, ObjectNotFoundError, open, read, Repo, type RemoteAdapter } from "@mlv/core";
import azure from "@mlv/remote-azure";
import gcs from "@mlv/remote-gcs";
import http from "@mlv/remote-http";
import local from "@mlv/remote-local";
import s3 from "@mlv/remote-s3";
import sftp, { HostKeyError } from "@mlv/remote-sftp";
import { describeReadableRemoteConformance, describeRemoteConformance } from "@mlv/testkit";
import memdir, { MemdirRemote } from "mlv-remote-memdir";

export const adapters: RemoteAdapter[] = [azure, gcs, http, local, s3, sftp, memdir];
export const api = { open, read, Repo, describeRemoteConformance, describeReadableRemoteConformance };

export async function roundTrip(dir: string): Promise<boolean> {
  const remote = await memdir.create({ name: "t", url: "memdir://" + dir, options: {} });
  if (!isWritable(remote) || !(remote instanceof MemdirRemote)) return false;
  try {
    await remote.read("files/md5/00/missing");
  } catch (err) {
    if (err instanceof ObjectNotFoundError) return err.code === "ENOOBJECT";
    if (err instanceof HostKeyError || err instanceof MlvError) return false;
  }
  return false;
}
`,
    );
    const tsc = join(ROOT, "node_modules", "typescript", "bin", "tsc");
    const r = run(process.execPath, [tsc, "-p", "tsconfig.json"], consumer);
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it("imports every package at run time, and the example adapter works through its public API", () => {
    const script = `
      for (const name of ${JSON.stringify(packed.filter((p) => p.name !== "@mlv/cli").map((p) => p.name))})
        await import(name);
      const { default: memdir } = await import("mlv-remote-memdir");
      const remote = await memdir.create({ name: "t", url: "memdir://" + process.argv[1], options: {} });
      const { Readable } = await import("node:stream");
      await remote.write("files/md5/ab/cd", Readable.from([Buffer.from("bytes")]));
      const chunks = [];
      for await (const c of await remote.read("files/md5/ab/cd")) chunks.push(c);
      process.stdout.write(Buffer.concat(chunks).toString());
    `;
    const out = must(process.execPath, ["--input-type=module", "-e", script, join(work, "api-store")], consumer);
    expect(out).toBe("bytes");
  });
});

describe("the CLI installed globally", () => {
  let mlvBin: string;
  let home: string;

  beforeAll(() => {
    const prefix = join(work, "global");
    must("npm", [...NPM_INSTALL, "--global", "--prefix", prefix, byName("@mlv/cli").tarball], work);
    mlvBin = join(prefix, "bin", "mlv");
    home = join(work, "home");
    mkdirSync(home);
  });

  /** `mlv` as a user at a shell runs it, with a home of its own (no machine-wide DVC config). */
  const mlv = (cwd: string, ...args: string[]) =>
    run(mlvBin, args, cwd, cleanEnv({ HOME: home, XDG_CONFIG_HOME: join(home, ".config") }));

  it("is light: it brings no storage SDK and no other package", () => {
    const installed = readdirSync(join(dirname(dirname(mlvBin)), "lib", "node_modules"));
    expect(installed).toEqual(["@mlv"]);
    expect(readdirSync(join(dirname(dirname(mlvBin)), "lib", "node_modules", "@mlv"))).toEqual(["cli"]);
    expect(existsSync(join(dirname(dirname(mlvBin)), "lib", "node_modules", "@mlv", "cli", "node_modules"))).toBe(
      false,
    );
    const r = mlv(work, "--version");
    expect(r.stdout).toBe(`${JSON.parse(readFileSync(join(ROOT, "apps/cli/package.json"), "utf8")).version}\n`);
  });

  it("uses a third-party adapter installed in the project's node_modules", () => {
    const project = join(work, "consumer"); // where mlv-remote-memdir was installed from its tarball
    const store = join(work, "memdir-store");
    expect(mlv(project, "init", "--no-scm").status).toBe(0);
    writeFileSync(join(project, "data.txt"), "some data\n");
    expect(mlv(project, "add", "data.txt").status).toBe(0);
    expect(mlv(project, "remote", "add", "-d", "store", `memdir://${store}`).status).toBe(0);
    const push = mlv(project, "push");
    expect(push.stderr).toBe("");
    expect(push.status).toBe(0);
    // The object lies where the adapter keeps it: below the folder of the memdir:// URL.
    expect(readdirSync(join(store, "files", "md5")).length).toBe(1);

    rmSync(join(project, "data.txt"));
    rmSync(join(project, ".dvc", "cache"), { recursive: true, force: true });
    const pull = mlv(project, "pull");
    expect(pull.status).toBe(0);
    expect(readFileSync(join(project, "data.txt"), "utf8")).toBe("some data\n");
  });

  it("names the package to install when a remote's adapter is missing", () => {
    const project = join(work, "bare"); // no node_modules here or above
    mkdirSync(project);
    expect(mlv(project, "init", "--no-scm").status).toBe(0);
    writeFileSync(join(project, "data.txt"), "some data\n");
    expect(mlv(project, "add", "data.txt").status).toBe(0);
    mlv(project, "remote", "add", "-d", "storage", "s3://bucket/path");
    const push = mlv(project, "push");
    expect(push.status).toBe(1);
    expect(push.stderr).toContain(
      "remote 'storage' uses s3://, served by the package @mlv/remote-s3, which is not installed",
    );
    expect(push.stderr).toContain("npm install -g @mlv/remote-s3");
    expect(push.stderr).toContain("npm install -D @mlv/remote-s3");
  });
});
