// Cases 10-13 of `bench/run.mjs`: mlv over SFTP against a local OpenSSH sshd (the launcher of the
// tests, test-fixtures/servers/sshd.mjs), side by side with `rclone copy` to the same server with
// the same key and known_hosts. run.mjs calls runSftpCases() with its helpers; the cases themselves
// are synchronous (spawnSync under GNU time), like the others.
//
// Both sides get the same parallelism: mlv its default jobs (16), rclone `--transfers 16
// --checkers 16`. rclone runs with `shell_type none` (the server only speaks SFTP, so rclone could
// not run md5sum remotely anyway) and otherwise its defaults (it sets each file's modification time
// after upload; its downloads of big files use 4 parallel streams).
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { startSshd } from "../test-fixtures/servers/sshd.mjs";

const SFTP_PEAK_TARGET_MIB = 200;
const RCLONE_PARALLEL = ["--transfers", "16", "--checkers", "16"];

/** Every file below `dir` (0 when it does not exist). */
function countFilesIn(dir) {
  if (!existsSync(dir)) return 0;
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) n++;
  return n;
}

/**
 * Run cases 10-13 (those selected). `ctx` holds run.mjs's helpers and state: opts, selected,
 * runCase, record, measure, mlvMeasure, mlv, sh, log, BenchError, base, baseEnv, warmTree,
 * writeRandomFile, ensureAdded, checkPointer, treeName, treeRepo, dataDir, bigBytes, fmtBytes, q.
 */
export async function runSftpCases(ctx) {
  const { opts, selected, runCase, record, measure, mlvMeasure, mlv, sh, log, BenchError, base, baseEnv } = ctx;
  const { q, fmtBytes, bigBytes } = ctx;
  const cases = [10, 11, 12, 13].filter(selected);
  if (cases.length === 0) return;

  let sshd;
  try {
    sshd = await startSshd();
  } catch (e) {
    // Reported like any failed case: the table says which.
    runCase(cases[0], () => {
      throw new BenchError(`the SFTP cases need OpenSSH's sshd and rclone: ${e.message}`);
    });
    return;
  }
  try {
    const r = sh("rclone version", base);
    log(`sshd on 127.0.0.1:${sshd.port} (pid ${sshd.pid}), ${r.split("\n")[0]}`);
  } catch (e) {
    await sshd.stop();
    runCase(cases[0], () => {
      throw new BenchError(`the SFTP cases compare with rclone (apt-get install rclone): ${e.message}`);
    });
    return;
  }

  const bigRepo = join(base, "sftp-big");
  try {
    // mlv (and rclone) trust the server through $HOME/.ssh/known_hosts of the bench's HOME.
    sshd.makeHome(baseEnv.HOME);
    const knownHosts = join(baseEnv.HOME, ".ssh", "known_hosts");
    const rcloneEnv = {
      ...baseEnv,
      RCLONE_CONFIG: join(base, "rclone.conf"), // absent: the remote comes from the variables below
      RCLONE_CONFIG_SSHBENCH_TYPE: "sftp",
      RCLONE_CONFIG_SSHBENCH_HOST: "127.0.0.1",
      RCLONE_CONFIG_SSHBENCH_PORT: String(sshd.port),
      RCLONE_CONFIG_SSHBENCH_USER: sshd.user,
      RCLONE_CONFIG_SSHBENCH_KEY_FILE: sshd.clientKey,
      RCLONE_CONFIG_SSHBENCH_KNOWN_HOSTS_FILE: knownHosts,
      RCLONE_CONFIG_SSHBENCH_SHELL_TYPE: "none",
    };
    const rclone = (label, args) => measure(label, "rclone", ["-q", ...RCLONE_PARALLEL, ...args], base, rcloneEnv);

    /** Point remote `sftp` of `repo` at `sub` on the server: `mlv remote add` + `mlv remote modify` only. */
    const sftpRemote = (repo, sub) => {
      mlv(["remote", "add", "-f", "sftp", sshd.url(sub)], repo);
      mlv(["remote", "modify", "sftp", "keyfile", sshd.clientKey], repo);
    };

    // -- case 10: push a folder of small files --------------------------------------------------
    let treeOnServer = null; // { mlv: sub, rclone: sub } after case 10
    runCase(10, () => {
      ctx.ensureAdded();
      ctx.checkPointer();
      const reps = [];
      for (let i = 0; i < opts.repeat; i++) {
        const subs = { mlv: `tree-mlv-${i}`, rclone: `tree-rclone-${i}` };
        ctx.warmTree(ctx.dataDir);
        const b = rclone("case10 baseline rclone copy", [
          "copy",
          ctx.dataDir,
          `sshbench:${sshd.remotePath(subs.rclone)}`,
        ]);
        const copied = countFilesIn(sshd.localPath(subs.rclone));
        if (copied !== opts.files) throw new BenchError(`rclone copied ${copied} files, expected ${opts.files}`);
        sftpRemote(ctx.treeRepo, subs.mlv);
        ctx.warmTree(join(ctx.treeRepo, ".dvc", "cache"));
        const m = mlvMeasure("case10 mlv push", ["push", "-r", "sftp"], ctx.treeRepo);
        const objects = countFilesIn(sshd.localPath(subs.mlv));
        if (objects !== opts.files + 1)
          throw new BenchError(`the SFTP remote holds ${objects} objects after push, expected ${opts.files + 1}`);
        reps.push({ mlv: m, base: b });
        if (treeOnServer) for (const s of Object.values(treeOnServer)) ctx.discard(sshd.localPath(s));
        treeOnServer = subs;
      }
      record(
        10,
        `push folder over SFTP (${ctx.treeName()})`,
        "rclone copy",
        1.0,
        `\`mlv push -r sftp\` to an empty folder on a local OpenSSH sshd (ssh://user@127.0.0.1:PORT/..., keyfile set with \`mlv remote modify\`) vs \`rclone copy DIR sshbench:/...\` (sftp backend, ${RCLONE_PARALLEL.join(" ")}, same key and known_hosts); both read a warm cache.`,
        reps,
        SFTP_PEAK_TARGET_MIB,
      );
    });

    // -- case 11: pull that folder -------------------------------------------------------------
    runCase(11, () => {
      if (!treeOnServer) {
        ctx.ensureAdded();
        const subs = { mlv: "tree-mlv", rclone: "tree-rclone" };
        log("set-up: rclone copy + mlv push -r sftp (untimed)");
        sh(
          `rclone -q ${RCLONE_PARALLEL.join(" ")} copy ${q(ctx.dataDir)} ${q(`sshbench:${sshd.remotePath(subs.rclone)}`)}`,
          base,
          rcloneEnv,
        );
        sftpRemote(ctx.treeRepo, subs.mlv);
        mlv(["push", "-r", "sftp"], ctx.treeRepo);
        treeOnServer = subs;
      }
      const copyDir = join(base, "sftp-tree-copy");
      const reps = [];
      for (let i = 0; i < opts.repeat; i++) {
        ctx.discard(copyDir);
        const b = rclone("case11 baseline rclone copy", [
          "copy",
          `sshbench:${sshd.remotePath(treeOnServer.rclone)}`,
          copyDir,
        ]);
        const copied = countFilesIn(copyDir);
        if (copied !== opts.files) throw new BenchError(`rclone copied ${copied} files back, expected ${opts.files}`);
        ctx.discard(copyDir);
        ctx.discard(join(ctx.treeRepo, ".dvc", "cache"));
        ctx.discard(ctx.dataDir);
        const m = mlvMeasure("case11 mlv pull", ["pull", "-r", "sftp"], ctx.treeRepo);
        const n = countFilesIn(ctx.dataDir);
        if (n !== opts.files) throw new BenchError(`after pull the folder holds ${n} files, expected ${opts.files}`);
        reps.push({ mlv: m, base: b });
      }
      record(
        11,
        `pull folder over SFTP (${ctx.treeName()})`,
        "rclone copy",
        1.0,
        "`mlv pull -r sftp` after moving .dvc/cache and the folder away (download into the cache, verify md5, check out by copy) vs `rclone copy sshbench:/... DIR` into a fresh folder.",
        reps,
        SFTP_PEAK_TARGET_MIB,
      );
      for (const s of Object.values(treeOnServer)) ctx.discard(sshd.localPath(s));
    });

    // -- cases 12-13: one big file ---------------------------------------------------------------
    const bigFile = join(bigRepo, "model.bin");
    let bigReady = false;
    const ensureBig = () => {
      if (bigReady) return;
      mkdirSync(bigRepo, { recursive: true });
      if (!existsSync(bigFile)) ctx.writeRandomFile(bigFile, bigBytes);
      sh("git init -q", bigRepo);
      mlv(["init", "-q"], bigRepo);
      sftpRemote(bigRepo, "big-mlv");
      mlv(["add", "model.bin"], bigRepo);
      bigReady = true;
    };
    const bigOnServer = () => statSync(sshd.localPath("big-rclone/model.bin"), { throwIfNoEntry: false });

    runCase(12, () => {
      ensureBig();
      const reps = [];
      for (let i = 0; i < opts.repeat; i++) {
        rmSync(sshd.localPath("big-rclone"), { recursive: true, force: true });
        rmSync(sshd.localPath("big-mlv"), { recursive: true, force: true });
        sh(`cat ${q(bigFile)} > /dev/null`, base);
        const b = rclone("case12 baseline rclone copy", ["copy", bigFile, `sshbench:${sshd.remotePath("big-rclone")}`]);
        if (bigOnServer()?.size !== bigBytes) throw new BenchError("rclone's copy of the big file is missing or short");
        ctx.warmTree(join(bigRepo, ".dvc", "cache"));
        const m = mlvMeasure("case12 mlv push", ["push", "-r", "sftp"], bigRepo);
        const objects = countFilesIn(sshd.localPath("big-mlv"));
        if (objects !== 1) throw new BenchError(`the SFTP remote holds ${objects} objects after push, expected 1`);
        reps.push({ mlv: m, base: b });
      }
      record(
        12,
        `push ${fmtBytes(bigBytes)} file over SFTP`,
        "rclone copy",
        1.0,
        "`mlv push -r sftp` of one added file (fastPut: parallel 256 KiB writes) vs `rclone copy FILE sshbench:/...`.",
        reps,
        SFTP_PEAK_TARGET_MIB,
      );
    });

    runCase(13, () => {
      ensureBig();
      if (countFilesIn(sshd.localPath("big-mlv")) !== 1) mlv(["push", "-r", "sftp"], bigRepo);
      if (bigOnServer()?.size !== bigBytes)
        sh(`rclone -q copy ${q(bigFile)} ${q(`sshbench:${sshd.remotePath("big-rclone")}`)}`, base, rcloneEnv);
      const copyDir = join(base, "sftp-big-copy");
      const reps = [];
      for (let i = 0; i < opts.repeat; i++) {
        ctx.discard(copyDir);
        sh(`cat ${q(sshd.localPath("big-rclone/model.bin"))} > /dev/null`, base);
        const b = rclone("case13 baseline rclone copy", [
          "copy",
          `sshbench:${sshd.remotePath("big-rclone/model.bin")}`,
          copyDir,
        ]);
        if (statSync(join(copyDir, "model.bin"), { throwIfNoEntry: false })?.size !== bigBytes)
          throw new BenchError("rclone's download of the big file is missing or short");
        ctx.discard(copyDir);
        rmSync(join(bigRepo, ".dvc", "cache"), { recursive: true, force: true });
        rmSync(bigFile, { force: true });
        ctx.warmTree(sshd.localPath("big-mlv"));
        const m = mlvMeasure("case13 mlv pull", ["pull", "-r", "sftp"], bigRepo);
        if (statSync(bigFile, { throwIfNoEntry: false })?.size !== bigBytes)
          throw new BenchError("after pull the big file is missing or short");
        reps.push({ mlv: m, base: b });
      }
      record(
        13,
        `pull ${fmtBytes(bigBytes)} file over SFTP`,
        "rclone copy",
        1.0,
        "`mlv pull -r sftp` after deleting .dvc/cache and the file (fastGet: parallel 256 KiB reads into a temporary file, md5 verified, then checked out by copy) vs `rclone copy sshbench:/.../FILE DIR` (its 4-stream download).",
        reps,
        SFTP_PEAK_TARGET_MIB,
      );
    });
  } finally {
    rmSync(bigRepo, { recursive: true, force: true });
    await sshd.stop();
  }
}
