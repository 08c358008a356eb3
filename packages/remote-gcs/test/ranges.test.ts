/**
 * Ranged reads against a stub that answers Range headers as Cloud Storage does: 206 with exactly
 * the bytes asked for, 416 for a range starting at or past the end. The emulator answers the
 * latter with the whole object instead (the conformance suite covers that), so the 416 path is
 * only seen here.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { ObjectNotFoundError, type Remote, RemoteError } from "@mlv/core";
import adapter from "@mlv/remote-gcs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const OBJECT = Buffer.from("0123456789abcdefghij");

let stub: Server;
let remote: Remote;
const ranges: (string | undefined)[] = [];
/** When set, 206 answers start this many bytes after the offset asked for (a misbehaving server). */
let startLate = 0;

function jsonError(res: ServerResponse, status: number, message: string): void {
  const body = JSON.stringify({ error: { code: status, message, errors: [{ message, reason: "x" }] } });
  res.writeHead(status, { "content-type": "application/json; charset=UTF-8" }).end(body);
}

function answer(req: IncomingMessage, res: ServerResponse): void {
  req.resume();
  req.on("end", () => {
    const name = decodeURIComponent(/\/o\/([^?]+)/.exec(req.url ?? "")?.[1] ?? "");
    if (name !== "proj/k") return jsonError(res, 404, `No such object: some-bucket/${name}`);
    ranges.push(req.headers.range);
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? "");
    if (!m) return res.writeHead(200, { "content-length": String(OBJECT.length) }).end(OBJECT);
    const start = Number(m[1]) + startLate;
    if (start >= OBJECT.length) return jsonError(res, 416, "The requested range cannot be satisfied.");
    const end = Math.min(OBJECT.length - 1, m[2] === "" ? Number.POSITIVE_INFINITY : Number(m[2]));
    res.writeHead(206, {
      "content-length": String(end - start + 1),
      "content-range": `bytes ${start}-${end}/${OBJECT.length}`,
    });
    res.end(OBJECT.subarray(start, end + 1));
  });
}

beforeAll(async () => {
  stub = createServer(answer);
  await new Promise<void>((ok) => stub.listen(0, "127.0.0.1", ok));
  const endpointurl = `http://127.0.0.1:${(stub.address() as AddressInfo).port}`;
  remote = await adapter.create({ name: "storage", url: "gs://some-bucket/proj", options: { endpointurl } });
});
afterAll(async () => {
  await remote?.close?.();
  await new Promise((ok) => stub.close(ok));
});

async function text(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}

describe("ranged reads, as Cloud Storage answers them", () => {
  it("send the Range header and return the bytes of the 206", async () => {
    ranges.length = 0;
    expect(await text(await remote.read("k", { offset: 5, length: 4 }))).toBe("5678");
    expect(await text(await remote.read("k", { offset: 15 }))).toBe("fghij");
    expect(await text(await remote.read("k", { offset: 18, length: 10 }))).toBe("ij");
    expect(await text(await remote.read("k", { offset: 0 }))).toBe(OBJECT.toString());
    expect(ranges).toEqual(["bytes=5-8", "bytes=15-", "bytes=18-27", undefined]);
  });

  it("turn a 416 for a range at or past the end into an empty stream", async () => {
    expect(await text(await remote.read("k", { offset: 20 }))).toBe("");
    expect(await text(await remote.read("k", { offset: 25, length: 3 }))).toBe("");
  });

  it("of a missing object throw ObjectNotFoundError", async () => {
    await expect(remote.read("nothing", { offset: 3, length: 2 })).rejects.toBeInstanceOf(ObjectNotFoundError);
  });

  it("fail when the server sends bytes from after the offset, rather than give the wrong bytes", async () => {
    startLate = 2;
    try {
      const err = await remote.read("k", { offset: 3, length: 4 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RemoteError);
      expect((err as RemoteError).code).toBe("EREMOTEIO");
    } finally {
      startLate = 0;
    }
  });
});
