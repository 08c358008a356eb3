/**
 * `mlv import-url`, `mlv get-url` and `mlv update` of URL imports, end to end, side by side with
 * the real DVC 3.64 on the same sources: local paths, S3 objects (moto) and HTTP URLs (nginx). The
 * `.dvc` files must be the bytes DVC writes, and each tool must read the other's files (`status`,
 * `update`, `pull`).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";
import { BlobServiceClient } from "@azure/storage-blob";
import { type Remote, RemoteError } from "@mlv/core";
import azureAdapter from "@mlv/remote-azure";
import gcsAdapter from "@mlv/remote-gcs";
import s3Adapter from "@mlv/remote-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mustDvc, requireDvc } from "../../../test-fixtures/dvc-peer.js";
import { type AzuriteServer, startAzurite } from "../../../test-fixtures/servers/azurite.js";
import { type GcsEmulator, startGcsEmulator } from "../../../test-fixtures/servers/gcs.js";
import { type NginxServer, startNginx } from "../../../test-fixtures/servers/nginx.js";
import { motoAvailable, type RunningS3Server, startMoto } from "../../../test-fixtures/servers/s3.js";
import { type SshdServer, startSshd } from "../../../test-fixtures/servers/sshd.js";
import { md5, type Sandbox, sandbox } from "./helpers.js";

const DVC = requireDvc("the import-url tests against DVC");

const FROZEN = (file: string) =>
  `WARNING: stage: '${file}' is frozen. Its dependencies are not going to be shown in the status output.`;

function write(path: string, data: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, data);
}

/** A second repository beside the sandbox's, made by git and DVC: where DVC imports the same URLs. */
function dvcRepo(s: Sandbox): string {
  const dir = join(s.dir, "dvcrepo");
  mkdirSync(dir);
  const git = spawnSync("git", ["init", "-q", "-b", "main"], { cwd: dir, env: s.env as NodeJS.ProcessEnv });
  if (git.status !== 0) throw new Error(`git init: ${git.stderr}`);
  mustDvc(dir, "init", "-q");
  return dir;
}

const read = (dir: string, rel: string) => readFileSync(join(dir, rel), "utf8");

/** Start test servers; when they cannot run here, say so loudly and let the tests skip (never under CI=true). */
async function servers<T>(what: string, start: () => Promise<T>): Promise<T | undefined> {
  try {
    return await start();
  } catch (err) {
    if (process.env.CI === "true") throw err;
    process.stderr.write(
      `\n!!! ${what} cannot run here (${(err as Error).message}): ITS IMPORT-URL TESTS ARE SKIPPED\n\n`,
    );
    return undefined;
  }
}

describe.skipIf(!DVC)("local paths", () => {
  it("files and folders: DVC's bytes, and each reads and updates the other's", () => {
    const s = sandbox({ init: "dvc" });
    const src = join(s.dir, "src");
    write(join(src, "foo.txt"), "foo");
    write(join(src, "dir/a"), "bar");
    write(join(src, "dir/sub/b"), "baz");
    const d = dvcRepo(s);

    const r = s.must("import-url", "../src/foo.txt");
    expect(r.stdout.split("\n")[0]).toBe(`Importing '${join(src, "foo.txt")}' -> 'foo.txt'`);
    expect(r.stdout).toContain("git add");
    s.must("import-url", "../src/dir", "data");
    mustDvc(d, "import-url", "-q", "../src/foo.txt");
    mustDvc(d, "import-url", "-q", "../src/dir", "data");
    for (const file of ["foo.txt.dvc", "data.dvc", ".gitignore"]) expect(s.read(file), file).toBe(read(d, file));
    expect(s.read("data/sub/b")).toBe("baz");

    // Both see the other's files as up to date; the frozen stages hide their dependencies.
    const st = s.must("status");
    expect(st.stdout).toBe("Data and pipelines are up to date.\n");
    expect(st.stderr).toContain(FROZEN("foo.txt.dvc"));
    expect(mustDvc(s.repo, "status").stdout).toBe("Data and pipelines are up to date.\n");
    expect(s.must("update", "foo.txt.dvc", "data.dvc").stdout).toBe(
      "'foo.txt.dvc' didn't change, skipping\n'data.dvc' didn't change, skipping\n",
    );

    // The sources change: each updates its own and the other's files to the same bytes.
    write(join(src, "foo.txt"), "foo v2");
    write(join(src, "dir/new"), "new");
    expect(s.must("update", "foo.txt.dvc", "data.dvc").stdout).toBe(
      `Importing '${join(src, "foo.txt")}' -> 'foo.txt'\nImporting '${join(src, "dir")}' -> 'data'\n`,
    );
    mustDvc(d, "update", "-q", "foo.txt.dvc", "data.dvc");
    for (const file of ["foo.txt.dvc", "data.dvc"]) expect(s.read(file), file).toBe(read(d, file));
    expect(s.read("foo.txt")).toBe("foo v2");
    expect(s.read("data/new")).toBe("new");
    expect(mustDvc(s.repo, "update", "foo.txt.dvc", "data.dvc").stdout).toContain("'foo.txt.dvc' didn't change");
    expect(s.mlvWith({ cwd: "../dvcrepo" }, "update", "foo.txt.dvc").stdout).toBe(
      "'foo.txt.dvc' didn't change, skipping\n",
    );

    // Errors name what is wrong.
    const missing = s.mlv("import-url", "../src/nope.txt");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(
      "ERROR: '../src/nope.txt' does not exist: check the URL (and its credentials or 'fs_config')\n",
    );
    const exists = s.mlv("import-url", "../src/foo.txt");
    expect(exists.code).toBe(1);
    expect(exists.stderr).toContain(
      "The file 'foo.txt' already exists locally. To override it, re-run with '--force'.",
    );
    const scheme = s.mlv("import-url", "zz://host/x");
    expect(scheme.stderr).toContain(
      "'zz://' URLs are served by a package named @mlv/remote-zz or mlv-remote-zz, and none is installed",
    );
    expect(s.exists("nope.txt.dvc") || s.exists("x.dvc")).toBe(false);
  });

  it("the outputs are pushed and pulled through the project's remote, as DVC does", () => {
    const s = sandbox({ init: "dvc" });
    s.useRemote();
    write(join(s.dir, "src/model.bin"), "weights");
    s.must("import-url", "../src/model.bin");
    expect(s.must("push").stdout).toBe("1 file pushed\n");
    expect(s.remoteFiles()).toEqual([`files/md5/${md5("weights").slice(0, 2)}/${md5("weights").slice(2)}`]);
    s.rm(".dvc/cache");
    s.rm("model.bin");
    mustDvc(s.repo, "pull", "-q");
    expect(s.read("model.bin")).toBe("weights");
  });

  it("get-url copies a file or folder without a repository, and refuses to overwrite", () => {
    const s = sandbox({ git: false });
    write(join(s.dir, "src/f.txt"), "data");
    write(join(s.dir, "src/d/a/b.txt"), "b");
    s.must("get-url", "../src/f.txt");
    s.must("get-url", "../src/d", "copy");
    expect(s.read("f.txt")).toBe("data");
    expect(s.files("copy")).toEqual(["a/b.txt"]);
    const again = s.mlv("get-url", "../src/f.txt");
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("The file 'f.txt' already exists locally. To override it, re-run with '--force'.");
    write(join(s.dir, "src/f.txt"), "data v2");
    s.must("get-url", "-f", "../src/f.txt");
    expect(s.read("f.txt")).toBe("data v2");
  });
});

const moto = motoAvailable();
if (!moto.ok) {
  if (process.env.CI === "true") throw new Error(`CI=true: the import-url S3 tests need moto: ${moto.reason}`);
  process.stderr.write(`\n!!! moto cannot run here (${moto.reason}): THE IMPORT-URL S3 TESTS ARE SKIPPED\n\n`);
}

describe.skipIf(!DVC || !moto.ok)("S3 (moto)", () => {
  let server: RunningS3Server;
  let bucket: Remote;
  // Signed writes through mlv's own S3 adapter: moto refuses to overwrite objects anonymously.
  const put = (key: string, body: string) => bucket.write(key, Readable.from([Buffer.from(body)]), body.length);
  beforeAll(async () => {
    server = await startMoto();
    expect((await fetch(`${server.endpoint}/bkt`, { method: "PUT" })).status).toBe(200);
    bucket = s3Adapter.create({
      name: "bkt",
      url: "s3://bkt",
      options: {
        endpointurl: server.endpoint,
        access_key_id: server.credentials.accessKeyId,
        secret_access_key: server.credentials.secretAccessKey,
      },
    }) as Remote;
    await put("data/obj.csv", "a,b\n1,2\n");
    await put("data/dir/x", "x");
    await put("data/dir/sub/y", "yy");
  }, 60_000);
  afterAll(async () => {
    await bucket?.close?.();
    await server?.stop();
  });

  /** Remote `s3src` at s3://bkt/data on moto, in `dir`'s config as `dvc remote add/modify` writes it. */
  function addRemote(dir: string): void {
    writeFileSync(
      join(dir, ".dvc/config"),
      `['remote "s3src"']\n    url = s3://bkt/data\n    endpointurl = ${server.endpoint}\n` +
        `    access_key_id = ${server.credentials.accessKeyId}\n    secret_access_key = ${server.credentials.secretAccessKey}\n`,
    );
  }

  it("objects and folders: the ETag (no quotes) and ETag trees DVC records; update after a change", async () => {
    const s = sandbox({ init: "dvc" });
    const d = dvcRepo(s);
    addRemote(s.repo);
    addRemote(d);
    const creds = [
      `endpointurl=${server.endpoint}`,
      `access_key_id=${server.credentials.accessKeyId}`,
      `secret_access_key=${server.credentials.secretAccessKey}`,
    ];
    const imports: string[][] = [
      ["remote://s3src/obj.csv"],
      ["remote://s3src/dir", "d1"],
      ["s3://bkt/data/obj.csv", "o2.csv", "--fs-config", ...creds],
    ];
    for (const args of imports) {
      s.must("import-url", ...args);
      mustDvc(d, "import-url", "-q", ...args);
    }
    for (const file of ["obj.csv.dvc", "d1.dvc", "o2.csv.dvc"]) expect(s.read(file), file).toBe(read(d, file));
    expect(s.read("obj.csv.dvc")).toContain(`- etag: ${md5("a,b\n1,2\n")}\n`);
    expect(s.read("d1/sub/y")).toBe("yy");
    expect(mustDvc(s.repo, "status").stdout).toBe("Data and pipelines are up to date.\n");

    await put("data/obj.csv", "a,b\n3,4\n");
    await put("data/dir/new", "new");
    expect(s.must("update", "obj.csv.dvc", "d1.dvc", "o2.csv.dvc").stdout).toBe(
      "Importing 'remote://s3src/obj.csv' -> 'obj.csv'\nImporting 'remote://s3src/dir' -> 'd1'\nImporting 's3://bkt/data/obj.csv' -> 'o2.csv'\n",
    );
    mustDvc(d, "update", "-q", "obj.csv.dvc", "d1.dvc", "o2.csv.dvc");
    for (const file of ["obj.csv.dvc", "d1.dvc", "o2.csv.dvc"]) expect(s.read(file), file).toBe(read(d, file));
    expect(s.read("o2.csv")).toBe("a,b\n3,4\n");
    // DVC updates several files in no fixed order.
    expect(mustDvc(s.repo, "update", "obj.csv.dvc", "d1.dvc").stdout.split("\n").sort()).toEqual([
      "",
      "'d1.dvc' didn't change, skipping",
      "'obj.csv.dvc' didn't change, skipping",
    ]);

    s.must("get-url", "remote://s3src/dir", "copy");
    expect(s.files("copy")).toEqual(["new", "sub/y", "x"]);
    const missing = s.mlv("get-url", "remote://s3src/nope.csv");
    expect(missing.stderr).toBe(
      "ERROR: 'remote://s3src/nope.csv' does not exist: check the URL (and its credentials or 'fs_config')\n",
    );
  });
});

describe.skipIf(!DVC)("HTTP (nginx)", () => {
  let web: NginxServer;
  let up = false;
  beforeAll(async () => {
    const started = await servers("nginx", () => startNginx());
    if (!started) return;
    web = started;
    up = true;
    write(web.localPath("ro", "pub/data.csv"), "a,b\n1,2\n");
    write(web.localPath("rw", "pub/plain.csv"), "plain\n");
  }, 60_000);
  afterAll(() => web?.stop());

  it("the server's ETag (quotes kept) or DVC's fallback checksum; update after a change", (ctx) => {
    if (!up) ctx.skip();
    const s = sandbox({ init: "dvc" });
    const d = dvcRepo(s);
    const url = web.url("ro", "pub/data.csv");
    const noEtag = web.url("noetag", "pub/plain.csv");
    for (const args of [[url], [noEtag]]) {
      s.must("import-url", ...args);
      mustDvc(d, "import-url", "-q", ...args);
    }
    for (const file of ["data.csv.dvc", "plain.csv.dvc"]) expect(s.read(file), file).toBe(read(d, file));
    expect(s.read("data.csv.dvc")).toMatch(/\n- checksum: '"[0-9a-f]+-8"'\n {2}size: 8\n {2}hash: md5\n/);
    expect(mustDvc(s.repo, "update", "data.csv.dvc").stdout).toBe("'data.csv.dvc' didn't change, skipping\n");

    write(web.localPath("ro", "pub/data.csv"), "a,b\n1,2\n3,4\n");
    expect(s.must("update", "data.csv.dvc").stdout).toBe(`Importing '${url}' -> 'data.csv'\n`);
    mustDvc(d, "update", "-q", "data.csv.dvc");
    expect(s.read("data.csv.dvc")).toBe(read(d, "data.csv.dvc"));
    expect(s.read("data.csv")).toBe("a,b\n1,2\n3,4\n");

    s.must("get-url", url, "got.csv");
    expect(s.read("got.csv")).toBe("a,b\n1,2\n3,4\n");
    const missing = s.mlv("import-url", web.url("ro", "pub/none.csv"));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`'${web.url("ro", "pub/none.csv")}' does not exist`);
  });
});

// DVC here has no gcsfs or adlfs to compare with: the etags are checked against what DVC records
// for those schemes (the GCS JSON API's base64 etag in hex; the Azure ETag in double quotes).
describe("Google Cloud Storage and Azure (emulators)", () => {
  let gcs: GcsEmulator;
  let azurite: AzuriteServer;
  let up = false;
  beforeAll(async () => {
    const started = await servers("the GCS emulator or Azurite", () =>
      Promise.all([startGcsEmulator({ timeoutMs: 60_000 }), startAzurite()]),
    );
    if (!started) return;
    [gcs, azurite] = started;
    up = true;
    await BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient("ctr").create();
  }, 90_000);
  afterAll(async () => {
    await Promise.all([gcs?.stop(), azurite?.stop()]);
  });

  const put = async (
    adapter: typeof gcsAdapter,
    url: string,
    options: Record<string, string>,
    key: string,
    body: string,
  ) => {
    const remote = (await adapter.create({ name: "setup", url, options })) as Remote;
    // Retried when transient, as mlv's own transfers are: an emulator may drop the first connection.
    for (let attempt = 1; ; attempt++) {
      try {
        await remote.write(key, Readable.from([Buffer.from(body)]), body.length);
        break;
      } catch (err) {
        if (attempt >= 3 || !(err instanceof RemoteError && err.transient)) throw err;
      }
    }
    await remote.close?.();
  };

  it("gs:// records the object's etag in hex; azure:// its quoted ETag; update follows a change", async (ctx) => {
    if (!up) ctx.skip();
    const gsOptions = { endpointurl: gcs.endpoint };
    const azOptions = { connection_string: azurite.connectionString };
    await put(gcsAdapter, "gs://bkt", gsOptions, "data/obj.csv", "g,1\n");
    await put(azureAdapter, "azure://ctr", azOptions, "data/obj.csv", "a,1\n");
    await put(azureAdapter, "azure://ctr", azOptions, "data/dir/x", "x");
    const s = sandbox({ init: "dvc" });
    s.write(
      ".dvc/config",
      `['remote "g"']\n    url = gs://bkt/data\n    endpointurl = ${gcs.endpoint}\n` +
        `['remote "a"']\n    url = azure://ctr/data\n    connection_string = ${azurite.connectionString}\n`,
    );
    s.must("import-url", "remote://g/obj.csv", "g.csv");
    s.must("import-url", "remote://a/obj.csv", "a.csv");
    s.must("import-url", "remote://a/dir", "adir");
    expect(s.read("g.csv")).toBe("g,1\n");
    expect(s.read("adir/x")).toBe("x");

    const meta = (await (
      await fetch(`${gcs.endpoint}/storage/v1/b/bkt/o/${encodeURIComponent("data/obj.csv")}`)
    ).json()) as {
      etag: string;
    };
    const gsEtag = Buffer.from(meta.etag, "base64").toString("hex");
    expect(s.read("g.csv.dvc")).toContain(
      `deps:\n- etag: ${gsEtag}\n  size: 4\n  hash: md5\n  path: remote://g/obj.csv\n`,
    );
    const blob = BlobServiceClient.fromConnectionString(azurite.connectionString)
      .getContainerClient("ctr")
      .getBlobClient("data/obj.csv");
    const azEtag = (await blob.getProperties()).etag as string;
    expect(azEtag.startsWith('"')).toBe(true);
    expect(s.read("a.csv.dvc")).toContain(
      `deps:\n- etag: '${azEtag}'\n  size: 4\n  hash: md5\n  path: remote://a/obj.csv\n`,
    );
    expect(s.must("update", "g.csv.dvc", "a.csv.dvc", "adir.dvc").stdout).toBe(
      "'g.csv.dvc' didn't change, skipping\n'a.csv.dvc' didn't change, skipping\n'adir.dvc' didn't change, skipping\n",
    );

    await put(gcsAdapter, "gs://bkt", gsOptions, "data/obj.csv", "g,2\n");
    await put(azureAdapter, "azure://ctr", azOptions, "data/obj.csv", "a,2\n");
    expect(s.must("update", "g.csv.dvc", "a.csv.dvc").stdout).toBe(
      "Importing 'remote://g/obj.csv' -> 'g.csv'\nImporting 'remote://a/obj.csv' -> 'a.csv'\n",
    );
    expect(s.read("g.csv") + s.read("a.csv")).toBe("g,2\na,2\n");
    expect(s.read("a.csv.dvc")).not.toContain(azEtag);
  });
});

describe("ssh (OpenSSH)", () => {
  let sshd: SshdServer;
  let up = false;
  beforeAll(async () => {
    const started = await servers("sshd", () => startSshd());
    if (!started) return;
    sshd = started;
    up = true;
  }, 60_000);
  afterAll(() => sshd?.stop());

  it("records the md5 of the content, as for local paths; update follows a change", (ctx) => {
    if (!up) ctx.skip();
    const dir = `import-url-${process.pid}`;
    write(sshd.localPath(`${dir}/obj.csv`), "s,1\n");
    write(sshd.localPath(`${dir}/folder/a`), "a");
    const s = sandbox({ init: "dvc" });
    sshd.makeHome(s.env.HOME!);
    s.write(".dvc/config", `['remote "box"']\n    url = ${sshd.url(dir)}\n    keyfile = ${sshd.clientKey}\n`);
    s.must("import-url", "remote://box/obj.csv");
    s.must("import-url", "remote://box/folder");
    expect(s.read("obj.csv.dvc")).toBe(
      `md5: ${md5(`{"deps": [{"hash": "md5", "md5": "${md5("s,1\n")}", "path": "remote://box/obj.csv"}], "outs": [{"hash": "md5", "md5": "${md5("s,1\n")}", "path": "obj.csv"}]}`)}\n` +
        `frozen: true\ndeps:\n- md5: ${md5("s,1\n")}\n  size: 4\n  hash: md5\n  path: remote://box/obj.csv\n` +
        `outs:\n- md5: ${md5("s,1\n")}\n  size: 4\n  hash: md5\n  path: obj.csv\n`,
    );
    expect(s.read("folder/a")).toBe("a");
    write(sshd.localPath(`${dir}/obj.csv`), "s,2\n");
    expect(s.must("update", "obj.csv.dvc", "folder.dvc").stdout).toBe(
      "Importing 'remote://box/obj.csv' -> 'obj.csv'\n'folder.dvc' didn't change, skipping\n",
    );
    expect(s.read("obj.csv")).toBe("s,2\n");
  });
});
