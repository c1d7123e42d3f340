// The web-standard handler behind node:http (Node only; imported by the CLI, never by the handler). Converts
// IncomingMessage → Request with a pull-based body stream (nothing is buffered beyond what the handler reads,
// so its size limit holds) and an AbortSignal that fires when the client disconnects; writes the Response
// back chunk by chunk, so each server-sent event is flushed as it is produced.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { errorBody, HttpError } from "./errors.ts";

export interface NodeServerOptions {
  port?: number;
  host?: string;
  /** Called when the adapter itself fails (the handler's own errors are responses). */
  onError?: (error: unknown) => void;
}

export interface NodeServer {
  readonly server: Server;
  /** http://host:port (the bound port when 0 was asked). */
  readonly url: string;
  readonly port: number;
  /** Stops accepting connections and closes the open ones (call the handler's close() first to end generations). */
  close(): Promise<void>;
}

type FetchHandler = (request: Request) => Promise<Response>;

/** How long a connection may keep sending an unread request body after its response (then it is cut). */
const LINGER_MS = 2000;

export function toRequest(req: IncomingMessage, res: ServerResponse, origin: string): Request {
  const headers = new Headers();
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i];
    if (!name.startsWith(":")) headers.append(name, req.rawHeaders[i + 1]);
  }
  const controller = new AbortController();
  res.once("close", () => { if (!res.writableEnded) controller.abort(new Error("the client disconnected")); });
  const method = req.method ?? "GET";
  const hasBody = method !== "GET" && method !== "HEAD";
  const init: RequestInit & { duplex?: "half" } = { method, headers, signal: controller.signal };
  if (hasBody) {
    init.body = bodyStream(req);
    init.duplex = "half";
  }
  return new Request(new URL(req.url ?? "/", origin), init);
}

/** The request body as a web stream that reads from the socket only when the consumer pulls. */
function bodyStream(req: IncomingMessage): ReadableStream<Uint8Array> {
  let cleanup = () => {};
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const onData = (chunk: Buffer) => {
        controller.enqueue(new Uint8Array(chunk)); // a copy: socket buffers may be pooled
        if ((controller.desiredSize ?? 0) <= 0) req.pause();
      };
      const onEnd = () => { cleanup(); controller.close(); };
      const onError = (e: Error) => { cleanup(); controller.error(e); };
      cleanup = () => { req.off("data", onData); req.off("end", onEnd); req.off("error", onError); };
      req.on("data", onData);
      req.once("end", onEnd);
      req.once("error", onError);
      req.pause();
    },
    pull() { req.resume(); },
    cancel() { cleanup(); req.pause(); },
  }, new ByteLengthQueuingStrategy({ highWaterMark: 64 * 1024 }));
}

export async function writeResponse(response: Response, req: IncomingMessage, res: ServerResponse): Promise<void> {
  res.statusCode = response.status;
  response.headers.forEach((value, name) => { if (name !== "set-cookie") res.setHeader(name, value); });
  const cookies = response.headers.getSetCookie?.() ?? [];
  if (cookies.length) res.setHeader("set-cookie", cookies);
  if (!req.complete) {
    // The handler answered without reading the whole body (413, or an early error): close this connection
    // instead of reading an unbounded rest; let the client read the answer for a moment first.
    res.setHeader("connection", "close");
    res.once("finish", () => {
      req.resume();
      setTimeout(() => req.socket.destroy(), LINGER_MS).unref();
    });
  }
  if (!response.body) { res.end(); return; }
  res.flushHeaders();
  const reader = response.body.getReader();
  const onClose = () => { reader.cancel().catch(() => {}); };
  res.once("close", onClose);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (res.destroyed) { await reader.cancel(); return; }
      if (!res.write(value)) await drained(res);
    }
    res.end();
  } catch (e) {
    res.destroy(e as Error);
  } finally {
    res.off("close", onClose);
  }
}

/**
 * The raw answer to a request node:http could not parse (a URL or headers beyond its 16 KiB limit, a malformed
 * request line): an OpenAI-style error body like every other error, then the connection closes.
 */
export function clientErrorResponse(e: NodeJS.ErrnoException): string {
  const tooLarge = e.code === "HPE_HEADER_OVERFLOW";
  const err = tooLarge
    ? new HttpError(431, "the request line and headers are larger than the server's limit of 16 KiB (a very long URL?)", "invalid_request_error", null, "request_header_fields_too_large")
    : new HttpError(400, `the request is not valid HTTP (${e.code ?? e.message})`, "invalid_request_error", null, "bad_request");
  const body = JSON.stringify(errorBody(err));
  const status = tooLarge ? "431 Request Header Fields Too Large" : "400 Bad Request";
  return `HTTP/1.1 ${status}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => { res.off("drain", done); res.off("close", done); resolve(); };
    res.once("drain", done);
    res.once("close", done);
  });
}

/** Serves `handler` on host:port; resolves once listening. */
export function serveHandler(handler: FetchHandler, options: NodeServerOptions = {}): Promise<NodeServer> {
  const host = options.host ?? "127.0.0.1";
  const sockets = new Set<Socket>();
  let origin = `http://${host}`;
  const server = createServer({ noDelay: true }, (req, res) => {
    void (async () => {
      let response: Response;
      try {
        response = await handler(toRequest(req, res, origin));
      } catch (e) {
        options.onError?.(e);
        const message = e instanceof Error ? e.message : String(e);
        response = new Response(JSON.stringify({ error: { message: `internal error: ${message}`, type: "server_error", param: null, code: "internal_error" } }), { status: e instanceof TypeError && /URL/i.test(message) ? 400 : 500, headers: { "content-type": "application/json" } });
      }
      await writeResponse(response, req, res);
    })().catch((e) => { options.onError?.(e); res.destroy(); });
  });
  server.on("connection", (s) => { sockets.add(s); s.once("close", () => sockets.delete(s)); });
  server.on("clientError", (e: NodeJS.ErrnoException, socket) => { if (socket.writable) socket.end(clientErrorResponse(e)); else socket.destroy(); });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 8080, host, () => {
      server.off("error", reject);
      const port = (server.address() as AddressInfo).port;
      const h = host.includes(":") ? `[${host}]` : host;
      origin = `http://${h}:${port}`;
      resolve({
        server, port, url: origin,
        close: () => new Promise<void>((res) => {
          server.close(() => res());
          for (const s of sockets) s.destroy();
        }),
      });
    });
  });
}
