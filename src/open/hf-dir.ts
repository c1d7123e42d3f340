// A Hugging Face model directory: config.json, tokenizer.json (+ tokenizer_config.json, chat_template.jinja),
// generation_config.json and the safetensors shards, named by model.safetensors.index.json or one
// model.safetensors.
import { platform } from "#platform";
import type { ByteSource } from "../bytes/source.ts";
import { configFromHF } from "../config/from-hf.ts";
import { DbllmError } from "../errors.ts";
import { canonicalFromHF } from "../formats/hf-names.ts";
import { readSafetensors } from "../formats/safetensors.ts";
import { samplingProblem } from "../generate/options.ts";
import type { SamplingOptions } from "../generate/sampler.ts";
import { Tokenizer } from "../tokenizer/index.ts";
import type { OpenedModel, TensorRef } from "./types.ts";

async function readJSON(path: string, required: boolean): Promise<Record<string, unknown> | undefined> {
  if (!(await platform.exists(path))) {
    if (required) throw new DbllmError("NOT_FOUND", `${path} is missing`);
    return undefined;
  }
  const text = await platform.readText(path);
  try {
    const v = JSON.parse(text);
    if (!v || typeof v !== "object" || Array.isArray(v)) throw new Error("not an object");
    return v;
  } catch (e) {
    throw new DbllmError("INVALID_CONFIG", `${path} is not a valid JSON object: ${(e as Error).message}`);
  }
}

export async function openHFDirectory(dir: string): Promise<OpenedModel> {
  const j = (name: string) => platform.join(dir, name);
  const cfg = (await readJSON(j("config.json"), true))!;
  const config = configFromHF(cfg, j("config.json"));
  const tokJson = await readJSON(j("tokenizer.json"), false);
  if (!tokJson) throw new DbllmError("TOKENIZER", `${dir} has no tokenizer.json (dbllm needs the fast-tokenizer file)`);
  const tokConfig = (await readJSON(j("tokenizer_config.json"), false)) ?? {};
  if (await platform.exists(j("chat_template.jinja"))) tokConfig.chat_template = await platform.readText(j("chat_template.jinja"));
  const genConfig = await readJSON(j("generation_config.json"), false);
  const tokenizer = Tokenizer.fromHF(tokJson, tokConfig, genConfig);
  const samplingDefaults = samplingFromHF(genConfig, j("generation_config.json"));

  let shardNames: string[];
  const index = await readJSON(j("model.safetensors.index.json"), false);
  if (index) {
    const map = index.weight_map as Record<string, unknown> | undefined;
    if (!map || typeof map !== "object") throw new DbllmError("INVALID_CONFIG", `${j("model.safetensors.index.json")} has no weight_map`);
    shardNames = [...new Set(Object.values(map))].map((v) => {
      if (typeof v !== "string" || v.includes("/") || v.includes("\\") || v.startsWith(".")) {
        throw new DbllmError("INVALID_CONFIG", `${j("model.safetensors.index.json")} names an invalid shard ${JSON.stringify(v)}`);
      }
      return v;
    });
  } else if (await platform.exists(j("model.safetensors"))) shardNames = ["model.safetensors"];
  else throw new DbllmError("NOT_FOUND", `${dir} has neither model.safetensors nor model.safetensors.index.json`);

  const files: ByteSource[] = [];
  const tensors = new Map<string, TensorRef>(), unreadable = new Map<string, string>();
  try {
    for (const shard of shardNames) {
      const src = await platform.openFile(j(shard));
      files.push(src);
      const st = await readSafetensors(src);
      for (const t of [...st.tensors, ...st.unreadable]) {
        const canonical = canonicalFromHF(t.name);
        if (!canonical) continue;
        if (tensors.has(canonical) || unreadable.has(canonical)) throw new DbllmError("INVALID_FILE", `${dir}: tensor ${t.name} appears in two shards`);
        if ("type" in t) tensors.set(canonical, { info: t, file: files.length - 1 });
        else unreadable.set(canonical, t.typeName);
      }
    }
  } catch (e) {
    await Promise.all(files.map((f) => f.close()));
    throw e;
  }
  const metadata: Record<string, unknown> = { "hf.architectures": cfg.architectures, "hf.torch_dtype": cfg.torch_dtype, "hf.model_type": cfg.model_type };
  return { format: "hf", name: dir, config, tokenizer, tensors, unreadable, files, metadata, samplingDefaults };
}

/**
 * Sampling defaults a model ships in generation_config.json (ignored when it asks for greedy decoding), checked
 * here: a top_p of 7 must fail the load, not every later generate().
 */
function samplingFromHF(g: Record<string, unknown> | undefined, origin: string): Partial<SamplingOptions> {
  if (!g || g.do_sample === false) return {};
  const out: Partial<SamplingOptions> = {};
  const take = (key: string, name: keyof SamplingOptions) => {
    const v = g[key];
    if (v === undefined || v === null) return;
    if (typeof v !== "number") throw new DbllmError("INVALID_CONFIG", `${origin}: ${key} is ${JSON.stringify(v)}, not a number`);
    out[name] = v;
  };
  take("temperature", "temperature");
  take("top_p", "topP");
  take("top_k", "topK");
  take("min_p", "minP");
  take("repetition_penalty", "repetitionPenalty");
  const problem = samplingProblem(out);
  if (problem) throw new DbllmError("INVALID_CONFIG", `${origin}: ${problem}`);
  return out;
}
