/**
 * Works around an isomorphic-git bug (seen in 1.44.x): a packfile index read from its `.idx` file
 * starts with `readDepth` undefined, so `readDepth++` gives NaN, the `readDepth > 3` test that
 * decides whether to keep an undeltified object always fails, and every read of a deltified
 * object inflates its whole delta chain again (up to 50 objects in a `git gc`-ed repository).
 * Packs isomorphic-git builds itself start at 0 and keep every object after their first few reads;
 * this gives packs read from disk the same behaviour.
 *
 * It only touches what isomorphic-git keeps in the `cache` object the caller owns, and does nothing
 * when that looks different (another version): the reads stay correct either way, only slower.
 */
const tuned = new WeakSet<object>();

interface PackIndexLike {
  readDepth?: unknown;
  offsetCache?: unknown;
}

export function keepUndeltifiedObjects(cache: object): void {
  for (const key of Object.getOwnPropertySymbols(cache)) {
    const packs = (cache as Record<symbol, unknown>)[key];
    if (!(packs instanceof Map)) continue;
    for (const pending of packs.values()) {
      if (typeof pending !== "object" || pending === null || tuned.has(pending)) continue;
      tuned.add(pending);
      void Promise.resolve(pending).then(
        (index: PackIndexLike | undefined) => {
          if (index && typeof index.offsetCache === "object" && Number.isNaN(index.readDepth)) index.readDepth = 4;
        },
        () => undefined, // isomorphic-git reports a pack that fails to load to the read that needed it
      );
    }
  }
}
