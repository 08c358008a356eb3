#!/usr/bin/env node
// Kept tiny so that `mlv --version` answers without loading the rest. Built as CommonJS, which
// starts a few milliseconds sooner than an ES module.
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import type * as Cli from "./cli.js";
import { requireWithCodeCache } from "./code-cache.js";

// Transfers run many small fs operations at once: two libuv threads per core (at least libuv's
// default 4). More threads than that only contend: on 2 cores, 16 threads made a push of 50,000
// small files to a local remote take 1.4-2x as long, most of it in the kernel. Must be set before the
// first asynchronous fs call.
process.env.UV_THREADPOOL_SIZE ??= String(Math.max(4, 2 * availableParallelism()));

// A reader that stops early (`mlv list | head -1`) closes the pipe: that ends the output, it is not
// a failure to report. Exit as a process killed by SIGPIPE does (128 + 13), quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(141);
    throw err;
  });
}

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === "--version" || args[0] === "-V")) {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
  process.stdout.write(`${pkg.version}\n`);
} else {
  const command = args.find((a) => !a.startsWith("-")) ?? "";
  const cli = requireWithCodeCache(
    fileURLToPath(new URL("./cli.cjs", import.meta.url)),
    /^[a-z-]{1,20}$/.test(command) ? command : "other",
  ) as typeof Cli;
  // A connection that vanishes mid-operation can leave a promise that never settles; Node would then
  // exit 0 having finished nothing. Nothing left to wait for before the command ended is a failure.
  let ended = false;
  process.on("beforeExit", () => {
    if (ended) return;
    ended = true;
    process.stderr.write(
      "ERROR: the command stopped before it finished (a connection was lost and an operation never completed): run it again; nothing half-written is kept\n",
    );
    process.exitCode = 1;
  });
  // Adapter packages are ES modules, imported from here: code run through `vm` cannot import().
  void cli.main(args, { importPackage: (name) => import(name) }).then((code) => {
    ended = true;
    process.exitCode = code;
  });
}
