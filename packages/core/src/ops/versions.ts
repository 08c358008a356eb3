/**
 * `mlv versions PATH`: every version of one tracked output through git history — the commits of a
 * branch at which its pointer file (or, for a stage output, its record in `dvc.lock`) changed, and
 * the tags that hold it — read without a checkout.
 */
import { existsSync } from "node:fs";
import { basename, dirname, isAbsolute, join, posix, relative, resolve } from "node:path";
import { raceAbort } from "../abort.js";
import { collectOuts } from "../data-index/index.js";
import { FormatError, MlvError, UsageError } from "../errors.js";
import { parseLockFile } from "../formats/dvc-lock.js";
import { LOCK_FILE } from "../formats/pipeline.js";
import type { Out } from "../formats/pointer.js";
import { parseRegistryTag } from "../formats/registry-tags.js";
import { isoDate } from "../git/objects.js";
import type { CommitInfo } from "../git/revisions.js";
import { toPosix } from "../paths.js";
import type { Project } from "../project/project.js";
import { listArtifacts, type RegistryRepo } from "./artifacts.js";
import { flattenMetrics, type MetricValue, parseMetrics } from "./metrics.js";
import { projectHistory } from "./revisions.js";

/** One version of a tracked output. */
export interface OutputVersion {
  /** The commit, full id. */
  commit: string;
  /** Its first 7 characters. */
  rev: string;
  /** Tags that name this commit, or (on the branch's history) a later commit holding this same version. */
  tags: string[];
  /** Author date, ISO 8601 in UTC (`2024-05-01T12:00:00Z`). */
  date: string;
  author: string;
  email: string;
  /** First line of the commit message. */
  message: string;
  /** How the pointer changed in this commit (compared with its first parent). */
  change: "added" | "modified" | "deleted";
  /** The output's hash at this version; undefined once deleted, or when the pointer cannot be read. */
  md5?: string;
  size?: number;
  nfiles?: number;
  /** False for a tag whose commit is not on the branch's history and whose version is none of the listed ones. */
  onBranch: boolean;
  /** With `metricsFile`: its flattened values at this commit; undefined when the file is absent there. */
  metrics?: Record<string, MetricValue>;
  /** Why the pointer (or the metrics file) could not be read at this commit. */
  error?: string;
  /** The model registry's versions this row holds (artifacts whose path is this output), with their current stages. */
  registry?: { artifact: string; version: string; stages: string[] }[];
}

export interface VersionsOptions {
  /** Whose history to walk (default HEAD). */
  rev?: string;
  /** A metrics file, from the repository root (posix), whose values at each version are reported. */
  metricsFile?: string;
  /** Abort: the call rejects with the signal's reason (nothing is written but git's history index). */
  signal?: AbortSignal;
}

export interface VersionsResult {
  /** The pointer file, from the project root, posix. */
  pointer: string;
  /** The output's path, from the project root, posix. */
  path: string;
  /** The revision whose history was walked, as given. */
  rev: string;
  /** The metrics file, from the project root, posix, when asked for. */
  metricsFile?: string;
  /** Newest first: the branch's versions, then tags off the branch with other versions. */
  versions: OutputVersion[];
}

/** Path from the git root, posix, of an absolute path; UsageError when outside the project. */
function insideProject(project: Project, gitRoot: string, abs: string, given: string): string {
  const fromProject = relative(project.root, abs);
  if (fromProject === "" || fromProject.startsWith("..") || isAbsolute(fromProject))
    throw new UsageError(`'${given}' is outside the project '${project.root}'`, { path: given });
  return toPosix(relative(gitRoot, abs));
}

/**
 * The versions of the output at `path` (a tracked path such as `models/model.h5`, or its pointer
 * `models/model.h5.dvc`), newest first: each commit of `rev`'s history (default HEAD) at which its
 * pointer changed, then each tag off that history whose version differs from all of them
 * (`onBranch: false`). With `metricsFile`, that file's values at each of those commits. Relative
 * paths are from the repository root, whatever `process.cwd()` is.
 */
export function outputVersions(project: Project, path: string, options: VersionsOptions = {}): Promise<VersionsResult> {
  return raceAbort(options.signal, () => versionsOf(project, path, options));
}

async function versionsOf(project: Project, path: string, options: VersionsOptions): Promise<VersionsResult> {
  const { signal } = options;
  const scm = await project.scm();
  if (!scm) throw new UsageError("mlv versions reads history from git, and this project is not in a git repository");
  const history = projectHistory(project, scm.root);
  const rev = options.rev ?? "HEAD";

  const given = resolve(project.root, path.replace(/[\\/]+$/, ""));
  // A stage output is followed through its `dvc.lock`; anything else through its `.dvc` file.
  const stageOut = existsSync(`${given}.dvc`)
    ? undefined
    : (await collectOuts(project)).find((o) => o.abs === given && o.stage);
  const lockAbs = stageOut && join(dirname(stageOut.ownerPath), LOCK_FILE);
  const pointerAbs = lockAbs ?? (given.endsWith(".dvc") && !existsSync(`${given}.dvc`) ? given : `${given}.dvc`);
  const dataAbs = pointerAbs === given ? undefined : given;
  const pointerGit = insideProject(project, scm.root, pointerAbs, path);
  const owner = stageOut ? stageOut.owner : project.relOf(pointerAbs);
  const metricsGit =
    options.metricsFile === undefined
      ? undefined
      : insideProject(project, scm.root, resolve(project.root, options.metricsFile), options.metricsFile);

  /** The out of a pointer this command follows: the one at `path`, or the only/first one. */
  const pick = (outs: Out[]): Out | undefined => {
    if (dataAbs !== undefined) {
      const match = outs.find((o) => resolve(dirname(pointerAbs), o.path) === dataAbs);
      if (match) return match;
    }
    return outs.length === 1 || dataAbs === undefined ? outs[0] : undefined;
  };

  /** The output followed as recorded at a commit: undefined without the file, null when the file lacks it. */
  const outAt = async (oid: string): Promise<Pick<Out, "md5" | "size" | "nfiles"> | null | undefined> => {
    if (stageOut?.stage) {
      const text = (await history.readFileAtRevision(oid, pointerGit))?.toString("utf8");
      if (text === undefined) return undefined;
      const lock = parseLockFile(text, `${oid.slice(0, 7)}:${pointerGit}`);
      return lock.stages.get(stageOut.stage.stage.name)?.outs.find((o) => o.path === stageOut.out.path) ?? null;
    }
    const pointer = await history.pointerAtRevision(oid, pointerGit);
    return pointer === undefined ? undefined : (pick(pointer.outs) ?? null);
  };

  const describe = async (commit: CommitInfo, blob: string | undefined) => {
    signal?.throwIfAborted();
    const fields: Pick<OutputVersion, "md5" | "size" | "nfiles" | "metrics" | "error"> = {};
    const errors: string[] = [];
    if (blob !== undefined) {
      try {
        const out = await outAt(commit.oid);
        if (out) {
          fields.md5 = out.md5;
          fields.size = out.size;
          fields.nfiles = out.nfiles;
        } else if (out === null)
          errors.push(`${commit.oid.slice(0, 7)}:${pointerGit} tracks no '${basename(dataAbs ?? "")}'`);
      } catch (err) {
        if (!(err instanceof FormatError)) throw err;
        errors.push(err.message);
      }
    }
    if (metricsGit !== undefined) {
      const bytes = await history.readFileAtRevision(commit.oid, metricsGit);
      if (bytes !== undefined) {
        try {
          fields.metrics = Object.fromEntries(
            flattenMetrics(parseMetrics(bytes.toString("utf8"), `${commit.oid.slice(0, 7)}:${metricsGit}`)),
          );
        } catch (err) {
          if (!(err instanceof MlvError)) throw err;
          errors.push(err.message);
        }
      }
    }
    if (errors.length > 0) fields.error = errors.join("; ");
    return fields;
  };

  const base = (c: CommitInfo) => ({
    commit: c.oid,
    rev: c.oid.slice(0, 7),
    tags: [] as string[],
    date: isoDate(c.author.timestamp),
    author: c.author.name,
    email: c.author.email,
    message: c.message.split("\n")[0]?.trim() ?? "",
  });

  const [changes, tagTargets, commits] = await Promise.all([
    history.commitsTouching(pointerGit, rev),
    history.tagTargets(),
    history.history(rev),
  ]);
  const described: OutputVersion[] = await Promise.all(
    changes.map(async (c) => ({ ...base(c), change: c.change, onBranch: true, ...(await describe(c, c.blob)) })),
  );
  // A lock file changes with every stage: keep the commits at which this output changed.
  const versions = stageOut
    ? described.filter((v, i) => v.change === "deleted" || v.md5 !== described[i + 1]?.md5)
    : described;

  // Tags: on the row of the version they hold. Off the branch, a version of their own unless listed.
  const order = new Map(commits.map((c, i) => [c.oid, i]));
  const rowOf = new Map(versions.map((v, i) => [v.commit, i]));
  const offBranch = new Map<string, string[]>();
  const blobAt = async (oid: string) => {
    try {
      return (await outAt(oid))?.md5;
    } catch (err) {
      if (err instanceof FormatError) return undefined;
      throw err;
    }
  };
  for (const [tag, oid] of [...tagTargets].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const row = rowOf.get(oid);
    if (row !== undefined) {
      versions[row]!.tags.push(tag);
      continue;
    }
    const at = order.get(oid);
    if (at !== undefined) {
      // On the branch, between changes: it holds the version of the newest change before it.
      const holder = versions.find((v) => (order.get(v.commit) ?? -1) > at);
      if (holder && holder.md5 !== undefined) holder.tags.push(tag);
      continue;
    }
    const md5 = await blobAt(oid);
    if (md5 === undefined || versions.some((v) => v.md5 === md5)) continue;
    const list = offBranch.get(oid) ?? offBranch.set(oid, []).get(oid)!;
    list.push(tag);
  }
  const extra = await Promise.all(
    [...offBranch].map(async ([oid, tags]) => {
      const c = await history.commit(oid);
      return {
        ...base(c),
        tags,
        change: "modified" as const,
        onBranch: false,
        ...(await describe(c, "present")),
      };
    }),
  );
  extra.sort((a, b) => (a.date < b.date ? 1 : a.date > b.date ? -1 : 0));

  if (versions.length === 0 && extra.length === 0) {
    const known = existsSync(pointerAbs);
    throw new MlvError(
      "ENOVERSIONS",
      known
        ? `'${owner}' is not committed in the history of ${rev}: commit it with git first`
        : `'${path}' has no pointer '${owner}' in the history of ${rev} or in any tag: give a path a .dvc file tracks (or that .dvc file)`,
      {
        data: { path, pointer: owner, rev },
        ...(known
          ? {}
          : {
              hint: "Track it with 'mlv add' and commit its .dvc file; 'mlv list . --dvc-only' shows what is tracked.",
            }),
      },
    );
  }
  signal?.throwIfAborted();
  const outPath = dataAbs ? project.relOf(dataAbs) : posix.join(posix.dirname(owner), basename(owner, ".dvc"));
  const all = [...versions, ...extra];
  await addRegistryVersions(all, outPath, {
    gitRoot: scm.root,
    history,
    subdir: toPosix(relative(scm.root, project.root)),
  });
  history.saveIndex();
  return {
    pointer: owner,
    path: outPath,
    rev,
    ...(metricsGit === undefined ? {} : { metricsFile: project.relOf(join(scm.root, metricsGit)) }),
    versions: all,
  };
}

/**
 * Mark the rows that hold a registry version of an artifact at `outPath` (the version's commit, or
 * the row its registration tag went to), with the stages that version holds now.
 */
async function addRegistryVersions(rows: OutputVersion[], outPath: string, repo: RegistryRepo): Promise<void> {
  // A registry version's tags are on its row: without any, there is nothing to read.
  if (!rows.some((r) => r.tags.some((t) => parseRegistryTag(t) !== undefined))) return;
  const artifacts = (await listArtifacts(repo, { deprecated: true })).filter(
    (a) => a.path === outPath || a.versions.some((v) => v.path === outPath),
  );
  for (const a of artifacts)
    for (const v of a.versions) {
      if (v.path !== undefined && v.path !== outPath) continue;
      const row = rows.find((r) => r.commit === v.commit) ?? rows.find((r) => r.tags.includes(v.tag));
      if (!row) continue;
      row.registry ??= [];
      row.registry.push({ artifact: a.name, version: v.version, stages: v.stages });
    }
}
