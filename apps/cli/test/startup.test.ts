import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { sandbox } from "./helpers.js";

/** The code cache files in a folder. */
function cacheFiles(folder: string): string[] {
  return existsSync(folder) ? readdirSync(folder).filter((f) => f.endsWith(".v8")) : [];
}

describe("start-up through V8's code cache", () => {
  it("keeps one cache per command, and answers the same from it", () => {
    const s = sandbox({ init: "mlv" });
    const folder = join(s.dir, "cache", "mlv");
    const env = { XDG_CACHE_HOME: join(s.dir, "cache") };
    s.write("data.csv", "a,b\n1,2\n");
    expect(s.mlvWith({ env }, "add", "data.csv").code).toBe(0);

    const first = s.mlvWith({ env }, "status");
    expect(first.code).toBe(0);
    const files = cacheFiles(folder);
    expect(files.filter((f) => f.endsWith("-status.v8"))).toHaveLength(1);
    expect(files.filter((f) => f.endsWith("-add.v8"))).toHaveLength(1);
    const statusCache = join(folder, files.find((f) => f.endsWith("-status.v8"))!);
    const written = statSync(statusCache).mtimeMs;

    const again = s.mlvWith({ env }, "status");
    expect(again).toEqual(first);
    // Taken as it was, not written again.
    expect(statSync(statusCache).mtimeMs).toBe(written);
  });

  it("runs normally past a damaged cache file, and replaces it", () => {
    const s = sandbox({ init: "mlv" });
    const folder = join(s.dir, "cache", "mlv");
    const env = { XDG_CACHE_HOME: join(s.dir, "cache") };
    const first = s.mlvWith({ env }, "status");
    const [file] = cacheFiles(folder);
    expect(file).toBeDefined();
    writeFileSync(join(folder, file!), "not a V8 code cache");
    const again = s.mlvWith({ env }, "status");
    expect(again).toEqual(first);
    expect(readFileSync(join(folder, file!)).length).toBeGreaterThan(1000);
  });

  it("keeps only the cache of the current build of each command", () => {
    const s = sandbox({ init: "mlv" });
    const folder = join(s.dir, "cache", "mlv");
    const env = { XDG_CACHE_HOME: join(s.dir, "cache") };
    expect(s.mlvWith({ env }, "status").code).toBe(0);
    const [current] = cacheFiles(folder);
    // What an older build of the bundle left behind, for this command and for another.
    const older = current!.replace(/^cli\.cjs-[^-]*-\d+/, "cli.cjs-0.0.1-12345");
    writeFileSync(join(folder, older), "old");
    writeFileSync(join(folder, "cli.cjs-0.0.1-12345-1-1-node-x-add.v8"), "old");
    rmSync(join(folder, current!));
    expect(s.mlvWith({ env }, "status").code).toBe(0);
    expect(cacheFiles(folder).sort()).toEqual([current!, "cli.cjs-0.0.1-12345-1-1-node-x-add.v8"].sort());
  });

  it("writes nothing with MLV_NO_CODE_CACHE=1", () => {
    const s = sandbox({ init: "mlv" });
    const env = { XDG_CACHE_HOME: join(s.dir, "cache"), MLV_NO_CODE_CACHE: "1" };
    expect(s.mlvWith({ env }, "status").code).toBe(0);
    expect(cacheFiles(join(s.dir, "cache", "mlv"))).toEqual([]);
  });
});
