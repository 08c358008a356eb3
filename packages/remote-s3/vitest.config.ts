import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    globalSetup: ["./test/global-setup.ts"],
    include: ["test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // The servers are shared; the 200 MiB test measures this process's memory: one file at a time.
    fileParallelism: false,
  },
});
