#!/usr/bin/env node
// The floor of `mlv status` in Node: stat every file below each folder given, one worker thread
// per folder (mlv's status uses two threads on this machine: the workspace and the cache), and
// nothing else. Prints the number of files stat'ed.
//
//   node bench/node-stat-floor.cjs DIR CACHE_FILES
const { Worker, isMainThread, parentPort, workerData } = require("node:worker_threads");
const { readdirSync, statSync } = require("node:fs");

if (isMainThread) {
  const roots = process.argv.slice(2);
  let files = 0;
  let running = roots.length;
  for (const root of roots)
    new Worker(__filename, { workerData: root }).on("message", (n) => {
      files += n;
      if (--running === 0) process.stdout.write(`${files}\n`);
    });
} else {
  let n = 0;
  const visit = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) visit(path);
      else {
        statSync(path);
        n++;
      }
    }
  };
  visit(workerData);
  parentPort.postMessage(n);
}
