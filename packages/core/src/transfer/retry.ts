import { RemoteError } from "../errors.js";

/** Retry transient remote errors (throttling, dropped connections) with exponential backoff. */
export async function withRetry<T>(fn: () => Promise<T>, attempts = 4): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts || !(err instanceof RemoteError && err.transient)) throw err;
      await new Promise((r) => setTimeout(r, 250 * 2 ** i));
    }
  }
}
