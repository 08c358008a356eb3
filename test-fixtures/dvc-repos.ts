/**
 * Repositories exactly as DVC wrote them, built from the texts of the format spec
 * (/work/shared/spec/dvc3-format.md) rather than stored as binary blobs, so every byte below can be
 * checked against the spec by reading this file.
 *
 * - `writeDvc3Repo`: what DVC 3.x leaves after `dvc init`, `dvc remote add -d storage <remote>`,
 *   `dvc add model.bin data` and `dvc push`: the workspace without its data or cache (as after a
 *   fresh `git clone`), and the remote folder with its `files/md5/...` objects.
 * - `writeDvc2Repo`: the same for DVC 2.x: pointers without `hash: md5` (md5-dos2unix, V-P2) and
 *   objects at the legacy remote root (`<remote>/ac/bd18...`).
 *
 * Both return what a correct client must end up with, for the tests to compare.
 */
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";

/** §6.2 and §6.3: the files `dvc init` writes (the `.dvcignore` header is DVC's own). */
export const DVC_INIT_FILES: Readonly<Record<string, string>> = {
  ".dvc/config": "",
  ".dvc/.gitignore": "/config.local\n/tmp\n/cache\n",
  ".dvcignore":
    "# Add patterns of files dvc should ignore, which could improve\n# the performance. Learn more at\n# https://dvc.org/doc/user-guide/dvcignore\n",
};

export interface FixtureRepo {
  /** Text files of the repository (as committed to git), path -> content. */
  files: Record<string, string>;
  /** The data a pull must restore, workspace path -> bytes. */
  data: Record<string, Buffer>;
  /** Objects on the remote, key (posix, relative to the remote folder) -> bytes. */
  remote: Record<string, Buffer>;
  /** The `url` written in `.dvc/config` (relative to `.dvc/`, as DVC stores local paths). */
  remoteUrl: string;
}

function put(path: string, content: string | Buffer, mode?: number): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  if (mode !== undefined) chmodSync(path, mode);
}

function writeFixture(repoDir: string, remoteDir: string, fixture: FixtureRepo): FixtureRepo {
  for (const [rel, text] of Object.entries(fixture.files)) put(join(repoDir, rel), text);
  // Remote objects are read-only on a local remote (spec §0 rule 6, §4.1).
  for (const [key, bytes] of Object.entries(fixture.remote)) put(join(remoteDir, key), bytes, 0o444);
  mkdirSync(remoteDir, { recursive: true });
  return fixture;
}

/** `dvc remote add -d storage <path>` from the repository root stores the path relative to `.dvc/` (§5.2). */
function configFor(repoDir: string, remoteDir: string): { text: string; url: string } {
  const url = relative(join(repoDir, ".dvc"), remoteDir).split(sep).join("/");
  return { url, text: `[core]\n    remote = storage\n['remote "storage"']\n    url = ${url}\n` };
}

// 9.1 / 9.2 vectors used below.
const SOMETHING = { md5: "437b930db84b8079c2dd804a71936b5f", bytes: Buffer.from("something") };
const BAR_NL = { md5: "c157a79031e1c40f85931829bc5fc552", bytes: Buffer.from("bar\n") };
const BAZ_NL = { md5: "258622b1688250cb619f3c9ccaefb7eb", bytes: Buffer.from("baz\n") };
/** V-D2: bar="bar\n", baz="baz\n". */
const VD2 = {
  oid: "1f69c66028c35037e8bf67e5bc4ceb6a.dir",
  bytes: Buffer.from(
    '[{"md5": "c157a79031e1c40f85931829bc5fc552", "relpath": "bar"}, {"md5": "258622b1688250cb619f3c9ccaefb7eb", "relpath": "baz"}]',
  ),
};
const FOO = { md5: "acbd18db4cc2f85cedef654fccc4a4d8", bytes: Buffer.from("foo") };
const BAR = { md5: "37b51d194a7513e45b56f6524f2d51f2", bytes: Buffer.from("bar") };
/** V-D1: foo="foo", bar="bar". */
const VD1 = {
  oid: "5ea40360f5b4ec688df672a4db9c17d1.dir",
  bytes: Buffer.from(
    '[{"md5": "37b51d194a7513e45b56f6524f2d51f2", "relpath": "bar"}, {"md5": "acbd18db4cc2f85cedef654fccc4a4d8", "relpath": "foo"}]',
  ),
};
/** §2.2: "foo\r\n" is text, so its md5-dos2unix is md5("foo\n"). */
const FOO_CRLF = { dos2unix: "d3b07384d113edec49eaa6238ad5ff00", bytes: Buffer.from("foo\r\n") };

const files3 = (oid: string) => `files/md5/${oid.slice(0, 2)}/${oid.slice(2)}`;
const legacy = (oid: string) => `${oid.slice(0, 2)}/${oid.slice(2)}`;

/**
 * A DVC 3 repository tracking `model.bin` ("something") and `data/` (V-D2), pushed to a local
 * remote at `remoteDir`.
 */
export function writeDvc3Repo(repoDir: string, remoteDir: string): FixtureRepo {
  const config = configFor(repoDir, remoteDir);
  return writeFixture(repoDir, remoteDir, {
    files: {
      ...DVC_INIT_FILES,
      ".dvc/config": config.text,
      "model.bin.dvc": `outs:\n- md5: ${SOMETHING.md5}\n  size: 9\n  hash: md5\n  path: model.bin\n`,
      "data.dvc": `outs:\n- md5: ${VD2.oid}\n  size: 8\n  nfiles: 2\n  hash: md5\n  path: data\n`,
      ".gitignore": "/model.bin\n/data\n",
    },
    data: { "model.bin": SOMETHING.bytes, "data/bar": BAR_NL.bytes, "data/baz": BAZ_NL.bytes },
    remote: {
      [files3(SOMETHING.md5)]: SOMETHING.bytes,
      [files3(BAR_NL.md5)]: BAR_NL.bytes,
      [files3(BAZ_NL.md5)]: BAZ_NL.bytes,
      [files3(VD2.oid)]: VD2.bytes,
    },
    remoteUrl: config.url,
  });
}

/**
 * A DVC 2.x repository as DVC 3 finds it: `foo` (V-P2), `notes.txt` (CRLF text, so its recorded
 * md5-dos2unix differs from the md5 of its bytes) and `data/` (V-D1), all legacy, with their objects
 * at the legacy root of the remote.
 */
export function writeDvc2Repo(repoDir: string, remoteDir: string): FixtureRepo {
  const config = configFor(repoDir, remoteDir);
  return writeFixture(repoDir, remoteDir, {
    files: {
      ...DVC_INIT_FILES,
      ".dvc/config": config.text,
      "foo.dvc": `outs:\n- md5: ${FOO.md5}\n  size: 3\n  path: foo\n`,
      "notes.txt.dvc": `outs:\n- md5: ${FOO_CRLF.dos2unix}\n  size: 5\n  path: notes.txt\n`,
      "data.dvc": `outs:\n- md5: ${VD1.oid}\n  size: 6\n  nfiles: 2\n  path: data\n`,
      ".gitignore": "/foo\n/notes.txt\n/data\n",
    },
    data: { foo: FOO.bytes, "notes.txt": FOO_CRLF.bytes, "data/foo": FOO.bytes, "data/bar": BAR.bytes },
    remote: {
      [legacy(FOO.md5)]: FOO.bytes,
      [legacy(BAR.md5)]: BAR.bytes,
      [legacy(FOO_CRLF.dos2unix)]: FOO_CRLF.bytes,
      [legacy(VD1.oid)]: VD1.bytes,
    },
    remoteUrl: config.url,
  });
}
