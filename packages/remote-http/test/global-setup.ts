/**
 * Starts one nginx for the run and hands its address, trees and credentials to the tests
 * (`inject("nginx")`). Where nginx cannot start, the server tests are skipped with a loud warning;
 * with CI=true that is a failure instead.
 */
import type { TestProject } from "vitest/node";
import { type NginxServer, startNginx } from "../../../test-fixtures/servers/nginx.js";

export type NginxInfo = Partial<Omit<NginxServer, "url" | "localPath" | "accessLog" | "errorLog" | "stop">> & {
  /** Why there is no server. */
  unavailable?: string;
};

declare module "vitest" {
  export interface ProvidedContext {
    nginx: NginxInfo;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let server: NginxServer | undefined;
  const started = Date.now();
  try {
    server = await startNginx();
  } catch (err) {
    const why = (err as Error).message;
    if (process.env.CI === "true") throw new Error(`nginx is required in CI (CI=true): ${why}`);
    process.stderr.write(
      `\n!!! @mlv/remote-http: ${why}\n!!! THE HTTP SERVER TESTS ARE SKIPPED (apt-get install -y --no-install-recommends nginx)\n\n`,
    );
    project.provide("nginx", { unavailable: why });
    return async () => {};
  }
  process.stderr.write(
    `@mlv/remote-http: nginx (pid ${server.pid}) started on 127.0.0.1:${server.port} (https :${server.tlsPort}) in ${Date.now() - started} ms\n`,
  );
  const { host, port, tlsPort, pid, dir, root, caFile, user, password, tokenHeader, token } = server;
  project.provide("nginx", { host, port, tlsPort, pid, dir, root, caFile, user, password, tokenHeader, token });
  return async () => {
    await server?.stop();
  };
}
