/**
 * Headless Chromium (Debian's `chromium`) for the tests that open mlv's pages as a person would:
 * offline (every request goes to a closed port), a screenshot, and the DOM after the page settled.
 * Where Chromium is missing, `requireChromium()` warns and the tests skip; under `CI=true` it
 * throws instead (`.ci/run` installs it).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PNG } from "pngjs";

const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];

export function chromiumBin(): string | undefined {
  const bin = process.env.CHROMIUM_BIN;
  if (bin) return existsSync(bin) ? bin : undefined;
  return CANDIDATES.find((c) => existsSync(c));
}

export function requireChromium(suite: string): string | undefined {
  const bin = chromiumBin();
  if (bin) return bin;
  const why = "headless Chromium is not installed (apt-get install chromium)";
  if (process.env.CI === "true") throw new Error(`CI=true: ${suite} need ${why}`);
  process.stderr.write(`\n!!! ${why}\n!!! ${suite.toUpperCase()} ARE SKIPPED\n\n`);
  return undefined;
}

/** Run Chromium headless on `url`, offline: any request goes to a closed port and fails. */
function chromium(args: string[], url: string): { stdout: string; stderr: string } {
  const bin = chromiumBin();
  if (!bin) throw new Error("chromium is not installed");
  const profile = mkdtempSync(join(tmpdir(), "mlv-chromium-"));
  try {
    const r = spawnSync(
      bin,
      [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--proxy-server=127.0.0.1:9",
        "--proxy-bypass-list=<-loopback>",
        `--user-data-dir=${profile}`,
        "--virtual-time-budget=8000",
        ...args,
        url,
      ],
      { encoding: "utf8", timeout: 90_000, maxBuffer: 64 * 1024 * 1024 },
    );
    if (r.error) throw r.error;
    if (r.status !== 0) throw new Error(`chromium exited ${r.status}: ${r.stderr}`);
    return { stdout: r.stdout, stderr: r.stderr };
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

/** The page's DOM once it has settled, as Chromium serialises it. */
export function dumpDom(url: string): string {
  return chromium(["--dump-dom"], url).stdout;
}

/** A screenshot of the page at `width`x`height`, written to `out`; returns its pixels. */
export function screenshot(url: string, out: string, width = 1200, height = 1400): PNG {
  chromium([`--window-size=${width},${height}`, "--hide-scrollbars", `--screenshot=${out}`], url);
  return PNG.sync.read(readFileSync(out));
}

/** How many pixels of a screenshot are coloured (not white, black or grey): what a chart draws. */
export function colouredPixels(png: PNG): number {
  let count = 0;
  for (let i = 0; i < png.data.length; i += 4) {
    const [r, g, b] = [png.data[i]!, png.data[i + 1]!, png.data[i + 2]!];
    if (Math.max(r, g, b) - Math.min(r, g, b) > 40) count++;
  }
  return count;
}
