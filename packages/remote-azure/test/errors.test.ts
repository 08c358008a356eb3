/** What users see when the container, the credentials or the network are wrong: clear, and without secrets. */
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import {
  MlvError,
  ObjectNotFoundError,
  PermissionDeniedError,
  type Remote,
  RemoteError,
  RemoteUnreachableError,
  ThrottledError,
} from "@mlv/core";
import adapter from "@mlv/remote-azure";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { azurite, connectionString, connectionStringWithKey, newContainer, noServer } from "./helpers.js";

const KEY = "files/md5/ab/cdef0123456789abcdef0123456789";

function remoteWith(url: string, options: Record<string, string>): Promise<Remote> {
  return Promise.resolve(adapter.create({ name: "storage", url, options }));
}

async function failure(promise: Promise<unknown>): Promise<MlvError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(MlvError);
    return err as MlvError;
  }
  throw new Error("expected the call to fail");
}

/** Everything a user or a log could see of the error: message, cause (with its stack), data. */
function everythingShown(err: MlvError): string {
  const cause = err.cause as Error | undefined;
  return [String(err), err.stack, JSON.stringify(err.data), cause?.message, cause?.stack, String(cause)].join("\n");
}

function expectNoSecret(err: MlvError, secrets: string[]): void {
  const shown = everythingShown(err);
  for (const secret of secrets) {
    expect(shown).not.toContain(secret);
    expect(shown).not.toContain(encodeURIComponent(secret));
  }
}

describe.skipIf(noServer)("azure errors (Azurite)", () => {
  let container: Awaited<ReturnType<typeof newContainer>>;
  beforeAll(async () => {
    container = await newContainer();
  });
  afterAll(async () => {
    await container?.drop();
  });

  it("a missing container is named, with its account, by every call", async () => {
    const remote = await remoteWith("azure://no-such-container/data", { connection_string: connectionString() });
    const calls: [string, () => Promise<unknown>][] = [
      [
        "list",
        async () => {
          for await (const _ of remote.list("files/")) break;
        },
      ],
      ["exists", () => remote.exists(KEY)],
      ["read", () => remote.read(KEY)],
      ["write", () => remote.write(KEY, Readable.from([Buffer.from("x")]), 1)],
      ["delete", () => remote.delete(KEY)],
    ];
    for (const [what, call] of calls) {
      const err = await failure(call());
      expect(err.code, what).toBe("ENOCONTAINER");
      expect(err).not.toBeInstanceOf(ObjectNotFoundError);
      expect(err.message, what).toContain("'no-such-container'");
      expect(err.message, what).toContain("'devstoreaccount1'");
      expect(err.message, what).toContain("azure://no-such-container/data");
      expect(err.message, what).not.toContain("az storage");
      expect(err.hint, what).toBe(
        "Create it with 'az storage container create --name no-such-container --account-name devstoreaccount1'.",
      );
      expectNoSecret(err, [
        azurite.connectionString!,
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==",
      ]);
    }
  });

  it("a wrong account key is PermissionDeniedError, and the key is not shown", async () => {
    const wrongKey = randomBytes(64).toString("base64");
    const cs = connectionStringWithKey(wrongKey);
    const remote = await remoteWith(`azure://${container.name}`, { connection_string: cs });
    for (const call of [
      () => remote.exists(KEY),
      () => remote.write(KEY, Readable.from([Buffer.from("x")]), 1),
      async () => {
        for await (const _ of remote.list("")) break;
      },
    ]) {
      const err = await failure(call());
      expect(err).toBeInstanceOf(PermissionDeniedError);
      expect((err as RemoteError).transient).toBe(false);
      expect(err.message).toContain("account_key/sas_token/connection_string");
      expect(err.message).toContain(`azure://${container.name}`);
      expectNoSecret(err, [wrongKey, cs]);
    }
  });

  it("a SAS whose signature is wrong is refused, and the SAS is not shown", async () => {
    const sig = randomBytes(32).toString("base64");
    const sas = `sv=2021-08-06&ss=b&srt=sco&sp=rwdlac&se=2099-01-01T00:00:00Z&st=2020-01-01T00:00:00Z&spr=https,http&sig=${encodeURIComponent(sig)}`;
    const cs = `BlobEndpoint=${azurite.blobEndpoint};SharedAccessSignature=${sas}`;
    const remote = await remoteWith(`azure://${container.name}`, { connection_string: cs });
    const err = await failure(remote.exists(KEY));
    expect(err).toBeInstanceOf(PermissionDeniedError);
    expectNoSecret(err, [sas, sig, cs]);
  });

  it("an endpoint where nothing listens is RemoteUnreachableError (transient)", async () => {
    const port = await new Promise<number>((ok) => {
      const s = createServer();
      s.listen(0, "127.0.0.1", () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => ok(p));
      });
    });
    const cs = connectionString().replace(
      /BlobEndpoint=[^;]+/,
      `BlobEndpoint=http://127.0.0.1:${port}/devstoreaccount1`,
    );
    const remote = await remoteWith(`azure://${container.name}`, { connection_string: cs });
    const err = await failure(remote.exists(KEY));
    expect(err).toBeInstanceOf(RemoteUnreachableError);
    expect((err as RemoteError).transient).toBe(true);
    expect(err.message).toContain("check the network");
    expectNoSecret(err, [cs]);
  }, 30_000);
});

describe("azure errors from a server that answers with errors", () => {
  let server: Server;
  let status = 503;
  let code = "ServerBusy";
  let port = 0;
  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      res.writeHead(status, { "content-type": "application/xml", "x-ms-error-code": code });
      res.end(`<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>injected</Message></Error>`);
    });
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((ok) => server.close(ok));
  });
  const key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
  const remote = () =>
    remoteWith("azure://c1/p", {
      connection_string: `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${key};BlobEndpoint=http://127.0.0.1:${port}/devstoreaccount1;`,
    });

  it("503 ServerBusy is ThrottledError (transient)", async () => {
    status = 503;
    code = "ServerBusy";
    const err = await failure((await remote()).delete(KEY));
    expect(err).toBeInstanceOf(ThrottledError);
    expect((err as RemoteError).transient).toBe(true);
    expectNoSecret(err, [key]);
  }, 30_000);

  it("429 is ThrottledError (transient)", async () => {
    status = 429;
    code = "TooManyRequests";
    const err = await failure((await remote()).delete(KEY));
    expect(err).toBeInstanceOf(ThrottledError);
  }, 30_000);

  it("500 is a transient RemoteError; 400 is not transient", async () => {
    status = 500;
    code = "InternalError";
    let err = await failure((await remote()).delete(KEY));
    expect(err).toBeInstanceOf(RemoteError);
    expect((err as RemoteError).transient).toBe(true);
    status = 400;
    code = "InvalidQueryParameterValue";
    err = await failure((await remote()).delete(KEY));
    expect((err as RemoteError).transient).toBe(false);
    expect(err.message).toContain("InvalidQueryParameterValue");
  }, 30_000);

  it("403 AuthorizationFailure is PermissionDeniedError", async () => {
    status = 403;
    code = "AuthorizationFailure";
    const err = await failure((await remote()).delete(KEY));
    expect(err).toBeInstanceOf(PermissionDeniedError);
  }, 30_000);
});
