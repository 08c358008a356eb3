/**
 * The JavaScript API: open/read/getUrl on a repository built with the git CLI, at the workspace and
 * at a tag, from the cache and from a local remote (found by package name, as a user's program
 * would), and the Repo operations with progress events and an AbortSignal.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { buffer } from "node:stream/consumers";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { getUrl, open, read } from "../src/api/read.js";
import { Repo } from "../src/api/repo.js";
import type { ProgressEvent } from "../src/progress.js";
import { workFolder } from "./work-folder.js";

const work = workFolder("mlv-api-");

const md5 = (data: string | Buffer) => createHash("md5").update(data).digest("hex");
const objectPath = (oid: string) => join("files", "md5", oid.slice(0, 2), oid.slice(2));

/** Every file below `dir`, as paths relative to it. */
function filesBelow(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return (readdirSync(dir, { recursive: true }) as string[]).filter((p) => statSync(join(dir, p)).isFile()).sort();
}

/** An mlv project in a git repository, with a local folder as its default remote. */
class Project {
  readonly dir: string;
  readonly remote: string;
  private clock = 1_700_000_000;

  constructor(name: string) {
    this.dir = join(work, name);
    this.remote = join(work, `${name}-remote`);
    mkdirSync(this.dir, { recursive: true });
    this.git("init", "-q", "-b", "main");
  }

  async init(): Promise<Repo> {
    await Repo.init(this.dir);
    this.write(".dvc/config", `[core]\n    remote = storage\n['remote "storage"']\n    url = ${this.remote}\n`);
    return Repo.open(this.dir);
  }

  git(...args: string[]): string {
    const date = `@${this.clock} +0000`;
    return execFileSync("git", ["-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false", ...args], {
      cwd: this.dir,
      env: {
        ...process.env,
        HOME: work,
        GIT_CONFIG_NOSYSTEM: "1",
        GIT_CONFIG_GLOBAL: "/dev/null",
        GIT_AUTHOR_NAME: "Ada Lovelace",
        GIT_AUTHOR_EMAIL: "ada@example.com",
        GIT_COMMITTER_NAME: "Ada Lovelace",
        GIT_COMMITTER_EMAIL: "ada@example.com",
        GIT_AUTHOR_DATE: date,
        GIT_COMMITTER_DATE: date,
      },
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    }).trim();
  }

  commit(message: string, tag?: string): void {
    this.clock += 60;
    this.git("add", "-A");
    this.git("commit", "-q", "-m", message);
    if (tag) this.git("tag", tag);
  }

  write(path: string, data: string | Buffer): void {
    mkdirSync(dirname(join(this.dir, path)), { recursive: true });
    writeFileSync(join(this.dir, path), data);
  }

  read(path: string): Buffer {
    return readFileSync(join(this.dir, path));
  }

  get cache(): string {
    return join(this.dir, ".dvc", "cache");
  }
}

const V1 = "weights of version one\n".repeat(1000);
const V2 = "weights of version two, retrained\n".repeat(1500);
const LABELS = "id,label\n1,cat\n2,dog\n";

describe("open, read and getUrl", () => {
  const p = new Project("models");

  beforeAll(async () => {
    const repo = await p.init();
    p.write("model.h5", V1);
    p.write("data/labels.csv", LABELS);
    p.write("data/images/a.bin", "image a");
    p.write("data/images/b.bin", "image b, soon corrupt on the remote");
    p.write("README.md", "# models\n");
    await repo.add(["model.h5", "data"]);
    expect((await repo.push()).failed).toEqual([]);
    p.commit("v1", "v1.0");
    p.write("model.h5", V2);
    await repo.add(["model.h5"]);
    await repo.push();
    p.commit("v2", "v2.0");
    await repo.close();
  });

  it("reads a tracked file from the cache, as bytes, as text and as a stream", async () => {
    expect(await read("model.h5", { repo: p.dir })).toEqual(Buffer.from(V2));
    expect(await read("model.h5", { repo: p.dir, encoding: "utf8" })).toBe(V2);
    expect((await buffer(await open("model.h5", { repo: p.dir }))).toString()).toBe(V2);
  });

  it("reads the version of a tag after the workspace moved on, without touching the workspace", async () => {
    expect(await read("model.h5", { repo: p.dir, rev: "v1.0", encoding: "utf8" })).toBe(V1);
    expect(await read("model.h5", { repo: p.dir, rev: "HEAD~1", encoding: "utf8" })).toBe(V1);
    expect(p.read("model.h5").toString()).toBe(V2);
    expect(p.git("rev-parse", "--abbrev-ref", "HEAD")).toBe("main");
  });

  it("reads a file inside a tracked folder, and a file git tracks", async () => {
    expect(await read("data/labels.csv", { repo: p.dir, encoding: "utf8" })).toBe(LABELS);
    expect(await read("data/images/a.bin", { repo: p.dir, rev: "v1.0", encoding: "utf8" })).toBe("image a");
    expect(await read("README.md", { repo: p.dir, rev: "v1.0", encoding: "utf8" })).toBe("# models\n");
  });

  it("names what does not exist, and refuses a whole folder", async () => {
    await expect(read("data/nope.csv", { repo: p.dir })).rejects.toMatchObject({
      code: "ENOTFOUND",
      message: expect.stringContaining("'data/nope.csv'"),
    });
    await expect(read("data", { repo: p.dir })).rejects.toMatchObject({ code: "EISDIR" });
    await expect(read("model.h5", { repo: p.dir, rev: "v9" })).rejects.toMatchObject({ code: "EREV" });
  });

  it("streams from the remote when the cache lacks the objects, and leaves the cache alone", async () => {
    const backup = `${p.cache}.bak`;
    execFileSync("cp", ["-a", p.cache, backup]);
    rmSync(p.cache, { recursive: true, force: true });
    try {
      expect(await read("model.h5", { repo: p.dir, rev: "v1.0" })).toEqual(Buffer.from(V1));
      expect(await read("model.h5", { repo: p.dir, encoding: "utf8" })).toBe(V2);
      // The folder's listing (.dir) comes from the remote too, verified.
      expect(await read("data/labels.csv", { repo: p.dir, rev: "v1.0", encoding: "utf8" })).toBe(LABELS);
      expect(filesBelow(p.cache)).toEqual([]);
    } finally {
      rmSync(p.cache, { recursive: true, force: true });
      execFileSync("mv", [backup, p.cache]);
    }
  });

  it("fails the stream with ECORRUPT when the remote's bytes do not hash to the object's md5", async () => {
    const oid = md5("image b, soon corrupt on the remote");
    const onRemote = join(p.remote, objectPath(oid));
    chmodSync(onRemote, 0o644);
    writeFileSync(onRemote, "image b, tampered with on the remote");
    const inCache = join(p.cache, objectPath(oid));
    const kept = readFileSync(inCache);
    rmSync(inCache, { force: true });
    try {
      const stream = await open("data/images/b.bin", { repo: p.dir });
      const error = await buffer(stream).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(error).toMatchObject({ code: "ECORRUPT", message: expect.stringContaining("'data/images/b.bin'") });
      await expect(read("data/images/b.bin", { repo: p.dir })).rejects.toMatchObject({ code: "ECORRUPT" });
      expect(existsSync(inCache)).toBe(false);
    } finally {
      writeFileSync(onRemote, "image b, soon corrupt on the remote");
      writeFileSync(inCache, kept, { mode: 0o444 });
    }
  });

  it("says what to do when an object is neither in the cache nor on the remote", async () => {
    const oid = md5(V1);
    const cached = join(p.cache, objectPath(oid));
    const remote = join(p.remote, objectPath(oid));
    const bytes = readFileSync(remote);
    rmSync(cached, { force: true });
    rmSync(remote, { force: true });
    try {
      await expect(read("model.h5", { repo: p.dir, rev: "v1.0" })).rejects.toMatchObject({
        code: "EMISSING",
        message: expect.stringContaining("push it from a machine that has it"),
        hint: expect.stringContaining("mlv push"),
      });
    } finally {
      writeFileSync(remote, bytes, { mode: 0o444 });
      writeFileSync(cached, bytes, { mode: 0o444 });
    }
  });

  it("gives the URL of an object on the remote, like dvc.api.get_url", async () => {
    expect(await getUrl("model.h5", { repo: p.dir })).toBe(join(p.remote, objectPath(md5(V2))));
    expect(await getUrl("model.h5", { repo: p.dir, rev: "v1.0" })).toBe(join(p.remote, objectPath(md5(V1))));
    expect(await getUrl("data/labels.csv", { repo: p.dir })).toBe(join(p.remote, objectPath(md5(LABELS))));
    expect(await getUrl("data", { repo: p.dir })).toMatch(/files\/md5\/[0-9a-f]{2}\/[0-9a-f]{30}\.dir$/);
  });

  it("runs the README's example: loads the model at v1.0 and prints its md5", () => {
    const script = fileURLToPath(new URL("../examples/load-model.mjs", import.meta.url));
    const r = spawnSync(process.execPath, [script], { cwd: p.dir, encoding: "utf8", env: process.env });
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(`model.h5@v1.0: ${Buffer.byteLength(V1)} bytes, md5 ${md5(V1)}\n`);
    expect(r.status).toBe(0);
  });
});

describe("a revision's own remote", () => {
  it("reads an old version through the default remote configured at that revision", async () => {
    const p = new Project("moved");
    const repo = await p.init();
    // A path relative to the .dvc folder, as `mlv remote add` writes it.
    p.write(".dvc/config", "[core]\n    remote = old\n['remote \"old\"']\n    url = ../../moved-old-storage\n");
    p.write("model.bin", "the old model");
    await repo.add(["model.bin"]);
    await (await Repo.open(p.dir)).push();
    p.commit("v1", "v1.0");
    p.write(
      ".dvc/config",
      `[core]\n    remote = new\n['remote "new"']\n    url = ${join(work, "moved-new-storage")}\n`,
    );
    p.commit("move storage");
    await repo.close();
    rmSync(p.cache, { recursive: true, force: true });

    expect(await read("model.bin", { repo: p.dir, rev: "v1.0", encoding: "utf8" })).toBe("the old model");
    expect(await getUrl("model.bin", { repo: p.dir, rev: "v1.0" })).toBe(
      join(work, "moved-old-storage", objectPath(md5("the old model"))),
    );
    await expect(read("model.bin", { repo: p.dir })).rejects.toMatchObject({
      code: "EMISSING",
      message: expect.stringContaining("remote 'new'"),
    });
  });
});

describe("Repo operations", () => {
  it("add, status, push, pull, checkout and gc round trip, reporting progress", async () => {
    const p = new Project("roundtrip");
    let repo = await p.init();
    const events: ProgressEvent[] = [];
    const onProgress = (e: ProgressEvent) => events.push(e);
    p.write("data/a.txt", "alpha");
    p.write("data/b.txt", "beta");
    p.write("model.bin", "model one");

    const added = await repo.add(["data", "model.bin"], { onProgress });
    expect(added.results.map((r) => [r.path, r.changed])).toEqual([
      ["data", true],
      ["model.bin", true],
    ]);
    expect(existsSync(join(p.dir, "data.dvc"))).toBe(true);
    expect(events.some((e) => e.phase === "add")).toBe(true);
    expect(await repo.status({ onProgress })).toEqual([]);
    expect(events.some((e) => e.phase === "status")).toBe(true);

    p.write("data/a.txt", "alpha, edited");
    expect(await repo.status()).toEqual([{ pointer: "data.dvc", path: "data", state: "modified" }]);
    expect((await repo.status({ cloud: true })).map((s) => [s.path, s.state, s.remote])).toContainEqual([
      "model.bin",
      "new",
      "storage",
    ]);
    await repo.add(["data"]);

    const pushed = await repo.push({ onProgress });
    expect(pushed).toMatchObject({ transferred: 4, failed: [], missing: [] });
    // Three files; the folder's listing goes up too but is not a file people count.
    expect(events.filter((e) => e.phase === "push").at(-1)).toMatchObject({ files: 3, totalFiles: 3 });
    expect(await repo.status({ cloud: true })).toEqual([]);
    expect(await repo.push()).toMatchObject({ transferred: 0 });

    // Another clone: no cache, no data.
    await repo.close();
    rmSync(p.cache, { recursive: true, force: true });
    rmSync(join(p.dir, "data"), { recursive: true, force: true });
    rmSync(join(p.dir, "model.bin"));
    repo = await Repo.open(p.dir);
    const pulled = await repo.pull({ onProgress });
    expect(pulled.fetched).toMatchObject({ transferred: 4, failed: [], missing: [] });
    expect(pulled.checkout.added.sort()).toEqual(["data", "model.bin"]);
    expect(p.read("data/a.txt").toString()).toBe("alpha, edited");
    expect(p.read("model.bin").toString()).toBe("model one");
    expect(events.some((e) => e.phase === "fetch")).toBe(true);
    expect(events.some((e) => e.phase === "checkout")).toBe(true);

    rmSync(join(p.dir, "model.bin"));
    expect(await repo.checkout({ targets: ["model.bin"] })).toMatchObject({ added: ["model.bin"] });
    expect(p.read("model.bin").toString()).toBe("model one");

    // A new version of the model; gc keeps what the workspace uses, and the tag's version with `allTags`.
    p.commit("model one", "v1.0");
    p.write("model.bin", "model two");
    await repo.add(["model.bin"]);
    await repo.push();
    const kept = await repo.gc({ allTags: true, cloud: true });
    expect(kept).toEqual({ removedLocal: 0, removedRemote: 0, remote: "storage", remoteTemps: [] });
    const dry = await repo.gc({ dry: true, cloud: true });
    expect(dry.wouldRemove).toEqual({
      local: [objectPath(md5("model one"))],
      remote: [objectPath(md5("model one"))],
    });
    expect(await repo.gc({ cloud: true, onProgress })).toEqual({
      removedLocal: 1,
      removedRemote: 1,
      remote: "storage",
      remoteTemps: [],
    });
    expect(existsSync(join(p.cache, objectPath(md5("model one"))))).toBe(false);
    expect(existsSync(join(p.remote, objectPath(md5("model one"))))).toBe(false);
    expect(await read("model.bin", { repo: p.dir, encoding: "utf8" })).toBe("model two");
    expect(events.some((e) => e.phase === "gc")).toBe(true);
    await repo.close();
  });

  it("keeps working in a long-lived Repo whose cache is deleted meanwhile", async () => {
    const p = new Project("cache-deleted");
    const repo = await p.init();
    p.write("data/a.txt", "alpha");
    p.write("model.bin", "model one");
    await repo.add(["data", "model.bin"]);
    await repo.push();
    // The same Repo, after someone removed the whole cache and the data.
    rmSync(p.cache, { recursive: true, force: true });
    rmSync(join(p.dir, "data"), { recursive: true, force: true });
    rmSync(join(p.dir, "model.bin"));
    const pulled = await repo.pull();
    expect(pulled.fetched).toMatchObject({ transferred: 3, failed: [], missing: [] });
    expect(p.read("data/a.txt").toString()).toBe("alpha");
    expect(p.read("model.bin").toString()).toBe("model one");
    rmSync(p.cache, { recursive: true, force: true });
    p.write("model.bin", "model two");
    await repo.add(["model.bin"]);
    expect(existsSync(join(p.cache, objectPath(md5("model two"))))).toBe(true);
    await repo.close();
  });

  it("stops a push when its AbortSignal is aborted, leaving a remote a re-run completes", async () => {
    const p = new Project("abort");
    const repo = await p.init();
    for (let i = 0; i < 30; i++) p.write(`images/${String(i).padStart(2, "0")}.bin`, `image number ${i}`);
    await repo.add(["images"]);

    const controller = new AbortController();
    const push = repo.push({
      jobs: 1,
      signal: controller.signal,
      onProgress: (e) => {
        if (e.files === 5) controller.abort();
      },
    });
    await expect(push).rejects.toMatchObject({ name: "AbortError" });
    const partial = filesBelow(p.remote);
    expect(partial).toHaveLength(5);
    expect(partial.some((f) => f.endsWith(".dir") || f.endsWith(".tmp"))).toBe(false);

    // Aborted before it started: nothing happens.
    await expect(repo.push({ signal: AbortSignal.abort() })).rejects.toMatchObject({ name: "AbortError" });

    // The lock was given back: a re-run sends the rest, the folder's listing last.
    expect(await repo.push()).toMatchObject({ transferred: 26, failed: [], missing: [] });
    expect(filesBelow(p.remote)).toHaveLength(31);
    await repo.close();
    rmSync(p.cache, { recursive: true, force: true });
    rmSync(join(p.dir, "images"), { recursive: true, force: true });
    const clone = await Repo.open(p.dir);
    expect((await clone.pull()).checkout.added).toEqual(["images"]);
    expect(p.read("images/29.bin").toString()).toBe("image number 29");
    await clone.close();
  });
});
