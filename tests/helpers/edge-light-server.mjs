// Serves an edge-light bundle in Vercel's edge-runtime (the sandbox of `next dev` and `vercel dev`) with
// WebAssembly code generation off, as Vercel Edge Functions run: wasm compiles only outside the sandbox. As in
// Next.js, each `.wasm?module` import is a binding, a WebAssembly.Module the host compiles and puts on the
// sandbox's globalThis (tests/helpers/edge-bundle.ts writes bundles that read them). Prints the URL; serves until
// killed. Plain JavaScript, so that the process RSS is edge-runtime's and not a TypeScript loader's.
// Usage: node tests/helpers/edge-light-server.mjs <bundle.js> <bindings.json: {global: wasm file}> [NAME=value ...]
import { readFileSync } from "node:fs";
import { EdgeRuntime, runServer } from "edge-runtime";

const [bundle, bindingsFile, ...vars] = process.argv.slice(2);
const bindings = JSON.parse(readFileSync(bindingsFile, "utf8"));
const modules = Object.fromEntries(Object.entries(bindings).map(([name, file]) => [name, new WebAssembly.Module(readFileSync(file))]));
const env = Object.fromEntries(vars.map((v) => [v.slice(0, v.indexOf("=")), v.slice(v.indexOf("=") + 1)]));

const runtime = new EdgeRuntime({
  codeGeneration: { strings: false, wasm: false },
  extend: (context) => Object.assign(context, modules, { process: { env } }),
  initialCode: readFileSync(bundle, "utf8"),
});
const server = await runServer({ runtime, host: "127.0.0.1", port: 0 });
console.log(`listening on ${server.url}`);
