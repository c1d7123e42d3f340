// Vercel Edge / a Next.js edge route, in Vercel's edge-runtime (npm) with WebAssembly code generation off, as
// Vercel runs edge functions. examples/edge/vercel/app/api/v1/[...path]/route.js is bundled as Next.js bundles
// edge routes: the "edge-light" condition, and each `.wasm?module` import turned into a WebAssembly.Module that
// the host compiles and hands to the sandbox (tests/helpers/edge-light-server.mjs). The route then answers the
// openai client with the model from a static server on 127.0.0.1. The same route bundled without "edge-light"
// (kernels inlined as bytes) must get a 503 that names the fix, on every request, and never download the model.
import { writeFileSync } from "node:fs";
import path from "node:path";
import * as esbuild from "esbuild";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { checkOpenAI, example, heapCapMiB, MODEL, packageVersion, processMemory, report, root, startServer, userProject } from "./helpers/runtime-harness.ts";
import { startStaticServer } from "./helpers/static-server.ts";
import { workDir } from "./helpers/workdir.ts";

const ROUTE = "app/api/v1/[...path]/route.js";
const dir = userProject(workDir("runtime-vercel-edge"), { [ROUTE]: example(`vercel/${ROUTE}`) });

/**
 * Bundles the route as Next.js does for the edge runtime (one script; the route's handlers called per request)
 * with the given export conditions; returns the bundle's path and its wasm bindings (global name → file).
 */
async function bundleRoute(name: string, conditions: string[]): Promise<{ bundle: string; bindings: string }> {
  const bindings: Record<string, string> = {};
  const wasmBindings: esbuild.Plugin = {
    name: "wasm-bindings",
    setup(build) {
      build.onResolve({ filter: /\.wasm\?module$/ }, (args) => ({ path: path.resolve(args.resolveDir, args.path.replace(/\?module$/, "")), namespace: "wasm-binding" }));
      build.onLoad({ filter: /.*/, namespace: "wasm-binding" }, (args) => {
        const global = `wasm_${Object.keys(bindings).length}`;
        bindings[global] = args.path;
        return { contents: `export default globalThis[${JSON.stringify(global)}];`, loader: "js" };
      });
    },
  };
  const entry = `import * as route from ${JSON.stringify(`./${ROUTE}`)};\naddEventListener("fetch", (event) => event.respondWith(route[event.request.method](event.request)));\n`;
  const bundle = path.join(dir, `${name}.js`);
  await esbuild.build({ stdin: { contents: entry, resolveDir: dir, loader: "js" }, bundle: true, format: "iife", platform: "browser", conditions, target: "es2022", outfile: bundle, plugins: [wasmBindings], logLevel: "warning" });
  writeFileSync(path.join(dir, `${name}.bindings.json`), JSON.stringify(bindings));
  return { bundle, bindings: path.join(dir, `${name}.bindings.json`) };
}

/**
 * The V8 heap cap: 128 MiB less the model's wasm memory (28 MiB). This heap also holds Node and edge-runtime
 * (8.9 MiB in use with the route loaded and no model, against 2.6 MiB for bare Node), so it is capped with the
 * looser reading of 128 MB; workerd's isolate gets the stricter one (tests/runtime-workerd.test.ts).
 */
const HEAP_CAP_MIB = heapCapMiB(128 * 2 ** 20);

/** edge-runtime with wasm code generation off. Vercel's V8 has relaxed SIMD, which Node 20 keeps behind a flag. */
const serve = (b: { bundle: string; bindings: string }, modelUrl: string) =>
  startServer(process.execPath, [`--max-heap-size=${HEAP_CAP_MIB}`, "--experimental-wasm-relaxed-simd", path.join(root, "tests/helpers/edge-light-server.mjs"), b.bundle, b.bindings, `MODEL_URL=${modelUrl}`], {
    cwd: dir, printsUrl: /listening on (http:\/\/127\.0\.0\.1:\d+)/,
  });

test("edge-runtime, wasm code generation off: the route bundled with \"edge-light\" answers the openai client; without it, 503", async () => {
  const models = await startStaticServer({ isolated: false, mounts: { "/model.dbllm": MODEL, "/refused.dbllm": MODEL } });
  try {
    const inlined = await bundleRoute("refused", ["worker"]);
    const refusing = await serve(inlined, `${models.url}/refused.dbllm`);
    try {
      for (let i = 0; i < 2; i++) {
        const r = await fetch(`${refusing.url}/api/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ messages: [{ role: "user", content: "hi" }] }) });
        const body = (await r.json()) as { error: { code: string; message: string } };
        assert.is(r.status, 503);
        assert.is(body.error.code, "unsupported_environment");
        assert.match(body.error.message, /code generation disallowed by embedder/);
        assert.match(body.error.message, /wasmModules: \{ simd, relaxed \}/);
      }
      assert.equal(models.requests, [], "the refusing route downloaded the model");
    } finally {
      await refusing.stop();
    }

    const edge = await bundleRoute("edge", ["edge-light", "worker"]);
    const server = await serve(edge, `${models.url}/model.dbllm`);
    try {
      const idle = processMemory(server.pid).rss;
      const m = await checkOpenAI(`${server.url}/api/v1`, `${server.url}/api/v1/health`);
      assert.is(m.threads, 1);
      report(`edge-runtime ${packageVersion("edge-runtime")} on Node ${process.versions.node} (heap ≤ ${HEAP_CAP_MIB} MiB)`, m, { idle, peak: processMemory(server.pid).peak });
    } finally {
      await server.stop();
    }
  } finally {
    await models.close();
  }
});

test.run();
