/**
 * The JavaScript API on stage outputs: `read` finds a `dvc.yaml` output by its hash in `dvc.lock`,
 * in the workspace and at a tag, and a `cache: false` metrics output as the plain file git holds.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { read } from "../src/api/read.js";

const work = mkdtempSync(join(tmpdir(), "mlv-api-pipeline-"));
const dir = join(work, "project");
const md5 = (data: string) => createHash("md5").update(data).digest("hex");

function write(path: string, data: string): void {
  mkdirSync(dirname(join(dir, path)), { recursive: true });
  writeFileSync(join(dir, path), data);
}

function git(...args: string[]): void {
  execFileSync("git", ["-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false", ...args], {
    cwd: dir,
    env: {
      ...process.env,
      HOME: work,
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_CONFIG_GLOBAL: "/dev/null",
      GIT_AUTHOR_NAME: "Ada",
      GIT_AUTHOR_EMAIL: "ada@example.com",
      GIT_COMMITTER_NAME: "Ada",
      GIT_COMMITTER_EMAIL: "ada@example.com",
    },
    stdio: "ignore",
  });
}

/** One run of a `train` stage (wdir `src`) writing `../model.bin` and a metrics file kept in git. */
function run(model: string, metrics: string): void {
  write("model.bin", model);
  write("metrics.json", metrics);
  const oid = md5(model);
  write(`.dvc/cache/files/md5/${oid.slice(0, 2)}/${oid.slice(2)}`, model);
  write(
    "dvc.lock",
    `schema: '2.0'\nstages:\n  train:\n    cmd: python train.py\n    outs:\n    - path: ../metrics.json\n      hash: md5\n      md5: ${md5(metrics)}\n      size: ${metrics.length}\n    - path: ../model.bin\n      hash: md5\n      md5: ${oid}\n      size: ${model.length}\n`,
  );
}

beforeAll(() => {
  mkdirSync(dir, { recursive: true });
  git("init", "-q", "-b", "main");
  write(".dvc/config", "");
  write(".dvc/.gitignore", "/config.local\n/tmp\n/cache\n");
  write(".gitignore", "/model.bin\n");
  write(
    "dvc.yaml",
    "stages:\n  train:\n    wdir: src\n    cmd: python train.py\n    outs:\n    - ../model.bin\n    metrics:\n    - ../metrics.json:\n        cache: false\n",
  );
  run("model one\n", '{"acc": 0.5}');
  git("add", "-A");
  git("commit", "-q", "-m", "one");
  git("tag", "v1.0");
  run("model two\n", '{"acc": 0.75}');
  git("commit", "-q", "-am", "two");
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("read a stage output", () => {
  it("in the workspace and at a tag, from the cache", async () => {
    expect(await read("model.bin", { repo: dir, encoding: "utf8" })).toBe("model two\n");
    expect(await read("model.bin", { repo: dir, rev: "v1.0", encoding: "utf8" })).toBe("model one\n");
  });

  it("a `cache: false` output is the file git holds at that revision", async () => {
    expect(await read("metrics.json", { repo: dir, rev: "v1.0", encoding: "utf8" })).toBe('{"acc": 0.5}');
  });
});
