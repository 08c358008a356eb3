/** `mlv import` (spec §1.6): data of another git repository brought into this one, recorded in a `.dvc` file. */
import { existsSync } from "node:fs";
import { basename, dirname, join, sep } from "node:path";
import { writeFileAtomic } from "../atomic-write.js";
import { configBool } from "../config.js";
import { collectOuts } from "../data-index/index.js";
import { loadPointer } from "../data-index/pointer-outs.js";
import { MlvError } from "../errors.js";
import { addGitignoreEntry, escapeGitignoreEntry } from "../formats/gitignore.js";
import { checkout } from "../ops/checkout.js";
import { Project } from "../project/project.js";
import { intoCache } from "./fetch-from-source.js";
import { type GetOptions, type GetResult, resolveOutput } from "./get.js";
import { importPointerText, outWriteOf } from "./import-pointer.js";
import { locate } from "./locate.js";
import { closeSource, openSource } from "./source.js";

export interface ImportOptions extends GetOptions {}

export interface ImportResult extends GetResult {
  /** The pointer file written, from the repository root. */
  pointer: string;
  /** Files to `git add` (pointer, `.gitignore`), from the repository root. */
  gitFiles: string[];
  autostaged: boolean;
  git: boolean;
}

/**
 * `mlv import URL PATH`: `get` into this repository, recorded in `OUT.dvc` with the source's URL,
 * revision and resolved commit, the data in this repository's cache and checked out.
 */
export async function importData(
  project: Project,
  url: string,
  path: string,
  options: ImportOptions = {},
): Promise<ImportResult> {
  const cwd = options.cwd ?? process.cwd();
  const dest = resolveOutput(path, options.out, cwd, options.force);
  project.assertInside(dest, options.out ?? path);
  const ownerPath = Project.pointerPathFor(dest);
  if (existsSync(ownerPath) && !options.force)
    throw new MlvError(
      "EEXIST",
      `'${project.relOf(ownerPath)}' already exists. To override it, re-run with '--force'.`,
      {
        data: { path: ownerPath },
      },
    );
  for (const o of await collectOuts(project)) {
    if (o.ownerPath === ownerPath) continue;
    if (o.abs === dest || dest.startsWith(o.abs + sep) || o.abs.startsWith(dest + sep))
      throw new MlvError(
        "EOVERLAP",
        `cannot import to '${project.relOf(dest)}': it overlaps '${o.rel}', which ${o.owner} tracks. Choose another output with -o`,
        { data: { path: dest, trackedBy: o.owner } },
      );
  }
  const scm = await project.scm();
  if (scm && (await scm.isTracked(dest)))
    throw new MlvError(
      "ESCMTRACKED",
      `output '${project.relOf(dest)}' is already tracked by SCM (e.g. Git). Remove it from git first, or choose another output with -o`,
      { data: { path: dest } },
    );

  const source = await openSource(url, options.rev, cwd);
  try {
    const item = await locate(source, path);
    const fetched = await intoCache(project, source, item, options);
    const text = importPointerText(
      path,
      { url, rev: options.rev, rev_lock: source.commit },
      outWriteOf(basename(dest), fetched),
    );
    await writeFileAtomic(ownerPath, text);
    const gitFiles = new Set<string>([ownerPath]);
    if (scm && !(await scm.isIgnored(dest))) {
      const gitignore = join(dirname(dest), ".gitignore");
      await addGitignoreEntry(gitignore, `/${escapeGitignoreEntry(basename(dest))}`);
      gitFiles.add(gitignore);
    }
    await checkout(project, loadPointer(project, ownerPath), { force: options.force, onProgress: options.onProgress });
    let autostaged = false;
    if (scm && configBool(project.config.get("core.autostage"))) {
      await scm.add([...gitFiles]);
      autostaged = true;
    }
    return {
      path: dest,
      isDir: fetched.isDir,
      files: fetched.files.length,
      origin: fetched.origin,
      revLock: source.commit,
      pointer: project.relOf(ownerPath),
      gitFiles: [...gitFiles].map((f) => project.relOf(f)),
      autostaged,
      git: scm !== null,
    };
  } finally {
    await closeSource(source);
  }
}
