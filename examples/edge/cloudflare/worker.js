// Cloudflare Workers: dbllm's OpenAI-compatible API (POST /v1/chat/completions, …) on one small model.
// The model is larger than Workers' 25 MiB limit on static assets and KV values, so it comes from an R2 bucket
// (binding MODELS, object MODEL_KEY) or, without one, from MODEL_URL. It loads on the first request and serves
// every later request to this isolate; context 512 keeps the default model within 128 MB.
import { loadModel, createHandler } from "dbllm";

async function modelSource(env) {
  if (!env.MODELS) return env.MODEL_URL;
  const object = await env.MODELS.get(env.MODEL_KEY);
  if (object === null) throw new Error(`the R2 bucket has no object ${env.MODEL_KEY}`);
  return object.body;
}

let handler;

export default {
  fetch(request, env) {
    handler ??= createHandler(async () => loadModel(await modelSource(env), { contextLength: 512 }), { modelId: "smollm2" });
    return handler(request);
  },
};
