/**
 * AbortSignal plumbing. The read-only operations (versions, diff, list, metrics, open) check the
 * signal between steps, and their promise rejects with the signal's reason as soon as it is
 * aborted, even while a step (a walk of git history) is still under way. Such a step writes
 * nothing, so letting it finish in the background leaves nothing half-done. Transfers hand one
 * shared signal to the adapter calls under way.
 */
import { setMaxListeners } from "node:events";
import type { Readable } from "node:stream";

/** `work`, or a rejection with `signal.reason` as soon as `signal` aborts (whichever comes first). */
export function raceAbort<T>(signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> {
  if (!signal) return work();
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    work().then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (err) => {
        signal.removeEventListener("abort", onAbort);
        reject(signal.aborted ? signal.reason : err);
      },
    );
  });
}

/**
 * Destroy `stream` with `signal.reason` when `signal` aborts (at once when it already has), so that
 * whoever reads it sees the reason itself as the error, as from any other aborted call.
 */
export function abortStream<S extends Readable>(stream: S, signal: AbortSignal | undefined): S {
  if (!signal) return stream;
  if (signal.aborted) {
    stream.destroy(signal.reason);
    return stream;
  }
  const onAbort = () => stream.destroy(signal.reason);
  signal.addEventListener("abort", onAbort, { once: true });
  stream.once("close", () => signal.removeEventListener("abort", onAbort));
  return stream;
}

/**
 * A signal for `concurrency` transfers at once that follows `signal`: each adapter call under way
 * may listen to it, more listeners than the 10 after which Node prints a leak warning, so they
 * listen to this one and the caller's signal gets a single listener. `release()` drops that one.
 */
export function sharedSignal(
  signal: AbortSignal | undefined,
  concurrency: number,
): { signal: AbortSignal | undefined; release: () => void } {
  if (!signal) return { signal: undefined, release: () => {} };
  const controller = new AbortController();
  setMaxListeners(4 * concurrency + 10, controller.signal);
  if (signal.aborted) {
    controller.abort(signal.reason);
    return { signal: controller.signal, release: () => {} };
  }
  const forward = () => controller.abort(signal.reason);
  signal.addEventListener("abort", forward, { once: true });
  return { signal: controller.signal, release: () => signal.removeEventListener("abort", forward) };
}
