/**
 * `@mlv/remote-s3`: Amazon S3 and S3-compatible storage (MinIO, Ceph, Wasabi, moto...) for mlv.
 *
 * `s3://bucket/prefix` holds DVC's layout below `prefix/` (spec §4.1): `files/md5/ab/cdef…`, and
 * legacy `ab/cdef…` objects. Options are DVC's keys of an s3 remote (see ./options.ts and README).
 *
 * Importing this module loads neither the AWS SDK nor any file: the SDK is imported by the first
 * method call of a remote.
 */
import type { Remote, RemoteAdapter, RemoteConfig } from "@mlv/core";
import { OPTIONS, resolveSettings, SECRET_OPTIONS } from "./options.js";
import { S3Remote } from "./remote.js";

export { iniRegion, parseS3Url, redact, resolveSettings, type S3Settings } from "./options.js";
export { S3Remote } from "./remote.js";

const adapter: RemoteAdapter = {
  name: "s3",
  schemes: ["s3"],
  options: OPTIONS,
  secretOptions: SECRET_OPTIONS,
  create(config: RemoteConfig): Remote {
    return new S3Remote(resolveSettings(config));
  },
};

export default adapter;
