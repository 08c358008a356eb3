/** URL and option parsing, credential precedence, redaction, lazy loading: no server needed. */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { ConfigError } from "@mlv/core";
import adapter, {
  credentialChain,
  parseAzureUrl,
  parseConnectionString,
  redact,
  resolveSettings,
} from "@mlv/remote-azure";
import { describe, expect, it } from "vitest";

const DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
const CS = `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${DEV_KEY};BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;`;

const settings = (options: Record<string, string>, url = "azure://box/data", env: NodeJS.ProcessEnv = {}) =>
  resolveSettings({ name: "storage", url, options }, env);

describe("azure:// URLs", () => {
  it("split into container and prefix", () => {
    expect(parseAzureUrl("azure://box")).toEqual({ container: "box", prefix: "" });
    expect(parseAzureUrl("azure://box/")).toEqual({ container: "box", prefix: "" });
    expect(parseAzureUrl("azure://box/a/b/")).toEqual({ container: "box", prefix: "a/b" });
    expect(parseAzureUrl("azure://box@acct.blob.core.windows.net/p")).toEqual({
      container: "box",
      prefix: "p",
      account: "acct",
    });
  });

  it("without a container are a ConfigError naming the remote", () => {
    expect(() => settings({ account_name: "a" }, "azure:///x")).toThrow(ConfigError);
    expect(() => settings({ account_name: "a" }, "azure:///x")).toThrow(/remote 'storage'.*no container/);
    expect(() => settings({ account_name: "a" }, "s3://box")).toThrow(/azure:\/\/container\/prefix/);
  });

  it("displayUrl is the URL, without credentials", async () => {
    const remote = await adapter.create({ name: "s", url: "azure://box/data/", options: { connection_string: CS } });
    expect(remote.displayUrl).toBe("azure://box/data");
    expect(remote.displayUrl).not.toContain(DEV_KEY);
  });
});

describe("credentials", () => {
  it("follow DVC's precedence: connection_string > account_key > sas_token > client secret > anonymous > default", () => {
    const all = {
      account_name: "acct",
      connection_string: CS,
      account_key: "a2V5a2V5",
      sas_token: "sv=1&sig=abc",
      tenant_id: "t",
      client_id: "c",
      client_secret: "s3cr3t",
      allow_anonymous_login: "true",
    };
    expect(settings(all).auth.kind).toBe("connection_string");
    const { connection_string: _1, ...noCs } = all;
    expect(settings(noCs).auth).toEqual({ kind: "account_key", accountKey: "a2V5a2V5" });
    const { account_key: _2, ...noKey } = noCs;
    expect(settings(noKey).auth).toEqual({ kind: "sas_token", sasToken: "sv=1&sig=abc" });
    const { sas_token: _3, ...noSas } = noKey;
    expect(settings(noSas).auth).toEqual({
      kind: "client_secret",
      tenantId: "t",
      clientId: "c",
      clientSecret: "s3cr3t",
    });
    expect(settings({ account_name: "acct", allow_anonymous_login: "true" }).auth).toEqual({ kind: "anonymous" });
    expect(settings({ account_name: "acct" }).auth).toEqual({ kind: "default", exclude: [] });
    expect(settings({ account_name: "acct", client_id: "mi", tenant_id: "t" }).auth).toEqual({
      kind: "default",
      clientId: "mi",
      tenantId: "t",
      exclude: [],
    });
  });

  it("take the account from account_name, the URL or the connection string, and build the endpoint", () => {
    const s = settings({ account_name: "acct", account_key: "a2V5" });
    expect(s.accountName).toBe("acct");
    expect(s.endpoint).toBe("https://acct.blob.core.windows.net");
    expect(settings({}, "azure://box@other/p", {}).accountName).toBe("other");
    const fromCs = settings({ connection_string: CS });
    expect(fromCs.accountName).toBe("devstoreaccount1");
    expect(fromCs.endpoint).toBe("http://127.0.0.1:10000/devstoreaccount1");
    expect(
      settings({
        connection_string:
          "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=a2V5;EndpointSuffix=core.chinacloudapi.cn",
      }).endpoint,
    ).toBe("https://x.blob.core.chinacloudapi.cn");
  });

  it("strip a leading '?' from sas_token", () => {
    expect(settings({ account_name: "a", sas_token: "?sv=1&sig=x" }).auth).toEqual({
      kind: "sas_token",
      sasToken: "sv=1&sig=x",
    });
  });

  it("without account_name or connection_string are a ConfigError saying what to set", () => {
    expect(() => settings({ account_key: "a2V5" })).toThrow(ConfigError);
    expect(() => settings({})).toThrow(/set 'account_name'/);
    // The command to type is the hint, not the message.
    expect(() => settings({})).not.toThrow(/mlv remote modify/);
    const err = (() => {
      try {
        settings({});
      } catch (e) {
        return e as ConfigError;
      }
    })();
    expect(err?.hint).toMatch(/mlv remote modify storage account_name NAME/);
  });

  it("need tenant_id and client_id with client_secret", () => {
    expect(() => settings({ account_name: "a", client_secret: "zzzz", client_id: "c" })).toThrow(/'tenant_id' is not/);
    try {
      settings({ account_name: "a", client_secret: "zzzz-secret" });
    } catch (err) {
      expect((err as Error).message).not.toContain("zzzz-secret");
    }
  });

  it("fall back to AZURE_STORAGE_* variables for options the config does not set", () => {
    const env = {
      AZURE_STORAGE_ACCOUNT: "envacct",
      AZURE_STORAGE_KEY: "ZW52a2V5",
    };
    const s = settings({}, "azure://box", env);
    expect(s.accountName).toBe("envacct");
    expect(s.auth).toEqual({ kind: "account_key", accountKey: "ZW52a2V5" });
    expect(settings({ account_name: "cfg" }, "azure://box", env).accountName).toBe("cfg");
    expect(settings({}, "azure://box", { AZURE_STORAGE_CONNECTION_STRING: CS }).auth.kind).toBe("connection_string");
  });

  it("exclude_*_credential leaves credentials out of the default chain; unknown names are refused", () => {
    const s = settings({ account_name: "a", exclude_cli_credential: "true", exclude_environment_credential: "false" });
    expect(s.auth).toEqual({ kind: "default", exclude: ["cli"] });
    expect(credentialChain(["cli", "managed_identity"])).toEqual([
      "environment",
      "workload_identity",
      "visual_studio_code",
      "powershell",
      "developer_cli",
    ]);
    expect(() => settings({ account_name: "a", exclude_bogus_credential: "true" })).toThrow(/exclude_cli_credential/);
  });

  it("timeout is whole seconds (the server-side timeout of each try)", () => {
    expect(settings({ account_name: "a", timeout: "30" }).tryTimeoutMs).toBe(30_000);
    expect(settings({ account_name: "a" }).tryTimeoutMs).toBeUndefined();
    expect(() => settings({ account_name: "a", timeout: "soon" })).toThrow(/'timeout' must be a whole number/);
    expect(() => settings({ account_name: "a", read_timeout: "-1" })).toThrow(/'read_timeout'/);
    expect(settings({ account_name: "a", read_timeout: "60", connection_timeout: "20" }).accountName).toBe("a");
  });

  it("secrets are collected for redaction, the key inside a connection string included", () => {
    const s = settings({ connection_string: CS, client_secret: "s3cr3t-value" });
    expect(s.secrets).toContain(CS);
    expect(s.secrets).toContain(DEV_KEY);
    expect(adapter.secretOptions).toEqual(["connection_string", "account_key", "sas_token", "client_secret"]);
  });
});

describe("redact", () => {
  it("removes secrets, their URL-encoded forms, account keys and SAS signatures", () => {
    expect(redact(`x ${DEV_KEY} y`, [DEV_KEY])).toBe("x *** y");
    expect(redact(`x ${encodeURIComponent(DEV_KEY)} y`, [DEV_KEY])).toBe("x *** y");
    expect(redact("AccountName=a;AccountKey=abc/def==;X=1", [])).toBe("AccountName=a;AccountKey=***;X=1");
    expect(redact("GET https://a.blob.core.windows.net/c/b?sv=1&sig=AbC%2Bd&se=2", [])).toBe(
      "GET https://a.blob.core.windows.net/c/b?sv=1&sig=***&se=2",
    );
    expect(parseConnectionString("A=1;B=x=y;")).toEqual({ A: "1", B: "x=y" });
  });
});

describe("loading", () => {
  it("importing the package and create() do not load the Azure SDK", () => {
    // A resolve hook that refuses any @azure/* module: importing and creating must still work,
    // and the first call must then be the one that tries to load the SDK.
    const hook = `export async function resolve(s, c, next) { const r = await next(s, c); if (r.url.includes("/node_modules/@azure/")) throw new Error("SDK-LOADED " + s); return r; }`;
    const script = `
      import { register } from "node:module";
      register("data:text/javascript,${encodeURIComponent(hook)}");
      const { default: adapter } = await import("@mlv/remote-azure");
      const remote = await adapter.create({ name: "s", url: "azure://box/p", options: { account_name: "acct", account_key: "a2V5" } });
      console.log("created", remote.displayUrl);
      try { await remote.exists("k"); console.log("no error"); } catch (e) { console.log("first call:", e.message); }
    `;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
      cwd: fileURLToPath(new URL("..", import.meta.url)),
      encoding: "utf8",
    });
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain("created azure://box/p");
    expect(r.stdout).toMatch(/first call:.*SDK-LOADED @azure\/storage-blob/);
  });
});
