import { defineConfig } from "vitest/config";

// One file that packs, installs (from npm's cache, the registry for what is missing) and compiles:
// minutes on a busy machine, not seconds.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 5 * 60_000,
    hookTimeout: 5 * 60_000,
  },
});
