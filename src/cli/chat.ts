// dbllm chat <model>: an interactive conversation in the terminal. The session keeps its KV cache between
// turns, so each turn only evaluates the new messages. Ctrl-C stops a reply; Ctrl-D or /exit quits.
import { createInterface } from "node:readline/promises";
import { DbllmError } from "../errors.ts";
import type { ChatMessage } from "../tokenizer/index.ts";
import { LOAD_OPTIONS, SAMPLING_OPTIONS, generateOptions, loadOptions, parse, requireModel } from "./args.ts";
import { loadForCli } from "./load.ts";
import { stripUndefined } from "./run.ts";
import { formatStats } from "./stats.ts";

export const CHAT_HELP = `dbllm chat [model] [--system <text>] [sampling options and --parse-special as for run]
  In the conversation: /reset starts over, /exit (or Ctrl-D) quits, Ctrl-C interrupts a reply.`;

export async function chatCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, { ...LOAD_OPTIONS, ...SAMPLING_OPTIONS, system: { type: "string" }, stats: { type: "boolean" } });
  const model = await loadForCli(requireModel(positionals, "chat"), loadOptions(values), !!values.quiet);
  const session = model.createSession({ onContextFull: "slide" });
  const opts = { maxTokens: 1024, ...stripUndefined(generateOptions(values)) };
  const system: ChatMessage[] = values.system ? [{ role: "system", content: values.system }] : [];
  let history: ChatMessage[] = [...system];
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: process.stdin.isTTY });
  let controller: AbortController | undefined;
  rl.on("SIGINT", () => { if (controller) controller.abort(); else rl.close(); });
  process.stdout.write("dbllm chat — /reset to start over, /exit to quit\n");
  for (;;) {
    let line: string;
    try { line = await rl.question("> "); } catch { break; }
    const text = line.trim();
    if (text === "/exit" || text === "/quit") break;
    if (text === "/reset") { history = [...system]; session.reset(); continue; }
    if (!text) continue;
    history.push({ role: "user", content: text });
    controller = new AbortController();
    const stream = session.chat(history, { ...opts, signal: controller.signal });
    let reply = "";
    try {
      for await (const chunk of stream) { reply += chunk.text; process.stdout.write(chunk.text); }
      process.stdout.write("\n");
      if (values.stats && stream.stats) process.stderr.write(formatStats(stream.stats) + "\n");
    } catch (e) {
      if (!(e instanceof DbllmError && e.code === "ABORTED")) throw e;
      process.stdout.write(" [interrupted]\n");
    }
    controller = undefined;
    history.push({ role: "assistant", content: reply });
  }
  rl.close();
}
