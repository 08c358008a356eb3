/**
 * The model registry (`mlv artifacts`) on a history shaped like DVC's "get started" project: a
 * text classifier declared in dvc.yaml, trained three times, its versions registered and its
 * stages assigned with git tags in GTO's convention. Checked against what GTO writes and reads, and
 * against the real DVC's `dvc artifacts get`.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { mustDvc, mustGto, requireDvc } from "../../../test-fixtures/dvc-peer.js";
import { startGitHttp } from "../../../test-fixtures/servers/git-http.js";
import { md5, type Sandbox, sandbox } from "./helpers.js";

const DVC = requireDvc("the model registry tests against the real DVC and GTO");

const MODELS = ["weights of the first model\n", "weights of the second model\n", "weights of the third model\n"];

const DVC_YAML = `artifacts:
  text-classification:
    path: model.pkl
    type: model
    desc: Detect sentiment from text
    labels:
    - nlp
    - bow
`;

/** A project with the classifier declared, and one commit per trained model; returns the commit ids. */
function trainedThreeTimes(s: Sandbox): string[] {
  s.useRemote();
  s.write("dvc.yaml", DVC_YAML);
  s.write("models/dvc.yaml", "artifacts:\n  encoder:\n    path: encoder.bin\n    type: model\n");
  s.write("models/encoder.bin", "encoder\n");
  s.must("add", "models/encoder.bin");
  const commits: string[] = [];
  MODELS.forEach((bytes, i) => {
    s.write("model.pkl", bytes);
    s.must("add", "model.pkl");
    s.mustGit("add", "-A");
    s.mustGit("commit", "-q", "-m", `train model ${i + 1}`);
    commits.push(s.mustGit("rev-parse", "HEAD").stdout.trim());
    s.must("push");
  });
  return commits;
}

/** Each tag of the repository: name → its type, tagger, the commit it names and its message. */
function tags(s: Sandbox): Map<string, { type: string; tagger: string; commit: string; message: string }> {
  const out = s.mustGit(
    "for-each-ref",
    "refs/tags",
    "--format=%(refname:short)%09%(objecttype)%09%(taggername) %(taggeremail)%09%(*objectname)%09%(contents:subject)",
  ).stdout;
  return new Map(
    out
      .trim()
      .split("\n")
      .filter(Boolean)
      .map((line) => {
        const [name, type, tagger, commit, message] = line.split("\t");
        return [name!, { type: type!, tagger: tagger!, commit: commit!, message: message! }];
      }),
  );
}

/**
 * GIT_COMMITTER_DATE a minute later at each call: the registry orders its events by their tags'
 * dates, and tools differ on ties within one second (mlv then goes by the `#N` counters).
 */
function clock(): () => Record<string, string> {
  let seconds = 1_700_000_000;
  return () => {
    seconds += 60;
    return { GIT_COMMITTER_DATE: `${seconds} +0000` };
  };
}

/** `mlv ARGS...` dated by `next`, failing the test unless it exits 0. */
function mustAt(s: Sandbox, next: () => Record<string, string>, ...args: string[]): string {
  const r = s.mlvWith({ env: next() }, ...args);
  if (r.code !== 0) throw new Error(`mlv ${args.join(" ")} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** The registry of the sandbox's repository, as built by `trainedThreeTimes` and these commands. */
function registerLikeGetStarted(s: Sandbox, commits: string[], next = clock()): void {
  mustAt(s, next, "artifacts", "register", "text-classification", commits[0]!, "--version", "v1.0.0");
  mustAt(s, next, "artifacts", "assign", "text-classification", "--version", "v1.0.0", "--stage", "prod");
  mustAt(s, next, "artifacts", "register", "text-classification", commits[1]!, "--bump-minor");
  mustAt(s, next, "artifacts", "assign", "text-classification", commits[1]!, "--stage", "prod");
  mustAt(s, next, "artifacts", "assign", "text-classification", "--version", "v1.0.0", "--stage", "dev");
  // HEAD has no version yet: assigning a stage registers the next one first, as GTO does.
  mustAt(s, next, "artifacts", "assign", "text-classification", "--stage", "staging");
}

describe("mlv artifacts: the model registry on git tags", () => {
  it("writes GTO's tags: names, counters, messages, annotated, by the committer", () => {
    const s = sandbox({ init: "mlv" });
    const commits = trainedThreeTimes(s);
    registerLikeGetStarted(s, commits);
    s.must("artifacts", "unassign", "text-classification", "--version", "v1.0.0", "--stage", "dev");
    s.must("artifacts", "deregister", "text-classification", "--version", "v1.1.1");
    s.must("artifacts", "register", "models:encoder");
    s.must("artifacts", "deprecate", "models:encoder");

    const who = "Test User <test@example.com>";
    const [first, second, third] = commits;
    expect(Object.fromEntries(tags(s))).toEqual({
      "text-classification@v1.0.0": {
        type: "tag",
        tagger: who,
        commit: first,
        message: "Registering artifact text-classification version v1.0.0",
      },
      "text-classification#prod#1": {
        type: "tag",
        tagger: who,
        commit: first,
        message: "Assigning stage prod to artifact text-classification version v1.0.0",
      },
      "text-classification@v1.1.0": {
        type: "tag",
        tagger: who,
        commit: second,
        message: "Registering artifact text-classification version v1.1.0",
      },
      "text-classification#prod#2": {
        type: "tag",
        tagger: who,
        commit: second,
        message: "Assigning stage prod to artifact text-classification version v1.1.0",
      },
      "text-classification#dev#3": {
        type: "tag",
        tagger: who,
        commit: first,
        message: "Assigning stage dev to artifact text-classification version v1.0.0",
      },
      "text-classification@v1.1.1": {
        type: "tag",
        tagger: who,
        commit: third,
        message: "Registering artifact text-classification version v1.1.1",
      },
      "text-classification#staging#4": {
        type: "tag",
        tagger: who,
        commit: third,
        message: "Assigning stage staging to artifact text-classification version v1.1.1",
      },
      "text-classification#dev!#5": {
        type: "tag",
        tagger: who,
        commit: first,
        message: "Unassigning stage 'dev' to artifact 'text-classification' version 'v1.0.0'",
      },
      "text-classification@v1.1.1!": {
        type: "tag",
        tagger: who,
        commit: third,
        message: "Deregistering artifact text-classification version v1.1.1",
      },
      "models=encoder@v0.0.1": {
        type: "tag",
        tagger: who,
        commit: third,
        message: "Registering artifact models:encoder version v0.0.1",
      },
      "models=encoder@deprecated": {
        type: "tag",
        tagger: who,
        commit: third,
        message: "Deprecating artifact 'models:encoder'",
      },
    });
    // `git tag -m` ends the message with one newline.
    expect(s.mustGit("cat-file", "-p", "text-classification@v1.0.0").stdout).toMatch(
      /\n\nRegistering artifact text-classification version v1\.0\.0\n$/,
    );
  }, 120_000);

  it("lists each artifact's latest version and stages, and shows its versions with their data", () => {
    const s = sandbox({ init: "mlv" });
    const commits = trainedThreeTimes(s);
    registerLikeGetStarted(s, commits);

    const list = JSON.parse(s.must("artifacts", "list", "--json").stdout);
    expect(Object.keys(list)).toEqual(["models:encoder", "text-classification"]);
    const tc = list["text-classification"];
    expect({ ...tc, versions: undefined }).toEqual({
      path: "model.pkl",
      type: "model",
      desc: "Detect sentiment from text",
      labels: ["nlp", "bow"],
      deprecated: false,
      latest: "v1.1.1",
      stages: { dev: "v1.0.0", prod: "v1.1.0", staging: "v1.1.1" },
    });
    expect(
      tc.versions.map((v: Record<string, unknown>) => [v.version, v.commit, v.stages, v.md5, v.size, v.author]),
    ).toEqual([
      ["v1.1.1", commits[2], ["staging"], md5(MODELS[2]!), MODELS[2]!.length, "Test User"],
      ["v1.1.0", commits[1], ["prod"], md5(MODELS[1]!), MODELS[1]!.length, "Test User"],
      ["v1.0.0", commits[0], ["dev"], md5(MODELS[0]!), MODELS[0]!.length, "Test User"],
    ]);
    expect(list["models:encoder"]).toMatchObject({ path: "models/encoder.bin", stages: {}, versions: [] });
    expect(list["models:encoder"].latest).toBeUndefined();

    const table = s.must("artifacts", "list").stdout;
    expect(table).toMatch(/Artifact\s+Type\s+Path\s+Latest\s+#dev\s+#prod\s+#staging/);
    expect(table).toMatch(/text-classification\s+model\s+model\.pkl\s+v1\.1\.1\s+v1\.0\.0\s+v1\.1\.0\s+v1\.1\.1/);

    // Undoing: the stage goes with its assignment, the version with its registration.
    s.must("artifacts", "unassign", "text-classification", commits[0]!, "--stage", "dev");
    s.must("artifacts", "deregister", "text-classification", "--version", "v1.1.1");
    const after = JSON.parse(s.must("artifacts", "list", "--json").stdout)["text-classification"];
    expect(after.latest).toBe("v1.1.0");
    expect(after.stages).toEqual({ prod: "v1.1.0" });
    const shown = JSON.parse(s.must("artifacts", "show", "text-classification", "--json").stdout)[
      "text-classification"
    ];
    expect(shown.versions.map((v: Record<string, unknown>) => [v.version, v.active])).toEqual([
      ["v1.1.1", false],
      ["v1.1.0", true],
      ["v1.0.0", true],
    ]);
    const text = s.must("artifacts", "show", "text-classification").stdout;
    expect(text).toContain("v1.1.1 (deregistered)");
    expect(text).toMatch(new RegExp(`v1\\.1\\.0\\s+prod\\s+${commits[1]!.slice(0, 7)}`));

    s.must("artifacts", "deprecate", "models:encoder");
    expect(Object.keys(JSON.parse(s.must("artifacts", "list", "--json").stdout))).toEqual(["text-classification"]);
    expect(JSON.parse(s.must("artifacts", "list", "--json", "-d").stdout)["models:encoder"].deprecated).toBe(true);
  }, 120_000);

  it("refuses what contradicts the registry, with what it holds", () => {
    const s = sandbox({ init: "mlv" });
    const commits = trainedThreeTimes(s);
    registerLikeGetStarted(s, commits);
    const before = [...tags(s).keys()].sort();

    let r = s.mlv("artifacts", "register", "text-classification", commits[1]!);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`has version v1.1.0 registered at ${commits[1]!.slice(0, 7)} already`);
    r = s.mlv("artifacts", "register", "Text_Classifier");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("'Text_Classifier' is not a valid artifact name");
    r = s.mlv("artifacts", "register", "text-classification", "--version", "1.2");
    expect(r.stderr).toContain("version '1.2' is not valid");
    r = s.mlv("artifacts", "assign", "text-classification", "--version", "v1.1.0", "--stage", "prod");
    expect(r.stderr).toContain("version 'v1.1.0' of artifact 'text-classification' is in stage 'prod' already");
    r = s.mlv("artifacts", "unassign", "text-classification", "--version", "v1.1.0", "--stage", "dev");
    expect(r.stderr).toContain("stage 'dev' is not assigned to version 'v1.1.0'");
    r = s.mlv("artifacts", "show", "no-such-model");
    expect(r.stderr).toContain("no artifact 'no-such-model'");
    expect([...tags(s).keys()].sort()).toEqual(before);

    // Without GIT_COMMITTER_NAME, the tagger is git's user.name, as for `git tag`: the global one,
    // then the repository's over it.
    s.write("../home/.gitconfig", "[user]\n\tname = Global Person\n\temail = global@example.com\n");
    s.write("model.pkl", "weights of the fourth model\n");
    s.must("add", "model.pkl");
    s.mustGit("commit", "-q", "-am", "train model 4");
    r = s.mlv("artifacts", "register", "text-classification", "--version", "v1.0.0");
    expect(r.stderr).toContain("version v1.0.0 of artifact 'text-classification' is registered already");
    expect([...tags(s).keys()].sort()).toEqual(before);
    const env = { GIT_COMMITTER_NAME: undefined, GIT_COMMITTER_EMAIL: undefined };
    expect(s.mlvWith({ env }, "artifacts", "register", "text-classification", "--bump-major").code).toBe(0);
    expect(tags(s).get("text-classification@v2.0.0")?.tagger).toBe("Global Person <global@example.com>");
    s.mustGit("config", "user.name", "Repo Owner");
    s.mustGit("config", "user.email", "owner@example.com");
    const assigned = s.mlvWith({ env }, "artifacts", "assign", "text-classification", "--stage", "prod");
    expect(assigned.code, assigned.stderr).toBe(0);
    expect(tags(s).get("text-classification#prod#5")?.tagger).toBe("Repo Owner <owner@example.com>");
  }, 120_000);

  it("pushes the tags it writes to origin with --push, and says how otherwise", () => {
    const s = sandbox({ init: "mlv" });
    const commits = trainedThreeTimes(s);
    const origin = join(s.dir, "origin.git");
    s.mustGit("init", "-q", "--bare", origin);
    s.mustGit("remote", "add", "origin", origin);
    const quiet = s.must("artifacts", "register", "text-classification", commits[0]!).stdout;
    expect(quiet).toContain("git push origin text-classification@v0.0.1");
    const pushed = s.must("artifacts", "assign", "text-classification", "--stage", "prod", "--push").stdout;
    expect(pushed).toContain("Pushed 'text-classification@v0.0.2', 'text-classification#prod#1' to origin");
    const remoteTags = s.mustGit("ls-remote", "--tags", origin).stdout;
    expect(remoteTags).toContain("refs/tags/text-classification#prod#1");
    expect(remoteTags).toContain("refs/tags/text-classification@v0.0.2");
    expect(remoteTags).not.toContain("text-classification@v0.0.1");
  });

  it("gets a version by stage, by number or the latest: the CLI, over http, the JS API, and 'versions'", async () => {
    const s = sandbox({ init: "mlv" });
    const commits = trainedThreeTimes(s);
    registerLikeGetStarted(s, commits);
    s.rm(".dvc/cache");

    const out = (name: string) => join(s.dir, name);
    s.must("artifacts", "get", s.repo, "text-classification", "--stage", "prod", "-o", out("prod.pkl"));
    expect(readFileSync(out("prod.pkl"), "utf8")).toBe(MODELS[1]);
    s.must("artifacts", "get", s.repo, "text-classification", "--rev", "v1.0.0", "-o", out("v1.pkl"));
    expect(readFileSync(out("v1.pkl"), "utf8")).toBe(MODELS[0]);
    s.must("artifacts", "get", ".", "text-classification", "-o", out("latest.pkl"));
    expect(readFileSync(out("latest.pkl"), "utf8")).toBe(MODELS[2]);
    const missing = s.mlv("artifacts", "get", ".", "text-classification", "--stage", "canary", "-o", out("x"));
    expect(missing.stderr).toContain(
      "no version of artifact 'text-classification' is in stage 'canary' (its stages: dev, prod, staging)",
    );

    // Through git's smart HTTP protocol: a whole clone, since the registry is in the tags.
    mkdirSync(join(s.dir, "served"));
    s.mustGit("clone", "-q", "--bare", s.repo, join(s.dir, "served", "project.git"));
    const server = await startGitHttp(join(s.dir, "served"));
    try {
      const url = `${server.url}/project.git`;
      const got = await s.mlvAsync(
        "artifacts",
        "get",
        url,
        "text-classification",
        "--stage",
        "prod",
        "-o",
        out("http.pkl"),
      );
      expect(got.code, got.stderr).toBe(0);
      expect(readFileSync(out("http.pkl"), "utf8")).toBe(MODELS[1]);
      expect(server.requests.some((r) => r.includes("git-upload-pack"))).toBe(true);
    } finally {
      await server.close();
    }

    const { readArtifact, Repo } = await import("@mlv/core");
    expect(await readArtifact("text-classification", { repo: s.repo, stage: "prod", encoding: "utf8" })).toBe(
      MODELS[1],
    );
    const repo = await Repo.open(s.repo);
    try {
      expect(await repo.readArtifact("text-classification", { version: "v1.0.0", encoding: "utf8" })).toBe(MODELS[0]);
      expect((await repo.artifacts()).map((a) => [a.name, a.latest])).toEqual([
        ["models:encoder", undefined],
        ["text-classification", "v1.1.1"],
      ]);
    } finally {
      await repo.close();
    }

    const versions = JSON.parse(s.must("versions", "model.pkl", "--json").stdout);
    expect(versions.map((v: { registry?: unknown }) => v.registry)).toEqual([
      [{ artifact: "text-classification", version: "v1.1.1", stages: ["staging"] }],
      [{ artifact: "text-classification", version: "v1.1.0", stages: ["prod"] }],
      [{ artifact: "text-classification", version: "v1.0.0", stages: ["dev"] }],
    ]);
    expect(s.must("versions", "model.pkl").stdout).toMatch(/Registry.*\n.*text-classification v1\.1\.1 \[staging\]/);
  }, 120_000);
});

describe.skipIf(!DVC)("mlv artifacts with the real DVC and GTO", () => {
  it("DVC's 'artifacts get' fetches by stage and version what mlv registered and assigned", () => {
    const s = sandbox({ init: "mlv" });
    const commits = trainedThreeTimes(s);
    registerLikeGetStarted(s, commits);
    s.must("artifacts", "assign", "models:encoder", "--stage", "dev");
    s.rm(".dvc/cache");
    const where = join(s.dir, "fetched");
    s.write("../fetched/.keep", "");

    mustDvc(where, "artifacts", "get", s.repo, "text-classification", "--stage", "prod", "-o", "prod.pkl");
    expect(readFileSync(join(where, "prod.pkl"), "utf8")).toBe(MODELS[1]);
    mustDvc(where, "artifacts", "get", s.repo, "text-classification", "--rev", "v1.0.0", "-o", "v1.pkl");
    expect(readFileSync(join(where, "v1.pkl"), "utf8")).toBe(MODELS[0]);
    mustDvc(where, "artifacts", "get", s.repo, "text-classification", "-o", "latest.pkl");
    expect(readFileSync(join(where, "latest.pkl"), "utf8")).toBe(MODELS[2]);
    mustDvc(where, "artifacts", "get", s.repo, "models:encoder", "--stage", "dev", "-o", "encoder.bin");
    expect(readFileSync(join(where, "encoder.bin"), "utf8")).toBe("encoder\n");
  }, 120_000);

  it("GTO reads mlv's registry as mlv does, and mlv reads GTO's", () => {
    const s = sandbox({ init: "mlv" });
    const commits = trainedThreeTimes(s);
    const next = clock();
    registerLikeGetStarted(s, commits, next);
    mustAt(s, next, "artifacts", "unassign", "text-classification", "--version", "v1.0.0", "--stage", "dev");
    const gto = JSON.parse(mustGto(s.repo, ["show", "--json"]).stdout);
    const mine = JSON.parse(s.must("artifacts", "list", "--json").stdout);
    for (const [name, state] of Object.entries(
      gto as Record<string, { version: string | null; stage: Record<string, string | null> }>,
    )) {
      expect(mine[name]?.latest ?? null, name).toBe(state.version);
      const stages = Object.fromEntries(Object.entries(state.stage).filter(([, v]) => v !== null));
      expect(mine[name].stages, name).toEqual(stages);
    }
    expect(gto["text-classification"]).toMatchObject({
      version: "v1.1.1",
      stage: { prod: "v1.1.0", staging: "v1.1.1" },
    });

    // GTO writes; mlv reads.
    const g = sandbox({ init: "mlv" });
    const gc = trainedThreeTimes(g);
    const later = clock();
    mustGto(g.repo, ["register", "text-classification", gc[0]!, "--version", "v0.3.0"], later());
    mustGto(g.repo, ["assign", "text-classification", "--version", "v0.3.0", "--stage", "prod"], later());
    mustGto(g.repo, ["register", "text-classification", gc[1]!, "--bump-major"], later());
    mustGto(g.repo, ["assign", "models:encoder", gc[1]!, "--stage", "dev"], later());
    mustGto(g.repo, ["deprecate", "text-classification", "v0.3.0", "prod"], later());
    const fromGto = JSON.parse(g.must("artifacts", "list", "--json").stdout);
    expect(fromGto["text-classification"]).toMatchObject({ latest: "v1.0.0", stages: {} });
    expect(fromGto["models:encoder"]).toMatchObject({ latest: "v0.0.1", stages: { dev: "v0.0.1" } });
    const gtoShow = JSON.parse(mustGto(g.repo, ["show", "--json"]).stdout);
    expect(gtoShow["text-classification"].version).toBe("v1.0.0");
    expect(gtoShow["models:encoder"].stage.dev).toBe("v0.0.1");
  }, 120_000);
});
