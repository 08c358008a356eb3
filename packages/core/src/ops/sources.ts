/**
 * Where commands that compare revisions (`metrics`, `params`) read small files from: the workspace,
 * or one git commit read without a checkout. Paths are posix, from the project root.
 */
import { readFile } from "node:fs/promises";
import { isAbsolute, relative, resolve, sep } from "node:path";
import { collectIndex } from "../data-index/index.js";
import { MlvError, UsageError } from "../errors.js";
import { loadPipelineFile } from "../formats/dvc-yaml.js";
import { PIPELINE_FILE, type PipelineFile, type PipelineReader } from "../formats/pipeline.js";
import { GitHistory } from "../git/revisions.js";
import type { Project as Repo } from "../project/project.js";

/** The name DVC gives the working tree among revisions. */
export const WORKSPACE = "workspace";

/** Files of the workspace or of one commit; undefined when there is no such file. */
export interface FileSource {
  read(rel: string): Promise<Buffer | undefined>;
}

/** The project's git history and the project's folder inside it. */
export interface GitView {
  history: GitHistory;
  /** The project root from the git root, posix, with a trailing slash ("" at the git root). */
  prefix: string;
}

export async function gitView(repo: Repo): Promise<GitView> {
  const scm = await repo.scm();
  if (!scm) throw new UsageError("revisions are read from git, and this project is not in a git repository");
  const sub = relative(scm.root, repo.root).split(sep).join("/");
  return { history: new GitHistory(scm.root), prefix: sub ? `${sub}/` : "" };
}

export function workspaceSource(repo: Repo): FileSource {
  return {
    read: async (rel) => {
      try {
        return await readFile(resolve(repo.root, rel));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR") return undefined;
        throw new MlvError("EREAD", `cannot read '${rel}': ${(err as Error).message}`, {
          data: { path: rel },
          cause: err,
        });
      }
    },
  };
}

export function revisionSource(git: GitView, commit: string): FileSource {
  return { read: (rel) => git.history.readFileAtRevision(commit, `${git.prefix}${rel}`) };
}

/**
 * Command-line files (relative to `cwd`) as paths from the project root, posix; each must be
 * inside the project. `what` names such a file in the error ("a metrics file").
 */
export function givenFiles(repo: Repo, files: readonly string[], cwd: string, what: string): string[] {
  return files.map((f) => {
    const rel = relative(repo.root, resolve(cwd, f));
    if (rel === "" || rel.startsWith("..") || isAbsolute(rel))
      throw new UsageError(`'${f}' is outside the project '${repo.root}': give ${what} inside it`, {
        path: f,
      });
    return rel.split(sep).join("/");
  });
}

/** A `PipelineReader` over a file source (params and vars files read as UTF-8 text). */
function pipelineReader(source: FileSource): PipelineReader {
  return { read: async (path) => (await source.read(path))?.toString("utf8") };
}

/**
 * The `dvc.yaml` files to read in every revision: those of the workspace, found by the workspace
 * walk, and the root one. A revision is asked for each; one it lacks is skipped there.
 */
export async function pipelinePaths(repo: Repo): Promise<string[]> {
  const { stages } = await collectIndex(repo);
  return [...new Set([PIPELINE_FILE, ...stages.map(({ stage }) => stage.file)])];
}

/** The pipeline files of one revision (those of `paths` it holds), resolved. */
export async function loadPipelines(source: FileSource, paths: readonly string[]): Promise<PipelineFile[]> {
  const reader = pipelineReader(source);
  const files: PipelineFile[] = [];
  for (const path of paths) {
    const text = await reader.read(path);
    if (text !== undefined) files.push(await loadPipelineFile(path, text, reader));
  }
  return files;
}
