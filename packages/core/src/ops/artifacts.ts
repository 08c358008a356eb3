/**
 * `mlv artifacts`: the model registry on git tags (GTO's convention, see ops/registry.ts). Read:
 * each artifact's versions and stages, with the path `dvc.yaml` declares and the data it held at
 * each version. Write: register, assign, unassign, deregister, deprecate, each one annotated tag
 * named and worded as GTO names and words it.
 */
import { relative, sep } from "node:path";
import { HistoryOuts } from "../data-index/history-outs.js";
import type { RevisionOut } from "../data-index/types.js";
import { type FormatError, MlvError, UsageError } from "../errors.js";
import {
  bumpVersion,
  checkArtifactName,
  checkRegistryVersion,
  checkStageName,
  formatRegistryTag,
  parseRegistryTag,
  type RegistryTagName,
} from "../formats/registry-tags.js";
import type { GitHistory } from "../git/history.js";
import { isoDate, short } from "../git/objects.js";
import { pushTag, taggerIdentity, writeAnnotatedTag } from "../git/tags.js";
import type { Project } from "../project/project.js";
import {
  type ArtifactDeclaration,
  type ArtifactState,
  type ArtifactVersion,
  declaredArtifacts,
  readRegistryEvents,
  registryState,
} from "./registry.js";
import { projectHistory } from "./revisions.js";

/** A git repository read as a model registry. */
export interface RegistryRepo {
  /** The git work tree (or the folder whose `.git` is the repository). */
  gitRoot: string;
  history: GitHistory;
  /** The project's folder below the git root, posix (`mlv init --subdir`); `""` or absent at the root. */
  subdir?: string;
  /** The outputs at each commit, for the data each version holds. */
  tracked?: HistoryOuts;
  /** Where each `dvc.yaml` that cannot be read is reported (it is skipped). */
  onInvalid?: (error: FormatError) => void;
}

/** One version of an artifact, with the data it held. */
export interface ArtifactVersionInfo {
  version: string;
  commit: string;
  registered: boolean;
  /** False once deregistered. */
  active: boolean;
  /** The stages whose current version this is. */
  stages: string[];
  /** When it became a version (its registration tag's date), ISO 8601 in UTC. */
  date: string;
  author: string;
  email: string;
  message: string;
  /** The tag that made it a version. */
  tag: string;
  /** The artifact's path at this version, from the project root. */
  path?: string;
  md5?: string;
  size?: number;
  nfiles?: number;
}

export interface ArtifactInfo {
  name: string;
  /** From the `dvc.yaml` that declares it (at HEAD; else at its newest version). */
  path?: string;
  type?: string;
  desc?: string;
  labels?: string[];
  deprecated: boolean;
  latest?: string;
  /** Stage → the version it holds. */
  stages: Record<string, string>;
  /** Registered versions highest first, then commits given a stage without a version. */
  versions: ArtifactVersionInfo[];
}

export interface ListArtifactsOptions {
  /** Include deprecated artifacts. */
  deprecated?: boolean;
  /** Include deregistered versions. */
  deregistered?: boolean;
}

/** The registry of the git repository holding `project` (MlvError EUSAGE outside git). */
export async function projectRegistry(project: Project): Promise<RegistryRepo> {
  const scm = await project.scm();
  if (!scm) throw new UsageError("the model registry is made of git tags, and this project is not in a git repository");
  const history = projectHistory(project, scm.root);
  return {
    gitRoot: scm.root,
    history,
    subdir: relative(scm.root, project.root).split(sep).join("/"),
    tracked: new HistoryOuts(history),
  };
}

/** Reads a registry repository once: its events, its state and its declarations at each commit. */
class RegistryReader {
  private readonly declarations = new Map<string, Promise<Map<string, ArtifactDeclaration>>>();
  private readonly outs = new Map<string, Promise<RevisionOut[]>>();
  private statePromise: Promise<Map<string, ArtifactState>> | undefined;

  constructor(readonly repo: RegistryRepo) {}

  state(): Promise<Map<string, ArtifactState>> {
    this.statePromise ??= readRegistryEvents(this.repo.history).then(registryState);
    return this.statePromise;
  }

  async head(): Promise<string | undefined> {
    return this.repo.history.head();
  }

  declaredAt(commit: string): Promise<Map<string, ArtifactDeclaration>> {
    let found = this.declarations.get(commit);
    if (found === undefined) {
      found = declaredArtifacts(this.repo.history, commit, {
        subdir: this.repo.subdir || undefined,
        onInvalid: this.repo.onInvalid,
      });
      this.declarations.set(commit, found);
    }
    return found;
  }

  private outsAt(commit: string): Promise<RevisionOut[]> {
    let found = this.outs.get(commit);
    if (found === undefined) {
      found = this.repo.tracked
        ? this.repo.tracked.at(commit, { subdir: this.repo.subdir || undefined, onInvalid: this.repo.onInvalid })
        : Promise.resolve([]);
      this.outs.set(commit, found);
    }
    return found;
  }

  /** Where the artifact is at a commit: as declared there, else as declared at HEAD. */
  async pathAt(name: string, commit: string): Promise<string | undefined> {
    const here = (await this.declaredAt(commit)).get(name);
    if (here) return here.path;
    const head = await this.head();
    return head === undefined ? undefined : (await this.declaredAt(head)).get(name)?.path;
  }

  async version(name: string, v: ArtifactVersion): Promise<ArtifactVersionInfo> {
    const path = await this.pathAt(name, v.commit);
    const info: ArtifactVersionInfo = {
      version: v.version,
      commit: v.commit,
      registered: v.registered,
      active: v.active,
      stages: v.stages,
      date: isoDate(v.created.time),
      author: v.created.author,
      email: v.created.email,
      message: v.created.message,
      tag: v.created.tag,
      ...(path === undefined ? {} : { path }),
    };
    if (path !== undefined) {
      const out = (await this.outsAt(v.commit)).find((o) => o.rel === path);
      if (out) {
        if (out.out.md5 !== undefined) info.md5 = out.out.md5;
        if (out.out.size !== undefined) info.size = out.out.size;
        if (out.out.nfiles !== undefined) info.nfiles = out.out.nfiles;
      }
    }
    return info;
  }
}

async function describe(
  reader: RegistryReader,
  name: string,
  declared: ArtifactDeclaration | undefined,
  state: ArtifactState | undefined,
  options: ListArtifactsOptions,
): Promise<ArtifactInfo> {
  const kept = (state?.versions ?? []).filter((v) => options.deregistered || v.active);
  const versions = await Promise.all(kept.map((v) => reader.version(name, v)));
  const newest = versions.find((v) => v.path !== undefined);
  const decl = declared ?? (newest ? (await reader.declaredAt(newest.commit)).get(name) : undefined);
  return {
    name,
    ...(decl?.path !== undefined ? { path: decl.path } : newest?.path !== undefined ? { path: newest.path } : {}),
    ...(decl?.type === undefined ? {} : { type: decl.type }),
    ...(decl?.desc === undefined ? {} : { desc: decl.desc }),
    ...(decl?.labels === undefined ? {} : { labels: decl.labels }),
    deprecated: state?.deprecated ?? false,
    ...(state?.latest === undefined ? {} : { latest: state.latest }),
    stages: state?.stages ?? {},
    versions,
  };
}

/**
 * Every artifact: those the `dvc.yaml` files declare at HEAD and those the registry's tags name,
 * by name. Deprecated artifacts and deregistered versions only when asked for.
 */
export async function listArtifacts(repo: RegistryRepo, options: ListArtifactsOptions = {}): Promise<ArtifactInfo[]> {
  const reader = new RegistryReader(repo);
  const head = await reader.head();
  const [state, declared] = await Promise.all([
    reader.state(),
    head === undefined ? new Map<string, ArtifactDeclaration>() : reader.declaredAt(head),
  ]);
  const names = [...new Set([...declared.keys(), ...state.keys()])].sort();
  const all = await Promise.all(names.map((n) => describe(reader, n, declared.get(n), state.get(n), options)));
  return all.filter((a) => options.deprecated || !a.deprecated);
}

/** Lists what is known of `name`, in a message: its versions, or its stages. */
function known(kind: "versions" | "stages", values: string[]): string {
  return values.length === 0 ? `it has no ${kind}` : `its ${kind}: ${values.join(", ")}`;
}

function noArtifact(name: string, names: string[]): MlvError {
  return new MlvError(
    "ENOARTIFACT",
    `no artifact '${name}' in the registry or in any dvc.yaml${names.length ? ` (artifacts: ${names.join(", ")})` : ""}`,
    { data: { artifact: name }, hint: "Declare it under 'artifacts:' in dvc.yaml, then register a version." },
  );
}

/** One artifact, with every version (deregistered ones included, marked inactive). */
export async function showArtifact(repo: RegistryRepo, name: string): Promise<ArtifactInfo> {
  checkArtifactName(name);
  const all = await listArtifacts(repo, { deprecated: true, deregistered: true });
  const found = all.find((a) => a.name === name);
  if (!found)
    throw noArtifact(
      name,
      all.map((a) => a.name),
    );
  return found;
}

/** What `artifacts get` and `readArtifact` fetch: one version of an artifact. */
export interface ArtifactSelector {
  /** A registered version (`v1.2.0`); with neither this nor `stage`, the latest version. */
  version?: string;
  /** The version a stage holds. */
  stage?: string;
}

export interface ResolvedArtifact {
  name: string;
  version: string;
  commit: string;
  /** Its path at that commit, from the project root, posix. */
  path: string;
}

/**
 * The commit and path of a version of an artifact: the one `version` names, the one `stage` holds,
 * or the latest. MlvError ENOARTIFACT, naming what the registry has, when there is none.
 */
export async function resolveArtifact(
  repo: RegistryRepo,
  name: string,
  selector: ArtifactSelector = {},
): Promise<ResolvedArtifact> {
  checkArtifactName(name);
  if (selector.version !== undefined && selector.stage !== undefined)
    throw new UsageError("give a version or a stage, not both", { artifact: name });
  const reader = new RegistryReader(repo);
  const state = (await reader.state()).get(name);
  const versions = state?.versions ?? [];
  let picked: ArtifactVersion | undefined;
  if (selector.stage !== undefined) {
    const held = state?.stages[selector.stage];
    picked = versions.find((v) => v.version === held);
    if (!picked)
      throw new MlvError(
        "ENOARTIFACT",
        `no version of artifact '${name}' is in stage '${selector.stage}' (${known("stages", Object.keys(state?.stages ?? {}))})`,
        { data: { artifact: name, stage: selector.stage } },
      );
  } else if (selector.version !== undefined) {
    picked = versions.find((v) => v.version === selector.version);
    if (!picked)
      throw new MlvError(
        "ENOARTIFACT",
        `artifact '${name}' has no version '${selector.version}' (${known(
          "versions",
          versions.filter((v) => v.registered).map((v) => v.version),
        )})`,
        { data: { artifact: name, version: selector.version } },
      );
  } else {
    picked = versions.find((v) => v.version === state?.latest);
    if (!picked) {
      const head = await reader.head();
      const declared = head === undefined ? new Map<string, ArtifactDeclaration>() : await reader.declaredAt(head);
      if (!declared.has(name) && !state)
        throw noArtifact(name, [...new Set([...declared.keys(), ...(await reader.state()).keys()])].sort());
      throw new MlvError("ENOARTIFACT", `artifact '${name}' has no registered version`, {
        data: { artifact: name },
        hint: `Register one with 'mlv artifacts register ${name}', or give a stage with --stage.`,
      });
    }
  }
  const path = await reader.pathAt(name, picked.commit);
  if (path === undefined)
    throw new MlvError(
      "ENOARTIFACT",
      `artifact '${name}' is not declared in a dvc.yaml at ${short(picked.commit)} (its version ${picked.version}) nor at HEAD, so its path is unknown`,
      { data: { artifact: name, version: picked.version, commit: picked.commit } },
    );
  return { name, version: picked.version, commit: picked.commit, path };
}

// ------------------------------------------------------------------------------------------ writing

export interface RegistryWriteOptions {
  /** The tag's message; default GTO's. */
  message?: string;
  /** Push each tag written to the git remote `origin`. */
  push?: boolean;
  /** For the tagger's identity (GIT_COMMITTER_NAME, ...); default `process.env`. */
  env?: NodeJS.ProcessEnv;
}

/** What a registry change wrote. */
export interface RegistryChange {
  /** The tags written, in order. */
  tags: string[];
  version: string;
  commit: string;
  /** Whether they were pushed. */
  pushed: boolean;
}

/** Writes registry tags for one command: each new tag counted after the ones before it. */
class RegistryWriter {
  private readonly written: string[] = [];
  private tagNames: Promise<Set<string>> | undefined;

  constructor(
    readonly repo: RegistryRepo,
    readonly options: RegistryWriteOptions,
  ) {}

  private names(): Promise<Set<string>> {
    this.tagNames ??= this.repo.history.tagTargets().then((t) => new Set(t.keys()));
    return this.tagNames;
  }

  /** The `#N` a new counted tag of `artifact` gets: one more than the highest of any of its tags. */
  private async nextCounter(artifact: string): Promise<number> {
    let highest = 0;
    for (const name of [...(await this.names()), ...this.written]) {
      const parsed = parseRegistryTag(name);
      if (parsed?.artifact === artifact && parsed.counter !== undefined && parsed.counter > highest)
        highest = parsed.counter;
    }
    return highest + 1;
  }

  async write(tag: RegistryTagName, counted: boolean, commit: string, message: string): Promise<string> {
    const name = formatRegistryTag(counted ? { ...tag, counter: await this.nextCounter(tag.artifact) } : tag);
    if ((await this.names()).has(name) || this.written.includes(name))
      throw new MlvError("EREGISTRY", `the tag '${name}' exists already`, { data: { tag: name } });
    const tagger = await taggerIdentity(this.repo.gitRoot, this.options.env);
    await writeAnnotatedTag(this.repo.gitRoot, name, commit, message, tagger);
    this.written.push(name);
    return name;
  }

  async finish(version: string, commit: string): Promise<RegistryChange> {
    if (this.options.push) for (const tag of this.written) await pushTag(this.repo.gitRoot, tag);
    return { tags: [...this.written], version, commit, pushed: !!this.options.push };
  }
}

async function artifactState(repo: RegistryRepo, name: string): Promise<ArtifactState | undefined> {
  return (await new RegistryReader(repo).state()).get(name);
}

function activeAt(state: ArtifactState | undefined, commit: string): ArtifactVersion | undefined {
  return state?.versions.find((v) => v.commit === commit && v.registered && v.active);
}

export interface RegisterOptions extends RegistryWriteOptions {
  /** The version to register (`v1.2.0`); default the latest one bumped (`v0.0.1` for the first). */
  version?: string;
  /** Which part of the latest version to raise; default the patch number. */
  bump?: "major" | "minor" | "patch";
}

/** The version a new registration at `commit` gets (GTO's rules), or a refusal. */
function versionToRegister(
  name: string,
  state: ArtifactState | undefined,
  commit: string,
  options: RegisterOptions,
): string {
  if (options.version !== undefined && options.bump !== undefined)
    throw new UsageError("give a version or a part to bump, not both", { artifact: name });
  if (options.version !== undefined) checkRegistryVersion(options.version);
  const here = state?.versions.filter((v) => v.commit === commit && v.registered) ?? [];
  const active = here.find((v) => v.active);
  if (active)
    throw new MlvError(
      "EREGISTRY",
      `artifact '${name}' has version ${active.version} registered at ${short(commit)} already: a commit holds one version`,
      { data: { artifact: name, version: active.version, commit } },
    );
  const before = here[0];
  if (before) {
    // A deregistered version can be registered again, under its own name only.
    if (options.version !== undefined && options.version !== before.version)
      throw new MlvError(
        "EREGISTRY",
        `at ${short(commit)}, artifact '${name}' can only register ${before.version} (registered there before, then deregistered)`,
        { data: { artifact: name, version: before.version, commit } },
      );
    return before.version;
  }
  if (options.version !== undefined) {
    const taken = state?.versions.find((v) => v.version === options.version);
    if (taken)
      throw new MlvError(
        "EREGISTRY",
        `version ${options.version} of artifact '${name}' is registered already, at ${short(taken.commit)}`,
        { data: { artifact: name, version: options.version, commit: taken.commit } },
      );
    return options.version;
  }
  if (state?.latest !== undefined) return bumpVersion(state.latest, options.bump ?? "patch");
  if (options.bump !== undefined)
    throw new UsageError(`cannot bump the ${options.bump} number: '${name}' has no version registered yet`, {
      artifact: name,
    });
  return "v0.0.1";
}

/** `register`: tag `name@vX.Y.Z` on the commit `ref` names (default HEAD). */
export async function registerVersion(
  repo: RegistryRepo,
  name: string,
  ref = "HEAD",
  options: RegisterOptions = {},
): Promise<RegistryChange> {
  checkArtifactName(name);
  const commit = await repo.history.resolveRevision(ref);
  const version = versionToRegister(name, await artifactState(repo, name), commit, options);
  const writer = new RegistryWriter(repo, options);
  await writer.write(
    { action: "register", artifact: name, version },
    false,
    commit,
    options.message ?? `Registering artifact ${name} version ${version}`,
  );
  return writer.finish(version, commit);
}

/** Which version a stage command is about: by `version`, else the one at the commit `ref` names. */
export interface VersionTarget {
  version?: string;
  ref?: string;
}

async function targetVersion(
  repo: RegistryRepo,
  name: string,
  state: ArtifactState | undefined,
  target: VersionTarget,
): Promise<ArtifactVersion> {
  if (target.version !== undefined && target.ref !== undefined)
    throw new UsageError("give a version or a git revision, not both", { artifact: name });
  if (target.version === undefined && target.ref === undefined)
    throw new UsageError("give the version (--version v1.0.0) or the git revision that holds it", { artifact: name });
  if (target.version !== undefined) {
    checkRegistryVersion(target.version);
    const found = state?.versions.find((v) => v.version === target.version);
    if (!found)
      throw new MlvError(
        "ENOARTIFACT",
        `artifact '${name}' has no version '${target.version}' (${known(
          "versions",
          (state?.versions ?? []).filter((v) => v.registered).map((v) => v.version),
        )})`,
        { data: { artifact: name, version: target.version } },
      );
    return found;
  }
  const commit = await repo.history.resolveRevision(target.ref!);
  const found =
    state?.versions.find((v) => v.commit === commit && v.active) ?? state?.versions.find((v) => v.commit === commit);
  if (!found)
    throw new MlvError("ENOARTIFACT", `artifact '${name}' has no version at ${target.ref} (${short(commit)})`, {
      data: { artifact: name, commit },
    });
  return found;
}

/** Whether the version's standing assignments include `stage`. */
function standsIn(version: ArtifactVersion, stage: string): boolean {
  const last = version.events.filter((e) => e.stage === stage).at(-1);
  return last?.action === "assign";
}

export interface AssignOptions extends RegistryWriteOptions, VersionTarget {
  stage: string;
  /** Assign even when the version has that stage already (a new tag). */
  force?: boolean;
  /** At a commit without a version, assign the stage to the commit instead of registering a version first. */
  skipRegistration?: boolean;
}

/**
 * `assign`: tag `name#stage#N` on a version's commit. A commit without a registered version gets
 * one first (the latest bumped), as GTO does, unless `skipRegistration`.
 */
export async function assignStage(repo: RegistryRepo, name: string, options: AssignOptions): Promise<RegistryChange> {
  checkArtifactName(name);
  checkStageName(options.stage);
  const state = await artifactState(repo, name);
  const writer = new RegistryWriter(repo, options);
  let version: string;
  let commit: string;
  let holder: ArtifactVersion | undefined;
  if (options.version !== undefined) {
    holder = await targetVersion(repo, name, state, options);
    if (!holder.registered || !holder.active)
      throw new MlvError("EREGISTRY", `version '${options.version}' of artifact '${name}' is not registered`, {
        data: { artifact: name, version: options.version },
      });
    version = holder.version;
    commit = holder.commit;
  } else {
    commit = await repo.history.resolveRevision(options.ref ?? "HEAD");
    holder = activeAt(state, commit) ?? state?.versions.find((v) => v.commit === commit && !v.registered);
    if (holder) version = holder.version;
    else if (options.skipRegistration) version = commit;
    else {
      version = versionToRegister(name, state, commit, {});
      await writer.write(
        { action: "register", artifact: name, version },
        false,
        commit,
        `Registering artifact ${name} version ${version}`,
      );
    }
  }
  if (!options.force && holder && standsIn(holder, options.stage))
    throw new MlvError(
      "EREGISTRY",
      `version '${holder.version}' of artifact '${name}' is in stage '${options.stage}' already`,
      {
        data: { artifact: name, version: holder.version, stage: options.stage },
        hint: "Give --force to tag it again.",
      },
    );
  const what = version === commit ? `commit ${commit}` : `version ${version}`;
  await writer.write(
    { action: "assign", artifact: name, stage: options.stage },
    true,
    commit,
    options.message ?? `Assigning stage ${options.stage} to artifact ${name} ${what}`,
  );
  return writer.finish(version, commit);
}

export interface UnassignOptions extends RegistryWriteOptions, VersionTarget {
  stage: string;
  force?: boolean;
}

/** `unassign`: tag `name#stage!#N` on the commit of the version that has the stage. */
export async function unassignStage(
  repo: RegistryRepo,
  name: string,
  options: UnassignOptions,
): Promise<RegistryChange> {
  checkArtifactName(name);
  checkStageName(options.stage);
  const state = await artifactState(repo, name);
  const target = await targetVersion(repo, name, state, options);
  if (!options.force && !standsIn(target, options.stage))
    throw new MlvError(
      "EREGISTRY",
      `stage '${options.stage}' is not assigned to version '${target.version}' of artifact '${name}'`,
      { data: { artifact: name, version: target.version, stage: options.stage } },
    );
  const writer = new RegistryWriter(repo, options);
  await writer.write(
    { action: "unassign", artifact: name, stage: options.stage },
    true,
    target.commit,
    options.message ?? `Unassigning stage '${options.stage}' to artifact '${name}' version '${target.version}'`,
  );
  return writer.finish(target.version, target.commit);
}

export interface DeregisterOptions extends RegistryWriteOptions, VersionTarget {}

/** `deregister`: tag `name@vX.Y.Z!` on the version's commit. */
export async function deregisterVersion(
  repo: RegistryRepo,
  name: string,
  options: DeregisterOptions,
): Promise<RegistryChange> {
  checkArtifactName(name);
  const state = await artifactState(repo, name);
  const target = await targetVersion(repo, name, state, options);
  if (!target.registered)
    throw new MlvError("EREGISTRY", `the version at ${short(target.commit)} of artifact '${name}' is not registered`, {
      data: { artifact: name, commit: target.commit },
    });
  if (!target.active)
    throw new MlvError("EREGISTRY", `version '${target.version}' of artifact '${name}' was deregistered already`, {
      data: { artifact: name, version: target.version },
    });
  const writer = new RegistryWriter(repo, options);
  await writer.write(
    { action: "deregister", artifact: name, version: target.version },
    false,
    target.commit,
    options.message ?? `Deregistering artifact ${name} version ${target.version}`,
  );
  return writer.finish(target.version, target.commit);
}

/** `deprecate`: tag `name@deprecated` on the commit of the artifact's newest event. */
export async function deprecateArtifact(
  repo: RegistryRepo,
  name: string,
  options: RegistryWriteOptions = {},
): Promise<RegistryChange> {
  checkArtifactName(name);
  const reader = new RegistryReader(repo);
  const state = (await reader.state()).get(name);
  if (state?.deprecated)
    throw new MlvError("EREGISTRY", `artifact '${name}' was deprecated already`, { data: { artifact: name } });
  // Tagged on its newest event's commit; an artifact only declared so far, on HEAD.
  let commit = state?.events.at(-1)?.commit;
  if (commit === undefined) {
    const head = await reader.head();
    const declared = head === undefined ? new Map() : await reader.declaredAt(head);
    if (head === undefined || !declared.has(name))
      throw noArtifact(name, [...new Set([...declared.keys(), ...(await reader.state()).keys()])].sort());
    commit = head;
  }
  const writer = new RegistryWriter(repo, options);
  const names = new Set((await repo.history.tagTargets()).keys());
  // Deprecated once before (then registered again): the plain name is taken, so count this one.
  const counted = names.has(formatRegistryTag({ action: "deprecate", artifact: name }));
  await writer.write(
    { action: "deprecate", artifact: name },
    counted,
    commit,
    options.message ?? `Deprecating artifact '${name}'`,
  );
  return writer.finish("", commit);
}
