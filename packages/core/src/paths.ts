import { sep } from "node:path";

/** A native path with "/" separators, as paths from a repository's root are kept. */
export function toPosix(p: string): string {
  return sep === "/" ? p : p.split(sep).join("/");
}
