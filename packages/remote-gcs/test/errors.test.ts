/**
 * Error mapping. The emulator accepts any bucket and any credentials, so the answers a real GCS
 * gives to a missing bucket, bad credentials, throttling and outages come from a small stub
 * speaking the same JSON API (the requests still go through the real SDK); unreachable endpoints
 * and unusable key files need no server at all.
 */

import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import {
  ConfigError,
  ObjectNotFoundError,
  PermissionDeniedError,
  type Remote,
  RemoteError,
  RemoteUnreachableError,
  ThrottledError,
} from "@mlv/core";
import adapter from "@mlv/remote-gcs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emulatorRemote, endpoint, freshBucket } from "./helpers.js";

/** What the stub answers for each bucket: an HTTP status and GCS's JSON error body. */
const ANSWERS: Record<string, { status: number; message: string; reason: string }> = {
  "missing-bucket": { status: 404, message: "The specified bucket does not exist.", reason: "notFound" },
  "denied-bucket": {
    status: 403,
    message:
      "someone@example.iam.gserviceaccount.com does not have storage.objects.list access to the Google Cloud Storage bucket.",
    reason: "forbidden",
  },
  "unauth-bucket": { status: 401, message: "Invalid Credentials", reason: "authError" },
  "busy-bucket": {
    status: 429,
    message: "The rate of change requests to the object is too high.",
    reason: "rateLimitExceeded",
  },
  "broken-bucket": { status: 503, message: "Backend Error", reason: "backendError" },
};

let stub: Server;
let stubUrl = "";
const hits = new Map<string, number>();

function answer(req: IncomingMessage, res: ServerResponse): void {
  req.resume(); // drain any upload body
  const bucket = /\/b\/([^/?]+)/.exec(req.url ?? "")?.[1] ?? "";
  hits.set(bucket, (hits.get(bucket) ?? 0) + 1);
  const a = ANSWERS[bucket] ?? { status: 404, message: `No such object: ${bucket}/x`, reason: "notFound" };
  const body = JSON.stringify({
    error: { code: a.status, message: a.message, errors: [{ message: a.message, domain: "global", reason: a.reason }] },
  });
  req.on("end", () => res.writeHead(a.status, { "content-type": "application/json; charset=UTF-8" }).end(body));
}

beforeAll(async () => {
  stub = createServer(answer);
  await new Promise<void>((ok) => stub.listen(0, "127.0.0.1", ok));
  stubUrl = `http://127.0.0.1:${(stub.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((ok) => stub.close(ok));
});

const stubRemote = (bucket: string): Remote =>
  adapter.create({ name: "storage", url: `gs://${bucket}/proj`, options: { endpointurl: stubUrl } }) as Remote;

async function failure(p: Promise<unknown> | (() => Promise<unknown>)): Promise<Error> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a failure");
}
const listAll = async (r: Remote) => {
  for await (const _ of r.list("")) {
    // drain
  }
};
const body = () => Readable.from([Buffer.from("x")]);

describe("a missing bucket", () => {
  it("is named in the error of list, read and write", async () => {
    const r = stubRemote("missing-bucket");
    for (const err of [
      await failure(() => listAll(r)),
      await failure(r.read("files/md5/00/11")),
      await failure(r.write("files/md5/00/11", body(), 1)),
      await failure(r.writeFile!("files/md5/00/11", fileURLToPath(import.meta.url), 1)),
    ]) {
      expect(err).toBeInstanceOf(RemoteError);
      expect((err as RemoteError).code).toBe("ENOBUCKET");
      expect(err.message).toContain("bucket 'missing-bucket' does not exist");
      expect(err.message).toContain("gs://missing-bucket/proj");
      expect((err as RemoteError).transient).toBe(false);
    }
  });

  it("is not confused with a missing object", async () => {
    const err = await failure(stubRemote("other-bucket").read("files/md5/00/11"));
    expect(err).toBeInstanceOf(ObjectNotFoundError);
  });
});

describe("refused credentials", () => {
  it.each([
    ["denied-bucket", "HTTP 403"],
    ["unauth-bucket", "HTTP 401"],
  ])("%s: PermissionDeniedError that says what to check", async (bucket, status) => {
    const r = stubRemote(bucket);
    for (const err of [
      await failure(() => listAll(r)),
      await failure(r.read("k/1")),
      await failure(r.write("k/1", body(), 1)),
    ]) {
      expect(err).toBeInstanceOf(PermissionDeniedError);
      expect(err.message).toContain(`gs://${bucket}/proj`);
      expect(err.message).toContain(status);
      expect(err.message).toContain("check credentialpath or your Application Default Credentials");
      expect(err.message).not.toContain("gcloud auth");
      expect(err.hint).toBe("To use your own Google account, run 'gcloud auth application-default login'.");
      expect((err as RemoteError).transient).toBe(false);
    }
  });
});

describe("throttling and outages", () => {
  it("429 is a transient ThrottledError, after the SDK's own few retries", async () => {
    hits.set("busy-bucket", 0);
    const err = await failure(() => listAll(stubRemote("busy-bucket")));
    expect(err).toBeInstanceOf(ThrottledError);
    expect((err as RemoteError).transient).toBe(true);
    expect(err.message).toContain("too high");
    expect(hits.get("busy-bucket")).toBe(3); // 1 + maxRetries 2
  });

  it("5xx is a transient RemoteError", async () => {
    const err = await failure(stubRemote("broken-bucket").delete("k/1"));
    expect(err).toBeInstanceOf(RemoteError);
    expect((err as RemoteError).code).toBe("EREMOTEIO");
    expect((err as RemoteError).transient).toBe(true);
    expect(err.message).toContain("HTTP 503");
  });
});

describe("an endpoint nobody listens on", () => {
  it("is a transient RemoteUnreachableError naming the endpoint", async () => {
    // A port that was just free: connections are refused.
    const probe = createServer();
    await new Promise<void>((ok) => probe.listen(0, "127.0.0.1", ok));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((ok) => probe.close(ok));
    const r = adapter.create({
      name: "storage",
      url: "gs://some-bucket/p",
      options: { endpointurl: `http://127.0.0.1:${port}` },
    }) as Remote;
    for (const err of [await failure(() => listAll(r)), await failure(r.read("k/1"))]) {
      expect(err).toBeInstanceOf(RemoteUnreachableError);
      expect((err as RemoteError).transient).toBe(true);
      expect(err.message).toContain(`http://127.0.0.1:${port}`);
      expect(err.message).toContain("gs://some-bucket/p");
      expect(err.message).toContain("ECONNREFUSED");
    }
  });
});

describe("credentialpath", () => {
  let dir = "";
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mlv-gcs-keys-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("that does not exist is a ConfigError naming the path", async () => {
    const r = adapter.create({
      name: "storage",
      url: "gs://some-bucket/p",
      options: { credentialpath: join(dir, "nope.json"), endpointurl: stubUrl },
    }) as Remote;
    const err = await failure(() => listAll(r));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toContain(`credentialpath '${join(dir, "nope.json")}' cannot be read`);
  });

  it("with an unusable key fails with PermissionDeniedError, and no message shows the key", async () => {
    const secret = "TOPSECRETKEYMATERIAL0123456789";
    const keyFile = join(dir, "sa.json");
    await writeFile(
      keyFile,
      JSON.stringify({
        type: "service_account",
        project_id: "demo-mlv",
        private_key_id: "0123abcd",
        private_key: `-----BEGIN PRIVATE KEY-----\n${secret}\n-----END PRIVATE KEY-----\n`,
        client_email: "mlv@demo-mlv.iam.gserviceaccount.com",
        client_id: "1",
        token_uri: "https://oauth2.googleapis.com/token",
      }),
    );
    const choices: Record<string, string>[] = [
      { credentialpath: keyFile },
      { credentialpath: keyFile, endpointurl: stubUrl },
    ];
    for (const options of choices) {
      const r = adapter.create({ name: "storage", url: "gs://some-bucket/p", options }) as Remote;
      for (const err of [
        await failure(() => listAll(r)),
        await failure(r.read("k/1")),
        await failure(r.write("k/1", body(), 1)),
      ]) {
        expect(err).toBeInstanceOf(PermissionDeniedError);
        expect(err.message).toContain("check credentialpath");
        const shown = `${err.message}\n${err.stack}\n${String((err.cause as Error | undefined)?.stack ?? err.cause)}`;
        expect(shown).not.toContain(secret);
        expect(shown).not.toContain("BEGIN PRIVATE KEY");
      }
    }
  });
});

describe.runIf(endpoint !== undefined)("on the emulator", () => {
  it("a missing object is ObjectNotFoundError from read and readFile, and exists() is false", async () => {
    const r = await emulatorRemote(`gs://${freshBucket()}/x`);
    expect(await r.exists("files/md5/00/11")).toBe(false);
    expect(await failure(r.read("files/md5/00/11"))).toBeInstanceOf(ObjectNotFoundError);
    const dir = await mkdtemp(join(tmpdir(), "mlv-gcs-"));
    try {
      expect(await failure(r.readFile!("files/md5/00/11", join(dir, "f")))).toBeInstanceOf(ObjectNotFoundError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
