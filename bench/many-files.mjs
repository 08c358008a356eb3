// Case 19 of `bench/run.mjs`: the shape of an image dataset, side by side with the real DVC.
// A folder of --many files (100,000 by default) of 1-64 KiB goes through what a team does with it:
//   19a. `add` of the folder;
//   19b. `push` to a local remote;
//   19c. `pull` into a fresh clone (pointer files and config only, empty cache) from that remote;
//   19d. `push` to S3 (a local moto server);
//   19e. `pull` into a fresh clone from S3.
// Each row is mlv against `dvc` doing the same step on its own copy of the same data (target: at
// most 0.1x DVC's time), with peak memory under 200 MiB (300 MiB for the S3 rows).
// After each transfer row, a floor row sets the same mlv time against the plain copy tool moving
// the same files (target: at most 1.5x for the local rows, 1.0x for the S3 rows):
//   19b2. `cp -r` of mlv's `.dvc/cache/files/md5` into a fresh folder;
//   19c2. `cp -r` of the local remote into a fresh folder, then `cp -r` of that copy into another
//         (a pull writes each file twice: the cache and the workspace), as one shell command;
//   19d2. `aws s3 cp --recursive` of mlv's `.dvc/cache/files/md5` to a fresh prefix on the same moto;
//   19e2. `aws s3 cp --recursive` of that prefix into a fresh folder.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { countFilesIn, findDvc } from "./peers.mjs";

const KiB = 1024;
const PEAK_TARGET_MIB = 200;
const S3_PEAK_TARGET_MIB = 300;
const FILES_PER_FOLDER = 1000;

/**
 * `n` files of 1-64 KiB in folders of 1,000: a unique header, then bytes of a shared random pool
 * at a per-file offset, so every file differs and the content does not compress.
 */
function writeDataset(dir, n, pool) {
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const sub = join(dir, `c${String(Math.floor(i / FILES_PER_FOLDER)).padStart(3, "0")}`);
    if (i % FILES_PER_FOLDER === 0) mkdirSync(sub, { recursive: true });
    const size = KiB + ((i * 40503) % (63 * KiB + 1));
    const header = Buffer.from(`image ${i}\n`);
    const offset = (i * 7919) % (pool.length - size);
    const body = Buffer.concat([header, pool.subarray(offset, offset + size - header.length)]);
    writeFileSync(join(sub, `img${String(i).padStart(6, "0")}.bin`), body);
    bytes += body.length;
  }
  return bytes;
}

/**
 * Run case 19. `ctx` holds run.mjs's helpers and state: runCase, record, measure, mlvMeasure,
 * mlv, sh, log, BenchError, base, mlvEnv, q, many, fmtBytes, randomPool, warm, ensureMoto,
 * s3Remote, awsEnv, s3Bucket, shMeasure, awsCmd (an aws command line against moto, built once moto
 * runs). Each step runs once (--repeat does not apply: a step takes minutes
 * for DVC).
 */
export async function runManyFilesCase(ctx) {
  const { runCase, BenchError } = ctx;
  const dvcBin = findDvc();
  if (!dvcBin) {
    runCase(19, () => {
      throw new BenchError("case 19 needs the real DVC: bash ../shared/dvc/install.sh (or DVC_BIN)");
    });
    return;
  }
  // moto is started before the measured steps, so that the case fails early when it cannot run.
  let moto;
  try {
    moto = await ctx.ensureMoto();
  } catch (e) {
    runCase(19, () => {
      throw e;
    });
    return;
  }
  runCase(19, () => measureAll(ctx, dvcBin, moto));
}

function measureAll(ctx, dvcBin, moto) {
  const { record, measure, mlvMeasure, shMeasure, mlv, sh, log, BenchError, base, mlvEnv, many, q } = ctx;
  const dvcEnv = {
    ...mlvEnv,
    ...ctx.awsEnv,
    DVC_NO_ANALYTICS: "1",
    DVC_SITE_CACHE_DIR: join(base, "dvc-site"),
  };
  const dvc = (label, args, cwd) => measure(label, dvcBin, args, cwd, dvcEnv);
  const dvcUntimed = (args, cwd) => sh([dvcBin, ...args].map(ctx.q).join(" "), cwd, dvcEnv);

  // One project per tool, each with its own copy of the same files.
  const pool = ctx.randomPool();
  const project = (tool) => {
    const dir = join(base, `many-${tool}`);
    mkdirSync(dir, { recursive: true });
    sh("git init -q", dir);
    if (tool === "mlv") mlv(["init", "-q"], dir);
    else dvcUntimed(["init", "-q"], dir);
    return dir;
  };
  const mlvRepo = project("mlv");
  const dvcRepo = project("dvc");
  log(`generating ${many} files of 1-64 KiB, twice (one copy per tool)`);
  const bytes = writeDataset(join(mlvRepo, "images"), many, pool);
  writeDataset(join(dvcRepo, "images"), many, pool);
  const what = `${many} files of 1-64 KiB (${ctx.fmtBytes(bytes)}) in folders of ${FILES_PER_FOLDER}`;

  /** A fresh clone of `repo`: its config and pointer file, nothing else. */
  const cloneOf = (repo, name) => {
    const copy = join(base, name);
    ctx.discard(copy);
    mkdirSync(join(copy, ".dvc"), { recursive: true });
    sh("git init -q", copy);
    writeFileSync(join(copy, ".dvc", "config"), readFileSync(join(repo, ".dvc", "config")));
    writeFileSync(join(copy, "images.dvc"), readFileSync(join(repo, "images.dvc")));
    return copy;
  };
  const expectAll = (who, dir) => {
    const n = countFilesIn(join(dir, "images"));
    if (n !== many) throw new BenchError(`${who} restored ${n} files of ${many}`);
  };
  const row = (part, name, note, pair, peak = PEAK_TARGET_MIB) =>
    record(`19${part}`, name, "dvc", 0.1, note, [pair], peak);
  /** A floor row: the mlv measurement of a step against a plain copy tool moving the same files. */
  const floorRow = (part, name, baseline, target, note, pair, peak = PEAK_TARGET_MIB) =>
    record(`19${part}`, name, baseline, target, note, [pair], peak);
  /** A fresh, absent folder under base for a copy tool to write into. */
  const freshDir = (name) => {
    const dir = join(base, name);
    ctx.discard(dir);
    return dir;
  };
  const expectCopy = (who, src, dest) => {
    const want = countFilesIn(src);
    const n = countFilesIn(dest);
    if (n !== want) throw new BenchError(`${who} copied ${n} files of ${want}`);
  };
  const mlvCacheFiles = join(mlvRepo, ".dvc", "cache", "files", "md5");

  // 19a: add.
  ctx.warm(join(mlvRepo, "images"), join(dvcRepo, "images"));
  const addDvc = dvc("case19a baseline dvc add", ["add", "-q", "images"], dvcRepo);
  const addMlv = mlvMeasure("case19a mlv add", ["add", "-q", "images"], mlvRepo);
  const oid = (repo) => /md5: ([0-9a-f]{32}\.dir)/.exec(readFileSync(join(repo, "images.dvc"), "utf8"))?.[1];
  if (oid(mlvRepo) !== oid(dvcRepo))
    throw new BenchError(`mlv and dvc disagree on the folder's hash: ${oid(mlvRepo)} vs ${oid(dvcRepo)}`);
  row("a", "add of an image dataset", `\`mlv add images\` vs \`dvc add images\`: ${what}.`, {
    mlv: addMlv,
    base: addDvc,
  });

  // 19b, 19c: a local remote.
  {
    for (const [tool, repo] of [
      ["mlv", mlvRepo],
      ["dvc", dvcRepo],
    ]) {
      const remote = join(base, `many-remote-${tool}`);
      if (tool === "mlv") mlv(["remote", "add", "-d", "-f", "disk", remote], repo);
      else dvcUntimed(["remote", "add", "-d", "-f", "disk", remote], repo);
    }
    const pushDvc = dvc("case19b baseline dvc push", ["push", "-q"], dvcRepo);
    const pushMlv = mlvMeasure("case19b mlv push", ["push", "-q"], mlvRepo);
    row("b", "push of an image dataset, local", `\`mlv push\` vs \`dvc push\` to a local folder: ${what}.`, {
      mlv: pushMlv,
      base: pushDvc,
    });
    ctx.warm(mlvCacheFiles);
    const pushCopy = freshDir("many-cp-push");
    const pushCp = shMeasure("case19b2 baseline cp -r", `cp -r ${q(mlvCacheFiles)} ${q(pushCopy)}`, base);
    expectCopy("cp -r", mlvCacheFiles, pushCopy);
    floorRow(
      "b2",
      "push of an image dataset, local, against cp -r",
      "cp -r",
      1.5,
      `The \`mlv push\` of 19b vs \`cp -r .dvc/cache/files/md5 DIR\` (mlv's cache files into a fresh folder): ${what}.`,
      { mlv: pushMlv, base: pushCp },
    );
    ctx.discard(pushCopy);
    const dvcClone = cloneOf(dvcRepo, "many-clone-dvc");
    const mlvClone = cloneOf(mlvRepo, "many-clone-mlv");
    const pullDvc = dvc("case19c baseline dvc pull", ["pull", "-q"], dvcClone);
    const pullMlv = mlvMeasure("case19c mlv pull", ["pull", "-q"], mlvClone);
    expectAll("dvc pull", dvcClone);
    expectAll("mlv pull", mlvClone);
    row(
      "c",
      "pull of an image dataset, local",
      `\`mlv pull\` vs \`dvc pull\` from a local folder into a fresh clone (empty cache): ${what}.`,
      { mlv: pullMlv, base: pullDvc },
    );
    const mlvRemote = join(base, "many-remote-mlv");
    ctx.warm(mlvRemote);
    const pullCopy1 = freshDir("many-cp-pull-1");
    const pullCopy2 = freshDir("many-cp-pull-2");
    const pullCp = shMeasure(
      "case19c2 baseline cp -r twice",
      `cp -r ${q(mlvRemote)} ${q(pullCopy1)} && cp -r ${q(pullCopy1)} ${q(pullCopy2)}`,
      base,
    );
    expectCopy("cp -r", mlvRemote, pullCopy1);
    expectCopy("cp -r", mlvRemote, pullCopy2);
    floorRow(
      "c2",
      "pull of an image dataset, local, against cp -r",
      "cp -r",
      1.5,
      `The \`mlv pull\` of 19c vs \`cp -r REMOTE DIR1 && cp -r DIR1 DIR2\` (the local remote into a fresh folder, then that copy into another: a pull writes each file twice, cache and workspace): ${what}.`,
      { mlv: pullMlv, base: pullCp },
    );
    for (const d of [dvcClone, mlvClone, mlvRemote, join(base, "many-remote-dvc"), pullCopy1, pullCopy2])
      ctx.discard(d);
  }

  // 19d, 19e: S3 on moto.
  {
    for (const [tool, repo] of [
      ["mlv", mlvRepo],
      ["dvc", dvcRepo],
    ]) {
      const url = `s3://${ctx.s3Bucket}/many-${tool}`;
      if (tool === "mlv") ctx.s3Remote(repo, url, true);
      else {
        dvcUntimed(["remote", "add", "-d", "-f", "s3", url], repo);
        dvcUntimed(["remote", "modify", "s3", "endpointurl", moto.endpoint], repo);
      }
    }
    const pushDvc = dvc("case19d baseline dvc push", ["push", "-q"], dvcRepo);
    const pushMlv = mlvMeasure("case19d mlv push", ["push", "-q"], mlvRepo);
    row(
      "d",
      "push of an image dataset, S3",
      `\`mlv push\` vs \`dvc push\` to S3 (a local moto server): ${what}.`,
      { mlv: pushMlv, base: pushDvc },
      S3_PEAK_TARGET_MIB,
    );
    const awsUrl = `s3://${ctx.s3Bucket}/many-aws`;
    ctx.warm(mlvCacheFiles);
    const pushAws = shMeasure(
      "case19d2 baseline aws s3 cp --recursive",
      ctx.awsCmd(`s3 cp --recursive --quiet ${q(mlvCacheFiles)} ${awsUrl}`),
      base,
      ctx.awsEnv,
    );
    floorRow(
      "d2",
      "push of an image dataset, S3, against aws s3 cp --recursive",
      "aws s3 cp",
      1.0,
      `The \`mlv push\` of 19d vs \`aws s3 cp --recursive .dvc/cache/files/md5 s3://bucket/PREFIX\` (mlv's cache files to a fresh prefix on the same moto): ${what}.`,
      { mlv: pushMlv, base: pushAws },
      S3_PEAK_TARGET_MIB,
    );
    const dvcClone = cloneOf(dvcRepo, "many-clone-dvc");
    const mlvClone = cloneOf(mlvRepo, "many-clone-mlv");
    const pullDvc = dvc("case19e baseline dvc pull", ["pull", "-q"], dvcClone);
    const pullMlv = mlvMeasure("case19e mlv pull", ["pull", "-q"], mlvClone);
    expectAll("dvc pull", dvcClone);
    expectAll("mlv pull", mlvClone);
    row(
      "e",
      "pull of an image dataset, S3",
      `\`mlv pull\` vs \`dvc pull\` from S3 (moto) into a fresh clone (empty cache): ${what}.`,
      { mlv: pullMlv, base: pullDvc },
      S3_PEAK_TARGET_MIB,
    );
    const pullCopy = freshDir("many-aws-pull");
    const pullAws = shMeasure(
      "case19e2 baseline aws s3 cp --recursive",
      ctx.awsCmd(`s3 cp --recursive --quiet ${awsUrl} ${q(pullCopy)}`),
      base,
      ctx.awsEnv,
    );
    expectCopy("aws s3 cp", mlvCacheFiles, pullCopy);
    floorRow(
      "e2",
      "pull of an image dataset, S3, against aws s3 cp --recursive",
      "aws s3 cp",
      1.0,
      `The \`mlv pull\` of 19e vs \`aws s3 cp --recursive s3://bucket/PREFIX DIR\` (the prefix of 19d2 into a fresh folder, no verification): ${what}.`,
      { mlv: pullMlv, base: pullAws },
      S3_PEAK_TARGET_MIB,
    );
    ctx.discard(dvcClone);
    ctx.discard(mlvClone);
    ctx.discard(pullCopy);
  }
  ctx.discard(mlvRepo);
  ctx.discard(dvcRepo);
}
