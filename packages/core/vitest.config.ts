import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // CI runs every package's suite at once on two cores: a test that takes 2 s alone can take
    // several there. Time limits catch hangs, not slowness (speed is measured in `npm run bench`).
    testTimeout: 30_000,
  },
});
