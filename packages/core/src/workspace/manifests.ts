import { readFile } from "node:fs/promises";
import type { HashName } from "../cache/object-cache.js";
import { parseDirManifest } from "../formats/dir-manifest.js";
import type { Repo } from "../repo.js";

export interface ManifestEntry {
  relpath: string;
  md5: string;
}

/** The file list of a `.dir` object in the local cache; throws if it is missing or malformed. */
export async function readDirObject(repo: Repo, oid: string, hashName: HashName): Promise<ManifestEntry[]> {
  const p = repo.cache.path(oid, hashName);
  const bytes = await readFile(p);
  return parseDirManifest(bytes, p, "md5");
}
