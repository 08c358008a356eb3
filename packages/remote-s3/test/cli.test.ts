/**
 * The whole workflow with the built `mlv` binary against each server (test-fixtures/cli-workflow.ts),
 * with files large enough for multipart uploads and ranged downloads.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { runCliWorkflow } from "../../../test-fixtures/cli-workflow.js";
import { createBucket, describeEachServer, dropBucket, optionsFor } from "./helpers.js";

const MiB = 1024 * 1024;

describeEachServer("mlv push / pull end to end", (server) => {
  let bucket: string;
  let dir: string;
  beforeAll(async () => {
    bucket = await createBucket(server());
    dir = mkdtempSync(join(tmpdir(), "mlv-s3-cli-"));
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await dropBucket(server(), bucket);
  });

  it("pushes a file and a folder, pulls them back byte for byte, and reports the remote in sync", async () => {
    const { repo } = await runCliWorkflow({
      dir,
      url: `s3://${bucket}/dvcstore`,
      modify: optionsFor(server()), // endpointurl, access_key_id, secret_access_key
      files: {
        "model.bin": randomBytes(20 * MiB + 17), // multipart upload, ranged download
        "data/a.txt": Buffer.from("alpha\n"),
        "data/b.bin": randomBytes(300_000),
        "data/empty": Buffer.alloc(0),
        "data/sub/c.csv": Buffer.from("x,y\n1,2\n"),
        "data/sub/deeper/d.bin": randomBytes(9 * MiB), // just over one part
      },
    });
    expect(readFileSync(join(repo, ".dvc", "config"), "utf8")).toContain("endpointurl");
  });
});
