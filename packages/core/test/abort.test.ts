import { describe, expect, it } from "vitest";
import { sharedSignal } from "../src/abort.js";

describe("sharedSignal: one signal for the adapter calls of a transfer", () => {
  it("takes many listeners without Node's leak warning, and forwards the caller's reason", async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on("warning", onWarning);
    try {
      const caller = new AbortController();
      const shared = sharedSignal(caller.signal, 16);
      const heard: unknown[] = [];
      // 16 uploads at once, each listening (as an SDK given the signal does), some twice.
      for (let i = 0; i < 40; i++) shared.signal!.addEventListener("abort", () => heard.push(shared.signal!.reason));
      const reason = new Error("Ctrl-C");
      caller.abort(reason);
      await new Promise((ok) => setImmediate(ok));
      expect(heard).toHaveLength(40);
      expect(heard.every((r) => r === reason)).toBe(true);
      expect(warnings.filter((w) => w.name === "MaxListenersExceededWarning")).toEqual([]);
    } finally {
      process.off("warning", onWarning);
    }
  });

  it("is aborted at once for an aborted caller, absent without one, and lets go of the caller's signal", () => {
    const reason = new Error("before");
    expect(sharedSignal(AbortSignal.abort(reason), 4).signal?.reason).toBe(reason);
    expect(sharedSignal(undefined, 4).signal).toBeUndefined();

    const caller = new AbortController();
    const shared = sharedSignal(caller.signal, 4);
    shared.release();
    caller.abort(new Error("after the transfer"));
    expect(shared.signal?.aborted).toBe(false);
  });
});
