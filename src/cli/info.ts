// dbllm info <model> [--json]: what a model is, as dbllm loaded it.
import { LOAD_OPTIONS, loadOptions, parse, requireModel } from "./args.ts";
import { loadForCli } from "./load.ts";

export const INFO_HELP = `dbllm info [model] [--json]`;

export async function infoCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, { ...LOAD_OPTIONS, json: { type: "boolean" } });
  const model = await loadForCli(requireModel(positionals, "info"), loadOptions(values), !!values.quiet || !!values.json);
  const info = model.info();
  if (values.json) { process.stdout.write(JSON.stringify(info, null, 2) + "\n"); return; }
  const c = info.config;
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
  const lines = [
    `model        ${info.name} (${info.format})`,
    `architecture ${info.architecture}: ${c.nLayers} layers, dim ${c.dim}, ffn ${c.ffnDim}, heads ${c.nHeads}/${c.nKvHeads} (head ${c.headDim}), vocab ${c.vocabSize}`,
    `rope         theta ${c.ropeTheta}, ${c.ropeDim} dims, ${c.ropeLayout}, scaling ${c.ropeScaling.type}${c.slidingWindow ? `, sliding window ${c.slidingWindow}` : ""}`,
    `parameters   ${(info.parameters / 1e6).toFixed(1)} M, weights in wasm ${mib(info.weightBytes)}, tied embeddings: ${c.tiedEmbeddings}`,
    `context      ${info.contextLength} (trained ${c.contextLength}), KV cache ${mib(info.kvBytesPerToken * info.contextLength)}`,
    `kernels      ${info.kernels.build}, threads ${info.threads.count} (${info.threads.reason})`,
    `chat         ${info.hasChatTemplate ? "template present" : "no template"}`,
    `wasm memory  ${mib(info.wasmMemoryBytes)}`,
  ];
  process.stdout.write(lines.join("\n") + "\n");
}
