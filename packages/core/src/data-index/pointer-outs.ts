import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { FormatError } from "../errors.js";
import { parsePointer } from "../formats/pointer.js";
import type { Project } from "../project/project.js";
import { guardOutputPath } from "./path-guard.js";
import type { TrackedOut } from "./types.js";

/** The outputs of one `.dvc` file of the workspace (`ownerPath`, absolute). */
export function loadPointer(project: Project, ownerPath: string): TrackedOut[] {
  let text: string;
  try {
    text = readFileSync(ownerPath, "utf8");
  } catch (err) {
    throw new FormatError(ownerPath, `cannot be read: ${(err as Error).message}`, undefined, err);
  }
  const owner = project.relOf(ownerPath);
  const pointer = parsePointer(text, owner);
  const wdir = typeof pointer.wdir === "string" ? pointer.wdir : ".";
  return pointer.outs.map((out) => {
    if (out.external)
      throw new FormatError(owner, `output '${out.path}' is outside the repository; mlv tracks data inside it only`);
    const abs = resolve(dirname(ownerPath), wdir, out.path);
    guardOutputPath(owner, out.path, project.relOf(abs));
    return {
      ownerPath,
      owner,
      pointer,
      out,
      abs,
      rel: project.relOf(abs),
      hashName: out.hashName,
      isDir: out.md5?.endsWith(".dir") ?? false,
    };
  });
}
