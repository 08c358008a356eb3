import { type ArtifactInfo, getArtifact, type RegistryChange, UsageError } from "@mlv/core";
import {
  assignStage,
  deprecateArtifact,
  deregisterVersion,
  listArtifacts,
  Project,
  projectRegistry,
  registerVersion,
  showArtifact,
  unassignStage,
} from "@mlv/core/internal";
import type { Command } from "commander";
import { type Context, withGlobals } from "../context.js";
import type { Output } from "../output.js";
import { renderTable } from "../tables.js";
import { formatBytes } from "../units.js";
import { type DownloadOpts, downloadOptions, withDownloadOptions } from "./options.js";

interface ReadOpts {
  json?: boolean;
  md?: boolean;
  deprecated?: boolean;
  quiet?: boolean;
  verbose?: boolean;
}

interface WriteOpts {
  message?: string;
  push?: boolean;
  version?: string;
  stage?: string;
  force?: boolean;
  quiet?: boolean;
  verbose?: boolean;
}

/** The JSON shape: name → the artifact's fields. */
function byName(artifacts: ArtifactInfo[]): Record<string, Omit<ArtifactInfo, "name">> {
  return Object.fromEntries(artifacts.map(({ name, ...rest }) => [name, rest]));
}

/** What a registry change wrote, and how to share it. */
function reportChange(out: Output, change: RegistryChange, what: (tag: string) => string): void {
  for (const tag of change.tags) out.info(`Created git tag '${tag}' that ${what(tag)}`);
  if (change.pushed) out.info(`Pushed ${change.tags.map((t) => `'${t}'`).join(", ")} to origin`);
  else {
    out.info("To push the changes upstream, run:");
    for (const tag of change.tags) out.info(`    git push origin ${tag}`);
  }
}

/** A subcommand that writes registry tags: the artifact's name, then -m and --push as all of them take. */
function tagCommand(artifacts: Command, name: string, description: string): Command {
  return withGlobals(artifacts.command(name))
    .description(description)
    .argument("<name>", "the artifact (name, or sub/dir:name for one declared in sub/dir/dvc.yaml)")
    .option("-m, --message <text>", "the tag's message (default: GTO's)")
    .option("--push", "push the tags written to the git remote 'origin'");
}

/** The version a command is about (`--version`, else the commit REF names), and how its tags are written. */
function targetOf(ref: string | undefined, opts: WriteOpts) {
  return { version: opts.version, ref, message: opts.message, push: opts.push };
}

async function registry() {
  return projectRegistry(await Project.open());
}

function registerRead(artifacts: Command, ctx: Context): void {
  withGlobals(artifacts.command("list"))
    .alias("ls")
    .description("List the artifacts: their path, type, latest version and the version in each stage")
    .option("--json", "print them as JSON")
    .option("--md", "print a markdown table")
    .option("-d, --deprecated", "include deprecated artifacts")
    .action(async (opts: ReadOpts) => {
      const out = ctx.output(opts);
      const list = await listArtifacts(await registry(), { deprecated: opts.deprecated });
      if (opts.json) return out.json(byName(list));
      if (list.length === 0) {
        out.info("No artifacts: declare them under 'artifacts:' in dvc.yaml, then 'mlv artifacts register NAME'.");
        return;
      }
      const stages = [...new Set(list.flatMap((a) => Object.keys(a.stages)))].sort();
      const headers = ["Artifact", "Type", "Path", "Latest", ...stages.map((s) => `#${s}`)];
      const rows = list.map((a) => [
        a.deprecated ? `${a.name} (deprecated)` : a.name,
        a.type ?? "-",
        a.path ?? "-",
        a.latest ?? "-",
        ...stages.map((s) => a.stages[s] ?? "-"),
      ]);
      out.info(renderTable(headers, rows, !!opts.md));
    });

  withGlobals(artifacts.command("show"))
    .description("List the versions of one artifact: commit, date, author, stages, and its data's md5 and size")
    .argument("<name>", "the artifact (name, or sub/dir:name for one declared in sub/dir/dvc.yaml)")
    .option("--json", "print it as JSON")
    .option("--md", "print a markdown table")
    .action(async (name: string, opts: ReadOpts) => {
      const out = ctx.output(opts);
      const artifact = await showArtifact(await registry(), name);
      if (opts.json) return out.json(byName([artifact]));
      const headers = ["Version", "Stages", "Commit", "Date", "Author", "MD5", "Size"];
      const rows = artifact.versions.map((v) => [
        v.active ? v.version : `${v.version} (deregistered)`,
        v.stages.join(", ") || "-",
        v.commit.slice(0, 7),
        v.date,
        v.author,
        v.md5 ?? "-",
        v.size === undefined ? "-" : formatBytes(v.size),
      ]);
      const what = [artifact.type, artifact.path].filter(Boolean).join(" at ");
      out.info(`${artifact.name}${what ? `: ${what}` : ""}${artifact.deprecated ? " (deprecated)" : ""}`);
      if (artifact.desc) out.info(artifact.desc);
      out.info(rows.length === 0 ? "No versions registered." : renderTable(headers, rows, !!opts.md));
    });
}

function registerWrites(artifacts: Command, ctx: Context): void {
  tagCommand(artifacts, "register", "Register a version of an artifact: an annotated git tag NAME@vX.Y.Z on a commit")
    .argument("[ref]", "the commit that holds the version (branch, tag or id)", "HEAD")
    .option(
      "--version <version>",
      "the version to register (default: the latest with its patch number raised, or v0.0.1)",
    )
    .option("--bump-major", "raise the latest version's major number")
    .option("--bump-minor", "raise the latest version's minor number")
    .option("--bump-patch", "raise the latest version's patch number")
    .action(
      async (
        name: string,
        ref: string,
        opts: WriteOpts & { bumpMajor?: boolean; bumpMinor?: boolean; bumpPatch?: boolean },
      ) => {
        const out = ctx.output(opts);
        const bumps = (["major", "minor", "patch"] as const).filter(
          (p) => opts[`bump${p[0]!.toUpperCase()}${p.slice(1)}` as "bumpMajor"],
        );
        if (bumps.length > 1) throw new UsageError("give one of --bump-major, --bump-minor and --bump-patch");
        const change = await registerVersion(await registry(), name, ref, {
          version: opts.version,
          bump: bumps[0],
          message: opts.message,
          push: opts.push,
        });
        reportChange(out, change, () => `registers version ${change.version}`);
      },
    );

  tagCommand(artifacts, "assign", "Assign a stage to a version of an artifact: an annotated git tag NAME#STAGE#N")
    .argument("[ref]", "the commit that holds the version (default HEAD; a commit with no version is registered first)")
    .requiredOption("--stage <stage>", "the stage (prod, staging, dev, ...)")
    .option("--version <version>", "the registered version to assign it to, instead of a commit")
    .option("-f, --force", "assign it again when the version has that stage already")
    .option("--skip-registration", "at a commit with no version, do not register one first")
    .action(async (name: string, ref: string | undefined, opts: WriteOpts & { skipRegistration?: boolean }) => {
      const out = ctx.output(opts);
      const change = await assignStage(await registry(), name, {
        ...targetOf(ref, opts),
        stage: opts.stage!,
        force: opts.force,
        skipRegistration: opts.skipRegistration,
      });
      reportChange(out, change, (tag) =>
        tag.includes("@")
          ? `registers version ${change.version}`
          : `assigns stage '${opts.stage}' to version ${change.version}`,
      );
    });

  tagCommand(
    artifacts,
    "unassign",
    "Take a stage back from a version of an artifact: an annotated git tag NAME#STAGE!#N",
  )
    .argument("[ref]", "the commit that holds the version (or give --version)")
    .requiredOption("--stage <stage>", "the stage")
    .option("--version <version>", "the version that has the stage")
    .option("-f, --force", "write the tag even when the version does not have the stage")
    .action(async (name: string, ref: string | undefined, opts: WriteOpts) => {
      const out = ctx.output(opts);
      const change = await unassignStage(await registry(), name, {
        ...targetOf(ref, opts),
        stage: opts.stage!,
        force: opts.force,
      });
      reportChange(out, change, () => `unassigns stage '${opts.stage}' from version ${change.version}`);
    });

  tagCommand(artifacts, "deregister", "Deregister a version of an artifact: an annotated git tag NAME@vX.Y.Z!")
    .argument("[ref]", "the commit that holds the version (or give --version)")
    .option("--version <version>", "the version")
    .action(async (name: string, ref: string | undefined, opts: WriteOpts) => {
      const out = ctx.output(opts);
      const change = await deregisterVersion(await registry(), name, targetOf(ref, opts));
      reportChange(out, change, () => `deregisters version ${change.version}`);
    });

  tagCommand(artifacts, "deprecate", "Deprecate an artifact: an annotated git tag NAME@deprecated").action(
    async (name: string, opts: WriteOpts) => {
      const out = ctx.output(opts);
      const change = await deprecateArtifact(await registry(), name, { message: opts.message, push: opts.push });
      reportChange(out, change, () => "deprecates the artifact");
    },
  );
}

function registerGet(artifacts: Command, ctx: Context): void {
  withDownloadOptions(
    withGlobals(artifacts.command("get"))
      .description(
        "Download a version of an artifact of a repository (no 'mlv init' needed): the latest, a version, or a stage's",
      )
      .argument("<url>", "the repository: a local path, or a git URL")
      .argument("<name>", "the artifact")
      .option("--rev <version>", "the version (v1.2.0)")
      .option("--stage <stage>", "the version this stage holds"),
    "where to put it (default: the artifact's file name, here)",
  ).action(
    async (url: string, name: string, opts: DownloadOpts & { rev?: string; stage?: string; quiet?: boolean }) => {
      const out = ctx.output(opts);
      if (opts.rev !== undefined && opts.stage !== undefined)
        throw new UsageError("--rev and --stage are mutually exclusive: give one");
      const result = await getArtifact(url, name, {
        version: opts.rev,
        stage: opts.stage,
        ...downloadOptions(ctx, out, opts),
      });
      out.stopProgress();
      out.info(
        `Downloaded ${result.files} file(s) of ${name} ${result.artifact.version} to '${out.path(out.cwd, result.path)}'`,
      );
    },
  );
}

export function register(program: Command, ctx: Context): void {
  const artifacts = withGlobals(program.command("artifacts")).description(
    "The model registry on git tags (GTO's convention, read by 'dvc artifacts get'): versions and stages of the artifacts dvc.yaml declares",
  );
  registerRead(artifacts, ctx);
  registerWrites(artifacts, ctx);
  registerGet(artifacts, ctx);
}
