/**
 * `mlv plots` and `mlv versions --html` on a project shaped like DVC's "get started": training
 * curves (JSON), a precision-recall curve named apart from its file, a confusion matrix (CSV) and a
 * feature-importance image tracked by mlv, trained three times and tagged v1, v2, v3. The pages are
 * opened in headless Chromium with the network cut off, and must show every chart drawn.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { colouredPixels, dumpDom, requireChromium, screenshot } from "../../../test-fixtures/browser.js";
import { mustDvc, requireDvc } from "../../../test-fixtures/dvc-peer.js";
import { PLOTS_DVC_YAML, trainingRun } from "../../../test-fixtures/plots-project.mjs";
import { type Sandbox, sandbox } from "./helpers.js";

const CHROMIUM = requireChromium("the tests that open plot pages in a browser");
const DVC = requireDvc("the plots tests against the real DVC");

/** The project, trained and tagged three times, its image pushed; returns the sandbox. */
function project(): Sandbox {
  const s = sandbox({ init: "mlv" });
  s.useRemote();
  s.write("dvc.yaml", PLOTS_DVC_YAML);
  for (const k of [1, 2, 3]) {
    s.writeTree(trainingRun(k));
    s.must("add", "importance.png");
    s.mustGit("add", "-A");
    s.mustGit("commit", "-q", "-m", `train ${k}`);
    s.mustGit("tag", `v${k}`);
    s.must("push");
  }
  return s;
}

/** What a page asks of the network: nothing but data: URIs and XML namespaces. */
function externalReferences(html: string): string[] {
  return [...html.matchAll(/(?:src|href)\s*=\s*["']?([a-z]+:[^"'\s>]*)/gi)]
    .map((m) => m[1]!)
    .filter((u) => !u.startsWith("data:") && !u.startsWith("http://www.w3.org/"));
}

describe("mlv plots", () => {
  it("draws DVC's plot definitions with their data as Vega-Lite (--json), per revision", () => {
    const s = project();
    const shown = JSON.parse(s.must("plots", "show", "--json").stdout).data;
    expect(Object.keys(shown)).toEqual(["train.json", "confusion.csv", "Precision-Recall", "importance.png"]);
    const train = shown["train.json"][0];
    expect(train.type).toBe("vega");
    expect(train.revisions).toEqual(["workspace"]);
    expect(new Set(train.content.data.values.map((v: { series: string }) => v.series))).toEqual(
      new Set(["loss", "acc"]),
    );
    expect(train.content.encoding.x.title).toBe("step");
    expect(shown["importance.png"]).toEqual([{ type: "image", revisions: ["workspace"], path: "importance.png" }]);

    const diff = JSON.parse(s.must("plots", "diff", "v1", "v3", "--json").stdout).data;
    const prc = diff["Precision-Recall"][0];
    expect(prc.revisions).toEqual(["v1", "v3"]);
    expect(new Set(prc.content.data.values.map((v: { series: string }) => v.series))).toEqual(new Set(["v1", "v3"]));
    const confusion = diff["confusion.csv"][0].content;
    expect(confusion.facet.column.field).toBe("series");
    expect(new Set(confusion.data.values.map((v: { series: string }) => v.series))).toEqual(new Set(["v1", "v3"]));
    expect(confusion.data.values).toHaveLength(180);
    const only = JSON.parse(s.must("plots", "diff", "v2", "--targets", "prc.json", "--json").stdout).data;
    expect(Object.keys(only)).toEqual(["Precision-Recall"]);

    const none = s.mlv("plots", "show", "nope.json");
    expect(none.code).toBe(1);
    expect(none.stderr).toContain("no plot 'nope.json'");
  });

  it.skipIf(!CHROMIUM)(
    "writes pages that open offline in Chromium with every chart drawn, revisions named",
    () => {
      const s = project();
      // The image of v1 and v3 is neither in the workspace nor in the cache: it comes from the remote.
      s.rm(".dvc/cache");
      s.rm("importance.png");
      const url = s.must("plots", "diff", "v1", "v3", "-o", "diffplots").stdout.trim();
      expect(url).toBe(pathToFileURL(join(s.repo, "diffplots", "index.html")).href);
      const html = readFileSync(join(s.repo, "diffplots", "index.html"), "utf8");
      expect(html).not.toContain('class="errors"');
      expect(externalReferences(html)).toEqual([]);
      expect(html).not.toContain("<script");

      const dom = dumpDom(url);
      expect(dom.match(/<svg[^>]*class="marks"/g)).toHaveLength(3);
      expect(dom.match(/<img [^>]*src="data:image\/png;base64,/g)).toHaveLength(2);
      for (const rev of ["v1", "v3"]) expect(dom).toContain(`>${rev}</text>`);
      // Lines, points and cells were drawn, not only axes.
      expect((dom.match(/<path [^>]*class="mark-|<path [^>]*d="M/g) ?? []).length).toBeGreaterThan(20);
      const png = screenshot(url, join(s.dir, "diff.png"));
      expect(colouredPixels(png)).toBeGreaterThan(20_000);

      const shown = s.must("plots", "show").stdout.trim();
      const showDom = dumpDom(shown);
      expect(showDom.match(/<svg[^>]*class="marks"/g)).toHaveLength(3);
      // Not in the workspace, nor in the cache: the image of the workspace pointer comes from the remote.
      expect(showDom.match(/<img [^>]*src="data:image\/png;base64,/g)).toHaveLength(1);
      expect(showDom).toContain("importance.png");

      const versions = s.must("versions", "importance.png", "--metrics", "metrics.json", "--html", "../versions.html");
      const page = pathToFileURL(join(s.dir, "versions.html")).href;
      expect(versions.stdout.trim()).toBe(page);
      const vdom = dumpDom(page);
      expect(vdom.match(/<svg[^>]*class="marks"/g)).toHaveLength(2);
      for (const tag of ["v1", "v2", "v3"]) expect(vdom).toContain(`>${tag}</text>`);
      expect(vdom).toContain("<th>acc</th>");
      expect(colouredPixels(screenshot(page, join(s.dir, "versions.png")))).toBeGreaterThan(1_000);
    },
    180_000,
  );

  it("uses an HTML template of the user's, and refuses --html without metrics", () => {
    const s = project();
    s.write("template.html", "<html><body><p>mine</p>{plot_divs}</body></html>");
    s.must("plots", "show", "train.json", "--html-template", "template.html", "-o", "out");
    const html = s.read("out/index.html");
    expect(html.startsWith('<html><body><p>mine</p><div class="plot" data-plot="train.json">')).toBe(true);
    const r = s.mlv("versions", "importance.png", "--html", "v.html");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("give --metrics FILE too");
  });

  it.skipIf(!DVC)(
    "finds the plots and revisions the real DVC finds in the same dvc.yaml",
    () => {
      const s = project();
      const compare = (args: string[]) => {
        const theirs = JSON.parse(mustDvc(s.repo, "plots", ...args, "--json").stdout) as {
          data: Record<string, { type: string; revisions: string[] }[]>;
        };
        expect(Object.keys(theirs.data)).toHaveLength(4);
        const ours = JSON.parse(s.must("plots", ...args, "--json").stdout) as typeof theirs;
        const summary = (d: typeof theirs) =>
          Object.fromEntries(
            Object.entries(d.data).map(([id, rs]) => [id, rs.map((r) => [r.type, [...r.revisions].sort()])]),
          );
        expect(summary(ours), args.join(" ")).toEqual(summary(theirs));
      };
      for (const args of [["show"], ["diff", "v1", "v3"], ["diff"]]) compare(args);
      // A changed workspace: `diff` alone shows HEAD beside it.
      s.write("train.json", JSON.stringify([{ step: 0, loss: 0.3, acc: 0.2 }]));
      compare(["diff"]);
    },
    120_000,
  );

  it("draws each file of a plot folder, as DVCLive writes its metrics (one TSV per metric)", () => {
    const s = sandbox({ init: "mlv" });
    s.write("dvc.yaml", "plots:\n  - dvclive/plots/metrics:\n      x: step\n");
    for (const k of [1, 2]) {
      for (const metric of ["loss", "acc"])
        s.write(
          `dvclive/plots/metrics/${metric}.tsv`,
          `step\t${metric}\n${[0, 1, 2].map((i) => `${i}\t${(metric === "loss" ? 1 / (1 + i * k) : i * k * 0.1).toFixed(3)}`).join("\n")}\n`,
        );
      s.mustGit("add", "-A");
      s.mustGit("commit", "-q", "-m", `run ${k}`);
      s.mustGit("tag", `v${k}`);
    }
    const files = ["dvclive/plots/metrics/acc.tsv", "dvclive/plots/metrics/loss.tsv"];
    const diff = JSON.parse(s.must("plots", "diff", "v1", "v2", "--json").stdout).data;
    expect(Object.keys(diff)).toEqual(files);
    expect(diff[files[1]!][0].revisions).toEqual(["v1", "v2"]);
    expect(diff[files[1]!][0].content.encoding.x.title).toBe("step");
    const one = JSON.parse(s.must("plots", "show", files[0]!, "--json").stdout).data;
    expect(Object.keys(one)).toEqual([files[0]]);
    if (DVC) {
      const theirs = JSON.parse(mustDvc(s.repo, "plots", "diff", "v1", "v2", "--json").stdout).data;
      expect(Object.keys(theirs).sort()).toEqual(files);
    }
  });
});
