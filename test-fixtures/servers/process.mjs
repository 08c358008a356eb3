// What the server launchers share (nginx.mjs, sshd.mjs, s3.ts, azurite.ts): a free port, waiting
// for a server to answer on it, and stopping the process they started (never anything else).
// Plain JavaScript so that bench/*.mjs can use it as well as vitest; the types are in process.d.mts.

import { readFileSync } from "node:fs";
import { createConnection, createServer } from "node:net";

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", fail);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? ok(addr.port) : fail(new Error("no port"))));
    });
  });
}

/**
 * Resolves true once `port` on 127.0.0.1 answers: `request` (when given) is sent on connecting,
 * and the reply up to its first `lineEnd` goes to `ready`. Tries every `pauseMs`; false after
 * `ms`, or as soon as `exited()` says the server is gone.
 */
export function waitForReply(port, ms, exited, { request, lineEnd, ready, pauseMs }) {
  const deadline = Date.now() + ms;
  const once = () =>
    new Promise((ok) => {
      const sock = createConnection({ host: "127.0.0.1", port });
      let got = "";
      const done = (v) => {
        sock.destroy();
        ok(v);
      };
      sock.setTimeout(1000, () => done(false));
      if (request !== undefined) sock.on("connect", () => sock.write(request));
      sock.on("data", (d) => {
        got += d.toString("latin1");
        if (got.includes(lineEnd)) done(ready(got));
      });
      sock.on("error", () => done(false));
      sock.on("close", () => done(false));
    });
  return (async () => {
    while (Date.now() < deadline) {
      if (exited()) return false;
      if (await once()) return true;
      await new Promise((r) => setTimeout(r, pauseMs));
    }
    return false;
  })();
}

/** The ids of a process's children, from /proc. */
function childrenOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * Stop `child` with SIGTERM; after 5 s, SIGKILL it, and first its own children when `killChildren`
 * (a master process that did not stop its workers in time).
 */
export function stopChild(child, { killChildren = false } = {}) {
  return new Promise((ok) => {
    if (child.exitCode !== null || child.signalCode !== null) return ok();
    const timer = setTimeout(() => {
      if (killChildren)
        for (const pid of childrenOf(child.pid)) {
          try {
            process.kill(pid, "SIGKILL");
          } catch {}
        }
      child.kill("SIGKILL");
    }, 5000);
    child.once("exit", () => {
      clearTimeout(timer);
      ok();
    });
    child.kill("SIGTERM");
  });
}
