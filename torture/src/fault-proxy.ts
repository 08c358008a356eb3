/**
 * A TCP proxy on 127.0.0.1 in front of a real server that breaks the network on purpose, so a
 * suite can see how a client behaves when the connection drops, stalls, is cut short or crawls.
 *
 *   const proxy = await startFaultProxy({ port: server.port }, { seed: 42 });
 *   await proxy.setPlan({ fault: { kind: "drop", dir: "down", after: 5 * MiB }, on: { nth: 1 } });
 *   // point the client at 127.0.0.1:proxy.port ... then
 *   await proxy.setPlan(PASS); // and run again without faults
 *   await proxy.close(); // releases every held connection, stalled ones included
 *
 * A plan names one fault and the connections it hits: the k-th one, a seeded fraction of them,
 * every one, or whichever connection carries the proxy's N-th byte in a direction (`proxyWide`),
 * so both the first small requests and the middle of big transfers can be hit. `refuse` makes the
 * proxy stop listening for a while (new connections get ECONNREFUSED), independently of `fault`.
 *
 * "up" is client to server, "down" server to client. Byte offsets count the bytes that went
 * through in that direction: a fault fires once its offset is reached (0: at once).
 */
import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";
import { seededRandom } from "../../test-fixtures/random.js";

export type Direction = "up" | "down";

export type Fault =
  /** Forward everything. */
  | { kind: "pass" }
  /** Cut the connection after `after` bytes in `dir`: destroy both sides, or send a TCP RST (`rst`). */
  | { kind: "drop"; dir: Direction; after: number; rst?: boolean }
  /** After `after` bytes in `dir`, forward nothing either way for `ms` (undefined: until the proxy closes). */
  | { kind: "stall"; dir: Direction; after: number; ms?: number }
  /** Close cleanly (FIN to the client, the server side dropped) after `after` bytes of the response. */
  | { kind: "truncate"; after: number }
  /** After `after` bytes in `dir`, forward `bytes` per `tickMs` in that direction. */
  | { kind: "trickle"; dir: Direction; after: number; bytes: number; tickMs: number };

/** Which connections a fault hits (counted from 1 since the plan was set). */
export type Target =
  | { all: true }
  | { nth: number }
  /** Each connection with this probability (the proxy's seeded generator). */
  | { fraction: number }
  /** The fault's `after` counts the bytes of all connections: the one that carries that byte takes it (once). */
  | { proxyWide: true };

export interface Plan {
  fault: Fault;
  on?: Target;
  /** Hit at most this many connections (default: no limit; `proxyWide` hits one). */
  times?: number;
  /** After `afterConnections` connections (default 0), refuse new ones for `ms`. */
  refuse?: { afterConnections?: number; ms: number };
}

export const PASS: Plan = { fault: { kind: "pass" } };

export interface ProxyStats {
  /** Connections accepted since the plan was set. */
  connections: number;
  /** Connections the fault fired on. */
  faulted: number;
  /** Times the proxy stopped listening (`refuse`). */
  refusedWindows: number;
  bytes: Record<Direction, number>;
}

export interface FaultProxy {
  host: "127.0.0.1";
  port: number;
  /** Replace the plan, listening again if a refusal was under way; counters start again (open connections keep their fault). */
  setPlan(plan: Plan): Promise<void>;
  stats(): ProxyStats;
  /** Destroy every open connection (a stalled one the client gave up on, say), keep listening. */
  dropConnections(): void;
  /** Destroy every connection (stalled ones included), stop every timer, stop listening. */
  close(): Promise<void>;
}

export { seededRandom };

/** Data held by a pipe before the source is paused (TCP backpressure towards the sender). */
const HIGH_WATER = 256 * 1024;
/** How long a reset waits behind the bytes written before it (see `kill`). */
const RESET_DELAY_MS = 30;

/** One connection: the client side, the server side and the fault it carries. */
interface Conn {
  client: Socket;
  server: Socket;
  fault: Fault;
  /** `proxyWide`: the fault waits for the proxy-wide byte count, not this connection's. */
  total: boolean;
  fired: boolean;
  stalled: boolean;
  dead: boolean;
  pipes: Record<Direction, Pipe>;
}

/** One direction of a connection: bytes from `src` queued and written to `dst` as the fault allows. */
interface Pipe {
  dir: Direction;
  src: Socket;
  dst: Socket;
  queue: Buffer[];
  queued: number;
  sent: number;
  waitingDrain: boolean;
  trickling: boolean;
  tick?: NodeJS.Timeout;
}

export async function startFaultProxy(
  target: { host?: string; port: number },
  options: { seed?: number; plan?: Plan } = {},
): Promise<FaultProxy> {
  const targetHost = target.host ?? "127.0.0.1";
  const random = seededRandom(options.seed ?? 1);
  const conns = new Set<Conn>();
  const timers = new Set<NodeJS.Timeout>();
  let plan: Plan = options.plan ?? PASS;
  let stats: ProxyStats = newStats();
  let faultsLeft = Number.POSITIVE_INFINITY;
  let closed = false;
  let listening: Server | undefined;
  let port = 0;

  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
    return t;
  };

  /** Whether the next connection (number `n`) carries the plan's fault. */
  const chooses = (n: number): { hit: boolean; total: boolean } => {
    if (plan.fault.kind === "pass" || faultsLeft <= 0) return { hit: false, total: false };
    const on = plan.on ?? { all: true };
    // A proxy-wide offset: every connection may carry it, the first to reach it takes the fault.
    if ("proxyWide" in on) return { hit: true, total: true };
    const hit = "all" in on || ("nth" in on ? n === on.nth : random() < on.fraction);
    if (hit) faultsLeft--;
    return { hit, total: false };
  };

  const kill = (c: Conn, rst: boolean) => {
    if (c.dead) return;
    c.dead = true;
    for (const p of Object.values(c.pipes)) if (p.tick) clearTimeout(p.tick);
    conns.delete(c);
    for (const s of [c.client, c.server]) {
      s.pause();
      if (!rst || s.destroyed || s.readyState === "opening") s.destroy();
      // A reset right behind the last bytes reaches a Node client in the same poll as them, and libuv
      // then reports the hang-up as a clean end: let the client read what was written first.
      else later(RESET_DELAY_MS, () => s.resetAndDestroy());
    }
  };

  /** The byte offset (in this pipe's count) at which the fault fires, or undefined when it does not apply. */
  const triggerAt = (c: Conn, p: Pipe): number | undefined => {
    if (c.fired || c.fault.kind === "pass") return undefined;
    const dir = c.fault.kind === "truncate" ? "down" : c.fault.dir;
    if (dir !== p.dir) return undefined;
    if (!c.total) return c.fault.after;
    // Proxy-wide offset: this pipe fires when the proxy's count in its direction reaches it.
    const ahead = c.fault.after - stats.bytes[p.dir];
    if (ahead < 0 || faultsLeft <= 0) return undefined;
    return p.sent + ahead;
  };

  const fire = (c: Conn, p: Pipe) => {
    c.fired = true;
    stats.faulted++;
    if (c.total) faultsLeft--;
    const f = c.fault;
    switch (f.kind) {
      case "drop":
        kill(c, f.rst === true);
        return;
      case "truncate":
        // A clean end of the response: FIN to the client once what was written is flushed.
        c.dead = true;
        conns.delete(c);
        c.server.destroy();
        c.client.end();
        later(5000, () => c.client.destroy());
        return;
      case "stall":
        c.stalled = true;
        c.client.pause();
        c.server.pause();
        if (f.ms !== undefined)
          later(f.ms, () => {
            c.stalled = false;
            for (const q of Object.values(c.pipes)) flush(c, q);
          });
        return;
      case "trickle":
        p.trickling = true;
        return;
      case "pass":
        return;
    }
  };

  const flush = (c: Conn, p: Pipe): void => {
    while (!c.dead && !c.stalled && !p.waitingDrain && p.queue.length > 0) {
      const at = triggerAt(c, p);
      if (at !== undefined && p.sent >= at) {
        fire(c, p);
        continue;
      }
      let n = p.queue[0]!.length;
      if (at !== undefined) n = Math.min(n, at - p.sent);
      if (p.trickling) {
        if (p.tick) return;
        n = Math.min(n, (c.fault as { bytes: number }).bytes);
      }
      const head = p.queue[0]!;
      const piece = head.subarray(0, n);
      if (n === head.length) p.queue.shift();
      else p.queue[0] = head.subarray(n);
      p.queued -= n;
      p.sent += n;
      stats.bytes[p.dir] += n;
      if (!p.dst.write(piece)) {
        p.waitingDrain = true;
        p.dst.once("drain", () => {
          p.waitingDrain = false;
          flush(c, p);
        });
      }
      if (p.trickling) {
        p.tick = later((c.fault as { tickMs: number }).tickMs, () => {
          p.tick = undefined;
          flush(c, p);
        });
      }
    }
    // A fault due right at the current offset fires even with nothing more to send (e.g. `after: 0`).
    if (!c.dead && !c.stalled && p.queue.length === 0) {
      const at = triggerAt(c, p);
      if (at !== undefined && p.sent >= at && !c.total) fire(c, p);
    }
    if (!c.dead && !c.stalled && p.queued < HIGH_WATER && p.src.isPaused()) p.src.resume();
  };

  const newPipe = (dir: Direction, src: Socket, dst: Socket): Pipe => ({
    dir,
    src,
    dst,
    queue: [],
    queued: 0,
    sent: 0,
    waitingDrain: false,
    trickling: false,
  });

  const onConnection = (client: Socket) => {
    if (closed) {
      client.destroy();
      return;
    }
    stats.connections++;
    const n = stats.connections;
    const refuse = plan.refuse;
    if (refuse && n === (refuse.afterConnections ?? 0)) stopListening(refuse.ms);
    const { hit, total } = chooses(n);
    // Half-open connections are passed on as they are: a FIN travels once what precedes it is written.
    const server = tcpConnect({ host: targetHost, port: target.port, allowHalfOpen: true });
    const c: Conn = {
      client,
      server,
      fault: hit ? plan.fault : { kind: "pass" },
      total,
      fired: false,
      stalled: false,
      dead: false,
      pipes: { up: newPipe("up", client, server), down: newPipe("down", server, client) },
    };
    conns.add(c);
    client.setNoDelay(true);
    server.setNoDelay(true);
    for (const p of Object.values(c.pipes)) {
      p.src.on("data", (chunk: Buffer) => {
        if (c.dead) return;
        p.queue.push(chunk);
        p.queued += chunk.length;
        if (p.queued >= HIGH_WATER || c.stalled) p.src.pause();
        flush(c, p);
      });
      // A half-close passes through once everything queued is written.
      p.src.on("end", () => {
        const finish = () => {
          if (c.dead) return;
          if (p.queue.length > 0 || p.waitingDrain || c.stalled) later(20, finish);
          else p.dst.end();
        };
        finish();
      });
    }
    for (const s of [client, server]) {
      s.on("error", () => kill(c, false));
      // Closed after both ends: the other side finishes its own end; a stuck one goes after 5 s.
      s.on("close", () => later(5000, () => kill(c, false)));
    }
    // `after: 0` faults fire before any byte (a connection that never answers, a reset at once).
    const f = c.fault;
    if (hit && !total && f.kind !== "pass" && f.after === 0) fire(c, c.pipes[f.kind === "truncate" ? "down" : f.dir]);
  };

  const listenOnce = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const srv = createServer({ allowHalfOpen: true }, onConnection);
      srv.once("error", reject);
      srv.listen(port, "127.0.0.1", () => {
        srv.off("error", reject);
        const addr = srv.address();
        if (typeof addr === "object" && addr) port = addr.port;
        listening = srv;
        resolve();
      });
    });

  /** Listen (again) on the same port; a socket closed a moment ago may hold it for a few ms. */
  const listen = async (): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      if (listening || closed) return;
      try {
        return await listenOnce();
      } catch (err) {
        if (attempt >= 50 || (err as NodeJS.ErrnoException).code !== "EADDRINUSE") throw err;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  };

  let relisten: NodeJS.Timeout | undefined;

  /** Close the listening socket for `ms` (clients get ECONNREFUSED), then listen on the same port again. */
  const stopListening = (ms: number) => {
    const srv = listening;
    if (!srv) return;
    listening = undefined;
    stats.refusedWindows++;
    srv.close();
    relisten = later(ms, () => {
      relisten = undefined;
      void listen().catch(() => undefined);
    });
  };

  await listen();
  if (plan.refuse && (plan.refuse.afterConnections ?? 0) === 0) stopListening(plan.refuse.ms);

  return {
    host: "127.0.0.1",
    get port() {
      return port;
    },
    async setPlan(next: Plan) {
      plan = next;
      stats = newStats();
      faultsLeft = next.times ?? (next.on && "proxyWide" in next.on ? 1 : Number.POSITIVE_INFINITY);
      // A refusal of the previous plan ends now.
      if (relisten) {
        clearTimeout(relisten);
        timers.delete(relisten);
        relisten = undefined;
      }
      await listen();
      if (next.refuse && (next.refuse.afterConnections ?? 0) === 0) stopListening(next.refuse.ms);
    },
    stats: () => ({ ...stats, bytes: { ...stats.bytes } }),
    dropConnections() {
      for (const c of [...conns]) kill(c, false);
    },
    async close() {
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const c of [...conns]) kill(c, false);
      const srv = listening;
      listening = undefined;
      if (srv) await new Promise<void>((resolve) => srv.close(() => resolve()));
    },
  };
}

function newStats(): ProxyStats {
  return { connections: 0, faulted: 0, refusedWindows: 0, bytes: { up: 0, down: 0 } };
}
