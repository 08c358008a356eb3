/**
 * The progress bar as a person at a terminal sees it, and its absence everywhere else. The
 * terminal is a real pseudo-terminal (util-linux `script`); the data comes from a web server that
 * sends it slowly (about 2 MiB/s), so that a small download lasts long enough to show its speed
 * and the time left.
 */
import { execFile, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createReadStream, existsSync, rmSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN, Sandbox } from "./helpers.js";

const hasScript = spawnSync("script", ["--version"]).status === 0;
const MiB = 1024 * 1024;
const SIZE = 2.5 * MiB;
// biome-ignore lint/suspicious/noControlCharactersInRegex: what is looked for is the escape character
const ANSI = /\x1b\[/;

/** Serves a folder read-only, 64 KiB every 30 ms. */
function slowServer(root: string): Promise<Server> {
  const server = createServer((req, res) => {
    const path = join(root, decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname));
    if (!existsSync(path) || !statSync(path).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-length": statSync(path).size });
    if (req.method === "HEAD") {
      res.end();
      return;
    }
    const source = createReadStream(path, { highWaterMark: 64 * 1024 });
    source.on("data", (chunk) => {
      source.pause();
      res.write(chunk);
      setTimeout(() => source.resume(), 30);
    });
    source.on("end", () => res.end());
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

/** Run `mlv ARGS` on a pseudo-terminal 100 columns wide: everything it drew, escapes included. */
function onTerminal(s: Sandbox, args: string): Promise<{ code: number; screen: string }> {
  return new Promise((resolve) => {
    execFile(
      "script",
      [
        "-qfec",
        `stty cols 100 rows 30; ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} ${args}`,
        "/dev/null",
      ],
      { cwd: s.repo, env: s.env as NodeJS.ProcessEnv, encoding: "utf8", timeout: 60_000 },
      (err, stdout) => resolve({ code: err ? Number(err.code) : 0, screen: stdout }),
    );
  });
}

/** The frames drawn, one per redraw, without escapes. */
function frames(screen: string): string[] {
  return (
    screen
      // biome-ignore lint/suspicious/noControlCharactersInRegex: terminal escapes are what is removed
      .replace(/\x1b(\[[0-9;?]*[A-Za-z]|[78])/g, "\n")
      .split(/[\r\n]+/)
      .filter((l) => l.includes("files"))
  );
}

describe.skipIf(!hasScript)("the progress bar", () => {
  let server: Server;
  let s: Sandbox;

  beforeAll(async () => {
    s = new Sandbox({ init: "mlv" }); // shared by the tests, removed after them
    s.write("model.bin", randomBytes(SIZE));
    s.must("add", "model.bin");
    s.useRemote();
    s.must("push");
    server = await slowServer(s.remote);
    s.must("remote", "add", "web", `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    rmSync(s.dir, { recursive: true, force: true });
  });

  it("on a terminal, shows the files, the bytes out of a known total, the speed and the time left", async () => {
    s.rm(".dvc/cache");
    s.rm("model.bin");
    const { code, screen } = await onTerminal(s, "pull -r web");
    expect(code, screen).toBe(0);
    const drawn = frames(screen).filter((f) => f.startsWith("fetch"));
    expect(drawn.length, screen).toBeGreaterThan(3);
    // The total is known from the first frame on, and a later frame has the speed and time left.
    expect(drawn[0]).toMatch(/^fetch +0% \|[░]+\| 0\/1 files \| 0 B \/ 2\.5 MiB \|/);
    expect(
      drawn.some((f) => /\| 0\/1 files \| [\d.]+ [KM]iB \/ 2\.5 MiB \| [\d.]+ [KM]iB\/s \| ETA \d+s$/.test(f)),
    ).toBe(true);
    // Bytes move within the one file: frames between 0% and 100% before it is done.
    expect(
      drawn.some((f) => /^fetch +[1-9]\d?% .*\| 0\/1 files/.test(f)),
      screen,
    ).toBe(true);
    expect(screen).toContain("model.bin");
    expect(statSync(s.path("model.bin")).size).toBe(SIZE);
  });

  it("piped, or in CI, prints no bar and no escape sequences", async () => {
    s.rm(".dvc/cache");
    s.rm("model.bin");
    const piped = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) =>
      execFile(
        process.execPath,
        [BIN, "pull", "-r", "web"],
        { cwd: s.repo, env: s.env as NodeJS.ProcessEnv, encoding: "utf8", timeout: 60_000 },
        (err, stdout, stderr) => (err ? reject(err) : resolve({ stdout, stderr })),
      ),
    );
    expect(piped.stderr).toBe("");
    expect(piped.stdout).not.toMatch(ANSI);
    expect(piped.stdout).not.toMatch(/files \||ETA/);

    // A terminal, but a CI job's log: nothing drawn either.
    s.rm(".dvc/cache");
    s.rm("model.bin");
    s.env.CI = "true";
    try {
      const { code, screen } = await onTerminal(s, "pull -r web");
      expect(code).toBe(0);
      expect(frames(screen)).toEqual([]);
    } finally {
      delete s.env.CI;
    }
  });
});
