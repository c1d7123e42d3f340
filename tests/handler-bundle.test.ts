// The OpenAI handler must run where there is no Node: its import graph (with the runtime it needs to load a
// model) bundles with esbuild for a neutral platform while every Node built-in is an error; `#platform`
// resolves to the web implementation. The bundle is then imported and serves a request from model bytes.
import { readFileSync, writeFileSync } from "node:fs";
import { builtinModules } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as esbuild from "esbuild";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { buildRandomModel } from "./helpers/random-model.ts";
import { workDir } from "./helpers/workdir.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dir = workDir("handler-bundle");

const builtins = new Set(builtinModules.flatMap((m) => [m, m.split("/")[0]]));
const forbidNode: esbuild.Plugin = {
  name: "forbid-node-builtins",
  setup(build) {
    build.onResolve({ filter: /.*/ }, (args) => {
      const p = args.path;
      if (p.startsWith("node:") || builtins.has(p) || builtins.has(p.split("/")[0])) {
        return { errors: [{ text: `Node built-in "${p}" imported by ${path.relative(root, args.importer)}` }] };
      }
      return undefined;
    });
  },
};

function bundle(contents: string) {
  return esbuild.build({
    stdin: { contents, resolveDir: root, loader: "ts", sourcefile: "edge-entry.ts" },
    bundle: true,
    write: false,
    format: "esm",
    platform: "neutral",
    // package.json "imports": #platform → node | default; without the node condition the web platform wins
    conditions: ["browser", "worker"],
    mainFields: ["browser", "module", "main"],
    target: "es2022",
    plugins: [forbidNode],
    metafile: true,
    logLevel: "silent",
  });
}

const ENTRY = `export { createHandler } from "./src/server/index.ts";\nexport { loadModel } from "./src/index.ts";\n`;

test("the handler + runtime bundle for a neutral platform with every Node built-in forbidden", async () => {
  const result = await bundle(ENTRY);
  const inputs = Object.keys(result.metafile.inputs);
  assert.ok(inputs.includes("src/server/handler.ts"), "the handler is in the bundle");
  assert.ok(inputs.includes("src/platform/web.ts"), "#platform resolved to the web implementation");
  assert.not.ok(inputs.some((p) => p.endsWith("platform/node.ts") || p.endsWith("server/node-http.ts")), "Node-only modules were bundled");
  const out = path.join(dir, "edge.mjs");
  writeFileSync(out, result.outputFiles[0].contents);
  console.log(`  bundle: ${(result.outputFiles[0].contents.byteLength / 1024).toFixed(0)} KiB from ${inputs.length} inputs`);
});

test("control: the Node adapter does not bundle under the same rules", async () => {
  const failed = await bundle(`export * from "./src/server/node-http.ts";\n`).then(() => false, (e: esbuild.BuildFailure) => e.errors.some((x) => /node:http|Node built-in/.test(x.text)));
  assert.ok(failed, "the forbid-node plugin did not catch node:http");
});

test("the bundle serves a chat completion from model bytes (web platform, one thread)", async () => {
  const built = buildRandomModel(dir, { arch: "llama", dim: 64, nLayers: 2, nHeads: 4, nKvHeads: 2, ffnDim: 128, tied: true, merges: 200, seed: 3 });
  const edge = (await import(pathToFileURL(path.join(dir, "edge.mjs")).href)) as typeof import("../src/server/index.ts") & typeof import("../src/index.ts");
  const bytes = new Uint8Array(readFileSync(built.gguf));
  const handler = edge.createHandler(() => edge.loadModel(bytes), { modelId: "edge-toy" });
  const models = await handler(new Request("https://edge.example/v1/models"));
  assert.is(models.status, 200);
  assert.equal(((await models.json()) as { data: { id: string }[] }).data.map((m) => m.id), ["edge-toy"]);
  const res = await handler(new Request("https://edge.example/v1/chat/completions", {
    method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ messages: [{ role: "user", content: "hi" }], max_tokens: 5, temperature: 0, stream: true }),
  }));
  assert.is(res.status, 200);
  const text = await res.text();
  assert.ok(text.trimEnd().endsWith("data: [DONE]"), text);
  assert.is(text.match(/"finish_reason":"length"/g)?.length, 1);
  await handler.close();
});

test.run();
