/**
 * `mlv artifacts get URL NAME` (DVC's `dvc artifacts get`): the version of a registered artifact
 * that a version number or a stage names (default the latest), found through that repository's
 * registry tags and its `dvc.yaml`, then downloaded as `mlv get` downloads a path.
 */
import { type ArtifactSelector, type ResolvedArtifact, resolveArtifact } from "../ops/artifacts.js";
import { type GetOptions, type GetResult, getFromSource, resolveOutput } from "./get.js";
import { closeSource, openSource } from "./source.js";

export interface GetArtifactOptions extends Omit<GetOptions, "rev">, ArtifactSelector {}

export interface GetArtifactResult extends GetResult {
  artifact: ResolvedArtifact;
}

/**
 * Copy a version of the artifact `name` of the repository at `url` (a local path, or a git URL
 * cloned with its tags) to `out` (default the artifact's file name, here). No repository is needed
 * here; the data comes from the source's cache when on this machine, else from its remote, verified.
 */
export async function getArtifact(
  url: string,
  name: string,
  options: GetArtifactOptions = {},
): Promise<GetArtifactResult> {
  options.signal?.throwIfAborted();
  const cwd = options.cwd ?? process.cwd();
  const source = await openSource(url, undefined, cwd, { whole: true });
  try {
    const artifact = await resolveArtifact(
      { gitRoot: source.history.gitRoot, history: source.history, tracked: source.tracked },
      name,
      { version: options.version, stage: options.stage },
    );
    const dest = resolveOutput(artifact.path, options.out, cwd, options.force);
    const atVersion = { ...source, commit: artifact.commit, config: undefined };
    const result = await getFromSource(atVersion, artifact.path, dest, options);
    return { ...result, artifact };
  } finally {
    await closeSource(source);
  }
}
