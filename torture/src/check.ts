/**
 * What every suite checks after a case: that every stored object still matches its name, that
 * nothing temporary was left behind, and that the workspace holds the expected bytes.
 */
import { createHash } from "node:crypto";
import { existsSync, lstatSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";

export const md5 = (data: Buffer | string): string => createHash("md5").update(data).digest("hex");

/** Every regular file below `root` (relative paths, "/"), symlinks not followed. */
export function walkFiles(root: string): string[] {
  const out: string[] = [];
  const visit = (dir: string) => {
    let entries: import("node:fs").Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const abs = join(dir, e.name);
      if (e.isDirectory()) visit(abs);
      else out.push(relative(root, abs).split("\\").join("/"));
    }
  };
  if (existsSync(root)) visit(root);
  return out.sort();
}

/**
 * A temporary or partial file as mlv or DVC name them: mlv's `.mlv-<pid>-<rand>.tmp` and
 * `<object>.mlv-partial`, DVC's `<name>.<uuid>.tmp`.
 */
export const LEFTOVER = /(^|\/)\.mlv-[0-9]+-[A-Za-z0-9_-]+\.tmp$|\.mlv-partial$|\.[0-9a-zA-Z]{8,}\.tmp$/;

/** Temporary files below `root` (a repository, a cache or a local remote); `.git` and `.dvc/tmp` (DVC's own state databases) left out. */
export function leftovers(root: string): string[] {
  return walkFiles(root).filter((f) => !f.startsWith(".git/") && !f.startsWith(".dvc/tmp/") && LEFTOVER.test(f));
}

export interface ObjectCheck {
  /** Objects found (`files/md5/xx/…` and legacy `xx/…` keys). */
  objects: number;
  /** Keys whose bytes do not hash to their name. */
  corrupt: string[];
}

/**
 * Check every object of a cache or of a local remote folder: the md5 of its bytes must be its
 * name (a `.dir` manifest included). Temporary files are not objects and are not counted.
 */
export function verifyObjects(root: string): ObjectCheck {
  const result: ObjectCheck = { objects: 0, corrupt: [] };
  for (const rel of walkFiles(root)) {
    const m = /(?:^|\/)([0-9a-f]{2})\/([0-9a-f]{30})(\.dir)?$/.exec(rel);
    if (!m || LEFTOVER.test(rel)) continue;
    if (rel.startsWith("runs/") || rel.includes("/runs/")) continue;
    const abs = join(root, rel);
    if (!lstatSync(abs).isFile()) continue;
    result.objects++;
    if (md5(readFileSync(abs)) !== `${m[1]}${m[2]}`) result.corrupt.push(rel);
  }
  return result;
}

/** Files of `expected` (relative path to bytes) that are missing or differ under `root`. */
export function workspaceDiff(
  root: string,
  expected: Record<string, Buffer | string>,
): {
  missing: string[];
  wrong: string[];
} {
  const missing: string[] = [];
  const wrong: string[] = [];
  for (const [rel, data] of Object.entries(expected)) {
    const abs = join(root, rel);
    if (!existsSync(abs)) missing.push(rel);
    else if (md5(readFileSync(abs)) !== md5(data)) wrong.push(rel);
  }
  return { missing, wrong };
}
