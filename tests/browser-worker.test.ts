// The model off the page's main thread (src/worker/): loadModel on a page puts the model in a dedicated Web
// Worker by default, behind the same API. In headless Chromium against pages served on 127.0.0.1 (COOP/COEP,
// so the worker's own pool workers can share memory): the page records no long task while a reply streams (and
// the same stream computed on the page does, so the check can fail); greedy ids, logits and tokenizer equal
// Node's; sessions; abort mid-stream; typed errors; every kind of source and the page's fetch reach the worker;
// dispose ends the worker and its pool workers.
import { writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { BrowserContext, Page, Worker as PageWorker } from "playwright-core";
import { loadModel } from "../src/index.ts";
import { openModel } from "../src/open/open-model.ts";
import { quantizeModel } from "../src/conversion/quantize.ts";
import { BROWSER_BUNDLE, chromiumMissing, launchChromium, type Chromium } from "./helpers/chromium.ts";
import { buildRandomModel, type RandomModelSpec } from "./helpers/random-model.ts";
import { startStaticServer, type StaticServer } from "./helpers/static-server.ts";
import { workDir } from "./helpers/workdir.ts";

/** A long task is one that keeps the main thread from input and rendering for more than this (the Long Tasks API). */
const LONG_TASK_MS = 50;
/**
 * The bundle as pages import it. The functions page.evaluate() runs are serialized without their closure: pages
 * get the same name as a global (newPage), and here it types the import as the untyped module it is in a page.
 */
const BUNDLE_URL: string = "/dist/browser/index.js";
const PROMPT = "It is a way I have of driving off the spleen and regulating the circulation. Whenever I find myself growing grim about the mouth; whenever it is a damp, drizzly November in my soul; whenever I find myself involuntarily pausing before coffin warehouses, and bringing up the rear of every funeral I meet; " +
  "Call me Ishmael. Some years ago—never mind how long precisely—having little or no money in my purse, and nothing particular to interest me on shore, I thought I would sail about a little and see the watery part of the world.";

const missing = chromiumMissing();
if (missing) {
  test("headless Chromium and the browser bundle are available", () => { assert.unreachable(missing); });
} else {
  await workerTests();
}
test.run();

/** What a streamed reply looked like from the page. */
interface Streamed {
  runsIn: { worker: boolean; reason: string };
  tokens: number;
  ms: number;
  /** Long tasks on the page's main thread while the reply streamed: [start, duration] (ms). */
  longTasks: [number, number][];
}

async function workerTests(): Promise<void> {
  const dir = workDir("browser-worker");
  const tiny: RandomModelSpec = { arch: "llama", dim: 64, nLayers: 2, nHeads: 4, nKvHeads: 2, ffnDim: 128, tied: true, merges: 200, seed: 7, contextLength: 4096, hf: false };
  const gguf = buildRandomModel(dir, tiny).gguf;
  const dbllm = path.join(dir, "model.dbllm");
  {
    const m = await openModel(gguf);
    const chunks: Uint8Array[] = [];
    for await (const c of quantizeModel(m, { method: "fdb", groupSize: 64, embed: "q8", head: "q8" })) chunks.push(c);
    writeFileSync(dbllm, Buffer.concat(chunks));
  }
  // big enough that a token takes a few ms on one thread (25 MiB of q8 weights: one thread by default), and
  // PROMPT's 174 tokens, evaluated as one batch (batchSize 256), about 250 ms: a long task on the page, clear of
  // 50 ms on faster machines too. Greedy decoding from PROMPT (plain SIMD build) runs 300 tokens without an
  // end-of-sequence.
  const heavy = buildRandomModel(path.join(dir, "heavy"), { arch: "llama", dim: 640, nLayers: 4, nHeads: 10, nKvHeads: 10, ffnDim: 1792, tied: true, merges: 200, seed: 3, contextLength: 1024, hf: false, ggufType: "Q8_0" }).gguf;
  const garbage = path.join(dir, "garbage.bin");
  writeFileSync(garbage, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) & 255)));
  const truncated = path.join(dir, "truncated.dbllm");
  {
    const { readFileSync } = await import("node:fs");
    const whole = readFileSync(dbllm);
    writeFileSync(truncated, whole.subarray(0, Math.floor(whole.length * 0.6)));
  }
  const mounts = {
    "/models/model.gguf": gguf, "/models/model.dbllm": dbllm, "/models/heavy.gguf": heavy, "/models/garbage.bin": garbage, "/models/truncated.dbllm": truncated,
    // the bundle copied somewhere without its model-worker.js, as a bundler that missed the worker would leave it
    "/lonely/index.js": BROWSER_BUNDLE, "/lonely/pool-worker.js": path.join(path.dirname(BROWSER_BUNDLE), "pool-worker.js"),
  };
  let isolated: StaticServer, cdn: StaticServer, browser: Chromium, context: BrowserContext;

  test.before(async () => {
    [isolated, cdn] = await Promise.all([startStaticServer({ isolated: true, mounts }), startStaticServer({ isolated: false, cors: true })]);
    browser = await launchChromium();
    context = browser.context;
  });

  test.after(async () => {
    await browser?.close();
    await Promise.all([isolated?.close(), cdn?.close()]);
  });

  async function newPage(): Promise<Page> {
    const page = await context.newPage();
    await page.addInitScript(`globalThis.BUNDLE_URL = ${JSON.stringify(BUNDLE_URL)};`);
    page.on("pageerror", (e) => console.log(`  pageerror: ${e.message}`));
    await page.goto(`${isolated.url}/examples/browser/`);
    return page;
  }

  /** Loads `url` (in the worker or on the page), streams a greedy reply and records the page's long tasks meanwhile. */
  function streamReply(page: Page, url: string, worker: boolean | undefined, maxTokens: number): Promise<Streamed> {
    return page.evaluate(async ({ url, worker, maxTokens, prompt }) => {
      const { loadModel } = await import(BUNDLE_URL);
      const m = await loadModel(url, { worker, cache: false, simd: "simd", batchSize: 256 });
      const longTasks: [number, number][] = [];
      const observer = new PerformanceObserver((list) => { for (const e of list.getEntries()) longTasks.push([e.startTime, e.duration]); });
      observer.observe({ type: "longtask", buffered: true });
      const out = document.createElement("pre");
      document.body.append(out);
      const t0 = performance.now();
      let tokens = 0;
      // like an application: every chunk goes into the page as it arrives
      for await (const chunk of m.generate(prompt, { temperature: 0, maxTokens })) { tokens++; out.textContent += chunk.text; }
      const t1 = performance.now();
      await new Promise((r) => setTimeout(r, 200)); // long task entries arrive after their task
      observer.disconnect();
      const runsIn = m.info().runsIn;
      m.dispose();
      return { runsIn, tokens, ms: t1 - t0, longTasks: longTasks.filter(([start, d]) => start + d >= t0 && start <= t1) };
    }, { url, worker, maxTokens, prompt: PROMPT });
  }

  const longest = (r: Streamed) => Math.max(0, ...r.longTasks.map(([, d]) => d));

  test("the page stays responsive while a reply streams from the worker (no long task); computed on the page, it does not", async () => {
    const page = await newPage();
    try {
      const onPage = await streamReply(page, "/models/heavy.gguf", false, 300);
      const inWorker = await streamReply(page, "/models/heavy.gguf", undefined, 300);
      console.log(`  on the page's main thread: ${onPage.tokens} tokens in ${onPage.ms.toFixed(0)} ms, ${onPage.longTasks.length} long tasks, the longest ${longest(onPage).toFixed(0)} ms`);
      console.log(`  in the model worker (the default): ${inWorker.tokens} tokens in ${inWorker.ms.toFixed(0)} ms, ${inWorker.longTasks.length} long tasks, the longest ${longest(inWorker).toFixed(0)} ms`);
      assert.is(onPage.runsIn.worker, false);
      assert.ok(inWorker.runsIn.worker, inWorker.runsIn.reason);
      assert.match(inWorker.runsIn.reason, /default on a page's main thread/);
      assert.is(inWorker.tokens, 300);
      assert.is(onPage.tokens, 300);
      // the control: the same reply computed on the page blocks it, so this test can see a blocked page
      assert.ok(longest(onPage) > LONG_TASK_MS, `computing on the page recorded no long task over ${LONG_TASK_MS} ms (longest ${longest(onPage).toFixed(0)} ms): the model is too small to show anything`);
      assert.ok(longest(inWorker) <= LONG_TASK_MS, `long tasks on the page while the worker generated: ${inWorker.longTasks.map(([, d]) => `${d.toFixed(0)} ms`).join(", ")}`);
    } finally {
      await page.close();
    }
  });

  test("greedy ids, logits and the tokenizer in the worker equal Node's (and the page's); sessions keep their tokens", async () => {
    const prompt = "Once upon a time", maxTokens = 40;
    const page = await newPage();
    try {
      for (const [file, url] of [[gguf, "/models/model.gguf"], [dbllm, "/models/model.dbllm"]]) {
        const m = await loadModel(file, { threads: 1, simd: "simd" });
        const want = (await m.generate(prompt, { temperature: 0, maxTokens }).done()).tokens;
        const wantIds = m.tokenizer.encode(prompt);
        const session = m.createSession();
        const wantLogits = Array.from(await session.evaluate(wantIds));
        const wantAfterEvaluate = session.tokens.length;
        await session.generate(" and then", { temperature: 0, maxTokens: 5 }).done();
        const wantAfterGenerate = session.tokens.length;
        m.dispose();
        for (const [worker, threads] of [[undefined, 1], [undefined, 2], [false, 2]] as const) {
          const got = await page.evaluate(async ({ url, worker, threads, prompt, maxTokens }) => {
            const { loadModel } = await import(BUNDLE_URL);
            const m = await loadModel(url, { worker, threads, simd: "simd", cache: false });
            const ids = (await m.generate(prompt, { temperature: 0, maxTokens }).done()).tokens;
            const encoded = m.tokenizer.encode(prompt);
            const s = m.createSession();
            const logits: number[] = Array.from(await s.evaluate(encoded));
            const afterEvaluate = s.tokens.length;
            const chat = s.generate(" and then", { temperature: 0, maxTokens: 5 });
            const r = await chat.done();
            const afterGenerate = s.tokens.length;
            s.reset();
            const info = m.info();
            m.dispose();
            return { ids, encoded, logits, afterEvaluate, afterGenerate, afterReset: s.tokens.length, generated: r.tokens.length, stats: chat.stats, runsIn: info.runsIn, threads: info.threads.count };
          }, { url, worker, threads, prompt, maxTokens });
          const where = `${url}, ${worker === false ? "on the page" : "in the worker"}, ${threads} thread(s)`;
          assert.is(got.runsIn.worker, worker !== false, got.runsIn.reason);
          assert.is(got.threads, threads, `${where}: threads`);
          assert.equal(got.ids, want, `${where}: greedy ids differ from Node's`);
          assert.equal(got.encoded, wantIds, `${where}: the tokenizer on the page differs from Node's`);
          let diff = 0;
          for (let i = 0; i < wantLogits.length; i++) diff = Math.max(diff, Math.abs(got.logits[i] - wantLogits[i]));
          assert.is(got.logits.length, wantLogits.length);
          assert.ok(diff === 0, `${where}: logits differ from Node's by up to ${diff}`);
          assert.is(got.afterEvaluate, wantAfterEvaluate, `${where}: session.tokens after evaluate()`);
          assert.is(got.afterGenerate, wantAfterGenerate, `${where}: session.tokens after generate()`);
          assert.is(got.afterReset, 0);
          assert.is(got.stats?.generatedTokens, got.generated);
        }
        console.log(`  ${url}: ${want.length} greedy ids and ${wantLogits.length} logits identical to Node's, in the worker (1 and 2 threads) and on the page`);
      }
    } finally {
      await page.close();
    }
  });

  test("abort mid-stream: the stream ends at once with ABORTED (the signal's reason as cause), the worker stops, the model goes on; an abort while the worker starts", async () => {
    const page = await newPage();
    try {
      const r = await page.evaluate(async () => {
        const { loadModel, DbllmError } = await import(BUNDLE_URL);
        const m = await loadModel("/models/model.gguf", { cache: false });
        const controller = new AbortController();
        let n = 0, afterAbort = 0, error: { code?: string; isDbllm: boolean; cause?: unknown } | undefined;
        try {
          for await (const _ of m.generate("Once upon a time", { temperature: 0, maxTokens: 100000, onContextFull: "slide", signal: controller.signal })) {
            if (controller.signal.aborted) afterAbort++;
            if (++n === 50) controller.abort("enough");
          }
        } catch (e) {
          error = { code: (e as { code?: string }).code, isDbllm: e instanceof DbllmError, cause: (e as Error).cause };
        }
        // leaving a loop early (break) also stops the worker's generation
        let broke = 0;
        for await (const _ of m.generate("Once upon a time", { temperature: 0, maxTokens: 100000, onContextFull: "slide" })) if (++broke === 10) break;
        const next = await m.generate("Hello", { temperature: 0, maxTokens: 5 }).done();
        const aborted = new AbortController();
        aborted.abort();
        let early: string | undefined;
        try { await m.generate("Hello", { signal: aborted.signal }).done(); } catch (e) { early = (e as { code?: string }).code; }
        m.dispose();
        // an abort while the worker is still starting
        const starting = new AbortController();
        const load = loadModel("/models/model.gguf", { cache: false, signal: starting.signal });
        starting.abort();
        let duringStart: string | undefined;
        try { await load; } catch (e) { duringStart = (e as { code?: string }).code; }
        return { n, afterAbort, error, next: next.tokens.length, early, duringStart };
      });
      assert.is(r.error?.code, "ABORTED");
      assert.ok(r.error?.isDbllm, "not a DbllmError on the page");
      assert.is(r.error?.cause, "enough");
      assert.is(r.n, 50);
      assert.is(r.afterAbort, 0, "chunks kept coming after the abort");
      assert.is(r.next, 5, "the model did not generate after an aborted and an abandoned stream");
      assert.is(r.early, "ABORTED");
      assert.is(r.duringStart, "ABORTED");
    } finally {
      await page.close();
    }
  });

  test("errors from the worker arrive as the same typed DbllmError (404, garbage, a truncated file, bad options, a hostile call)", async () => {
    const page = await newPage();
    try {
      const r = await page.evaluate(async () => {
        const { loadModel, DbllmError } = await import(BUNDLE_URL);
        const attempt = async (f: () => Promise<unknown>) => {
          try { await f(); return { ok: true }; } catch (e) { return { ok: false, code: (e as { code?: string }).code, isDbllm: e instanceof DbllmError, message: (e as Error).message }; }
        };
        const out: Record<string, unknown> = {};
        out.notFound = await attempt(() => loadModel("/models/missing.gguf", { cache: false }));
        out.garbage = await attempt(() => loadModel("/models/garbage.bin", { cache: false }));
        out.truncated = await attempt(() => loadModel("/models/truncated.dbllm", { cache: false }));
        out.badOption = await attempt(() => loadModel("/models/model.gguf", { threads: 0 }));
        out.badWorker = await attempt(() => loadModel("/models/model.gguf", { worker: "yes" as unknown as boolean }));
        const m = await loadModel("/models/model.gguf", { cache: false });
        out.badSampling = await attempt(async () => m.generate("Hi", { temperature: -1 }));
        out.emptyPrompt = await attempt(() => m.generate("").done());
        out.noMessages = await attempt(() => m.chat([]).done());
        out.overflow = await attempt(() => m.createSession({ contextLength: 4 }).generate("Once upon a time in a land far away").done());
        out.badIds = await attempt(() => m.createSession().evaluate([1e9]));
        out.uncloneable = await attempt(() => m.chat([{ role: "user", content: "Hi" }], { templateVariables: { f: () => 1 } }).done());
        out.stillWorks = (await m.generate("Hi", { temperature: 0, maxTokens: 3 }).done()).tokens.length;
        m.dispose();
        return out;
      }) as Record<string, { ok: boolean; code?: string; isDbllm?: boolean; message?: string }> & { stillWorks: number };
      const want: Record<string, string> = {
        notFound: "NOT_FOUND", garbage: "INVALID_FILE", truncated: "TRUNCATED_FILE", badOption: "INVALID_ARGUMENT", badWorker: "INVALID_ARGUMENT",
        badSampling: "INVALID_ARGUMENT", emptyPrompt: "EMPTY_PROMPT", noMessages: "EMPTY_PROMPT", overflow: "CONTEXT_OVERFLOW", badIds: "INVALID_ARGUMENT", uncloneable: "INVALID_ARGUMENT",
      };
      for (const [k, code] of Object.entries(want)) {
        const e = r[k];
        assert.is(e.ok, false, `${k}: no error`);
        assert.is(e.code, code, `${k}: ${e.code} ${e.message}`);
        assert.ok(e.isDbllm, `${k}: not a DbllmError on the page`);
      }
      assert.is(r.stillWorks, 3);
      console.log(`  ${Object.keys(want).length} typed errors: ${Object.entries(want).map(([k]) => `${k} → ${r[k].code}`).join(", ")}`);
    } finally {
      await page.close();
    }
  });

  test("every source reaches the worker: a File, an ArrayBuffer, a typed array, a Response, a ReadableStream, the page's fetch; progress too", async () => {
    const page = await newPage();
    try {
      const r = await page.evaluate(async () => {
        const { loadModel } = await import(BUNDLE_URL);
        const ids = async (source: unknown, extra: Record<string, unknown> = {}) => {
          const progress: number[] = [];
          const m = await loadModel(source, { cache: false, onProgress: (p: { fraction: number }) => progress.push(p.fraction), ...extra });
          const out = { ids: (await m.generate("Once upon a time", { temperature: 0, maxTokens: 12 }).done()).tokens, worker: m.info().runsIn.worker, progress: progress.length, last: progress[progress.length - 1] };
          m.dispose();
          return out;
        };
        const bytes = await (await fetch("/models/model.dbllm")).arrayBuffer();
        const fetched: string[] = [];
        const myFetch = (input: RequestInfo | URL, init?: RequestInit) => {
          fetched.push(`${init?.method ?? "GET"} ${String(input)}`);
          return fetch(input, init);
        };
        const out = {
          url: await ids("/models/model.dbllm"),
          file: await ids(new File([bytes], "model.dbllm")),
          arrayBuffer: await ids(bytes),
          typedArray: await ids(new Uint8Array(bytes)),
          response: await ids(await fetch("/models/model.dbllm")),
          stream: await ids((await fetch("/models/model.dbllm")).body),
          fetchOption: await ids("/models/model.dbllm", { fetch: myFetch, cache: true }),
          bytesIntact: bytes.byteLength,
          fetched,
        };
        return out;
      });
      for (const k of ["file", "arrayBuffer", "typedArray", "response", "stream", "fetchOption"] as const) {
        assert.ok(r[k].worker, `${k}: not in the worker`);
        assert.equal(r[k].ids, r.url.ids, `${k}: other ids than the URL's`);
        assert.ok(r[k].progress > 1 && r[k].last === 1, `${k}: progress ${r[k].progress} reports, last ${r[k].last}`);
      }
      assert.ok(r.bytesIntact > 0, "the caller's ArrayBuffer was detached");
      assert.ok(r.fetched.some((f) => f.startsWith("GET ") && f.endsWith("/models/model.dbllm")), `the page's fetch was not used: ${r.fetched.join(", ")}`);
    } finally {
      await page.close();
    }
  });

  test("dispose() terminates the model worker and its pool workers; calls afterwards are DISPOSED", async () => {
    const page = await newPage();
    const workers: PageWorker[] = [];
    const closed: string[] = [];
    page.on("worker", (w) => { workers.push(w); w.on("close", () => closed.push(w.url())); });
    try {
      await page.evaluate(async () => {
        const { loadModel } = await import(BUNDLE_URL);
        const m = await loadModel("/models/model.gguf", { threads: 2, cache: false });
        (globalThis as unknown as { model: unknown }).model = m;
        await m.generate("Hi", { maxTokens: 3 }).done();
      });
      const started = workers.map((w) => w.url());
      assert.ok(started.some((u) => u.endsWith("/model-worker.js")), `no model worker seen: ${started.join(", ")}`);
      const r = await page.evaluate(async () => {
        const m = (globalThis as unknown as { model: { dispose(): void; generate(p: string): unknown; createSession(): unknown } }).model;
        m.dispose();
        const codes: (string | undefined)[] = [];
        for (const f of [() => m.generate("Hi"), () => m.createSession()]) {
          try { f(); codes.push("none"); } catch (e) { codes.push((e as { code?: string }).code); }
        }
        return codes;
      });
      assert.equal(r, ["DISPOSED", "DISPOSED"]);
      const t0 = Date.now();
      while (closed.length < workers.length && Date.now() - t0 < 5000) await new Promise((res) => setTimeout(res, 50));
      assert.equal(closed.sort(), started.sort(), "workers still running after dispose()");
      console.log(`  ${workers.length} worker(s) ended by dispose(): ${started.map((u) => path.basename(u)).join(", ")}`);
    } finally {
      await page.close();
    }
  });

  test("model-worker.js not served next to the bundle: the model loads on the page and says why; worker: true fails with WORKER_FAILED", async () => {
    const page = await newPage();
    const warnings: string[] = [];
    page.on("console", (m) => { if (m.type() === "warning") warnings.push(m.text()); });
    try {
      const r = await page.evaluate(async () => {
        const { loadModel } = await import("/lonely/index.js" as string);
        const m = await loadModel("/models/model.gguf", { cache: false });
        const runsIn = m.info().runsIn;
        const tokens = (await m.generate("Hi", { temperature: 0, maxTokens: 3 }).done()).tokens.length;
        m.dispose();
        let insisted: { code?: string; message: string } | undefined;
        try { await loadModel("/models/model.gguf", { cache: false, worker: true }); } catch (e) { insisted = { code: (e as { code?: string }).code, message: (e as Error).message }; }
        return { runsIn, tokens, insisted };
      });
      assert.is(r.runsIn.worker, false);
      assert.match(r.runsIn.reason, /the model worker failed to start/);
      assert.match(r.runsIn.reason, /\/lonely\/model-worker\.js/);
      assert.is(r.tokens, 3);
      assert.ok(warnings.some((w) => /model worker failed to start/.test(w)), `no console warning: ${warnings.join(" | ")}`);
      assert.is(r.insisted?.code, "WORKER_FAILED", r.insisted?.message);
      console.log(`  fallback: ${r.runsIn.reason.slice(0, 140)}…`);
    } finally {
      await page.close();
    }
  });
}
