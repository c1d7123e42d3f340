// The `dbllm` command line.
import { DbllmError } from "../errors.ts";
import { DEFAULT_MODEL_NAME, UsageError } from "./args.ts";
import { CHAT_HELP, chatCommand } from "./chat.ts";
import { DISTILL_HELP, distillCommand } from "./distill.ts";
import { INFO_HELP, infoCommand } from "./info.ts";
import { PPL_HELP, pplCommand } from "./ppl.ts";
import { QUANTIZE_HELP, quantizeCommand } from "./quantize.ts";
import { SERVE_HELP, serveCommand } from "./serve.ts";
import { RUN_HELP, runCommand } from "./run.ts";

const COMMANDS: Record<string, { run: (argv: string[]) => Promise<void>; help: string; summary: string }> = {
  run: { run: runCommand, help: RUN_HELP, summary: "generate text from a prompt (streams to stdout)" },
  chat: { run: chatCommand, help: CHAT_HELP, summary: "interactive chat with the model's template" },
  info: { run: infoCommand, help: INFO_HELP, summary: "describe a model" },
  ppl: { run: pplCommand, help: PPL_HELP, summary: "perplexity of a text file" },
  quantize: { run: quantizeCommand, help: QUANTIZE_HELP, summary: "convert a model to a 2-bit .dbllm file (FDB)" },
  serve: { run: serveCommand, help: SERVE_HELP, summary: "OpenAI-compatible HTTP server (docs/SERVER.md)" },
  distill: { run: distillCommand, help: DISTILL_HELP, summary: "distill a 2-bit FDB student with DAD (PyTorch, docs/DISTILL.md)" },
};

function usage(): string {
  return ["usage: dbllm <command> [options]", "", ...Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(8)} ${c.summary}`), "", "[model]: a .gguf or .dbllm file or a Hugging Face directory; without one, run, chat, info, ppl and serve use", `the embedded default model (models/${DEFAULT_MODEL_NAME}).`, "dbllm <command> --help for details"].join("\n");
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h") { process.stdout.write(usage() + "\n"); return name ? 0 : 2; }
  if (name === "--version") { process.stdout.write("dbllm 0.1.0\n"); return 0; }
  const cmd = COMMANDS[name];
  if (!cmd) { process.stderr.write(`dbllm: unknown command "${name}"\n\n${usage()}\n`); return 2; }
  if (rest.includes("--help") || rest.includes("-h")) { process.stdout.write(cmd.help + "\n"); return 0; }
  try {
    await cmd.run(rest);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) { process.stderr.write(`dbllm ${name}: ${e.message}\n\n${cmd.help}\n`); return 2; }
    if (e instanceof DbllmError) {
      if (e.code === "ABORTED") { process.stderr.write("\n[interrupted]\n"); return 130; }
      process.stderr.write(`dbllm ${name}: error [${e.code}]: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
