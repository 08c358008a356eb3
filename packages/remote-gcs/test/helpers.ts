import { randomBytes } from "node:crypto";
import { type Remote, RemoteError } from "@mlv/core";
import adapter from "@mlv/remote-gcs";
import { inject } from "vitest";

const provided = inject("gcs");

/** The emulator's endpoint, or undefined when it is not running (the suite is then skipped). */
export const endpoint: string | undefined = "endpoint" in provided ? provided.endpoint : undefined;
export const unavailable: string | undefined = "unavailable" in provided ? provided.unavailable : undefined;

/** A fresh bucket name: buckets appear on first use in the emulator, so this is an empty remote. */
export function freshBucket(): string {
  return `mlv-test-${randomBytes(6).toString("hex")}`;
}

/** A remote on the emulator, as `mlv` would create it from a config section. */
export async function emulatorRemote(url: string, options: Record<string, string> = {}): Promise<Remote> {
  if (endpoint === undefined) throw new Error("the GCS emulator is not running");
  return adapter.create({ name: "test", url, options: { endpointurl: endpoint, ...options } });
}

/**
 * Delete everything below the remote's root. The emulator now and then drops a kept-alive
 * connection under load: a transient error gets two more tries, as core's transfers give it.
 */
export async function emptyRemote(remote: Remote): Promise<void> {
  const keys: string[] = [];
  for await (const key of remote.list("")) keys.push(key);
  const remove = async (key: string, tries = 3): Promise<void> => {
    try {
      await remote.delete(key);
    } catch (err) {
      if (tries <= 1 || !(err instanceof RemoteError && err.transient)) throw err;
      await remove(key, tries - 1);
    }
  };
  for (let i = 0; i < keys.length; i += 32) await Promise.all(keys.slice(i, i + 32).map((k) => remove(k)));
}
