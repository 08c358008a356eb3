import { readFileSync } from "node:fs";
import { join } from "node:path";
import ignore, { type Ignore } from "ignore";

/** Paths every walk leaves out (spec §2.4). */
const BUILTIN = new Set([".git", ".hg", ".dvc"]);

/**
 * `.dvcignore` rules: gitignore syntax, one file per folder applying to its subtree. Files are read
 * lazily, once per folder; a repository without rules pays only a map lookup per folder.
 */
export class DvcIgnore {
  private perDir = new Map<string, Ignore | null>();

  constructor(readonly root: string) {}

  private rulesFor(dirRel: string): Ignore | null {
    let rules = this.perDir.get(dirRel);
    if (rules !== undefined) return rules;
    rules = null;
    try {
      const text = readFileSync(join(this.root, dirRel, ".dvcignore"), "utf8");
      if (text.split(/\r?\n/).some((l) => l.trim() !== "" && !l.startsWith("#"))) rules = ignore().add(text);
    } catch {
      // No .dvcignore here.
    }
    this.perDir.set(dirRel, rules);
    return rules;
  }

  /** Whether a path (posix, relative to the repository root) is left out. */
  isIgnored(rel: string, isDir: boolean): boolean {
    const parts = rel.split("/");
    if (parts.some((p) => BUILTIN.has(p))) return true;
    let dirRel = "";
    for (let i = 0; i < parts.length; i++) {
      const rules = this.rulesFor(dirRel);
      if (rules) {
        const sub = parts.slice(i).join("/");
        if (rules.ignores(isDir ? `${sub}/` : sub)) return true;
      }
      if (i < parts.length - 1) dirRel = dirRel ? `${dirRel}/${parts[i]}` : parts[i]!;
    }
    return false;
  }

  /**
   * Whether any rules can apply below `dirRel`: those of its own folder and its ancestors (a
   * `.dvcignore` inside a tracked folder is an error, so no others matter). When none do, a walk
   * can skip the per-path check.
   */
  anyRulesFor(dirRel: string): boolean {
    let d = "";
    if (this.rulesFor(d)) return true;
    for (const part of dirRel ? dirRel.split("/") : []) {
      d = d ? `${d}/${part}` : part;
      if (this.rulesFor(d)) return true;
    }
    return false;
  }

  /** Whether a folder (relative to the root) holds its own rules. */
  hasRules(dirRel: string): boolean {
    return this.rulesFor(dirRel) !== null;
  }
}
