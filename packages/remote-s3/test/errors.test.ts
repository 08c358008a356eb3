import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { PermissionDeniedError, RemoteError, RemoteUnreachableError, ThrottledError } from "@mlv/core";
import adapter from "@mlv/remote-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { translate } from "../src/errors.js";
import { bucketName, createBucket, describeEachServer, dropBucket, remoteFor, servers } from "./helpers.js";

const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzSECRET";

async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a failure");
}

/** The message, its data and its cause chain's messages: none may hold the secret. */
function everythingShown(err: Error): string {
  const parts = [err.message, JSON.stringify((err as RemoteError).data ?? {})];
  return parts.join("\n");
}

describeEachServer("a bucket that does not exist", (server) => {
  it("is named in a clear error by list, write and read; exists() is false", async () => {
    const bucket = bucketName();
    const remote = await remoteFor(server(), `s3://${bucket}/store`, { secret_access_key: SECRET });
    const listing = await failure(
      (async () => {
        for await (const _ of remote.list("files/")) break;
      })(),
    );
    const writing = await failure(remote.write("files/md5/ab/cd", Readable.from([Buffer.from("x")]), 1));
    for (const err of [listing, writing]) {
      expect(err).toBeInstanceOf(RemoteError);
      expect((err as RemoteError).code).toBe("ENOBUCKET");
      expect((err as RemoteError).transient).toBe(false);
      expect(err.message).toContain(`bucket '${bucket}'`);
      expect(err.message).toContain(`s3://${bucket}/store`);
      expect(err.message).toMatch(/check the bucket name/);
      expect(everythingShown(err)).not.toContain(SECRET);
    }
    const reading = await failure(remote.read("files/md5/ab/cd"));
    expect(["ENOBUCKET", "ENOOBJECT"]).toContain((reading as RemoteError).code);
    expect(await remote.exists("files/md5/ab/cd")).toBe(false);
    await remote.close?.();
  });
});

describeEachServer(
  "wrong credentials (a server that checks signatures)",
  (server) => {
    let bucket: string;
    beforeAll(async () => {
      bucket = await createBucket(server());
    });
    afterAll(async () => {
      await dropBucket(server(), bucket).catch(() => {});
    });

    it("an unknown access key is PermissionDeniedError, telling what to check, without the secret", async () => {
      const remote = await remoteFor(server(), `s3://${bucket}`, {
        access_key_id: "AKIAUNKNOWNUNKNOWN00",
        secret_access_key: SECRET,
      });
      const err = await failure(remote.write("files/md5/ab/cd", Readable.from([Buffer.from("x")]), 1));
      expect(err).toBeInstanceOf(PermissionDeniedError);
      expect(err.message).toMatch(/InvalidAccessKeyId/);
      expect(err.message).toMatch(/check access_key_id\/secret_access_key or your AWS profile/);
      expect(err.message).toContain(`s3://${bucket}`);
      expect(everythingShown(err)).not.toContain(SECRET);
      expect((err as RemoteError).transient).toBe(false);
      await remote.close?.();
    });

    it("a wrong secret is PermissionDeniedError (SignatureDoesNotMatch), without the secret", async () => {
      const remote = await remoteFor(server(), `s3://${bucket}`, { secret_access_key: SECRET });
      const err = await failure(remote.exists("files/md5/ab/cd"));
      expect(err).toBeInstanceOf(PermissionDeniedError);
      expect(everythingShown(err)).not.toContain(SECRET);
      const listing = await failure(
        (async () => {
          for await (const _ of remote.list("")) break;
        })(),
      );
      expect(listing).toBeInstanceOf(PermissionDeniedError);
      expect(listing.message).toMatch(/SignatureDoesNotMatch/);
      expect(everythingShown(listing)).not.toContain(SECRET);
      await remote.close?.();
    });
  },
  ["moto-auth"],
);

describe("an endpoint that does not answer", () => {
  it("is RemoteUnreachableError (transient), naming the endpoint, without the secret", async () => {
    const remote = await adapter.create({
      name: "storage",
      url: "s3://some-bucket/x",
      options: {
        endpointurl: "http://127.0.0.1:9",
        access_key_id: "AK",
        secret_access_key: SECRET,
        connect_timeout: "2",
      },
    });
    const err = await failure(remote.exists("files/md5/ab/cd"));
    expect(err).toBeInstanceOf(RemoteUnreachableError);
    expect((err as RemoteError).transient).toBe(true);
    expect(err.message).toContain("http://127.0.0.1:9");
    expect(err.message).toContain("s3://some-bucket/x");
    expect(everythingShown(err)).not.toContain(SECRET);
    await remote.close?.();
  });
});

/** A fake S3 endpoint: records request headers and answers with `respond`. */
async function fakeS3(respond: (method: string) => { status: number; body?: string }) {
  const seen: IncomingHttpHeaders[] = [];
  const server: Server = createServer((req, res) => {
    seen.push(req.headers);
    req.resume();
    req.on("end", () => {
      const { status, body } = respond(req.method ?? "GET");
      res.writeHead(status, { "content-type": "application/xml", "x-amz-request-id": "1" });
      res.end(req.method === "HEAD" ? undefined : body);
    });
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { endpoint, seen, close: () => new Promise<void>((ok) => server.close(() => ok())) };
}

describe("with a fake endpoint", () => {
  it("SlowDown / 503 is ThrottledError (transient)", async () => {
    const fake = await fakeS3(() => ({
      status: 503,
      body: "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>",
    }));
    try {
      const remote = await adapter.create({
        name: "storage",
        url: "s3://some-bucket",
        options: { endpointurl: fake.endpoint, access_key_id: "AK", secret_access_key: SECRET },
      });
      const err = await failure(remote.read("files/md5/ab/cd"));
      expect(err).toBeInstanceOf(ThrottledError);
      expect((err as RemoteError).transient).toBe(true);
      expect(err.message).toMatch(/SlowDown/);
      expect(fake.seen.length).toBeGreaterThan(1); // the SDK retried before giving up
      await remote.close?.();
    } finally {
      await fake.close();
    }
  });

  it("allow_anonymous_login sends unsigned requests; otherwise they are signed", async () => {
    const fake = await fakeS3(() => ({ status: 404 }));
    try {
      const anon = await adapter.create({
        name: "storage",
        url: "s3://public-bucket",
        options: { endpointurl: fake.endpoint, allow_anonymous_login: "true" },
      });
      expect(await anon.exists("files/md5/ab/cd")).toBe(false);
      await anon.close?.();
      expect(fake.seen.at(-1)?.authorization).toBeUndefined();
      const signed = await adapter.create({
        name: "storage",
        url: "s3://public-bucket",
        options: { endpointurl: fake.endpoint, access_key_id: "AKIDEXAMPLE", secret_access_key: SECRET },
      });
      expect(await signed.exists("files/md5/ab/cd")).toBe(false);
      await signed.close?.();
      expect(fake.seen.at(-1)?.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\//);
    } finally {
      await fake.close();
    }
  });
});

describe("error translation", () => {
  const ctx = { displayUrl: "s3://b/p", bucket: "b", endpoint: "http://h:1", secrets: [SECRET] };
  const sdkError = (name: string, status: number, message = "m") =>
    Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status }, $fault: "client" });

  it("maps auth, throttling, network and server errors", () => {
    for (const name of ["AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken"])
      expect(translate(sdkError(name, 403), ctx, "read", "k"), name).toBeInstanceOf(PermissionDeniedError);
    for (const name of ["SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded"])
      expect(translate(sdkError(name, 400), ctx, "read", "k"), name).toBeInstanceOf(ThrottledError);
    expect(translate(sdkError("Unknown", 503), ctx, "read", "k")).toBeInstanceOf(ThrottledError);
    for (const code of ["ECONNREFUSED", "ENOTFOUND", "ETIMEDOUT", "ECONNRESET"])
      expect(translate(Object.assign(new Error(code), { code }), ctx, "read", "k"), code).toBeInstanceOf(
        RemoteUnreachableError,
      );
    expect(translate(Object.assign(new Error("t"), { name: "TimeoutError" }), ctx, "read", "k")).toBeInstanceOf(
      RemoteUnreachableError,
    );
    const internal = translate(
      Object.assign(sdkError("InternalError", 500), { $fault: "server" }),
      ctx,
      "read",
      "k",
    ) as RemoteError;
    expect(internal.transient).toBe(true);
    const bad = translate(sdkError("InvalidArgument", 400, `oops ${SECRET}`), ctx, "read", "k") as RemoteError;
    expect(bad.transient).toBe(false);
    expect(bad.message).not.toContain(SECRET);
  });

  it("says which settings to change in the message, and the command that changes them in the hint", () => {
    const named = { ...ctx, name: "store" };
    const region = translate(sdkError("PermanentRedirect", 301), named, "read", "k") as RemoteError;
    expect(region.code).toBe("EREGION");
    expect(region.message).toContain("set the remote's 'region'");
    expect(region.message).not.toContain("mlv remote modify");
    expect(region.hint).toBe("Set it with 'mlv remote modify store region REGION'.");
    const creds = translate(
      Object.assign(new Error("Could not load credentials from any providers"), { name: "CredentialsProviderError" }),
      named,
      "read",
      "k",
    ) as RemoteError;
    expect(creds).toBeInstanceOf(PermissionDeniedError);
    expect(creds.message).toContain("'access_key_id' and 'secret_access_key'");
    expect(creds.message).not.toContain("mlv remote modify");
    expect(creds.hint).toContain("'mlv remote modify --local store access_key_id ...'");
  });

  it("the servers under test are listed", () => {
    expect(servers().map((s) => s.name)).toEqual(["moto", "moto-auth", "s3rver"]);
  });
});
