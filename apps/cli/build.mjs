// The CLI ships as two CommonJS files: a tiny launcher (`bin.cjs`, which answers --version alone)
// and the whole CLI as one bundle (`cli.cjs`), which the launcher runs through V8's code
// cache (src/code-cache.ts). Resolving and parsing hundreds of files at every start cost ~0.25 s;
// the cached bundle starts in a fraction of that. Storage adapters stay outside, found at run time
// by package name, except the small local one.
import { rmSync } from "node:fs";
import { build } from "esbuild";

const src = (f) => new URL(`./src/${f}`, import.meta.url).pathname;
const dist = (f) => new URL(`./dist/${f}`, import.meta.url).pathname;
const common = {
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  // The sources are ES modules: `import.meta.url` is the bundle's own URL.
  define: { "import.meta.url": "__mlvBundleUrl" },
  // "use strict" first, so that it stays the directive it is in the sources.
  banner: { js: '"use strict";\nvar __mlvBundleUrl = require("node:url").pathToFileURL(__filename).href;' },
  sourcemap: true,
  // Class names must survive: errors from adapter packages are recognised by name (see MlvError).
  keepNames: true,
  logLevel: "warning",
};

rmSync(dist(""), { recursive: true, force: true });
await build({ ...common, entryPoints: [src("bin.ts")], outfile: dist("bin.cjs"), external: ["./cli.js"] });
await build({
  ...common,
  entryPoints: [src("cli.ts")],
  outfile: dist("cli.cjs"),
  external: [
    "@mlv/remote-s3",
    "@mlv/remote-gcs",
    "@mlv/remote-azure",
    "@mlv/remote-sftp",
    "@mlv/remote-http",
    "mlv-remote-*",
    // Drawing plots: its own bundle below, loaded by `plots` and `versions --html` only.
    "vega",
    "vega-lite",
  ],
});
// An ES module: Vega imports the optional `canvas` package with a top-level await, which it
// survives without (SVG needs no canvas), and which CommonJS cannot express.
await build({
  ...common,
  format: "esm",
  banner: {},
  define: {},
  entryPoints: [src("plot-engine.ts")],
  outfile: dist("plot-engine.mjs"),
  external: ["canvas"],
  sourcemap: false,
});
