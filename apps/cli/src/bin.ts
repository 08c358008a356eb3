#!/usr/bin/env node
// Kept tiny so that `mlv --version` answers without loading the rest.
import { readFileSync } from "node:fs";

// Transfers and checkouts run many small fs operations at once; libuv's default pool of 4 threads
// is the bottleneck for them. Must be set before the first asynchronous fs call.
process.env.UV_THREADPOOL_SIZE ??= "16";

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === "--version" || args[0] === "-V")) {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
  process.stdout.write(`${pkg.version}\n`);
} else {
  const { main } = await import("./cli.js");
  process.exitCode = await main(args);
}
