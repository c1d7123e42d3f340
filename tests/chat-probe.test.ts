// The chat probe (bench/chat-probe.ts, tests/fixtures/chat-probe.json): twelve short factual questions through the
// chat template, greedy. The float teacher answers every one of them (which checks the probe itself); the embedded
// default model must score at least the hits recorded for the model that shipped when the probe was last updated,
// so a new default model cannot quietly answer fewer.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { isHit, readProbe, runProbe, type ProbeResult } from "../bench/chat-probe.ts";
import { DEFAULT_MODEL_NAME } from "../src/cli/args.ts";
import { smolLM2Path } from "../scripts/assets.ts";

const MODEL = fileURLToPath(new URL(`../models/${DEFAULT_MODEL_NAME}`, import.meta.url));
const probe = readProbe();

function show(r: ProbeResult): void {
  for (const x of r.replies) console.log(`  ${x.hit ? "hit " : "miss"} ${JSON.stringify(x.q)} → ${JSON.stringify(x.reply.slice(0, 90))}`);
}

test("keywords match whole words only", () => {
  assert.ok(isHit("The capital of France is Paris.", ["Paris"]));
  assert.ok(isHit("It is 4.", ["4", "four"]));
  assert.not.ok(isHit("It is 14.", ["4"]));
  assert.not.ok(isHit("Parisian streets", ["Paris"]));
  assert.ok(isHit("carbon dioxide (CO2)", ["carbon dioxide"]));
});

test("the float teacher answers every probe question", async () => {
  const r = await runProbe(smolLM2Path(), probe);
  show(r);
  console.log(`  teacher (SmolLM2-135M-Instruct Q4_1): ${r.hits}/${r.total}`);
  assert.is(r.total, 12);
  assert.is(r.hits, r.total, "a probe question the teacher itself gets wrong measures nothing");
});

test("the embedded default model scores at least the recorded hits", async () => {
  const shipped = probe.shipped!;
  const sha = createHash("sha256").update(readFileSync(MODEL)).digest("hex");
  const r = await runProbe(MODEL, probe);
  show(r);
  console.log(`  ${DEFAULT_MODEL_NAME}: ${r.hits}/${r.total} (recorded for sha256 ${shipped.sha256.slice(0, 12)}…: ${shipped.hits})`);
  assert.ok(r.hits >= shipped.hits, `the default model answers ${r.hits} probe questions, fewer than the ${shipped.hits} recorded`);
  if (sha === shipped.sha256) assert.is(r.hits, shipped.hits, "the recorded model no longer scores what was recorded");
  else console.log(`  a new default model (sha256 ${sha.slice(0, 12)}…): record its score in tests/fixtures/chat-probe.json`);
});

test.run();
