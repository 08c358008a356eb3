/**
 * `import-url`, `get-url` and the `update` of URL imports through core, with storages of the
 * test's own handed to core as adapters: a folder for plain paths, and an object store that
 * answers `stat` with an ETag (s3) or a web server's checksum (http). The `.dvc` texts are
 * compared with what the real DVC 3.64 writes: run here for local sources, recorded from DVC
 * against moto and nginx for the others (apps/cli/test/import-url.test.ts runs those live).
 */
import { createHash } from "node:crypto";
import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { mustDvc, requireDvc } from "../../../test-fixtures/dvc-peer.js";
import type { AdapterSources } from "../src/adapters.js";
import { Repo } from "../src/api/repo.js";
import { ObjectNotFoundError } from "../src/errors.js";
import { downloadUrl } from "../src/external/url-get.js";
import { importUrl, recordedLocalPath, updateUrlImport, urlImportOf } from "../src/external/url-import.js";
import { metaTreeOid, parseFsConfig } from "../src/external/url-source.js";
import { parsePointer } from "../src/formats/pointer.js";
import { Project } from "../src/project/project.js";
import type { ObjectInfo, ReadableRemote, RemoteAdapter, RemoteConfig } from "../src/remote.js";
import { workFolder } from "./work-folder.js";

const work = workFolder("mlv-url-import-");
const md5 = (data: string) => createHash("md5").update(data).digest("hex");

/** Plain paths: a folder, read only. */
class FolderStorage implements ReadableRemote {
  readonly capabilities = { traverse: true };
  readonly displayUrl: string;
  constructor(readonly root: string) {
    this.displayUrl = root;
  }
  private pathOf(key: string) {
    return join(this.root, ...key.split("/"));
  }
  async exists(key: string) {
    return existsSync(this.pathOf(key)) && statSync(this.pathOf(key)).isFile();
  }
  async *list(prefix: string) {
    const dir = this.pathOf(prefix.slice(0, prefix.lastIndexOf("/") + 1) || ".");
    if (!existsSync(dir)) return;
    for (const p of readdirSync(dir, { recursive: true }) as string[]) {
      const key = relative(this.root, join(dir, p)).split("\\").join("/");
      if (statSync(join(dir, p)).isFile() && key.startsWith(prefix)) yield key;
    }
  }
  async read(key: string) {
    if (!(await this.exists(key))) throw new ObjectNotFoundError(this.root, key);
    return createReadStream(this.pathOf(key));
  }
}

/** An object store in memory, by URL: `stat` gives the size and an ETag (s3) or checksum (http). */
const objects = new Map<string, { data: string; etag?: string; checksum?: string }>();

class MemoryStorage implements ReadableRemote {
  readonly capabilities = {};
  constructor(readonly displayUrl: string) {}
  private urlOf(key: string) {
    return `${this.displayUrl}/${key}`;
  }
  async exists(key: string) {
    return objects.has(this.urlOf(key));
  }
  async *list(prefix: string) {
    for (const url of objects.keys())
      if (url.startsWith(this.urlOf(prefix))) yield url.slice(this.displayUrl.length + 1);
  }
  async read(key: string) {
    const o = objects.get(this.urlOf(key));
    if (!o) throw new ObjectNotFoundError(this.displayUrl, key);
    return Readable.from([Buffer.from(o.data)]);
  }
  async stat(key: string): Promise<ObjectInfo> {
    const o = objects.get(this.urlOf(key));
    if (!o) throw new ObjectNotFoundError(this.displayUrl, key);
    return {
      size: Buffer.byteLength(o.data),
      ...(o.etag ? { etag: o.etag } : {}),
      ...(o.checksum ? { checksum: o.checksum } : {}),
    };
  }
}

const opened: RemoteConfig[] = [];
const adapter = (schemes: string[], make: (c: RemoteConfig) => ReadableRemote): RemoteAdapter => ({
  name: schemes[0]!,
  schemes,
  options: {},
  create: (c) => {
    opened.push(c);
    return make(c);
  },
});
const adapters: AdapterSources = {
  builtins: {
    local: async () => ({ default: adapter(["file"], (c) => new FolderStorage(c.url)) }),
    s3: async () => ({ default: adapter(["s3"], (c) => new MemoryStorage(c.url)) }),
    http: async () => ({ default: adapter(["http"], (c) => new MemoryStorage(c.url)) }),
  },
  importPackage: async (name) => {
    const err = new Error(`Cannot find package '${name}' imported from ${import.meta.url}`) as NodeJS.ErrnoException;
    err.code = "ERR_MODULE_NOT_FOUND";
    throw err;
  },
};

function write(path: string, data: string): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, data);
  return path;
}

let count = 0;
/** A fresh project outside git (and its folder). */
async function project(): Promise<{ dir: string; repo: Project }> {
  const dir = join(work, `p${++count}`);
  mkdirSync(dir, { recursive: true });
  await Project.init(dir, { noScm: true });
  return { dir, repo: await Project.open(dir) };
}

// Recorded from DVC 3.64 (`dvc import-url`, `dvc update`) against moto and nginx [R].
const OBJ_CSV = "a,b\n1,2\n";
const OBJ_ETAG = "e5ebd4c02cefbe7955977c67ada242b7";

describe("URL import files, as DVC writes them", () => {
  it("an S3 object: its ETag, without quotes, and the md5 of the content", async () => {
    objects.set("s3://bkt/data/obj.csv", { data: OBJ_CSV, etag: OBJ_ETAG });
    const { dir, repo } = await project();
    const r = await importUrl(repo, "s3://bkt/data/obj.csv", { cwd: dir, adapters });
    expect(readFileSync(join(dir, "obj.csv.dvc"), "utf8")).toBe(
      "md5: 769edbd3dd4dacec8a03256df731c34f\nfrozen: true\ndeps:\n" +
        `- etag: ${OBJ_ETAG}\n  size: 8\n  hash: md5\n  path: s3://bkt/data/obj.csv\n` +
        `outs:\n- md5: ${md5(OBJ_CSV)}\n  size: 8\n  hash: md5\n  path: obj.csv\n`,
    );
    expect(readFileSync(join(dir, "obj.csv"), "utf8")).toBe(OBJ_CSV);
    expect(r.dep).toEqual({ name: "etag", value: OBJ_ETAG, size: 8 });
    expect(opened.at(-1)).toEqual({ name: "s3://bkt/data/obj.csv", url: "s3://bkt/data", options: {} });
  });

  it("with --fs-config: recorded after the path, in the order given, and handed to the adapter", async () => {
    const { dir, repo } = await project();
    const fsConfig = parseFsConfig(["region=us-east-1", "endpointurl=http://127.0.0.1:5055", "use_ssl=false"]);
    await importUrl(repo, "s3://bkt/data/obj.csv", { cwd: dir, adapters, out: "fsc3.csv", fsConfig });
    expect(readFileSync(join(dir, "fsc3.csv.dvc"), "utf8")).toBe(
      "md5: d0be8aea5bff6c27dc7842885aa2bda1\nfrozen: true\ndeps:\n" +
        `- etag: ${OBJ_ETAG}\n  size: 8\n  hash: md5\n  path: s3://bkt/data/obj.csv\n` +
        "  fs_config:\n    region: us-east-1\n    endpointurl: http://127.0.0.1:5055\n    use_ssl: 'false'\n" +
        `outs:\n- md5: ${md5(OBJ_CSV)}\n  size: 8\n  hash: md5\n  path: fsc3.csv\n`,
    );
    expect(opened.at(-1)?.options).toEqual({
      region: "us-east-1",
      endpointurl: "http://127.0.0.1:5055",
      use_ssl: "false",
    });
  });

  it("an S3 folder: the md5 of its tree of ETags, under md5 with .dir", async () => {
    objects.set("s3://bkt/data/dir/x", { data: "x", etag: md5("x") });
    objects.set("s3://bkt/data/dir/sub/y", { data: "yy", etag: md5("yy") });
    expect(
      metaTreeOid(
        [
          { relpath: "x", value: md5("x") },
          { relpath: "sub/y", value: md5("yy") },
        ],
        "etag",
      ),
    ).toBe("8df92045a6fd7c87f798e5dc57861d6c.dir");
    const { dir, repo } = await project();
    await importUrl(repo, "s3://bkt/data/dir", { cwd: dir, adapters });
    expect(readFileSync(join(dir, "dir.dvc"), "utf8")).toBe(
      "md5: 3eabd686db826878e2199005bf972b8a\nfrozen: true\ndeps:\n" +
        "- md5: 8df92045a6fd7c87f798e5dc57861d6c.dir\n  size: 3\n  nfiles: 2\n  hash: md5\n  path: s3://bkt/data/dir\n" +
        "outs:\n- md5: b33d95d2e91c8d323e797313612893ae.dir\n  size: 3\n  nfiles: 2\n  hash: md5\n  path: dir\n",
    );
    expect(readFileSync(join(dir, "dir/sub/y"), "utf8")).toBe("yy");
  });

  it("an HTTP URL: the server's checksum, quotes included", async () => {
    const url = "http://127.0.0.1:42877/ro/pub/data.csv";
    objects.set(url, { data: OBJ_CSV, checksum: '"6b1534cc-8"' });
    const { dir, repo } = await project();
    await importUrl(repo, url, { cwd: dir, adapters });
    expect(readFileSync(join(dir, "data.csv.dvc"), "utf8")).toBe(
      "md5: 13333fdc6860e5951aa70a9dafb160d7\nfrozen: true\ndeps:\n" +
        `- checksum: '"6b1534cc-8"'\n  size: 8\n  hash: md5\n  path: ${url}\n` +
        `outs:\n- md5: ${md5(OBJ_CSV)}\n  size: 8\n  hash: md5\n  path: data.csv\n`,
    );
  });

  it("--no-exec writes no checksum and reads nothing; update fills it in as DVC rewrites it", async () => {
    objects.set("s3://bkt/data/obj.csv", { data: OBJ_CSV, etag: OBJ_ETAG });
    const { dir, repo } = await project();
    const before = opened.length;
    await importUrl(repo, "s3://bkt/data/obj.csv", { cwd: dir, adapters, out: "ne.csv", noExec: true });
    expect(opened.length).toBe(before);
    expect(readFileSync(join(dir, "ne.csv.dvc"), "utf8")).toBe(
      "frozen: true\ndeps:\n- hash: md5\n  path: s3://bkt/data/obj.csv\nouts:\n- hash: md5\n  path: ne.csv\n",
    );
    const r = await updateUrlImport(repo, join(dir, "ne.csv.dvc"), { cwd: dir, adapters });
    expect(r.changed).toBe(true);
    expect(readFileSync(join(dir, "ne.csv.dvc"), "utf8")).toBe(
      "frozen: true\ndeps:\n" +
        `- hash: md5\n  path: s3://bkt/data/obj.csv\n  etag: ${OBJ_ETAG}\n  size: 8\n` +
        `outs:\n- hash: md5\n  path: ne.csv\n  md5: ${md5(OBJ_CSV)}\n  size: 8\n` +
        "md5: 4b5c392100f5365ed1165d93a4721a49\n",
    );
    expect(readFileSync(join(dir, "ne.csv"), "utf8")).toBe(OBJ_CSV);
  });

  it("--no-download records the source's fingerprint and an out without a hash", async () => {
    objects.set("s3://bkt/data/obj.csv", { data: OBJ_CSV, etag: OBJ_ETAG });
    const { dir, repo } = await project();
    await importUrl(repo, "s3://bkt/data/obj.csv", { cwd: dir, adapters, out: "nd.csv", noDownload: true });
    expect(readFileSync(join(dir, "nd.csv.dvc"), "utf8")).toBe(
      "md5: c2aee38bdc7fb139c7df479942faad51\nfrozen: true\ndeps:\n" +
        `- etag: ${OBJ_ETAG}\n  size: 8\n  hash: md5\n  path: s3://bkt/data/obj.csv\n` +
        "outs:\n- hash: md5\n  path: nd.csv\n",
    );
    expect(existsSync(join(dir, "nd.csv"))).toBe(false);
    // pull takes it from its source (nothing to fetch from the project's remote), the pointer untouched.
    const pointer = readFileSync(join(dir, "nd.csv.dvc"), "utf8");
    writeFileSync(
      join(dir, ".dvc", "config"),
      `[core]\n    no_scm = True\n    remote = r\n['remote "r"']\n    url = ${dir}-remote\n`,
    );
    await repo.close();
    const reopened = await Repo.open(dir);
    const pulled = await reopened.pull({ adapters });
    expect(pulled.fetched).toEqual({ transferred: 1, skipped: 0, failed: [], missing: [] });
    expect(readFileSync(join(dir, "nd.csv"), "utf8")).toBe(OBJ_CSV);
    expect(readFileSync(join(dir, "nd.csv.dvc"), "utf8")).toBe(pointer);
    await reopened.close();
  });

  it("update: unchanged when the ETag and the data are; a new ETag downloads again", async () => {
    objects.set("s3://bkt/up/obj.csv", { data: OBJ_CSV, etag: OBJ_ETAG });
    const { dir, repo } = await project();
    await importUrl(repo, "s3://bkt/up/obj.csv", { cwd: dir, adapters });
    const pointer = join(dir, "obj.csv.dvc");
    const first = readFileSync(pointer, "utf8");
    expect((await updateUrlImport(repo, pointer, { cwd: dir, adapters })).changed).toBe(false);
    expect(readFileSync(pointer, "utf8")).toBe(first);
    objects.set("s3://bkt/up/obj.csv", { data: "changed\n", etag: md5("changed\n") });
    const r = await updateUrlImport(repo, pointer, { cwd: dir, adapters });
    expect(r).toMatchObject({ changed: true, previous: { name: "etag", value: OBJ_ETAG } });
    expect(readFileSync(join(dir, "obj.csv"), "utf8")).toBe("changed\n");
    expect(urlImportOf(parsePointer(readFileSync(pointer, "utf8"), "obj.csv.dvc")).hash).toEqual({
      name: "etag",
      value: md5("changed\n"),
      size: 8,
    });
  });

  it("a missing source is named in the error", async () => {
    const { dir, repo } = await project();
    await expect(importUrl(repo, "s3://bkt/nothing/here.csv", { cwd: dir, adapters })).rejects.toThrow(
      "'s3://bkt/nothing/here.csv' does not exist",
    );
    await expect(importUrl(repo, "zz://bkt/x", { cwd: dir, adapters })).rejects.toThrow(
      "'zz://' URLs are served by a package named @mlv/remote-zz or mlv-remote-zz, and none is installed",
    );
    expect(existsSync(join(dir, "here.csv.dvc"))).toBe(false);
  });
});

describe("recorded local paths", () => {
  it("follow DVC: inside the repository from the .dvc folder; outside, as given", () => {
    const root = "/w/repo";
    expect(recordedLocalPath("in/deep/h.txt", root, `${root}/data`, root)).toBe("../in/deep/h.txt");
    expect(recordedLocalPath("../in/deep/h.txt", `${root}/sub`, `${root}/sub`, root)).toBe("../in/deep/h.txt");
    expect(recordedLocalPath("/w/repo/in/h.txt", `${root}/sub`, `${root}/sub`, root)).toBe("../in/h.txt");
    expect(recordedLocalPath("../src/./dir/", root, root, root)).toBe("../src/./dir/");
    expect(recordedLocalPath("/w/src/dir/", root, `${root}/data`, root)).toBe("/w/src/dir/");
    // DVC would record '../src/f' as given here, which names another file from `data/`.
    expect(recordedLocalPath("../src/f", root, `${root}/data`, root)).toBe("../../src/f");
    expect(recordedLocalPath("file:///w/src/f", root, root, root)).toBe("../src/f");
  });
});

const DVC = requireDvc("the import-url files compared with DVC's");

describe.skipIf(!DVC)("local sources, against DVC 3.64", { timeout: 60_000 }, () => {
  it("writes the bytes DVC writes for a file, an executable file, a folder, --no-exec and --no-download", async () => {
    const base = join(work, "vs-dvc");
    const src = join(base, "src");
    write(join(src, "foo.txt"), "foo");
    write(join(src, "run.sh"), "#!/bin/sh\n");
    const { chmodSync } = await import("node:fs");
    chmodSync(join(src, "run.sh"), 0o755);
    write(join(src, "dir/a"), "bar");
    write(join(src, "dir/sub/b"), "baz");
    const dvcDir = join(base, "dvc");
    mkdirSync(dvcDir, { recursive: true });
    mustDvc(dvcDir, "init", "--no-scm", "-q");
    const cases: [string[], string][] = [
      [["../src/foo.txt"], "foo.txt.dvc"],
      [["../src/run.sh"], "run.sh.dvc"],
      [[join(src, "dir")], "dir.dvc"],
      [["../src/dir", "nx", "--no-exec"], "nx.dvc"],
      [["../src/dir", "nd", "--no-download"], "nd.dvc"],
    ];
    for (const [args] of cases) mustDvc(dvcDir, "import-url", "-q", ...args);
    const mlvDir = join(base, "mlv");
    mkdirSync(mlvDir, { recursive: true });
    await Project.init(mlvDir, { noScm: true });
    const repo = await Project.open(mlvDir);
    for (const [[url, out, flag]] of cases)
      await importUrl(repo, url!, {
        cwd: mlvDir,
        adapters,
        ...(out ? { out } : {}),
        noExec: flag === "--no-exec",
        noDownload: flag === "--no-download",
      });
    for (const [, file] of cases)
      expect(readFileSync(join(mlvDir, file), "utf8"), file).toBe(readFileSync(join(dvcDir, file), "utf8"));
    expect(readFileSync(join(mlvDir, "dir/sub/b"), "utf8")).toBe("baz");
    expect(statSync(join(mlvDir, "run.sh")).mode & 0o111).toBe(0);

    // A new file in the source folder: both update to the same bytes.
    write(join(src, "dir/new"), "new");
    mustDvc(dvcDir, "update", "-q", "dir.dvc", "nx.dvc");
    for (const file of ["dir.dvc", "nx.dvc"]) {
      const r = await updateUrlImport(repo, join(mlvDir, file), { cwd: mlvDir, adapters });
      expect(r.changed, file).toBe(true);
      expect(readFileSync(join(mlvDir, file), "utf8"), file).toBe(readFileSync(join(dvcDir, file), "utf8"));
    }
    expect(readFileSync(join(mlvDir, "dir/new"), "utf8")).toBe("new");
  });
});

describe("get-url", () => {
  it("copies a file or a folder, whole, and refuses to overwrite without force", async () => {
    const src = join(work, "get-src");
    write(join(src, "f.txt"), "data");
    write(join(src, "d/a/b.txt"), "b");
    const dest = join(work, "get-dest");
    mkdirSync(dest, { recursive: true });
    const r = await downloadUrl(join(src, "f.txt"), { cwd: dest, adapters });
    expect(r).toMatchObject({ path: join(dest, "f.txt"), isDir: false, files: 1, size: 4 });
    expect(readFileSync(join(dest, "f.txt"), "utf8")).toBe("data");
    await expect(downloadUrl(join(src, "f.txt"), { cwd: dest, adapters })).rejects.toThrow(
      "The file 'f.txt' already exists locally. To override it, re-run with '--force'.",
    );
    await downloadUrl(join(src, "d"), { cwd: dest, adapters, out: "copy" });
    expect(readFileSync(join(dest, "copy/a/b.txt"), "utf8")).toBe("b");
    expect(readdirSync(dest).sort()).toEqual(["copy", "f.txt"]);
  });
});
