// dbllm ppl <model> --file text.txt [--ctx N] [--json]: perplexity of a text (see src/eval/perplexity.ts for
// the exact windowing).
import { readFile } from "node:fs/promises";
import { DbllmError } from "../errors.ts";
import { perplexity } from "../eval/perplexity.ts";
import { LOAD_OPTIONS, UsageError, loadOptions, parse, requireModel } from "./args.ts";
import { loadForCli } from "./load.ts";

export const PPL_HELP = `dbllm ppl [model] --file <text.txt> [--ctx N] [--max-tokens N] [--json]
  Non-overlapping windows of N tokens (default 512), each from an empty context; every token of a window but
  its first is scored; no BOS is inserted. Prints exp(mean negative log-likelihood).`;

export async function pplCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, { ...LOAD_OPTIONS, file: { type: "string" }, json: { type: "boolean" }, "max-tokens": { type: "string" } });
  if (!values.file) throw new UsageError("dbllm ppl needs --file <text.txt>");
  const ctx = values.ctx === undefined ? 512 : Number(values.ctx);
  if (!Number.isInteger(ctx) || ctx < 2) throw new UsageError(`--ctx must be an integer ≥ 2`);
  const bytes = await readFile(values.file).catch((e) => { throw new DbllmError("NOT_FOUND", `cannot read ${values.file}: ${(e as Error).message}`); });
  let text: string;
  try { text = new TextDecoder("utf-8", { fatal: true }).decode(bytes); } catch {
    throw new DbllmError("INVALID_TEXT", `${values.file} is not valid UTF-8`);
  }
  const quiet = !!values.quiet || !!values.json;
  const model = await loadForCli(requireModel(positionals, "ppl"), { ...loadOptions(values), contextLength: ctx }, quiet);
  let ids = model.tokenizer.encode(text, { addSpecialTokens: false });
  if (values["max-tokens"] !== undefined) ids = ids.slice(0, Number(values["max-tokens"]));
  const t0 = Date.now();
  const r = await perplexity(model.createSession({ contextLength: ctx }), ids, model.config.vocabSize, {
    ctx,
    onProgress: quiet ? undefined : (p) => process.stderr.write(`\rwindow ${p.window}/${p.windows}, ${p.tokens} tokens scored`),
  });
  const seconds = (Date.now() - t0) / 1000;
  if (values.json) process.stdout.write(JSON.stringify({ ...r, file: values.file, model: positionals[0], seconds }) + "\n");
  else {
    if (!quiet) process.stderr.write("\n");
    process.stdout.write(`perplexity ${r.perplexity.toFixed(4)} over ${r.scoredTokens} tokens (${r.windows} windows of ${r.ctx}, ${seconds.toFixed(1)} s)\n`);
  }
}
