import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

// End-to-end tests spawn the built binary many times. The test workers mostly wait for those
// children, so run one file per core (vitest's default leaves one core idle), and give each test
// room on a slow or busy machine.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    maxWorkers: Math.max(2, availableParallelism()),
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
