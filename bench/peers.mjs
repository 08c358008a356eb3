// What several bench cases share about the tools they compare with.
import { existsSync, readdirSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";

/** The DVC installed by ../shared/dvc/install.sh (same lookup as test-fixtures/dvc-peer.ts), or undefined. */
export function findDvc() {
  const cache = process.env.XDG_CACHE_HOME || join(process.env.HOME || os.homedir(), ".cache");
  const bin = process.env.DVC_BIN || join(cache, "mlv-dvc-peer", "dvc-3.64.0", "bin", "dvc");
  return existsSync(bin) ? bin : undefined;
}

/** Every file below `dir` (0 when it does not exist): how a case checks a pull restored them all. */
export function countFilesIn(dir) {
  if (!existsSync(dir)) return 0;
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) n++;
  return n;
}
