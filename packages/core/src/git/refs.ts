/**
 * Branches, tags and HEAD, and revisions (`main~2`, `v1.0`, `1a2b3c4`) resolved to commits. The
 * lists of branches and tags are read once per instance.
 */
import { lstat } from "node:fs/promises";
import { join } from "node:path";
import { MlvError } from "../errors.js";
import { gitErrorCode, loadGit } from "./load.js";
import { type CommitInfo, FULL_OID, type GitObjects, short } from "./objects.js";
import { parseRevSpec } from "./rev-parse.js";

export class GitRefs {
  private refs: Promise<{ branches: Map<string, string>; tags: Map<string, string> }> | undefined;
  private readable: Promise<void> | undefined;

  constructor(private readonly objects: GitObjects) {}

  private get gitRoot(): string {
    return this.objects.gitRoot;
  }

  private unknownRevision(rev: string, detail = `not a branch, tag or commit of ${this.gitRoot}`): MlvError {
    return new MlvError("EREV", `unknown revision '${rev}': ${detail}`, { data: { rev, gitRoot: this.gitRoot } });
  }

  /** A full commit id as is; anything else through `resolveRevision`. */
  commitOf(commitish: string): Promise<CommitInfo> {
    return FULL_OID.test(commitish)
      ? this.objects.commit(commitish)
      : this.resolveRevision(commitish).then((oid) => this.objects.commit(oid));
  }

  /**
   * The commit a revision names: a branch, a tag (annotated ones peeled to their commit), a full or
   * abbreviated commit id, `HEAD`, followed by any `~N`, `^N`. Throws an MlvError with code EREV
   * naming the revision when there is no such commit.
   */
  async resolveRevision(rev: string): Promise<string> {
    const spec = parseRevSpec(rev.trim());
    if (spec === undefined)
      throw new MlvError(
        "EREV",
        `'${rev}' is not a valid revision: give a branch, a tag or a commit id, optionally followed by ~N or ^N`,
        { data: { rev, gitRoot: this.gitRoot } },
      );
    let commit = await this.resolveName(spec.name, rev);
    for (const step of spec.steps) {
      const count = step.kind === "ancestor" ? step.n : 1;
      for (let i = 0; i < count; i++) {
        const index = step.kind === "ancestor" ? 0 : step.n - 1;
        if (index < 0) break; // `^0`: the commit itself
        const parent = commit.parents[index];
        if (parent === undefined)
          throw this.unknownRevision(
            rev,
            commit.parents.length === 0
              ? `commit ${short(commit.oid)} has no parent`
              : `commit ${short(commit.oid)} has only ${commit.parents.length} parents`,
          );
        const next = await this.objects.commitIfPresent(parent);
        if (next === undefined)
          throw this.unknownRevision(
            rev,
            `the parent ${short(parent)} of commit ${short(commit.oid)} is not in this repository (a shallow clone?)`,
          );
        commit = next;
      }
    }
    return commit.oid;
  }

  private async resolveName(name: string, rev: string): Promise<CommitInfo> {
    const git = await loadGit();
    let target: string | undefined;
    try {
      target = await git.resolveRef({ ...this.objects.args(), ref: name });
    } catch (err) {
      if (gitErrorCode(err) !== "NotFoundError") throw this.objects.failure(err, `ref '${name}'`);
    }
    if (target === undefined && /^[0-9a-fA-F]{4,40}$/.test(name)) target = await this.expandAbbreviation(name, rev);
    if (target === undefined) {
      await this.assertReadable();
      throw this.unknownRevision(rev);
    }
    try {
      return await this.objects.commit(target);
    } catch (err) {
      const code = err instanceof MlvError ? err.data.gitCode : undefined;
      if (code === "NotFoundError") throw this.unknownRevision(rev);
      if (code === "ObjectTypeError") {
        const actual = ((err as MlvError).cause as { data?: { actual?: string } }).data?.actual ?? "object";
        throw this.unknownRevision(rev, `it names a ${actual}, not a commit`);
      }
      throw err;
    }
  }

  /** An abbreviated id: the one object it abbreviates, or the one commit among several objects. */
  private async expandAbbreviation(abbrev: string, rev: string): Promise<string | undefined> {
    try {
      return await this.objects.readObject((git) =>
        git.expandOid({ ...this.objects.args(), oid: abbrev.toLowerCase() }),
      );
    } catch (err) {
      const code = gitErrorCode(err);
      if (code === "NotFoundError") return undefined;
      if (code !== "AmbiguousError") throw this.objects.failure(err, `object '${abbrev}'`);
      const matches = ((err as { data?: { matches?: string[] } }).data?.matches ?? []).filter((m) => FULL_OID.test(m));
      const commits = (
        await Promise.all(
          matches.map((m) =>
            this.objects.commit(m).then(
              () => m,
              () => undefined,
            ),
          ),
        )
      ).filter((m) => m !== undefined);
      if (commits.length === 1) return commits[0];
      throw new MlvError(
        "EREV",
        `ambiguous revision '${rev}': '${abbrev}' abbreviates ${matches.length} objects (${matches.map(short).join(", ")}); give more characters`,
        { data: { rev, gitRoot: this.gitRoot, matches } },
      );
    }
  }

  /**
   * Fail clearly in a linked worktree (`git worktree add`): its `.git` is a file naming a folder
   * that holds HEAD but shares branches and objects through `commondir`, which isomorphic-git does
   * not follow, so it would see a repository without branches or commits.
   */
  private assertReadable(): Promise<void> {
    this.readable ??= (async () => {
      const dotGit = await lstat(join(this.gitRoot, ".git")).catch(() => undefined);
      if (!dotGit?.isFile()) return;
      const git = await loadGit();
      const target = await git.resolveRef({ ...this.objects.args(), ref: "HEAD", depth: 2 }).catch(() => undefined);
      if (target === undefined || (await this.resolvesTo(target))) return;
      throw new MlvError(
        "EGITWORKTREE",
        `'${this.gitRoot}' looks like a linked git worktree (its .git is a file and HEAD's branch '${target}' is not found there): mlv reads git through isomorphic-git, which cannot read those; run the command in the repository's main work tree`,
        { data: { gitRoot: this.gitRoot } },
      );
    })();
    return this.readable;
  }

  private async resolvesTo(ref: string): Promise<boolean> {
    const git = await loadGit();
    return git.resolveRef({ ...this.objects.args(), ref }).then(
      () => true,
      () => false,
    );
  }

  private loadRefs(): Promise<{ branches: Map<string, string>; tags: Map<string, string> }> {
    this.refs ??= (async () => {
      await this.assertReadable();
      const git = await loadGit();
      const base = this.objects.args();
      try {
        const branches = new Map<string, string>();
        for (const name of await git.listBranches(base))
          branches.set(name, await git.resolveRef({ ...base, ref: `refs/heads/${name}` }));
        const tags = new Map<string, string>();
        for (const name of await git.listTags(base)) {
          const target = await git.resolveRef({ ...base, ref: `refs/tags/${name}` });
          try {
            tags.set(name, (await this.objects.commit(target)).oid);
          } catch (err) {
            // A tag of a tree or a blob names no revision.
            if (!(err instanceof MlvError && err.data.gitCode === "ObjectTypeError")) throw err;
          }
        }
        return { branches, tags };
      } catch (err) {
        throw this.objects.failure(err, "the branches and tags");
      }
    })();
    this.refs.catch(() => {
      this.refs = undefined;
    });
    return this.refs;
  }

  /** Local branches, name → the commit at their tip. */
  async branchTips(): Promise<Map<string, string>> {
    return new Map((await this.loadRefs()).branches);
  }

  /** Tags, name → the commit they name (annotated tags peeled); tags of trees or blobs are left out. */
  async tagTargets(): Promise<Map<string, string>> {
    return new Map((await this.loadRefs()).tags);
  }

  /** The commit HEAD names, or undefined on a branch without commits yet. */
  async head(): Promise<string | undefined> {
    const git = await loadGit();
    try {
      return await git.resolveRef({ ...this.objects.args(), ref: "HEAD" });
    } catch (err) {
      if (gitErrorCode(err) === "NotFoundError") return undefined;
      throw this.objects.failure(err, "HEAD");
    }
  }

  /** Remote-tracking branches' tips. */
  async remoteTips(): Promise<string[]> {
    const git = await loadGit();
    const base = this.objects.args();
    const tips: string[] = [];
    try {
      for (const { remote } of await git.listRemotes(base))
        for (const name of await git.listBranches({ ...base, remote }))
          tips.push(await git.resolveRef({ ...base, ref: `refs/remotes/${remote}/${name}` }));
    } catch (err) {
      throw this.objects.failure(err, "the remote-tracking branches");
    }
    return tips;
  }
}
