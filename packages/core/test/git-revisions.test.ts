import { execFileSync, spawnSync } from "node:child_process";
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HistoryOuts, outsAtRevision } from "../src/data-index/history-outs.js";
import { FormatError, MlvError } from "../src/errors.js";
import {
  allCommits,
  branchTips,
  commitsTouching,
  configTextAtRevision,
  GitHistory,
  pointerFilesAtRevision,
  readFileAtRevision,
  resolveRevision,
  tagTargets,
} from "../src/git/revisions.js";

/** The outputs at revisions of `history`, read through one HistoryOuts per GitHistory, as a command keeps one. */
const historyOuts = new WeakMap<GitHistory, HistoryOuts>();
function outsOf(history: GitHistory): HistoryOuts {
  let outs = historyOuts.get(history);
  if (outs === undefined) {
    outs = new HistoryOuts(history);
    historyOuts.set(history, outs);
  }
  return outs;
}

const work = mkdtempSync(join(tmpdir(), "mlv-git-revisions-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A git repository built with the git CLI, with fixed identities and a clock that ticks a minute per commit. */
class Fixture {
  private clock = 1_700_000_000;
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    this.git("init", "-q", "-b", "main");
  }

  env(): NodeJS.ProcessEnv {
    const date = `@${this.clock} +0000`;
    return {
      ...process.env,
      HOME: work,
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_CONFIG_GLOBAL: "/dev/null",
      GIT_AUTHOR_NAME: "Ada Lovelace",
      GIT_AUTHOR_EMAIL: "ada@example.com",
      GIT_COMMITTER_NAME: "Charles Babbage",
      GIT_COMMITTER_EMAIL: "charles@example.com",
      GIT_AUTHOR_DATE: date,
      GIT_COMMITTER_DATE: date,
    };
  }

  git(...args: string[]): string {
    return execFileSync("git", ["-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false", ...args], {
      cwd: this.dir,
      env: this.env(),
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    }).trim();
  }

  write(path: string, text: string): void {
    mkdirSync(dirname(join(this.dir, path)), { recursive: true });
    writeFileSync(join(this.dir, path), text);
  }

  remove(path: string): void {
    unlinkSync(join(this.dir, path));
  }

  commit(message: string): string {
    this.clock += 60;
    this.git("add", "-A");
    this.git("commit", "-q", "--allow-empty", "-m", message);
    return this.git("rev-parse", "HEAD");
  }

  tick(): void {
    this.clock += 60;
  }
}

function md5Of(n: number): string {
  return n.toString(16).padStart(32, "0");
}

function pointer(path: string, n: number, dir = false): string {
  return `outs:\n- md5: ${md5Of(n)}${dir ? ".dir" : ""}\n  size: ${n}\n${dir ? "  nfiles: 2\n" : ""}  hash: md5\n  path: ${path}\n`;
}

const CONFIG_A = "[core]\n    remote = store\n['remote \"store\"']\n    url = /tmp/store-a\n";
const CONFIG_B = "[core]\n    remote = store\n['remote \"store\"']\n    url = /tmp/store-b\n";
const COMMENTS_ONLY = "# Add patterns of files mlv and DVC should ignore\n";

describe("a linear history of five commits", () => {
  const repo = new Fixture(join(work, "linear"));
  const c: string[] = [];

  beforeAll(() => {
    repo.write(".dvc/config", CONFIG_A);
    repo.write(".dvcignore", COMMENTS_ONLY);
    repo.write("data.csv.dvc", pointer("data.csv", 1));
    repo.write("README.md", "one\n");
    repo.write("nested/.dvc/config", "");
    repo.write("nested/inner.dvc", pointer("inner.bin", 9));
    repo.write("node_modules/pkg/x.dvc", pointer("x", 9));
    c.push(repo.commit("first: track data.csv"));
    repo.git("tag", "v1");

    repo.write("data.csv.dvc", pointer("data.csv", 2));
    repo.write("models/model.pkl.dvc", pointer("model.pkl", 3));
    repo.write("images.dvc", pointer("images", 4, true));
    c.push(repo.commit("second: new data, a model and images"));
    repo.tick();
    repo.git("tag", "-a", "v2", "-m", "release two");

    repo.write("README.md", "three\n");
    repo.write("ignored/x.dvc", pointer("x.bin", 5));
    c.push(repo.commit("third: readme"));

    repo.remove("models/model.pkl.dvc");
    repo.write("data.csv.dvc", pointer("data.csv", 6));
    repo.write(".dvcignore", `${COMMENTS_ONLY}ignored/\n`);
    repo.write(".dvc/config", CONFIG_B);
    c.push(repo.commit("fourth: drop the model, ignore ignored/"));

    repo.write("README.md", "five\n");
    mkdirSync(join(repo.dir, "docs"));
    symlinkSync("../README.md", join(repo.dir, "docs", "readme-link"));
    symlinkSync("../../outside", join(repo.dir, "docs", "escape"));
    c.push(repo.commit("fifth: readme again"));
    repo.git("branch", "feature", c[2]!);
  });

  it("resolves branches, tags, HEAD, ancestors and commit ids as git rev-parse does", async () => {
    const history = new GitHistory(repo.dir);
    const [first, second, third, fourth, fifth] = c as [string, string, string, string, string];
    const expected: Record<string, string> = {
      main: fifth,
      "refs/heads/main": fifth,
      feature: third,
      HEAD: fifth,
      "@": fifth,
      "HEAD~1": fourth,
      "HEAD^": fourth,
      "HEAD~2": third,
      "HEAD^^": third,
      "main~4": first,
      "HEAD^0": fifth,
      v1: first,
      v2: second,
      "refs/tags/v2": second,
      "v2^{}": second,
      "v2~1": first,
      [fourth]: fourth,
      [fourth.slice(0, 7)]: fourth,
      [second.slice(0, 10).toUpperCase()]: second,
    };
    for (const [rev, oid] of Object.entries(expected)) {
      expect(await history.resolveRevision(rev), rev).toBe(oid);
      if (rev !== "@") expect(repo.git("rev-parse", `${rev}^{commit}`), rev).toBe(oid);
    }
    // The annotated tag is an object of its own; its commit is what a revision means.
    expect(repo.git("rev-parse", "v2")).not.toBe(second);
    expect(await resolveRevision(repo.dir, "v2")).toBe(second);
  });

  it("names the revision it cannot resolve", async () => {
    const history = new GitHistory(repo.dir);
    const fail = async (rev: string) => {
      const err = await history.resolveRevision(rev).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, rev).toBeInstanceOf(MlvError);
      expect((err as MlvError).code).toBe("EREV");
      return (err as MlvError).message;
    };
    expect(await fail("v9")).toBe(`unknown revision 'v9': not a branch, tag or commit of ${repo.dir}`);
    expect(await fail("HEAD~5")).toMatch(/^unknown revision 'HEAD~5': commit [0-9a-f]{7} has no parent$/);
    expect(await fail("HEAD^2")).toMatch(/has only 1 parents$/);
    expect(await fail("deadbeef")).toContain("unknown revision 'deadbeef'");
    expect(await fail("0123456789012345678901234567890123456789")).toContain("not a branch, tag or commit");
    const tree = repo.git("rev-parse", "HEAD^{tree}");
    expect(await fail(tree)).toBe(`unknown revision '${tree}': it names a tree, not a commit`);
    expect(await fail("a..b")).toContain("is not a valid revision");
    expect(await fail("main~x")).toContain("is not a valid revision");
  });

  it("lists branches and tags, tags peeled to their commits", async () => {
    expect(await branchTips(repo.dir)).toEqual(
      new Map([
        ["feature", c[2]],
        ["main", c[4]],
      ]),
    );
    expect(await tagTargets(repo.dir)).toEqual(
      new Map([
        ["v1", c[0]],
        ["v2", c[1]],
      ]),
    );
  });

  it("lists pointer files at an old revision, which differ from the workspace", async () => {
    expect(await pointerFilesAtRevision(repo.dir, c[1]!)).toEqual([
      "data.csv.dvc",
      "images.dvc",
      "models/model.pkl.dvc",
    ]);
    expect(await pointerFilesAtRevision(repo.dir, c[4]!)).toEqual(["data.csv.dvc", "images.dvc"]);
    // The nested project keeps its own pointers; asked for as a subdir, they are found.
    expect(await pointerFilesAtRevision(repo.dir, c[4]!, "nested")).toEqual(["nested/inner.dvc"]);
    expect(await pointerFilesAtRevision(repo.dir, c[4]!, "no/such/dir")).toEqual([]);
  });

  it("applies the .dvcignore of the revision asked for", async () => {
    // ignored/ was added in the third commit and ignored from the fourth.
    expect(await pointerFilesAtRevision(repo.dir, c[2]!)).toContain("ignored/x.dvc");
    expect(await pointerFilesAtRevision(repo.dir, c[3]!)).not.toContain("ignored/x.dvc");
    expect(await readFileAtRevision(repo.dir, c[3]!, "ignored/x.dvc")).toBeDefined();
  });

  it("reads a file removed later at the revisions that had it", async () => {
    const history = new GitHistory(repo.dir);
    expect((await history.readFileAtRevision(c[1]!, "models/model.pkl.dvc"))?.toString()).toBe(pointer("model.pkl", 3));
    expect((await history.readFileAtRevision("v2", "./models/model.pkl.dvc"))?.toString()).toBe(
      pointer("model.pkl", 3),
    );
    expect(await history.readFileAtRevision(c[3]!, "models/model.pkl.dvc")).toBeUndefined();
    expect(await history.readFileAtRevision(c[1]!, "models")).toBeUndefined();
    expect(await history.readFileAtRevision(c[1]!, "models/model.pkl.dvc/x")).toBeUndefined();
    expect((await history.readFileAtRevision(c[4]!, "docs/readme-link"))?.toString()).toBe("five\n");
    expect(await history.readFileAtRevision(c[4]!, "docs/escape")).toBeUndefined();
    await expect(history.readFileAtRevision(c[4]!, "../x")).rejects.toThrow(/outside the git repository/);
  });

  it("reads the outputs of a revision with their workspace paths", async () => {
    const outs = await outsAtRevision(repo.dir, c[1]!);
    expect(outs.map((o) => [o.gitPath, o.owner, o.rel, o.out.md5, o.isDir, o.hashName])).toEqual([
      ["data.csv.dvc", "data.csv.dvc", "data.csv", md5Of(2), false, "md5"],
      ["images.dvc", "images.dvc", "images", `${md5Of(4)}.dir`, true, "md5"],
      ["models/model.pkl.dvc", "models/model.pkl.dvc", "models/model.pkl", md5Of(3), false, "md5"],
    ]);
    expect(outs[2]!.abs).toBe(join(repo.dir, "models", "model.pkl"));
    expect(outs[2]!.ownerPath).toBe(join(repo.dir, "models", "model.pkl.dvc"));

    const nested = await outsOf(new GitHistory(repo.dir)).at("HEAD", { subdir: "nested" });
    expect(nested.map((o) => [o.gitPath, o.owner, o.rel])).toEqual([["nested/inner.dvc", "inner.dvc", "inner.bin"]]);
    expect(nested[0]!.abs).toBe(join(repo.dir, "nested", "inner.bin"));
  });

  it("reads .dvc/config as it was at a revision", async () => {
    expect(await configTextAtRevision(repo.dir, c[0]!)).toBe(CONFIG_A);
    expect(await configTextAtRevision(repo.dir, c[4]!)).toBe(CONFIG_B);
    expect(await configTextAtRevision(repo.dir, c[4]!, "nested")).toBe("");
    expect(await configTextAtRevision(repo.dir, c[4]!, "models")).toBeUndefined();
    const config = await new GitHistory(repo.dir).configAtRevision("v1");
    expect(config?.get('remote "store"')?.get("url")).toBe("/tmp/store-a");
  });

  it("finds exactly the commits that changed a path, newest first", async () => {
    const changes = await commitsTouching(repo.dir, "data.csv.dvc");
    expect(changes.map((ch) => ch.oid)).toEqual([c[3], c[1], c[0]]);
    expect(changes.map((ch) => ch.message.trim())).toEqual([
      "fourth: drop the model, ignore ignored/",
      "second: new data, a model and images",
      "first: track data.csv",
    ]);
    expect(changes.map((ch) => ch.change)).toEqual(["modified", "modified", "added"]);
    expect(changes[0]!.blob).toBe(repo.git("rev-parse", `${c[3]}:data.csv.dvc`));
    expect(changes[0]!.author).toMatchObject({ name: "Ada Lovelace", email: "ada@example.com" });
    expect(changes[0]!.author.timestamp).toBe(Number(repo.git("log", "-1", "--format=%at", c[3]!)));

    const model = await commitsTouching(repo.dir, "models/model.pkl.dvc", "main");
    expect(model.map((ch) => [ch.oid, ch.change, ch.blob === undefined])).toEqual([
      [c[3], "deleted", true],
      [c[1], "added", false],
    ]);
    // Only the history of the revision asked for.
    expect((await commitsTouching(repo.dir, "data.csv.dvc", "feature")).map((ch) => ch.oid)).toEqual([c[1], c[0]]);
    // A folder changes when anything below it does.
    expect((await commitsTouching(repo.dir, "models")).map((ch) => ch.oid)).toEqual([c[3], c[1]]);
  });

  it("sees commits made after it first looked, when asked for them", async () => {
    const history = new GitHistory(repo.dir);
    await history.allCommits();
    const side = new Fixture(join(work, "linear-clone"));
    side.git("fetch", "-q", repo.dir, "main");
    side.git("checkout", "-q", "-B", "main", "FETCH_HEAD");
    side.write("late.dvc", pointer("late", 7));
    const late = side.commit("a late commit");
    // Looking for it lists its loose-object folder, before the object is there.
    await expect(history.resolveRevision(late.slice(0, 7))).rejects.toThrow(/unknown revision/);
    side.git("push", "-q", repo.dir, "main:late");
    expect(await history.resolveRevision("late")).toBe(late);
    expect(await history.pointerFilesAtRevision(late)).toContain("late.dvc");
    repo.git("branch", "-D", "late");
  });

  it("stops at the edge of a shallow clone, as git does", async () => {
    const shallow = join(work, "linear-shallow");
    repo.git("clone", "-q", "--depth", "2", `file://${repo.dir}`, shallow);
    const history = new GitHistory(shallow);
    const all = await history.allCommits();
    expect(all.map((x) => x.oid)).toEqual([c[4], c[3]]);
    // The oldest commit there has no parent to compare with: its data.csv.dvc counts as added.
    expect((await history.commitsTouching("data.csv.dvc")).map((ch) => [ch.oid, ch.change])).toEqual([[c[3], "added"]]);
    expect(await history.resolveRevision("HEAD~1")).toBe(c[3]);
    await expect(history.resolveRevision("HEAD~2")).rejects.toThrow(
      `unknown revision 'HEAD~2': the parent ${c[2]!.slice(0, 7)} of commit ${c[3]!.slice(0, 7)} is not in this repository (a shallow clone?)`,
    );
  });

  it("says so in a linked worktree, which isomorphic-git cannot read", async () => {
    const linked = join(work, "linear-worktree");
    repo.git("worktree", "add", "-q", "-b", "wt", linked, c[2]!);
    try {
      const err = await new GitHistory(linked).allCommits().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MlvError);
      expect((err as MlvError).code).toBe("EGITWORKTREE");
      expect((err as MlvError).message).toContain("main work tree");
    } finally {
      repo.git("worktree", "remove", "--force", linked);
      repo.git("branch", "-D", "wt");
    }
  });

  it("counts every commit once, in git's date order", async () => {
    const all = await allCommits(repo.dir);
    expect(all.map((x) => x.oid)).toEqual(repo.git("rev-list", "--all", "--date-order").split("\n"));
  });
});

describe("a history with merges, packed objects and packed refs", () => {
  const repo = new Fixture(join(work, "merges"));
  const oid: Record<string, string> = {};

  beforeAll(() => {
    repo.write("data.dvc", pointer("data", 1));
    repo.write("README.md", "a\n");
    oid.m1 = repo.commit("m1: data A");
    repo.git("checkout", "-q", "-b", "side");
    repo.write("data.dvc", pointer("data", 2));
    oid.s1 = repo.commit("s1: data B on the side");
    repo.write("other.txt", "x\n");
    repo.write("bad.dvc", "outs: 3\n");
    oid.s2 = repo.commit("s2: other file, and a broken pointer");
    repo.git("checkout", "-q", "main");
    repo.write("README.md", "b\n");
    oid.m2 = repo.commit("m2: readme");
    repo.tick();
    repo.git("merge", "-q", "--no-ff", "-m", "merge side", "side");
    oid.merge1 = repo.git("rev-parse", "HEAD");
    repo.write("data.dvc", pointer("data", 3));
    oid.m3 = repo.commit("m3: data C");

    repo.git("checkout", "-q", "-b", "side2", oid.m3);
    repo.write("data.dvc", pointer("data", 4));
    oid.t1 = repo.commit("t1: data D");
    repo.git("checkout", "-q", "main");
    repo.write("data.dvc", pointer("data", 5));
    oid.m4 = repo.commit("m4: data E");
    repo.tick();
    spawnSync("git", ["merge", "-q", "side2"], { cwd: repo.dir, env: repo.env() }); // conflicts
    repo.write("data.dvc", pointer("data", 6));
    repo.git("add", "data.dvc");
    repo.git("commit", "-q", "--no-edit");
    oid.merge2 = repo.git("rev-parse", "HEAD");
    repo.git("tag", "-a", "release", "-m", "annotated, packed", oid.merge1);
    repo.git("tag", "light", oid.s2);
    repo.git("gc", "-q");
  });

  it("walks merges without duplicates, matching git rev-list --all", async () => {
    const all = await allCommits(repo.dir);
    const expected = repo.git("rev-list", "--all", "--date-order").split("\n");
    expect(all.length).toBe(expected.length);
    expect(new Set(all.map((x) => x.oid)).size).toBe(all.length);
    expect(all.map((x) => x.oid)).toEqual(expected);
    expect(all.find((x) => x.oid === oid.merge1)?.parents).toEqual([oid.m2, oid.s2]);
  });

  it("resolves through packed refs and second parents", async () => {
    const history = new GitHistory(repo.dir);
    expect(await history.resolveRevision("release")).toBe(oid.merge1);
    expect(await history.resolveRevision("light")).toBe(oid.s2);
    expect(await history.resolveRevision("side")).toBe(oid.s2);
    expect(await history.resolveRevision("main^2")).toBe(oid.t1);
    expect(await history.resolveRevision("release^2~1")).toBe(oid.s1);
    expect(await history.resolveRevision(oid.merge2!.slice(0, 8))).toBe(oid.merge2);
    expect(await history.tagTargets()).toEqual(
      new Map([
        ["light", oid.s2],
        ["release", oid.merge1],
      ]),
    );
  });

  it("picks revisions the way --rev, --all-branches, --all-tags and --all-commits do", async () => {
    const history = new GitHistory(repo.dir);
    const picked = await history.selectRevisions({ revs: ["main", "release"], allBranches: true });
    expect(picked).toEqual(
      new Map([
        [oid.merge2, ["main"]],
        [oid.merge1, ["release"]],
        [oid.s2, ["side"]],
        [oid.t1, ["side2"]],
      ]),
    );
    expect((await history.selectRevisions({ allTags: true })).size).toBe(2);
    expect((await history.selectRevisions({ allCommits: true })).size).toBe(
      repo.git("rev-list", "--all").split("\n").length,
    );
  });

  it("lists each version of a file once, merges only when they made a new one", async () => {
    const changes = await commitsTouching(repo.dir, "data.dvc", "main");
    // merge1 took the side's version (s1); merge2 resolved a conflict into a new version.
    expect(changes.map((ch) => ch.message.trim().split("\n")[0])).toEqual([
      "Merge branch 'side2'",
      "m4: data E",
      "t1: data D",
      "m3: data C",
      "s1: data B on the side",
      "m1: data A",
    ]);
    expect(new Set(changes.map((ch) => ch.blob)).size).toBe(changes.length);
  });

  it("reports broken pointer files with the revision, or skips them when asked", async () => {
    const history = new GitHistory(repo.dir);
    const err = await outsOf(history)
      .at(oid.s2!)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FormatError);
    expect((err as FormatError).message).toMatch(new RegExp(`^${oid.s2!.slice(0, 7)}:bad\\.dvc: line 1: `));
    const invalid: FormatError[] = [];
    const outs = await outsOf(history).at(oid.s2!, { onInvalid: (e) => invalid.push(e) });
    expect(outs.map((o) => o.rel)).toEqual(["data"]);
    expect(invalid).toHaveLength(1);
  });
});

describe("performance on 2,000 commits", () => {
  const dir = join(work, "big");
  const COMMITS = 2000;

  beforeAll(() => {
    // One fast-import stream: a main line with a tag every 200 commits, and a side branch merged back.
    const lines: string[] = [];
    const data = (text: string) => `data ${Buffer.byteLength(text)}\n${text}`;
    const person = (t: number) => `Ada <ada@example.com> ${1_600_000_000 + t * 60} +0000`;
    const file = (path: string, text: string) => `M 100644 inline ${path}\n${data(text)}`;
    let mark = 0;
    let mainTip = 0;
    const commit = (ref: string, t: number, parents: number[], changes: string[]) => {
      mark++;
      lines.push(
        `commit ${ref}`,
        `mark :${mark}`,
        `author ${person(t)}`,
        `committer ${person(t)}`,
        data(`commit ${t}\n`),
      );
      const [from, ...merges] = parents;
      if (from !== undefined) lines.push(`from :${from}`);
      for (const m of merges) lines.push(`merge :${m}`);
      lines.push(...changes, "");
      return mark;
    };
    let t = 0;
    let sideTip = 0;
    for (let i = 1; i <= COMMITS - 100; i++) {
      const changes = [file("data.dvc", pointer("data", i))];
      if (i === 1) {
        changes.push(file(".dvc/config", CONFIG_A), file(".dvcignore", COMMENTS_ONLY));
        for (let k = 0; k < 40; k++) changes.push(file(`src/module${k}.py`, `print(${k})\n`));
      }
      if (i % 7 === 0) changes.push(file("models/m.dvc", pointer("m", i)));
      if (i === 900) {
        for (let k = 1; k <= 100; k++)
          sideTip = commit(
            "refs/heads/side",
            ++t,
            [k === 1 ? mainTip : sideTip],
            [file("side.dvc", pointer("side", k))],
          );
      }
      mainTip = commit("refs/heads/main", ++t, i === 1000 ? [mainTip, sideTip] : mainTip ? [mainTip] : [], changes);
      if (i % 200 === 0) lines.push(`reset refs/tags/v${i / 200}`, `from :${mainTip}`, "");
    }
    mkdirSync(dir);
    const env = { ...process.env, GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: "/dev/null" };
    execFileSync("git", ["init", "-q", "-b", "main"], { cwd: dir, env });
    execFileSync("git", ["fast-import", "--quiet"], { cwd: dir, env, input: lines.join("\n") });
  });

  it("walks all commits and reads a file at each; times printed, not asserted", async () => {
    const rows: string[] = [];
    /** Wall and CPU time: CPU time says more on a busy machine. */
    const time = async <T>(label: string, fn: () => Promise<T> | T): Promise<T> => {
      const cpu = process.cpuUsage();
      const start = performance.now();
      const result = await fn();
      const used = process.cpuUsage(cpu);
      const ms = (n: number) => n.toFixed(0).padStart(5);
      rows.push(
        `${label.padEnd(48)} ${ms(performance.now() - start)} ms wall ${ms((used.user + used.system) / 1000)} ms cpu`,
      );
      return result;
    };
    const cli = await time("git log --all --format=%H (CLI, a child process)", () =>
      execFileSync("git", ["log", "--all", "--format=%H"], { cwd: dir, encoding: "utf8" }).trim().split("\n"),
    );
    const history = new GitHistory(dir);
    const all = await time("allCommits (first walk of this repository)", () => history.allCommits());
    const read = await time(`readFileAtRevision(data.dvc) at each of ${all.length}`, async () => {
      let found = 0;
      for (const c of all) if (await history.readFileAtRevision(c.oid, "data.dvc")) found++;
      return found;
    });
    const outs = await time(`outsAtRevision at each of ${all.length}`, async () => {
      let count = 0;
      for (const c of all) count += (await outsOf(history).at(c.oid)).length;
      return count;
    });
    const touching = await time("commitsTouching(models/m.dvc, main)", () =>
      history.commitsTouching("models/m.dvc", "main"),
    );
    const fresh = new GitHistory(dir);
    await time("allCommits (again, new GitHistory)", () => fresh.allCommits());
    await time(`  + readFileAtRevision(data.dvc) at each`, async () => {
      for (const c of all) await fresh.readFileAtRevision(c.oid, "data.dvc");
    });
    console.log(rows.join("\n"));

    expect(all.length).toBe(cli.length);
    expect(new Set(all.map((c) => c.oid))).toEqual(new Set(cli));
    expect(read).toBe(all.length);
    expect(touching).toHaveLength(Math.floor((COMMITS - 100) / 7));
    expect(outs).toBeGreaterThan(all.length);
  }, 120_000);
});

/** What a list of outputs tracks, order aside: pointer, data path and hash of each. */
function tracked(outs: { gitPath: string; rel: string; out: { md5?: string } }[]): string[] {
  return [...new Set(outs.map((o) => `${o.gitPath} ${o.rel} ${o.out.md5}`))].sort();
}

/** Hide a repository's objects while `fn` runs: whatever `fn` answers did not come from reading them. */
async function withoutObjects<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const objects = join(dir, ".git", "objects");
  renameSync(objects, `${objects}.hidden`);
  try {
    return await fn();
  } finally {
    renameSync(`${objects}.hidden`, objects);
  }
}

describe("the history index kept between commands", () => {
  const repo = new Fixture(join(work, "indexed"));
  const index = join(work, "indexed-index", "git-index.json");
  const c: Record<string, string> = {};

  beforeAll(() => {
    repo.write(".dvcignore", COMMENTS_ONLY);
    repo.write("data.dvc", pointer("data", 1));
    repo.write("sub/model.dvc", pointer("model", 2));
    repo.write("old.dvc", pointer("old", 10));
    c.first = repo.commit("first");
    repo.write("data.dvc", pointer("data", 3));
    repo.write("skip/x.dvc", pointer("x", 4));
    c.second = repo.commit("second");
    repo.git("tag", "-a", "v1", "-m", "one");
    repo.git("checkout", "-q", "-b", "side");
    repo.write("sub/model.dvc", pointer("model", 5));
    repo.write("images.dvc", pointer("images", 6, true));
    c.side = repo.commit("side: model 5, images");
    repo.git("checkout", "-q", "main");
    repo.write(".dvcignore", `${COMMENTS_ONLY}skip/\n`);
    repo.remove("old.dvc");
    c.third = repo.commit("third: ignore skip/, drop old");
    repo.tick();
    repo.git("merge", "-q", "--no-ff", "-m", "merge side", "side");
    c.merge = repo.git("rev-parse", "HEAD");
    repo.write("data.dvc", pointer("data", 7));
    c.fourth = repo.commit("fourth");
    // A pointer reached through a symbolic link: its versions follow the link's target.
    symlinkSync("data.dvc", join(repo.dir, "alias.dvc"));
    c.fifth = repo.commit("fifth: alias.dvc links to data.dvc");
    repo.write("data.dvc", pointer("data", 8));
    c.sixth = repo.commit("sixth");
  });

  it("gives for a set of commits exactly the outputs of each commit, together", async () => {
    const history = new GitHistory(repo.dir);
    const all = (await history.allCommits()).map((x) => x.oid);
    const one = async (oids: string[]) =>
      tracked((await Promise.all(oids.map((o) => outsOf(new GitHistory(repo.dir)).at(o)))).flat());
    expect(tracked(await outsOf(history).ofCommits(all))).toEqual(await one(all));
    // Ignored from the third commit on, but tracked before: kept.
    expect(tracked(await outsOf(history).ofCommits(all))).toContain(`skip/x.dvc skip/x ${md5Of(4)}`);
    // The symbolic link's pointer at each version of its target.
    expect(tracked(await outsOf(history).ofCommits(all))).toContain(`alias.dvc data ${md5Of(8)}`);
    // A set that leaves out parents: each commit whole, not only what it changed.
    const some = [c.fourth!, c.side!, c.first!];
    expect(tracked(await outsOf(new GitHistory(repo.dir)).ofCommits(some))).toEqual(await one(some));
  });

  it("answers a later reader without reading git's objects again", async () => {
    rmSync(dirname(index), { recursive: true, force: true });
    const first = new GitHistory(repo.dir, { indexFile: index });
    const all = await first.allCommits();
    const outs = tracked(await outsOf(first).ofCommits(all.map((x) => x.oid)));
    const touching = await first.commitsTouching("data.dvc");
    const pointerAtV1 = await first.pointerAtRevision("v1", "data.dvc");
    first.saveIndex();

    const later = new GitHistory(repo.dir, { indexFile: index });
    await withoutObjects(repo.dir, async () => {
      expect(await later.allCommits()).toEqual(all);
      expect(tracked(await outsOf(later).ofCommits(all.map((x) => x.oid)))).toEqual(outs);
      expect(await later.commitsTouching("data.dvc")).toEqual(touching);
      expect((await later.pointerAtRevision("v1", "data.dvc"))?.outs).toEqual(pointerAtV1?.outs);
    });
    expect(pointerAtV1?.outs[0]?.md5).toBe(md5Of(3));
    expect(touching.map((t) => t.oid)).toEqual([c.sixth, c.fourth, c.second, c.first]);
  });

  it("still reads git for what it has not seen: a new commit", async () => {
    const before = new GitHistory(repo.dir, { indexFile: index });
    await before.allCommits();
    before.saveIndex();
    repo.write("data.dvc", pointer("data", 9));
    const newest = repo.commit("seventh");
    const after = new GitHistory(repo.dir, { indexFile: index });
    expect((await after.allCommits())[0]?.oid).toBe(newest);
    expect(tracked(await outsOf(after).ofCommits([newest]))).toEqual(tracked(await outsOf(after).at(newest)));
    expect(tracked(await outsOf(after).ofCommits([newest]))).toContain(`data.dvc data ${md5Of(9)}`);
    expect((await after.commitsTouching("data.dvc"))[0]?.oid).toBe(newest);
  });

  it("ignores an index file that is damaged or from another format, and writes a good one", async () => {
    const expected = tracked(await outsOf(new GitHistory(repo.dir)).ofCommits([c.side!]));
    for (const junk of ["{not json", JSON.stringify({ format: "mlv-git-index", version: 999 }), "[]"]) {
      writeFileSync(index, junk);
      const history = new GitHistory(repo.dir, { indexFile: index });
      expect(tracked(await outsOf(history).ofCommits([c.side!]))).toEqual(expected);
      history.saveIndex();
      expect(JSON.parse(readFileSync(index, "utf8")).format).toBe("mlv-git-index");
    }
  });
});
