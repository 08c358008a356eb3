/**
 * The signal every operation on an SFTP session waits on, so that a dropped connection fails the
 * operations in flight instead of leaving them hanging: it must let go of each operation once that
 * operation settles, or a long pull holds the handlers of every download it made.
 */
import { describe, expect, it } from "vitest";
import { LossSignal } from "../src/pool.js";

const lostError = () => new Error("the connection was lost during the transfer");

describe("LossSignal", () => {
  it("holds nothing for operations that ended, however many there were", async () => {
    const loss = new LossSignal(lostError);
    const results = await Promise.all(Array.from({ length: 10_000 }, (_, i) => loss.orLost(Promise.resolve(i))));
    expect(results[9_999]).toBe(9_999);
    await expect(loss.orLost(Promise.reject(new Error("no such file")))).rejects.toThrow("no such file");
    expect(loss.waiting).toBe(0);
  });

  it("fails the operations in flight when the session is lost, and any started afterwards", async () => {
    const loss = new LossSignal(lostError);
    const never = new Promise<never>(() => {});
    const inFlight = [loss.orLost(never), loss.orLost(never)];
    let streamError: Error | undefined;
    const stopWatching = loss.onLost((err) => {
      streamError = err;
    });
    expect(loss.waiting).toBe(3);
    loss.markLost();
    for (const op of inFlight) await expect(op).rejects.toThrow("the connection was lost");
    expect(streamError?.message).toMatch(/connection was lost/);
    expect(loss.waiting).toBe(0);
    stopWatching();
    await expect(loss.orLost(never)).rejects.toThrow("the connection was lost");
    // A late reply to an operation already failed by the loss changes nothing and is not unhandled.
    const late = Promise.reject(new Error("late"));
    await expect(loss.orLost(late)).rejects.toThrow("the connection was lost");
  });
});
