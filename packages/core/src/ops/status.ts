import type { Repo, TrackedOut } from "../repo.js";
import { hashWorkspacePath, isInCache } from "../workspace/hasher.js";

export type OutState = "not in cache" | "deleted" | "modified" | "new";

/** DVC's `status --json` shape: `{ "data.dvc": [{ "changed outs": { "data": "modified" } }] }`. */
export type WorkspaceStatus = Record<string, { "changed outs": Record<string, OutState> }[]>;

export interface StatusEntry {
  pointer: string;
  path: string;
  state: OutState;
}

/**
 * `mlv status`: each output against its pointer, first match wins (spec §8.2): not in cache,
 * deleted, modified, new. Unchanged files are answered by the hash cache without reading them.
 */
export async function workspaceStatus(repo: Repo, outs: TrackedOut[]): Promise<StatusEntry[]> {
  const changes: StatusEntry[] = [];
  for (const out of outs) {
    const state = await outState(repo, out);
    if (state) changes.push({ pointer: out.pointerRel, path: out.rel, state });
  }
  return changes;
}

async function outState(repo: Repo, out: TrackedOut): Promise<OutState | undefined> {
  const oid = out.out.md5;
  if (!oid) return "new";
  // Start walking the workspace first: the cache check below runs while worker threads stat files.
  const walking = hashWorkspacePath(repo, out.abs, out.hashName, { expectedFiles: out.out.nfiles });
  walking.catch(() => {}); // awaited below; an error must not surface before then
  if (out.out.raw?.cache !== false && !(await isInCache(repo, oid, out.hashName))) return "not in cache";
  const ws = await walking;
  if (ws.kind === "missing") return "deleted";
  if (ws.md5 !== oid) return "modified";
  return undefined;
}

/** Group entries the way `dvc status --json` does. Paths are as given (the CLI makes them cwd-relative). */
export function toDvcStatusJson(
  entries: StatusEntry[],
  display: (repoRel: string) => string = (p) => p,
): WorkspaceStatus {
  const result: WorkspaceStatus = {};
  for (const e of entries) {
    const key = display(e.pointer);
    result[key] ??= [{ "changed outs": {} }];
    result[key][0]!["changed outs"][display(e.path)] = e.state;
  }
  return result;
}
