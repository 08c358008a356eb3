/** Types of sshd.mjs: a real OpenSSH sshd on 127.0.0.1 for tests and benchmarks. */

/** The system user the server logs in (when started as root). */
export declare const TEST_USER: string;

/** sshd cannot run on this machine; the message says why. */
export declare class SshdUnavailableError extends Error {}

export interface SshdServer {
  host: "127.0.0.1";
  port: number;
  /** The user to log in as (the test user as root, else the current user). */
  user: string;
  /** The sshd process id. */
  pid: number;
  /** Whether the SFTP user is chrooted (root mode). */
  chroot: boolean;
  /** The served folder as SFTP clients see it (`/data` in the chroot). */
  remoteRoot: string;
  /** The same folder on the local disk. */
  dataDir: string;
  /** A private key (ed25519, no passphrase) the server accepts, and its public key line. */
  clientKey: string;
  clientPublicKey: string;
  /** The server's public host key (`ssh-ed25519 AAAA... comment`). */
  hostPublicKey: string;
  /** `[127.0.0.1]:PORT ssh-ed25519 AAAA...`: the known_hosts line for this server. */
  knownHostsLine: string;
  /** `remoteRoot/sub` */
  remotePath(sub?: string): string;
  /** `dataDir/sub` */
  localPath(sub?: string): string;
  /** `ssh://user@127.0.0.1:PORT/remoteRoot/sub` */
  url(sub?: string, scheme?: "ssh" | "sftp"): string;
  /** What sshd printed on stderr so far. */
  logs(): string;
  /** Write `home/.ssh/known_hosts` (this server's key unless `knownHosts` is given) and optionally `home/.ssh/config`. */
  makeHome(home: string, extra?: { knownHosts?: string; config?: string }): string;
  /** Stop this sshd (only it) and remove the folders made for it. */
  stop(): Promise<void>;
}

export declare function findSshd(): string | undefined;
export declare function freePort(): Promise<number>;
/** Generate an ed25519 key pair at `path` (and `path.pub`); returns the public key line. */
export declare function generateKey(path: string, comment?: string, passphrase?: string): string;
export declare function startSshd(options?: { timeoutMs?: number }): Promise<SshdServer>;
