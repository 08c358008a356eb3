// The CLI ships as one ESM bundle (plus lazily loaded chunks): resolving and parsing hundreds of
// CommonJS files at every start cost ~0.25 s; the bundle starts in a fraction of that.
// Storage adapters stay outside, found at run time by package name, except the small local one.
import { rmSync } from "node:fs";
import { build } from "esbuild";

rmSync(new URL("./dist", import.meta.url), { recursive: true, force: true });
await build({
  entryPoints: [new URL("./src/bin.ts", import.meta.url).pathname],
  outdir: new URL("./dist", import.meta.url).pathname,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  sourcemap: true,
  external: ["@mlv/remote-s3", "@mlv/remote-gcs", "@mlv/remote-azure", "@mlv/remote-sftp", "mlv-remote-*"],
  // Bundled CommonJS dependencies call require() for Node's built-in modules.
  banner: {
    js: 'import { createRequire as __mlvRequire } from "node:module"; const require = __mlvRequire(import.meta.url);',
  },
  // Class names must survive: errors from adapter packages are recognised by name (see MlvError).
  keepNames: true,
  logLevel: "warning",
});
