/**
 * The model registry's state, read from git tags in GTO's convention (formats/registry-tags.ts):
 * which versions of each artifact are registered, which version each stage holds, which artifacts
 * are deprecated. Git is the whole registry: the state is recomputed from the tags each time.
 *
 * The rules are GTO's, so that mlv, GTO and `dvc artifacts get` agree on one repository:
 * - events count in the order of their tags' dates (then of their `#N` counters);
 * - a version is active unless its last registration event deregisters it;
 * - a stage assigned at a commit with no registered version gives that commit a version of its
 *   own, named by the commit id;
 * - a stage holds the version most recently assigned to it, among active versions whose assignment
 *   was not undone since;
 * - an artifact is deprecated when its last event deprecates it;
 * - the latest version is the highest registered active one by semantic versioning.
 */
import { posix } from "node:path";
import { FormatError } from "../errors.js";
import { loadPipelineFile } from "../formats/dvc-yaml.js";
import { PIPELINE_FILE, type PipelineReader } from "../formats/pipeline.js";
import {
  compareVersions,
  isRegistryVersion,
  parseRegistryTag,
  type RegistryAction,
  type RegistryTagName,
} from "../formats/registry-tags.js";
import type { GitHistory } from "../git/history.js";
import type { AnnotatedTag } from "../git/tags.js";

/** One registry tag, read. */
export interface RegistryEvent extends RegistryTagName {
  tag: string;
  /** The commit the tag names. */
  commit: string;
  /** The tag's date, seconds since the epoch. */
  time: number;
  author: string;
  email: string;
  message: string;
}

/** One version of an artifact. */
export interface ArtifactVersion {
  /** `v1.2.0`; for a commit given a stage without being registered, the commit id. */
  version: string;
  commit: string;
  /** Whether a tag registered it (else only stage tags name its commit). */
  registered: boolean;
  /** False once deregistered. */
  active: boolean;
  /** The stages whose current version this is. */
  stages: string[];
  /** The event that made it a version (its registration, else its first stage assignment). */
  created: RegistryEvent;
  /** Every event of this version, oldest first. */
  events: RegistryEvent[];
}

export interface ArtifactState {
  /** `name`, or `sub/dir:name` for an artifact of `sub/dir/dvc.yaml`. */
  name: string;
  deprecated: boolean;
  /** The highest registered active version. */
  latest?: string;
  /** Stage → the version it holds. */
  stages: Record<string, string>;
  /** Registered versions highest first, then unregistered ones newest first. */
  versions: ArtifactVersion[];
  /** Every event, oldest first. */
  events: RegistryEvent[];
}

/** An artifact as `dvc.yaml` declares it. */
export interface ArtifactDeclaration {
  name: string;
  /** Its path from the project root, posix. */
  path: string;
  type?: string;
  desc?: string;
  labels?: string[];
  /** The `dvc.yaml` that declares it, from the project root. */
  file: string;
}

const ORDER: Record<RegistryAction, number> = { deprecate: 0, register: 1, deregister: 2, assign: 3, unassign: 4 };

function inOrder(a: RegistryEvent, b: RegistryEvent): number {
  return a.time - b.time || (a.counter ?? 0) - (b.counter ?? 0) || ORDER[a.action] - ORDER[b.action];
}

/** The registry event a tag records, or undefined when its name is not a registry tag. */
export function registryEvent(tag: AnnotatedTag): RegistryEvent | undefined {
  const name = parseRegistryTag(tag.name);
  if (name === undefined) return undefined;
  return {
    ...name,
    tag: tag.name,
    commit: tag.commit,
    time: tag.tagger.timestamp,
    author: tag.tagger.name,
    email: tag.tagger.email,
    message: tag.message,
  };
}

interface Building {
  version: string;
  commit: string;
  direct: RegistryEvent[];
  staged: Map<string, RegistryEvent[]>;
}

function artifactState(name: string, events: RegistryEvent[]): ArtifactState {
  const sorted = [...events].sort(inOrder);
  const versions: Building[] = [];
  for (const e of sorted) {
    if (e.action !== "register" && e.action !== "deregister") continue;
    let v = versions.find((x) => x.version === e.version);
    if (v === undefined) {
      v = { version: e.version!, commit: e.commit, direct: [], staged: new Map() };
      versions.push(v);
    }
    v.direct.push(e);
  }
  const isActive = (v: Building) => v.direct.length === 0 || v.direct.at(-1)!.action === "register";
  for (const e of sorted) {
    if (e.action !== "assign" && e.action !== "unassign") continue;
    const atCommit = versions.filter((x) => x.commit === e.commit);
    let v = atCommit.find(isActive) ?? atCommit[0];
    if (v === undefined) {
      v = { version: e.commit, commit: e.commit, direct: [], staged: new Map() };
      versions.push(v);
    }
    const list = v.staged.get(e.stage!) ?? v.staged.set(e.stage!, []).get(e.stage!)!;
    list.push(e);
  }

  // Each stage: the version whose standing assignment is the most recent.
  const standing: { stage: string; version: string; since: RegistryEvent }[] = [];
  for (const v of versions) {
    if (!isActive(v)) continue;
    for (const [stage, list] of v.staged) {
      const last = list.at(-1)!;
      if (last.action === "assign") standing.push({ stage, version: v.version, since: last });
    }
  }
  standing.sort((a, b) => inOrder(b.since, a.since));
  const stages: Record<string, string> = {};
  for (const s of standing) if (!(s.stage in stages)) stages[s.stage] = s.version;

  const result: ArtifactVersion[] = versions.map((v) => {
    const all = [...v.direct, ...[...v.staged.values()].flat()].sort(inOrder);
    const registration = v.direct.find((e) => e.action === "register");
    return {
      version: v.version,
      commit: v.commit,
      registered: registration !== undefined,
      active: isActive(v),
      stages: Object.keys(stages)
        .filter((s) => stages[s] === v.version)
        .sort(),
      created: registration ?? all.find((e) => e.action === "assign") ?? all[0]!,
      events: all,
    };
  });
  result.sort((a, b) => {
    const ra = isRegistryVersion(a.version);
    const rb = isRegistryVersion(b.version);
    if (ra && rb) return compareVersions(b.version, a.version);
    if (ra !== rb) return ra ? -1 : 1;
    return inOrder(b.created, a.created);
  });
  const latest = result.find((v) => v.registered && v.active && isRegistryVersion(v.version))?.version;
  return {
    name,
    deprecated: sorted.at(-1)?.action === "deprecate",
    ...(latest === undefined ? {} : { latest }),
    stages: Object.fromEntries(Object.entries(stages).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    versions: result,
    events: sorted,
  };
}

/** The registry's state from its events: artifact name → state, names sorted. */
export function registryState(events: readonly RegistryEvent[]): Map<string, ArtifactState> {
  const byArtifact = new Map<string, RegistryEvent[]>();
  for (const e of events) (byArtifact.get(e.artifact) ?? byArtifact.set(e.artifact, []).get(e.artifact)!).push(e);
  const names = [...byArtifact.keys()].sort();
  return new Map(names.map((name) => [name, artifactState(name, byArtifact.get(name)!)]));
}

/** Every registry event of a repository's tags. */
export async function readRegistryEvents(history: GitHistory): Promise<RegistryEvent[]> {
  const tags = await history.annotatedTags((name) => parseRegistryTag(name) !== undefined);
  return tags.map(registryEvent).filter((e) => e !== undefined);
}

/**
 * The artifacts the `dvc.yaml` files of a commit declare (below the project folder `subdir`),
 * by name. A `dvc.yaml` that cannot be read is reported to `onInvalid` and skipped.
 */
export async function declaredArtifacts(
  history: GitHistory,
  commit: string,
  options: { subdir?: string; onInvalid?: (error: FormatError) => void } = {},
): Promise<Map<string, ArtifactDeclaration>> {
  const { files } = await history.trackingFilesAt(commit, options.subdir);
  const sub = history.projectFolder(options.subdir);
  const declared = new Map<string, ArtifactDeclaration>();
  const yamls = [...files.keys()].filter((p) => posix.basename(p) === PIPELINE_FILE).sort();
  for (const gitPath of yamls) {
    const rel = sub === "" ? gitPath : gitPath.slice(sub.length + 1);
    const reader: PipelineReader = {
      read: async (path) =>
        (await history.readFileAtRevision(commit, sub === "" ? path : `${sub}/${path}`))?.toString("utf8"),
    };
    let artifacts: Record<string, unknown>;
    try {
      artifacts = (await loadPipelineFile(rel, await history.trackingFileText(files.get(gitPath)!), reader)).artifacts;
    } catch (err) {
      if (!(err instanceof FormatError)) throw err;
      options.onInvalid?.(err);
      continue;
    }
    const dir = posix.dirname(rel);
    for (const [key, value] of Object.entries(artifacts)) {
      const a = value as { path: string; type?: string; desc?: string; labels?: string[] };
      const name = dir === "." ? key : `${dir}:${key}`;
      declared.set(name, {
        name,
        path: posix.normalize(dir === "." ? a.path : `${dir}/${a.path}`),
        ...(a.type === undefined ? {} : { type: a.type }),
        ...(a.desc === undefined ? {} : { desc: a.desc }),
        ...(a.labels === undefined ? {} : { labels: a.labels }),
        file: rel,
      });
    }
  }
  return declared;
}
