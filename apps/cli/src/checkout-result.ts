import { type CheckoutResult, MlvError } from "@mlv/core";
import type { Project } from "@mlv/core/internal";
import type { Output } from "./output.js";

/** DVC's lines after a checkout (by `checkout` and `pull`): A or M, then the path. */
export function printCheckout(out: Output, repo: Project, result: CheckoutResult): void {
  out.stopProgress();
  const isDir = new Set(result.dirs);
  const show = (p: string) => out.path(repo.root, p) + (isDir.has(p) ? "/" : "");
  for (const p of result.added) out.info(`A\t${show(p)}`);
  for (const p of result.modified) out.info(`M\t${show(p)}`);
}

/** Fail with the targets whose data was not in the cache, and how to get it. */
export function failIfMissing(result: CheckoutResult, out: Output, repo: Project): void {
  if (result.failed.length === 0) return;
  throw new MlvError(
    "ECHECKOUT",
    `Checkout failed for following targets:\n${result.failed.map((p) => out.path(repo.root, p)).join("\n")}\nIs your cache up to date? Run 'mlv pull' (or 'mlv fetch') to download the data from the remote.`,
    { data: { failed: result.failed } },
  );
}
