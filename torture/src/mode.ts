/**
 * Short or full run. `npm test` runs the short version of every suite (a sample of each matrix,
 * sized to keep CI within minutes); `npm run torture` sets TORTURE=full and runs all of it.
 */
export const FULL = process.env.TORTURE === "full";

/** `quick` in the short run, `full` in the full one. */
export function sized<T>(quick: T, full: T): T {
  return FULL ? full : quick;
}
