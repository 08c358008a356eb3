/**
 * What a user sees when things go wrong or get cut short: a reader closing the pipe, Ctrl-C during
 * a push, usage errors, paths that do not exist, remotes that cannot work, "run again" advice only
 * where trying again can help, and the examples of `--help`.
 */
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, existsSync, mkdirSync, readdirSync, utimesSync, watch, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { BIN, md5, objectPath, type Sandbox, sandbox } from "./helpers.js";

/** Run `mlv ARGS | head -1` in bash: mlv's exit status, what reached the reader, what mlv said on stderr. */
function intoHead(s: Sandbox, args: string): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(
    "bash",
    ["-c", `"${process.execPath}" "${BIN}" ${args} 2>"${s.dir}/stderr" | head -1; exit \${PIPESTATUS[0]}`],
    { cwd: s.repo, env: s.env as NodeJS.ProcessEnv, encoding: "utf8", timeout: 60_000 },
  );
  return { code: r.status ?? -1, stdout: r.stdout, stderr: spawnSync("cat", [`${s.dir}/stderr`]).stdout.toString() };
}

/** Every file below `dir`, relative to it. */
function filesBelow(dir: string): string[] {
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as import("node:fs").Dirent[])
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name).slice(dir.length + 1));
}

function md5OfFile(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash("md5");
    createReadStream(path)
      .on("data", (c) => hash.update(c))
      .on("end", () => resolve(hash.digest("hex")))
      .on("error", reject);
  });
}

describe("a reader that stops early", () => {
  it("list and diff piped into 'head -1' end quietly, as a process killed by SIGPIPE (141)", () => {
    const s = sandbox({ init: "mlv" });
    s.mustGit("add", "-A");
    s.mustGit("commit", "-qm", "init");
    // Long names: far more output than a pipe holds, so mlv writes after head has gone.
    const tree: Record<string, string> = {};
    for (let i = 0; i < 2000; i++) tree[`${"n".repeat(100)}-${i}`] = String(i);
    s.writeTree(tree, "data");
    s.must("add", "data");
    s.mustGit("add", "-A");
    s.mustGit("commit", "-qm", "data");

    const list = intoHead(s, "list . -R");
    expect(list.stdout.split("\n").filter(Boolean)).toHaveLength(1);
    expect(list.stderr).toBe("");
    expect(list.code).toBe(141);

    const diff = intoHead(s, "diff HEAD~1");
    expect(diff.stdout).toMatch(/^Added:/);
    expect(diff.stderr).toBe("");
    expect(diff.code).toBe(141);
  });
});

describe("Ctrl-C during a push", () => {
  it.skipIf(process.platform === "win32")(
    "stops the upload, leaves no temporary file on the remote and the cache intact, and exits 130",
    async () => {
      const s = sandbox({ init: "mlv" });
      const big = Buffer.alloc(256 * 1024 * 1024, "model weights ");
      s.write("model.bin", big);
      const oid = md5(big);
      s.must("add", "model.bin");
      s.must("remote", "add", "-d", "store", s.remote);
      // The upload's temporary file appears beside the object: watch that folder.
      const folder = join(s.remote, objectPath(oid), "..");
      mkdirSync(folder, { recursive: true });
      const child = spawn(process.execPath, [BIN, "push"], { cwd: s.repo, env: s.env as NodeJS.ProcessEnv });
      onTestFinished(() => {
        if (child.exitCode === null) child.kill("SIGKILL");
      });
      let stderr = "";
      child.stderr.on("data", (d) => {
        stderr += d;
      });
      let interruptedAt: string | undefined;
      const watcher = watch(folder, (_event, name) => {
        if (interruptedAt === undefined && name?.endsWith(".tmp")) {
          interruptedAt = name;
          child.kill("SIGINT");
        }
      });
      const code = await new Promise<number | null>((resolve) => child.on("close", (c) => resolve(c)));
      watcher.close();

      expect(interruptedAt, "the upload's temporary file was seen").toBeDefined();
      expect(code).toBe(130);
      expect(stderr).toBe("ERROR: interrupted (Ctrl-C): the command stopped before the end\n");
      expect(filesBelow(s.remote)).toEqual([]);
      expect(await md5OfFile(s.path(`.dvc/cache/${objectPath(oid)}`))).toBe(oid);
      // Nothing is lost: the next push sends it.
      expect(s.must("push").stdout).toContain("1 file pushed");
    },
    120_000,
  );
});

describe("gc -c and the temporary files of interrupted uploads", () => {
  it("removes the stale ones (DVC's or mlv's), keeps a fresh one, and says the rule", () => {
    const s = sandbox({ init: "mlv" });
    s.write("a.txt", "a\n");
    s.must("add", "a.txt");
    s.must("remote", "add", "-d", "store", s.remote);
    s.must("push");
    const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600 * 1000);
    const objectDir = join(s.remote, objectPath(md5("a\n")), "..");
    const temps = {
      dvcOld: join(objectDir, ".Yk2bM_0aZq1w-hT7xyzABC.tmp"),
      dvcMoveOld: join(s.remote, "files/md5/0f/0123456789abcdef0123456789ab.Yk2bM_0aZq1w-hT7xyzABC.tmp"),
      mlvOld: join(s.remote, "files/md5/12/.mlv-4242-00000000-abc-0.tmp"),
      fresh: join(objectDir, ".Xk2bM_0aZq1w-hT7xyzABC.tmp"),
    };
    for (const [name, path] of Object.entries(temps)) {
      mkdirSync(join(path, ".."), { recursive: true });
      writeFileSync(path, "partial");
      if (name !== "fresh") utimesSync(path, twoDaysAgo, twoDaysAgo);
    }

    const dry = s.must("gc", "-w", "-c", "--dry");
    expect(dry.stdout).toContain("3 stale temporary files would be removed from remote 'store'");
    expect(existsSync(temps.dvcOld)).toBe(true);

    const r = s.must("gc", "-w", "-c", "-f");
    expect(r.stdout).toContain(
      "Removed 3 stale temporary files from remote 'store' (temporary files of interrupted uploads: this machine's whose mlv process has ended, and anyone's older than a day).",
    );
    expect(existsSync(temps.dvcOld) || existsSync(temps.dvcMoveOld) || existsSync(temps.mlvOld)).toBe(false);
    expect(existsSync(temps.fresh), "a temporary file a push may be writing now is kept").toBe(true);
    expect(existsSync(join(s.remote, objectPath(md5("a\n")))), "the object in use is kept").toBe(true);
  });
});

describe("'run the command again' only when it can help", () => {
  it("not for a remote below a file: the file is named instead", () => {
    const s = sandbox({ init: "mlv" });
    s.write("a.txt", "a\n");
    s.must("add", "a.txt");
    writeFileSync(join(s.dir, "plain-file"), "x");
    s.must("remote", "add", "-d", "store", join(s.dir, "plain-file", "store"));
    const r = s.mlv("push");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`'${join(s.dir, "plain-file")}' is a file, where a folder is needed`);
    expect(r.stderr).not.toMatch(/again/i);
  });

  it("not for a corrupt object on the remote", () => {
    const s = sandbox({ init: "mlv" });
    s.write("a.txt", "a\n");
    s.must("add", "a.txt");
    s.must("remote", "add", "-d", "store", s.remote);
    s.must("push");
    const onRemote = join(s.remote, objectPath(md5("a\n")));
    spawnSync("chmod", ["u+w", onRemote]);
    writeFileSync(onRemote, "tampered\n");
    spawnSync("rm", ["-rf", s.path(".dvc/cache")]);
    const r = s.mlv("fetch");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("the object on the remote is corrupt");
    expect(r.stderr).not.toMatch(/again/i);
  });

  it("for a connection that keeps dropping", async () => {
    const server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    onTestFinished(() => {
      server.close();
    });
    const { port } = server.address() as { port: number };
    const s = sandbox({ init: "mlv" });
    s.write("a.txt", "a\n");
    s.must("add", "a.txt");
    spawnSync("rm", ["-rf", s.path(".dvc/cache")]);
    s.must("remote", "add", "-d", "web", `http://127.0.0.1:${port}/store`);
    const r = await s.mlvAsync("fetch");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("cannot be reached");
    expect(r.stderr).toMatch(/\nRun the command again to finish the job\.\n$/);
  }, 60_000);
});

describe("one error style", () => {
  it("usage errors read like every other error, with where to find the usage (exit 2)", () => {
    const s = sandbox({ init: "mlv" });
    expect(s.mlv("add", "--bogus", "x")).toEqual({
      code: 2,
      stdout: "",
      stderr: "ERROR: unknown option '--bogus'\nRun 'mlv add --help' for usage.\n",
    });
    expect(s.mlv("remote", "add", "onlyname")).toMatchObject({
      code: 2,
      stderr: "ERROR: missing required argument 'url'\nRun 'mlv remote add --help' for usage.\n",
    });
    expect(s.mlv("frobnicate").stderr).toBe("ERROR: unknown command 'frobnicate'\nRun 'mlv --help' for usage.\n");
  });

  it("advice for the command line comes on its own line, after what failed", () => {
    const s = sandbox({ init: "mlv" });
    expect(s.mlv("push", "-r", "nope")).toMatchObject({
      code: 1,
      stderr:
        "ERROR: remote 'nope' is not configured\nSee 'mlv remote list', or add it with 'mlv remote add nope URL'.\n",
    });
    expect(s.mlv("push").stderr).toBe(
      "ERROR: no remote given and no default remote set\nUse '-r NAME', or set one with 'mlv remote default NAME' (or 'mlv remote add -d NAME URL').\n",
    );
  });
});

describe("add of a path that does not exist", () => {
  it("says so, naming it as typed, suggests no 'mlv add', and writes nothing", () => {
    const s = sandbox({ init: "mlv" });
    s.write("sub/keep", "x");
    const r = s.mlvWith({ cwd: "sub" }, "add", "nosuchfile");
    expect(r).toEqual({ code: 1, stdout: "", stderr: "ERROR: 'nosuchfile' does not exist\n" });
    expect(existsSync(s.path("sub/nosuchfile.dvc"))).toBe(false);
  });
});

describe.skipIf(process.platform !== "linux")("a remote under /proc", () => {
  it("push fails at once, naming the folder that cannot be made", () => {
    const s = sandbox({ init: "mlv" });
    s.write("a.txt", "a\n");
    s.must("add", "a.txt");
    s.must("remote", "add", "-d", "r", "/proc/mlv-remote");
    const started = Date.now();
    const r = s.mlv("push");
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("the file system refuses to create the folder '/proc/mlv-remote'");
  });
});

describe("help", () => {
  const withExamples = [
    "init",
    "add",
    "push",
    "pull",
    "fetch",
    "checkout",
    "status",
    "remote add",
    "gc",
    "list",
    "get",
    "import",
    "import-url",
    "diff",
    "versions",
    "metrics",
    "repro",
  ];
  it("the main commands show examples of their use", () => {
    const s = sandbox({ git: false });
    for (const cmd of withExamples) {
      const r = s.mlv(...cmd.split(" "), "--help");
      expect(r.code, cmd).toBe(0);
      expect(r.stdout, cmd).toMatch(new RegExp(`\\nExamples:\\n {2}\\$ mlv ${cmd} `));
    }
  });
});
