import { posix, sep } from "node:path";
import type { RevisionOut } from "../data-index/types.js";
import { MlvError, UsageError } from "../errors.js";
import { short } from "../git/objects.js";
import type { Source } from "./source.js";

/** What a path of a source repository is: a plain file git holds, or tracked data. */
export type Item =
  | { kind: "git"; path: string; bytes: Buffer }
  /** An output, or (`sub`) a file or folder inside a tracked folder. */
  | { kind: "out"; path: string; out: RevisionOut; sub?: string };

function normalisePath(path: string): string {
  const p = posix.normalize(path.split(sep).join("/")).replace(/\/+$/, "");
  if (p === "" || p === "." || p === ".." || p.startsWith("../") || p.startsWith("/"))
    throw new UsageError(`'${path}' is not a path inside the source repository: give it from the repository's top`, {
      path,
    });
  return p;
}

/** What `path` (from the source repository's top) is at the source's commit. */
export async function locate(source: Source, path: string): Promise<Item> {
  const rel = normalisePath(path);
  // `cache: false` outputs are not data: their bytes, when anywhere, are in git.
  const outs = (await source.tracked.at(source.commit)).filter((o) => o.out.raw.cache !== false);
  const own = outs.find((o) => o.rel === rel);
  if (own) return { kind: "out", path: rel, out: own };
  const around = outs.find((o) => rel.startsWith(`${o.rel}/`));
  if (around) {
    if (!around.isDir)
      throw new MlvError("ENOTFOUND", `'${path}' is inside '${around.rel}', which is a file, in '${source.url}'`, {
        data: { path },
      });
    return { kind: "out", path: rel, out: around, sub: rel.slice(around.rel.length + 1) };
  }
  const bytes = await source.history.readFileAtRevision(source.commit, rel);
  if (bytes !== undefined) return { kind: "git", path: rel, bytes };
  const inside = outs.filter((o) => o.rel.startsWith(`${rel}/`));
  if (inside.length > 0)
    throw new MlvError(
      "EUNSUPPORTED",
      `'${path}' is a folder holding ${inside.length} tracked output(s) (${inside.map((o) => o.rel).join(", ")}) in '${source.url}': get each of them on its own`,
      { data: { path } },
    );
  throw new MlvError(
    "ENOTFOUND",
    `The path '${path}' does not exist in the target repository '${source.url}' at ${short(source.commit)} neither as a DVC output nor as a Git-tracked file.`,
    { data: { path, url: source.url, rev: source.commit } },
  );
}
