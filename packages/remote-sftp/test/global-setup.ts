/**
 * Starts one OpenSSH sshd for the run and hands its address and keys to the tests
 * (`inject("sshd")`), with a HOME folder whose `.ssh/known_hosts` trusts it. Where sshd cannot
 * start, the server tests are skipped with a loud warning; with CI=true that is a failure instead.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { type SshdServer, startSshd } from "../../../test-fixtures/servers/sshd.js";

export interface SshdInfo {
  port?: number;
  user?: string;
  /** The served folder as the client sees it, and on the local disk. */
  remoteRoot?: string;
  dataDir?: string;
  clientKey?: string;
  knownHostsLine?: string;
  hostPublicKey?: string;
  /** A HOME whose .ssh/known_hosts has the server's key (nothing else). */
  home?: string;
  /** Why there is no server. */
  unavailable?: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    sshd: SshdInfo;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let server: SshdServer | undefined;
  const started = Date.now();
  try {
    server = await startSshd();
  } catch (err) {
    const why = (err as Error).message;
    if (process.env.CI === "true") throw new Error(`sshd is required in CI (CI=true): ${why}`);
    process.stderr.write(
      `\n!!! @mlv/remote-sftp: ${why}\n!!! THE SFTP SERVER TESTS ARE SKIPPED (apt-get install -y --no-install-recommends openssh-server openssh-client)\n\n`,
    );
    project.provide("sshd", { unavailable: why });
    return async () => {};
  }
  process.stderr.write(
    `@mlv/remote-sftp: sshd (pid ${server.pid}) started on 127.0.0.1:${server.port} in ${Date.now() - started} ms, user ${server.user}\n`,
  );
  const home = server.makeHome(mkdtempSync(join(tmpdir(), "mlv-sftp-home-")));
  project.provide("sshd", {
    port: server.port,
    user: server.user,
    remoteRoot: server.remoteRoot,
    dataDir: server.dataDir,
    clientKey: server.clientKey,
    knownHostsLine: server.knownHostsLine,
    hostPublicKey: server.hostPublicKey,
    home,
  });
  return async () => {
    await server?.stop();
    rmSync(home, { recursive: true, force: true });
  };
}
