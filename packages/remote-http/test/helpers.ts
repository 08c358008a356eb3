/**
 * Shared by the server tests: the nginx of global-setup.ts, fresh folders in its trees, and remotes
 * on them.
 */
import { randomBytes } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Remote } from "@mlv/core";
import adapter from "@mlv/remote-http";
import { inject } from "vitest";
import type { Tree } from "../../../test-fixtures/servers/nginx.js";
import type { NginxInfo } from "./global-setup.js";

export const web: NginxInfo = inject("nginx");
/** True when there is no server: `describe.skipIf(noServer)`. global-setup said why, loudly. */
export const noServer = web.port === undefined;

export function info(): Required<Omit<NginxInfo, "unavailable">> {
  if (noServer) throw new Error(`no nginx: ${web.unavailable}`);
  return web as Required<Omit<NginxInfo, "unavailable">>;
}

/** `http://127.0.0.1:PORT/tree/sub` (https and its port with `tls`; `user:password@` with `credentials`). */
export function urlOf(
  tree: Tree,
  sub = "",
  opts: { tls?: boolean; credentials?: { user: string; password: string } } = {},
): string {
  const w = info();
  const auth = opts.credentials
    ? `${encodeURIComponent(opts.credentials.user)}:${encodeURIComponent(opts.credentials.password)}@`
    : "";
  const base = opts.tls ? `https://${auth}127.0.0.1:${w.tlsPort}` : `http://${auth}127.0.0.1:${w.port}`;
  return sub ? `${base}/${tree}/${sub}` : `${base}/${tree}`;
}

/** The folder behind `urlOf(tree, sub)` on the local disk. */
export function localOf(tree: Tree, sub = ""): string {
  const t = tree === "norange" || tree === "noetag" || tree === "moved" ? "rw" : tree;
  return sub ? join(info().root, t, sub) : join(info().root, t);
}

/** A new folder name in `tree` (nothing is created: the first PUT makes it); `drop()` removes it. */
export function newFolder(tree: Tree = "rw"): { name: string; url: string; local: string; drop: () => void } {
  const name = `t-${randomBytes(6).toString("hex")}`;
  const local = localOf(tree, name);
  return { name, url: urlOf(tree, name), local, drop: () => rmSync(local, { recursive: true, force: true }) };
}

/** A remote on a fresh folder of `tree`. */
export function newRemote(
  options: Record<string, string> = {},
  tree: Tree = "rw",
  tls = false,
): { remote: Remote; folder: ReturnType<typeof newFolder> } {
  const folder = newFolder(tree);
  const url = urlOf(tree, folder.name, { tls });
  const remote = adapter.create({ name: "web", url, options: { method: "put", ...options } }) as Remote;
  return { remote, folder };
}

/** nginx's access log: one line per request, `METHOD URI STATUS BYTES "RANGE" "USER" SCHEME`. */
export function accessLog(): string[] {
  return readFileSync(join(info().dir, "logs", "access.log"), "utf8")
    .split("\n")
    .filter(Boolean);
}
