// A tiny static file server for the browser tests (node:http on 127.0.0.1): serves the repository's
// dist/browser/ and examples/browser/ plus extra files mounted at chosen paths, with or without the
// cross-origin-isolation headers, with ETag/Last-Modified/HEAD like a real static host, and a log of every
// request (so tests can count downloads and see aborted ones). `?slow` on a URL throttles its body,
// `?truncate` breaks it off half-way.
// Also runnable by hand: node --import tsx tests/helpers/static-server.ts [--isolated] [--port 8080] [/path=file ...]
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createReadStream, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const SERVED_DIRS = ["dist/browser/", "examples/browser/"];
const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8", ".json": "application/json", ".map": "application/json", ".png": "image/png",
  ".svg": "image/svg+xml", ".wasm": "application/wasm",
};

export interface RequestLog {
  method: string;
  path: string;
  status: number;
  /** Body bytes written. */
  bytes: number;
  /** The client went away before the whole body was sent. */
  aborted: boolean;
}

export interface StaticServer {
  /** Base URL, e.g. http://127.0.0.1:41234 */
  url: string;
  requests: RequestLog[];
  /** Serves `file` at `urlPath` (replacing an earlier mount). */
  mount(urlPath: string, file: string): void;
  close(): Promise<void>;
}

export interface StaticServerOptions {
  /** Send Cross-Origin-Opener-Policy: same-origin + Cross-Origin-Embedder-Policy: require-corp (threads on). */
  isolated: boolean;
  port?: number;
  /** Extra files: URL path → file on disk. */
  mounts?: Record<string, string>;
  /** Send Access-Control-Allow-Origin: * (and expose the validators), like a CDN. */
  cors?: boolean;
  /** Throttle of `?slow` requests: bytes per tick and tick length (default 16 KiB per 15 ms). */
  slow?: { bytes: number; ms: number };
}

export async function startStaticServer(options: StaticServerOptions): Promise<StaticServer> {
  const mounts = new Map(Object.entries(options.mounts ?? {}));
  const requests: RequestLog[] = [];
  const slow = options.slow ?? { bytes: 16 << 10, ms: 15 };

  const resolve = (urlPath: string): string | undefined => {
    if (mounts.has(urlPath)) return mounts.get(urlPath);
    const rel = path.posix.normalize(decodeURIComponent(urlPath)).replace(/^\/+/, "");
    if (rel.includes("..") || !SERVED_DIRS.some((d) => rel.startsWith(d) || `${rel}/` === d)) return undefined;
    const file = path.join(repo, rel.endsWith("/") || SERVED_DIRS.includes(`${rel}/`) ? path.join(rel, "index.html") : rel);
    return file;
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const u = new URL(req.url ?? "/", "http://x");
    const log: RequestLog = { method: req.method ?? "GET", path: u.pathname + u.search, status: 0, bytes: 0, aborted: false };
    requests.push(log);
    if (options.isolated) {
      res.setHeader("Cross-Origin-Opener-Policy", "same-origin");
      res.setHeader("Cross-Origin-Embedder-Policy", "require-corp");
    }
    if (options.cors) {
      res.setHeader("Access-Control-Allow-Origin", "*");
      res.setHeader("Access-Control-Expose-Headers", "ETag, Content-Length, Last-Modified");
      res.setHeader("Cross-Origin-Resource-Policy", "cross-origin");
    }
    res.setHeader("Cache-Control", "no-cache");
    const end = (status: number, text: string) => { log.status = status; res.writeHead(status, { "content-type": "text/plain" }).end(text); };
    if (req.method !== "GET" && req.method !== "HEAD") return end(405, "method not allowed");
    if (u.pathname === "/") { log.status = 302; res.writeHead(302, { location: "/examples/browser/" }).end(); return; }
    const file = resolve(u.pathname);
    let st;
    try { st = file ? statSync(file) : undefined; } catch { st = undefined; }
    if (!file || !st?.isFile()) return end(404, "not found");
    const etag = `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
    const headers = {
      "content-type": TYPES[path.extname(file)] ?? "application/octet-stream",
      "content-length": String(st.size),
      etag,
      "last-modified": st.mtime.toUTCString(),
    };
    if (req.headers["if-none-match"] === etag) { log.status = 304; res.writeHead(304, { etag }).end(); return; }
    log.status = 200;
    res.writeHead(200, headers);
    if (req.method === "HEAD") { res.end(); return; }
    res.on("close", () => { log.aborted = !res.writableFinished; });
    // `?truncate`: announce the whole file but drop the connection half-way (a broken download)
    const stream = createReadStream(file, { highWaterMark: u.searchParams.has("slow") ? slow.bytes : 64 << 10, end: u.searchParams.has("truncate") ? Math.floor(st.size / 2) - 1 : undefined });
    stream.on("data", (chunk) => {
      log.bytes += chunk.length;
      const ok = res.write(chunk);
      if (u.searchParams.has("slow")) { stream.pause(); setTimeout(() => stream.resume(), slow.ms); }
      else if (!ok) { stream.pause(); res.once("drain", () => stream.resume()); }
    });
    stream.on("end", () => (u.searchParams.has("truncate") ? res.destroy() : res.end()));
    stream.on("error", () => res.destroy());
    res.on("close", () => stream.destroy());
  };

  const server: Server = createServer(handle);
  await new Promise<void>((ok, fail) => { server.once("error", fail); server.listen(options.port ?? 0, "127.0.0.1", ok); });
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    mount: (p, f) => { mounts.set(p, f); },
    close: () => new Promise<void>((ok) => { server.closeAllConnections(); server.close(() => ok()); }),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const args = process.argv.slice(2);
  const port = args.includes("--port") ? Number(args[args.indexOf("--port") + 1]) : 8080;
  const mounts = Object.fromEntries(args.filter((a) => a.includes("=")).map((a) => a.split("=", 2) as [string, string]));
  const s = await startStaticServer({ isolated: args.includes("--isolated"), port, mounts });
  console.log(`serving ${s.url}/examples/browser/ (${args.includes("--isolated") ? "cross-origin isolated" : "not isolated"})`);
}
