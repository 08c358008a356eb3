// Every command of the CLI, one file each; a command file parses, calls core and prints. What
// commands share lives in shared modules (../context.ts, ./options.ts, ../output.ts, ...): a command
// imports no other command, nor cli.ts, so that the import graph has no cycle.

export { register as add } from "./add.js";
export { register as artifacts } from "./artifacts.js";
export { register as checkout } from "./checkout.js";
export { register as commit } from "./commit.js";
export { register as completion } from "./completion.js";
export { register as config } from "./config.js";
export { register as dag } from "./dag.js";
export { register as diff } from "./diff.js";
export { register as freeze } from "./freeze.js";
export { register as gc } from "./gc.js";
export { register as get } from "./get.js";
export { register as getUrl } from "./get-url.js";
export { register as import } from "./import.js";
export { register as importUrl } from "./import-url.js";
export { register as init } from "./init.js";
export { register as install } from "./install.js";
export { register as list } from "./list.js";
export { register as metrics } from "./metrics.js";
export { register as params } from "./params.js";
export { register as plots } from "./plots.js";
export { register as remote } from "./remote.js";
export { register as remove } from "./remove.js";
export { register as repro } from "./repro.js";
export { register as stageAdd } from "./stage-add.js";
export { register as stageList } from "./stage-list.js";
export { register as status } from "./status.js";
export { register as transfer } from "./transfer.js";
export { register as update } from "./update.js";
export { register as version } from "./version.js";
export { register as versions } from "./versions.js";
