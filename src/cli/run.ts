// dbllm run <model> -p "…": generate a continuation (or a chat reply with --chat) and stream it to stdout.
import { LOAD_OPTIONS, SAMPLING_OPTIONS, UsageError, generateOptions, loadOptions, parse, requireModel } from "./args.ts";
import { loadForCli } from "./load.ts";
import { formatStats } from "./stats.ts";

export const RUN_HELP = `dbllm run [model] -p "prompt" [options]
  -p, --prompt <text>       the prompt (or --file <path> to read it)
      --chat                wrap the prompt as a user message in the model's chat template
      --system <text>       system message (with --chat)
  -n, --max-tokens <n>      tokens to generate (default 256)
  -t, --temperature <x>     0 = greedy (default 0.7); --top-k, --top-p, --min-p, --seed,
                            --repeat-penalty, --presence-penalty, --frequency-penalty, --stop <s> (repeatable)
      --parse-special       let special-token texts in the prompt ("<|im_end|>") become control tokens
                            (default: the prompt is text; --chat still gets the template's own markers)
      --ctx <n>             context length (default: the model's, at most 4096)
      --threads <n>         threads (default: min(cores, CPU quota, 4); 1 for small models)
      --kernel auto|lut|lut-exact|popcount   kernel for 2-bit matrices (default auto = lut)
      --simd auto|simd|relaxed  kernel build (default auto)
  -q, --quiet               no progress bar or stats`;

export async function runCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, {
    ...LOAD_OPTIONS, ...SAMPLING_OPTIONS,
    prompt: { type: "string", short: "p" }, file: { type: "string" }, chat: { type: "boolean" }, system: { type: "string" },
  });
  const modelPath = requireModel(positionals, "run");
  let prompt = values.prompt;
  if (values.file) prompt = (await import("node:fs")).readFileSync(values.file, "utf8");
  if (prompt === undefined) throw new UsageError("dbllm run needs a prompt: -p \"…\" or --file <path>");
  const model = await loadForCli(modelPath, loadOptions(values), !!values.quiet);
  const opts = { maxTokens: 256, ...stripUndefined(generateOptions(values)) };
  const controller = new AbortController();
  process.once("SIGINT", () => controller.abort());
  const stream = values.chat
    ? model.chat([...(values.system ? [{ role: "system", content: values.system }] : []), { role: "user", content: prompt }], { ...opts, signal: controller.signal })
    : model.generate(prompt, { ...opts, signal: controller.signal });
  for await (const chunk of stream) if (chunk.text) process.stdout.write(chunk.text);
  process.stdout.write("\n");
  if (!values.quiet && stream.stats) process.stderr.write(formatStats(stream.stats) + "\n");
}

export function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
