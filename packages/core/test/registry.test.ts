/**
 * The model registry's tag grammar and the state it reads from tags. The tag names are the ones
 * GTO 1.8.0 wrote in a repository of its own (register, assign, unassign, deregister, deprecate,
 * an artifact of a subfolder); the state rules are GTO's, checked on event lists small enough to
 * reason about.
 */
import { describe, expect, it } from "vitest";
import {
  bumpVersion,
  compareVersions,
  formatRegistryTag,
  isArtifactName,
  parseRegistryTag,
  type RegistryTagName,
} from "../src/formats/registry-tags.js";
import { type RegistryEvent, registryState } from "../src/ops/registry.js";

describe("registry tag names", () => {
  const vectors: [string, RegistryTagName][] = [
    ["text-classification@v0.0.1", { action: "register", artifact: "text-classification", version: "v0.0.1" }],
    ["text-classification@v0.0.1!", { action: "deregister", artifact: "text-classification", version: "v0.0.1" }],
    ["text-classification#prod#1", { action: "assign", artifact: "text-classification", stage: "prod", counter: 1 }],
    ["text-classification#dev!#4", { action: "unassign", artifact: "text-classification", stage: "dev", counter: 4 }],
    ["sub=net@v0.0.1", { action: "register", artifact: "sub:net", version: "v0.0.1" }],
    ["sub=net#dev#1", { action: "assign", artifact: "sub:net", stage: "dev", counter: 1 }],
    ["sub=net@deprecated", { action: "deprecate", artifact: "sub:net" }],
    ["a/b.c_d=m@v2.0.0-rc.1+build.5", { action: "register", artifact: "a/b.c_d:m", version: "v2.0.0-rc.1+build.5" }],
    ["model#prod", { action: "assign", artifact: "model", stage: "prod" }],
    ["model@deprecated#7", { action: "deprecate", artifact: "model", counter: 7 }],
  ];

  it.each(vectors)("%s reads, and is written back byte for byte", (tag, parsed) => {
    expect(parseRegistryTag(tag)).toEqual(parsed);
    expect(formatRegistryTag(parsed)).toBe(tag);
  });

  it.each([
    "v1.0",
    "model@1.0.0",
    "model@v1.0",
    "Model@v1.0.0",
    "model-@v1.0.0",
    "model#Prod#1",
    "model#prod#x",
    "model@created",
    "model",
  ])("%s is not a registry tag", (tag) => {
    expect(parseRegistryTag(tag)).toBeUndefined();
  });

  it("names artifacts as GTO does", () => {
    expect(["model", "text-classification", "a1", "nlp/bert", "sub/dir:model", "x"].map(isArtifactName)).toEqual([
      true,
      true,
      true,
      true,
      true,
      true,
    ]);
    expect(["Model", "-model", "model-", "a_b", "sub:dir:model", ""].map(isArtifactName)).toEqual([
      false,
      false,
      false,
      false,
      false,
      false,
    ]);
  });

  it("orders and bumps versions by semantic versioning", () => {
    const sorted = ["v1.10.0", "v1.2.0", "v1.2.0-rc.1", "v0.9.9", "v2.0.0"].sort(compareVersions);
    expect(sorted).toEqual(["v0.9.9", "v1.2.0-rc.1", "v1.2.0", "v1.10.0", "v2.0.0"]);
    expect(bumpVersion("v1.2.3", "patch")).toBe("v1.2.4");
    expect(bumpVersion("v1.2.3", "minor")).toBe("v1.3.0");
    expect(bumpVersion("v1.2.3", "major")).toBe("v2.0.0");
  });
});

/** Events from tag names, one second apart, at the commits given. */
function events(...tags: [string, string][]): RegistryEvent[] {
  return tags.map(([tag, commit], i) => ({
    ...parseRegistryTag(tag)!,
    tag,
    commit,
    time: 1_700_000_000 + i,
    author: "A",
    email: "a@example.com",
    message: tag,
  }));
}

describe("registry state", () => {
  it("latest is the highest registered version, whatever the order of registration", () => {
    const m = registryState(events(["m@v1.10.0", "c1"], ["m@v1.2.0", "c2"], ["m@v0.1.0", "c3"])).get("m")!;
    expect(m.latest).toBe("v1.10.0");
    expect(m.versions.map((v) => v.version)).toEqual(["v1.10.0", "v1.2.0", "v0.1.0"]);
  });

  it("a stage holds the version assigned to it last; an unassignment hands it back", () => {
    const evs = events(
      ["m@v1.0.0", "c1"],
      ["m@v2.0.0", "c2"],
      ["m#prod#1", "c1"],
      ["m#prod#2", "c2"],
      ["m#dev#3", "c1"],
    );
    expect(registryState(evs).get("m")!.stages).toEqual({ dev: "v1.0.0", prod: "v2.0.0" });
    const undone = registryState([...evs, ...events(["m#prod!#4", "c2"]).map((e) => ({ ...e, time: 1_800_000_000 }))]);
    // v1.0.0's prod assignment still stands: it holds prod again.
    expect(undone.get("m")!.stages).toEqual({ dev: "v1.0.0", prod: "v1.0.0" });
  });

  it("in one second, the #N counters order the events", () => {
    const evs = events(["m@v1.0.0", "c1"], ["m@v2.0.0", "c2"], ["m#prod#2", "c2"], ["m#prod#1", "c1"]).map((e) => ({
      ...e,
      time: 1_700_000_000,
    }));
    expect(registryState(evs).get("m")!.stages).toEqual({ prod: "v2.0.0" });
  });

  it("a deregistered version leaves latest and its stages; a deprecation marks the artifact", () => {
    const state = registryState(
      events(
        ["m@v1.0.0", "c1"],
        ["m@v2.0.0", "c2"],
        ["m#prod#1", "c2"],
        ["m@v2.0.0!", "c2"],
        ["n@v0.0.1", "c3"],
        ["n@deprecated", "c3"],
      ),
    );
    const m = state.get("m")!;
    expect(m.latest).toBe("v1.0.0");
    expect(m.stages).toEqual({});
    expect(m.versions.find((v) => v.version === "v2.0.0")).toMatchObject({ registered: true, active: false });
    expect(m.deprecated).toBe(false);
    expect(state.get("n")!.deprecated).toBe(true);
    // Registered again after the deprecation: in use again.
    const back = registryState([
      ...events(["n@v0.0.1", "c3"], ["n@deprecated", "c3"]),
      ...events(["n@v0.0.2", "c4"]).map((e) => ({ ...e, time: 1_800_000_000 })),
    ]);
    expect(back.get("n")!.deprecated).toBe(false);
  });

  it("a stage given to a commit with no version makes that commit a version, named by its id", () => {
    const m = registryState(events(["m@v1.0.0", "c1"], ["m#prod#1", "c9"])).get("m")!;
    expect(m.stages).toEqual({ prod: "c9" });
    expect(m.latest).toBe("v1.0.0");
    expect(m.versions.map((v) => [v.version, v.registered])).toEqual([
      ["v1.0.0", true],
      ["c9", false],
    ]);
  });
});
