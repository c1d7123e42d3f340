// The OpenAI-compatible handler on web-standard Request/Response: the entry for edge functions and service
// workers (no Node built-ins in its import graph). `dbllm serve` puts the same handler behind node:http.
export { createHandler } from "./handler.ts";
export { modelIdFromName } from "./server.ts";
export type { HandlerOptions, HandlerStats, OpenAIHandler, ModelProvider, RequestLog } from "./types.ts";
