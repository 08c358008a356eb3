import { defineConfig } from "vitest/config";

// One nginx for the whole run (started by test/global-setup.ts); every test works in its own folder.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
