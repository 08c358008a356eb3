#!/usr/bin/env node
/**
 * Runs the Cloud Storage emulator of firebase-tools on its own, without `firebase emulators:start`
 * (which wants Java 21 and downloads a rules-runtime jar). The storage emulator is Node code; only
 * its Security Rules runtime needs Java, and the GCS JSON API routes (the ones @google-cloud/storage
 * speaks) never consult rules, so the runtime and the rules manager are replaced by no-ops.
 *
 *   node launch.cjs [--host 127.0.0.1] [--port PORT] [--dir DIR] [--project demo-mlv] [--remove-dir]
 *
 * --port 0 (the default) picks a free port. Object bytes are kept under DIR (default: a fresh temp
 * folder). When the emulator listens, one line goes to stdout:
 *
 *   mlv-gcs-emulator listening http://127.0.0.1:PORT
 *
 * It stops on SIGTERM/SIGINT, or when its stdin closes (the parent went away); with --remove-dir
 * (implied when it made DIR itself) it then deletes DIR.
 * Buckets need no creation: they appear on first use.
 */
"use strict";

const { mkdtempSync, rmSync } = require("node:fs");
const net = require("node:net");
const os = require("node:os");
const path = require("node:path");

function arg(name, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? fallback : process.argv[at + 1];
}

const host = arg("host", "127.0.0.1");
const wantedPort = Number(arg("port", "0"));
const projectId = arg("project", "demo-mlv");
const givenDir = arg("dir", undefined);
const dir = givenDir ?? mkdtempSync(path.join(os.tmpdir(), "mlv-gcs-emulator-"));
const removeDir = givenDir === undefined || process.argv.includes("--remove-dir");

// The emulator keeps its blobs in `${os.tmpdir()}/firebase/storage/blobs`: point that at our folder.
process.env.TMPDIR = dir;

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, host, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function main() {
  const { StorageEmulator } = require("firebase-tools/lib/emulator/storage");
  const { StorageRulesRuntime } = require("firebase-tools/lib/emulator/storage/rules/runtime");
  const { EmulatorRegistry } = require("firebase-tools/lib/emulator/registry");

  StorageRulesRuntime.prototype.start = async () => {};
  StorageRulesRuntime.prototype.stop = async () => {};
  const noRules = {
    start: async () => {},
    stop: async () => {},
    getRuleset: () => undefined,
  };
  StorageEmulator.prototype.createRulesManager = () => noRules;

  let lastError;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = wantedPort || (await freePort());
    const emulator = new StorageEmulator({ host, port, projectId, auto_download: false, rules: undefined });
    try {
      await EmulatorRegistry.start(emulator);
    } catch (err) {
      lastError = err;
      await EmulatorRegistry.stop(emulator.getName()).catch(() => {});
      if (wantedPort) break; // a fixed port that is taken: no point in trying it again
      continue;
    }
    let stopping = false;
    const stop = async () => {
      if (stopping) return;
      stopping = true;
      try {
        await EmulatorRegistry.stopAll();
      } finally {
        if (removeDir) rmSync(dir, { recursive: true, force: true });
        process.exit(0);
      }
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
    process.stdin.on("end", stop);
    process.stdin.on("close", stop);
    process.stdin.resume();
    process.stdout.write(`mlv-gcs-emulator listening http://${host}:${port}\n`);
    return;
  }
  throw lastError;
}

main().catch((err) => {
  process.stderr.write(`mlv-gcs-emulator failed to start: ${err?.stack ?? err}\n`);
  process.exit(1);
});
