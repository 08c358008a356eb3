import { existsSync } from "node:fs";
import { objectKey } from "../cache/object-cache.js";
import type { TrackedOut } from "../data-index/types.js";
import type { Project } from "../project/project.js";
import type { ReadableRemote } from "../remote.js";
import { defaultJobs, remoteContains } from "./remote-contains.js";
import { type UsedObject, usedObjects } from "./used-objects.js";

export type CloudState = "new" | "deleted" | "missing";

/**
 * `mlv status -c`: what a push or fetch would move, applied to nothing. Each object the outputs
 * use, compared between the cache and the remote (spec §8.2): new (only in the cache, a push
 * would upload it), deleted (only on the remote, a fetch would download it), missing (in neither).
 */
export async function cloudStatus(
  project: Project,
  outs: TrackedOut[],
  remote: ReadableRemote,
  jobs?: number,
): Promise<{ path: string; state: CloudState }[]> {
  // `push: false` outputs never go to the remote, so they are not compared with it (as DVC).
  const { objects } = await usedObjects(
    project,
    outs.filter((o) => o.out.raw.push !== false),
  );
  const all: UsedObject[] = [];
  for (const o of objects) all.push(...(o.dir ? [o.dir] : []), ...o.files);
  const onRemote = await remoteContains(
    remote,
    all.map((o) => objectKey(o.oid, o.hashName)),
    jobs ?? defaultJobs(remote),
  );
  const states: { path: string; state: CloudState }[] = [];
  const seen = new Set<string>();
  for (const o of all) {
    const key = `${o.oid}\0${o.path}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const local = existsSync(project.cache.path(o.oid, o.hashName));
    const remoteHas = onRemote.has(objectKey(o.oid, o.hashName));
    if (local && !remoteHas) states.push({ path: o.path, state: "new" });
    else if (!local && remoteHas) states.push({ path: o.path, state: "deleted" });
    else if (!local && !remoteHas) states.push({ path: o.path, state: "missing" });
  }
  return states;
}
