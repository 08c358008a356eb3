/**
 * Works around an isomorphic-git bug (seen in 1.44.x): a packfile index read from its `.idx` file
 * starts with `readDepth` undefined, so `readDepth++` gives NaN, the `readDepth > 3` test that
 * decides whether to keep an undeltified object always fails, and every read of a deltified
 * object inflates its whole delta chain again (up to 50 objects in a `git gc`-ed repository).
 * Packs isomorphic-git builds itself start at 0 and keep every object after their first few reads;
 * this gives packs read from disk the same behaviour.
 *
 * isomorphic-git never lets go of what it keeps, so the kept objects are also bounded here: past
 * MAX_KEPT_BYTES they are all dropped, and the walk builds up again what it still reads.
 *
 * It only touches what isomorphic-git keeps in the `cache` object the caller owns, and does nothing
 * when that looks different (another version): the reads stay correct either way, only slower.
 */
const tuned = new WeakSet<object>();

/** The objects one cache keeps from its packs, undeltified, at most (checked every CHECK_EVERY reads: summing them costs a pass over all). */
const MAX_KEPT_BYTES = 32 * 1024 * 1024;
const CHECK_EVERY = 4_096;

interface PackIndexLike {
  readDepth?: unknown;
  offsetCache?: unknown;
}

interface Kept {
  indexes: PackIndexLike[];
  reads: number;
}

const kept = new WeakMap<object, Kept>();

function keptBytes(offsetCache: object): number {
  let bytes = 0;
  for (const entry of Object.values(offsetCache)) {
    const object = (entry as { object?: { byteLength?: unknown } } | null)?.object;
    bytes += typeof object?.byteLength === "number" ? object.byteLength : 0;
  }
  return bytes;
}

/** Call after every read through `cache`. */
export function keepUndeltifiedObjects(cache: object): void {
  let state = kept.get(cache);
  if (state === undefined) {
    state = { indexes: [], reads: 0 };
    kept.set(cache, state);
  }
  for (const key of Object.getOwnPropertySymbols(cache)) {
    const packs = (cache as Record<symbol, unknown>)[key];
    if (!(packs instanceof Map)) continue;
    for (const pending of packs.values()) {
      if (typeof pending !== "object" || pending === null || tuned.has(pending)) continue;
      tuned.add(pending);
      const indexes = state.indexes;
      void Promise.resolve(pending).then(
        (index: PackIndexLike | undefined) => {
          if (!index || typeof index.offsetCache !== "object" || index.offsetCache === null) return;
          // Still undefined when no object was read yet, NaN after.
          if (index.readDepth === undefined || Number.isNaN(index.readDepth)) index.readDepth = 4;
          indexes.push(index);
        },
        () => undefined, // isomorphic-git reports a pack that fails to load to the read that needed it
      );
    }
  }
  if (++state.reads % CHECK_EVERY !== 0) return;
  let bytes = 0;
  for (const index of state.indexes) bytes += keptBytes(index.offsetCache as object);
  if (bytes > MAX_KEPT_BYTES) for (const index of state.indexes) index.offsetCache = {};
}
