import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError } from "@mlv/core";
import adapter, { iniRegion, parseS3Url, redact, resolveSettings } from "@mlv/remote-s3";
import { describe, expect, it, onTestFinished } from "vitest";

const settings = (options: Record<string, string>, url = "s3://my-bucket/data/store") =>
  resolveSettings({ name: "storage", url, options });

describe("s3:// URLs", () => {
  it("splits bucket and prefix; the prefix ends with '/' and a trailing '/' is ignored", () => {
    expect(parseS3Url("r", "s3://my-bucket/data/store")).toEqual({
      bucket: "my-bucket",
      prefix: "data/store/",
      displayUrl: "s3://my-bucket/data/store",
    });
    expect(parseS3Url("r", "s3://my-bucket/data/store/")).toMatchObject({ prefix: "data/store/" });
    expect(parseS3Url("r", "s3://my-bucket//a//b/")).toMatchObject({
      prefix: "a/b/",
      displayUrl: "s3://my-bucket/a/b",
    });
  });

  it("puts keys at the bucket root for s3://bucket", () => {
    expect(parseS3Url("r", "s3://my-bucket")).toEqual({
      bucket: "my-bucket",
      prefix: "",
      displayUrl: "s3://my-bucket",
    });
    expect(parseS3Url("r", "s3://my-bucket/")).toMatchObject({ prefix: "" });
  });

  it("refuses URLs that are not s3://BUCKET[/PREFIX], naming the remote, never echoing credentials", () => {
    for (const url of ["s3://", "s3:///x", "gs://bucket", "s3://a", "s3://bad bucket/x", "s3://b/../x"]) {
      expect(() => parseS3Url("storage", url), url).toThrow(ConfigError);
      expect(() => parseS3Url("storage", url), url).toThrow(/remote 'storage'/);
    }
    let message = "";
    try {
      parseS3Url("storage", "s3://AKIAXXXX:topsecret@bucket/x");
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/credentials/);
    expect(message).not.toContain("topsecret");
  });
});

describe("options", () => {
  it("has no endpoint, region or credentials by default (the AWS chain decides), and 60 s timeouts", () => {
    const s = settings({});
    expect(s.endpoint).toBeUndefined();
    expect(s.region).toBeUndefined();
    expect(s.credentials).toBeUndefined();
    expect(s.anonymous).toBe(false);
    expect(s.sslVerify).toBe(true);
    expect(s.connectTimeoutMs).toBe(60_000);
    expect(s.readTimeoutMs).toBe(60_000);
    expect(s.writeParams).toEqual({});
  });

  it("endpointurl: kept as given; without a scheme https, or http with use_ssl = false", () => {
    expect(settings({ endpointurl: "http://127.0.0.1:9000/" }).endpoint).toBe("http://127.0.0.1:9000");
    expect(settings({ endpointurl: "minio.local:9000" }).endpoint).toBe("https://minio.local:9000");
    expect(settings({ endpointurl: "minio.local:9000", use_ssl: "false" }).endpoint).toBe("http://minio.local:9000");
    expect(() => settings({ endpointurl: "ftp://x" })).toThrow(/http/);
    expect(() => settings({ endpointurl: "http://u:pw@host" })).toThrow(/credentials/);
    expect(() => settings({ use_ssl: "maybe" })).toThrow(/'use_ssl' must be true or false/);
  });

  it("static credentials need both keys; the session token is optional", () => {
    expect(settings({ access_key_id: "AK", secret_access_key: "SK" }).credentials).toEqual({
      accessKeyId: "AK",
      secretAccessKey: "SK",
    });
    expect(
      settings({ access_key_id: "AK", secret_access_key: "SK", session_token: "TOKEN" }).credentials,
    ).toMatchObject({ sessionToken: "TOKEN" });
    expect(() => settings({ access_key_id: "AK" })).toThrow(/both 'access_key_id' and 'secret_access_key'/);
    expect(() => settings({ secret_access_key: "SK" })).toThrow(ConfigError);
  });

  it("profile, credentialpath, configpath, region and allow_anonymous_login are passed on", () => {
    const s = settings({
      profile: "dev",
      credentialpath: "/etc/aws/creds",
      configpath: "/etc/aws/config",
      region: "eu-west-3",
      allow_anonymous_login: "true",
    });
    expect(s).toMatchObject({
      profile: "dev",
      credentialsFile: "/etc/aws/creds",
      configFile: "/etc/aws/config",
      region: "eu-west-3",
      anonymous: true,
    });
  });

  it("ssl_verify: true, false or a CA bundle path", () => {
    expect(settings({ ssl_verify: "false" }).sslVerify).toBe(false);
    expect(settings({ ssl_verify: "true" }).sslVerify).toBe(true);
    expect(settings({ ssl_verify: "/etc/ssl/my-ca.pem" }).sslVerify).toBe("/etc/ssl/my-ca.pem");
  });

  it("sse, sse_kms_key_id, acl and grants become upload parameters", () => {
    expect(settings({ sse: "aes256" }).writeParams).toEqual({ ServerSideEncryption: "AES256" });
    expect(settings({ sse: "aws:kms", sse_kms_key_id: "key-1" }).writeParams).toEqual({
      ServerSideEncryption: "aws:kms",
      SSEKMSKeyId: "key-1",
    });
    expect(settings({ sse_kms_key_id: "key-1" }).writeParams.ServerSideEncryption).toBe("aws:kms");
    expect(settings({ acl: "bucket-owner-full-control" }).writeParams).toEqual({ ACL: "bucket-owner-full-control" });
    expect(settings({ grant_read: "uri=http://acs.amazonaws.com/groups/global/AllUsers" }).writeParams).toEqual({
      GrantRead: "uri=http://acs.amazonaws.com/groups/global/AllUsers",
    });
    expect(() => settings({ sse: "rot13" })).toThrow(/'sse' must be one of AES256, aws:kms/);
    expect(() => settings({ acl: "private", grant_read: "id=1" })).toThrow(/together/);
  });

  it("SSE-C: sse_customer_key (algorithm AES256 by default), a secret", () => {
    const s = settings({ sse_customer_key: "k".repeat(32) });
    expect(s.customerKey).toEqual({ SSECustomerAlgorithm: "AES256", SSECustomerKey: "k".repeat(32) });
    expect(s.secrets).toContain("k".repeat(32));
    expect(() => settings({ sse_customer_algorithm: "AES256" })).toThrow(/needs 'sse_customer_key'/);
  });

  it("read_timeout and connect_timeout are seconds", () => {
    const s = settings({ read_timeout: "5", connect_timeout: "2.5" });
    expect(s.readTimeoutMs).toBe(5000);
    expect(s.connectTimeoutMs).toBe(2500);
    expect(() => settings({ read_timeout: "soon" })).toThrow(/'read_timeout' must be a number of seconds/);
  });

  it("secrets are listed and redacted", () => {
    const s = settings({ access_key_id: "AK", secret_access_key: "s3cr3t-value", session_token: "tok-value" });
    expect(s.secrets).toEqual(["s3cr3t-value", "tok-value"]);
    expect(redact("a s3cr3t-value b tok-value", s.secrets)).toBe("a *** b ***");
    expect(adapter.secretOptions).toEqual(["secret_access_key", "session_token", "sse_customer_key"]);
  });
});

describe("the adapter descriptor", () => {
  it("serves s3:// and documents every DVC s3 key", () => {
    expect(adapter.schemes).toEqual(["s3"]);
    for (const key of [
      "endpointurl",
      "region",
      "profile",
      "credentialpath",
      "configpath",
      "access_key_id",
      "secret_access_key",
      "session_token",
      "use_ssl",
      "ssl_verify",
      "allow_anonymous_login",
      "sse",
      "sse_kms_key_id",
      "acl",
      "read_timeout",
      "connect_timeout",
    ])
      expect(adapter.options[key], key).toBeTypeOf("string");
  });

  it("create() does no I/O (a missing CA bundle is only read on the first call)", async () => {
    const remote = await adapter.create({
      name: "storage",
      url: "s3://my-bucket/x",
      options: { ssl_verify: join(tmpdir(), "does-not-exist.pem") },
    });
    expect(remote.displayUrl).toBe("s3://my-bucket/x");
    expect(remote.capabilities).toMatchObject({ writeFile: true, readFile: true, traverse: true });
    await remote.close?.();
  });

  it("importing the package does not load the AWS SDK; the first call does", () => {
    const dir = mkdtempSync(join(tmpdir(), "mlv-s3-hook-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const hook = join(dir, "hook.mjs");
    const register = join(dir, "register.mjs");
    writeFileSync(
      hook,
      `export async function resolve(s, c, next) { const r = await next(s, c); if (/@aws-sdk|@smithy/.test(r.url)) process.stdout.write("SDK " + r.url + "\\n"); return r; }\n`,
    );
    writeFileSync(register, `import { register } from "node:module"; register(${JSON.stringify(`file://${hook}`)});\n`);
    const run = (code: string) =>
      spawnSync(process.execPath, ["--import", register, "--input-type=module", "-e", code], {
        cwd: process.cwd(),
        encoding: "utf8",
        env: { ...process.env, AWS_ACCESS_KEY_ID: "x", AWS_SECRET_ACCESS_KEY: "y" },
      });
    const onlyImport = run(`await import("@mlv/remote-s3"); console.log("imported");`);
    expect(onlyImport.stdout).toContain("imported");
    expect(onlyImport.stdout).not.toContain("SDK ");
    const withCall = run(
      `const m = await import("@mlv/remote-s3"); const r = m.default.create({ name: "x", url: "s3://bucket-x", options: { endpointurl: "http://127.0.0.1:9", connect_timeout: "1" } }); await r.exists("k").catch(() => {}); await r.close(); console.log("called");`,
    );
    expect(withCall.stdout).toContain("called");
    expect(withCall.stdout).toContain("SDK ");
  });
});

describe("iniRegion", () => {
  const text = `[default]\nregion = us-west-2\n\n[profile dev]\n# a comment\nregion=eu-central-1\noutput = json\n[other]\nregion = ap-south-1\n`;
  it("reads the region of [default] and [profile NAME]", () => {
    expect(iniRegion(text, "default")).toBe("us-west-2");
    expect(iniRegion(text, "dev")).toBe("eu-central-1");
    expect(iniRegion(text, "other")).toBe("ap-south-1");
    expect(iniRegion(text, "missing")).toBeUndefined();
  });
});
