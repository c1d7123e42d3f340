// The model configuration as both readers see it: tests/fixtures/config-parity.json (HF config.json files and GGUF
// metadata — rope scaling none / linear / llama3 / rope_freqs factors, partial rotary, sliding windows, refusals —
// with the ModelConfig, rotary frequencies or refusal code src/config/ gives, and the constants both sides share)
// must be what the TypeScript computes today; python/tests/test_config_parity.py holds the trainer to the same file.
import { readFileSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { CONFIG_FIXTURE, ggufOutcome, hfOutcome, makeConfigVector } from "../scripts/make-config-vector.ts";
import { MAX_HEADER } from "../src/formats/safetensors.ts";

const onDisk = JSON.parse(readFileSync(CONFIG_FIXTURE, "utf8")) as ReturnType<typeof makeConfigVector>;

test("every case of the fixture is what src/config/ reads today", () => {
  for (const c of onDisk.hf) assert.equal(hfOutcome(c.config), c.expect, `HF: ${c.name}`);
  for (const c of onDisk.gguf) assert.equal(ggufOutcome(c.metadata, c.tensors, c.freqFactors), c.expect, `GGUF: ${c.name}`);
  const all = [...onDisk.hf, ...onDisk.gguf];
  console.log(`  ${onDisk.hf.length} HF and ${onDisk.gguf.length} GGUF cases, ${all.filter((c) => "error" in c.expect).length} of them refusals`);
});

test("the fixture is current: regenerating it gives the same file", () => {
  const fresh = JSON.stringify(makeConfigVector(), null, 1);
  assert.ok(JSON.stringify(onDisk, null, 1) === fresh, "tests/fixtures/config-parity.json is stale: run node --import tsx scripts/make-config-vector.ts (and the pytest suite)");
});

test("shared constants", () => {
  assert.is(onDisk.constants.safetensorsMaxHeader, MAX_HEADER);
});

test.run();
