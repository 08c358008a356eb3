/** Shared by the server tests: the Azurite of global-setup.ts, and fresh containers on it. */
import { randomBytes } from "node:crypto";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { inject } from "vitest";
import type { AzuriteInfo } from "./global-setup.js";

export const azurite: AzuriteInfo = inject("azurite");
/** True when there is no server: `describe.skipIf(noServer)`. global-setup said why, loudly. */
export const noServer = azurite.connectionString === undefined;

export function connectionString(): string {
  if (azurite.connectionString === undefined) throw new Error(`no Azurite: ${azurite.unavailable}`);
  return azurite.connectionString;
}

/** A connection string for the same server with another (wrong) account key. */
export function connectionStringWithKey(key: string): string {
  return connectionString().replace(/AccountKey=[^;]+/, `AccountKey=${key}`);
}

export function service(): BlobServiceClient {
  return BlobServiceClient.fromConnectionString(connectionString());
}

/** A new, empty container with a random name; `drop()` deletes it. */
export async function newContainer(): Promise<{ name: string; client: ContainerClient; drop: () => Promise<void> }> {
  const name = `mlv-${randomBytes(6).toString("hex")}`;
  const client = service().getContainerClient(name);
  await client.create();
  return {
    name,
    client,
    drop: async () => {
      await client.deleteIfExists();
    },
  };
}

/** Env without any AZURE_* variable (they could change which credential is used). */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !/^(AZURE_|AWS_|GOOGLE_)/.test(k)) env[k] = v;
  return { ...env, ...extra };
}
