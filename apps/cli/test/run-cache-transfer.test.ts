/**
 * `push`, `pull` and `fetch` with `--run-cache`, against the real DVC both ways: the run cache's
 * entries (`.dvc/cache/runs/…`) go to and come from `<remote>/runs/…` byte for byte, DVC uses what
 * mlv moved, and entries a remote should not hold are refused.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dvc, makePipelineProject, mustDvc, requireDvc } from "../../../test-fixtures/dvc-peer.js";
import { motoAvailable, type RunningS3Server, startMoto } from "../../../test-fixtures/servers/s3.js";
import { Sandbox, sandbox } from "./helpers.js";

const DVC = requireDvc("the run-cache transfer tests");

/** The files below `runs/` of a cache or remote folder, relative to it, with their bytes. */
function runsOf(root: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const rel of filesBelow(root)) if (rel.startsWith("runs/")) files[rel] = readFileSync(join(root, rel), "utf8");
  return files;
}

const filesBelow = (root: string) => Sandbox.listFiles(root);

/** A clone of the sandbox's repository beside it: git's files only, as a colleague gets it. */
function cloneOf(s: Sandbox, name: string): string {
  const dir = join(s.dir, name);
  s.mustGit("clone", "-q", s.repo, dir);
  return dir;
}

/**
 * The smallest pipeline with a run cache of two runs, made by DVC: `foo` (tracked by foo.dvc) is
 * copied to `bar`, run once with foo = "v1" and once with "v2" (the workspace's state), and
 * committed with a default local remote that nothing has been pushed to.
 */
function twoRuns(s: Sandbox): void {
  mustDvc(s.repo, "init", "-q");
  mustDvc(s.repo, "remote", "add", "-d", "storage", s.remote);
  s.write("foo", "v1\n");
  mustDvc(s.repo, "add", "-q", "foo");
  mustDvc(s.repo, "stage", "add", "-q", "-n", "copy", "-d", "foo", "-o", "bar", "cp foo bar");
  mustDvc(s.repo, "repro", "-q");
  s.write("foo", "v2\n");
  mustDvc(s.repo, "add", "-q", "foo");
  mustDvc(s.repo, "repro", "-q");
  s.mustGit("add", "-A");
  s.mustGit("commit", "-q", "-m", "two runs of copy");
}

/** In `dir`: go back to foo = "v1" and reproduce with DVC; what DVC says. */
function reproduceFirstRun(dir: string): string {
  writeFileSync(join(dir, "foo"), "v1\n");
  mustDvc(dir, "add", "-q", "foo");
  return mustDvc(dir, "repro").stdout;
}

describe.skipIf(!DVC)("--run-cache against the real DVC", () => {
  it("a fresh clone's `mlv pull --run-cache` gets the runs/ files DVC pushed, byte for byte", () => {
    const s = sandbox();
    makePipelineProject(s.repo, { remote: s.remote });
    mustDvc(s.repo, "push", "-q", "--run-cache");
    const pushed = runsOf(s.remote);
    // One entry per stage of the pipeline, as DVC keeps them.
    expect(Object.keys(pushed)).toHaveLength(4);
    expect(runsOf(s.path(".dvc/cache"))).toEqual(pushed);
    const objects = filesBelow(s.remote).filter((f) => f.startsWith("files/md5/")).length;

    const clone = sandbox({ git: false });
    clone.mustGit("clone", "-q", s.repo, ".");
    const r = clone.mlv("pull", "--run-cache", "--json");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout);
    // As in DVC, the count of files fetched is the data's; the run cache has its own.
    expect(result.fetched).toBe(objects);
    expect(result.runCache).toEqual({ fetched: 4, skipped: 0, refused: [] });
    expect(runsOf(clone.path(".dvc/cache"))).toEqual(pushed);
    // The mode DVC gives the entries it writes (0644 under the usual umask).
    for (const rel of Object.keys(pushed))
      expect(clone.stat(`.dvc/cache/${rel}`).mode & 0o777, rel).toBe(s.stat(`.dvc/cache/${rel}`).mode & 0o777);

    // Again: nothing new, and no flag means no run cache.
    const again = clone.must("fetch", "--run-cache");
    expect(again.stdout).toBe("Everything is up to date.\n");
    clone.rm(".dvc/cache/runs");
    clone.must("fetch");
    expect(clone.exists(".dvc/cache/runs")).toBe(false);
    clone.must("fetch", "--run-cache");
    expect(runsOf(clone.path(".dvc/cache"))).toEqual(pushed);
  });

  it("`mlv push --run-cache` sends what DVC sends, and `dvc pull --run-cache` in another clone uses it", () => {
    const s = sandbox();
    twoRuns(s);
    const local = runsOf(s.path(".dvc/cache"));
    expect(Object.keys(local)).toHaveLength(2);

    const r = s.mlv("push", "--run-cache");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    // The run entries count among the files pushed, as DVC counts them: 1 object and 2 entries.
    expect(r.stdout).toBe("3 files pushed\n");
    expect(runsOf(s.remote)).toEqual(local);
    // DVC's push of the same repository, to a remote of its own: the same files, so only the
    // workspace's data goes with the entries, not the objects of the first run's outputs.
    const dvcRemote = join(s.dir, "dvc-remote");
    mkdirSync(dvcRemote, { recursive: true });
    mustDvc(s.repo, "remote", "add", "theirs", dvcRemote);
    expect(mustDvc(s.repo, "push", "--run-cache", "-r", "theirs").stdout).toBe("3 files pushed\n");
    expect(filesBelow(s.remote)).toEqual(filesBelow(dvcRemote));

    // Entries already there are not sent again.
    expect(s.must("push", "--run-cache").stdout).toBe("Everything is up to date.\n");

    const withRuns = cloneOf(s, "with-runs");
    mustDvc(withRuns, "pull", "--run-cache");
    expect(runsOf(join(withRuns, ".dvc/cache"))).toEqual(local);
    const said = reproduceFirstRun(withRuns);
    expect(said).toContain("Stage 'copy' is cached - skipping run, checking out outputs");
    expect(readFileSync(join(withRuns, "bar"), "utf8")).toBe("v1\n");

    // The same without the run cache runs the command: the entry is what made the difference.
    const without = cloneOf(s, "without-runs");
    mustDvc(without, "pull");
    expect(reproduceFirstRun(without)).toContain("Running stage 'copy'");
  });

  it("targets limit the data, never the run cache: all of it goes first, even when a target is wrong", () => {
    const s = sandbox();
    twoRuns(s);
    const dvcRemote = join(s.dir, "dvc-remote");
    mkdirSync(dvcRemote, { recursive: true });
    mustDvc(s.repo, "remote", "add", "theirs", dvcRemote);

    const wrong = s.mlv("push", "--run-cache", "no-such-target");
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain("'no-such-target' does not exist");
    const theirs = dvc(s.repo, "push", "--run-cache", "-r", "theirs", "no-such-target");
    expect(theirs.code).toBe(1);
    expect(filesBelow(s.remote)).toHaveLength(2);
    expect(runsOf(s.remote)).toEqual(runsOf(dvcRemote));
    expect(filesBelow(s.remote)).toEqual(filesBelow(dvcRemote));

    // A target picks the data; the whole run cache still goes.
    for (const dir of [s.remote, dvcRemote]) {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir);
    }
    expect(s.must("push", "--run-cache", "bar").stdout).toBe("3 files pushed\n");
    expect(mustDvc(s.repo, "push", "--run-cache", "-r", "theirs", "bar").stdout).toBe("3 files pushed\n");
    expect(filesBelow(s.remote)).toEqual(filesBelow(dvcRemote));
  });
});

describe("--run-cache and a remote holding what it should not", () => {
  it("fetch refuses names that are no entry's and content that is no lock entry, with a warning each", () => {
    const s = sandbox({ init: "dvc" });
    s.useRemote();
    const key = "aac099cc86872ac784d7736086d116f4d889e5801457d2fde7631b4dc8c2babe";
    const value = "b1390fa771551d8d2478f39f3199caa879bccad2cad16cb73094313118b043b8";
    const entry =
      "cmd: cp foo bar\ndeps:\n- path: foo\n  hash: md5\n  md5: 258622b1688250cb619f3c9ccaefb7eb\n  size: 4\n" +
      "outs:\n- path: bar\n  hash: md5\n  md5: 258622b1688250cb619f3c9ccaefb7eb\n  size: 4\n";
    const good = `runs/aa/${key}/${value}`;
    const bad = {
      [`runs/zz/notakey/${value}`]: entry,
      [`runs/ab/${key}/${value}`]: entry, // the folder is not the key's first two digits
      [`runs/aa/${key}/${value}.tmp`]: entry,
      [`runs/aa/${key}/${"0".repeat(64)}`]: "cmd: cp foo bar\n", // no outputs: nothing to restore
      [`runs/aa/${key}/${"1".repeat(64)}`]: "{not yaml\n",
    };
    for (const [rel, text] of Object.entries({ [good]: entry, ...bad })) {
      mkdirSync(dirname(join(s.remote, rel)), { recursive: true });
      writeFileSync(join(s.remote, rel), text);
    }
    const r = s.mlv("fetch", "--run-cache");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("Everything is up to date.\n");
    const warnings = r.stderr.split("\n").filter(Boolean);
    expect(warnings).toHaveLength(Object.keys(bad).length);
    for (const rel of Object.keys(bad))
      expect(
        warnings.filter((w) => w.startsWith(`WARNING: '${rel}' on `)),
        rel,
      ).toHaveLength(1);
    expect(runsOf(s.path(".dvc/cache"))).toEqual({ [good]: entry });
  });
});

const moto = motoAvailable();
if (!moto.ok) {
  if (process.env.CI === "true") throw new Error(`CI=true: the run-cache S3 test needs moto: ${moto.reason}`);
  process.stderr.write(`\n!!! moto cannot run here (${moto.reason}): THE RUN-CACHE S3 TEST IS SKIPPED\n\n`);
}

describe.skipIf(!DVC || !moto.ok)("--run-cache with an S3 remote (moto), against the real DVC", () => {
  let server: RunningS3Server;
  beforeAll(async () => {
    server = await startMoto();
    const made = await fetch(`${server.endpoint}/runs-bucket`, { method: "PUT" });
    expect(made.status).toBe(200);
  }, 60_000);
  afterAll(() => server?.stop());

  /** Add remote `name` at `s3://runs-bucket/<name>` on the moto server, in git like DVC would keep it. */
  function addS3Remote(s: Sandbox, name: string): void {
    mustDvc(s.repo, "remote", "add", name, `s3://runs-bucket/${name}`);
    for (const [key, value] of [
      ["endpointurl", server.endpoint],
      ["access_key_id", server.credentials.accessKeyId],
      ["secret_access_key", server.credentials.secretAccessKey],
    ] as const)
      mustDvc(s.repo, "remote", "modify", name, key, value);
  }

  it("entries go to <prefix>/runs/ where DVC looks for them, and come back from where DVC puts them", () => {
    const s = sandbox();
    twoRuns(s);
    addS3Remote(s, "mlv-pushed");
    addS3Remote(s, "dvc-pushed");
    s.mustGit("commit", "-q", "-am", "S3 remotes");
    const local = runsOf(s.path(".dvc/cache"));

    expect(s.must("push", "--run-cache", "-r", "mlv-pushed").stdout).toBe("3 files pushed\n");
    const withRuns = cloneOf(s, "with-runs");
    mustDvc(withRuns, "pull", "--run-cache", "-r", "mlv-pushed");
    expect(runsOf(join(withRuns, ".dvc/cache"))).toEqual(local);
    expect(reproduceFirstRun(withRuns)).toContain("Stage 'copy' is cached - skipping run, checking out outputs");

    mustDvc(s.repo, "push", "--run-cache", "-r", "dvc-pushed");
    const clone = sandbox({ git: false });
    clone.mustGit("clone", "-q", s.repo, ".");
    const r = clone.must("fetch", "--run-cache", "-r", "dvc-pushed", "--json");
    expect(JSON.parse(r.stdout).runCache).toEqual({ fetched: 2, skipped: 0, refused: [] });
    expect(runsOf(clone.path(".dvc/cache"))).toEqual(local);
  });
});
