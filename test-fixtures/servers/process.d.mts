/** Types of process.mjs: what the server launchers share. */
import type { ChildProcess } from "node:child_process";

/** A port that was free a moment ago on 127.0.0.1. */
export declare function freePort(): Promise<number>;

export interface ReplyCheck {
  /** Sent on connecting; nothing when the server speaks first (an SSH banner). */
  request?: string;
  /** The end of the line `ready` waits for. */
  lineEnd: string;
  /** Whether the reply so far (up to and with `lineEnd`) is the server's. */
  ready: (reply: string) => boolean;
  /** Milliseconds between tries. */
  pauseMs: number;
}

/** True once `port` on 127.0.0.1 answers as `check` says; false after `ms`, or once `exited()`. */
export declare function waitForReply(
  port: number,
  ms: number,
  exited: () => boolean,
  check: ReplyCheck,
): Promise<boolean>;

/** Stop `child` (SIGTERM, SIGKILL after 5 s, first to its children when `killChildren`). */
export declare function stopChild(child: ChildProcess, options?: { killChildren?: boolean }): Promise<void>;
