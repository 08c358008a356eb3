import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    globalSetup: ["test/global-setup.ts"],
    setupFiles: ["test/clean-env.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // One emulator serves every file; keep the big transfers from competing with each other.
    fileParallelism: false,
    server: {
      deps: {
        // Load the workspace packages with Node's own loader, as users do. Vitest 4.1 also
        // externalizes root-relative ids starting with "/dist" whenever the root path is as long as
        // its own package path (packages/remote-gcs vs node_modules/vitest), so this package's
        // dist would otherwise be native while @mlv/core was inlined: two copies of the errors.
        external: [/\/packages\/(core|testkit|remote-gcs)\/dist\//],
      },
    },
  },
});
