/**
 * Machinery of the hostile-inputs suite: a sandbox around each repository (a watched "outside",
 * a planted home and temp folder), snapshots to tell what a command wrote where, and the rule a
 * command's output must follow when it fails.
 */
import { execFileSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { seededRandom } from "../../test-fixtures/random.js";
import { leftovers, md5, verifyObjects } from "./check.js";

/**
 * One case's folders. The repository sits two levels down so that `../outside` and
 * `../../outside` from it both land on watched folders inside the sandbox:
 *
 *   root/outside  root/home  root/tmp  root/w/outside  root/w/remote  root/w/repo
 */
export interface Sandbox {
  root: string;
  repo: string;
  remote: string;
  /** `root/outside`, what `../../outside` reaches from the repository. */
  outside: string;
  /** `root/w/outside`, what `../outside` reaches from the repository. */
  near: string;
  home: string;
  tmp: string;
}

export function sandboxAt(root: string): Sandbox {
  return {
    root,
    repo: join(root, "w", "repo"),
    remote: join(root, "w", "remote"),
    outside: join(root, "outside"),
    near: join(root, "w", "outside"),
    home: join(root, "home"),
    tmp: join(root, "tmp"),
  };
}

/** Copy a prepared sandbox (symlinks kept as they are). */
export function copySandbox(from: Sandbox, to: string): Sandbox {
  cpSync(from.root, to, { recursive: true, verbatimSymlinks: true });
  return sandboxAt(to);
}

/** Write a file (text or bytes), creating its folder. */
export function put(path: string, data: string | Buffer): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, data);
}

export function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", ["-c", "user.name=Stranger", "-c", "user.email=stranger@example.invalid", ...args], {
    cwd,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, GIT_CONFIG_NOSYSTEM: "1", HOME: "/nonexistent" },
  });
}

/** What a path is, compared before and after: type, and for a file its size, mode and md5. */
export type Snapshot = Map<string, string>;

/** Every entry below `dir` (symlinks not followed), minus the relative paths `skip` starts with. */
export function snapshot(dir: string, skip: readonly string[] = []): Snapshot {
  const out: Snapshot = new Map();
  const visit = (abs: string, rel: string) => {
    let entries: import("node:fs").Dirent[];
    try {
      entries = readdirSync(abs, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (skip.some((s) => r === s || r.startsWith(`${s}/`))) continue;
      const a = join(abs, e.name);
      out.set(r, describe(a));
      if (e.isDirectory()) visit(a, r);
    }
  };
  if (existsSync(dir)) visit(dir, "");
  return out;
}

/** One file's signature; a file stays readable by its hash even when it is huge. */
function describe(abs: string): string {
  const st = lstatSync(abs);
  if (st.isSymbolicLink()) return `link -> ${readlinkSync(abs)}`;
  if (st.isDirectory()) return "dir";
  if (st.isFIFO()) return "fifo";
  if (!st.isFile()) return "special";
  return `file ${st.size} ${(st.mode & 0o777).toString(8)} ${md5(readFileSync(abs))}`;
}

export interface Change {
  created: string[];
  changed: string[];
  deleted: string[];
}

export function compare(before: Snapshot, after: Snapshot): Change {
  const created = [...after.keys()].filter((k) => !before.has(k));
  const deleted = [...before.keys()].filter((k) => !after.has(k));
  const changed = [...after.keys()].filter((k) => before.has(k) && before.get(k) !== after.get(k));
  return { created, changed, deleted };
}

/** Object keys of a cache or remote folder (`xx/yyyy…`, `.dir` included). */
export function objectKeys(root: string): Set<string> {
  return new Set([...snapshot(root).keys()].filter((k) => /(^|\/)[0-9a-f]{2}\/[0-9a-f]{30}(\.dir)?$/.test(k)));
}

/** Everything the case watches: outside the repository, its .git and .dvc, the cache, the remote. */
export interface World {
  outside: Snapshot;
  git: Snapshot;
  dvc: Snapshot;
  cacheObjects: Set<string>;
  remoteObjects: Set<string>;
  corruptObjects: Set<string>;
  leftovers: Set<string>;
}

export function observe(s: Sandbox): World {
  const cache = join(s.repo, ".dvc", "cache");
  return {
    outside: snapshot(s.root, ["w/repo", "w/remote"]),
    git: snapshot(join(s.repo, ".git"), ["objects", "logs", "index", "ORIG_HEAD", "COMMIT_EDITMSG"]),
    dvc: snapshot(join(s.repo, ".dvc"), ["cache", "tmp"]),
    cacheObjects: objectKeys(cache),
    remoteObjects: objectKeys(s.remote),
    corruptObjects: new Set([
      ...verifyObjects(cache).corrupt.map((k) => `cache/${k}`),
      ...verifyObjects(s.remote).corrupt.map((k) => `remote/${k}`),
    ]),
    leftovers: new Set([
      ...leftovers(s.repo).map((k) => `repo/${k}`),
      ...leftovers(s.remote).map((k) => `remote/${k}`),
      ...leftovers(cache).map((k) => `cache/${k}`),
    ]),
  };
}

/** What a case did wrong, sorted by the table's columns. */
export interface Damage {
  corrupt: string[];
  lost: string[];
  leftBehind: string[];
}

/**
 * Differences between two observations: outside files created (left behind), changed (corrupt)
 * or deleted (lost); the same for .git and .dvc; objects the cache or the remote held that are
 * gone, new objects whose bytes do not match their name, new temporary files.
 */
export function damage(before: World, after: World): Damage {
  const d: Damage = { corrupt: [], lost: [], leftBehind: [] };
  const area = (name: string, c: Change) => {
    d.leftBehind.push(...c.created.map((k) => `${name}${k} created`));
    d.corrupt.push(...c.changed.map((k) => `${name}${k} changed`));
    d.lost.push(...c.deleted.map((k) => `${name}${k} deleted`));
  };
  area("outside: ", compare(before.outside, after.outside));
  area(".git/", compare(before.git, after.git));
  area(".dvc/", compare(before.dvc, after.dvc));
  for (const k of before.cacheObjects) if (!after.cacheObjects.has(k)) d.lost.push(`cache object ${k} deleted`);
  for (const k of before.remoteObjects) if (!after.remoteObjects.has(k)) d.lost.push(`remote object ${k} deleted`);
  for (const k of after.corruptObjects)
    if (!before.corruptObjects.has(k)) d.corrupt.push(`${k} does not match its name`);
  for (const k of after.leftovers) if (!before.leftovers.has(k)) d.leftBehind.push(`${k} left`);
  return d;
}

/**
 * Why a command's output breaks the rule, or undefined: no stack frames, no "unexpected error",
 * no crash of the runtime, no bare Node error line; a failure must say something that names one
 * of `names` (the file at fault).
 */
export function unclear(
  out: { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string },
  names: readonly string[],
): string | undefined {
  const text = `${out.stdout}\n${out.stderr}`;
  if (out.signal === "SIGKILL") return "still running at the time limit (killed)";
  if (out.signal) return `crashed (${out.signal})`;
  if (/^\s{4}at /m.test(text)) return "prints a stack trace";
  if (/unexpected error/i.test(text)) return "says 'unexpected error'";
  if (/FATAL ERROR|heap out of memory|Maximum call stack|Traceback \(most recent/.test(text)) return "crashed";
  for (const line of text.split("\n")) {
    // "ERROR: " and one "<file>: " in front of Node's own words do not explain anything.
    const body = line
      .replace(/^\s*(?:(?:mlv|dvc|error|warning)\s*:\s*)+/i, "")
      .replace(/^[^:]{1,300}: (?=E[A-Z]{3,}: )/, "");
    if (/^(?:Error: )?E[A-Z]{3,}: /.test(body)) return `bare system error: ${line.trim()}`;
    if (/^(?:TypeError|RangeError|ReferenceError|SyntaxError|Error): /.test(body))
      return `bare exception: ${line.trim()}`;
  }
  if (out.code === 0) return undefined;
  if (!text.trim()) return `exit ${out.code} without a message`;
  if (names.length > 0 && !names.some((n) => text.includes(n)))
    return `exit ${out.code}, the message names none of ${names.join(", ")}`;
  return undefined;
}

/** The same seed gives the same hostile bytes. */
export const seeded = seededRandom;
