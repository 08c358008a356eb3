import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";

/**
 * A temporary folder for one test file, removed afterwards; while the file's tests run, DVC's
 * global and system config folders point inside it, so no test reads this machine's config.
 */
export function workFolder(prefix: string): string {
  const work = mkdtempSync(join(tmpdir(), prefix));
  const saved = { global: process.env.DVC_GLOBAL_CONFIG_DIR, system: process.env.DVC_SYSTEM_CONFIG_DIR };
  beforeAll(() => {
    process.env.DVC_GLOBAL_CONFIG_DIR = join(work, "global");
    process.env.DVC_SYSTEM_CONFIG_DIR = join(work, "system");
  });
  afterAll(() => {
    for (const [key, value] of [
      ["DVC_GLOBAL_CONFIG_DIR", saved.global],
      ["DVC_SYSTEM_CONFIG_DIR", saved.system],
    ] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    rmSync(work, { recursive: true, force: true });
  });
  return work;
}
