// What the runtime tests (tests/runtime-*.test.ts) share: a user's project with dbllm installed the way npm
// installs it, the runtimes' executables from their npm packages, a server process started and stopped, its
// memory from /proc, and the checks every runtime must pass through the official openai client, with what they
// measure. Everything talks over 127.0.0.1; nothing is downloaded.
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import OpenAI from "openai";
import * as assert from "uvu/assert";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
/** The embedded default model, which every runtime serves. */
export const MODEL = path.join(root, "models/smollm2-135m-instruct-fdb.dbllm");
/** The model id the examples give createHandler. */
export const MODEL_ID = "smollm2";
const MiB = 2 ** 20;
/**
 * Does the model fit a 128 MB isolate (Cloudflare Workers, Vercel Edge)? The wasm memory peaks at 99.2 MiB at
 * context 512 (checkOpenAI fails above that); the edge runtimes' tests cap V8's heap at what the isolate leaves
 * beside it, so a JavaScript heap that needed more would crash them. HEAP_CAP_MIB=n in the environment tries
 * another cap (docs/SERVER.md: how small a heap still serves).
 */
export const WASM_PEAK_BYTES = 99.2 * MiB;
export const heapCapMiB = (isolateBytes: number) => Number(process.env.HEAP_CAP_MIB) || Math.floor((isolateBytes - WASM_PEAK_BYTES) / MiB);
/** 128 MB read as 10^6 bytes (122.1 MiB), the stricter reading of the platforms' limit. */
export const ISOLATE_BYTES = 128e6;

/**
 * A project directory as a user has it after `npm install dbllm`: a package.json, node_modules/dbllm with the
 * package's package.json and dist/ (not the model: the examples fetch it), and `files` (name → contents).
 */
export function userProject(dir: string, files: Record<string, string>): string {
  const pkg = path.join(dir, "node_modules/dbllm");
  mkdirSync(pkg, { recursive: true });
  cpSync(path.join(root, "package.json"), path.join(pkg, "package.json"));
  cpSync(path.join(root, "dist"), path.join(pkg, "dist"), { recursive: true, filter: (f) => !f.endsWith(".map") });
  writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "dbllm-example", private: true, type: "module" }));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

export const example = (name: string) => readFileSync(path.join(root, "examples/edge", name), "utf8");

// Each runtime's npm package ships its executable in an optional dependency per platform; its postinstall (which
// npm may skip) only moves or links it into the main package. Look in both places.
const PLATFORM_PACKAGES: Record<"workerd" | "deno" | "bun", { pkg: (p: string) => string; file: string; moved: string }> = {
  workerd: { pkg: (p) => `@cloudflare/workerd-${p.replace("x64", "64")}`, file: "bin/workerd", moved: "bin/workerd" },
  deno: { pkg: (p) => `@deno/${p}${p.startsWith("linux") ? "-glibc" : ""}`, file: "deno", moved: "deno" },
  bun: { pkg: (p) => `@oven/bun-${p.replace("arm64", "aarch64")}`, file: "bin/bun", moved: "bin/bun.exe" },
};

/** The executable of a runtime installed from npm (devDependencies). */
export function runtimeBinary(name: keyof typeof PLATFORM_PACKAGES): string {
  const { pkg, file, moved } = PLATFORM_PACKAGES[name];
  const platformPkg = pkg(`${process.platform}-${process.arch}`);
  const main = path.join(root, "node_modules", name);
  const tried: string[] = [];
  const candidates = [
    () => path.join(path.dirname(createRequire(path.join(main, "package.json")).resolve(`${platformPkg}/package.json`)), file),
    () => path.join(main, moved),
  ];
  for (const candidate of candidates) {
    let p: string;
    try { p = candidate(); } catch { continue; }
    tried.push(p);
    // the main package's placeholder is a small script; the real executable is tens of MB
    if (existsSync(p) && statSync(p).size > 1 << 20) return p;
  }
  throw new Error(`${name} is not installed (looked for ${platformPkg} at ${tried.join(", ") || "nothing resolvable"}); run npm install`);
}

/** The version of an npm package in node_modules. */
export function packageVersion(name: string): string {
  return (JSON.parse(readFileSync(path.join(root, "node_modules", name, "package.json"), "utf8")) as { version: string }).version;
}

/** The first line `cmd --version` prints. */
export function versionOf(cmd: string): string {
  const r = spawnSync(cmd, ["--version"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd} --version failed: ${r.stderr}`);
  return r.stdout.trim().split("\n")[0];
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface ServerProcess {
  url: string;
  pid: number;
  /** Everything it printed so far. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts a server and waits until it answers GET `health` with 200 (then `url` is `base`), or, when `printsUrl`
 * is given, until its output matches it (`url` is the match's first group).
 */
export async function startServer(cmd: string, args: string[], o: { cwd: string; env?: Record<string, string>; base?: string; printsUrl?: RegExp; health?: string; timeoutMs?: number }): Promise<ServerProcess> {
  const child = spawn(cmd, args, { cwd: o.cwd, env: { ...process.env, ...o.env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let exited: string | undefined;
  const take = (d: Buffer) => { out += String(d).replace(/\x1b\[[0-9;]*m/g, ""); }; // without colours
  child.stdout.on("data", take);
  child.stderr.on("data", take);
  child.once("exit", (code, signal) => { exited = `exited with ${signal ?? code}`; });
  const stop = async () => {
    if (exited) return;
    const gone = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    await gone;
    clearTimeout(timer);
  };
  const deadline = Date.now() + (o.timeoutMs ?? 30_000);
  let url = o.base;
  for (;;) {
    if (exited) throw new Error(`${path.basename(cmd)} ${exited} before serving:\n${out}`);
    if (Date.now() > deadline) { await stop(); throw new Error(`${path.basename(cmd)} did not start serving in time:\n${out}`); }
    if (o.printsUrl) {
      const m = o.printsUrl.exec(out);
      if (m) { url = m[1].replace(/\/$/, ""); break; }
    } else {
      const ok = await fetch(`${url}${o.health ?? "/health"}`).then((r) => r.ok, () => false);
      if (ok) break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url: url!, pid: child.pid!, output: () => out, stop };
}

/** Resident and peak resident memory of a process in bytes (Linux /proc). */
export function processMemory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb("VmRSS"), peak: kb("VmHWM") };
}

/** A child of `parent` whose executable is `name` (the workerd that miniflare starts). */
export function childProcess(parent: number, name: string): number | undefined {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const [, comm, rest] = /^\d+ \((.*)\) (.*)$/s.exec(stat)!;
      if (comm === name && Number(rest.split(" ")[1]) === parent) return Number(entry);
    } catch { /* gone */ }
  }
  return undefined;
}

export interface Measured {
  /** The first chat completion, which loads the model (24 tokens at most). */
  firstRequestMs: number;
  /**
   * The streamed completion: content events, how many bursts they arrived in, tokens, and its time from request
   * to the last event (prompt included: the spread of the events alone overstates the speed whenever this
   * client is descheduled on a busy machine and then reads several at once).
   */
  streamEvents: number;
  streamBursts: number;
  streamTokens: number;
  streamMs: number;
  threads: number;
  wasmMemoryBytes: number;
}

/**
 * The checks every runtime passes, through the official openai client against `baseURL` (…/v1): a chat
 * completion, a streamed one that arrives as several events spread over time, OpenAI-style 400s for malformed
 * requests; then GET `healthUrl` for the threads and wasm memory.
 */
export async function checkOpenAI(baseURL: string, healthUrl: string): Promise<Measured> {
  const client = new OpenAI({ baseURL, apiKey: "unused", maxRetries: 0, timeout: 120_000 });
  const t0 = performance.now();
  const reply = await client.chat.completions.create({ model: MODEL_ID, messages: [{ role: "user", content: "What is the capital of France?" }], max_tokens: 24, temperature: 0 });
  const firstRequestMs = performance.now() - t0;
  assert.is(reply.object, "chat.completion");
  assert.is(reply.model, MODEL_ID);
  assert.is(reply.choices[0].message.role, "assistant");
  assert.match(reply.choices[0].message.content ?? "", /[a-z]{2,}/i, "the reply has words");
  assert.ok(reply.usage!.completion_tokens >= 1 && reply.usage!.completion_tokens <= 24, JSON.stringify(reply.usage));
  assert.ok(reply.choices[0].finish_reason === "stop" || reply.choices[0].finish_reason === "length");

  // streamed: content deltas must arrive as separate events at different times (a buffered body would hand
  // the client every event at once)
  const t1 = performance.now();
  const stream = await client.chat.completions.create({
    model: MODEL_ID, messages: [{ role: "user", content: "Tell me a story about a lighthouse keeper." }], max_tokens: 48, temperature: 0,
    stream: true, stream_options: { include_usage: true },
  });
  const arrivals: number[] = [];
  let text = "", usage: OpenAI.CompletionUsage | undefined, finish: string | null = null;
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      if (c.delta.content) { text += c.delta.content; arrivals.push(performance.now()); }
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  const streamMs = performance.now() - t1;
  assert.ok(usage, "include_usage sent a usage chunk");
  assert.ok(finish === "stop" || finish === "length", `finish_reason ${finish}`);
  assert.match(text, /[a-z]{2,}/i);
  assert.ok(arrivals.length > 1, `the stream arrived as ${arrivals.length} content event(s)`);
  const spread = arrivals[arrivals.length - 1] - arrivals[0];
  const bursts = arrivals.filter((t, i) => i === 0 || t - arrivals[i - 1] > 1).length;
  assert.ok(bursts > 1, `all ${arrivals.length} content events arrived together (${spread.toFixed(1)} ms apart): the response was buffered`);

  // malformed requests: OpenAI-style errors, and the server keeps serving
  const expect400 = async (request: Promise<unknown>, code: string, param: string | null) => {
    const e = await request.then(() => undefined, (x: unknown) => x);
    assert.instance(e, OpenAI.APIError, `expected a 400 ${code}, got ${String(e)}`);
    const err = e as InstanceType<typeof OpenAI.APIError>;
    assert.is(err.status, 400, err.message);
    assert.is(err.code, code, err.message);
    assert.is(err.param, param);
    assert.is(err.type, "invalid_request_error");
  };
  await expect400(client.chat.completions.create({ model: MODEL_ID, messages: [] }), "empty_array", "messages");
  await expect400(client.chat.completions.create({ model: MODEL_ID, messages: [{ role: "user", content: "hi" }], temperature: 7 }), "invalid_value", "temperature");
  const raw = await fetch(`${baseURL}/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: "{not json" });
  assert.is(raw.status, 400);
  assert.is(((await raw.json()) as { error: { code: string } }).error.code, "invalid_json");

  const health = (await (await fetch(healthUrl)).json()) as { model: string; threads: number; wasmMemoryBytes: number };
  assert.is(health.model, MODEL_ID);
  assert.ok(health.wasmMemoryBytes > 64 * MiB && health.wasmMemoryBytes <= WASM_PEAK_BYTES + 0.05 * MiB, `wasm memory ${health.wasmMemoryBytes}, expected at most ${WASM_PEAK_BYTES}`);
  return {
    firstRequestMs,
    streamEvents: arrivals.length,
    streamBursts: bursts,
    streamTokens: usage!.completion_tokens,
    streamMs,
    threads: health.threads,
    wasmMemoryBytes: health.wasmMemoryBytes,
  };
}

/** Prints one runtime's figures (docs/SERVER.md's table is copied from these lines). */
export function report(runtime: string, m: Measured, memory?: { idle: number; peak: number }, firstRequestLoads = true): void {
  const mib = (b: number) => (b / MiB).toFixed(1);
  const mem = memory ? `; RSS ${mib(memory.idle)} MiB idle, peak ${mib(memory.peak)} MiB (+${mib(memory.peak - memory.idle)})` : "";
  console.log(
    `  ${runtime}: first request${firstRequestLoads ? " (loads the model)" : ""} ${(m.firstRequestMs / 1000).toFixed(2)} s; stream ${m.streamTokens} tokens ` +
      `in ${(m.streamMs / 1000).toFixed(2)} s = ${(m.streamTokens / (m.streamMs / 1000)).toFixed(1)} tok/s (${m.streamEvents} events in ${m.streamBursts} bursts); ${m.threads} thread${m.threads > 1 ? "s" : ""}; wasm memory ${mib(m.wasmMemoryBytes)} MiB at context 512${mem}`,
  );
}
