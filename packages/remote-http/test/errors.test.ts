/**
 * What a user of an HTTP remote notices against a real nginx: read-only servers, authentication,
 * TLS verification, the upload method, servers that ignore ranges or redirect, and the errors of
 * each, which name the remote and the option to set and never show a password.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";
import { MlvError, ObjectNotFoundError, type Remote, type RemoteError } from "@mlv/core";
import adapter, { reprChecksum } from "@mlv/remote-http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../../test-fixtures/servers/nginx.js";
import { accessLog, info, localOf, newFolder, noServer, urlOf } from "./helpers.js";

const KEY = "files/md5/ab/cdef0123456789abcdef0123456789";

function open(url: string, options: Record<string, string> = {}, name = "web"): Remote {
  return adapter.create({ name, url, options }) as Remote;
}

async function failure(p: Promise<unknown>): Promise<MlvError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(MlvError);
    return err as MlvError;
  }
  throw new Error("it did not fail");
}

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** Put `data` at `key` below a folder of a tree, through the disk (folders of writable trees stay writable by nginx). */
function place(tree: "ro" | "rw" | "auth" | "token", folder: string, key: string, data: Buffer): void {
  const root = localOf(tree);
  const path = join(root, folder, key);
  mkdirSync(dirname(path), { recursive: true });
  if (tree !== "ro") for (let d = dirname(path); d.startsWith(`${root}/`); d = dirname(d)) chmodSync(d, 0o777);
  writeFileSync(path, data);
}

describe.skipIf(noServer)("a read-only server", () => {
  const folder = noServer ? undefined : newFolder("ro");
  const data = randomBytes(1000);
  beforeAll(() => place("ro", folder!.name, KEY, data));
  afterAll(() => folder?.drop());

  it("serves reads; an upload or a delete fails saying the remote is read-only", async () => {
    const remote = open(folder!.url);
    expect(await remote.exists(KEY)).toBe(true);
    expect(await readAll(await remote.read(KEY))).toEqual(data);
    for (const method of ["put", "post"]) {
      const r = open(folder!.url, { method });
      const err = await failure(r.write("files/md5/00/11", Readable.from([Buffer.from("x")]), 1));
      if (method === "put") {
        expect(err.code).toBe("EREADONLY");
        expect(err.message).toBe(
          `remote ${folder!.url}: the server does not accept uploads by PUT (HTTP 405): this remote is read-only`,
        );
      } else {
        // nginx answers POST to a missing file with 404, to an existing one with 405.
        expect(err.code).toBe("EREADONLY");
        expect(err.message).toContain(`remote ${folder!.url}`);
        expect(err.message).toContain("set 'method' to put");
        expect(err.hint).toBe("Set it with 'mlv remote modify web method put'.");
      }
      await r.close?.();
    }
    const del = await failure(remote.delete(KEY));
    expect(del.code).toBe("EREADONLY");
    expect(del.message).toContain("does not accept deletes (HTTP 405): this remote is read-only");
    await remote.close?.();
  });

  it("a missing object is ObjectNotFoundError naming the remote; a folder is not an object", async () => {
    const remote = open(folder!.url);
    const err = await failure(remote.read("files/md5/00/missing"));
    expect(err).toBeInstanceOf(ObjectNotFoundError);
    expect(err.message).toBe(`'files/md5/00/missing' is not on remote ${folder!.url}`);
    await expect(remote.readFile!("files/md5/ab", join(tmpdir(), "never"))).rejects.toBeInstanceOf(ObjectNotFoundError);
    expect(await remote.exists("files/md5/ab")).toBe(false);
    await expect(remote.stat!("files/md5/ab")).rejects.toBeInstanceOf(ObjectNotFoundError);
    await remote.close?.();
  });

  it("checks existence with a GET of one byte", async () => {
    const remote = open(folder!.url);
    place("ro", folder!.name, "files/md5/d4/1d8cd98f00b204e9800998ecf8427e", Buffer.alloc(0));
    const before = accessLog().length;
    expect(await remote.exists(KEY)).toBe(true);
    expect(await remote.exists("files/md5/00/missing")).toBe(false);
    expect(await remote.exists("files/md5/d4/1d8cd98f00b204e9800998ecf8427e")).toBe(true);
    const lines = accessLog().slice(before);
    expect(lines.map((l) => l.split(" ").slice(0, 5).join(" "))).toEqual([
      `GET /ro/${folder!.name}/${KEY} 206 1 "bytes=0-0"`,
      `GET /ro/${folder!.name}/files/md5/00/missing 404 146 "bytes=0-0"`,
      `GET /ro/${folder!.name}/files/md5/d4/1d8cd98f00b204e9800998ecf8427e 200 0 "bytes=0-0"`,
    ]);
    await remote.close?.();
  });
});

describe.skipIf(noServer)("the upload method", () => {
  it("method = post on a WebDAV server fails saying to set method put; put works", async () => {
    const folder = newFolder("rw");
    const post = open(folder.url);
    const err = await failure(post.write(KEY, Readable.from([Buffer.from("hello")]), 5));
    expect(err.code).toBe("EREADONLY");
    expect(err.message).toBe(
      `cannot upload '${KEY}' on remote ${folder.url}: the server answered HTTP 404 to POST: it takes no uploads by POST at this URL; if it takes them by PUT (a WebDAV server: nginx, Apache), set 'method' to put; otherwise check the URL, or use another remote to push to`,
    );
    expect(err.hint).toBe("Set it with 'mlv remote modify web method put'.");
    const put = open(folder.url, { method: "PUT" });
    await put.write(KEY, Readable.from([Buffer.from("hello")]), 5);
    expect(await readFile(join(folder.local, KEY), "utf8")).toBe("hello");
    // The object exists now: nginx refuses POST to it with 405.
    const again = await failure(post.write(KEY, Readable.from([Buffer.from("hello")]), 5));
    expect(again.code).toBe("EREADONLY");
    expect(again.message).toContain("set 'method' to put");
    expect(again.hint).toBe("Set it with 'mlv remote modify web method put'.");
    const last = accessLog().slice(-1)[0]!;
    expect(last).toMatch(new RegExp(`^POST /rw/${folder.name}/${KEY} 405 `));
    await Promise.all([post.close?.(), put.close?.()]);
    folder.drop();
  });

  it("an unusable method fails every upload, naming the value, and reads still work", async () => {
    const folder = newFolder("rw");
    place("rw", folder.name, KEY, Buffer.from("x"));
    const remote = open(folder.url, { method: "patch" });
    const err = await failure(remote.write(KEY, Readable.from([Buffer.from("y")]), 1));
    expect(err.code).toBe("ECONFIG");
    expect(err.message).toBe("remote 'web': 'method' must be post or put, not 'patch'");
    expect(err.hint).toBe("Set it with 'mlv remote modify web method put' (or post).");
    expect(await remote.exists(KEY)).toBe(true);
    await remote.close?.();
    folder.drop();
  });

  it("sends application/octet-stream, with a Content-Length when the size is known", async () => {
    const folder = newFolder("rw");
    const remote = open(folder.url, { method: "put" });
    await remote.write(KEY, Readable.from([Buffer.from("abc")]), 3);
    await remote.write(`${KEY}x`, Readable.from([Buffer.from("abcd")])); // chunked
    expect(await readFile(join(folder.local, `${KEY}x`), "utf8")).toBe("abcd");
    await remote.close?.();
    folder.drop();
  });
});

describe.skipIf(noServer)("basic authentication", () => {
  const data = Buffer.from("behind a password\n");
  let folder: ReturnType<typeof newFolder>;
  beforeAll(() => {
    folder = newFolder("auth");
    place("auth", folder.name, KEY, data);
  });
  afterAll(() => folder?.drop());

  it("the right user and password read and write", async () => {
    const w = info();
    const remote = open(folder.url, { auth: "basic", user: w.user, password: w.password, method: "put" });
    expect(await readAll(await remote.read(KEY))).toEqual(data);
    await remote.write(`${KEY}2`, Readable.from([Buffer.from("up")]), 2);
    expect(await readFile(join(folder.local, `${KEY}2`), "utf8")).toBe("up");
    expect(accessLog().slice(-1)[0]).toContain(`"${w.user}"`);
    await remote.close?.();
  });

  it("credentials in the URL work too, and the URL shown hides them", async () => {
    const w = info();
    const remote = open(urlOf("auth", folder.name, { credentials: { user: w.user, password: w.password } }));
    expect(remote.displayUrl).toBe(folder.url);
    expect(await remote.exists(KEY)).toBe(true);
    await remote.close?.();
  });

  it("a wrong password is refused naming 'user' and 'password', never the password", async () => {
    const w = info();
    const remote = open(folder.url, { auth: "basic", user: w.user, password: "wrong-Pa55" });
    for (const op of [() => remote.exists(KEY), () => remote.read(KEY), () => remote.stat!(KEY)]) {
      const err = await failure(op());
      expect(err.code).toBe("EPERMISSION");
      expect(err.message).toContain(`remote ${folder.url} refused access`);
      expect(err.message).toContain("(HTTP 401)");
      expect(err.message).toContain(`user '${w.user}'`);
      expect(err.message).toContain("check 'user' and 'password'");
      expect(err.hint).toContain("'mlv remote modify --local web password ...'");
      expect(err.message).not.toContain("wrong-Pa55");
      expect(JSON.stringify(err.data)).not.toContain("wrong-Pa55");
    }
    await remote.close?.();
  });

  it("no credentials: the error says which keys to set", async () => {
    const remote = open(folder.url);
    const err = await failure(remote.read(KEY));
    expect(err.code).toBe("EPERMISSION");
    expect(err.message).toBe(
      `remote ${folder.url} refused access: read '${KEY}' was refused (HTTP 401): it needs credentials: set 'auth', 'user' and 'password' (or 'auth custom' with 'custom_auth_header' for a token header)`,
    );
    expect(err.hint).toBe(
      "Set them with 'mlv remote modify web auth basic', 'mlv remote modify web user NAME' and 'mlv remote modify --local web password ...'.",
    );
    const unsent = open(folder.url, { user: "alice", password: "x" });
    expect((await failure(unsent.exists(KEY))).message).toContain(
      "'auth' is not set, so 'user' and 'password' are not sent",
    );
    await Promise.all([remote.close?.(), unsent.close?.()]);
  });

  it("ask_password without a terminal says how to store the password instead", async () => {
    const remote = open(folder.url, { auth: "basic", user: "alice", ask_password: "true" });
    const err = await failure(remote.exists(KEY));
    expect(err.code).toBe("ECONFIG");
    expect(err.message).toContain("'ask_password' is set but there is no terminal");
    expect(err.hint).toContain("mlv remote modify --local web password VALUE");
  });

  it("auth = digest fails every operation, saying it is not supported", async () => {
    const remote = open(folder.url, { auth: "digest", user: "alice", password: "x" });
    for (const op of [
      () => remote.exists(KEY),
      () => remote.read(KEY),
      () => remote.stat!(KEY),
      () => remote.write(KEY, Readable.from([]), 0),
      () => remote.delete(KEY),
    ]) {
      const err = await failure(op());
      expect(err.code).toBe("EUNSUPPORTED");
      expect(err.message).toContain("auth = digest is not supported");
    }
  });
});

describe.skipIf(noServer)("a custom authentication header", () => {
  it("the right token reads and writes; a wrong one names custom_auth_header, never the token", async () => {
    const w = info();
    const folder = newFolder("token");
    const remote = open(folder.url, {
      auth: "custom",
      custom_auth_header: w.tokenHeader,
      password: w.token,
      method: "put",
    });
    await remote.write(KEY, Readable.from([Buffer.from("tok")]), 3);
    expect(await readAll(await remote.read(KEY))).toEqual(Buffer.from("tok"));
    const wrong = open(folder.url, { auth: "custom", custom_auth_header: w.tokenHeader, password: "bad-t0ken" });
    const err = await failure(wrong.read(KEY));
    expect(err.code).toBe("EPERMISSION");
    expect(err.message).toContain(`the server did not accept the ${w.tokenHeader} header`);
    expect(err.message).toContain("'custom_auth_header' and 'password'");
    expect(err.message).not.toContain("bad-t0ken");
    await Promise.all([remote.close?.(), wrong.close?.()]);
    folder.drop();
  });
});

describe.skipIf(noServer)("HTTPS", () => {
  let folder: ReturnType<typeof newFolder>;
  let url = "";
  beforeAll(() => {
    folder = newFolder("ro");
    place("ro", folder.name, KEY, Buffer.from("secure"));
    url = urlOf("ro", folder.name, { tls: true });
  });
  afterAll(() => folder?.drop());

  it("the server's CA bundle in ssl_verify makes its certificate trusted", async () => {
    const remote = open(url, { ssl_verify: info().caFile });
    expect(await readAll(await remote.read(KEY))).toEqual(Buffer.from("secure"));
    await remote.close?.();
  });

  it("default verification refuses a self-signed certificate, naming ssl_verify", async () => {
    const remote = open(url);
    const err = await failure(remote.exists(KEY));
    expect(err.code).toBe("ETLS");
    expect((err as RemoteError).transient).toBe(false);
    expect(err.message).toContain(`remote ${url}: cannot check '${KEY}': the TLS connection to 127.0.0.1:`);
    expect(err.message).toContain("its certificate is not signed by a trusted authority");
    expect(err.message).toContain("give 'ssl_verify' the path of the CA bundle that signed it");
    expect(err.message).toContain("'ssl_verify false'");
    await remote.close?.();
  });

  it("ssl_verify = false accepts it", async () => {
    const remote = open(url, { ssl_verify: "false" });
    expect(await remote.exists(KEY)).toBe(true);
    await remote.close?.();
  });

  it("a CA bundle that is not the server's, or that is missing, is named", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mlv-http-ca-"));
    try {
      const other = join(dir, "other.pem");
      // A valid certificate of another authority: the nginx fixture's is unique to each run.
      const { execFileSync } = await import("node:child_process");
      execFileSync(
        "openssl",
        [
          "req",
          "-x509",
          "-newkey",
          "ec",
          "-pkeyopt",
          "ec_paramgen_curve:prime256v1",
          "-nodes",
          "-keyout",
          join(dir, "k.pem"),
          "-out",
          other,
          "-days",
          "1",
          "-subj",
          "/CN=other",
        ],
        { stdio: "ignore" },
      );
      const wrongCa = await failure(open(url, { ssl_verify: other }).exists(KEY));
      expect(wrongCa.code).toBe("ETLS");
      expect(wrongCa.message).toContain(`its certificate is not signed by the CA bundle in 'ssl_verify' (${other})`);
      const missing = join(dir, "missing.pem");
      const err = await failure(open(url, { ssl_verify: missing }).exists(KEY));
      expect(err.code).toBe("ECONFIG");
      expect(err.message).toContain(`'ssl_verify' names the CA bundle '${missing}', which cannot be read (ENOENT)`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(noServer)("servers that ignore ranges, redirect, or send no ETag", () => {
  const data = randomBytes(300 * 1024 + 7);
  let folder: ReturnType<typeof newFolder>;
  beforeAll(() => {
    folder = newFolder("rw");
    place("rw", folder.name, KEY, data);
  });
  afterAll(() => folder?.drop());

  it("a 200 answer to a Range request still gives the bytes asked for", async () => {
    const remote = open(urlOf("norange", folder.name));
    for (const [offset, length] of [
      [0, 10],
      [1000, 70_001],
      [data.length - 5, 100],
      [123_457, undefined],
    ] as const) {
      const range = length === undefined ? { offset } : { offset, length };
      const want = data.subarray(offset, length === undefined ? undefined : offset + length);
      expect((await readAll(await remote.read(KEY, range))).equals(want), `${offset}+${length}`).toBe(true);
    }
    expect((await readAll(await remote.read(KEY, { offset: data.length + 1 }))).length).toBe(0);
    const dir = await mkdtemp(join(tmpdir(), "mlv-http-"));
    await remote.readFile!(KEY, join(dir, "f"));
    expect((await readFile(join(dir, "f"))).equals(data)).toBe(true);
    await rm(dir, { recursive: true, force: true });
    expect(accessLog().slice(-1)[0]).toMatch(/ 200 \d+ "bytes=0-16777215"/);
    await remote.close?.();
  });

  it("redirects are followed for reads", async () => {
    const remote = open(urlOf("moved", folder.name));
    expect(await remote.exists(KEY)).toBe(true);
    expect(await remote.exists("files/md5/00/missing")).toBe(false);
    expect((await readAll(await remote.read(KEY, { offset: 5, length: 5 }))).equals(data.subarray(5, 10))).toBe(true);
    expect((await remote.stat!(KEY)).size).toBe(data.length);
    await remote.close?.();
  });

  it("stat gives the size and the ETag with its quotes", async () => {
    const remote = open(folder.url);
    const s = await remote.stat!(KEY);
    expect(s.size).toBe(data.length);
    expect(s.checksum).toMatch(/^"[0-9a-f]+-[0-9a-f]+"$/);
    expect(s.checksum).toBe((await fetch(`${folder.url}/${KEY}`, { method: "HEAD" })).headers.get("etag"));
    await remote.close?.();
  });

  it("without an ETag, stat's checksum is the digest of the info DVC collects", async () => {
    const url = urlOf("noetag", folder.name);
    const remote = open(url);
    const s = await remote.stat!(KEY);
    const res = await fetch(`${url}/${KEY}`, { method: "HEAD" });
    const objectUrl = `${url}/${KEY}`;
    expect(res.headers.get("etag")).toBeNull();
    expect(s).toEqual({
      size: data.length,
      checksum: reprChecksum([
        ["name", objectUrl],
        ["size", data.length],
        ["mimetype", "application/octet-stream"],
        ["url", objectUrl],
        ["Last-Modified", res.headers.get("last-modified")!],
        ["type", "file"],
      ]),
    });
    await remote.close?.();
  });
});

describe.skipIf(noServer)("an unreachable server", () => {
  it("is a transient RemoteUnreachableError naming the remote", async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/store`;
    const remote = open(url);
    const err = await failure(remote.exists(KEY));
    expect(err.code).toBe("EUNREACHABLE");
    expect((err as RemoteError).transient).toBe(true);
    expect(err.message).toContain(
      `remote ${url} cannot be reached: check '${KEY}' failed: ECONNREFUSED talking to 127.0.0.1:${port}`,
    );
    await remote.close?.();
  });
});
