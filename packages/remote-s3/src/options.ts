/**
 * The remote's URL and DVC config section turned into S3 client settings. Pure: no SDK, no I/O.
 *
 * Keys are DVC's (spec §5.3, `dvc-s3`): `endpointurl`, `region`, `profile`, `credentialpath`,
 * `configpath`, `access_key_id`, `secret_access_key`, `session_token`, `use_ssl`, `ssl_verify`,
 * `allow_anonymous_login`, `sse`, `sse_kms_key_id`, `sse_customer_algorithm`, `sse_customer_key`,
 * `acl`, `grant_*`, `read_timeout`, `connect_timeout`.
 */
import { ConfigError, type RemoteConfig } from "@mlv/core";

/** What the adapter announces: every config key it understands, with a line of help. */
export const OPTIONS: Record<string, string> = {
  endpointurl: "URL of an S3-compatible service (MinIO, Ceph, moto...); default: AWS",
  region: "AWS region of the bucket; default: AWS_REGION, the profile's region, else us-east-1",
  profile: "profile of the shared AWS config/credentials files to use",
  credentialpath: "path of the shared credentials file (like AWS_SHARED_CREDENTIALS_FILE)",
  configpath: "path of the shared config file (like AWS_CONFIG_FILE)",
  access_key_id: "access key id (with secret_access_key); default: the AWS credential chain",
  secret_access_key: "secret access key",
  session_token: "session token of temporary credentials",
  use_ssl: "true (default) or false: the scheme of an endpointurl given without one",
  ssl_verify: "true (default), false (do not verify TLS certificates) or the path of a CA bundle",
  allow_anonymous_login: "true: send unsigned requests (public buckets)",
  sse: "server-side encryption of uploaded objects: AES256 or aws:kms",
  sse_kms_key_id: "KMS key id for sse = aws:kms",
  sse_customer_algorithm: "SSE-C algorithm (AES256), with sse_customer_key",
  sse_customer_key: "SSE-C key (32 bytes, raw or base64)",
  acl: "canned ACL of uploaded objects (private, public-read, bucket-owner-full-control...)",
  grant_read: "grantees of READ on uploaded objects (id=...,emailAddress=...,uri=...)",
  grant_read_acp: "grantees of READ_ACP on uploaded objects",
  grant_write_acp: "grantees of WRITE_ACP on uploaded objects",
  grant_full_control: "grantees of FULL_CONTROL on uploaded objects",
  read_timeout: "seconds a connection may stay idle while reading (default 60)",
  connect_timeout: "seconds to establish a connection (default 60)",
  cache_regions: "accepted for DVC compatibility (regions are followed automatically)",
  listobjects: "obsolete DVC key, ignored",
};

export const SECRET_OPTIONS = ["secret_access_key", "session_token", "sse_customer_key"];

export interface StaticCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** Parameters added to PutObject / CreateMultipartUpload. */
export interface WriteParams {
  ServerSideEncryption?: string;
  SSEKMSKeyId?: string;
  ACL?: string;
  GrantRead?: string;
  GrantReadACP?: string;
  GrantWriteACP?: string;
  GrantFullControl?: string;
}

/** SSE-C parameters: needed on every request that reads or writes object data. */
export interface CustomerKeyParams {
  SSECustomerAlgorithm: string;
  SSECustomerKey: string;
}

export interface S3Settings {
  /** The remote's name in the config (for hints naming `mlv remote modify NAME`). */
  name?: string;
  bucket: string;
  /** "" (keys at the bucket root) or a prefix ending with "/". */
  prefix: string;
  /** `s3://bucket/prefix`, never with credentials. */
  displayUrl: string;
  /** A full URL with scheme, when `endpointurl` is set. */
  endpoint?: string;
  /** `region` as configured. */
  region?: string;
  profile?: string;
  credentialsFile?: string;
  configFile?: string;
  credentials?: StaticCredentials;
  anonymous: boolean;
  /** true, false, or a CA bundle path. */
  sslVerify: boolean | string;
  connectTimeoutMs: number;
  readTimeoutMs: number;
  writeParams: WriteParams;
  customerKey?: CustomerKeyParams;
  /** Values that must never appear in a message. */
  secrets: string[];
}

const DEFAULT_TIMEOUT_S = 60;

/** Bucket names as S3 and the common S3-compatible servers accept them (3-63 characters; `_` and capitals for old buckets). */
const BUCKET = /^[A-Za-z0-9][A-Za-z0-9._-]{1,253}[A-Za-z0-9]$/;

/** `s3://bucket/some/prefix/` → bucket and `some/prefix/`. */
export function parseS3Url(name: string, url: string): { bucket: string; prefix: string; displayUrl: string } {
  const m = /^s3:\/\/([^/?#]*)(\/[^?#]*)?$/i.exec(url.trim());
  const bad = (why: string, hint?: string) =>
    new ConfigError(
      `remote '${name}': ${why}: the URL must look like s3://BUCKET or s3://BUCKET/PREFIX`,
      { remote: name },
      hint,
    );
  if (!m) throw bad(`'${safeUrl(url)}' is not an s3:// URL`);
  const bucket = m[1] ?? "";
  if (bucket.includes("@") || bucket.includes(":"))
    throw bad(
      "credentials or ports do not belong in the URL (set them in 'access_key_id', 'secret_access_key' and 'endpointurl')",
      `Set them with 'mlv remote modify --local ${name} access_key_id ...' (and secret_access_key, endpointurl).`,
    );
  if (!BUCKET.test(bucket)) throw bad(`'${bucket}' is not a valid bucket name`);
  const parts = (m[2] ?? "").split("/").filter((p) => p !== "");
  if (parts.some((p) => p === "." || p === "..")) throw bad(`the prefix of '${safeUrl(url)}' has '.' or '..' parts`);
  const prefix = parts.length ? `${parts.join("/")}/` : "";
  return { bucket, prefix, displayUrl: `s3://${bucket}${prefix ? `/${prefix.slice(0, -1)}` : ""}` };
}

/** The URL with anything before an `@` in its authority removed, for messages. */
function safeUrl(url: string): string {
  return url.replace(/^([a-z0-9+.-]+:\/\/)[^/@]*@/i, "$1***@");
}

export function parseBool(name: string, key: string, value: string | undefined, fallback: boolean): boolean {
  if (value === undefined || value === "") return fallback;
  const v = value.trim().toLowerCase();
  if (["true", "yes", "1", "on"].includes(v)) return true;
  if (["false", "no", "0", "off"].includes(v)) return false;
  throw new ConfigError(`remote '${name}': '${key}' must be true or false, got '${value}'`, { remote: name, key });
}

function parseSeconds(name: string, key: string, value: string | undefined): number {
  if (value === undefined || value.trim() === "") return DEFAULT_TIMEOUT_S * 1000;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0)
    throw new ConfigError(`remote '${name}': '${key}' must be a number of seconds, got '${value}'`, {
      remote: name,
      key,
    });
  return Math.round(n * 1000);
}

/** Read every setting from the remote's config; throws ConfigError naming the remote and the key. */
export function resolveSettings(config: RemoteConfig): S3Settings {
  const { name } = config;
  const opt = (key: string): string | undefined => {
    const v = config.options[key];
    return v === undefined || v.trim() === "" ? undefined : v.trim();
  };
  const { bucket, prefix, displayUrl } = parseS3Url(name, config.url);
  const secrets: string[] = [];

  const useSsl = parseBool(name, "use_ssl", opt("use_ssl"), true);
  let endpoint = opt("endpointurl");
  if (endpoint !== undefined) {
    if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint)) endpoint = `${useSsl ? "https" : "http"}://${endpoint}`;
    let parsed: URL;
    try {
      parsed = new URL(endpoint);
    } catch {
      throw new ConfigError(`remote '${name}': 'endpointurl' is not a URL: '${safeUrl(endpoint)}'`, {
        remote: name,
      });
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:")
      throw new ConfigError(`remote '${name}': 'endpointurl' must be an http:// or https:// URL`, { remote: name });
    if (parsed.username || parsed.password)
      throw new ConfigError(
        `remote '${name}': 'endpointurl' must not carry credentials: set access_key_id and secret_access_key instead`,
        { remote: name },
      );
    endpoint = endpoint.replace(/\/+$/, "");
  }

  const accessKeyId = opt("access_key_id");
  const secretAccessKey = opt("secret_access_key");
  const sessionToken = opt("session_token");
  if (secretAccessKey) secrets.push(secretAccessKey);
  if (sessionToken) secrets.push(sessionToken);
  let credentials: StaticCredentials | undefined;
  if (accessKeyId !== undefined || secretAccessKey !== undefined) {
    if (accessKeyId === undefined || secretAccessKey === undefined)
      throw new ConfigError(
        `remote '${name}': set both 'access_key_id' and 'secret_access_key' (only ${accessKeyId === undefined ? "secret_access_key" : "access_key_id"} is set)`,
        { remote: name },
      );
    credentials = { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
  }

  let sslVerify: boolean | string = true;
  const sv = opt("ssl_verify");
  if (sv !== undefined) {
    const low = sv.toLowerCase();
    if (["true", "yes", "1", "on"].includes(low)) sslVerify = true;
    else if (["false", "no", "0", "off"].includes(low)) sslVerify = false;
    else sslVerify = sv;
  }

  const writeParams: WriteParams = {};
  const sse = opt("sse");
  if (sse !== undefined) {
    const known = ["AES256", "aws:kms", "aws:kms:dsse"];
    const match = known.find((k) => k.toLowerCase() === sse.toLowerCase());
    if (!match)
      throw new ConfigError(`remote '${name}': 'sse' must be one of ${known.join(", ")}, got '${sse}'`, {
        remote: name,
      });
    writeParams.ServerSideEncryption = match;
  }
  const kms = opt("sse_kms_key_id");
  if (kms !== undefined) {
    writeParams.SSEKMSKeyId = kms;
    writeParams.ServerSideEncryption ??= "aws:kms";
  }
  const acl = opt("acl");
  if (acl !== undefined) writeParams.ACL = acl;
  const grants: [string, keyof WriteParams][] = [
    ["grant_read", "GrantRead"],
    ["grant_read_acp", "GrantReadACP"],
    ["grant_write_acp", "GrantWriteACP"],
    ["grant_full_control", "GrantFullControl"],
  ];
  for (const [key, param] of grants) {
    const v = opt(key);
    if (v !== undefined) writeParams[param] = v;
  }
  if (acl !== undefined && grants.some(([key]) => opt(key) !== undefined))
    throw new ConfigError(`remote '${name}': 'acl' and 'grant_*' cannot be used together`, { remote: name });

  let customerKey: CustomerKeyParams | undefined;
  const sseKey = opt("sse_customer_key");
  if (sseKey !== undefined) {
    secrets.push(sseKey);
    customerKey = { SSECustomerAlgorithm: opt("sse_customer_algorithm") ?? "AES256", SSECustomerKey: sseKey };
  } else if (opt("sse_customer_algorithm") !== undefined) {
    throw new ConfigError(`remote '${name}': 'sse_customer_algorithm' needs 'sse_customer_key'`, { remote: name });
  }

  return {
    name,
    bucket,
    prefix,
    displayUrl,
    ...(endpoint !== undefined ? { endpoint } : {}),
    ...(opt("region") !== undefined ? { region: opt("region") } : {}),
    ...(opt("profile") !== undefined ? { profile: opt("profile") } : {}),
    ...(opt("credentialpath") !== undefined ? { credentialsFile: opt("credentialpath") } : {}),
    ...(opt("configpath") !== undefined ? { configFile: opt("configpath") } : {}),
    ...(credentials ? { credentials } : {}),
    anonymous: parseBool(name, "allow_anonymous_login", opt("allow_anonymous_login"), false),
    sslVerify,
    connectTimeoutMs: parseSeconds(name, "connect_timeout", opt("connect_timeout")),
    readTimeoutMs: parseSeconds(name, "read_timeout", opt("read_timeout")),
    writeParams,
    ...(customerKey ? { customerKey } : {}),
    secrets,
  };
}

/** Replace every secret value in `text` with `***`. */
export function redact(text: string, secrets: string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join("***");
  return out;
}

/**
 * The region of `profile` in an AWS shared config file's text (`[default]` or `[profile NAME]`;
 * a credentials file uses `[NAME]`).
 */
export function iniRegion(text: string, profile: string, credentialsFile = false): string | undefined {
  const wanted = credentialsFile || profile === "default" ? [profile] : [`profile ${profile}`, profile];
  let inSection = false;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/[#;].*$/, "").trim();
    if (line === "") continue;
    const section = /^\[\s*(.+?)\s*\]$/.exec(line);
    if (section) {
      inSection = wanted.includes((section[1] ?? "").replace(/\s+/g, " "));
      continue;
    }
    if (!inSection) continue;
    const kv = /^([A-Za-z0-9_]+)\s*=\s*(.*)$/.exec(line);
    if (kv && kv[1]?.toLowerCase() === "region" && kv[2]) return kv[2].trim();
  }
  return undefined;
}
