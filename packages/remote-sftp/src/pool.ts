/**
 * One SSH connection per remote, opened on first use, carrying up to `max_sessions` SFTP sessions
 * (channels; OpenSSH's MaxSessions is 10 by default). Each operation leases a session; a few
 * operations may share one (SFTP pipelines requests), and callers beyond that wait in line, so
 * any number of concurrent calls from core is served by a bounded number of sessions.
 *
 * A dropped connection is opened again by the next lease; a refused one (authentication, host
 * key, configuration) is remembered, so that thousands of queued transfers fail at once instead
 * of each trying to log in again.
 */
import { RemoteError, RemoteUnreachableError } from "@mlv/core";
import type { Client, SFTPWrapper } from "ssh2";
import { connect } from "./connect.js";
import { OPS_PER_SESSION, type SftpSettings } from "./settings.js";
import { resolveTarget, type Target } from "./target.js";

/** ssh2's messages for a channel the server would not open (e.g. beyond its MaxSessions). */
const REFUSED_CHANNEL = /channel open|open failed|administratively/i;

/** A lost connection is transient: trying again is the advice. */
export const RECONNECT_HINT =
  "Run the command again once the server can be reached: what was already transferred is not sent again.";

export interface Session {
  sftp: SFTPWrapper;
  /** Operations using it now. */
  active: number;
  dead: boolean;
  /** Bytes per read/write request the server accepts (OpenSSH's limits@openssh.com), at most 256 KiB. */
  chunk: number;
  /** The server supports posix-rename@openssh.com (atomic replace). */
  posixRename: boolean;
  /**
   * `request`, or a rejection as soon as the session or its connection closes: ssh2 never calls
   * back the requests in flight on a dropped connection (fastGet, writes, reads), so operations
   * wait through this instead of hanging (see LossSignal).
   */
  orLost<T>(request: Promise<T>): Promise<T>;
  /** Call `listener` if the session is lost before the returned function is called. */
  onLost(listener: (err: Error) => void): () => void;
  markLost(): void;
}

/**
 * The loss of a session, waited for by every operation on it. Each waiter is dropped as soon as
 * its operation settles: a Promise.race with one long-lived promise kept every call's handlers
 * until the session ended (11 MiB over 50,000 downloads).
 */
export class LossSignal {
  private lostWith: Error | undefined;
  private readonly listeners = new Set<(err: Error) => void>();

  constructor(private readonly error: () => Error) {}

  /** How many are waiting: operations in flight, streams open. */
  get waiting(): number {
    return this.listeners.size;
  }

  onLost(listener: (err: Error) => void): () => void {
    if (this.lostWith !== undefined) {
      listener(this.lostWith);
      return () => {};
    }
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  orLost<T>(request: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const off = this.onLost(reject);
      request.then(
        (value) => {
          off();
          resolve(value);
        },
        (err: unknown) => {
          off();
          reject(err);
        },
      );
    });
  }

  markLost(): void {
    if (this.lostWith !== undefined) return;
    this.lostWith = this.error();
    for (const listener of this.listeners) listener(this.lostWith);
    this.listeners.clear();
  }
}

export class SessionPool {
  private client: Client | undefined;
  private connecting: Promise<Client> | undefined;
  /** A connection failure that trying again cannot fix. */
  private refused: Error | undefined;
  private sessions: Session[] = [];
  private opening = 0;
  private limit: number;
  private waiters: (() => void)[] = [];
  private closed = false;
  target: Target | undefined;

  constructor(
    private readonly settings: SftpSettings,
    private readonly remote: string,
  ) {
    this.limit = settings.maxSessions;
  }

  async acquire(): Promise<Session> {
    for (;;) {
      if (this.closed)
        throw new RemoteError("ECLOSED", `remote ${this.remote}: the connection was closed`, {
          data: { remote: this.remote },
        });
      let best: Session | undefined;
      for (const s of this.sessions) if (!best || s.active < best.active) best = s;
      if (best && best.active === 0) {
        best.active++;
        return best;
      }
      if (this.sessions.length + this.opening < this.limit) {
        this.opening++;
        let session: Session;
        try {
          session = await this.open();
        } catch (err) {
          this.opening--;
          // The server allows fewer sessions than max_sessions: use what we have.
          if (this.sessions.length > 0 && REFUSED_CHANNEL.test((err as Error).message)) {
            this.limit = Math.max(1, this.sessions.length + this.opening);
            continue;
          }
          this.wakeAll();
          throw err;
        }
        this.opening--;
        session.active++;
        this.sessions.push(session);
        return session;
      }
      if (best && best.active < OPS_PER_SESSION) {
        best.active++;
        return best;
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  release(session: Session): void {
    session.active--;
    this.waiters.shift()?.();
  }

  private wakeAll(): void {
    const waiting = this.waiters;
    this.waiters = [];
    for (const w of waiting) w();
  }

  private connection(): Promise<Client> {
    if (this.refused) return Promise.reject(this.refused);
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= (async () => {
      try {
        this.target ??= resolveTarget(this.settings);
        const client = await connect(this.settings, this.target, this.remote);
        client.on("error", () => {}); // reported through the operations that fail
        client.on("close", () => {
          for (const s of this.sessions) s.markLost();
          if (this.client !== client) return;
          this.client = undefined;
          for (const s of this.sessions) s.dead = true;
          this.sessions = [];
          this.wakeAll();
        });
        if (this.closed) {
          client.end();
          throw new RemoteError("ECLOSED", `remote ${this.remote}: the connection was closed`);
        }
        this.client = client;
        return client;
      } catch (err) {
        if (!(err instanceof RemoteError && err.transient)) this.refused = err as Error;
        throw err;
      } finally {
        this.connecting = undefined;
      }
    })();
    return this.connecting;
  }

  private async open(): Promise<Session> {
    const client = await this.connection();
    const sftp = await new Promise<SFTPWrapper>((resolve, reject) =>
      client.sftp((err, s) => (err ? reject(sessionError(this.remote, err)) : resolve(s))),
    );
    const internals = sftp as unknown as {
      _maxReadLen?: unknown;
      _maxWriteLen?: unknown;
      _extensions?: Record<string, string>;
    };
    const limit = (v: unknown) => (typeof v === "number" && v > 0 ? v : 32 * 1024);
    const loss = new LossSignal(
      () =>
        new RemoteUnreachableError(
          this.remote,
          "the connection was lost during the transfer",
          undefined,
          RECONNECT_HINT,
        ),
    );
    const session: Session = {
      sftp,
      active: 0,
      dead: false,
      orLost: (request) => loss.orLost(request),
      onLost: (listener) => loss.onLost(listener),
      markLost: () => loss.markLost(),
      chunk: Math.min(256 * 1024, limit(internals._maxReadLen), limit(internals._maxWriteLen)),
      posixRename: internals._extensions?.["posix-rename@openssh.com"] === "1",
    };
    sftp.on("error", () => {});
    sftp.on("close", () => {
      session.dead = true;
      session.markLost();
      this.sessions = this.sessions.filter((s) => s !== session);
      this.wakeAll();
    });
    return session;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wakeAll();
    const client = this.client ?? (await this.connecting?.catch(() => undefined));
    this.client = undefined;
    this.sessions = [];
    if (!client) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 2000);
      client.once("close", () => {
        clearTimeout(timer);
        resolve();
      });
      client.end();
    });
  }
}

/** Why an SFTP session could not be opened: the server refused the channel, or the connection went away. */
function sessionError(remote: string, err: Error): Error {
  if (REFUSED_CHANNEL.test(err.message))
    return new RemoteError("ESSH", `remote ${remote}: the server refused an SFTP session (${err.message})`, {
      cause: err,
      data: { remote },
    });
  return new RemoteUnreachableError(
    remote,
    `the connection was lost while opening an SFTP session (${err.message})`,
    err,
    RECONNECT_HINT,
  );
}
