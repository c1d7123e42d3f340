// llama.cpp (through node-llama-cpp's prebuilt CPU binary) as the reference forward pass: logits per
// position, greedy continuations and perplexity on a GGUF file, with an f32 KV cache and one thread.
import { importNodeLlamaCpp } from "../../scripts/assets.ts";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;
let llamaPromise: Promise<Any> | undefined;

export async function getLlama(): Promise<Any> {
  llamaPromise ??= importNodeLlamaCpp().then((m: Any) => m.getLlama({ gpu: false, build: "never", logLevel: "error", progressLogs: false }));
  return llamaPromise;
}

export class LlamaRef {
  private constructor(private readonly model: Any, private readonly ctx: Any, private readonly seq: Any) {}

  static async open(modelPath: string, contextSize = 256): Promise<LlamaRef> {
    const llama = await getLlama();
    const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
    const ctx = await model.createContext({
      contextSize, batchSize: contextSize, threads: 1, flashAttention: false,
      experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32",
    });
    return new LlamaRef(model, ctx, ctx.getSequence());
  }

  /** Raw logits after every token of `tokens` (evaluated from an empty context). */
  async logits(tokens: number[]): Promise<Float32Array[]> {
    await this.seq.clearHistory();
    const res = await this.seq.controlledEvaluate(tokens.map((t) => [t, { generateNext: { logits: true } }]));
    return res.map((r: Any, i: number) => {
      const m: Map<number, number> | undefined = r?.next?.logits;
      if (!m) throw new Error(`llama.cpp returned no logits at position ${i}`);
      const out = new Float32Array(m.size).fill(NaN);
      for (const [tok, v] of m) out[tok] = v;
      return out;
    });
  }

  /** Greedy continuation of `prompt` for n tokens (argmax of raw logits, ties to the lower id). */
  async greedy(prompt: number[], n: number): Promise<number[]> {
    await this.seq.clearHistory();
    const out: number[] = [];
    let input = prompt;
    for (let i = 0; i < n; i++) {
      const res = await this.seq.controlledEvaluate(input.map((t, j) => (j === input.length - 1 ? [t, { generateNext: { logits: true } }] : t)));
      const m: Map<number, number> = res[input.length - 1].next.logits;
      let best = -1, bv = -Infinity;
      for (const [tok, v] of m) if (v > bv || (v === bv && tok < best)) { bv = v; best = tok; }
      out.push(best);
      input = [best];
    }
    return out;
  }

  tokenize(text: string, special = true): number[] {
    return Array.from(this.model.tokenize(text, special));
  }

  async dispose(): Promise<void> {
    await this.ctx.dispose();
    await this.model.dispose();
  }
}
