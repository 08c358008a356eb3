import { availableParallelism } from "node:os";
import pMap from "p-map";
import type { ReadableRemote } from "../remote.js";
import { withRetry } from "./retry.js";

/** DVC's default: 4 transfers per core, unless the remote says better. */
export function defaultJobs(remote: ReadableRemote): number {
  return remote.capabilities.defaultJobs ?? 4 * availableParallelism();
}

const LIST_PAGE = 1000;

/**
 * Which of `keys` exist on the remote, deciding between one listing and per-object checks the way
 * DVC does (spec §4.3): estimate the remote's size from one small prefix, then list everything
 * when that is cheaper than asking about each object.
 */
export async function remoteContains(remote: ReadableRemote, keys: string[], jobs: number): Promise<Set<string>> {
  const found = new Set<string>();
  const wanted = [...new Set(keys)];
  if (wanted.length === 0) return found;
  const existsEach = async (list: string[]) => {
    await pMap(
      list,
      async (k) => {
        if (await withRetry(() => remote.exists(k))) found.add(k);
      },
      { concurrency: jobs },
    );
  };
  const listKeys = remote.list?.bind(remote);
  if (wanted.length === 1 || !remote.capabilities.traverse || listKeys === undefined) {
    await existsEach(wanted);
    return found;
  }
  const byRoot = new Map<string, string[]>();
  for (const k of wanted) {
    const root = k.startsWith("files/md5/") ? "files/md5/" : "";
    (byRoot.get(root) ?? byRoot.set(root, []).get(root)!).push(k);
  }
  for (const [root, list] of byRoot) {
    const sample = 16 ** 3;
    let count = 0;
    for await (const _ of listKeys(`${root}00/0`)) count++;
    const remoteSize = count === 0 ? sample : count * sample;
    const pages = remoteSize / LIST_PAGE;
    const weight = remoteSize > 500_000 ? pages * 5 : pages;
    if (list.length < weight) {
      await existsEach(list);
      continue;
    }
    const want = new Set(list);
    const prefixes =
      pages < 256 / jobs ? [root] : [...Array(256).keys()].map((i) => `${root}${i.toString(16).padStart(2, "0")}/`);
    await pMap(
      prefixes,
      async (prefix) => {
        for await (const key of listKeys(prefix)) if (want.has(key)) found.add(key);
      },
      { concurrency: jobs },
    );
  }
  return found;
}
