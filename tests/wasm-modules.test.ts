// Precompiled kernels (loadModel's `wasmModules`, the files in dist/wasm/, the "workerd" / "edge-light" entries):
// the best build given is used and computes what the inlined kernels compute; a module given under the wrong
// name, or something that is not a module, is refused with a clear error; a handler whose runtime cannot run
// the kernels answers 503 without loading again; the package exports what the edge bundlers look for; and the
// docs show the example files the runtime tests run. The runtimes themselves: tests/runtime-*.test.ts.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { DbllmError, createHandler, loadModel } from "../src/index.ts";
import { loadKernels } from "../src/engine/engine.ts";
import { KERNEL_BUILDS } from "../src/engine/features.ts";
import { buildRandomModel } from "./helpers/random-model.ts";
import { workDir } from "./helpers/workdir.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dir = workDir("wasm-modules");
const built = buildRandomModel(dir, { arch: "llama", dim: 64, nLayers: 2, nHeads: 4, nKvHeads: 2, ffnDim: 128, tied: true, merges: 200, seed: 7 });
const bytes = new Uint8Array(readFileSync(built.gguf));
const compiled = (build: string) => new WebAssembly.Module(readFileSync(path.join(root, `dist/wasm/dbllm.${build}.wasm`)));
const simd = compiled("simd");
const simdThreads = compiled("simd-threads");
const PROMPT = "Call me Ishmael.";

async function rejects(p: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  assert.instance(e, DbllmError, `expected ${code}, got ${String(e)}`);
  assert.is((e as DbllmError).code, code);
  assert.match((e as DbllmError).message, message);
}

test("dist/wasm holds every kernel build, byte for byte the ones the bundles inline", () => {
  for (const build of KERNEL_BUILDS) {
    assert.ok(readFileSync(path.join(root, `dist/wasm/dbllm.${build}.wasm`)).equals(readFileSync(path.join(root, `build/dbllm.${build}.wasm`))), build);
  }
});

test("wasmModules: the precompiled simd build gives the inlined kernels' greedy tokens", async () => {
  const ref = await loadModel(bytes, { threads: 1, simd: "simd" });
  const want = (await ref.generate(PROMPT, { temperature: 0, maxTokens: 12 }).done()).tokens;
  const m = await loadModel(bytes, { threads: 1, wasmModules: { simd } });
  assert.is(m.info().kernels.build, "simd");
  assert.equal((await m.generate(PROMPT, { temperature: 0, maxTokens: 12 }).done()).tokens, want);
  const t = await loadModel(bytes, { threads: 2, wasmModules: { simd, "simd-threads": simdThreads } });
  assert.is(t.info().kernels.build, "simd-threads");
  assert.is(t.info().threads.count, 2);
  assert.equal((await t.generate(PROMPT, { temperature: 0, maxTokens: 12 }).done()).tokens, want);
  const one = await loadModel(bytes, { threads: 2, wasmModules: { simd } });
  assert.equal(one.info().threads, { count: 1, reason: "wasmModules has no threads build", splitting: "none", jobs: { split: 0, alone: 0 } });
  for (const model of [ref, m, t, one]) model.dispose();
});

test("wasmModules: the best build given wins (relaxed over simd, threads when they can run)", async () => {
  // loadKernels only picks; the module objects stand in for builds this Node may not compile (relaxed needs a flag)
  const all = { simd, relaxed: simd, "simd-threads": simdThreads, "relaxed-threads": simdThreads };
  assert.is((await loadKernels({ modules: all })).build, "relaxed");
  assert.is((await loadKernels({ modules: all, shared: true })).build, "relaxed-threads");
  assert.is((await loadKernels({ modules: all, simd: "simd" })).build, "simd");
  assert.is((await loadKernels({ modules: { simd }, shared: false })).build, "simd");
  assert.is((await loadKernels({ modules: { relaxed: simd } })).build, "relaxed");
  await rejects(loadKernels({ modules: { simd }, simd: "relaxed" }), "INVALID_ARGUMENT", /no relaxed build.*given: simd/);
  await rejects(loadKernels({ modules: { "simd-threads": simdThreads } }), "INVALID_ARGUMENT", /no relaxed or simd build/);
});

test("wasmModules: wrong names, wrong builds and non-modules are refused", async () => {
  await rejects(loadModel(bytes, { threads: 1, wasmModules: { simd: readFileSync(path.join(root, "dist/wasm/dbllm.simd.wasm")) as unknown as WebAssembly.Module } }), "INVALID_ARGUMENT", /wasmModules\.simd must be a WebAssembly\.Module/);
  await rejects(loadModel(bytes, { threads: 1, wasmModules: { fast: simd } as never }), "INVALID_ARGUMENT", /wasmModules\.fast is not a kernel build; the builds are simd, relaxed, simd-threads, relaxed-threads/);
  await rejects(loadModel(bytes, { threads: 1, wasmModules: "simd" as never }), "INVALID_ARGUMENT", /must be an object/);
  // a threads build under "simd": it imports a shared memory
  await rejects(loadModel(bytes, { threads: 1, wasmModules: { simd: simdThreads } }), "INVALID_ARGUMENT", /not dbllm's simd build/);
  // the simd build under "relaxed"
  await rejects(loadModel(bytes, { threads: 1, wasmModules: { relaxed: simd } }), "INVALID_ARGUMENT", /not dbllm's relaxed build \(its relaxed_simd\(\) is 0\)/);
  // some other module
  const empty = new WebAssembly.Module(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
  await rejects(loadModel(bytes, { threads: 1, wasmModules: { simd: empty } }), "INVALID_ARGUMENT", /does not export dbllm's kernels/);
});

test("createHandler: a runtime that cannot run the kernels gets 503 unsupported_environment on every request, loading once", async () => {
  let loads = 0;
  const handler = createHandler(async () => {
    loads++;
    throw new DbllmError("UNSUPPORTED_ENVIRONMENT", "this runtime does not compile WebAssembly from bytes (…); pass wasmModules");
  });
  for (let i = 0; i < 3; i++) {
    const r = await handler(new Request("http://edge/v1/chat/completions", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ messages: [{ role: "user", content: "hi" }] }) }));
    assert.is(r.status, 503);
    assert.equal(((await r.json()) as { error: unknown }).error, { message: "this runtime does not compile WebAssembly from bytes (…); pass wasmModules", type: "server_error", param: null, code: "unsupported_environment" });
  }
  assert.is(loads, 1);
  await handler.close();
});

test("package exports: workerd, edge-light and deno entries before node; the edge entries import the kernel files", () => {
  const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as { exports: Record<string, Record<string, string> | string> };
  const main = pkg.exports["."] as Record<string, string>;
  const order = Object.keys(main);
  for (const condition of ["workerd", "edge-light", "deno"]) assert.ok(order.indexOf(condition) >= 0 && order.indexOf(condition) < order.indexOf("node"), `${condition} must come before node: ${order.join(", ")}`);
  assert.is(main.deno, main.browser, "Deno gets the bundle without Node built-ins");
  assert.is(pkg.exports["./wasm/*"], "./dist/wasm/*");
  const simdBase64 = readFileSync(path.join(root, "dist/wasm/dbllm.simd.wasm")).toString("base64").slice(0, 64);
  for (const [condition, suffix] of [["workerd", ""], ["edge-light", "?module"]]) {
    const code = readFileSync(path.join(root, main[condition]), "utf8");
    for (const build of ["simd", "relaxed"]) assert.ok(code.includes(`from "../wasm/dbllm.${build}.wasm${suffix}"`), `${condition} entry imports the ${build} build`);
    assert.not.ok(code.includes(simdBase64), `${condition} entry inlines the kernels`);
  }
  assert.ok(readFileSync(path.join(root, main.browser), "utf8").includes(simdBase64), "the browser bundle inlines the kernels");
});

test("the README's edge example and docs/SERVER.md's platform files are the files the runtime tests run", () => {
  const readme = readFileSync(path.join(root, "README.md"), "utf8");
  const server = readFileSync(path.join(root, "docs/SERVER.md"), "utf8");
  const file = (name: string) => readFileSync(path.join(root, "examples/edge", name), "utf8").trimEnd();
  assert.ok(readme.includes("```js\n" + file("cloudflare/worker.js") + "\n```"), "README.md does not show examples/edge/cloudflare/worker.js verbatim");
  for (const name of ["cloudflare/worker.js", "cloudflare/wrangler.toml", "vercel/app/api/v1/[...path]/route.js", "deno/main.js", "bun/server.js"]) {
    assert.ok(server.includes(file(name) + "\n```"), `docs/SERVER.md does not show examples/edge/${name} verbatim`);
  }
});

test.run();
