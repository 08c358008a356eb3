// Case 18 of `bench/run.mjs`: `mlv pull` from an HTTP remote served by a local nginx (the launcher
// of the tests, test-fixtures/servers/nginx.mjs).
//   18a. one big object (--big-mib, 1 GiB by default) side by side with `curl -o` of the same URL
//        (target: at most 1.0x curl);
//   18b. a folder of 20,000 small objects side by side with the real DVC's `dvc pull` from the same
//        remote (target: at most 0.5x DVC's time).
// Both with peak memory under 200 MiB. The objects are put on the server untimed (`mlv push` to
// the folder nginx serves); every measured pull starts from an empty cache and workspace.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startNginx } from "../test-fixtures/servers/nginx.mjs";
import { countFilesIn, findDvc } from "./peers.mjs";

const SMALL_FILES = 20000;
const HTTP_PEAK_TARGET_MIB = 200;

/** `n` files of 1-8 KiB in folders of 500, with deterministic content. */
function writeSmallFiles(dir, n) {
  for (let i = 0; i < n; i++) {
    const sub = join(dir, `d${String(Math.floor(i / 500)).padStart(3, "0")}`);
    if (i % 500 === 0) mkdirSync(sub, { recursive: true });
    const size = 1024 + ((i * 7919) % 7168);
    const line = `file ${i} `;
    writeFileSync(
      join(sub, `f${String(i).padStart(5, "0")}.bin`),
      line.repeat(Math.ceil(size / line.length)).slice(0, size),
    );
  }
}

/**
 * Run case 18 (both parts). `ctx` holds run.mjs's helpers and state: runCase, record, measure,
 * mlvMeasure, shMeasure, mlv, sh, log, BenchError, base, mlvEnv, bigBytes, fmtBytes, q, repeat,
 * writeRandomFile.
 */
export async function runHttpCase(ctx) {
  const { runCase, log, BenchError } = ctx;
  let nginx;
  try {
    nginx = await startNginx();
  } catch (e) {
    runCase(18, () => {
      throw new BenchError(`the HTTP case needs nginx (apt-get install nginx): ${e.message}`);
    });
    return;
  }
  try {
    log(`nginx on 127.0.0.1:${nginx.port} (pid ${nginx.pid})`);
    runCase(18, () => measureBoth(ctx, nginx));
  } finally {
    await nginx.stop();
  }
}

/** Cases 18a and 18b against the running `nginx`. */
function measureBoth(ctx, nginx) {
  const { record, measure, mlvMeasure, shMeasure, mlv, sh, log, BenchError, base, mlvEnv, q } = ctx;
  {
    /** A project whose default remote is the nginx folder `sub`, filled by `mlv push` to that folder. */
    const publish = (name, sub, target, fill) => {
      const dir = join(base, name);
      mkdirSync(dir, { recursive: true });
      sh("git init -q", dir);
      mlv(["init", "-q"], dir);
      fill(dir);
      mlv(["add", "-q", target], dir);
      mlv(["remote", "add", "-d", "disk", nginx.localPath("rw", sub)], dir);
      mlv(["push", "-q"], dir);
      mlv(["remote", "add", "-d", "web", nginx.url("rw", sub)], dir);
      return dir;
    };
    /** An empty copy of `dir`'s project (pointer files and config only), as a fresh clone is. */
    const cloneOf = (dir, name, target) => {
      const copy = join(base, name);
      ctx.discard(copy);
      mkdirSync(join(copy, ".dvc"), { recursive: true });
      sh("git init -q", copy);
      writeFileSync(join(copy, ".dvc", "config"), readFileSync(join(dir, ".dvc", "config")));
      writeFileSync(join(copy, `${target}.dvc`), readFileSync(join(dir, `${target}.dvc`)));
      return copy;
    };
    const emptied = (copy, target) => {
      ctx.discard(join(copy, target));
      ctx.discard(join(copy, ".dvc", "cache"));
      rmSync(join(copy, ".dvc", "tmp"), { recursive: true, force: true });
      return copy;
    };

    // -- 18a: one big object, against curl ------------------------------------------------------
    log(`set-up: a ${ctx.fmtBytes(ctx.bigBytes)} object pushed to nginx (untimed)`);
    const big = publish("http-big", "big", "model.bin", (dir) =>
      ctx.writeRandomFile(join(dir, "model.bin"), ctx.bigBytes),
    );
    const bigOid = /md5: ([0-9a-f]{32})\n/.exec(readFileSync(join(big, "model.bin.dvc"), "utf8"))[1];
    const objectUrl = `${nginx.url("rw", "big")}/files/md5/${bigOid.slice(0, 2)}/${bigOid.slice(2)}`;
    const bigClone = cloneOf(big, "http-big-clone", "model.bin");
    rmSync(join(big, "model.bin"), { force: true });
    rmSync(join(big, ".dvc", "cache"), { recursive: true, force: true });
    const reps = [];
    for (let i = 0; i < ctx.repeat; i++) {
      const out = join(base, "http-big-curl.bin");
      rmSync(out, { force: true });
      const b = shMeasure("case18a baseline curl", `curl -sSf -o ${q(out)} ${q(objectUrl)}`, base);
      rmSync(out, { force: true });
      const m = mlvMeasure("case18a mlv pull", ["pull", "-q"], emptied(bigClone, "model.bin"));
      if (!existsSync(join(bigClone, "model.bin"))) throw new BenchError("mlv pull did not restore model.bin");
      reps.push({ mlv: m, base: b });
    }
    record(
      "18a",
      `pull ${ctx.fmtBytes(ctx.bigBytes)} object over HTTP`,
      "curl -o",
      1.0,
      `\`mlv pull\` of one ${ctx.fmtBytes(ctx.bigBytes)} file from nginx (http://127.0.0.1, the object verified, then checked out) into an empty cache vs \`curl -o\` of the same object URL.`,
      reps,
      HTTP_PEAK_TARGET_MIB,
    );
    rmSync(bigClone, { recursive: true, force: true });
    rmSync(nginx.localPath("rw", "big"), { recursive: true, force: true });

    // -- 18b: 20,000 small objects, against DVC ---------------------------------------------------
    const dvcBin = findDvc();
    if (!dvcBin) throw new BenchError("case 18b needs the real DVC: bash ../shared/dvc/install.sh (or DVC_BIN)");
    log(`set-up: a folder of ${SMALL_FILES} files pushed to nginx (untimed)`);
    const small = publish("http-small", "small", "data", (dir) => writeSmallFiles(join(dir, "data"), SMALL_FILES));
    const dvcEnv = { ...mlvEnv, DVC_NO_ANALYTICS: "1", DVC_SITE_CACHE_DIR: join(base, "dvc-site") };
    const mlvClone = cloneOf(small, "http-small-mlv", "data");
    const dvcClone = cloneOf(small, "http-small-dvc", "data");
    const smallReps = [];
    for (let i = 0; i < ctx.repeat; i++) {
      const b = measure("case18b baseline dvc pull", dvcBin, ["pull", "-q"], emptied(dvcClone, "data"), dvcEnv);
      const m = mlvMeasure("case18b mlv pull", ["pull", "-q"], emptied(mlvClone, "data"));
      for (const [who, dir] of [
        ["dvc", dvcClone],
        ["mlv", mlvClone],
      ]) {
        const n = countFilesIn(join(dir, "data"));
        if (n !== SMALL_FILES) throw new BenchError(`${who} pull restored ${n} files of ${SMALL_FILES}`);
      }
      smallReps.push({ mlv: m, base: b });
    }
    record(
      "18b",
      `pull ${SMALL_FILES} small objects over HTTP`,
      "dvc pull",
      0.5,
      `\`mlv pull\` vs the real DVC's \`dvc pull\` (default jobs each) of a folder of ${SMALL_FILES} files of 1-8 KiB from nginx (http://127.0.0.1), into an empty cache and workspace.`,
      smallReps,
      HTTP_PEAK_TARGET_MIB,
    );
  }
}
