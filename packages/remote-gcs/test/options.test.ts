/** Option parsing and the adapter descriptor: no server needed. */
import { spawnSync } from "node:child_process";
import { homedir } from "node:os";
import { ConfigError } from "@mlv/core";
import adapter, { parseGcsConfig, storageOptions } from "@mlv/remote-gcs";
import { describe, expect, it } from "vitest";

const parse = (url: string, options: Record<string, string> = {}) => parseGcsConfig({ name: "storage", url, options });

describe("gs:// URLs", () => {
  it("splits bucket and prefix, ignoring slashes around the prefix", () => {
    expect(parse("gs://my-bucket")).toMatchObject({ bucket: "my-bucket", prefix: "", displayUrl: "gs://my-bucket" });
    expect(parse("gs://my-bucket/")).toMatchObject({ bucket: "my-bucket", prefix: "" });
    expect(parse("gs://my-bucket/data/v1/")).toMatchObject({
      bucket: "my-bucket",
      prefix: "data/v1/",
      displayUrl: "gs://my-bucket/data/v1",
    });
    expect(parse("GS://b.example.com/x")).toMatchObject({ bucket: "b.example.com", prefix: "x/" });
  });

  it("rejects other schemes, bad bucket names and odd paths, naming the remote and the value", () => {
    for (const url of [
      "s3://bucket/x",
      "gs:/bucket",
      "gs://",
      "gs://Upper/x",
      "gs://ab",
      "gs://-lead/x",
      "gs://a..b/x",
    ]) {
      expect(() => parse(url), url).toThrow(ConfigError);
    }
    expect(() => parse("gs://Bad_Bucket/x")).toThrow(/remote 'storage': 'Bad_Bucket' is not a valid bucket name/);
    expect(() => parse("gs://bucket/a//b")).toThrow(/not a plain folder/);
    expect(() => parse("gs://bucket/a/../b")).toThrow(/not a plain folder/);
  });

  it("never keeps user info from the URL in displayUrl", () => {
    const s = parse("gs://user:s3cr3t@my-bucket/x");
    expect(s.bucket).toBe("my-bucket");
    expect(s.displayUrl).toBe("gs://my-bucket/x");
    expect(s.displayUrl).not.toContain("s3cr3t");
  });
});

describe("DVC's gs options", () => {
  it("maps projectname, credentialpath and endpointurl to the SDK's options", () => {
    const s = parse("gs://b-1/p", {
      projectname: "my-project",
      credentialpath: "/keys/sa.json",
      endpointurl: "http://127.0.0.1:9199/",
    });
    expect(s).toMatchObject({
      projectId: "my-project",
      keyFilename: "/keys/sa.json",
      apiEndpoint: "http://127.0.0.1:9199",
      anonymous: false,
    });
    expect(storageOptions(s)).toMatchObject({
      projectId: "my-project",
      keyFilename: "/keys/sa.json",
      apiEndpoint: "http://127.0.0.1:9199",
      useAuthWithCustomEndpoint: true, // a key file was given for it
    });
  });

  it("sends no credentials to an emulator endpoint, but does to a Google endpoint", () => {
    expect(storageOptions(parse("gs://b-1", { endpointurl: "http://localhost:4443" })).useAuthWithCustomEndpoint).toBe(
      false,
    );
    expect(
      storageOptions(parse("gs://b-1", { endpointurl: "https://storage-eu.p.googleapis.com" }))
        .useAuthWithCustomEndpoint,
    ).toBe(true);
    expect(parse("gs://b-1", { endpointurl: "storage.example.com" }).apiEndpoint).toBe("https://storage.example.com");
  });

  it("uses Application Default Credentials when nothing is configured", () => {
    const opts = storageOptions(parse("gs://b-1"));
    expect(opts.keyFilename).toBeUndefined();
    expect(opts.apiEndpoint).toBeUndefined();
    expect(opts.authClient).toBeUndefined();
    expect(opts.retryOptions).toMatchObject({ autoRetry: true });
  });

  it("expands ~ in credentialpath", () => {
    expect(parse("gs://b-1", { credentialpath: "~/sa.json" }).keyFilename).toBe(`${homedir()}/sa.json`);
  });

  it("parses allow_anonymous_login as DVC's booleans", () => {
    expect(parse("gs://b-1", { allow_anonymous_login: "true" }).anonymous).toBe(true);
    expect(parse("gs://b-1", { allow_anonymous_login: "False" }).anonymous).toBe(false);
    expect(() => parse("gs://b-1", { allow_anonymous_login: "maybe" })).toThrow(
      /allow_anonymous_login must be true or false, got 'maybe'/,
    );
    expect(() => parse("gs://b-1", { allow_anonymous_login: "true", credentialpath: "/k.json" })).toThrow(ConfigError);
  });

  it("rejects endpoint URLs that are not http(s) or carry credentials", () => {
    expect(() => parse("gs://b-1", { endpointurl: "ftp://host" })).toThrow(/endpointurl must be an http/);
    expect(() => parse("gs://b-1", { endpointurl: "http://u:p@host" })).toThrow(/without credentials/);
    expect(() => parse("gs://b-1", { endpointurl: "http://[bad" })).toThrow(/is not a URL/);
  });
});

describe("the adapter descriptor", () => {
  it("serves gs:// with DVC's option names and creates a remote without I/O", async () => {
    expect(adapter.schemes).toEqual(["gs"]);
    expect(Object.keys(adapter.options).sort()).toEqual([
      "allow_anonymous_login",
      "credentialpath",
      "endpointurl",
      "projectname",
    ]);
    // A key file that does not exist and an endpoint nobody listens on: create() must not care.
    const remote = await adapter.create({
      name: "s",
      url: "gs://b-1/p",
      options: { credentialpath: "/nonexistent/key.json", endpointurl: "http://127.0.0.1:9" },
    });
    expect(remote.displayUrl).toBe("gs://b-1/p");
    expect(remote.capabilities).toMatchObject({ writeFile: true, readFile: true, traverse: true });
    expect(remote.capabilities.protectsObjects).toBeFalsy();
  });

  it("does not load the SDK when the package is imported or a remote is created", () => {
    // A loader hook reports every module resolved from the SDK's packages.
    const hook = `data:text/javascript,${encodeURIComponent(
      `export async function resolve(s, c, n) { const r = await n(s, c); if (/google-cloud|gaxios|google-auth/.test(r.url)) process.stderr.write("SDK " + r.url + "\\n"); return r; }`,
    )}`;
    const register = `data:text/javascript,${encodeURIComponent(`import { register } from "node:module"; register(${JSON.stringify(hook)});`)}`;
    const run = (script: string) =>
      spawnSync(process.execPath, ["--import", register, "--input-type=module", "-e", script], { encoding: "utf8" });
    const lazy = run(
      `const m = await import("@mlv/remote-gcs"); const r = await m.default.create({ name: "s", url: "gs://b-1/p", options: {} }); console.log(r.displayUrl);`,
    );
    expect(lazy.status, lazy.stderr).toBe(0);
    expect(lazy.stdout.trim()).toBe("gs://b-1/p");
    expect(lazy.stderr).not.toContain("SDK ");
    // The hook does see the SDK when it is loaded: the check above can fail.
    const eager = run(`await import("@google-cloud/storage");`);
    expect(eager.stderr).toContain("SDK ");
  });
});
