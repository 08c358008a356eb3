import * as fs from "node:fs";
import { relative, sep } from "node:path";

type Git = typeof import("isomorphic-git");
let gitModule: Promise<Git> | undefined;

/** isomorphic-git is loaded on first use only: commands that never touch git don't pay for it. */
function loadGit(): Promise<Git> {
  gitModule ??= import("isomorphic-git").then((m) => (m.default ?? m) as Git);
  return gitModule;
}

/** The git repository holding the workspace, read through isomorphic-git. */
export class Scm {
  private tracked: Promise<Set<string>> | undefined;

  private constructor(readonly root: string) {}

  /** The git work tree containing `dir`, or null when there is none. */
  static async find(dir: string): Promise<Scm | null> {
    const git = await loadGit();
    try {
      return new Scm(await git.findRoot({ fs, filepath: dir }));
    } catch {
      return null;
    }
  }

  private rel(abs: string): string {
    return relative(this.root, abs).split(sep).join("/");
  }

  /** Whether git would ignore `abs` through any rule. */
  async isIgnored(abs: string): Promise<boolean> {
    const git = await loadGit();
    return git.isIgnored({ fs, dir: this.root, filepath: this.rel(abs) });
  }

  /** Whether git's index holds `abs`, or any file below it. */
  async isTracked(abs: string): Promise<boolean> {
    this.tracked ??= loadGit().then(async (git) => new Set(await git.listFiles({ fs, dir: this.root })));
    const files = await this.tracked;
    const rel = this.rel(abs);
    if (files.has(rel)) return true;
    const prefix = `${rel}/`;
    for (const f of files) if (f.startsWith(prefix)) return true;
    return false;
  }

  /** `git add` the given files (core.autostage, and the files `mlv init` creates). */
  async add(paths: string[]): Promise<void> {
    const git = await loadGit();
    for (const p of paths) await git.add({ fs, dir: this.root, filepath: this.rel(p) });
  }

  /** Paths relative to the git root, as `git add` would want them from there. */
  relPaths(paths: string[]): string[] {
    return paths.map((p) => this.rel(p));
  }
}
