#!/usr/bin/env node
/**
 * Load a model at a tagged version without a checkout, and print its md5.
 *
 *   node load-model.mjs [REPO] [PATH] [REV]      (defaults: the current folder, model.h5, v1.0)
 *
 * The bytes come from the local cache when it has them, else they are streamed from the project's
 * default remote (local folder, S3, GCS, Azure, SSH: whichever `@mlv/remote-*` package serves it)
 * and verified on the way: a corrupt object makes the stream fail instead of ending.
 */
import { createHash } from "node:crypto";
import { open } from "@mlv/core";

const [repo = process.cwd(), path = "model.h5", rev = "v1.0"] = process.argv.slice(2);

try {
  const stream = await open(path, { repo, rev });
  const hash = createHash("md5");
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk);
    size += chunk.length;
  }
  console.log(`${path}@${rev}: ${size} bytes, md5 ${hash.digest("hex")}`);
} catch (err) {
  // MlvErrors name the file, revision or remote involved and say what to do.
  console.error(`error: ${err.message}`);
  process.exitCode = 1;
}
