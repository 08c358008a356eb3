/**
 * `mlv` with http(s):// remotes served by a real nginx (test-fixtures/servers/nginx.ts), end to
 * end: a remote set with `mlv remote add` and `mlv remote modify` (ssl_verify = the server's CA,
 * method = put for its WebDAV tree), push, a fresh clone that pulls; a read-only tree that serves
 * pulls and refuses pushes; TLS and password errors as a user sees them; and the real DVC 3.64
 * on the same server both ways.
 */
import { cpSync, existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { dvc, mustDvc, requireDvc } from "../../../test-fixtures/dvc-peer.js";
import { type NginxServer, startNginx } from "../../../test-fixtures/servers/nginx.js";
import { md5, objectPath, type Sandbox, sandbox } from "./helpers.js";

let web: NginxServer | undefined;
let unavailable = "";
try {
  web = await startNginx();
} catch (err) {
  unavailable = (err as Error).message;
  if (process.env.CI === "true") throw new Error(`nginx is required in CI (CI=true): ${unavailable}`);
  process.stderr.write(`\n!!! ${unavailable}\n!!! THE HTTP REMOTE CLI TESTS ARE SKIPPED\n\n`);
}
const noServer = web === undefined;
const DVC = noServer ? undefined : requireDvc("the HTTP remote tests against the real DVC");

afterAll(async () => {
  await web?.stop();
});

const IN_SYNC = "Cache and remote 'web' are in sync.\n";

function server(): NginxServer {
  if (!web) throw new Error(`no nginx: ${unavailable}`);
  return web;
}

let folders = 0;
/** A fresh folder name in the server's trees. */
function folderName(): string {
  folders += 1;
  return `cli-${process.pid}-${folders}`;
}

/** The data a project tracks: a 3 MiB file and a folder with small, empty and nested files. */
function writeData(s: Sandbox): Record<string, Buffer> {
  const files: Record<string, Buffer> = {
    "model.bin": Buffer.alloc(3 * 1024 * 1024 + 7, "model-v1\n"),
    "data/a.txt": Buffer.from("alpha\n"),
    "data/b.txt": Buffer.from("beta\n"),
    "data/sub/c.bin": Buffer.alloc(70_000, 7),
    "data/empty": Buffer.alloc(0),
  };
  for (const [rel, bytes] of Object.entries(files)) s.write(rel, bytes);
  return files;
}

function expectRestored(dir: string, files: Record<string, Buffer>): void {
  for (const [rel, bytes] of Object.entries(files))
    expect(readFileSync(join(dir, rel)).equals(bytes), `${rel} restored byte for byte`).toBe(true);
}

/** Every file below a folder of the server, relative to it. */
function served(local: string): string[] {
  if (!existsSync(local)) return [];
  return readdirSync(local, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(local.length + 1))
    .sort();
}

/** A project whose remote `web` is `url`, with `modify` set through `mlv remote modify`. */
function project(url: string, modify: [string, string, boolean?][]): Sandbox {
  const s = sandbox({ init: "mlv" });
  s.must("remote", "add", "-d", "web", url);
  for (const [key, value, local] of modify)
    s.must("remote", "modify", ...(local ? ["--local"] : []), "web", key, value);
  return s;
}

/** `git clone` of the sandbox's repository beside it (committing what mlv wrote first). */
function cloneOf(s: Sandbox, name: string): string {
  s.mustGit("add", "-A");
  s.mustGit("commit", "-q", "-m", "data");
  const dir = join(s.dir, name);
  s.mustGit("clone", "-q", s.repo, dir);
  return dir;
}

describe.skipIf(noServer)("an https:// remote on nginx", () => {
  it("push to its WebDAV tree, then a fresh clone pulls every byte", () => {
    const w = server();
    const name = folderName();
    const url = w.url("rw", `${name}/store`, { tls: true });
    const s = project(url, [
      ["ssl_verify", w.caFile],
      ["method", "put"],
    ]);
    expect(s.read(".dvc/config")).toBe(
      `[core]\n    remote = web\n['remote "web"']\n    url = ${url}\n    ssl_verify = ${w.caFile}\n    method = put\n`,
    );
    const files = writeData(s);
    s.must("add", "model.bin", "data");
    const before = w.accessLog().split("\n").length;
    s.must("push");
    expect(s.must("status", "-c").stdout).toBe(IN_SYNC);

    // DVC's layout below the URL's path, uploaded with PUT over TLS, nothing else left there.
    const stored = served(w.localPath("rw", `${name}/store`));
    expect(stored).toContain(objectPath(md5(files["model.bin"]!)));
    expect(stored.filter((f) => f.endsWith(".dir"))).toHaveLength(1);
    expect(stored).toHaveLength(6); // 5 files (one empty) + the .dir manifest
    const puts = w
      .accessLog()
      .split("\n")
      .slice(before - 1)
      .filter((l) => l.startsWith("PUT "));
    expect(puts).toHaveLength(6);
    for (const line of puts) expect(line).toMatch(/ 201 0 "-" "-" https$/);

    const clone = cloneOf(s, "clone");
    const pulled = s.mlvWith({ cwd: "../clone" }, "pull");
    expect(pulled.code, pulled.stderr).toBe(0);
    expectRestored(clone, files);
    expect(s.mlvWith({ cwd: "../clone" }, "status", "-c").stdout).toBe(IN_SYNC);
  });

  it("a read-only tree: pull works, push fails with one clear error and uploads nothing", () => {
    const w = server();
    const name = folderName();
    // Publish through the WebDAV tree, then serve a copy of it read-only.
    const rwUrl = w.url("rw", name, { tls: true });
    const s = project(rwUrl, [
      ["ssl_verify", w.caFile],
      ["method", "put"],
    ]);
    const files = writeData(s);
    s.must("add", "model.bin", "data");
    s.must("push");
    cpSync(w.localPath("rw", name), w.localPath("ro", name), { recursive: true });
    const roUrl = w.url("ro", name, { tls: true });
    s.must("remote", "modify", "web", "url", roUrl);

    const clone = cloneOf(s, "clone");
    s.rm(".dvc/cache");
    const pulled = s.mlvWith({ cwd: "../clone" }, "pull");
    expect(pulled.code, pulled.stderr).toBe(0);
    expectRestored(clone, files);
    expect(s.mlvWith({ cwd: "../clone" }, "status", "-c").stdout).toBe(IN_SYNC);

    s.write("extra.txt", "not on the server yet\n");
    s.must("add", "extra.txt");
    const before = served(w.localPath("ro", name));
    const pushed = s.mlv("push");
    expect(pushed.code).toBe(1);
    expect(pushed.stderr).toContain(`remote ${roUrl}: the server does not accept uploads by PUT (HTTP 405)`);
    expect(pushed.stderr).toContain("this remote is read-only");
    expect(served(w.localPath("ro", name))).toEqual(before);

    // With DVC's default upload method (POST), the static tree answers 404: one error, one request.
    s.write("extra2.txt", "also not on the server\n");
    s.must("add", "extra2.txt");
    s.must("remote", "modify", "--unset", "web", "method");
    const posted = s.mlv("push");
    expect(posted.code).toBe(1);
    expect(posted.stderr.match(/takes no uploads by POST at this URL/g)).toHaveLength(1);
    expect(
      w
        .accessLog()
        .split("\n")
        .filter((l) => l.startsWith(`POST /ro/${name}/`)),
    ).toHaveLength(1);
    expect(served(w.localPath("ro", name))).toEqual(before);
  });

  it("without the CA, the pull fails naming ssl_verify; ssl_verify false lets it through", () => {
    const w = server();
    const name = folderName();
    const s = project(w.url("rw", name, { tls: true }), [
      ["ssl_verify", w.caFile],
      ["method", "put"],
    ]);
    s.write("foo", "foo");
    s.must("add", "foo");
    s.must("push");
    s.rm(".dvc/cache");
    s.rm("foo");
    s.must("remote", "modify", "web", "--unset", "ssl_verify");
    const r = s.mlv("pull");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("its certificate is not signed by a trusted authority");
    expect(r.stderr).toContain("give 'ssl_verify' the path of the CA bundle that signed it");
    s.must("remote", "modify", "web", "ssl_verify", "false");
    s.must("pull");
    expect(s.read("foo")).toBe("foo");
  });

  it("a wrong password fails the push naming the keys to set, never the password", () => {
    const w = server();
    const name = folderName();
    const s = project(w.url("auth", name, { tls: true }), [
      ["ssl_verify", w.caFile],
      ["method", "put"],
      ["auth", "basic"],
      ["user", w.user],
      ["password", "not-the-Passw0rd", true],
    ]);
    s.write("foo", "foo");
    s.must("add", "foo");
    const r = s.mlv("push");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("refused access");
    expect(r.stderr).toContain(`the server did not accept user '${w.user}' and the password configured`);
    expect(r.stderr).toContain("'mlv remote modify --local web password ...'");
    expect(r.stdout + r.stderr).not.toContain("not-the-Passw0rd");
    s.must("remote", "modify", "--local", "web", "password", w.password);
    s.must("push");
    expect(s.must("status", "-c").stdout).toBe(IN_SYNC);
  });
});

describe.skipIf(noServer || !DVC)("the real DVC on the same nginx", () => {
  it("DVC pushes with method = put, mlv pulls", () => {
    const w = server();
    const name = folderName();
    const url = w.url("rw", name, { tls: true });
    const s = sandbox();
    mustDvc(s.repo, "init", "-q");
    mustDvc(s.repo, "remote", "add", "-d", "web", url);
    mustDvc(s.repo, "remote", "modify", "web", "method", "put");
    mustDvc(s.repo, "remote", "modify", "web", "ssl_verify", w.caFile);
    const files = writeData(s);
    mustDvc(s.repo, "add", "-q", "model.bin", "data");
    mustDvc(s.repo, "push", "-q");
    expect(served(w.localPath("rw", name))).toHaveLength(6);

    const clone = cloneOf(s, "clone");
    const pulled = s.mlvWith({ cwd: "../clone" }, "pull");
    expect(pulled.code, pulled.stderr).toBe(0);
    expectRestored(clone, files);
    expect(s.mlvWith({ cwd: "../clone" }, "status", "-c").stdout).toBe(IN_SYNC);
  });

  it("mlv pushes, DVC pulls", () => {
    const w = server();
    const name = folderName();
    const s = project(w.url("rw", name, { tls: true }), [
      ["ssl_verify", w.caFile],
      ["method", "put"],
    ]);
    const files = writeData(s);
    s.must("add", "model.bin", "data");
    s.must("push");
    const clone = cloneOf(s, "clone");
    const pulled = dvc(clone, "pull");
    expect(pulled.code, pulled.stdout + pulled.stderr).toBe(0);
    expectRestored(clone, files);
    expect(mustDvc(clone, "status", "-c").stdout).toContain("Cache and remote 'web' are in sync.");
    rmSync(join(clone, ".dvc", "cache"), { recursive: true, force: true });
  });
});
