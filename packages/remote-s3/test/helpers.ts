/**
 * Shared by the tests: the servers global-setup started, buckets made and emptied with the SDK,
 * and remotes created through the adapter as the CLI creates them.
 */
import { randomBytes } from "node:crypto";
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListObjectsV2Command,
  S3Client,
} from "@aws-sdk/client-s3";
import type { Remote } from "@mlv/core";
import adapter from "@mlv/remote-s3";
import { describe, inject } from "vitest";
import type { ServerInfo } from "./global-setup.js";

export type Running = Required<Omit<ServerInfo, "unavailable">>;

export function servers(): ServerInfo[] {
  return inject("s3Servers");
}

/** `describe` once per server that runs (moto, s3rver by default), skipped loudly for one that does not. */
export function describeEachServer(
  title: string,
  fn: (server: () => Running) => void,
  names: ServerInfo["name"][] = ["moto", "s3rver"],
): void {
  for (const name of names) {
    const info = servers().find((s) => s.name === name);
    if (!info || info.unavailable !== undefined) {
      describe.skip(`${title} [${name}: SERVER NOT AVAILABLE: ${info?.unavailable ?? "not started"}]`, () => {
        fn(() => {
          throw new Error("unreachable");
        });
      });
      continue;
    }
    describe(`${title} [${name}]`, () => fn(() => info as Running));
  }
}

export function sdkClient(server: Running): S3Client {
  return new S3Client({
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
}

export function bucketName(): string {
  return `mlv-test-${randomBytes(6).toString("hex")}`;
}

export async function createBucket(server: Running, name = bucketName()): Promise<string> {
  const client = sdkClient(server);
  try {
    await client.send(new CreateBucketCommand({ Bucket: name }));
  } finally {
    client.destroy();
  }
  return name;
}

/** Delete every object of the bucket, then the bucket. */
export async function dropBucket(server: Running, name: string): Promise<void> {
  const client = sdkClient(server);
  try {
    let token: string | undefined;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: name, ContinuationToken: token }));
      const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
      // One object at a time is slow; DeleteObjects' first try can fail on s3rver: the SDK retries.
      if (keys.length) await client.send(new DeleteObjectsCommand({ Bucket: name, Delete: { Objects: keys } }));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    await client.send(new DeleteBucketCommand({ Bucket: name }));
  } finally {
    client.destroy();
  }
}

/** The options a user sets with `mlv remote modify` for this server. */
export function optionsFor(server: Running, extra: Record<string, string> = {}): Record<string, string> {
  return {
    endpointurl: server.endpoint,
    access_key_id: server.accessKeyId,
    secret_access_key: server.secretAccessKey,
    ...extra,
  };
}

export async function remoteFor(server: Running, url: string, extra: Record<string, string> = {}): Promise<Remote> {
  return adapter.create({ name: "test", url, options: optionsFor(server, extra) });
}
