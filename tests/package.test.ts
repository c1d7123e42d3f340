// The package as users get it: node on the built ESM entry points (library and CLI) reproduces the source
// tree's exact greedy tokens, and `npm pack` ships what it should and nothing more.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { loadModel } from "../src/index.ts";
import { buildRandomModel } from "./helpers/random-model.ts";
import { workDir } from "./helpers/workdir.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dir = workDir("package");
const built = buildRandomModel(dir, { arch: "llama", dim: 64, nLayers: 2, nHeads: 4, nKvHeads: 2, ffnDim: 128, tied: true, merges: 200, seed: 51 });
const PROMPT = "Call me Ishmael. Some years ago";

test("the built ESM bundle (dist/node/index.js) gives the same greedy tokens as the sources, with 1 and 2 threads", async () => {
  assert.ok(existsSync(path.join(root, "dist/node/index.js")), "dist/ is missing: run npm run build");
  const src = await loadModel(built.gguf, { threads: 1 });
  const expected = (await src.generate(PROMPT, { temperature: 0, maxTokens: 12 }).done()).tokens;
  const script = path.join(dir, "use-dist.mjs");
  writeFileSync(script, `
    import { loadModel, DbllmError } from ${JSON.stringify(path.join(root, "dist/node/index.js"))};
    const out = {};
    for (const threads of [1, 2]) {
      const m = await loadModel(${JSON.stringify(built.gguf)}, { threads });
      out[threads] = { tokens: (await m.generate(${JSON.stringify(PROMPT)}, { temperature: 0, maxTokens: 12 }).done()).tokens, info: m.info().threads };
      m.dispose();
    }
    out.errorClass = new DbllmError("IO", "x").code;
    console.log(JSON.stringify(out));`);
  const r = spawnSync(process.execPath, [script], { encoding: "utf8" });
  assert.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out["1"].tokens, expected);
  assert.equal(out["2"].tokens, expected);
  assert.is(out["2"].info.count, 2, out["2"].info.reason);
  assert.is(out.errorClass, "IO");
  console.log(`  ${expected.length} greedy tokens identical from dist/ with 1 and 2 threads`);
});

test("the built CLI runs a model and reports usage errors with exit code 2", () => {
  const cli = path.join(root, "dist/node/cli.js");
  const run = spawnSync(process.execPath, [cli, "run", built.gguf, "-p", PROMPT, "-n", "8", "-t", "0", "-q"], { encoding: "utf8" });
  assert.is(run.status, 0, run.stderr);
  assert.ok(run.stdout.length > 0);
  const usage = spawnSync(process.execPath, [cli, "run", built.gguf], { encoding: "utf8" });
  assert.is(usage.status, 2);
  assert.match(usage.stderr, /needs a prompt/);
  const bad = spawnSync(process.execPath, [cli, "info", path.join(dir, "missing.gguf")], { encoding: "utf8" });
  assert.is(bad.status, 1);
  assert.match(bad.stderr, /NOT_FOUND/);
});

test("npm pack ships dist/, types, README, the default model and no tests or large fixtures", () => {
  const json = execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  const files = (JSON.parse(json)[0].files as { path: string; size: number }[]);
  const names = files.map((f) => f.path);
  for (const must of ["dist/node/index.js", "dist/node/cli.js", "dist/node/pool-worker.js", "dist/browser/index.js", "dist/browser/model-worker.js", "dist/browser/pool-worker.js", "dist/workerd/index.js", "dist/edge-light/index.js", "dist/wasm/dbllm.simd.wasm", "dist/wasm/dbllm.relaxed.wasm", "dist/types/index.d.ts", "README.md", "package.json"]) {
    assert.ok(names.includes(must), `missing ${must}`);
  }
  const forbidden = names.filter((n) => /^(tests|bench|python|scripts|assembly|src|\.cache)\//.test(n) || /\.test\.ts$/.test(n));
  assert.equal(forbidden, [], `unexpected files: ${forbidden.join(", ")}`);
  const model = files.find((f) => f.path === "models/smollm2-135m-instruct-fdb.dbllm");
  assert.ok(model, "the embedded default model is not in the package");
  assert.ok(model.size <= 64 << 20, `the default model is ${model.size} bytes, over 64 MiB`);
  assert.ok(names.includes("models/NOTICE.md"), "the default model's notice is not in the package");
  const big = files.filter((f) => f.size > 8 << 20 && f !== model);
  assert.equal(big.map((f) => f.path), [], "files over 8 MB that are not the default model");
  console.log(`  ${files.length} files, largest ${Math.max(...files.map((f) => f.size))} bytes`);
});

test.run();
