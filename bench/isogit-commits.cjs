#!/usr/bin/env node
// The floor of a first history read through isomorphic-git: every commit reachable from a branch
// or a tag read with isomorphic-git's readCommit, and nothing else (no tree, no blob): the work
// `git log --all` does. It prints how many commits it read. Run in a repository:
//
//   node bench/isogit-commits.cjs
//
// It uses isomorphic-git as well as it can be used: one shared `cache` object, file reads,
// listings and stats answered once each (git's files do not change while it runs), and the pack
// index's `readDepth` started at 4 so that objects at the base of delta chains are kept, the fix
// mlv applies too (an index read from disk starts it undefined, which never keeps any).
const { createRequire } = require("node:module");
const nodeFs = require("node:fs");
const { join } = require("node:path");

const git = createRequire(join(__dirname, "..", "packages", "core", "package.json"))("isomorphic-git");

const once = new Map();
const remembered =
  (name) =>
  (...args) => {
    const key = `${name}\0${args[0]}\0${JSON.stringify(args[1] ?? null)}`;
    let result = once.get(key);
    if (result === undefined) {
      result = nodeFs.promises[name](...args);
      once.set(key, result);
    }
    return result;
  };
const fs = {
  promises: {
    ...nodeFs.promises,
    readFile: remembered("readFile"),
    readdir: remembered("readdir"),
    stat: remembered("stat"),
    lstat: remembered("lstat"),
    readlink: remembered("readlink"),
  },
};

function keepDeltaBases(cache) {
  for (const key of Object.getOwnPropertySymbols(cache)) {
    const packs = cache[key];
    if (!(packs instanceof Map)) continue;
    for (const pending of packs.values())
      Promise.resolve(pending).then((index) => {
        if (index && (index.readDepth === undefined || Number.isNaN(index.readDepth))) index.readDepth = 4;
      });
  }
}

async function main() {
  const dir = process.cwd();
  const cache = {};
  const refs = [...(await git.listBranches({ fs, dir })), ...(await git.listTags({ fs, dir }))];
  const todo = [];
  for (const ref of refs) todo.push(await git.resolveRef({ fs, dir, ref }));
  const seen = new Set();
  let commits = 0;
  while (todo.length > 0) {
    const oid = todo.pop();
    if (seen.has(oid)) continue;
    seen.add(oid);
    const { type, object } = await git.readObject({ fs, dir, oid, cache, format: "parsed" });
    keepDeltaBases(cache);
    if (type === "tag") todo.push(object.object);
    else if (type === "commit") {
      commits++;
      todo.push(...object.parent);
    }
  }
  process.stdout.write(`${commits}\n`);
}

main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exit(1);
});
