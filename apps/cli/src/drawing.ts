import { importModule } from "./remotes.js";

type PlotEngine = { vega: unknown; vegaLite: unknown };
let engine: Promise<PlotEngine> | undefined;

/**
 * `importPackage` for core's plot drawing: Vega and Vega-Lite from the CLI's own bundle of them
 * (dist/plot-engine.mjs, beside this bundle), imported on first use only.
 */
export async function importDrawingPackage(name: string): Promise<unknown> {
  engine ??= importModule(new URL("./plot-engine.mjs", import.meta.url).href) as Promise<PlotEngine>;
  const { vega, vegaLite } = await engine;
  if (name === "vega") return vega;
  if (name === "vega-lite") return vegaLite;
  throw new Error(`no drawing package '${name}' in the CLI's bundle`);
}
