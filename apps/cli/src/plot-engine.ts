// The packages that draw plots (Vega, Vega-Lite), bundled on their own into dist/plot-engine.mjs:
// only the commands that draw load it, so no other command pays for reading it.
export * as vega from "vega";
export * as vegaLite from "vega-lite";
