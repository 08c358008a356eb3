/**
 * The public API as a program uses it (imported from the package's entry): a Repo opened from a
 * subfolder while the process stands elsewhere, its versions/diff/metrics/list/read with paths from
 * the repository root; reading an old revision whose committed config has no remote (or a moved
 * one) from a remote the program names; AbortSignals, aborted before and during a call.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import * as api from "../src/index.js";
import { type MlvError, type MlvErrorCode, type ProgressEvent, Repo, read } from "../src/index.js";
import { workFolder } from "./work-folder.js";

const work = workFolder("mlv-api-repo-");
const dir = join(work, "project");
const store = join(work, "store");
const BIG = Buffer.alloc(6 * 1024 * 1024, "weights v2 ");

function git(...args: string[]): string {
  return execFileSync("git", ["-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false", ...args], {
    cwd: dir,
    env: {
      ...process.env,
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_CONFIG_GLOBAL: "/dev/null",
      GIT_AUTHOR_NAME: "Ada",
      GIT_AUTHOR_EMAIL: "ada@example.com",
      GIT_COMMITTER_NAME: "Ada",
      GIT_COMMITTER_EMAIL: "ada@example.com",
    },
  }).toString();
}

function write(rel: string, data: string | Buffer): void {
  mkdirSync(join(dir, rel, ".."), { recursive: true });
  writeFileSync(join(dir, rel), data);
}

const remoteSection = (url: string) => `[core]\n    remote = storage\n['remote "storage"']\n    url = ${url}\n`;

/** A rejection's value (the test fails when the promise resolves). */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.unreachable("the call resolved"),
    (err: unknown) => err,
  );
}

/**
 * v1: the model and metrics, committed with no remote in `.dvc/config`. HEAD: a bigger model and new
 * metrics, committed with a remote whose URL has since moved. The data of both is on `store`, and
 * the local cache is emptied: every read of data goes to a remote.
 */
beforeAll(async () => {
  mkdirSync(dir, { recursive: true });
  git("init", "-q", "-b", "main");
  let repo = await Repo.init(dir);
  mkdirSync(join(dir, "notebooks"));
  write("notebooks/README", "analysis lives here\n");
  write("models/model.bin", "weights v1");
  write("metrics.json", JSON.stringify({ acc: 0.5 }));
  await repo.add(["models/model.bin"]);
  git("add", "-A");
  git("commit", "-q", "-m", "v1");
  git("tag", "v1");

  write(".dvc/config", remoteSection(store));
  await repo.close();
  repo = await Repo.open(dir);
  await repo.push();
  write("models/model.bin", BIG);
  write("metrics.json", JSON.stringify({ acc: 0.75 }));
  await repo.add(["models/model.bin"]);
  await repo.push();
  write(".dvc/config", remoteSection(join(work, "moved-away")));
  git("add", "-A");
  git("commit", "-q", "-m", "v2");
  await repo.close();
  rmSync(join(dir, ".dvc", "cache"), { recursive: true, force: true });
}, 60_000);

describe("the public entry", () => {
  it("exposes the Repo handle and the adapter contract, not the internals the CLI uses", () => {
    for (const name of ["Repo", "open", "read", "getUrl", "get", "list", "MlvError", "isWritable", "askSecret"])
      expect(api, name).toHaveProperty(name);
    for (const name of ["Project", "loadPointer", "ObjectCache", "outputVersions", "showMetrics", "collectOuts"])
      expect(api, name).not.toHaveProperty(name);
  });

  it("gives a Repo without its project's internals", async () => {
    const repo = await Repo.open(dir);
    for (const name of ["workers", "hashCache", "locked", "loadPointer", "cache", "scm", "dvcDir"])
      expect(name in repo, name).toBe(false);
    expect(repo.root).toBe(dir);
    expect(repo.config.defaultRemote()).toBe("storage");
    await repo.close();
  });
});

describe("paths from the repository root", () => {
  it("whatever folder the Repo was opened from and the process stands in", async () => {
    const repo = await Repo.open(join(dir, "notebooks"));
    const saved = process.cwd();
    process.chdir(join(dir, "notebooks"));
    try {
      const { path, pointer, versions } = await repo.versions("models/model.bin", { metricsFile: "metrics.json" });
      expect({ path, pointer }).toEqual({ path: "models/model.bin", pointer: "models/model.bin.dvc" });
      expect(versions.map((v) => [v.message, v.tags, v.size, v.metrics])).toEqual([
        ["v2", [], BIG.length, { acc: 0.75 }],
        ["v1", ["v1"], 10, { acc: 0.5 }],
      ]);

      const changed = await repo.diff({ a: "v1", b: "HEAD", targets: ["models"] });
      expect(changed.modified.map((e) => e.path)).toEqual(["models/model.bin"]);

      const shown = await repo.metricsShow({ files: ["metrics.json"], revs: ["v1"] });
      expect(shown).toEqual({
        workspace: { data: { "metrics.json": { data: { acc: 0.75 } } } },
        v1: { data: { "metrics.json": { data: { acc: 0.5 } } } },
      });
      expect(await repo.metricsDiff({ a: "v1", b: "HEAD" })).toEqual({
        "metrics.json": { acc: { old: 0.5, new: 0.75, diff: 0.25 } },
      });

      const listed = await repo.list("models", { rev: "v1" });
      expect(listed.entries.map((e) => [e.path, e.isout])).toEqual([
        [".gitignore", false],
        ["model.bin", true],
        ["model.bin.dvc", false],
      ]);
      expect(await repo.read("notebooks/README", { encoding: "utf8" })).toBe("analysis lives here\n");
    } finally {
      process.chdir(saved);
      await repo.close();
    }
  });

  it("refuses a path outside the repository, naming it", async () => {
    const repo = await Repo.open(dir);
    const err = (await rejection(repo.diff({ targets: ["../elsewhere"] }))) as MlvError;
    const code: MlvErrorCode = err.code;
    expect(code).toBe("EUSAGE");
    expect(err.message).toContain("'../elsewhere' is outside the repository");
    await repo.close();
  });
});

describe("reading an old revision from a remote the program names", () => {
  it("fails without one when the revision's config has no remote", async () => {
    const err = (await rejection(read("models/model.bin", { repo: dir, rev: "v1" }))) as MlvError;
    expect(err.code).toBe("ENODEFAULTREMOTE");
    expect(err.message).toContain("pass { remote: NAME } or { remote: URL }");
  });

  it("reads it from a URL or local path given as `remote`", async () => {
    expect(await read("models/model.bin", { repo: join(dir, "notebooks"), rev: "v1", remote: store })).toEqual(
      Buffer.from("weights v1"),
    );
    // A relative path starts at the repository root, not at process.cwd().
    const repo = await Repo.open(dir);
    expect(await repo.read("models/model.bin", { rev: "v1", remote: "../store", encoding: "utf8" })).toBe("weights v1");
    expect(await repo.getUrl("models/model.bin", { rev: "v1", remote: store })).toMatch(
      new RegExp(`^${store}/files/md5/[0-9a-f]{2}/[0-9a-f]{30}$`),
    );
    await repo.close();
  });

  it("lays `remoteConfig` over the revision's remote whose URL moved", async () => {
    const repo = await Repo.open(dir);
    const stale = (await rejection(repo.read("models/model.bin", { rev: "HEAD" }))) as MlvError;
    expect(stale.code).toBe("EMISSING");
    const events: ProgressEvent[] = [];
    const bytes = await repo.read("models/model.bin", {
      rev: "HEAD",
      remoteConfig: { url: store },
      onProgress: (e) => events.push(e),
    });
    expect(bytes.equals(BIG)).toBe(true);
    expect(events.at(-1)).toMatchObject({ phase: "fetch", files: 1, totalFiles: 1, bytes: BIG.length });
    await repo.close();
  });

  it("copies it out with `get`, whole", async () => {
    const repo = await Repo.open(dir);
    const out = join(work, "got", "model-v1.bin");
    const got = await repo.get("models/model.bin", { rev: "v1", out, remote: store });
    expect(got).toMatchObject({ path: out, isDir: false, files: 1, origin: "remote" });
    expect(readFileSync(out, "utf8")).toBe("weights v1");
    await repo.close();
  });
});

describe("AbortSignal", () => {
  const reason = new Error("stop now");
  const aborted = AbortSignal.abort(reason);

  it("rejects every call with the signal's reason when it is aborted beforehand", async () => {
    const repo = await Repo.open(dir);
    const signal = aborted;
    const calls: [string, Promise<unknown>][] = [
      ["versions", repo.versions("models/model.bin", { signal })],
      ["diff", repo.diff({ signal })],
      ["metricsShow", repo.metricsShow({ signal })],
      ["metricsDiff", repo.metricsDiff({ signal })],
      ["list", repo.list("", { signal })],
      ["open", repo.open("models/model.bin", { signal })],
      ["read", read("metrics.json", { repo: dir, signal })],
      ["get", repo.get("models/model.bin", { out: join(work, "never"), remote: store, signal })],
      ["getUrl", repo.getUrl("models/model.bin", { signal })],
    ];
    for (const [name, call] of calls) expect(await rejection(call), name).toBe(reason);
    expect(existsSync(join(work, "never"))).toBe(false);
    await repo.close();
  });

  it("ends a stream read from the remote with the reason when aborted while it flows", async () => {
    const repo = await Repo.open(dir);
    const controller = new AbortController();
    const stream = await repo.open("models/model.bin", { remote: store, signal: controller.signal });
    let received = 0;
    const err = await (async () => {
      try {
        for await (const chunk of stream) {
          received += (chunk as Buffer).length;
          controller.abort(reason);
        }
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBe(reason);
    expect(received).toBeGreaterThan(0);
    expect(received).toBeLessThan(BIG.length);
    await repo.close();
  });

  it("leaves no file behind when a get is aborted while it downloads", async () => {
    const repo = await Repo.open(dir);
    const controller = new AbortController();
    const folder = join(work, "aborted-get");
    mkdirSync(folder);
    const err = await rejection(
      repo.get("models/model.bin", {
        out: join(folder, "model.bin"),
        remote: store,
        signal: controller.signal,
        onProgress: () => controller.abort(reason),
      }),
    );
    expect(err).toBe(reason);
    expect(readdirSync(folder)).toEqual([]);
    await repo.close();
  });
});
