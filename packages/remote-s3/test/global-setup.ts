/**
 * Starts the S3 servers the tests run against (moto, moto with signature checks, s3rver) on
 * 127.0.0.1, and stops exactly those processes afterwards. A server that cannot run here is
 * reported loudly and its tests are skipped; with CI=true that is a failure instead.
 */
import type { TestProject } from "vitest/node";
import {
  type RunningS3Server,
  ServerUnavailableError,
  startMoto,
  startS3rver,
} from "../../../test-fixtures/servers/s3.ts";

export interface ServerInfo {
  name: "moto" | "moto-auth" | "s3rver";
  endpoint?: string;
  region?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  checksSignatures?: boolean;
  /** Why it is not running (then the other fields are absent). */
  unavailable?: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    s3Servers: ServerInfo[];
  }
}

export default async function setup(project: TestProject) {
  const started: RunningS3Server[] = [];
  const infos: ServerInfo[] = [];
  const launchers: [ServerInfo["name"], () => Promise<RunningS3Server>][] = [
    ["moto", () => startMoto()],
    ["moto-auth", () => startMoto({ checkAuth: true })],
    ["s3rver", () => startS3rver()],
  ];
  const results = await Promise.allSettled(launchers.map(([, launch]) => launch()));
  const problems: string[] = [];
  results.forEach((r, i) => {
    const name = launchers[i]![0];
    if (r.status === "fulfilled") {
      const s = r.value;
      started.push(s);
      infos.push({
        name,
        endpoint: s.endpoint,
        region: s.region,
        accessKeyId: s.credentials.accessKeyId,
        secretAccessKey: s.credentials.secretAccessKey,
        checksSignatures: s.checksSignatures,
      });
    } else {
      const reason = r.reason instanceof Error ? r.reason.message : String(r.reason);
      if (!(r.reason instanceof ServerUnavailableError)) problems.push(`${name}: ${reason}`);
      infos.push({ name, unavailable: reason });
      process.stderr.write(
        `\n${"!".repeat(78)}\n!! @mlv/remote-s3: the ${name} server cannot run here; its tests are SKIPPED:\n!! ${reason.replaceAll("\n", "\n!! ")}\n${"!".repeat(78)}\n\n`,
      );
    }
  });
  const stopAll = async () => {
    await Promise.all(started.map((s) => s.stop()));
  };
  if (process.env.CI === "true" && infos.some((i) => i.unavailable !== undefined)) {
    await stopAll();
    throw new Error(
      `CI=true: every S3 test server must run; missing: ${infos
        .filter((i) => i.unavailable)
        .map((i) => `${i.name} (${i.unavailable})`)
        .join("; ")}`,
    );
  }
  if (problems.length) process.stderr.write(`@mlv/remote-s3: unexpected start-up failures: ${problems.join("; ")}\n`);
  project.provide("s3Servers", infos);
  return stopAll;
}
