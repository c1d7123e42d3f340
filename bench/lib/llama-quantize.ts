// llama.cpp's own quantizer (llama_model_quantize in the libllama that node-llama-cpp ships), called through
// koffi, to make the Q2_K / Q4_0 GGUF files dbllm is compared with.
import { createRequire } from "node:module";
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { peersDir } from "../../scripts/assets.ts";

const require = createRequire(import.meta.url);

/** llama_ftype values (llama.h). */
export const FTYPE = { Q4_0: 2, Q8_0: 7, Q2_K: 10, Q4_K_M: 15, TQ2_0: 37 } as const;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
let bound: { defaults: () => any; quantize: (i: string, o: string, p: unknown) => number } | undefined;

function bind() {
  if (bound) return bound;
  const koffi = require("koffi");
  const dir = path.join(peersDir(), "node_modules/@node-llama-cpp/linux-x64/bins/linux-x64");
  const lib = readdirSync(dir).find((f) => /^libllama\.v[\d.]+\.so$/.test(f));
  if (!lib || !existsSync(path.join(dir, lib))) throw new Error(`libllama not found in ${dir}`);
  const llama = koffi.load(path.join(dir, lib));
  const Params = koffi.struct("llama_model_quantize_params", {
    nthread: "int32", ftype: "int32", output_tensor_type: "int32", token_embedding_type: "int32",
    allow_requantize: "bool", quantize_output_tensor: "bool", only_copy: "bool", pure: "bool", keep_split: "bool", dry_run: "bool",
    imatrix: "void *", kv_overrides: "void *", tt_overrides: "void *", prune_layers: "void *", max_buf_size: "size_t",
  });
  const defaults = llama.func("llama_model_quantize_params llama_model_quantize_default_params()");
  const quantize = llama.func("uint32 llama_model_quantize(const char *fname_inp, const char *fname_out, const llama_model_quantize_params *params)");
  void Params;
  bound = { defaults, quantize };
  return bound;
}

export function llamaQuantize(input: string, output: string, ftype: keyof typeof FTYPE, threads = 2): void {
  const { defaults, quantize } = bind();
  const p = defaults();
  p.nthread = threads;
  p.ftype = FTYPE[ftype];
  p.allow_requantize = true;
  const rc = quantize(input, output, p);
  if (rc !== 0) throw new Error(`llama_model_quantize(${input} → ${ftype}) failed with ${rc}`);
}
