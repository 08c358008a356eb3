/** Types of nginx.mjs: a real nginx on 127.0.0.1 for tests and benchmarks. */

/** The user and password of the `auth` tree. */
export declare const USER: string;
export declare const PASSWORD: string;
/** The header and value the `token` tree wants. */
export declare const TOKEN_HEADER: string;
export declare const TOKEN: string;
/** The trees every server serves (see nginx.mjs). */
export declare const TREES: readonly Tree[];

export type Tree = "ro" | "rw" | "auth" | "token" | "norange" | "noetag" | "moved";

/** nginx cannot run on this machine; the message says why. */
export declare class NginxUnavailableError extends Error {}

export interface NginxServer {
  host: "127.0.0.1";
  /** The plain HTTP port. */
  port: number;
  /** The HTTPS port (same trees). */
  tlsPort: number;
  /** The nginx master process id. */
  pid: number;
  /** nginx's prefix folder (configuration, logs, temporary files, served files). */
  dir: string;
  /** The folder whose subfolders are the trees. */
  root: string;
  /** The server's self-signed certificate: the CA bundle that makes it trusted. */
  caFile: string;
  /** Basic authentication of the `auth` tree. */
  user: string;
  password: string;
  /** The custom header of the `token` tree. */
  tokenHeader: string;
  token: string;
  /** `http://127.0.0.1:PORT/tree/sub` (`https://…:TLSPORT` with tls; `user:password@` with credentials). */
  url(tree: Tree, sub?: string, opts?: { tls?: boolean; credentials?: { user: string; password: string } }): string;
  /** The folder behind `url(tree, sub)` on the local disk (`norange`, `noetag` and `moved` show `rw`). */
  localPath(tree: Tree, sub?: string): string;
  /** One line per request: `METHOD URI STATUS BYTES "RANGE" "USER" SCHEME`. */
  accessLog(): string;
  /** nginx's error log and what it printed. */
  errorLog(): string;
  /** Stop this nginx (only it) and remove its folder. */
  stop(): Promise<void>;
}

export declare function findNginx(): string | undefined;
export declare function freePort(): Promise<number>;
export declare function startNginx(options?: { timeoutMs?: number }): Promise<NginxServer>;
