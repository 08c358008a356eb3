/**
 * Annotated tags: read with their tagger, date and message, and written as `git tag -a NAME -m MSG
 * COMMIT` writes them, with the identity git would use. The model registry is made of these.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { MlvError } from "../errors.js";
import { gitErrorCode, loadGit } from "./load.js";
import type { GitObjects, Signature } from "./objects.js";

/** An annotated tag as read from git. */
export interface AnnotatedTag {
  name: string;
  /** The commit it names (a tag of a tag peeled). */
  commit: string;
  tagger: Signature;
  /** The message, without the newline git ends it with. */
  message: string;
}

/**
 * The annotated tags whose names `wanted` accepts. Lightweight tags, and tags of trees or blobs,
 * are left out: they carry no tagger or date.
 */
export async function readAnnotatedTags(
  objects: GitObjects,
  wanted: (name: string) => boolean,
): Promise<AnnotatedTag[]> {
  const git = await loadGit();
  const base = objects.args();
  const tags: AnnotatedTag[] = [];
  try {
    for (const name of await git.listTags(base)) {
      if (!wanted(name)) continue;
      const oid = await git.resolveRef({ ...base, ref: `refs/tags/${name}` });
      const object = await objects.readObject((g) => g.readObject({ ...base, oid, format: "parsed" }));
      if (object.type !== "tag") continue;
      const tag = object.object as { object: string; type: string; tagger: Signature; message: string };
      let target = tag.object;
      let type = tag.type;
      for (let depth = 0; type === "tag" && depth < 8; depth++) {
        const inner = await objects.readObject((g) => g.readTag({ ...base, oid: target }));
        target = inner.tag.object;
        type = inner.tag.type;
      }
      if (type !== "commit") continue;
      tags.push({ name, commit: target, tagger: tag.tagger, message: tag.message.replace(/\n$/, "") });
    }
  } catch (err) {
    throw objects.failure(err, "the tags");
  }
  return tags;
}

const missing = () => Promise.reject(Object.assign(new Error("ENOENT"), { code: "ENOENT" }));

/**
 * A git config value from a global or system file, through isomorphic-git's parser (which reads
 * `<gitdir>/config`: it is shown this one file under that name); undefined without the file or key.
 */
async function configValueIn(file: string, path: string): Promise<string | undefined> {
  const text = await readFile(file, "utf8").catch(() => undefined);
  if (text === undefined) return undefined;
  const oneFile = {
    promises: {
      // Async: isomorphic-git tells a promise-based file system by what `readFile()` returns.
      readFile: async (p?: string) => (p?.endsWith("/config") ? text : missing()),
      writeFile: missing,
      unlink: missing,
      readdir: missing,
      mkdir: missing,
      rmdir: missing,
      stat: missing,
      lstat: missing,
      readlink: missing,
      symlink: missing,
    },
  };
  const value = await (await loadGit()).getConfig({ fs: oneFile, gitdir: "/config-file", path }).catch(() => undefined);
  return typeof value === "string" ? value : undefined;
}

/** The files git reads its global configuration from, the one that wins first. */
function globalConfigFiles(env: NodeJS.ProcessEnv): string[] {
  if (env.GIT_CONFIG_GLOBAL) return [env.GIT_CONFIG_GLOBAL];
  const home = env.HOME ?? homedir();
  const xdg = env.XDG_CONFIG_HOME ? join(env.XDG_CONFIG_HOME, "git", "config") : join(home, ".config", "git", "config");
  return [join(home, ".gitconfig"), xdg];
}

/** A config value as git resolves it: the repository's config, then the global files, then the system's. */
async function gitConfigValue(gitRoot: string, path: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const own = await (await loadGit()).getConfig({ fs, dir: gitRoot, path }).catch(() => undefined);
  if (typeof own === "string") return own;
  const files = globalConfigFiles(env);
  if (!env.GIT_CONFIG_NOSYSTEM) files.push(env.GIT_CONFIG_SYSTEM ?? "/etc/gitconfig");
  for (const file of files) {
    const value = await configValueIn(file, path);
    if (value !== undefined) return value;
  }
  return undefined;
}

/**
 * Who a tag written now is by, as git decides it for `git tag`: GIT_COMMITTER_NAME and
 * GIT_COMMITTER_EMAIL, else `user.name` and `user.email` of git's config; dated GIT_COMMITTER_DATE,
 * else now, in this machine's time zone. MlvError ECONFIG when no name is set anywhere.
 */
export async function taggerIdentity(gitRoot: string, env: NodeJS.ProcessEnv = process.env): Promise<Signature> {
  const name = env.GIT_COMMITTER_NAME ?? (await gitConfigValue(gitRoot, "user.name", env));
  const email = env.GIT_COMMITTER_EMAIL ?? env.EMAIL ?? (await gitConfigValue(gitRoot, "user.email", env)) ?? "";
  if (!name)
    throw new MlvError("ECONFIG", "git does not know who you are, and a registry tag records who wrote it", {
      data: { gitRoot },
      hint: "Set it with 'git config --global user.name \"Your Name\"' and 'git config --global user.email you@example.com'.",
    });
  const date = env.GIT_COMMITTER_DATE ? parseGitDate(env.GIT_COMMITTER_DATE) : undefined;
  const timestamp = date?.timestamp ?? Math.floor(Date.now() / 1000);
  const timezoneOffset = date?.timezoneOffset ?? new Date(timestamp * 1000).getTimezoneOffset();
  return { name, email, timestamp, timezoneOffset };
}

/**
 * GIT_COMMITTER_DATE in git's own format (`1700000000 +0100`, `@1700000000`) or ISO 8601
 * (`2024-05-01T12:00:00Z`); MlvError ECONFIG for anything else, rather than a silently wrong date.
 */
function parseGitDate(value: string): { timestamp: number; timezoneOffset?: number } {
  const raw = /^@?(\d+)(?:\s+([+-])(\d\d)(\d\d))?$/.exec(value.trim());
  if (raw) {
    const [, seconds, sign, hh, mm] = raw;
    const minutes = sign === undefined ? undefined : (sign === "-" ? 1 : -1) * (Number(hh) * 60 + Number(mm));
    return { timestamp: Number(seconds), ...(minutes === undefined ? {} : { timezoneOffset: minutes }) };
  }
  const ms = Date.parse(value);
  if (Number.isNaN(ms))
    throw new MlvError("ECONFIG", `GIT_COMMITTER_DATE '${value}' is not a date: give '<seconds> +hhmm' or ISO 8601`, {
      data: { value },
    });
  return { timestamp: Math.floor(ms / 1000) };
}

/**
 * Write the annotated tag `name` of `commit`, as `git tag -a` does. MlvError EEXIST when a tag of
 * that name exists: tags are never moved.
 */
export async function writeAnnotatedTag(
  gitRoot: string,
  name: string,
  commit: string,
  message: string,
  tagger: Signature,
): Promise<void> {
  const git = await loadGit();
  try {
    await git.annotatedTag({ fs, dir: gitRoot, ref: name, object: commit, message, tagger });
  } catch (err) {
    if (gitErrorCode(err) === "AlreadyExistsError")
      throw new MlvError("EEXIST", `the tag '${name}' exists already in '${gitRoot}'`, { data: { tag: name } });
    throw new MlvError("EGIT", `cannot write the tag '${name}' in '${gitRoot}': ${(err as Error)?.message ?? err}`, {
      data: { tag: name, gitRoot },
      cause: err,
    });
  }
}

/**
 * `git push origin refs/tags/NAME` (or its deletion). Pushing goes through the `git` command, which
 * knows the user's transports and credentials (ssh keys, credential helpers).
 */
export function pushTag(
  gitRoot: string,
  name: string,
  options: { remote?: string; delete?: boolean } = {},
): Promise<void> {
  const remote = options.remote ?? "origin";
  const args = ["push", remote, options.delete ? `:refs/tags/${name}` : `refs/tags/${name}`];
  return new Promise((resolve, reject) => {
    let stderr = "";
    const child = spawn("git", args, { cwd: gitRoot, stdio: ["ignore", "ignore", "pipe"] });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
    });
    child.on("error", (err) =>
      reject(
        new MlvError("EGIT", `cannot push the tag '${name}': the 'git' command could not start (${err.message})`, {
          data: { tag: name },
          hint: `Install git, or push the tag yourself: git push ${remote} ${name}`,
          cause: err,
        }),
      ),
    );
    child.on("close", (code) => {
      if (code === 0) resolve();
      else
        reject(
          new MlvError("EGIT", `'git ${args.join(" ")}' failed (exit code ${code}): ${stderr.trim()}`, {
            data: { tag: name, remote },
          }),
        );
    });
  });
}
