/**
 * `dvc stage add` (pipelines spec §6): a stage built from command-line flags, checked as DVC checks
 * it (its name, working folder, paths, and the whole project's graph with it), written into the
 * `dvc.yaml` of the current folder, its cached outputs kept out of git.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { writeFileAtomic } from "../atomic-write.js";
import { configBool } from "../config.js";
import { collectIndex, type DataIndex } from "../data-index/index.js";
import { MlvError, UsageError } from "../errors.js";
import {
  DEFAULT_PARAMS_FILE,
  type OutDefinition,
  type OutKind,
  type ParamsDefinition,
  restoreFields,
  type StageDefinition,
  stageDefinitionOf,
  stageDefinitionValue,
  writeStage,
  writtenStage,
} from "../formats/dvc-yaml-writer.js";
import { addGitignoreEntry, escapeGitignoreEntry } from "../formats/gitignore.js";
import { type LockedStage, PIPELINE_FILE, type PipelineStage, type StageOut } from "../formats/pipeline.js";
import { isExternalPath } from "../formats/pointer.js";
import { toPosix } from "../paths.js";
import type { Project } from "../project/project.js";
import { buildGraph, graphNodes, nodeAddress } from "./graph.js";

/** The flags of `stage add`, as given on the command line (paths relative to `wdir`). */
export interface StageAddOptions {
  /** `-n`: the stage's name. */
  name: string;
  /** The command: the remaining arguments, joined as DVC joins them (§6.2). */
  command: readonly string[];
  /** `-d` */
  deps?: readonly string[];
  /** `-o` */
  outs?: readonly string[];
  /** `-O` */
  outsNoCache?: readonly string[];
  /** `--outs-persist` */
  outsPersist?: readonly string[];
  /** `--outs-persist-no-cache` */
  outsPersistNoCache?: readonly string[];
  /** `-m` */
  metrics?: readonly string[];
  /** `-M` */
  metricsNoCache?: readonly string[];
  /** `--plots` */
  plots?: readonly string[];
  /** `--plots-no-cache` */
  plotsNoCache?: readonly string[];
  /** `-p`: each `[file:]key1,key2` (`file:` alone: the whole file). */
  params?: readonly string[];
  /** `-w`: the working folder, relative to `cwd`; every path above is relative to it. */
  wdir?: string;
  /** `--always-changed` */
  alwaysChanged?: boolean;
  /** `--desc` (ignored when `force` replaces a stage: the old description stays, as in DVC). */
  desc?: string;
  /** `-f`: replace a stage of that name. */
  force?: boolean;
  /** Where the command runs: the stage goes into `cwd/dvc.yaml`. Default `process.cwd()`. */
  cwd?: string;
}

export interface StageAddResult {
  name: string;
  /** The `dvc.yaml` written, posix from the project root. */
  file: string;
  /**
   * The `.gitignore` files (posix from the root) whose entry could not be written because their
   * folder does not exist yet; DVC writes them when the stage runs. At most one: the first such
   * output stops the writing of entries, as in DVC.
   */
  postponedGitignores: string[];
  /** Files `git add` would need (posix from the root): `dvc.yaml` and the `.gitignore` files written. */
  gitFiles: string[];
  autostaged: boolean;
  /** Whether the project is in git at all. */
  git: boolean;
}

/** ASCII punctuation other than `_` and `-`: refused in stage names, as DVC refuses it. */
const INVALID_NAME = /[!"#$%&'()*+,./:;<=>?@[\\\]^`{|}~]/;

/**
 * The command text from the remaining arguments (§6.2): one argument as it is; several joined by
 * spaces, an empty one written `""` and one holding a space but no `"` wrapped in double quotes.
 */
export function commandText(args: readonly string[]): string {
  if (args.length === 1) return args[0] as string;
  return args
    .map((arg) => {
      if (arg === "") return '""';
      if (arg.includes(" ") && !arg.includes('"')) return `"${arg}"`;
      return arg;
    })
    .join(" ");
}

/**
 * `-p` values → params per file, in order of first appearance (§6.1): `[file:]k1,k2`, split at the
 * last `:`; no file is `params.yaml`; keys of repeated flags for a file accumulate, and a file
 * without any key is tracked whole.
 */
export function parseParamsFlags(values: readonly string[]): ParamsDefinition[] {
  const files = new Map<string, string[]>();
  for (const value of values) {
    const colon = value.lastIndexOf(":");
    const file = colon < 0 ? DEFAULT_PARAMS_FILE : value.slice(0, colon);
    const keys = (colon < 0 ? value : value.slice(colon + 1)).split(",").filter((k) => k !== "");
    files.set(file, [...(files.get(file) ?? []), ...keys]);
  }
  return [...files].map(([file, keys]) => ({ file, keys: keys.length === 0 ? null : keys }));
}

/** The outputs of the flags, in the order DVC creates them (which is the order of their `.gitignore` entries). */
function outputsOf(options: StageAddOptions): OutDefinition[] {
  const groups: [readonly string[] | undefined, OutKind, Record<string, unknown>][] = [
    [options.outsPersist, "outs", { persist: true }],
    [options.outsPersistNoCache, "outs", { cache: false, persist: true }],
    [options.metricsNoCache, "metrics", { cache: false }],
    [options.metrics, "metrics", {}],
    [options.plotsNoCache, "plots", { cache: false }],
    [options.plots, "plots", {}],
    [options.outsNoCache, "outs", { cache: false }],
    [options.outs, "outs", {}],
  ];
  return groups.flatMap(([paths, kind, flags]) => (paths ?? []).map((path) => ({ path, kind, flags })));
}

const isCached = (out: OutDefinition) => out.flags?.cache !== false;

/** The working folder, checked as DVC checks it. */
function checkedWdir(project: Project, cwd: string, wdir: string | undefined): string {
  const abs = resolve(cwd, wdir ?? ".");
  const rel = relative(project.root, abs);
  if (rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel))
    throw new UsageError(`stage working dir '${abs}' is outside of DVC repo`, { wdir });
  if (!existsSync(abs)) throw new UsageError(`stage working dir '${abs}' does not exist`, { wdir });
  if (!statSync(abs).isDirectory()) throw new UsageError(`stage working dir '${abs}' is not directory`, { wdir });
  return abs;
}

function isPipelineFileName(path: string): boolean {
  const name = basename(path.replace(/[\\/]+$/, ""));
  return name === PIPELINE_FILE || name.endsWith(".dvc");
}

/** Refuse outputs DVC refuses (and those outside the project, which mlv does not track). */
function checkOutput(project: Project, out: OutDefinition, abs: string): void {
  if (isPipelineFileName(out.path))
    throw new UsageError(`DVC file '${out.path}' cannot be an output.`, { path: out.path });
  const rel = relative(project.root, abs);
  const outside =
    rel === "" ||
    rel === ".." ||
    rel.startsWith(`..${sep}`) ||
    isAbsolute(rel) ||
    /^[a-z][a-z0-9+.-]*:\/\//i.test(out.path);
  if (outside && isCached(out))
    throw new UsageError(
      `Cached output(s) outside of DVC project: ${abs}. See <https://dvc.org/doc/user-guide/pipelines/external-dependencies-and-outputs> for more info.`,
      { path: out.path },
    );
  if (outside)
    throw new UsageError(
      `output '${out.path}' is outside the project ('${abs}'): mlv tracks outputs inside the project only; write it inside and copy it out in the command`,
      { path: out.path },
    );
  const parts = toPosix(rel).split("/");
  if (parts.includes(".dvc") || parts.includes(".git"))
    throw new UsageError(`Path '${abs}' is ignored by :${parts.includes(".dvc") ? ".dvc" : ".git"}/`, {
      path: out.path,
    });
  if (project.ignore.isIgnored(toPosix(rel), existsSync(abs) && statSync(abs).isDirectory())) {
    const why = "remove the pattern that matches it to make it an output";
    throw new UsageError(`Path '${abs}' is ignored by .dvcignore: ${why}`, { path: out.path });
  }
}

/** Duplicates and paths both read and written, as DVC reports them (absolute paths). */
function checkPaths(outs: readonly { abs: string }[], deps: readonly { abs: string }[]): void {
  const outPaths = new Set(outs.map((o) => o.abs));
  for (const dep of deps)
    if (outPaths.has(dep.abs))
      throw new UsageError(`'${dep.abs}' is specified as an output and as a dependency.`, { path: dep.abs });
  const seen = new Set<string>();
  for (const { abs } of [...deps, ...outs]) {
    if (seen.has(abs)) throw new UsageError(`file '${abs}' is specified more than once.`, { path: abs });
    seen.add(abs);
  }
}

/** The stage as the loader would give it once written, for the graph check. */
function pipelineStage(
  project: Project,
  file: string,
  name: string,
  wdirAbs: string,
  definition: StageDefinition,
): PipelineStage {
  const relOf = (path: string) => (isExternalPath(path) ? path : project.relOf(resolve(wdirAbs, path)));
  return {
    name,
    file,
    wdir: project.relOf(wdirAbs),
    cmd: typeof definition.cmd === "string" ? definition.cmd : [...definition.cmd],
    deps: definition.deps.map((path) => ({ path, rel: relOf(path) })),
    params: definition.params.map((p) => ({ path: p.file, rel: relOf(p.file), keys: p.keys ? [...p.keys] : null })),
    outs: definition.outs.map(
      (o): StageOut => ({
        path: o.path,
        rel: relOf(o.path),
        kind: o.kind,
        cache: isCached(o),
        persist: o.flags?.persist === true,
        push: true,
        flags: { ...o.flags },
      }),
    ),
    frozen: false,
    alwaysChanged: definition.alwaysChanged === true,
  };
}

/**
 * The project's graph with the new stage in place of any stage or `foreach` group of that name in
 * the same file, checked as `stage add` checks it (§6.3): an output another stage or `.dvc` file
 * already has, outputs inside one another, cycles.
 */
function checkGraph(index: DataIndex, added: PipelineStage, display: (rel: string) => string): void {
  const replaced = (s: LockedStage) =>
    s.stage.file === added.file && (s.stage.name === added.name || s.stage.group === added.name);
  const others = index.stages.filter((s) => !replaced(s));
  // In the place of the stage it replaces, else after the last stage of its file.
  const at = index.stages.findIndex(replaced);
  const lastOfFile = others.map((s) => s.stage.file).lastIndexOf(added.file);
  const stages = [...others];
  stages.splice(at >= 0 ? at : lastOfFile >= 0 ? lastOfFile + 1 : others.length, 0, { stage: added });
  const next: DataIndex = { outs: index.outs.filter((o) => !o.stage || !replaced(o.stage)), stages };
  const existing = graphNodes({ outs: next.outs, stages: others });
  for (const out of added.outs) {
    const owner = existing.find((n) => n.outs.includes(out.rel));
    if (owner) {
      const address = nodeAddress(owner, display);
      throw new MlvError(
        "EOUTDUP",
        `output '${display(out.rel)}' is already specified in stage: '${address}'.\nUse \`dvc remove ${address}\` to stop tracking the overlapping output.`,
        { data: { path: out.rel, owner: address } },
      );
    }
  }
  buildGraph(next, { display });
}

/**
 * `mlv stage add`: write a stage into `cwd/dvc.yaml` (new: appended; existing, with `force`:
 * merged in place, keeping what DVC keeps of the old one) and git-ignore its cached outputs.
 * Runs nothing and writes no `dvc.lock`. Every check happens before anything is written.
 */
export async function stageAdd(project: Project, options: StageAddOptions): Promise<StageAddResult> {
  const cwd = options.cwd ?? process.cwd();
  const { name } = options;
  const cmd = commandText(options.command);
  if (options.command.length === 0 || cmd === "") throw new UsageError("command is not specified");
  if (name === "") throw new UsageError("`-n|--name` is required");
  if (INVALID_NAME.test(name)) throw new UsageError("Stage name cannot contain punctuation characters.", { name });
  const wdirAbs = checkedWdir(project, cwd, options.wdir);

  const yamlAbs = join(cwd, PIPELINE_FILE);
  const file = project.relOf(yamlAbs);
  const index = await collectIndex(project);
  const exists = index.stages.some((s) => s.stage.file === file && s.stage.name === name);
  if (exists && !options.force)
    throw new MlvError("EEXIST", `Stage '${name}' already exists in '${PIPELINE_FILE}'. Use '--force' to overwrite.`, {
      data: { file, stage: name },
    });

  const outs = outputsOf(options);
  const deps = options.deps ?? [];
  let definition: StageDefinition = {
    cmd,
    wdir: toPosix(relative(cwd, wdirAbs)) || undefined,
    deps,
    params: parseParamsFlags(options.params ?? []),
    outs,
    alwaysChanged: options.alwaysChanged,
  };
  if (options.desc !== undefined) definition.desc = options.desc;

  for (const dep of deps)
    if (isPipelineFileName(dep)) throw new UsageError(`DVC file '${dep}' cannot be a dependency.`, { path: dep });
  const absOf = (path: string) => (isExternalPath(path) && !isAbsolute(path) ? path : resolve(wdirAbs, path));
  const placed = outs.map((out) => ({ out, abs: absOf(out.path) }));
  for (const { out, abs } of placed) checkOutput(project, out, abs);
  checkPaths(
    placed,
    [...deps, ...definition.params.map((p) => p.file)].map((path) => ({ abs: absOf(path) })),
  );

  const display = (rel: string) => toPosix(relative(cwd, join(project.root, rel))) || ".";
  checkGraph(index, pipelineStage(project, file, name, wdirAbs, definition), display);

  const scm = await project.scm();
  if (scm) {
    if (await scm.isIgnored(yamlAbs))
      throw new MlvError("EIGNORED", `bad DVC file name '${display(file)}' is git-ignored.`, { data: { file } });
    for (const { out, abs } of placed)
      if (isCached(out) && (await scm.isTracked(abs))) {
        const rel = project.relOf(abs);
        throw new MlvError(
          "ESCMTRACKED",
          `output '${out.path}' is already tracked by SCM (e.g. Git). Remove it from git first: git rm -r --cached '${rel}' && git commit -m "stop tracking ${rel}"`,
          { data: { path: out.path } },
        );
      }
  }

  // Replacing a stage keeps its description, meta and output annotations (DVC's `restore_fields`).
  const old = existsSync(yamlAbs) ? readFileSync(yamlAbs, "utf8") : undefined;
  if (exists && old !== undefined)
    definition = restoreFields(definition, stageDefinitionOf(writtenStage(old, file, name)));
  const text = writeStage(old, file, name, stageDefinitionValue(definition));
  await writeFileAtomic(yamlAbs, text);

  const gitFiles = new Set<string>([yamlAbs]);
  const postponed: string[] = [];
  if (scm)
    for (const { out, abs } of placed) {
      if (!isCached(out)) continue;
      const gitignore = join(dirname(abs), ".gitignore");
      if (!existsSync(dirname(abs))) {
        // DVC gives up on the remaining entries too; running the stage writes them.
        postponed.push(project.relOf(gitignore));
        break;
      }
      if (!(await scm.isIgnored(abs))) {
        await addGitignoreEntry(gitignore, `/${escapeGitignoreEntry(basename(abs))}`);
        gitFiles.add(gitignore);
      } else if (existsSync(gitignore)) gitFiles.add(gitignore);
    }

  let autostaged = false;
  const files = [...gitFiles];
  if (scm && configBool(project.config.get("core.autostage"))) {
    await scm.add(files);
    autostaged = true;
  }
  return {
    name,
    file,
    postponedGitignores: postponed,
    gitFiles: files.map((f) => project.relOf(f)),
    autostaged,
    git: scm !== null,
  };
}
