// The OpenAI-compatible HTTP API over web-standard Request/Response, for edge functions, service workers, Deno,
// Bun and (through node-http.ts) Node: POST /v1/chat/completions, POST /v1/completions, GET /v1/models.
// No Node built-ins may be imported from here (tests/handler-bundle.test.ts bundles it for a neutral platform).
import { invalidArgument } from "../errors.ts";
import { OpenAIServer } from "./server.ts";
import type { HandlerOptions, ModelProvider, OpenAIHandler } from "./types.ts";

/** Defaults of the options that have one (the others default to what the model says). */
const DEFAULTS = { parallel: 1, maxQueue: 16, maxBodyBytes: 1 << 20, basePath: "/v1" };

function checkInt(name: string, v: number | undefined, lo: number, hi: number): void {
  if (v !== undefined && (!Number.isSafeInteger(v) || v < lo || v > hi)) throw invalidArgument(`${name} must be an integer in [${lo}, ${hi}], got ${v}`);
}

/** The handler: `(request) => Promise<Response>` over `provider`'s model, with counters and a shutdown. */
export function createHandler(provider: ModelProvider, options: HandlerOptions = {}): OpenAIHandler {
  const o = { ...DEFAULTS, ...stripUndefined(options) };
  checkInt("parallel", o.parallel, 1, 64);
  checkInt("maxQueue", o.maxQueue, 0, 1e6);
  checkInt("maxBodyBytes", o.maxBodyBytes, 1, 2 ** 31);
  checkInt("contextLength", o.contextLength, 1, 2 ** 24);
  checkInt("maxTokens", o.maxTokens, 1, 2 ** 31);
  const server = new OpenAIServer(provider, o);
  const handler = ((request: Request) => server.handle(request)) as OpenAIHandler;
  handler.stats = () => server.stats();
  handler.close = () => server.close();
  return handler;
}

function stripUndefined<T extends object>(v: T): Partial<T> {
  return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined)) as Partial<T>;
}
