import { describe, expect, it } from "vitest";
import { md5, objectPath, type Sandbox, sandbox } from "./helpers.js";

/** Three versions of model.bin: v1.0 (tagged), v2 (committed, untagged), v3 (workspace only). */
function threeVersions(s: Sandbox) {
  s.must("init");
  s.must("remote", "add", "-d", "storage", s.remote);
  const versions: string[] = [];
  for (const [i, tag] of [
    [1, "v1.0"],
    [2, undefined],
    [3, undefined],
  ] as const) {
    s.write("model.bin", `model version ${i}\n`);
    s.must("add", "model.bin");
    versions.push(md5(s.bytes("model.bin")));
    if (i === 3) break; // v3 stays in the workspace
    s.mustGit("add", "model.bin.dvc", ".gitignore", ".dvc/config");
    s.mustGit("commit", "-q", "-m", `model v${i}`);
    if (tag) s.mustGit("tag", tag);
  }
  return versions;
}

describe("revisions: --rev, -a, -T, -A", () => {
  it("gc -T never loses a tagged version; untagged history goes, the workspace stays", () => {
    const s = sandbox();
    const [v1, v2, v3] = threeVersions(s);
    expect(s.mlv("gc", "-T", "-f").code).toBe(0);
    expect(s.exists(s.cacheObject(v1!))).toBe(true);
    expect(s.exists(s.cacheObject(v2!))).toBe(false);
    expect(s.exists(s.cacheObject(v3!))).toBe(true);
    // The tagged version still checks out, from the cache alone.
    s.mustGit("checkout", "-q", "--", "model.bin.dvc");
    s.mustGit("checkout", "-q", "v1.0");
    expect(s.mlv("checkout", "--force").code).toBe(0);
    expect(s.read("model.bin")).toBe("model version 1\n");
  });

  it("gc --dry lists what would go and removes nothing", () => {
    const s = sandbox();
    const [v1, v2] = threeVersions(s);
    const r = s.mlv("gc", "-w", "--dry");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(objectPath(v1!));
    expect(r.stdout).toContain(objectPath(v2!));
    expect(r.stdout).toContain("2 cache and 0 remote objects would be removed");
    expect(s.exists(s.cacheObject(v1!))).toBe(true);
    expect(s.exists(s.cacheObject(v2!))).toBe(true);
  });

  it("gc -A keeps every committed version; gc -w keeps only the workspace's", () => {
    const s = sandbox();
    const [v1, v2, v3] = threeVersions(s);
    expect(s.mlv("gc", "-A", "-f").code).toBe(0);
    for (const v of [v1, v2, v3]) expect(s.exists(s.cacheObject(v!))).toBe(true);
    expect(s.mlv("gc", "-w", "-f").code).toBe(0);
    expect(s.exists(s.cacheObject(v1!))).toBe(false);
    expect(s.exists(s.cacheObject(v3!))).toBe(true);
  });

  it("push -T uploads tagged versions too, and status -c -T sees them in sync", () => {
    const s = sandbox();
    const [v1, v2, v3] = threeVersions(s);
    const before = s.mlv("status", "-c", "-T");
    expect(before.stdout).toContain("new:");
    expect(s.mlv("push", "-T").stdout).toBe("2 files pushed\n");
    const remote = s.remoteFiles();
    expect(remote).toContain(objectPath(v1!));
    expect(remote).toContain(objectPath(v3!));
    expect(remote).not.toContain(objectPath(v2!));
    expect(s.mlv("status", "-c", "-T").stdout).toBe("Cache and remote 'storage' are in sync.\n");
  });

  it("fetch --rev gets an old version into the cache without touching the workspace or HEAD", () => {
    const s = sandbox();
    const [v1, , v3] = threeVersions(s);
    expect(s.mlv("push", "--rev", "v1.0").code).toBe(0);
    s.rm(".dvc/cache");
    const head = s.mustGit("rev-parse", "HEAD").stdout;
    const r = s.mlv("fetch", "--rev", "v1.0");
    expect(r.code).toBe(0);
    expect(s.exists(s.cacheObject(v1!))).toBe(true);
    expect(s.read("model.bin")).toBe("model version 3\n");
    expect(s.mustGit("rev-parse", "HEAD").stdout).toBe(head);
    expect(md5(s.bytes("model.bin"))).toBe(v3);
  });

  it("an unknown revision is named; revision flags on a workspace status are a usage error", () => {
    const s = sandbox();
    threeVersions(s);
    const r = s.mlv("fetch", "--rev", "v9");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("unknown revision 'v9'");
    expect(s.mlv("status", "-a").code).toBe(2);
  });
});
