// dbllm serve <model>: the OpenAI-compatible API (src/server/) on Node's http server. One log line per request
// on stderr; Ctrl-C (or SIGTERM) aborts running generations, closes connections and exits.
import { DbllmError } from "../errors.ts";
import { loadModel, type LoadOptions, type Model } from "../index.ts";
import { createHandler, modelIdFromName, type HandlerOptions, type OpenAIHandler, type RequestLog } from "../server/index.ts";
import { serveHandler, type NodeServer } from "../server/node-http.ts";
import { LOAD_OPTIONS, UsageError, loadOptions, parse, requireModel } from "./args.ts";
import { progressBar } from "./progress.ts";

export const SERVE_HELP = `dbllm serve [model] [options]
  OpenAI-compatible API: POST /v1/chat/completions, POST /v1/completions, GET /v1/models (see docs/SERVER.md)
      --port <n>            port (default 8080; 0 picks a free one)
      --host <addr>         address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)
      --model-id <id>       the model's name in the API (default: the file name without extension)
      --ctx <n>             context length of each session (default: the model's, at most 4096)
      --threads <n>         threads for matrix products (default: min(cores, CPU quota, 4); 1 for small models)
      --parallel <n>        requests generating at once, each with its own KV cache (default 1)
      --queue <n>           requests that may wait for a free slot before 503 (default 16)
      --max-tokens <n>      most tokens a request may generate (default: the context length)
      --max-body <bytes>    largest request body (default 1048576)
      --cors                allow cross-origin requests from any origin (browsers)
      --parse-special       let special-token texts in messages and prompts become control tokens (default: text)
      --simd auto|simd|relaxed  kernel build (default auto)
      --kernel auto|lut|lut-exact|popcount  kernel for 2-bit matrices (default auto)
  -q, --quiet               no progress bar and no request log`;

export interface ServeOptions extends HandlerOptions {
  port?: number;
  host?: string;
  threads?: number;
  simd?: LoadOptions["simd"];
  kernel?: LoadOptions["kernel"];
  quiet?: boolean;
  /** Where log lines go (default stderr). */
  log?: (line: string) => void;
}

export interface RunningServe {
  url: string;
  model: Model;
  handler: OpenAIHandler;
  http: NodeServer;
  /** Aborts generations, closes the server and frees the model. */
  close(): Promise<void>;
}

/** Loads `modelPath` and serves it; resolves once listening. */
export async function startServer(modelPath: string, o: ServeOptions = {}): Promise<RunningServe> {
  const log = o.log ?? ((line: string) => process.stderr.write(line + "\n"));
  const bar = o.quiet ? undefined : progressBar(`loading ${modelPath}`);
  const model = await loadModel(modelPath, { contextLength: o.contextLength, threads: o.threads, simd: o.simd, kernel: o.kernel, onProgress: bar ? (p) => bar.update(p) : undefined });
  bar?.done();
  const handler = createHandler(model, { ...o, onRequest: o.quiet ? o.onRequest : (e) => { log(formatLog(e)); o.onRequest?.(e); } });
  let http: NodeServer;
  try {
    http = await serveHandler(handler, { port: o.port, host: o.host, onError: (e) => log(`internal error: ${(e as Error)?.stack ?? e}`) });
  } catch (e) {
    model.dispose();
    const code = (e as { code?: string }).code;
    const where = `${o.host ?? "127.0.0.1"}:${o.port ?? 8080}`;
    if (code === "EADDRINUSE") throw new DbllmError("IO", `cannot listen on ${where}: the address is in use (pick another --port)`, { cause: e });
    if (code === "EACCES" || code === "EADDRNOTAVAIL") throw new DbllmError("IO", `cannot listen on ${where}: ${(e as Error).message}`, { cause: e });
    throw e;
  }
  let closing: Promise<void> | undefined;
  return {
    url: http.url, model, handler, http,
    close: () => (closing ??= (async () => {
      await Promise.all([handler.close(), http.close()]);
      model.dispose();
    })()),
  };
}

export function formatLog(e: RequestLog): string {
  const time = new Date().toISOString().slice(11, 19);
  let line = `${time} ${e.method} ${e.path} ${e.status} ${(e.ms / 1000).toFixed(2)}s`;
  if (e.promptTokens !== undefined) {
    line += ` prompt ${e.promptTokens}${e.cachedPromptTokens ? ` (${e.cachedPromptTokens} cached)` : ""} + ${e.completionTokens} tokens`;
    if (e.tokensPerSecond) line += ` at ${e.tokensPerSecond.toFixed(1)} tok/s`;
    line += `${e.stream ? " stream" : ""}, ${e.finishReason}`;
  }
  if (e.error) line += ` — ${e.error}`;
  return line;
}

function int(name: string, v: string | undefined, lo: number, hi: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < lo || n > hi) throw new UsageError(`--${name} expects an integer in [${lo}, ${hi}], got "${v}"`);
  return n;
}

export async function serveCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, {
    ...LOAD_OPTIONS,
    port: { type: "string" }, host: { type: "string" }, "model-id": { type: "string" },
    parallel: { type: "string" }, queue: { type: "string" }, "max-tokens": { type: "string" }, "max-body": { type: "string" },
    cors: { type: "boolean" }, "parse-special": { type: "boolean" },
  });
  const modelPath = requireModel(positionals, "serve");
  if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`);
  const load = loadOptions(values);
  const running = await startServer(modelPath, {
    port: int("port", values.port, 0, 65535) ?? 8080,
    host: values.host ?? "127.0.0.1",
    modelId: values["model-id"],
    contextLength: load.contextLength,
    simd: load.simd,
    threads: load.threads,
    kernel: load.kernel,
    parallel: int("parallel", values.parallel, 1, 64),
    maxQueue: int("queue", values.queue, 0, 1e6),
    maxTokens: int("max-tokens", values["max-tokens"], 1, 2 ** 31),
    maxBodyBytes: int("max-body", values["max-body"], 1, 2 ** 31),
    cors: values.cors || undefined,
    parseSpecialTokens: values["parse-special"] || undefined,
    quiet: !!values.quiet,
  });
  const info = running.model.info();
  const id = values["model-id"] ?? modelIdFromName(info.name);
  process.stderr.write(
    `dbllm serve: "${id}" (${info.format}, context ${info.contextLength}, ${info.threads.count} thread${info.threads.count > 1 ? "s" : ""}) on ${running.url}/v1\n` +
    `  try: curl ${running.url}/v1/chat/completions -H 'content-type: application/json' -d '{"messages":[{"role":"user","content":"Hello"}]}'\n` +
    `  Ctrl-C to stop\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.stderr.write("dbllm serve: shutting down (Ctrl-C again to force)\n");
      process.once("SIGINT", () => process.exit(130));
      running.close().then(resolve, (e) => { process.stderr.write(`dbllm serve: ${(e as Error).message}\n`); resolve(); });
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
}
