/**
 * HTTP statuses and undici's errors turned into @mlv/core's errors. Every message names the
 * remote's URL and says which option to set; none shows a password or a header value.
 */
import {
  isNetworkErrorCode,
  MlvError,
  ObjectNotFoundError,
  PermissionDeniedError,
  RemoteError,
  RemoteUnreachableError,
  ThrottledError,
  TLS_ERROR_PATTERN,
} from "@mlv/core";
import type { HttpSettings } from "./settings.js";

/** What a request was doing, for messages: "read 'files/md5/ab/cd…'". */
export interface Doing {
  /** read, check, upload, delete, stat. */
  op: "read" | "check" | "upload" | "delete" | "stat";
  key: string;
}

/** The errno-like code of an error or of what it wraps (a dual-stack connect's AggregateError, causes). */
function codeOf(err: unknown, depth = 0): string | undefined {
  const e = err as { code?: unknown; errors?: unknown; cause?: unknown } | undefined;
  if (!e || typeof e !== "object") return undefined;
  if (typeof e.code === "string") return e.code;
  if (depth > 3) return undefined;
  for (const inner of [...(Array.isArray(e.errors) ? e.errors : []), e.cause]) {
    const c = codeOf(inner, depth + 1);
    if (c) return c;
  }
  return undefined;
}

function what(doing: Doing): string {
  return `${doing.op} '${doing.key}'`;
}

/**
 * Why a request was refused, by the authentication configured, and the commands that set it
 * (the hint). Never the password itself.
 */
function refusal(s: HttpSettings, challenge: string | undefined): { why: string; hint: string } {
  const n = s.name;
  const setAll = `Set them with 'mlv remote modify ${n} auth basic', 'mlv remote modify ${n} user NAME' and 'mlv remote modify --local ${n} password ...'.`;
  if (challenge !== undefined && /^\s*digest\b/i.test(challenge) && s.auth !== "basic" && s.auth !== "custom")
    return {
      why: "the server asks for digest authentication, which mlv does not support: ask for basic authentication or a token (auth custom), then set 'auth', 'user' and 'password'",
      hint: setAll,
    };
  switch (s.auth) {
    case "basic":
      return {
        why: `the server did not accept user '${s.user ?? ""}' and the password configured: check 'user' and 'password'`,
        hint: `Set them with 'mlv remote modify ${n} user NAME' and 'mlv remote modify --local ${n} password ...'.`,
      };
    case "custom":
      return {
        why: `the server did not accept the ${s.customAuthHeader ?? "custom"} header: check 'custom_auth_header' and 'password'`,
        hint: `Set the header's value with 'mlv remote modify --local ${n} password ...'.`,
      };
    default:
      return s.password !== undefined || s.user !== undefined
        ? {
            why: "'auth' is not set, so 'user' and 'password' are not sent: set 'auth' to basic (or to custom, with 'custom_auth_header')",
            hint: `Set it with 'mlv remote modify ${n} auth basic'.`,
          }
        : {
            why: "it needs credentials: set 'auth', 'user' and 'password' (or 'auth custom' with 'custom_auth_header' for a token header)",
            hint: setAll,
          };
  }
}

/**
 * The error for an HTTP status that is not a success, a missing object (the caller turns 404
 * into ObjectNotFoundError or `false`) or a redirect.
 */
export function statusError(
  s: HttpSettings,
  doing: Doing,
  status: number,
  headers: Record<string, string | string[] | undefined>,
): RemoteError {
  const remote = s.displayUrl;
  const first = (name: string) => {
    const v = headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const data = { remote, key: doing.key, status };
  const writing = doing.op === "upload" || doing.op === "delete";
  if (status === 401 || status === 403) {
    const { why, hint } = refusal(s, first("www-authenticate"));
    return new PermissionDeniedError(remote, `${what(doing)} was refused (HTTP ${status}): ${why}`, undefined, hint);
  }
  if (status === 407)
    return new PermissionDeniedError(
      remote,
      `${what(doing)} was refused by the proxy (HTTP 407): put the proxy's credentials in HTTPS_PROXY/HTTP_PROXY (http://user:password@proxy:port), or exclude the host with NO_PROXY`,
    );
  const methodHint = `Set it with 'mlv remote modify ${s.name} method put'.`;
  if (writing && (status === 405 || status === 501)) {
    const allow = first("allow") ?? "";
    const verb = doing.op === "upload" ? (typeof s.method === "string" ? s.method : "POST") : "DELETE";
    const tryPut = doing.op === "upload" && verb === "POST";
    const putAdvice = tryPut
      ? /\bPUT\b/i.test(allow)
        ? `; it accepts PUT (Allow: ${allow}): set 'method' to put`
        : "; if it takes uploads by PUT (a WebDAV server: nginx, Apache), set 'method' to put"
      : "";
    return new RemoteError(
      "EREADONLY",
      `remote ${remote}: the server does not accept ${doing.op === "upload" ? `uploads by ${verb}` : "deletes"} (HTTP ${status}): this remote is read-only${putAdvice}`,
      { data: { ...data, method: verb }, ...(tryPut ? { hint: methodHint } : {}) },
    );
  }
  if (doing.op === "upload" && (status === 404 || status === 410)) {
    // A URL that cannot be uploaded to: as read-only as a 405 for push, which stops at the first one.
    const verb = typeof s.method === "string" ? s.method : "POST";
    return new RemoteError(
      "EREADONLY",
      `cannot ${what(doing)} on remote ${remote}: the server answered HTTP ${status} to ${verb}: it takes no uploads by ${verb} at this URL${
        verb === "POST" ? "; if it takes them by PUT (a WebDAV server: nginx, Apache), set 'method' to put" : ""
      }; otherwise check the URL, or use another remote to push to`,
      { data: { ...data, method: verb }, ...(verb === "POST" ? { hint: methodHint } : {}) },
    );
  }
  if (doing.op === "upload" && status === 409)
    return new RemoteError(
      "EREMOTEIO",
      `cannot ${what(doing)} on remote ${remote}: the server refused it (HTTP 409 Conflict): its folder does not exist there and the server does not create folders (nginx WebDAV: 'create_full_put_path on')`,
      { data },
    );
  if (doing.op === "upload" && status === 413)
    return new RemoteError(
      "EREMOTEIO",
      `cannot ${what(doing)} on remote ${remote}: the object is larger than the server accepts (HTTP 413): raise its upload limit (nginx: client_max_body_size)`,
      { data },
    );
  if (status === 429 || status === 503)
    return new ThrottledError(remote, `${what(doing)}: HTTP ${status}${retryAfter(first("retry-after"))}`);
  const transient = status >= 500 || status === 408;
  return new RemoteError("EREMOTEIO", `cannot ${what(doing)} on remote ${remote}: the server answered HTTP ${status}`, {
    data,
    transient,
  });
}

function retryAfter(v: string | undefined): string {
  return v === undefined ? "" : ` (Retry-After: ${v})`;
}

export function notFound(s: HttpSettings, key: string, cause?: unknown): ObjectNotFoundError {
  return new ObjectNotFoundError(s.displayUrl, key, cause);
}

/** A thrown error (network, TLS, timeout, or an MlvError already) as an MlvError. */
export function translate(err: unknown, s: HttpSettings, doing: Doing): Error {
  if (err instanceof MlvError) return err;
  const code = codeOf(err) ?? "";
  const message = String((err as Error | undefined)?.message ?? err)
    .replace(/\s+/g, " ")
    .trim();
  const remote = s.displayUrl;
  const host = s.origin.replace(/^[a-z]+:\/\//, "");
  const data = { remote, key: doing.key, code };
  if (TLS_ERROR_PATTERN.test(code)) {
    let why: string;
    if (code === "ERR_TLS_CERT_ALTNAME_INVALID") why = `its certificate is for another host name than ${host}`;
    else if (code === "CERT_HAS_EXPIRED") why = "its certificate has expired";
    else if (/SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|CERT_UNTRUSTED|CERT_SIGNATURE/.test(code))
      why =
        typeof s.sslVerify === "string"
          ? `its certificate is not signed by the CA bundle in 'ssl_verify' (${s.sslVerify})`
          : "its certificate is not signed by a trusted authority";
    else why = "the TLS handshake failed";
    const fix =
      typeof s.sslVerify === "string"
        ? `give 'ssl_verify' the CA bundle that signed the server's certificate`
        : `give 'ssl_verify' the path of the CA bundle that signed it, or set 'ssl_verify false' for a test server`;
    return new RemoteError(
      "ETLS",
      `remote ${remote}: cannot ${what(doing)}: the TLS connection to ${host} failed: ${why} (${code}: ${message}): ${fix}`,
      { cause: err, data, hint: `Set it with 'mlv remote modify ${s.name} ssl_verify /path/to/ca.pem'.` },
    );
  }
  if (code === "UND_ERR_CONNECT_TIMEOUT")
    return new RemoteUnreachableError(
      remote,
      `${what(doing)}: no connection to ${host} within connect_timeout (${s.connectTimeoutMs / 1000} s): check the URL, the server and your network`,
      err,
    );
  if (code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT")
    return new RemoteUnreachableError(
      remote,
      `${what(doing)}: ${host} sent nothing for read_timeout (${s.readTimeoutMs / 1000} s): the server is stalled or the network is slow (or raise 'read_timeout')`,
      err,
      `Raise it with 'mlv remote modify ${s.name} read_timeout SECONDS'.`,
    );
  if (code === "UND_ERR_RES_CONTENT_LENGTH_MISMATCH")
    return new RemoteError(
      "ETRUNCATED",
      `'${doing.key}' from remote ${remote} ended before its announced length (${message})`,
      { cause: err, data, transient: true },
    );
  if (isNetworkErrorCode(code))
    return new RemoteUnreachableError(
      remote,
      `${what(doing)} failed: ${code} talking to ${host}: check the URL, that the server runs, and your network and proxy settings (HTTP_PROXY, HTTPS_PROXY, NO_PROXY) (${message})`,
      err,
    );
  return new RemoteError(
    "EREMOTEIO",
    `cannot ${what(doing)} on remote ${remote}: ${code ? `${code}: ` : ""}${message}`,
    {
      cause: err,
      data,
    },
  );
}
