/**
 * The oracle's own test: test-fixtures/dvc-peer.ts builds its pipeline project with the real DVC,
 * and DVC itself must then find it up to date, locally and on the remote. The tests comparing mlv
 * with DVC rely on that starting point.
 */
import { describe, expect, it } from "vitest";
import {
  makePipelineProject,
  mustDvc,
  PIPELINE_STAGES,
  RAW_DATA,
  requireDvc,
} from "../../../test-fixtures/dvc-peer.js";
import { md5, objectPath, sandbox } from "./helpers.js";

const DVC = requireDvc("the dvc-peer helper's tests");

describe.skipIf(!DVC)("the real DVC's get-started pipeline (test-fixtures/dvc-peer.ts)", () => {
  it("is reproduced, committed, pushed, and clean in DVC's eyes", () => {
    const s = sandbox();
    const p = makePipelineProject(s.repo, { remote: s.remote });

    expect(JSON.parse(mustDvc(p.dir, "status", "--json").stdout)).toEqual({});
    expect(JSON.parse(mustDvc(p.dir, "status", "-c", "--json").stdout)).toEqual({});
    expect(s.git("status", "--porcelain").stdout).toBe("");
    expect(s.read("dvc.lock")).toBe(p.lock);

    expect(p.stages).toEqual(PIPELINE_STAGES);
    expect(Object.keys(p.outs).sort()).toEqual(
      ["data/raw", "data/prepared", "data/features", "model.pkl", "eval/metrics.json", "eval/plots"].sort(),
    );
    expect(p.outs["data/raw"]).toMatchObject({ nfiles: 3, cached: true });
    expect(p.outs["data/prepared"]).toMatchObject({ stage: "prepare", nfiles: 2 });
    expect(p.outs["eval/plots"]).toMatchObject({ stage: "evaluate", nfiles: 2 });
    expect(p.outs["eval/metrics.json"]).toMatchObject({ stage: "evaluate", cached: false });

    // The contents are what the stage commands compute, and the recorded hashes are theirs.
    for (const [rel, text] of Object.entries(RAW_DATA)) expect(p.files[rel]).toBe(text);
    expect(p.files["data/prepared/train.csv"]).toBe("id,text\n1,alpha\n2,beta\n3,gamma\n");
    expect(p.files["data/features/test.tsv"]).toBe("id\ttext\n4\tdelta\n");
    expect(p.files["model.pkl"]).toBe("model of 4 rows\n");
    expect(JSON.parse(p.files["eval/metrics.json"]!)).toEqual({ accuracy: 0.75, test_rows: 2 });
    expect(p.files["eval/plots/loss.csv"]).toBe("step,loss\n0,0.9\n1,0.4\n");
    for (const out of ["model.pkl", "eval/metrics.json"]) expect(p.outs[out]!.md5).toBe(md5(p.files[out]!));

    // Cached outs are in the remote (folder manifests included); the metrics file is not.
    const remote = new Set(s.remoteFiles());
    for (const out of Object.values(p.outs)) expect(remote.has(objectPath(out.md5)), out.path).toBe(out.cached);
  });
});
