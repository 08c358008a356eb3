/**
 * Starts one Cloud Storage emulator (firebase-tools, see test-fixtures/servers/gcs.ts) for every
 * test file, and stops it afterwards. If it cannot start, the server tests are skipped with a loud
 * warning, except under CI=true, where that fails the run.
 */
import type { TestProject } from "vitest/node";
import { type GcsEmulator, startGcsEmulator } from "../../../test-fixtures/servers/gcs.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** The emulator's endpoint, or why there is none. */
    gcs: { endpoint: string } | { unavailable: string };
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let emulator: GcsEmulator | undefined;
  const started = Date.now();
  try {
    emulator = await startGcsEmulator({ timeoutMs: 60_000 });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    if (process.env.CI === "true")
      throw new Error(`CI=true: the GCS emulator must run, but it did not start: ${reason}`);
    const bar = "!".repeat(78);
    console.warn(
      `\n${bar}\n!! @mlv/remote-gcs: the GCS emulator could not start; the tests that need it are SKIPPED.\n!! ${reason}\n${bar}\n`,
    );
    project.provide("gcs", { unavailable: reason });
    return async () => {};
  }
  console.log(`gcs emulator: listening at ${emulator.endpoint} (started in ${Date.now() - started} ms)`);
  project.provide("gcs", { endpoint: emulator.endpoint });
  const running = emulator;
  return () => running.stop();
}
