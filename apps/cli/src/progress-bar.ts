/**
 * The progress bar drawn on a terminal (stderr) while data moves:
 *
 *   push  42% |████████░░░░░░░░░░░░| 812/2001 files | 860.2 MiB / 2.0 GiB | 95.1 MiB/s | ETA 13s
 *
 * Loaded only once there is progress to show, so commands that draw none never load cli-progress.
 * cli-progress redraws at a steady rate (`fps`) whatever the rate of events; speed and ETA are
 * worked out at each redraw from the last few seconds, so a stalled transfer shows its speed fall.
 */

import type { ProgressEvent } from "@mlv/core";
import cliProgress from "cli-progress";
import { formatBytes } from "./units.js";

/** Redraws per second. */
const FPS = 10;
/** Speed is the average over this many milliseconds (a moving window: recent, yet steady). */
const WINDOW_MS = 5000;
/** No speed or ETA before this much of the window is there: the first instants say little. */
const MIN_SPAN_MS = 500;
const BAR_MAX = 30;
const BAR_MIN = 10;

interface Sample {
  at: number;
  bytes: number;
  files: number;
}

/** One bar for one phase of a command (a pull draws its fetch, then its checkout). */
export class ProgressBar {
  private readonly bar: cliProgress.SingleBar;
  private event: ProgressEvent;
  private readonly samples: Sample[] = [];
  private readonly onExit = () => this.stop();

  constructor(
    first: ProgressEvent,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.event = first;
    this.bar = new UnrefBar({
      format: () => this.line(),
      fps: FPS,
      hideCursor: true,
      clearOnComplete: true,
      linewrap: false,
      stream,
    });
    // Whatever ends the process, the cursor comes back and the line is cleared.
    process.once("exit", this.onExit);
    this.bar.start(1, 0);
  }

  get phase(): ProgressEvent["phase"] {
    return this.event.phase;
  }

  update(event: ProgressEvent): void {
    this.event = event;
    this.bar.update(0);
  }

  stop(): void {
    process.off("exit", this.onExit);
    this.bar.stop();
  }

  /** The line as it is now: what is done, out of what, how fast, and for how much longer. */
  line(): string {
    const e = this.event;
    const { speed, filesPerSecond } = this.rates(e);
    const byBytes = e.totalBytes > 0;
    const fraction = Math.min(1, byBytes ? e.bytes / e.totalBytes : e.totalFiles > 0 ? e.files / e.totalFiles : 0);
    const left = byBytes
      ? speed
        ? (e.totalBytes - e.bytes) / speed
        : undefined
      : filesPerSecond && e.totalFiles > 0
        ? (e.totalFiles - e.files) / filesPerSecond
        : undefined;
    const head = `${e.phase} ${`${Math.floor(fraction * 100)}%`.padStart(4)} `;
    const text = details(e, speed === undefined ? "--" : formatBytes(speed), formatDuration(left));
    // The bar's width is set by the widest this line can get, so it does not jump as numbers grow.
    const widest = details({ ...e, files: e.totalFiles, bytes: e.totalBytes || e.bytes }, "1023.9 MiB", "59m59s");
    const room = (this.stream.columns || 80) - head.length - widest.length - 3;
    const width = Math.max(BAR_MIN, Math.min(BAR_MAX, room));
    const full = Math.round(fraction * width);
    return `${head}|${"\u2588".repeat(full)}${"\u2591".repeat(width - full)}|${text}`;
  }

  /** Bytes and files per second over the last WINDOW_MS (undefined until there is enough to tell). */
  private rates(e: ProgressEvent): { speed?: number; filesPerSecond?: number } {
    const at = this.now();
    const samples = this.samples;
    samples.push({ at, bytes: e.bytes, files: e.files });
    while (samples.length > 2 && at - samples[1]!.at >= WINDOW_MS) samples.shift();
    const oldest = samples[0]!;
    const span = at - oldest.at;
    if (span < MIN_SPAN_MS) return {};
    return {
      speed: ((e.bytes - oldest.bytes) * 1000) / span,
      filesPerSecond: ((e.files - oldest.files) * 1000) / span,
    };
  }
}

/** " 3/10 files | 1.2 MiB / 2.0 GiB | 85.3 MiB/s | ETA 12s": the bytes when there are any. */
function details(e: ProgressEvent, speed: string, eta: string): string {
  const parts = [`${e.files}/${e.totalFiles} files`];
  if (e.totalBytes > 0) parts.push(`${formatBytes(e.bytes)} / ${formatBytes(e.totalBytes)}`);
  else if (e.bytes > 0) parts.push(formatBytes(e.bytes));
  if (e.bytes > 0 || e.totalBytes > 0) parts.push(`${speed}/s`);
  parts.push(`ETA ${eta}`);
  return ` ${parts.join(" | ")}`;
}

/** A SingleBar whose redraw timer does not keep the process alive once the command is done. */
class UnrefBar extends cliProgress.SingleBar {
  override render(): void {
    super.render();
    (this as unknown as { timer?: NodeJS.Timeout }).timer?.unref();
  }
}

/** "8s", "2m05s", "1h02m"; "--" when not known. */
export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return "--";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  const h = Math.floor(s / 3600);
  if (h >= 100) return "--";
  return `${h}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}
