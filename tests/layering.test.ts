// The layers of src/, lowest first: a module imports its own layer and the layers below it, never one above —
// checked on every import of every file (static, type-only, re-exports and dynamic import()), as
// tests/handler-bundle.test.ts checks that the handler never pulls in a Node built-in. The order follows the data
// (bytes → containers → type table → wasm memory → model → session → sampler → text) with two inversions the
// code needs: the type table and the engine sit below the containers (a parser sizes a tensor by its type; a
// runtime format runs the engine's kernels), and the tokenizer and sampler sit below the model that drives them.
// A new folder fails here until it has a place.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { test } from "uvu";
import * as assert from "uvu/assert";

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../src");

/** Lowest first: [folders or root files of src/, what they hold]. */
const LAYERS: [string[], string][] = [
  [["errors.ts", "json.ts"], "shared leaves: the error type, checks of untrusted JSON"],
  [["config"], "the model's shape and hyper-parameters, and their readers"],
  [["bytes"], "byte sources: buffers, Blobs, streams, URLs"],
  [["storage"], "the browser's model cache behind URL sources"],
  [["platform"], "Node or web: files, URLs, workers (#platform)"],
  [["engine"], "wasm kernels (#wasm, the generated registry), memory arena, worker pool"],
  [["quant"], "the type table and the runtime formats"],
  [["formats"], "containers: GGUF, safetensors, .dbllm; HF tensor names"],
  [["tokenizer"], "text ↔ token ids, chat templates"],
  [["generate"], "sampler, stop rules, the decode loop, text streams"],
  [["open"], "a model by its format: config, tokenizer, where the tensors are"],
  [["model"], "weights in wasm memory, the forward pass, KV cache, sessions, Model"],
  [["conversion"], "quantize and calibrate: the pipeline that runs models to write new ones"],
  [["eval"], "perplexity"],
  [["server"], "the OpenAI-compatible handler"],
  [["worker"], "the model in a dedicated Web Worker: the page's proxy, the worker's host, their messages"],
  [["index.ts"], "the public API"],
  [["cli"], "the dbllm command, a client of the public API"],
];

/** Package-internal import aliases (package.json "imports") and the layer they belong to. */
const ALIASES: Record<string, string> = { "#platform": "platform", "#wasm": "engine" };

const rank = new Map(LAYERS.flatMap(([parts], i) => parts.map((p) => [p, i] as const)));

/** The layer of a path relative to src/: its first folder, or the file itself at the top. */
const layerOf = (rel: string): string => rel.split("/")[0];

export interface Violation { file: string; imports: string; why: string }

/** Every import of `files` (paths relative to src/ and their text) that points at a higher layer or an unknown one. */
function violations(files: { rel: string; text: string }[]): Violation[] {
  const out: Violation[] = [];
  for (const { rel, text } of files) {
    const from = layerOf(rel);
    if (!rank.has(from)) { out.push({ file: rel, imports: "", why: `${from} has no place in LAYERS` }); continue; }
    for (const { fileName: spec } of ts.preProcessFile(text, true, true).importedFiles) {
      let to: string;
      if (spec.startsWith(".")) to = layerOf(path.posix.normalize(path.posix.join(path.posix.dirname(rel), spec)));
      else if (spec.startsWith("#")) to = ALIASES[spec] ?? spec;
      else continue; // packages and Node built-ins (handler-bundle.test.ts keeps those out of the web bundle)
      if (!rank.has(to)) out.push({ file: rel, imports: spec, why: `${to} is not a layer of src/` });
      else if (rank.get(to)! > rank.get(from)!) out.push({ file: rel, imports: spec, why: `${from} (layer ${rank.get(from)}) imports ${to} (layer ${rank.get(to)})` });
    }
  }
  return out;
}

function sources(dir = SRC): { rel: string; text: string }[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = path.join(dir, d.name);
    if (d.isDirectory()) return sources(p);
    return d.name.endsWith(".ts") ? [{ rel: path.relative(SRC, p).split(path.sep).join("/"), text: readFileSync(p, "utf8") }] : [];
  });
}

test("every import in src/ goes to its own layer or a lower one", () => {
  const files = sources();
  const found = violations(files);
  for (const v of found) console.log(`  ${v.file} → ${v.imports}: ${v.why}`);
  assert.equal(found, [], `${found.length} imports against the layers`);
  const edges = files.reduce((n, f) => n + ts.preProcessFile(f.text, true, true).importedFiles.length, 0);
  console.log(`  ${files.length} files, ${edges} imports, ${LAYERS.length} layers: ${LAYERS.map(([p]) => p.join(" ")).join(" < ")}`);
});

test("control: imports against the flow, from unknown folders and into them are caught", () => {
  const found = violations([
    { rel: "formats/gguf.ts", text: `import { Model } from "../model/model.ts";\nexport type { Session } from "../model/session.ts";` },
    { rel: "quant/table.ts", text: `const m = await import("../conversion/quantize.ts");` },
    { rel: "engine/pool.ts", text: `import { platform } from "#platform";\nimport type { X } from "../nowhere/x.ts";` },
    { rel: "misc/util.ts", text: `import { DbllmError } from "../errors.ts";` },
  ]);
  assert.equal(found.map((v) => `${v.file} ${v.imports}`), [
    "formats/gguf.ts ../model/model.ts", "formats/gguf.ts ../model/session.ts", "quant/table.ts ../conversion/quantize.ts",
    "engine/pool.ts ../nowhere/x.ts", "misc/util.ts ",
  ]);
});

test("every folder of src/ has a layer", () => {
  const folders = readdirSync(SRC, { withFileTypes: true }).map((d) => d.name);
  for (const f of folders) assert.ok(rank.has(f), `src/${f} has no place in LAYERS`);
});

test.run();
