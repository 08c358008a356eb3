import { defineConfig } from "vitest/config";

// Each suite spawns the built `mlv` (and the real DVC) hundreds of times and prints its table when
// it ends. The short version (the default, run by `npm test`) must stay within a few minutes on
// two cores; `npm run torture` (TORTURE=full) runs the whole matrix.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    maxWorkers: 2,
    testTimeout: 30 * 60_000,
    hookTimeout: 5 * 60_000,
    silent: false,
  },
});
