import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { startGitHttp } from "../../../test-fixtures/servers/git-http.js";
import { md5, type Sandbox, sandbox } from "./helpers.js";

const MODEL_V1 = "model weights, version 1\n";
const MODEL_V2 = "model weights, version 2 (retrained)\n";

/**
 * A source repository next to the sandbox's own (folder `name`): git, `mlv init`, a local remote
 * (`remote`, by default given by a relative path), model.h5 and data/ added and pushed, committed
 * and tagged v1.0; then a new model.h5, pushed, committed and tagged v2.0.
 */
function sourceRepo(s: Sandbox, { name = "src", remote = "../remote" } = {}) {
  const src = join(s.dir, name);
  mkdirSync(src);
  const inSrc = { cwd: `../${name}` };
  const git = (...args: string[]) => s.mustGit("-C", src, ...args).stdout.trim();
  const mlv = (...args: string[]) => {
    const r = s.mlvWith(inSrc, ...args);
    if (r.code !== 0) throw new Error(`mlv ${args.join(" ")} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
    return r;
  };
  git("init", "-q", "-b", "main");
  mlv("init");
  mlv("remote", "add", "-d", "storage", remote);
  mkdirSync(s.remote, { recursive: true });
  s.write(`../${name}/model.h5`, MODEL_V1);
  s.writeTree({ "a.csv": "a,b\n1,2\n", "sub/b.txt": "bee\n" }, `../${name}/data`);
  s.write(`../${name}/README.md`, "# the source project\n");
  mlv("add", "model.h5", "data");
  mlv("push");
  git("add", "-A");
  git("commit", "-q", "-m", "model v1");
  git("tag", "v1.0");
  const v1 = git("rev-parse", "HEAD");
  s.write(`../${name}/model.h5`, MODEL_V2);
  mlv("add", "model.h5");
  mlv("push");
  git("add", "-A");
  git("commit", "-q", "-m", "model v2");
  git("tag", "v2.0");
  const v2 = git("rev-parse", "HEAD");
  return { src, v1, v2, git, mlv };
}

/** A folder that is neither a git nor an mlv repository. */
function plainFolder(s: Sandbox): string {
  const dir = join(s.dir, "plain");
  mkdirSync(dir);
  return dir;
}

/** The `.dvc` text DVC writes for an import, its stage md5 computed as spec §1.7 says. */
function importText(o: {
  path: string;
  url: string;
  rev?: string;
  revLock: string;
  md5: string;
  size: number;
  nfiles?: number;
  out: string;
}): string {
  const repoJson = `{${o.rev ? `"rev": "${o.rev}", ` : ""}"rev_lock": "${o.revLock}", "url": "${o.url}"}`;
  const json = `{"deps": [{"path": "${o.path}", "repo": ${repoJson}}], "outs": [{"hash": "md5", "md5": "${o.md5}", "path": "${o.out}"}]}`;
  return [
    `md5: ${md5(json)}`,
    "frozen: true",
    "deps:",
    `- path: ${o.path}`,
    "  repo:",
    `    url: ${o.url}`,
    ...(o.rev ? [`    rev: ${o.rev}`] : []),
    `    rev_lock: ${o.revLock}`,
    "outs:",
    `- md5: ${o.md5}`,
    `  size: ${o.size}`,
    ...(o.nfiles !== undefined ? [`  nfiles: ${o.nfiles}`] : []),
    "  hash: md5",
    `  path: ${o.out}`,
    "",
  ].join("\n");
}

describe("mlv get", () => {
  it("gets model v1.0 into a plain folder, from the remote when the source cache is gone", () => {
    const s = sandbox({ git: false });
    const { src } = sourceRepo(s);
    rmSync(join(src, ".dvc", "cache"), { recursive: true, force: true });
    const dir = plainFolder(s);
    const r = s.mlvWith({ cwd: "../plain" }, "get", "../src", "model.h5", "--rev", "v1.0", "-o", "old.h5");
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(dir, "old.h5"), "utf8")).toBe(MODEL_V1);
    // Nothing else is left behind: no repository, no temporary files.
    expect(readdirSync(dir)).toEqual(["old.h5"]);

    // The default revision is HEAD: v2.
    expect(s.mlvWith({ cwd: "../plain" }, "get", "../src", "model.h5").code).toBe(0);
    expect(readFileSync(join(dir, "model.h5"), "utf8")).toBe(MODEL_V2);
  });

  it("refuses to overwrite an existing output without -f", () => {
    const s = sandbox({ git: false });
    sourceRepo(s);
    const dir = plainFolder(s);
    s.write("../plain/model.h5", "mine\n");
    const r = s.mlvWith({ cwd: "../plain" }, "get", "../src", "model.h5", "--rev", "v1.0");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("The file 'model.h5' already exists locally. To override it, re-run with '--force'.");
    expect(readFileSync(join(dir, "model.h5"), "utf8")).toBe("mine\n");
    expect(s.mlvWith({ cwd: "../plain" }, "get", "../src", "model.h5", "--rev", "v1.0", "-f").code).toBe(0);
    expect(readFileSync(join(dir, "model.h5"), "utf8")).toBe(MODEL_V1);
  });

  it("gets a tracked folder, and a file inside one, from the source's cache", () => {
    const s = sandbox({ git: false });
    sourceRepo(s);
    rmSync(s.remote, { recursive: true, force: true }); // only the source's cache has the data now
    const dir = plainFolder(s);
    expect(s.mlvWith({ cwd: "../plain" }, "get", "../src", "data", "-o", "d").code).toBe(0);
    expect(s.files("../plain/d")).toEqual(["a.csv", "sub/b.txt"]);
    expect(readFileSync(join(dir, "d", "sub", "b.txt"), "utf8")).toBe("bee\n");
    expect(s.mlvWith({ cwd: "../plain" }, "get", "../src", "data/sub/b.txt").code).toBe(0);
    expect(readFileSync(join(dir, "b.txt"), "utf8")).toBe("bee\n");
    // -o naming an existing folder puts the data inside it, as DVC does.
    expect(s.mlvWith({ cwd: "../plain" }, "get", "../src", "model.h5", "-o", "d").code).toBe(0);
    expect(readFileSync(join(dir, "d", "model.h5"), "utf8")).toBe(MODEL_V2);
  });

  it("gets a plain git-tracked file from git", () => {
    const s = sandbox({ git: false });
    sourceRepo(s);
    const dir = plainFolder(s);
    expect(s.mlvWith({ cwd: "../plain" }, "get", "../src", "README.md", "--rev", "v1.0").code).toBe(0);
    expect(readFileSync(join(dir, "README.md"), "utf8")).toBe("# the source project\n");
  });

  it("reads a bare repository, by path or file:// URL", () => {
    const s = sandbox({ git: false });
    const { src } = sourceRepo(s);
    s.mustGit("clone", "-q", "--bare", src, join(s.dir, "src.git"));
    const dir = plainFolder(s);
    expect(s.mlvWith({ cwd: "../plain" }, "get", "../src.git", "model.h5", "--rev", "v1.0", "-o", "a.h5").code).toBe(0);
    expect(readFileSync(join(dir, "a.h5"), "utf8")).toBe(MODEL_V1);
    const url = pathToFileURL(join(s.dir, "src.git")).href;
    expect(s.mlvWith({ cwd: "../plain" }, "get", url, "model.h5", "-o", "b.h5").code).toBe(0);
    expect(readFileSync(join(dir, "b.h5"), "utf8")).toBe(MODEL_V2);
  });

  it("names what is missing: an unknown path, an unknown revision", () => {
    const s = sandbox({ git: false });
    sourceRepo(s);
    plainFolder(s);
    const missing = s.mlvWith({ cwd: "../plain" }, "get", "../src", "nope.bin");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("The path 'nope.bin' does not exist in the target repository '../src'");
    const badRev = s.mlvWith({ cwd: "../plain" }, "get", "../src", "model.h5", "--rev", "v9.9");
    expect(badRev.code).toBe(1);
    expect(badRev.stderr).toContain("unknown revision 'v9.9'");
  });
});

describe("mlv import and update", () => {
  it("imports v1.0 in DVC's layout, status is clean, update --rev v2.0 moves it", () => {
    const s = sandbox({ init: "mlv" });
    const { v1, v2 } = sourceRepo(s);
    const r = s.mlv("import", "../src", "model.h5", "--rev", "v1.0");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("Importing 'model.h5 (../src)' -> 'model.h5'");
    expect(r.stdout).toContain("git add model.h5.dvc .gitignore");
    expect(s.read("model.h5")).toBe(MODEL_V1);
    expect(s.read("model.h5.dvc")).toBe(
      importText({
        path: "model.h5",
        url: "../src",
        rev: "v1.0",
        revLock: v1,
        md5: md5(MODEL_V1),
        size: MODEL_V1.length,
        out: "model.h5",
      }),
    );
    expect(s.read(".gitignore")).toBe("/model.h5\n");
    expect(s.exists(s.cacheObject(md5(MODEL_V1)))).toBe(true);
    expect(s.must("status").stdout).toContain("Data and pipelines are up to date.");

    const u = s.mlv("update", "model.h5.dvc", "--rev", "v2.0");
    expect(u.code, u.stderr).toBe(0);
    expect(s.read("model.h5")).toBe(MODEL_V2);
    expect(s.read("model.h5.dvc")).toBe(
      importText({
        path: "model.h5",
        url: "../src",
        rev: "v2.0",
        revLock: v2,
        md5: md5(MODEL_V2),
        size: MODEL_V2.length,
        out: "model.h5",
      }),
    );
    expect(s.must("status").stdout).toContain("Data and pipelines are up to date.");
    // Already there: nothing to do.
    expect(s.must("update", "model.h5.dvc").stdout).toContain("Stage 'model.h5.dvc' didn't change, skipping");
  });

  it("pull in a fresh clone fetches imported data from its source's remote, not from this project's", () => {
    const s = sandbox({ init: "mlv" });
    const { src } = sourceRepo(s);
    expect(s.mlv("import", "../src", "model.h5", "--rev", "v1.0").code).toBe(0);
    expect(s.mlv("import", "../src", "data", "-o", "inputs").code).toBe(0);
    // A clone of this project: no cache, no data; and the source's cache is gone too.
    for (const p of [".dvc/cache", "model.h5", "inputs"]) rmSync(join(s.repo, p), { recursive: true, force: true });
    rmSync(join(src, ".dvc", "cache"), { recursive: true, force: true });
    const pulled = s.mlv("pull");
    expect(pulled.code, pulled.stderr).toBe(0);
    expect(s.read("model.h5")).toBe(MODEL_V1);
    expect(s.read("inputs/a.csv")).toBe("a,b\n1,2\n");
    expect(s.read("inputs/sub/b.txt")).toBe("bee\n");
    // This project has no remote at all: the data came from the source's.
    expect(s.mlv("remote", "list").stdout).toBe("");
    expect(s.must("status").stdout).toContain("Data and pipelines are up to date.");
  });

  it("imports a folder from HEAD; update follows the source's new commits", () => {
    const s = sandbox({ init: "mlv" });
    const { v2, git, mlv } = sourceRepo(s);
    expect(s.mlv("import", "../src", "data", "-o", "inputs").code).toBe(0);
    expect(s.files("inputs")).toEqual(["a.csv", "sub/b.txt"]);
    const text = s.read("inputs.dvc");
    expect(text).toContain(`    rev_lock: ${v2}\n`);
    expect(text).not.toContain("rev: ");
    expect(text).toContain("  nfiles: 2\n  hash: md5\n  path: inputs\n");
    expect(s.must("status").stdout).toContain("Data and pipelines are up to date.");

    s.write("../src/data/c.csv", "c\n");
    mlv("add", "data");
    mlv("push");
    git("add", "-A");
    git("commit", "-q", "-m", "more data");
    const v3 = git("rev-parse", "HEAD");
    expect(s.mlv("update", "inputs.dvc").code).toBe(0);
    expect(s.files("inputs")).toEqual(["a.csv", "c.csv", "sub/b.txt"]);
    expect(s.read("inputs.dvc")).toContain(`    rev_lock: ${v3}\n`);
    expect(s.read("inputs.dvc")).toContain("  nfiles: 3\n");
    expect(s.must("status").stdout).toContain("Data and pipelines are up to date.");
  });

  it("refuses to replace existing data without -f, and names a file that is not an import", () => {
    const s = sandbox({ init: "mlv" });
    sourceRepo(s);
    s.write("model.h5", "mine\n");
    const r = s.mlv("import", "../src", "model.h5");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("already exists locally");
    expect(s.read("model.h5")).toBe("mine\n");
    s.must("add", "model.h5");
    const u = s.mlv("update", "model.h5.dvc");
    expect(u.code).toBe(2);
    expect(u.stderr).toContain("'model.h5.dvc' is not an import");
  });

  it("repro of an import whose data changed in the workspace says which command restores which version", () => {
    const s = sandbox({ init: "mlv" });
    sourceRepo(s);
    s.must("import", "../src", "model.h5");
    s.rm("model.h5");
    s.write("model.h5", "edited\n");
    const r = s.mlv("repro", "model.h5.dvc");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("'model.h5.dvc' is an import whose data changed in the workspace");
    expect(r.stderr).toMatch(
      /\nRun 'mlv update model\.h5\.dvc' for the source's version, or 'mlv checkout model\.h5\.dvc' for the recorded one\.\n$/,
    );
    expect(s.read("model.h5")).toBe("edited\n");
  });
});

describe("a source repository served over http", () => {
  it("gets, lists and imports through a shallow clone of an http git URL", async () => {
    const s = sandbox({ init: "mlv" });
    // The source: its remote an absolute path, so that a clone elsewhere finds it.
    const { src, v1 } = sourceRepo(s, { name: "http-src", remote: join(s.dir, "http-storage") });
    mkdirSync(join(s.dir, "served"));
    s.mustGit("clone", "-q", "--bare", src, join(s.dir, "served", "src.git"));
    rmSync(src, { recursive: true, force: true }); // only the served copy and the storage are left

    const server = await startGitHttp(join(s.dir, "served"));
    try {
      const url = `${server.url}/src.git`;
      const got = await s.mlvAsync("get", url, "model.h5", "--rev", "v1.0", "-o", "old.h5");
      expect(got.stderr).toBe("");
      expect(got.code, got.stderr).toBe(0);
      expect(s.read("old.h5")).toBe(MODEL_V1);
      // Through git's smart HTTP protocol, not a local path.
      expect(server.requests.some((r) => r.includes("git-upload-pack"))).toBe(true);

      const listed = await s.mlvAsync("list", url, "--json");
      expect(listed.code, listed.stderr).toBe(0);
      const entries = JSON.parse(listed.stdout) as { path: string; md5?: string }[];
      expect(entries.find((e) => e.path === "model.h5")?.md5).toBe(md5(MODEL_V2));
      // Inside a tracked folder: its file list comes from the source's remote.
      const inside = await s.mlvAsync("list", url, "data", "-R", "--json");
      expect(inside.stderr).toBe("");
      expect((JSON.parse(inside.stdout) as { path: string }[]).map((e) => e.path).sort()).toEqual([
        "a.csv",
        "sub/b.txt",
      ]);

      const imported = await s.mlvAsync("import", url, "model.h5", "--rev", "v1.0");
      expect(imported.code).toBe(0);
      expect(s.read("model.h5")).toBe(MODEL_V1);
      expect(s.read("model.h5.dvc")).toContain(`    url: ${url}\n    rev: v1.0\n    rev_lock: ${v1}\n`);
      const updated = await s.mlvAsync("update", "model.h5.dvc", "--rev", "main");
      expect(updated.code).toBe(0);
      expect(s.read("model.h5")).toBe(MODEL_V2);
    } finally {
      await server.close();
    }
  }, 60_000);
});
