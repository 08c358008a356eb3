/**
 * Progress as a person watching a bar sees it: bytes that move within one big file, totals known
 * from the first event, and a file count that ends at its total. Byte-level events are throttled to
 * one per 100 ms; `MLV_PROGRESS_INTERVAL_MS=0` lets these small transfers show every step.
 */
import { createHash, randomBytes } from "node:crypto";
import { appendFileSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import localAdapter from "@mlv/remote-local";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AdapterSources } from "../src/adapters.js";
import { Repo } from "../src/api/repo.js";
import { ProgressCounter, type ProgressEvent, watchGrowth } from "../src/progress.js";
import type { RemoteAdapter, RemoteConfig } from "../src/remote.js";
import { workFolder } from "./work-folder.js";

const work = workFolder("mlv-progress-");
const MiB = 1024 * 1024;
const BIG = 20 * MiB;
const md5 = (data: string) => createHash("md5").update(data).digest("hex");

/** The local adapter without its file shortcuts: every byte then moves as a stream. */
const streamingAdapter: RemoteAdapter = {
  ...localAdapter,
  async create(config: RemoteConfig) {
    const remote = await localAdapter.create(config);
    return Object.assign(Object.create(remote), {
      capabilities: { ...remote.capabilities, readFile: false, writeFile: false },
    });
  },
};
const streaming: AdapterSources = { builtins: { local: async () => ({ default: streamingAdapter }) } };

/** A project outside git, its default remote a folder beside it. */
class Workspace {
  readonly dir: string;
  readonly remote: string;

  constructor(name: string) {
    this.dir = join(work, name);
    this.remote = join(work, `${name}-remote`);
    mkdirSync(this.dir, { recursive: true });
  }

  async init(extraConfig = ""): Promise<Repo> {
    await Repo.init(this.dir, { noScm: true });
    this.write(
      ".dvc/config",
      `[core]\n    no_scm = True\n    remote = storage\n${extraConfig}['remote "storage"']\n    url = ${this.remote}\n`,
    );
    return Repo.open(this.dir);
  }

  write(path: string, data: string | Buffer): void {
    mkdirSync(dirname(join(this.dir, path)), { recursive: true });
    writeFileSync(join(this.dir, path), data);
  }

  /** Drop the cache and the data, as a fresh clone has neither. */
  forget(...paths: string[]): void {
    rmSync(join(this.dir, ".dvc", "cache"), { recursive: true, force: true });
    for (const p of paths) rmSync(join(this.dir, p), { recursive: true, force: true });
  }
}

function recorder(phase: ProgressEvent["phase"]) {
  const events: ProgressEvent[] = [];
  return {
    events,
    onProgress: (e: ProgressEvent) => {
      if (e.phase === phase) events.push({ ...e });
    },
  };
}

/** Events show what a bar would: counts that only grow and never pass their totals. */
function expectSteady(events: ProgressEvent[]): void {
  for (const [i, e] of events.entries()) {
    expect(e.files).toBeLessThanOrEqual(e.totalFiles);
    if (e.totalBytes > 0) expect(e.bytes).toBeLessThanOrEqual(e.totalBytes);
    if (i > 0) {
      expect(e.files).toBeGreaterThanOrEqual(events[i - 1]!.files);
      expect(e.bytes).toBeGreaterThanOrEqual(events[i - 1]!.bytes);
    }
  }
}

/** Events reported while the first file was still under way, with some of its bytes done. */
const withinFirstFile = (events: ProgressEvent[]) => events.filter((e) => e.files === 0 && e.bytes > 0);

beforeAll(() => {
  process.env.MLV_PROGRESS_INTERVAL_MS = "0";
});
afterAll(() => {
  delete process.env.MLV_PROGRESS_INTERVAL_MS;
});

describe("progress within one big file", () => {
  const ws = new Workspace("big");
  let repo: Repo;
  const data = randomBytes(BIG);

  beforeAll(async () => {
    repo = await ws.init();
    ws.write("model.bin", data);
  });
  afterAll(() => repo.close());

  it("add reports the bytes hashed before the file is done", async () => {
    const { events, onProgress } = recorder("add");
    await repo.add(["model.bin"], { onProgress });
    expect(withinFirstFile(events).length).toBeGreaterThanOrEqual(3);
    expectSteady(events);
    expect(events.at(-1)).toMatchObject({ files: 1, totalFiles: 1, bytes: BIG, totalBytes: BIG });
  });

  it("push reports bytes before the file is done, its totals from the first event", async () => {
    const { events, onProgress } = recorder("push");
    expect(await repo.push({ onProgress })).toMatchObject({ transferred: 1, failed: [] });
    expect(events[0]).toMatchObject({ files: 0, totalFiles: 1, bytes: 0, totalBytes: BIG });
    expect(withinFirstFile(events).length).toBeGreaterThanOrEqual(3);
    expectSteady(events);
    expect(events.at(-1)).toMatchObject({ files: 1, totalFiles: 1, bytes: BIG, totalBytes: BIG });
  });

  it("fetch reports bytes as they arrive, its totals from the first event", async () => {
    ws.forget("model.bin");
    await repo.close();
    repo = await Repo.open(ws.dir);
    const { events, onProgress } = recorder("fetch");
    expect(await repo.fetch({ onProgress, adapters: streaming })).toMatchObject({ transferred: 1, failed: [] });
    expect(events[0]).toMatchObject({ files: 0, totalFiles: 1, bytes: 0, totalBytes: BIG });
    expect(withinFirstFile(events).length).toBeGreaterThanOrEqual(3);
    expectSteady(events);
    expect(events.at(-1)).toMatchObject({ files: 1, totalFiles: 1, bytes: BIG, totalBytes: BIG });
  });

  it("a push through a streaming remote counts the bytes sent", async () => {
    rmSync(ws.remote, { recursive: true, force: true });
    const { events, onProgress } = recorder("push");
    expect(await repo.push({ onProgress, adapters: streaming })).toMatchObject({ transferred: 1, failed: [] });
    expect(withinFirstFile(events).length).toBeGreaterThanOrEqual(3);
    expectSteady(events);
    expect(events.at(-1)).toMatchObject({ files: 1, bytes: BIG, totalBytes: BIG });
  });
});

describe("counts and totals", () => {
  const ws = new Workspace("counts");
  let repo: Repo;
  const files = 30;
  const bodies: string[] = [];
  let folderBytes = 0;

  beforeAll(async () => {
    repo = await ws.init();
    for (let i = 0; i < files; i++) {
      const body = `image number ${i}\n`.repeat(i + 1);
      bodies.push(body);
      folderBytes += body.length;
      ws.write(`images/${String(i).padStart(2, "0")}.txt`, body);
    }
    ws.write("labels.csv", "id,label\n1,cat\n");
    await repo.add(["images", "labels.csv"]);
  });
  afterAll(() => repo.close());

  it("push counts the files, not the folder's listing: the count ends at its total", async () => {
    const { events, onProgress } = recorder("push");
    expect(await repo.push({ onProgress, jobs: 1 })).toMatchObject({ transferred: files + 2, failed: [] });
    expect(events[0]).toMatchObject({ files: 0, totalFiles: files + 1, totalBytes: folderBytes + 15 });
    expectSteady(events);
    expect(events.at(-1)).toMatchObject({ files: files + 1, totalFiles: files + 1, bytes: folderBytes + 15 });
  });

  it("fetch knows its totals from the pointers, less what the cache has", async () => {
    ws.forget("images", "labels.csv");
    await repo.close();
    repo = await Repo.open(ws.dir);
    const { events, onProgress } = recorder("fetch");
    expect(await repo.fetch({ onProgress })).toMatchObject({ transferred: files + 2, failed: [], missing: [] });
    expect(events[0]).toMatchObject({ files: 0, totalFiles: files + 1, bytes: 0, totalBytes: folderBytes + 15 });
    expectSteady(events);
    expect(events.at(-1)).toMatchObject({ files: files + 1, bytes: folderBytes + 15, totalBytes: folderBytes + 15 });

    // The first ten files of the folder go missing from the cache: only they are to come.
    let lost = 0;
    for (const body of bodies.slice(0, 10)) {
      const oid = md5(body);
      rmSync(join(ws.dir, ".dvc", "cache", "files", "md5", oid.slice(0, 2), oid.slice(2)));
      lost += body.length;
    }
    const again = recorder("fetch");
    expect(await repo.fetch({ onProgress: again.onProgress })).toMatchObject({ transferred: 10, failed: [] });
    expect(again.events[0]).toMatchObject({ files: 0, totalFiles: 10, bytes: 0, totalBytes: lost });
    expect(again.events.at(-1)).toMatchObject({ files: 10, totalFiles: 10, bytes: lost, totalBytes: lost });
  });

  it("checkout knows its totals from its plan", async () => {
    const { events, onProgress } = recorder("checkout");
    await repo.checkout({ onProgress });
    expect(events[0]).toMatchObject({ files: 0, totalFiles: files + 1, bytes: 0, totalBytes: folderBytes + 15 });
    expectSteady(events);
    expect(events.at(-1)).toMatchObject({ files: files + 1, bytes: folderBytes + 15 });

    // Two files changed: the plan is those two, with their bytes.
    ws.write("images/03.txt", "edited");
    ws.write("labels.csv", "edited too");
    const again = recorder("checkout");
    await repo.checkout({ onProgress: again.onProgress, force: true });
    const both = "image number 3\n".length * 4 + 15;
    expect(again.events[0]).toMatchObject({ files: 0, totalFiles: 2, totalBytes: both });
    expect(again.events.at(-1)).toMatchObject({ files: 2, totalFiles: 2, bytes: both, totalBytes: both });
  });
});

describe("the counter", () => {
  it("counts a retried file's bytes once, and each file once", () => {
    const events: ProgressEvent[] = [];
    const counter = new ProgressCounter((e) => events.push(e), "push", 2, 300);
    const a = counter.file();
    a.set(60);
    a.set(0); // the upload failed and starts over
    a.set(100);
    a.done(100);
    a.done(100); // a second end changes nothing
    const b = counter.file();
    b.add(50);
    b.done(200);
    expect(events.at(-1)).toMatchObject({ files: 2, totalFiles: 2, bytes: 300, totalBytes: 300 });
    expect(events.find((e) => e.files === 1)).toMatchObject({ bytes: 100 });
  });

  it("reports a file's growth while a copy runs, and nothing once it is done", async () => {
    const path = join(work, "growing");
    writeFileSync(path, "");
    const sizes: number[] = [];
    const copy = (async () => {
      for (let i = 0; i < 6; i++) {
        appendFileSync(path, Buffer.alloc(1000));
        await sleep(40);
      }
      return "copied";
    })();
    expect(await watchGrowth(path, copy, (n) => sizes.push(n))).toBe("copied");
    const seen = sizes.length;
    expect(seen).toBeGreaterThanOrEqual(3);
    expect(sizes.every((n, i) => n > 0 && n <= 6000 && (i === 0 || n >= sizes[i - 1]!))).toBe(true);
    appendFileSync(path, "more");
    await sleep(80);
    expect(sizes).toHaveLength(seen);
  });
});
