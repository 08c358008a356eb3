/**
 * Starts one Azurite Blob server for the run and hands its address to the tests (`inject("azurite")`).
 * Where Azurite cannot start, the server tests are skipped with a loud warning; with CI=true
 * that is a failure instead.
 */
import type { TestProject } from "vitest/node";
import { type AzuriteServer, startAzurite } from "../../../test-fixtures/servers/azurite.js";

export interface AzuriteInfo {
  connectionString?: string;
  blobEndpoint?: string;
  port?: number;
  /** Why there is no server. */
  unavailable?: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    azurite: AzuriteInfo;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let server: AzuriteServer | undefined;
  const started = Date.now();
  try {
    server = await startAzurite();
  } catch (err) {
    const why = (err as Error).message;
    if (process.env.CI === "true") throw new Error(`Azurite is required in CI (CI=true): ${why}`);
    process.stderr.write(
      `\n!!! @mlv/remote-azure: ${why}\n!!! THE AZURE SERVER TESTS ARE SKIPPED (install azurite 3.35.0: npm ci)\n\n`,
    );
    project.provide("azurite", { unavailable: why });
    return async () => {};
  }
  process.stderr.write(
    `@mlv/remote-azure: Azurite started on 127.0.0.1:${server.port} in ${Date.now() - started} ms\n`,
  );
  project.provide("azurite", {
    connectionString: server.connectionString,
    blobEndpoint: server.blobEndpoint,
    port: server.port,
  });
  return async () => {
    await server?.stop();
  };
}
