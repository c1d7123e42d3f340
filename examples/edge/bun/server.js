// Bun: dbllm's OpenAI-compatible API (POST /v1/chat/completions, …) on Bun.serve. The model is loaded from
// MODEL_URL (a URL or a file path) on the first request. THREADS (optional, default dbllm's: min(cores, 4), one for small models) sets the threads.
import { loadModel, createHandler } from "dbllm";

const threads = Number(process.env.THREADS) || undefined;
const handler = createHandler(() => loadModel(process.env.MODEL_URL, { contextLength: 512, threads }), { modelId: "smollm2" });

// idleTimeout 0: Bun closes a connection that is silent for 10 s by default, which a long prompt's prefill can be
const server = Bun.serve({ hostname: "127.0.0.1", port: Number(process.env.PORT ?? 8080), idleTimeout: 0, fetch: handler });
console.log(`dbllm: OpenAI-compatible API on ${server.url}v1`);
