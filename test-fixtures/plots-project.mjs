// A project shaped like DVC's "get started", for `mlv plots` and `mlv versions --html`: training
// curves (JSON), a precision-recall curve named apart from its file, a confusion matrix (CSV) and
// a feature-importance image, written by training runs that get better each time. Shared by the
// plot tests and by scripts/readme-images.mjs, which draws the README's pictures from it.
import { PNG } from "pngjs";

export const PLOTS_DVC_YAML = `plots:
  - train.json:
      x: step
      y: [loss, acc]
  - confusion.csv:
      template: confusion
      x: actual
      y: predicted
  - Precision-Recall:
      x: recall
      y:
        prc.json: precision
  - importance.png
`;

/** A solid-colour PNG: each run's "feature importance" is a different colour. */
function image(r, g, b) {
  const png = new PNG({ width: 60, height: 40 });
  for (let i = 0; i < png.data.length; i += 4) png.data.set([r, g, b, 255], i);
  return PNG.sync.write(png);
}

/** The files training run `k` (1, 2, 3, ...) writes, path → contents. */
export function trainingRun(k) {
  const steps = Array.from({ length: 20 }, (_, i) => ({
    step: i,
    loss: Number((1 / (1 + i * k)).toFixed(4)),
    acc: Number((1 - 1 / (1 + i * k * 0.8)).toFixed(4)),
  }));
  const prc = Array.from({ length: 11 }, (_, r) => ({
    recall: r / 10,
    precision: Number((1 - (r / 10) ** (1 + k)).toFixed(3)),
  }));
  const labels = ["neg", "pos", "neu"];
  const rows = Array.from({ length: 90 }, (_, i) => {
    const actual = labels[i % 3];
    const predicted = i % (3 + k) === 1 ? labels[(i + 1) % 3] : actual;
    return `${actual},${predicted}`;
  });
  return {
    "train.json": JSON.stringify(steps),
    "prc.json": JSON.stringify({ prc }),
    "confusion.csv": `actual,predicted\n${rows.join("\n")}\n`,
    "importance.png": image(60 * k, 120, 255 - 60 * k),
    "metrics.json": JSON.stringify({ acc: Number((0.7 + k * 0.08).toFixed(3)), loss: Number((0.5 / k).toFixed(3)) }),
  };
}
