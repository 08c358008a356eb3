/**
 * The fault proxy itself (src/fault-proxy.ts), against a small server that sends a known
 * response: each fault does what it says, to the connections the plan names, so that what the
 * suites report is the client's behaviour and not the proxy's.
 */
import { randomBytes } from "node:crypto";
import { connect, createServer, type Server } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FaultProxy, PASS, type Plan, startFaultProxy } from "../src/fault-proxy.js";

const RESPONSE = randomBytes(256 * 1024);

interface Exchange {
  /** Bytes the client received. */
  got: number;
  /** How the connection ended: a clean end, an error code (ECONNRESET, ECONNREFUSED), or "timeout". */
  end: string;
  ms: number;
}

/** Send a 16-byte request, read until the connection ends or `timeoutMs` passes. */
function exchange(port: number, timeoutMs = 3000): Promise<Exchange> {
  return new Promise((resolve) => {
    const started = Date.now();
    let got = 0;
    let settled = false;
    const sock = connect({ host: "127.0.0.1", port });
    const done = (end: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ got, end, ms: Date.now() - started });
    };
    const timer = setTimeout(() => done("timeout"), timeoutMs);
    sock.on("connect", () => sock.write(Buffer.alloc(16, 1)));
    sock.on("data", (d: Buffer) => {
      got += d.length;
    });
    sock.on("end", () => done("end"));
    sock.on("error", (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
  });
}

describe("the fault proxy", () => {
  let server: Server;
  let proxy: FaultProxy;

  beforeAll(async () => {
    // Answers each 16-byte request with RESPONSE, then ends.
    server = createServer((s) => {
      s.on("error", () => undefined);
      s.once("data", () => s.end(RESPONSE));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const address = server.address();
    proxy = await startFaultProxy({ port: typeof address === "object" && address ? address.port : 0 }, { seed: 7 });
  });

  afterAll(async () => {
    await proxy?.close();
    await new Promise((r) => server?.close(r));
  });

  const withPlan = async (plan: Plan, timeoutMs?: number) => {
    await proxy.setPlan(plan);
    return exchange(proxy.port, timeoutMs);
  };

  it("passes everything through", async () => {
    expect(await withPlan(PASS)).toMatchObject({ got: RESPONSE.length, end: "end" });
  });

  it("drops after N bytes, with a reset when asked", async () => {
    const reset = await withPlan({ fault: { kind: "drop", dir: "down", after: 1000, rst: true } });
    expect(reset).toMatchObject({ got: 1000, end: "ECONNRESET" });
    expect((await withPlan({ fault: { kind: "drop", dir: "down", after: 5000 } })).got).toBe(5000);
    // Once the request is through, the client waits: the reset is what it sees.
    expect(await withPlan({ fault: { kind: "drop", dir: "up", after: 16, rst: true } })).toMatchObject({
      got: 0,
      end: "ECONNRESET",
    });
  });

  it("truncates the response with a clean end", async () => {
    expect(await withPlan({ fault: { kind: "truncate", after: 7000 } })).toMatchObject({ got: 7000, end: "end" });
  });

  it("stalls for a while, or until the client gives up", async () => {
    const brief = await withPlan({ fault: { kind: "stall", dir: "down", after: 100, ms: 600 } });
    expect(brief).toMatchObject({ got: RESPONSE.length, end: "end" });
    expect(brief.ms).toBeGreaterThanOrEqual(550);
    expect(await withPlan({ fault: { kind: "stall", dir: "up", after: 0 } }, 800)).toMatchObject({
      got: 0,
      end: "timeout",
    });
    proxy.dropConnections();
  });

  it("trickles a few bytes per tick", async () => {
    const slow = await withPlan({ fault: { kind: "trickle", dir: "down", after: 0, bytes: 64 * 1024, tickMs: 100 } });
    expect(slow).toMatchObject({ got: RESPONSE.length, end: "end" });
    expect(slow.ms).toBeGreaterThanOrEqual(300);
  });

  it("hits only the k-th connection, or the one carrying the proxy's N-th byte", async () => {
    await proxy.setPlan({ fault: { kind: "drop", dir: "down", after: 10, rst: true }, on: { nth: 2 } });
    const firstThree = [await exchange(proxy.port), await exchange(proxy.port), await exchange(proxy.port)];
    expect(firstThree.map((e) => e.got)).toEqual([RESPONSE.length, 10, RESPONSE.length]);
    await proxy.setPlan({
      fault: { kind: "drop", dir: "down", after: RESPONSE.length + 123, rst: true },
      on: { proxyWide: true },
    });
    const two = [await exchange(proxy.port), await exchange(proxy.port), await exchange(proxy.port)];
    expect(two.map((e) => e.got)).toEqual([RESPONSE.length, 123, RESPONSE.length]);
    expect(proxy.stats().faulted).toBe(1);
  });

  it("refuses new connections for a while, and setPlan ends a refusal", async () => {
    await proxy.setPlan({ fault: { kind: "pass" }, refuse: { ms: 400 } });
    expect((await exchange(proxy.port)).end).toBe("ECONNREFUSED");
    await new Promise((r) => setTimeout(r, 500));
    expect((await exchange(proxy.port)).got).toBe(RESPONSE.length);
    await proxy.setPlan({ fault: { kind: "pass" }, refuse: { ms: 60_000 } });
    expect((await exchange(proxy.port)).end).toBe("ECONNREFUSED");
    await proxy.setPlan(PASS);
    expect((await exchange(proxy.port)).got).toBe(RESPONSE.length);
  });
});
