// Deno: `deno serve` locally and on Deno Deploy — dbllm's OpenAI-compatible API (POST /v1/chat/completions, …).
// The model is downloaded from MODEL_URL on the first request. THREADS (optional, default dbllm's: min(cores, 4), one for small models) sets
// the threads; worker threads need read access to node_modules, and Deno Deploy runs one.
import { loadModel, createHandler } from "dbllm";

const threads = Number(Deno.env.get("THREADS")) || undefined;
const handler = createHandler(() => loadModel(Deno.env.get("MODEL_URL"), { contextLength: 512, threads }), { modelId: "smollm2" });

export default { fetch: handler };
