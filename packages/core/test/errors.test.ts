import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { MlvError, ObjectNotFoundError, PermissionDeniedError, RemoteError } from "../src/errors.js";

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
