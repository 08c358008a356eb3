import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { CLI_PACKAGE, sandbox, VP1_FILE } from "./helpers.js";

const HAS_FLOCK = spawnSync("flock", ["--version"]).status === 0;

/** Mounting a small tmpfs (root on Linux) is how a full disk is made; CI runs as root. */
const CAN_MOUNT = process.getuid?.() === 0 && spawnSync("mount", ["--version"]).status === 0;

const COMMANDS = [
  ["init"],
  ["add"],
  ["status"],
  ["checkout"],
  ["push"],
  ["fetch"],
  ["pull"],
  ["remote"],
  ["remote", "add"],
  ["remote", "list"],
  ["remote", "default"],
  ["remote", "modify"],
  ["remote", "rename"],
  ["remote", "remove"],
  ["config"],
  ["gc"],
  ["remove"],
];

describe("exit codes and error messages", () => {
  it("--version prints the package version", () => {
    const s = sandbox({ git: false });
    const { version } = JSON.parse(readFileSync(CLI_PACKAGE, "utf8")) as { version: string };
    expect(s.mlv("--version")).toEqual({ code: 0, stdout: `${version}\n`, stderr: "" });
    expect(s.mlv("-V").stdout).toBe(`${version}\n`);
  });

  it("--help works for every command, outside any repository", () => {
    const s = sandbox({ git: false });
    const top = s.mlv("--help");
    expect(top.code).toBe(0);
    for (const name of [
      "init",
      "add",
      "status",
      "checkout",
      "push",
      "fetch",
      "pull",
      "remote",
      "config",
      "gc",
      "remove",
    ])
      expect(top.stdout, name).toContain(name);
    for (const cmd of COMMANDS) {
      const r = s.mlv(...cmd, "--help");
      expect(r.code, cmd.join(" ")).toBe(0);
      expect(r.stdout, cmd.join(" ")).toContain(`Usage: mlv ${cmd.join(" ")}`);
    }
  });

  it("an unknown option is a usage error (exit 2)", () => {
    const s = sandbox({ init: "dvc" });
    for (const cmd of [["add", "--bogus", "x"], ["status", "--nope"], ["push", "--frobnicate"], ["--what"]]) {
      const r = s.mlv(...cmd);
      expect(r.code, cmd.join(" ")).toBe(2);
      expect(r.stderr, cmd.join(" ")).toMatch(/unknown option/);
    }
  });

  it("an unknown command is a usage error (exit 2)", () => {
    const s = sandbox({ init: "dvc" });
    const r = s.mlv("frobnicate");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("frobnicate");
  });

  it("a missing required argument is a usage error (exit 2)", () => {
    const s = sandbox({ init: "dvc" });
    expect(s.mlv("add").code).toBe(2);
    expect(s.mlv("remote", "add", "onlyname").code).toBe(2);
  });

  it("a command outside any repository says so (exit 1)", () => {
    const s = sandbox();
    for (const cmd of [["status"], ["add", "foo"], ["push"], ["checkout"], ["gc", "-w", "-f"]]) {
      const r = s.mlv(...cmd);
      expect(r.code, cmd.join(" ")).toBe(1);
      expect(r.stderr, cmd.join(" ")).toMatch(/not inside an mlv\/DVC repository/);
    }
  });

  it("a symbolic link loop in a folder being added is named, with what to do", () => {
    const s = sandbox({ init: "dvc" });
    s.write("data/a", "a");
    for (let i = 0; i < 300; i++) s.write(`many/sub/f${i}`, String(i)); // walked by the worker threads
    for (const dir of ["data", "many/sub"]) {
      symlinkSync("loop1", join(s.repo, dir, "loop2"));
      symlinkSync("loop2", join(s.repo, dir, "loop1"));
    }
    for (const dir of ["data", "many"]) {
      const r = s.mlv("add", dir);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/'\/.*\/loop[12]': a symbolic link that leads back to itself \(a loop\)/);
      expect(r.stderr).not.toContain("unexpected error");
      expect(existsSync(join(s.repo, `${dir}.dvc`))).toBe(false);
    }
  });

  it("a file whose pointer name would be too long is refused, naming it, and nothing is written", () => {
    const s = sandbox({ init: "dvc" });
    const name = "x".repeat(255);
    s.write(name, "data");
    const r = s.mlv("add", name);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${name}.dvc': a name longer than the file system allows`);
    expect(r.stderr).not.toContain("unexpected error");
    expect(existsSync(join(s.repo, ".gitignore"))).toBe(false);
  });

  it.skipIf(!CAN_MOUNT)("a full cache disk names the cache, not the file being added", () => {
    const s = sandbox({ init: "dvc" });
    const cache = join(s.dir, "small-cache");
    mkdirSync(cache);
    expect(spawnSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", cache]).status).toBe(0);
    onTestFinished(() => {
      spawnSync("umount", [cache]);
    });
    expect(s.mlv("config", "cache.dir", cache).code).toBe(0);
    s.write("model.bin", Buffer.alloc(3 * 1024 * 1024, 7));
    const r = s.mlv("add", "model.bin");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `no space left on the device while copying '${join(s.repo, "model.bin")}' into the cache '${cache}'`,
    );
    expect(readdirSync(join(cache, "files", "md5"))).toEqual([]); // no partial temporary file
  });

  it("a pointer with bad YAML is named with its line", () => {
    const s = sandbox({ init: "dvc" });
    s.write("foo", "foo");
    s.write("foo.dvc", "outs:\n- md5: acbd18db4cc2f85cedef654fccc4a4d8\n  size: [3\n  path: foo\n");
    const r = s.mlv("status");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("foo.dvc");
    expect(r.stderr).toMatch(/line \d+/);
  });

  it("a pointer with a bad md5 names the file, the line and the value", () => {
    const s = sandbox({ init: "dvc" });
    s.write("foo", "foo");
    s.write("foo.dvc", "outs:\n- md5: abc\n  size: 3\n  hash: md5\n  path: foo\n");
    for (const cmd of [["status"], ["checkout"], ["add", "foo"]]) {
      const r = s.mlv(...cmd);
      expect(r.code, cmd.join(" ")).toBe(1);
      expect(r.stderr, cmd.join(" ")).toContain("foo.dvc");
      expect(r.stderr, cmd.join(" ")).toContain("line 2");
      expect(r.stderr, cmd.join(" ")).toContain("'abc'");
    }
    expect(s.read("foo.dvc")).toBe("outs:\n- md5: abc\n  size: 3\n  hash: md5\n  path: foo\n");
  });

  it("a pointer with an unknown top-level key is refused, naming it", () => {
    const s = sandbox({ init: "dvc" });
    s.write("foo", "foo");
    s.write("foo.dvc", `${VP1_FILE}cmd: python train.py\n`);
    const r = s.mlv("status");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("foo.dvc");
    expect(r.stderr).toContain("cmd");
  });

  it("an unknown target of push, checkout and status is named", () => {
    const s = sandbox({ init: "dvc" });
    s.useRemote();
    s.write("foo", "foo");
    s.must("add", "foo");
    for (const cmd of [
      ["push", "nothere.dvc"],
      ["checkout", "nothere"],
      ["status", "nothere"],
      ["pull", "nothere"],
    ]) {
      const r = s.mlv(...cmd);
      expect(r.code, cmd.join(" ")).not.toBe(0);
      expect(r.stderr, cmd.join(" ")).toContain("nothere");
    }
  });

  it("a target outside the repository is refused", () => {
    const s = sandbox({ init: "dvc" });
    s.write("../outside.txt", "x");
    const r = s.mlv("add", "../outside.txt");
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("outside");
    expect(s.exists("../outside.txt.dvc")).toBe(false);
  });

  it("-q and -v are honoured in either position", () => {
    const s = sandbox({ init: "dvc" });
    s.write("foo", "foo");
    const quiet = s.mlv("add", "-q", "foo");
    expect(quiet).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(s.mlv("-q", "status").stdout).toBe("");
    s.write("foo", "fox");
    const verbose = s.mlv("add", "-v", "foo");
    expect(verbose.code).toBe(0);
    expect(verbose.stderr).toContain("foo");
  });

  it.skipIf(!HAS_FLOCK)(
    "a mutating command waits briefly for a lock held by another process, then names its pid",
    () => {
      const s = sandbox({ init: "dvc" });
      s.write("foo", "foo");
      mkdirSync(s.path(".dvc/tmp"), { recursive: true });
      const lockPath = s.path(".dvc/tmp/lock");
      // As lock.ts does: a flock(1) process holds DVC's flock on .dvc/tmp/lock, the lock file names
      // its pid (" <pid>\n", as zc.lockfile writes it), and mlv's marker names the same process.
      // (Blocking flock: a probe below may hold the lock for an instant while the holder starts.)
      const holder: ChildProcess = spawn("flock", ["-x", "-o", lockPath, "sleep", "30"], {
        detached: true,
        stdio: "ignore",
      });
      const pid = holder.pid!;
      onTestFinished(() => {
        try {
          process.kill(-pid, "SIGKILL"); // the flock process and its sleep, both ours
        } catch {
          // already gone
        }
      });
      for (let i = 0; i < 100 && spawnSync("flock", ["-n", lockPath, "true"]).status === 0; i++)
        spawnSync("sleep", ["0.02"]);
      expect(spawnSync("flock", ["-n", lockPath, "true"]).status).toBe(1);
      writeFileSync(lockPath, ` ${pid}\n`);
      writeFileSync(
        s.path(".dvc/tmp/mlv.lock"),
        `${JSON.stringify({ pid, host: hostname(), command: "mlv push", started: new Date().toISOString() })}\n`,
      );

      const t0 = Date.now();
      const r = s.mlv("add", "foo");
      const waited = Date.now() - t0;
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(String(pid));
      expect(r.stderr).toMatch(/lock/);
      expect(waited).toBeGreaterThan(1000); // it did wait for the holder
      expect(waited).toBeLessThan(20_000);
      expect(s.exists("foo.dvc")).toBe(false);

      // The holder dies: the next command takes the lock over (the marker is stale).
      process.kill(-pid, "SIGKILL");
      for (let i = 0; i < 100 && spawnSync("flock", ["-n", lockPath, "true"]).status !== 0; i++)
        spawnSync("sleep", ["0.02"]);
      const after = s.mlv("add", "foo");
      expect(after.code).toBe(0);
      expect(s.read("foo.dvc")).toBe(VP1_FILE);
    },
  );
  it("mutating commands started together queue on the lock and all succeed", async () => {
    const s = sandbox({ init: "dvc" });
    const names = ["a", "b", "c", "d"];
    for (const n of names) s.write(n, `content ${n}`);
    const results = await Promise.all(names.map((n) => s.mlvAsync("add", n)));
    for (const [i, r] of results.entries()) expect(r.code, `${names[i]}: ${r.stderr}`).toBe(0);
    for (const n of names) expect(s.exists(`${n}.dvc`), n).toBe(true);
    expect(s.read(".gitignore").split("\n").filter(Boolean).sort()).toEqual(["/a", "/b", "/c", "/d"]);
    expect(s.exists(".dvc/tmp/mlv.lock")).toBe(false);
  });
});
