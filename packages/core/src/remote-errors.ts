/** What adapters need to class a failed request alike: the network's error codes and the TLS ones. */
import { MlvError, RemoteError } from "./errors.js";

/**
 * The error codes (Node's system errors, undici's and the Azure SDK's) of a connection that failed,
 * dropped or timed out: the remote cannot be reached, and trying again later may work.
 */
export const NETWORK_ERROR_CODES: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "ESOCKETTIMEDOUT",
  "EPIPE",
  "ECONNABORTED",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ENETDOWN",
  "EADDRNOTAVAIL",
  "ERR_STREAM_PREMATURE_CLOSE",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
  "UND_ERR_DESTROYED",
  "UND_ERR_CONNECT_TIMEOUT",
  "REQUEST_SEND_ERROR",
]);

/** Whether `code` is one of NETWORK_ERROR_CODES. */
export function isNetworkErrorCode(code: string | undefined): boolean {
  return code !== undefined && NETWORK_ERROR_CODES.has(code);
}

/** The error codes of a TLS connection that failed: an untrusted or expired certificate, a failed handshake. */
export const TLS_ERROR_PATTERN = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ERR_TLS|EPROTO|SSL/;

/** Whether trying the same call again later may succeed: a throttled, timed-out or dropped request. */
export function isTransient(err: unknown): boolean {
  if (err instanceof RemoteError) return err.transient;
  if (err instanceof MlvError) return false;
  return isNetworkErrorCode((err as NodeJS.ErrnoException | undefined)?.code);
}
