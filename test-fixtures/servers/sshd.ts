/**
 * The OpenSSH test server for TypeScript tests: see sshd.mjs (plain JavaScript, so that the
 * benchmarks can start it too) and its types in sshd.d.mts.
 */
export * from "./sshd.mjs";
