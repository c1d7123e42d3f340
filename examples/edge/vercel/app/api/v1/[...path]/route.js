// Next.js on Vercel, Edge runtime: dbllm's OpenAI-compatible API at /api/v1 (POST /api/v1/chat/completions, …).
// The model (62 MiB) is downloaded from MODEL_URL on the first request and serves every later request to this
// instance; context 512 keeps the default model within 128 MB.
import { loadModel, createHandler } from "dbllm";

export const runtime = "edge";

const handler = createHandler(() => loadModel(process.env.MODEL_URL, { contextLength: 512 }), { modelId: "smollm2", basePath: "/api/v1" });

export const GET = handler;
export const POST = handler;
