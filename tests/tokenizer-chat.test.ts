// Chat templates: SmolLM2's (from its GGUF) and Llama-3's (from tokenizer_config.json) render conversations to
// the strings written out here by hand from the templates; globals like transformers' (raise_exception,
// strftime_now); every failure is a DbllmError CHAT_TEMPLATE.
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { llamaCppSource, smolLM2Path } from "../scripts/assets.ts";
import { DbllmError } from "../src/errors.ts";
import { renderChatTemplate, strftime, Tokenizer } from "../src/tokenizer/index.ts";
import { ggufTokenizer, hfTokenizer, lenmlFiles, llamaCppVocab } from "./helpers/corpus.ts";

const conversation = [
  { role: "user", content: "What is the capital of France?" },
  { role: "assistant", content: "Paris." },
];
const llamaCppTemplate = (name: string): string => readFileSync(path.join(llamaCppSource(), "models/templates", `${name}.jinja`), "utf8");

test("SmolLM2 (GGUF tokenizer.chat_template): a two-turn conversation", () => {
  const tok = ggufTokenizer(smolLM2Path());
  const system = "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n";
  const turns = "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\nParis.<|im_end|>\n";
  assert.is(tok.applyChatTemplate(conversation), `${system}${turns}<|im_start|>assistant\n`);
  assert.is(tok.applyChatTemplate(conversation, { addGenerationPrompt: false }), system + turns);
  // a system message replaces the default one
  const withSystem = [{ role: "system", content: "Answer in one word." }, ...conversation];
  assert.is(tok.applyChatTemplate(withSystem, { addGenerationPrompt: false }),
    `<|im_start|>system\nAnswer in one word.<|im_end|>\n${turns}`);
  // the rendered prompt tokenizes with the chat markers as single special tokens
  const ids = tok.encode(tok.applyChatTemplate(conversation), { addSpecialTokens: false, parseSpecialTokens: true });
  assert.is(ids.filter((id) => id === 1).length, 4, "four <|im_start|>");
  assert.is(ids.filter((id) => id === 2).length, 3, "three <|im_end|>");
  assert.is(tok.decode(ids), tok.applyChatTemplate(conversation));
});

test("Llama-3 (tokenizer_config.json chat_template): BOS from the config, content trimmed, assistant header", () => {
  const tok = hfTokenizer("llama3");
  const expected = "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nWhat is the capital of France?<|eot_id|>" +
    "<|start_header_id|>assistant<|end_header_id|>\n\nParis.<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n";
  assert.is(tok.applyChatTemplate(conversation), expected);
  assert.is(renderChatTemplate(lenmlFiles("llama3").config.chat_template as string,
    [{ role: "user", content: "  padded  " }], { bosToken: "<BOS>" }),
  "<BOS><|start_header_id|>user<|end_header_id|>\n\npadded<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
  const ids = tok.encode(expected, { addSpecialTokens: false, parseSpecialTokens: true });
  assert.equal(ids.slice(0, 2), [128000, 128006]);
  assert.is(ids.at(-1), 271, "\\n\\n after the last header");
});

test("Qwen3 template: namespaces, reversed loops and extra variables (enable_thinking)", () => {
  const tok = hfTokenizer("qwen3");
  const out = tok.applyChatTemplate(conversation);
  assert.ok(out.startsWith("<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"), out);
  assert.ok(out.endsWith("<|im_start|>assistant\n"), out);
  const noThinking = tok.applyChatTemplate(conversation, { extra: { enable_thinking: false } });
  assert.ok(noThinking.endsWith("<|im_start|>assistant\n<think>\n\n</think>\n\n"), noThinking);
});

test("strftime_now as transformers provides it (C locale), with an injectable clock", () => {
  const date = new Date(2024, 6, 26, 14, 5, 9);
  assert.is(strftime(date, "%d %b %Y"), "26 Jul 2024");
  assert.is(strftime(date, "%Y-%m-%d %H:%M:%S %A %B %j %I%p %%"), "2024-07-26 14:05:09 Friday July 208 02PM %");
  const out = renderChatTemplate(llamaCppTemplate("meta-llama-Llama-3.2-3B-Instruct"), conversation, { bosToken: "<|begin_of_text|>", now: date });
  assert.ok(out.includes("Today Date: 26 Jul 2024\n"), out);
  const mistral = renderChatTemplate(llamaCppTemplate("Mistral-Small-3.2-24B-Instruct-2506"), conversation, { bosToken: "<s>", now: date });
  assert.ok(mistral.includes("2024-07-26"), mistral);
});

function rejects(label: string, fn: () => unknown, pattern: RegExp): void {
  try {
    fn();
  } catch (e) {
    assert.instance(e, DbllmError, `${label}: ${String(e)}`);
    assert.is((e as DbllmError).code, "CHAT_TEMPLATE", `${label}: ${(e as Error).message}`);
    assert.match((e as Error).message, pattern);
    console.log(`  ok ${label} → CHAT_TEMPLATE: ${(e as Error).message}`);
    return;
  }
  assert.unreachable(`${label}: rendered`);
}

test("failures are DbllmError CHAT_TEMPLATE", () => {
  rejects("raise_exception", () => renderChatTemplate("{{ raise_exception('Roles must alternate user/assistant') }}", conversation), /Roles must alternate/);
  rejects("Gemma-2 refuses a system message",
    () => renderChatTemplate(llamaCppTemplate("google-gemma-2-2b-it"), [{ role: "system", content: "x" }, ...conversation], { bosToken: "<bos>" }),
    /System role not supported/);
  rejects("missing template", () => renderChatTemplate(undefined, conversation), /no chat template/);
  rejects("model without a template", () => ggufTokenizer(llamaCppVocab("gpt-2")).applyChatTemplate(conversation), /no chat template/);
  rejects("syntax error", () => renderChatTemplate("{% for m in messages %}{{ m.content }", conversation), /does not parse/);
  rejects("runtime error", () => renderChatTemplate("{{ messages[0].content.nope() }}", conversation), /failed/);
  assert.instance(ggufTokenizer(smolLM2Path()), Tokenizer);
});

test("a step, time and output budget: hostile templates fail fast, a 1,000-message conversation fits easily", () => {
  const hi = [{ role: "user", content: "hi" }];
  const timed = (label: string, template: string, pattern: RegExp, budget = {}) => {
    const t0 = performance.now();
    rejects(label, () => renderChatTemplate(template, hi, { budget }), pattern);
    const ms = performance.now() - t0;
    assert.ok(ms < 3000, `${label}: ${ms.toFixed(0)} ms`);
  };
  timed("range(10^8)", "{% for i in range(100000000) %}x{% endfor %}", /budget: more than 1000000 evaluation steps/);
  timed("nested loops", "{% for i in range(1000) %}{% for j in range(1000) %}{{ j }}{% endfor %}{% endfor %}", /budget: more than/);
  timed("nested loops under a 50 ms budget", "{% for i in range(1000) %}{% for j in range(1000) %}{{ j }}{% endfor %}{% endfor %}", /budget: more than 50 ms/, { steps: 1e9, ms: 50 });
  timed("string doubling", "{% set s = 'ab' %}{% for i in range(40) %}{% set s = s ~ s %}{% endfor %}{{ s }}", /budget: a string of more than/);
  timed("output over a small character budget", "{% for i in range(1000) %}xxxxxxxxxx{% endfor %}", /budget: a string of more than 5000 characters/, { chars: 5000 });
  const qwen3 = lenmlFiles("qwen3").config.chat_template as string;
  const long = Array.from({ length: 1000 }, (_, i) => ({ role: i % 2 ? "assistant" : "user", content: `message ${i}: ${"words ".repeat(30)}` }));
  const t0 = performance.now();
  const out = renderChatTemplate(qwen3, long);
  console.log(`  Qwen3 template, 1,000 messages: ${out.length} characters in ${(performance.now() - t0).toFixed(0)} ms`);
  assert.ok(out.includes("message 999"));
});

test.run();
