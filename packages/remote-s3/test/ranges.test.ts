/**
 * Ranged reads against fake endpoints that answer a Range header as some S3-compatible servers
 * do: by ignoring it, or with other bytes than asked. (The conformance suite covers AWS's own
 * answers through moto, and s3rver's widened ranges.)
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { RemoteError } from "@mlv/core";
import adapter from "@mlv/remote-s3";
import { describe, expect, it } from "vitest";

const OBJECT = Buffer.from("0123456789abcdefghij");

/** A fake S3 endpoint serving OBJECT; `answer` decides the status, Content-Range and body of a GET. */
async function fakeS3(answer: (range: string | undefined) => { status: number; contentRange?: string; body: Buffer }) {
  const ranges: (string | undefined)[] = [];
  const server: Server = createServer((req, res) => {
    ranges.push(req.headers.range);
    req.resume();
    req.on("end", () => {
      const { status, contentRange, body } = answer(req.headers.range);
      res.writeHead(status, {
        "content-type": "application/octet-stream",
        "content-length": String(body.length),
        etag: '"e"',
        ...(contentRange === undefined ? {} : { "content-range": contentRange }),
      });
      res.end(body);
    });
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const remote = await adapter.create({
    name: "storage",
    url: "s3://some-bucket",
    options: { endpointurl: endpoint, access_key_id: "AK", secret_access_key: "SK" },
  });
  return {
    remote,
    ranges,
    close: async () => {
      await remote.close?.();
      await new Promise<void>((ok) => server.close(() => ok()));
    },
  };
}

async function text(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}

describe("ranged reads", () => {
  it("from a server that ignores the Range header (200, the whole object) are cut to the range", async () => {
    const fake = await fakeS3(() => ({ status: 200, body: OBJECT }));
    try {
      expect(await text(await fake.remote.read("k", { offset: 5, length: 4 }))).toBe("5678");
      expect(await text(await fake.remote.read("k", { offset: 15 }))).toBe("fghij");
      expect(await text(await fake.remote.read("k", { offset: 18, length: 10 }))).toBe("ij");
      expect(await text(await fake.remote.read("k", { offset: 20, length: 10 }))).toBe("");
      expect(fake.ranges).toEqual(["bytes=5-8", "bytes=15-", "bytes=18-27", "bytes=20-29"]);
    } finally {
      await fake.close();
    }
  });

  it("from a server that sends more than the range asked for (206) are cut to the range", async () => {
    const fake = await fakeS3(() => ({ status: 206, contentRange: "bytes 0-19/20", body: OBJECT }));
    try {
      expect(await text(await fake.remote.read("k", { offset: 0, length: 1 }))).toBe("0");
      expect(await text(await fake.remote.read("k", { offset: 0, length: 12 }))).toBe("0123456789ab");
    } finally {
      await fake.close();
    }
  });

  it("from a server that starts before the offset are cut to the range", async () => {
    const fake = await fakeS3(() => ({ status: 206, contentRange: "bytes 4-7/20", body: OBJECT.subarray(4, 8) }));
    try {
      expect(await text(await fake.remote.read("k", { offset: 6, length: 2 }))).toBe("67");
    } finally {
      await fake.close();
    }
  });

  it("from a server that starts after the offset fail, rather than give the wrong bytes", async () => {
    const fake = await fakeS3(() => ({ status: 206, contentRange: "bytes 4-7/20", body: OBJECT.subarray(4, 8) }));
    try {
      const err = await fake.remote.read("k", { offset: 2, length: 6 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RemoteError);
      expect((err as RemoteError).code).toBe("EREMOTEIO");
    } finally {
      await fake.close();
    }
  });

  it("of the whole object (offset 0, no length) are a plain GET, without a Range header", async () => {
    const fake = await fakeS3(() => ({ status: 200, body: OBJECT }));
    try {
      expect(await text(await fake.remote.read("k", { offset: 0 }))).toBe(OBJECT.toString());
      expect(fake.ranges).toEqual([undefined]);
    } finally {
      await fake.close();
    }
  });
});
