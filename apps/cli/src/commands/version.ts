import { existsSync, readdirSync, readFileSync } from "node:fs";
import { release } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Config, DEFAULT_ADAPTER_PACKAGES, redactUrl, urlScheme } from "@mlv/core";
import { configBool, defaultConfigDir, filesystemOf, probeLinkTypes } from "@mlv/core/internal";
import type { Command } from "commander";
import { type Context, withGlobals } from "../context.js";
import { findPackage } from "../remotes.js";
import { openConfig } from "./options.js";

/** An adapter package as found on this machine. */
interface AdapterInfo {
  package: string;
  schemes: string[];
  /** The installed version, or undefined when the package is not installed. */
  version?: string;
  /** Where it was found: bundled in the CLI, next to the CLI, or in the project's node_modules. */
  from?: "built in" | "cli" | "project";
}

interface Report {
  version: string;
  platform: { node: string; os: string; arch: string; release: string };
  adapters: AdapterInfo[];
  config: { global: string; system: string };
  repo?: {
    root: string;
    scm: string[];
    cacheDir: string;
    cacheTypes?: string[];
    cacheFilesystem?: string;
    workspaceFilesystem?: string;
    remotes: { name: string; scheme: string; url: string }[];
  };
}

export function register(program: Command, ctx: Context): void {
  withGlobals(program.command("version"))
    .alias("doctor")
    .description("Show the version, platform, installed storage adapters and what the cache can link (for bug reports)")
    .option("--json", "print JSON")
    .action(async (opts: { json?: boolean; quiet?: boolean; verbose?: boolean }) => {
      const out = ctx.output(opts);
      const report = await gather();
      if (opts.json) return out.json(report);
      for (const line of render(report)) out.info(line);
    });
}

async function gather(): Promise<Report> {
  const version = (readJson(new URL("../package.json", import.meta.url)) as { version: string }).version;
  let project: { config: Config; root: string | null } | undefined;
  try {
    project = await openConfig(undefined);
  } catch {
    // outside a project: the rest still helps
  }
  const root = project?.root ?? undefined;
  const report: Report = {
    version,
    platform: { node: process.versions.node, os: process.platform, arch: process.arch, release: release() },
    adapters: await findAdapters(root),
    config: { global: defaultConfigDir("global"), system: defaultConfigDir("system") },
  };
  if (project && root) {
    const { config } = project;
    const cacheDir = config.cacheDir();
    const [cacheTypes, cacheFilesystem, workspaceFilesystem] = await Promise.all([
      probeLinkTypes(cacheDir, root).catch(() => undefined),
      filesystemOf(cacheDir),
      filesystemOf(root),
    ]);
    const noScm = configBool(config.get("core.no_scm")) === true;
    report.repo = {
      root,
      scm: ["dvc", ...(!noScm && insideGit(root) ? ["git"] : [])],
      cacheDir,
      cacheTypes: cacheTypes && [...cacheTypes, "copy"],
      cacheFilesystem,
      workspaceFilesystem,
      remotes: config.remoteNames().map((name) => {
        const url = String(config.get(`remote.${name}.url`) ?? "");
        return { name, scheme: urlScheme(url), url: redactUrl(url) };
      }),
    };
  }
  return report;
}

/**
 * The first-party adapter packages, and third-party ones (`mlv-remote-*`, `@mlv/remote-*`) found
 * in the project's node_modules or next to the CLI: what the CLI would load for each scheme.
 */
async function findAdapters(root: string | undefined): Promise<AdapterInfo[]> {
  const byPackage = new Map<string, string[]>();
  for (const [scheme, pkg] of Object.entries(DEFAULT_ADAPTER_PACKAGES))
    byPackage.set(pkg, [...(byPackage.get(pkg) ?? []), scheme]);
  for (const dir of [root && join(root, "node_modules"), ...cliModuleDirs()])
    for (const pkg of conventionPackages(dir || undefined))
      if (!byPackage.has(pkg)) byPackage.set(pkg, [pkg.replace(/^(@mlv\/remote-|mlv-remote-)/, "")]);
  return Promise.all(
    [...byPackage].map(async ([pkg, schemes]): Promise<AdapterInfo> => {
      if (pkg === DEFAULT_ADAPTER_PACKAGES.local) return { package: pkg, schemes, from: "built in" };
      const found =
        (root ? await installedVersion(pkg, root, "project") : undefined) ??
        (await installedVersion(pkg, dirname(fileURLToPath(import.meta.url)), "cli"));
      return { package: pkg, schemes, ...found };
    }),
  );
}

async function installedVersion(
  pkg: string,
  dir: string,
  where: "cli" | "project",
): Promise<Pick<AdapterInfo, "version" | "from"> | undefined> {
  const entry = await findPackage(pkg, dir).catch(() => undefined);
  if (!entry) return undefined;
  // The entry is somewhere below the package folder: the first package.json named `pkg` up from it.
  for (let d = dirname(fileURLToPath(entry)); d !== dirname(d); d = dirname(d)) {
    const file = join(d, "package.json");
    if (!existsSync(file)) continue;
    const meta = readJson(file) as { name?: string; version?: string };
    if (meta.name === pkg) return { version: meta.version ?? "?", from: where };
  }
  return undefined;
}

/** node_modules folders the CLI itself resolves from (its own, then its ancestors'). */
function cliModuleDirs(): string[] {
  const dirs: string[] = [];
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir))
    if (existsSync(join(dir, "node_modules"))) dirs.push(join(dir, "node_modules"));
  return dirs;
}

function conventionPackages(nodeModules: string | undefined): string[] {
  if (!nodeModules || !existsSync(nodeModules)) return [];
  const names = readdirSync(nodeModules).filter((n) => n.startsWith("mlv-remote-"));
  const scoped = join(nodeModules, "@mlv");
  if (existsSync(scoped)) for (const n of readdirSync(scoped)) if (n.startsWith("remote-")) names.push(`@mlv/${n}`);
  return names;
}

function insideGit(root: string): boolean {
  for (let dir = root; ; dir = dirname(dir)) {
    if (existsSync(join(dir, ".git"))) return true;
    if (dir === dirname(dir)) return false;
  }
}

function readJson(file: string | URL): unknown {
  return JSON.parse(readFileSync(file, "utf8"));
}

/** DVC's `version` layout, with mlv's facts. */
function render(r: Report): string[] {
  const title = `mlv version: ${r.version}`;
  const lines = [title, "-".repeat(title.length)];
  lines.push(`Platform: Node.js ${r.platform.node} on ${r.platform.os}-${r.platform.arch} (${r.platform.release})`);
  const installed = r.adapters.filter((a) => a.from);
  const missing = r.adapters.filter((a) => !a.from);
  lines.push("Supports:");
  installed.forEach((a, i) => {
    const where =
      a.from === "built in" ? "built in" : `${a.package} ${a.version}${a.from === "project" ? ", project" : ""}`;
    lines.push(`\t${a.schemes.join(", ")} (${where})${i < installed.length - 1 ? "," : ""}`);
  });
  if (missing.length > 0) {
    lines.push("Not installed (npm install -g PACKAGE, or npm install -D PACKAGE in the project):");
    for (const a of missing) lines.push(`\t${a.schemes.join(", ")} (${a.package})`);
  }
  lines.push("Config:", `\tGlobal: ${r.config.global}`, `\tSystem: ${r.config.system}`);
  if (!r.repo) {
    lines.push("Repo: none (run inside a project for its cache and remotes)");
    return lines;
  }
  const { repo } = r;
  lines.push(`Cache types: ${repo.cacheTypes ? repo.cacheTypes.join(", ") : "none yet (no cache folder)"}`);
  if (repo.cacheFilesystem) lines.push(`Cache directory: ${repo.cacheFilesystem}`);
  lines.push("Caches: local");
  lines.push(`Remotes: ${repo.remotes.length ? [...new Set(repo.remotes.map((x) => x.scheme))].join(", ") : "None"}`);
  if (repo.workspaceFilesystem) lines.push(`Workspace directory: ${repo.workspaceFilesystem}`);
  lines.push(`Repo: ${repo.scm.join(", ")}`);
  return lines;
}
