/**
 * `@mlv/remote-http`: DVC's `http://` and `https://` remotes (spec §9), on undici.
 *
 * `https://host[:port]/path` holds DVC's layout below the path: `files/md5/ab/cdef…`. Options are
 * DVC's keys of an http remote (see ./settings.ts and README). A web server cannot list, so
 * existence is checked object by object; uploads need a server that takes POST or PUT.
 *
 * Importing this module loads neither undici nor any file: both wait for the first request.
 */
import type { Remote, RemoteAdapter, RemoteConfig } from "@mlv/core";
import { HttpRemote } from "./remote.js";
import { OPTIONS, parseSettings, SECRET_OPTIONS } from "./settings.js";

export {
  checksumOf,
  type InfoEntries,
  infoDict,
  infoFromHeaders,
  mergeInfo,
  type PyValue,
  pyRepr,
  reprChecksum,
} from "./checksum.js";
export { DEFAULT_JOBS, HttpRemote, RANGE_JOBS, RANGE_SIZE } from "./remote.js";
export { type HttpSettings, objectPath, parseSettings, redactUrl } from "./settings.js";

const adapter: RemoteAdapter = {
  name: "http",
  schemes: ["http", "https"],
  options: OPTIONS,
  secretOptions: SECRET_OPTIONS,
  create(config: RemoteConfig): Remote {
    return new HttpRemote(parseSettings(config.name, config.url, config.options));
  },
};

export default adapter;
