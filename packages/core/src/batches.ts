import { collectGarbageIfGrown } from "./collect-garbage.js";

/**
 * `fn` over `items`, `size` at a time, results in order. A first walk of thousands of commits
 * would otherwise hold them all in flight; and since such a walk makes garbage in a burst, the
 * heap is collected between batches once it has grown enough (see collectGarbageIfGrown).
 */
export async function mapInBatches<T, R>(items: readonly T[], size: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) {
    if (i > 0) collectGarbageIfGrown();
    out.push(...(await Promise.all(items.slice(i, i + size).map(fn))));
  }
  return out;
}
