import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  AdapterNotFoundError,
  DiskFullError,
  LockError,
  MlvError,
  NoDefaultRemoteError,
  NotARepoError,
  ObjectNotFoundError,
  PartialFailureError,
  PermissionDeniedError,
  ReadOnlyRemoteError,
  RemoteError,
  RemoteNotFoundError,
  RemoteUnreachableError,
  TargetNotFoundError,
} from "../src/errors.js";
import { isTransient } from "../src/remote-errors.js";

// An adapter package loads its own copy of @mlv/core next to the CLI's bundled one: errors must be
// recognised across the two copies, or adapter errors print as "unexpected" and are never retried.
describe("errors across copies of @mlv/core", () => {
  const dir = mkdtempSync(join(tmpdir(), "mlv-errors-"));
  copyFileSync(new URL("../src/errors.ts", import.meta.url), join(dir, "errors.ts"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("instanceof holds for the same class from another copy, and for its base classes", async () => {
    const other = (await import(join(dir, "errors.ts"))) as typeof import("../src/errors.js");
    expect(other.ObjectNotFoundError).not.toBe(ObjectNotFoundError);
    const err = new other.ObjectNotFoundError("s3://b", "files/md5/ab/cd");
    expect(err instanceof ObjectNotFoundError).toBe(true);
    expect(err instanceof RemoteError).toBe(true);
    expect(err instanceof MlvError).toBe(true);
    expect(err instanceof PermissionDeniedError).toBe(false);
    expect(new other.RemoteError("EX", "x", { transient: true }) instanceof ObjectNotFoundError).toBe(false);
  });

  it("plain errors are not MlvErrors", () => {
    expect(new Error("x") instanceof MlvError).toBe(false);
    expect(Object.assign(new Error("x"), { code: "ENOOBJECT" }) instanceof RemoteError).toBe(false);
  });
});

describe("messages for programs, hints for people", () => {
  it("the shared errors' messages name what failed and run no command; the command-line advice is the hint", () => {
    const errors = [
      new NotARepoError("/work/x", "git"),
      new NotARepoError("/work/x", "mlv"),
      new TargetNotFoundError("data", "does not exist and is not tracked", "See 'mlv status'."),
      new RemoteNotFoundError("backup"),
      new NoDefaultRemoteError(),
      new AdapterNotFoundError("s3", ["@mlv/remote-s3"]),
      new ReadOnlyRemoteError("web", "https://example.org/store", "push"),
      new LockError("/work/x/.dvc/tmp/lock", "process 12 (mlv push)"),
      new DiskFullError("/work/x/model.bin"),
    ];
    for (const err of errors) {
      expect(err.message, err.name).not.toMatch(/'mlv |'-r |\bnpm |again/i);
      expect(err.hint, err.name).toMatch(/'mlv |'-r |npm install|run the command again/i);
    }
    expect(new RemoteNotFoundError("backup").message).toBe("remote 'backup' is not configured");
    expect(new AdapterNotFoundError("s3", ["@mlv/remote-s3"]).message).toContain("@mlv/remote-s3");
  });

  it("a partial failure advises trying again only when one of its failures may pass next time", () => {
    const permanent = { path: "a", message: "is a file, where a folder is needed" };
    expect(new PartialFailureError("1 file failed", [permanent]).hint).toBeUndefined();
    expect(
      new PartialFailureError("2 files failed", [permanent, { path: "b", message: "reset", transient: true }]).hint,
    ).toBe("Run the command again to finish the job.");
  });

  it("a partial failure carries its failures' hints, each once, before the advice to try again", () => {
    const corrupt = { path: "a", message: "hashes to x", hint: "Add the file again ('mlv add')." };
    const err = new PartialFailureError("3 files failed", [
      { path: "b", message: "reset", transient: true },
      corrupt,
      { ...corrupt, path: "c" },
    ]);
    expect(err.hint).toBe("Add the file again ('mlv add').\nRun the command again to finish the job.");
  });

  it("dropped connections and throttling are transient; a refusal, a missing object or a corrupt one are not", () => {
    expect(isTransient(new RemoteUnreachableError("s3://b", "reset"))).toBe(true);
    expect(isTransient(Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }))).toBe(true);
    expect(isTransient(new PermissionDeniedError("s3://b", "denied"))).toBe(false);
    expect(isTransient(new ObjectNotFoundError("s3://b", "k"))).toBe(false);
    expect(isTransient(new MlvError("ECORRUPT", "hashes to x"))).toBe(false);
    expect(isTransient(Object.assign(new Error("not a directory"), { code: "ENOTDIR" }))).toBe(false);
  });
});
