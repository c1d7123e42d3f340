// The chat probe: short factual questions asked through the model's chat template with greedy decoding; a reply is
// a hit when it contains one of the expected keywords (tests/fixtures/chat-probe.json).
//   node --import tsx bench/chat-probe.ts [model ...]      (default: the embedded model)
// Prints one JSON line per model: hits, total, and every question with its reply.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { loadModel } from "../src/index.ts";

export interface ProbePrompt { q: string; any: string[] }
export interface Probe { maxTokens: number; prompts: ProbePrompt[]; shipped?: { model: string; sha256: string; hits: number } }
export interface ProbeResult { model: string; hits: number; total: number; replies: { q: string; reply: string; hit: boolean }[] }

export const PROBE_FILE = fileURLToPath(new URL("../tests/fixtures/chat-probe.json", import.meta.url));

export function readProbe(): Probe {
  return JSON.parse(readFileSync(PROBE_FILE, "utf8")) as Probe;
}

/** Whether `reply` names one of `keywords` as a whole word (case-insensitive). */
export function isHit(reply: string, keywords: readonly string[]): boolean {
  return keywords.some((k) => new RegExp(`(^|[^\\p{L}\\p{N}])${k.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}($|[^\\p{L}\\p{N}])`, "iu").test(reply));
}

export async function runProbe(modelPath: string, probe: Probe = readProbe()): Promise<ProbeResult> {
  const model = await loadModel(modelPath, { threads: 1 });
  try {
    const replies = [];
    for (const p of probe.prompts) {
      const reply = await model.chat([{ role: "user", content: p.q }], { temperature: 0, maxTokens: probe.maxTokens }).text();
      replies.push({ q: p.q, reply, hit: isHit(reply, p.any) });
    }
    return { model: modelPath, hits: replies.filter((r) => r.hit).length, total: replies.length, replies };
  } finally {
    model.dispose();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const models = process.argv.slice(2);
  if (models.length === 0) models.push(fileURLToPath(new URL("../models/smollm2-135m-instruct-fdb.dbllm", import.meta.url)));
  for (const m of models) process.stdout.write(JSON.stringify(await runProbe(m)) + "\n");
}
