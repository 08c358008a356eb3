/**
 * `mlv get-url URL [OUT]`: download a file or folder from a URL of any scheme mlv has an adapter
 * for, without a repository, cache or `.dvc` file: whole or not at all.
 */
import type { Config } from "../config.js";
import { resolveOutput } from "./get.js";
import { type UrlDownloadOptions, urlToPath } from "./url-download.js";
import { describeUrl, isUrl, localPathOf, type OpenUrlOptions, openUrl } from "./url-source.js";

export interface GetUrlDataOptions extends UrlDownloadOptions {
  /** Where to put the data; default the URL's last name in `cwd` (inside it when it is a folder). */
  out?: string;
  /** Replace an existing `out`. */
  force?: boolean;
  /** Options for the source's storage (DVC's `--fs-config`). */
  fsConfig?: Record<string, string>;
  /** Where relative paths start; default `process.cwd()`. */
  cwd?: string;
  /** A project's configuration, for `remote://NAME/path` URLs. */
  config?: Config;
  adapters?: OpenUrlOptions["adapters"];
}

export interface GetUrlDataResult {
  /** Absolute path written. */
  path: string;
  isDir: boolean;
  files: number;
  size: number;
}

/** Download what `url` names to `out` (default: its last name, in `cwd`). */
export async function downloadUrl(url: string, options: GetUrlDataOptions = {}): Promise<GetUrlDataResult> {
  const cwd = options.cwd ?? process.cwd();
  const name = isUrl(url) ? url.replace(/[?#].*$/, "") : localPathOf(url);
  const dest = resolveOutput(name, options.out, cwd, options.force);
  const opened = await openUrl(url, {
    cwd,
    ...(options.config ? { config: options.config } : {}),
    ...(options.fsConfig ? { fsConfig: options.fsConfig } : {}),
    adapters: options.adapters,
  });
  try {
    const entry = await describeUrl(opened);
    const done = await urlToPath(opened.remote, url, entry, dest, options);
    return { path: dest, isDir: entry.isDir, files: done.files, size: done.size };
  } finally {
    await opened.remote.close?.();
  }
}
