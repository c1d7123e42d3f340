// Cloudflare Workers, in Cloudflare's own runtime: wrangler (npm) bundles examples/edge/cloudflare/worker.js
// with its wrangler.toml as for a deploy, in a project that has dbllm installed; `import "dbllm"` takes the
// "workerd" condition, whose kernels wrangler uploads as wasm modules. workerd (npm) then serves that bundle with
// the model from a static server on 127.0.0.1, its JavaScript heap capped at what a 128 MB isolate leaves beside
// the wasm memory; miniflare serves it with the model in an R2 bucket. A bundle made without the "workerd"
// condition must be refused with a 503 that says what to do, once, without downloading the model.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import * as esbuild from "esbuild";
import { Miniflare } from "miniflare";
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  checkOpenAI, childProcess, example, freePort, heapCapMiB, ISOLATE_BYTES, MODEL, packageVersion, processMemory, report, root, runtimeBinary, startServer, userProject, versionOf,
  type ServerProcess,
} from "./helpers/runtime-harness.ts";
import { startStaticServer, type StaticServer } from "./helpers/static-server.ts";
import { workDir } from "./helpers/workdir.ts";

const dir = userProject(workDir("runtime-workerd"), { "worker.js": example("cloudflare/worker.js"), "wrangler.toml": example("cloudflare/wrangler.toml") });
/** What a 128 MB isolate leaves the JavaScript heap beside the model's wasm memory (22 MiB). */
const HEAP_CAP_MIB = heapCapMiB(ISOLATE_BYTES);
const COMPATIBILITY_DATE = /compatibility_date = "([\d-]+)"/.exec(example("cloudflare/wrangler.toml"))![1];

let models: StaticServer;
let workerd: ServerProcess | undefined;
const ports = { main: 0, refusal: 0 };

test.before(async () => {
  models = await startStaticServer({ isolated: false, mounts: { "/model.dbllm": MODEL, "/refused.dbllm": MODEL } });
});

test.after(async () => {
  await workerd?.stop();
  await models.close();
});

test("wrangler bundles the worker as for a deploy: the kernels are wasm modules beside it, none inlined", () => {
  const wrangler = path.join(root, "node_modules/wrangler/bin/wrangler.js");
  const r = spawnSync(process.execPath, [wrangler, "deploy", "--dry-run", "--outdir", "out"], {
    cwd: dir, encoding: "utf8",
    env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false", XDG_CONFIG_HOME: path.join(dir, ".config"), NO_COLOR: "1" },
  });
  assert.is(r.status, 0, r.stdout + r.stderr);
  const files = readdirSync(path.join(dir, "out"));
  assert.equal(files.filter((f) => f.endsWith(".wasm")).map((f) => f.replace(/^\w+-/, "")).sort(), ["dbllm.relaxed.wasm", "dbllm.simd.wasm"]);
  const code = readFileSync(path.join(dir, "out/worker.js"), "utf8");
  const simdBase64 = readFileSync(path.join(root, "dist/wasm/dbllm.simd.wasm")).toString("base64").slice(0, 64);
  assert.not.ok(code.includes(simdBase64), "the kernels are inlined in the worker");
  console.log(`  wrangler ${packageVersion("wrangler")}: ${/Total Upload: .*/.exec(r.stdout.replace(/\x1b\[[0-9;]*m/g, ""))?.[0] ?? r.stdout}`);
});

test(`workerd: the wrangler bundle answers the openai client with the JS heap capped at ${HEAP_CAP_MIB} MiB; a bundle without the "workerd" condition gets a 503`, async () => {
  // what a bundler without the "workerd" condition makes of the same worker: the kernels inlined as bytes
  const refused = await esbuild.build({ entryPoints: [path.join(dir, "worker.js")], bundle: true, format: "esm", platform: "browser", conditions: ["worker"], write: false, logLevel: "silent" });
  writeFileSync(path.join(dir, "refused.js"), refused.outputFiles[0].contents);
  ports.main = await freePort();
  ports.refusal = await freePort();
  writeFileSync(path.join(dir, "config.capnp"), workerdConfig(readdirSync(path.join(dir, "out")).filter((f) => f.endsWith(".wasm")), models.url));
  const bin = runtimeBinary("workerd");
  workerd = await startServer(bin, ["serve", "config.capnp"], { cwd: dir, base: `http://127.0.0.1:${ports.main}` });

  const refusal = `http://127.0.0.1:${ports.refusal}/v1/chat/completions`;
  for (let i = 0; i < 2; i++) {
    const r = await fetch(refusal, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ messages: [{ role: "user", content: "hi" }] }) });
    const body = (await r.json()) as { error: { code: string; message: string; type: string } };
    assert.is(r.status, 503);
    assert.is(body.error.code, "unsupported_environment");
    assert.match(body.error.message, /code generation disallowed/);
    assert.match(body.error.message, /wasmModules/);
    assert.match(body.error.message, /dbllm\.simd\.wasm and dbllm\/wasm\/dbllm\.relaxed\.wasm/);
  }
  assert.equal(models.requests.filter((q) => q.path.startsWith("/refused")), [], "the refusing worker downloaded the model");

  const idle = processMemory(workerd.pid).rss;
  const m = await checkOpenAI(`${workerd.url}/v1`, `${workerd.url}/health`);
  assert.is(m.threads, 1);
  report(`workerd ${versionOf(bin).replace("workerd ", "")} (JS heap ≤ ${HEAP_CAP_MIB} MiB)`, m, { idle, peak: processMemory(workerd.pid).peak });
  assert.is(models.requests.filter((q) => q.path === "/model.dbllm").length, 1, "the model was downloaded once");
  assert.not.match(workerd.output(), /fatal|uncaught/i, workerd.output());
  await workerd.stop();
  workerd = undefined;
});

test("miniflare: the same bundle loads the model from an R2 binding", async () => {
  const out = path.join(dir, "out");
  const mf = new Miniflare({
    modulesRoot: out,
    modules: [{ type: "ESModule", path: path.join(out, "worker.js") }, ...readdirSync(out).filter((f) => f.endsWith(".wasm")).map((f) => ({ type: "CompiledWasm" as const, path: path.join(out, f) }))],
    compatibilityDate: COMPATIBILITY_DATE,
    r2Buckets: ["MODELS"],
    bindings: { MODEL_KEY: "smollm2-135m-instruct-fdb.dbllm" },
    host: "127.0.0.1",
    port: 0,
    cf: false, // no lookup of Cloudflare's request metadata on the internet
  });
  try {
    const url = (await mf.ready).href.replace(/\/$/, "");
    const bucket = (await mf.getR2Bucket("MODELS")) as unknown as { put(key: string, value: Uint8Array): Promise<unknown> };
    await bucket.put("smollm2-135m-instruct-fdb.dbllm", new Uint8Array(readFileSync(MODEL)));
    const pid = childProcess(process.pid, "workerd");
    const idle = pid ? processMemory(pid).rss : undefined;
    const m = await checkOpenAI(`${url}/v1`, `${url}/health`);
    report(`miniflare ${packageVersion("miniflare")}, model from R2`, m, pid && idle ? { idle, peak: processMemory(pid).peak } : undefined);
  } finally {
    await mf.dispose();
  }
});

/** Two workers in one workerd: "main" (the wrangler bundle, heap capped) and "refusal" (kernels inlined). */
function workerdConfig(wasmFiles: string[], modelsUrl: string): string {
  return `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  v8Flags = ["--max-heap-size=${HEAP_CAP_MIB}"],
  services = [
    (name = "main", worker = .main),
    (name = "refusal", worker = .refusal),
    (name = "loopback", network = (allow = ["local"])),
  ],
  sockets = [
    (name = "http", address = "127.0.0.1:${ports.main}", http = (), service = "main"),
    (name = "refusal", address = "127.0.0.1:${ports.refusal}", http = (), service = "refusal"),
  ],
);

const main :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "out/worker.js"),
${wasmFiles.map((f) => `    (name = "${f}", wasm = embed "out/${f}"),`).join("\n")}
  ],
  compatibilityDate = "${COMPATIBILITY_DATE}",
  bindings = [(name = "MODEL_URL", text = "${modelsUrl}/model.dbllm")],
  globalOutbound = "loopback",
);

const refusal :Workerd.Worker = (
  modules = [(name = "refused.js", esModule = embed "refused.js")],
  compatibilityDate = "${COMPATIBILITY_DATE}",
  bindings = [(name = "MODEL_URL", text = "${modelsUrl}/refused.dbllm")],
  globalOutbound = "loopback",
);
`;
}

test.run();
