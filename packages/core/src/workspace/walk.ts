import { readdirSync, type Stats, statSync } from "node:fs";
import { join } from "node:path";
import { TEMP_FILE } from "../atomic-write.js";
import { FormatError, translateFsError } from "../errors.js";
import type { DvcIgnore } from "./dvcignore.js";

export interface WalkedFile {
  /** Posix path relative to the walked folder. */
  rel: string;
  abs: string;
  st: Stats;
}

/**
 * Every file below `dir` that a tracked directory holds (spec §2.4): symlinked files by their
 * target, symlinked folders not descended into, `.git`/`.dvc`/`.hg` and nested repositories left
 * out, `.dvcignore` rules applied. Synchronous on purpose: on small files it is several times faster
 * than the promise API. `dirRel` is the folder's path from the repository root, for the rules.
 * mlv's temporary files met on the way are left out, and their paths added to `temps` if given.
 */
export function walkFiles(dir: string, dirRel: string, rules: DvcIgnore, temps?: string[]): WalkedFile[] {
  const out: WalkedFile[] = [];
  const visit = (abs: string, rel: string, isRoot: boolean) => {
    const entries = readdirSync(abs, { withFileTypes: true });
    if (!isRoot && entries.some((e) => e.name === ".dvc" && e.isDirectory())) return; // a nested repository
    for (const e of entries) {
      const childAbs = join(abs, e.name);
      if (TEMP_FILE.test(e.name)) {
        temps?.push(childAbs); // mlv's own temporary file (maybe a killed command's): never data
        continue;
      }
      const childRel = rel ? `${rel}/${e.name}` : e.name;
      const fromRoot = dirRel ? `${dirRel}/${childRel}` : childRel;
      if (e.name === ".dvcignore")
        throw new FormatError(childAbs, `.dvcignore file should not be in collected dir path: '${dir}'`);
      let isDir = e.isDirectory();
      let st: Stats | undefined;
      if (e.isSymbolicLink()) {
        try {
          st = statSync(childAbs);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === "ENOENT") continue; // a dangling link holds no data
          throw translateFsError(err, childAbs);
        }
        if (st.isDirectory()) continue;
        isDir = false;
      }
      if (rules.isIgnored(fromRoot, isDir)) continue;
      if (isDir) {
        visit(childAbs, childRel, false);
      } else if (e.isFile() || st) {
        st ??= statSync(childAbs);
        if (st.isFile()) out.push({ rel: childRel, abs: childAbs, st });
      }
    }
  };
  visit(dir, "", true);
  return out;
}
