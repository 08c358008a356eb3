// A real nginx for tests and benchmarks, in the foreground with its own prefix folder, on two free
// ports of 127.0.0.1: one plain HTTP, one HTTPS with a self-signed certificate made for the run
// (see /work/shared/TESTING.md). Plain JavaScript so that bench/*.mjs can use it as well as vitest;
// the types are in nginx.d.mts and `nginx.ts` re-exports it for TypeScript tests.
//
//   const web = await startNginx();
//   web.url("rw", "store")            // http://127.0.0.1:PORT/rw/store
//   web.url("ro", "", { tls: true })  // https://127.0.0.1:TLSPORT/ro
//   web.localPath("rw", "store")      // the same folder on the local disk
//   await web.stop();
//
// The same trees are served on both ports:
//   ro/      read only (GET, HEAD): what a plain web server offers
//   rw/      also PUT and DELETE (the WebDAV module, with the folders of a PUT made as needed)
//   auth/    like rw/, behind basic authentication (user `alice`, password in `password`)
//   token/   like rw/, behind a custom header (`X-Token: <token>`)
//   norange/ rw/'s files, read only, ignoring Range headers (answers 200 with every byte)
//   noetag/  rw/'s files, read only, without ETag headers
//   moved/   redirects (302) every request to the same path below rw/
//
// Started as root, nginx's workers run as `nobody`: every served folder is world-readable, and
// the writable ones world-writable. Only the nginx started here is stopped, and only its folder
// is removed.
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, stopChild, waitForReply } from "./process.mjs";

export { freePort };

export const USER = "alice";
export const PASSWORD = "s3cr3t:p@ss word";
export const TOKEN_HEADER = "X-Token";
export const TOKEN = "tok-4e1f0c9a";
/** The trees every server serves. */
export const TREES = ["ro", "rw", "auth", "token", "norange", "noetag", "moved"];
const WRITABLE = ["rw", "auth", "token"];

/** nginx cannot run on this machine; the message says why. */
export class NginxUnavailableError extends Error {
  name = "NginxUnavailableError";
}

/** Where nginx is, or undefined. */
export function findNginx() {
  for (const p of ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx", "/usr/local/nginx/sbin/nginx"])
    if (existsSync(p)) return p;
  return undefined;
}

function must(cmd, args, input) {
  const r = spawnSync(cmd, args, { encoding: "utf8", input });
  if (r.error) throw new NginxUnavailableError(`${cmd}: ${r.error.message}`);
  if (r.status !== 0)
    throw new NginxUnavailableError(`${cmd} ${args.join(" ")} exited ${r.status}: ${String(r.stderr).trim()}`);
  return r.stdout;
}

/** Resolves once `port` answers an HTTP request; false after `ms` or when nginx exited. */
function waitForHttp(port, ms, exited) {
  return waitForReply(port, ms, exited, {
    request: "HEAD /ro/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n",
    lineEnd: "\r\n",
    ready: (reply) => reply.startsWith("HTTP/1."),
    pauseMs: 30,
  });
}

function config(dir, port, tlsPort, isRoot) {
  const dav = `dav_methods PUT DELETE;
      create_full_put_path on;
      dav_access user:rw group:r all:r;`;
  return `daemon off;
master_process on;
worker_processes 2;
${isRoot ? "user nobody nogroup;" : ""}
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log warn;
events { worker_connections 1024; }
http {
  types { }
  default_type application/octet-stream;
  log_format mlv '$request_method $request_uri $status $body_bytes_sent "$http_range" "$remote_user" $scheme';
  access_log ${dir}/logs/access.log mlv;
  client_body_temp_path ${dir}/temp/body;
  proxy_temp_path ${dir}/temp/proxy;
  fastcgi_temp_path ${dir}/temp/fastcgi;
  uwsgi_temp_path ${dir}/temp/uwsgi;
  scgi_temp_path ${dir}/temp/scgi;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  client_max_body_size 0;
  server_tokens off;
  server {
    listen 127.0.0.1:${port};
    listen 127.0.0.1:${tlsPort} ssl;
    ssl_certificate ${dir}/conf/cert.pem;
    ssl_certificate_key ${dir}/conf/key.pem;
    root ${dir}/www;
    location /ro/ { }
    location /rw/ {
      ${dav}
    }
    location /auth/ {
      auth_basic "mlv test";
      auth_basic_user_file ${dir}/conf/htpasswd;
      ${dav}
    }
    location /token/ {
      if ($http_${TOKEN_HEADER.toLowerCase().replace(/-/g, "_")} != "${TOKEN}") { return 401; }
      ${dav}
    }
    location /norange/ {
      alias ${dir}/www/rw/;
      max_ranges 0;
    }
    location /noetag/ {
      alias ${dir}/www/rw/;
      etag off;
    }
    location /moved/ {
      rewrite ^/moved/(.*)$ /rw/$1 redirect;
    }
    location / { return 404; }
  }
}
`;
}

/**
 * Start nginx. Options: `timeoutMs` (default 15000) to wait for it to answer.
 * Throws NginxUnavailableError when it cannot run here.
 */
export async function startNginx(options = {}) {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const nginx = findNginx();
  if (!nginx)
    throw new NginxUnavailableError(
      "nginx is not installed (Debian: apt-get install -y --no-install-recommends nginx, without starting its service)",
    );
  const isRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), "mlv-nginx-"));
  try {
    // nobody must be able to reach the served folders: every folder above them is searchable.
    chmodSync(dir, 0o755);
    for (const sub of ["conf", "logs", "temp", "www"]) mkdirSync(join(dir, sub), { mode: 0o755 });
    for (const tree of ["ro", ...WRITABLE]) {
      mkdirSync(join(dir, "www", tree));
      chmodSync(join(dir, "www", tree), WRITABLE.includes(tree) ? 0o777 : 0o755);
    }
    const conf = join(dir, "conf");
    must("openssl", [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      join(conf, "key.pem"),
      "-out",
      join(conf, "cert.pem"),
      "-days",
      "3",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
    ]);
    chmodSync(join(conf, "cert.pem"), 0o644);
    const hash = must("openssl", ["passwd", "-apr1", "-stdin"], `${PASSWORD}\n`).trim();
    writeFileSync(join(conf, "htpasswd"), `${USER}:${hash}\n`, { mode: 0o644 });

    let lastError = "";
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      let tlsPort = await freePort();
      while (tlsPort === port) tlsPort = await freePort();
      const confFile = join(conf, "nginx.conf");
      writeFileSync(confFile, config(dir, port, tlsPort, isRoot));
      const child = spawn(nginx, ["-p", dir, "-c", confFile, "-e", "stderr"], {
        stdio: ["ignore", "ignore", "pipe"],
      });
      let stderr = "";
      child.stderr.on("data", (d) => {
        if (stderr.length < 8000) stderr += d.toString();
      });
      let exited = false;
      child.once("exit", () => {
        exited = true;
      });
      child.once("error", (e) => {
        stderr += e.message;
        exited = true;
      });
      // If the caller exits without stop(): stop this nginx and remove its folder all the same.
      const killOnExit = () => {
        child.kill("SIGTERM");
        rmSync(dir, { recursive: true, force: true });
      };
      process.once("exit", killOnExit);
      // Both ports are bound before the workers start: when one answers, so does the other.
      if (await waitForHttp(port, timeoutMs, () => exited)) {
        const base = (tls) => `${tls ? "https" : "http"}://127.0.0.1:${tls ? tlsPort : port}`;
        const errorLog = join(dir, "logs", "error.log");
        const accessLog = join(dir, "logs", "access.log");
        return {
          host: "127.0.0.1",
          port,
          tlsPort,
          pid: child.pid,
          dir,
          root: join(dir, "www"),
          caFile: join(conf, "cert.pem"),
          user: USER,
          password: PASSWORD,
          tokenHeader: TOKEN_HEADER,
          token: TOKEN,
          url(tree, sub = "", opts = {}) {
            const auth =
              opts.credentials === undefined
                ? ""
                : `${encodeURIComponent(opts.credentials.user)}:${encodeURIComponent(opts.credentials.password)}@`;
            const b = base(opts.tls === true).replace("://", `://${auth}`);
            return sub ? `${b}/${tree}/${sub}` : `${b}/${tree}`;
          },
          localPath(tree, sub = "") {
            const t = ["norange", "noetag", "moved"].includes(tree) ? "rw" : tree;
            return sub ? join(dir, "www", t, sub) : join(dir, "www", t);
          },
          accessLog: () => (existsSync(accessLog) ? readFileSync(accessLog, "utf8") : ""),
          errorLog: () => (existsSync(errorLog) ? readFileSync(errorLog, "utf8") : "") + stderr,
          async stop() {
            process.off("exit", killOnExit);
            await stopChild(child, { killChildren: true });
            rmSync(dir, { recursive: true, force: true });
          },
        };
      }
      lastError = exited
        ? `nginx exited with ${child.exitCode ?? child.signalCode}: ${stderr.trim() || "(no output)"}`
        : `nginx did not answer on 127.0.0.1:${port} within ${timeoutMs} ms: ${stderr.trim()}`;
      process.off("exit", killOnExit);
      await stopChild(child, { killChildren: true });
      if (!/Address already in use|bind\(\)/i.test(stderr)) break;
    }
    throw new NginxUnavailableError(`cannot start ${nginx}: ${lastError}`);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
