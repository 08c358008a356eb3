/**
 * The nginx test server for TypeScript tests: see nginx.mjs (plain JavaScript, so that the
 * benchmarks can start it too) and its types in nginx.d.mts.
 */
export * from "./nginx.mjs";
