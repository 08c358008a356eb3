/** Settings from a remote's URL and DVC options, object URLs, and DVC's fallback checksum (spec §9.3, §9.5). */
import { MlvError } from "@mlv/core";
import adapter, {
  checksumOf,
  infoDict,
  infoFromHeaders,
  mergeInfo,
  objectPath,
  parseSettings,
  pyRepr,
  redactUrl,
  reprChecksum,
} from "@mlv/remote-http";
import { describe, expect, it } from "vitest";

const parse = (url: string, options: Record<string, string> = {}) => parseSettings("web", url, options);

function configError(fn: () => unknown): MlvError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(MlvError);
    expect((err as MlvError).code).toBe("ECONFIG");
    return err as MlvError;
  }
  throw new Error("no error was thrown");
}

describe("the adapter", () => {
  it("serves http and https, lists DVC's keys and keeps the password secret", () => {
    expect(adapter.schemes).toEqual(["http", "https"]);
    for (const key of [
      "auth",
      "user",
      "password",
      "ask_password",
      "custom_auth_header",
      "ssl_verify",
      "read_timeout",
      "connect_timeout",
      "method",
    ])
      expect(adapter.options).toHaveProperty(key);
    expect(adapter.secretOptions).toEqual(["password"]);
  });

  it("creates a remote without any I/O, and one that can be written", () => {
    const remote = adapter.create({ name: "web", url: "https://nowhere.invalid/store", options: {} });
    expect(remote.displayUrl).toBe("https://nowhere.invalid/store");
    expect(typeof (remote as { write?: unknown }).write).toBe("function");
    expect(typeof (remote as { delete?: unknown }).delete).toBe("function");
    expect("list" in remote).toBe(false);
    expect(remote.capabilities).toMatchObject({ rangedRead: true, readFile: true, writeFile: true, traverse: false });
  });
});

describe("parseSettings", () => {
  it("splits the URL into origin and path; a trailing slash is harmless", () => {
    for (const url of [
      "http://example.com:8080/a/store",
      "http://example.com:8080/a/store/",
      "http://example.com:8080/a/store//",
    ]) {
      const s = parse(url);
      expect(s.origin).toBe("http://example.com:8080");
      expect(s.basePath).toBe("/a/store");
      expect(s.displayUrl).toBe("http://example.com:8080/a/store");
    }
    expect(parse("https://example.com").basePath).toBe("");
    expect(parse("https://example.com/").displayUrl).toBe("https://example.com");
    expect(parse("HTTPS://Example.COM:443/x").origin).toBe("https://example.com");
  });

  it("defaults: no auth, verified TLS, 60 s timeouts, POST uploads", () => {
    expect(parse("https://h/x")).toMatchObject({
      auth: "none",
      sslVerify: true,
      connectTimeoutMs: 60_000,
      readTimeoutMs: 60_000,
      method: "POST",
      askPassword: false,
    });
  });

  it("reads DVC's keys", () => {
    const s = parse("https://h/x", {
      auth: "Basic",
      user: "alice",
      password: "s3cr3t",
      ssl_verify: "/etc/ca.pem",
      read_timeout: "2.5",
      connect_timeout: "0",
      method: "PUT",
      jobs: "7",
    });
    expect(s).toMatchObject({
      auth: "basic",
      user: "alice",
      password: "s3cr3t",
      sslVerify: "/etc/ca.pem",
      readTimeoutMs: 2500,
      connectTimeoutMs: 0,
      method: "PUT",
      jobs: 7,
    });
    expect(parse("https://h/x", { ssl_verify: "false" }).sslVerify).toBe(false);
    expect(parse("https://h/x", { ssl_verify: "True" }).sslVerify).toBe(true);
    expect(parse("https://h/x", { method: "post" }).method).toBe("POST");
    expect(parse("https://h/x", { auth: "custom", custom_auth_header: "X-Token", password: "tok" })).toMatchObject({
      auth: "custom",
      customAuthHeader: "X-Token",
      password: "tok",
    });
  });

  it("takes a user and password from the URL as basic authentication, and never shows them", () => {
    const s = parse("https://bob:p%40ss%3Aword@h:8443/x");
    expect(s).toMatchObject({ auth: "basic", user: "bob", password: "p@ss:word" });
    expect(s.displayUrl).toBe("https://h:8443/x");
    expect(redactUrl("https://bob:secret@h/x")).toBe("https://h/x");
  });

  it("keeps an unusable method for the upload to report, and digest for every operation to refuse", () => {
    expect(parse("https://h/x", { method: "patch" }).method).toEqual({ invalid: "patch" });
    expect(parse("https://h/x", { auth: "digest" }).auth).toBe("digest");
  });

  it("refuses what cannot work, naming the key", () => {
    expect(configError(() => parse("https://h/x", { auth: "ntlm" })).message).toBe(
      "remote 'web': 'auth' must be one of basic, digest, custom, got 'ntlm'",
    );
    const basic = configError(() => parse("https://h/x", { auth: "basic", user: "alice" }));
    expect(basic.message).toContain("auth = basic needs both 'user' and 'password'");
    expect(basic.message).not.toContain("mlv remote modify");
    expect(basic.hint).toContain("mlv remote modify --local web password");
    expect(configError(() => parse("https://h/x", { auth: "basic", password: "s3cr3t" })).message).not.toContain(
      "s3cr3t",
    );
    expect(parse("https://h/x", { auth: "basic", user: "a", ask_password: "true" }).askPassword).toBe(true);
    expect(configError(() => parse("https://h/x", { auth: "custom", password: "t" })).message).toContain(
      "'custom_auth_header'",
    );
    expect(configError(() => parse("https://h/x", { auth: "custom", custom_auth_header: "X-T" })).message).toContain(
      "needs 'password'",
    );
    expect(configError(() => parse("https://h/x", { read_timeout: "soon" })).message).toContain("'read_timeout'");
    expect(configError(() => parse("https://h/x", { connect_timeout: "-1" })).message).toContain("'connect_timeout'");
    expect(configError(() => parse("https://h/x", { ask_password: "maybe" })).message).toContain("'ask_password'");
    expect(configError(() => parse("ftp://h/x")).message).toContain("not an http:// or https:// URL");
    expect(configError(() => parse("https://h/x?token=1")).message).toContain("'?query'");
    expect(configError(() => parse("https://bob:s3cr3t@h/x?y")).message).not.toContain("s3cr3t");
  });
});

describe("objectPath", () => {
  it("joins with '/' and encodes only what a path cannot hold", () => {
    expect(objectPath("/store", "files/md5/ab/cdef")).toBe("/store/files/md5/ab/cdef");
    expect(objectPath("", "files/md5/ab/cdef.dir")).toBe("/files/md5/ab/cdef.dir");
    expect(objectPath("/a%20b", "data set/ü.csv")).toBe("/a%20b/data%20set/%C3%BC.csv");
    expect(objectPath("/x", "already%20encoded#1")).toBe("/x/already%20encoded%231");
    expect(objectPath("/x", "100%")).toBe("/x/100%25");
    expect(objectPath("/x", "get?id=1 2")).toBe("/x/get?id=1%202");
  });
});

describe("the checksum DVC records for an HTTP object (spec §9.5)", () => {
  it("is the ETag with its quotes, else Content-MD5", () => {
    const url = "http://h/x";
    const both = infoDict(url, infoFromHeaders({ "content-length": "5", etag: '"abc-5"', "content-md5": "X==" }, url));
    expect(checksumOf(both)).toBe('"abc-5"');
    expect(checksumOf(infoDict(url, infoFromHeaders({ "content-md5": "rL0Y20zC+Fzt72VPzMSk2A==" }, url)))).toBe(
      "rL0Y20zC+Fzt72VPzMSk2A==",
    );
  });

  it("without either, is the decimal md5 of the repr of the info dict: the spec's vector", () => {
    const url = "http://127.0.0.1:18767/pub/data.csv";
    const info = infoDict(url, infoFromHeaders({ "content-length": "11" }, url));
    expect(info).toEqual([
      ["name", url],
      ["size", 11],
      ["url", url],
      ["type", "file"],
    ]);
    expect(checksumOf(info)).toBe("235422251014902223651929875749929219578");
  });

  it("puts the headers in DVC's order, and the size where the name is followed by it", () => {
    const url = "http://h/x";
    const entries = infoFromHeaders(
      {
        "last-modified": "Sun, 06 Dec 2026 10:05:13 GMT",
        "accept-ranges": "none",
        "content-type": "text/csv; charset=utf-8",
        "content-length": "11",
        digest: "sha-256=abc",
      },
      url,
    );
    expect(infoDict(url, entries).map(([k]) => k)).toEqual([
      "name",
      "size",
      "mimetype",
      "partial",
      "url",
      "Digest",
      "Last-Modified",
      "type",
    ]);
    expect(infoDict(url, entries)[2]).toEqual(["mimetype", "text/csv"]);
    // A compressed answer's length is not the object's size; Content-Range gives it otherwise.
    expect(infoFromHeaders({ "content-length": "5", "content-encoding": "gzip" }, url)).toEqual([["url", url]]);
    expect(infoFromHeaders({ "content-range": "bytes 0-0/42" }, url)).toEqual([
      ["size", 42],
      ["url", url],
    ]);
    // No size from the first answer: what a second one says is merged in, keys keeping their place.
    expect(
      infoDict(
        url,
        mergeInfo(
          [["url", url]],
          [
            ["size", 3],
            ["url", `${url}2`],
          ],
        ),
      ),
    ).toEqual([
      ["name", url],
      ["size", 3],
      ["url", `${url}2`],
      ["type", "file"],
    ]);
    expect(infoDict(url, [["url", url]])[1]).toEqual(["size", null]);
  });

  it("hashes Python's repr exactly", () => {
    expect(pyRepr("plain")).toBe("'plain'");
    expect(pyRepr("it's")).toBe(`"it's"`);
    expect(pyRepr(`it's "x"`)).toBe(`'it\\'s "x"'`);
    expect(pyRepr("a\\b\tc\nd\re\u0001\u007f")).toBe("'a\\\\b\\tc\\nd\\re\\x01\\x7f'");
    expect(pyRepr("é€😀")).toBe("'é€😀'");
    expect(pyRepr("\u00a0\u00ad\u2028\ud800")).toBe("'\\xa0\\xad\\u2028\\ud800'");
    expect(pyRepr(null)).toBe("None");
    expect(pyRepr(false)).toBe("False");
    expect(pyRepr(11)).toBe("11");
    expect(reprChecksum([["name", "x"]])).toMatch(/^\d+$/);
  });
});
