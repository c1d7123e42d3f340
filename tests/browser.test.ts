// The built browser bundle in headless Chromium (Debian `chromium`, driven by playwright-core) against pages
// served on 127.0.0.1: the demo page with COOP/COEP (worker threads) and without (one thread, and it says why),
// streaming and the stop button; greedy ids equal to Node's; the model cache (hits, revalidation, changed files,
// broken downloads, quota); progress during the download and AbortSignal during the load. Models load in the
// model worker, loadModel's default on a page (browser-worker.test.ts tests that worker itself).
// Screenshots: tests/.work/artifacts/browser-isolated.png and browser-not-isolated.png.
import { mkdirSync, writeFileSync, copyFileSync, statSync } from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { BrowserContext, Page } from "playwright-core";
import { loadModel } from "../src/index.ts";
import { openModel } from "../src/open/open-model.ts";
import { quantizeModel } from "../src/conversion/quantize.ts";
import { chromiumMissing, launchChromium, type Chromium } from "./helpers/chromium.ts";
import { buildRandomModel, type RandomModelSpec } from "./helpers/random-model.ts";
import { startStaticServer, type StaticServer } from "./helpers/static-server.ts";
import { workDir } from "./helpers/workdir.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const ARTIFACTS = path.join(root, "tests/.work/artifacts");

const missing = chromiumMissing();

if (missing) {
  test("headless Chromium and the browser bundle are available", () => { assert.unreachable(missing); });
} else {
  await browserTests();
}
test.run();

/** What a load inside the page reports back (errors are flattened: they do not survive page.evaluate). */
interface PageLoad {
  ok: boolean;
  code?: string;
  message?: string;
  ms: number;
  /** [ms since start, loaded, total] per onProgress call. */
  progress: [number, number, number][];
  threads?: { count: number; reason: string };
  runsIn?: { worker: boolean; reason: string };
  build?: string;
  ids?: number[];
}

interface PageLoadOptions {
  cache?: boolean | "cache-api" | "opfs";
  threads?: number;
  simd?: "auto" | "simd" | "relaxed";
  /** Greedy ids of this many tokens after `prompt`. */
  generate?: { prompt: string; maxTokens: number };
  /** Abort through an AbortSignal at the first progress report with data. */
  abortOnProgress?: boolean;
  /** Where to import the bundle from (default: the page's own /dist/browser/index.js). */
  bundle?: string;
  /** loadModel's `worker` option (default: the model runs in a dedicated worker, the default on a page). */
  worker?: boolean;
}

function pageLoad(page: Page, url: string, o: PageLoadOptions = {}): Promise<PageLoad> {
  return page.evaluate(async ({ url, o }) => {
    const { loadModel } = await import(o.bundle ?? "/dist/browser/index.js");
    const t0 = performance.now();
    const progress: [number, number, number][] = [];
    const controller = new AbortController();
    try {
      const m = await loadModel(url, {
        cache: o.cache, threads: o.threads, simd: o.simd, signal: controller.signal, worker: o.worker,
        onProgress: (p: { loaded: number; total: number }) => {
          progress.push([performance.now() - t0, p.loaded, p.total]);
          if (o.abortOnProgress && p.loaded > 0) controller.abort();
        },
      });
      const ms = performance.now() - t0;
      const ids = o.generate ? (await m.generate(o.generate.prompt, { temperature: 0, maxTokens: o.generate.maxTokens }).done()).tokens : undefined;
      const info = m.info();
      m.dispose();
      return { ok: true, ms, progress, threads: info.threads, runsIn: info.runsIn, build: info.kernels.build, ids };
    } catch (e) {
      const err = e as { code?: string; message: string };
      return { ok: false, code: err.code, message: err.message, ms: performance.now() - t0, progress };
    }
  }, { url, o });
}

async function browserTests(): Promise<void> {
  const dir = workDir("browser");
  mkdirSync(ARTIFACTS, { recursive: true });
  const spec: RandomModelSpec = { arch: "llama", dim: 64, nLayers: 2, nHeads: 4, nKvHeads: 2, ffnDim: 128, tied: true, merges: 200, seed: 7, contextLength: 4096, hf: false };
  const gguf = buildRandomModel(dir, spec).gguf;
  const dbllm = path.join(dir, "model.dbllm");
  {
    const m = await openModel(gguf);
    const chunks: Uint8Array[] = [];
    for await (const c of quantizeModel(m, { method: "fdb", groupSize: 64, embed: "q8", head: "q8" })) chunks.push(c);
    writeFileSync(dbllm, Buffer.concat(chunks));
  }
  // a second model of the same shape (same size, other weights) and the file the cache tests change
  const other = buildRandomModel(path.join(dir, "other"), { ...spec, seed: 8 }).gguf;
  const changing = path.join(dir, "changing.gguf");
  copyFileSync(gguf, changing);

  const mounts = {
    "/examples/browser/model.dbllm": dbllm, // the demo's default URL
    "/models/model.gguf": gguf, "/models/model.dbllm": dbllm, "/models/changing.gguf": changing,
    "/models/quota.gguf": gguf, "/models/opfs.gguf": gguf, "/models/nocache.gguf": gguf,
  };
  let isolated: StaticServer, plain: StaticServer, cdn: StaticServer, browser: Chromium, context: BrowserContext;
  const consoleLines: string[] = [];

  test.before(async () => {
    const slow = { bytes: 4096, ms: 20 }; // `?slow` downloads of the 65 KB .dbllm file take ~0.3 s
    [isolated, plain, cdn] = await Promise.all([
      startStaticServer({ isolated: true, mounts, slow }), startStaticServer({ isolated: false, mounts, slow }),
      startStaticServer({ isolated: false, cors: true }), // another origin serving the bundle, like a CDN
    ]);
    browser = await launchChromium();
    context = browser.context;
    context.on("console", (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
    context.on("weberror", (e) => consoleLines.push(`pageerror: ${e.error().message}`));
  });

  test.after(async () => {
    await browser?.close();
    await Promise.all([isolated?.close(), plain?.close(), cdn?.close()]);
  });

  /** Opens the demo, loads its default model, streams a generation, presses Stop; returns what it showed. */
  async function demo(server: StaticServer, shot: string, query = "") {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    // on a timeout, say what the page showed (a page whose main thread hangs cannot answer: say that)
    const shown = async () => {
      const read = (sel: string) => page.textContent(sel, { timeout: 2000 }).catch(() => "(no answer: the page's main thread is busy)");
      return `status: ${await read("#load-status")} | stats: ${await read("#stats")} | errors: ${errors.join("; ")}`;
    };
    const waitFor = async (what: string, fn: (arg: number) => boolean, arg: number, timeout = 30_000) => {
      try { await page.waitForFunction(fn, arg, { timeout }); } catch (e) { throw new Error(`${what}: ${(e as Error).message.split("\n")[0]} — ${await shown()}`); }
    };
    try {
      await page.goto(`${server.url}/examples/browser/?load${query}`);
      await waitFor("loading the demo's default model", () => document.getElementById("threads")!.textContent !== "" || document.getElementById("load-status")!.className === "error", 0);
      const threads = (await page.textContent("#threads"))!;
      const count = Number(await page.getAttribute("#threads", "data-count"));
      assert.ok(count > 0, `the model did not load: ${await shown()}`);
      assert.is(await page.getAttribute("#runs-in", "data-worker"), "true", `the demo's model is not in the worker: ${await page.textContent("#runs-in")}`);
      await page.fill("#max-tokens", "1000000");
      await page.fill("#temperature", "0");
      await page.click("#generate");
      // streaming: the output grows while the generation is still running
      await waitFor("the first output", () => document.getElementById("output")!.textContent!.length > 50, 0);
      const early = (await page.textContent("#output"))!.length;
      await waitFor("more output", (n) => document.getElementById("output")!.textContent!.length > n + 50, early);
      const liveStats = (await page.textContent("#stats"))!;
      assert.not.ok(await page.getAttribute("#stats", "data-done"), `the generation ended before Stop was pressed: ${await shown()}`);
      await page.click("#stop", { timeout: 10_000 });
      await waitFor("the generation to stop", () => document.getElementById("stats")!.dataset.done === "true", 0, 10_000);
      const stopped = (await page.textContent("#output"))!.length;
      await page.waitForTimeout(300);
      const after = (await page.textContent("#output"))!.length;
      const stats = (await page.textContent("#stats"))!;
      await page.screenshot({ path: path.join(ARTIFACTS, shot), fullPage: true });
      assert.equal(errors, []);
      return { threads, count, early, stopped, after, stats, liveStats };
    } finally {
      await page.close({ runBeforeUnload: false });
    }
  }

  test("cross-origin isolated page: worker threads, streaming output, Stop stops", async () => {
    // the demo's tiny model would run on one thread by default (under 128 MiB of weights): ask for two
    const r = await demo(isolated, "browser-isolated.png", "&threads=2");
    assert.ok(r.count >= 2, `expected ≥ 2 threads with COOP/COEP, got: ${r.threads}`);
    assert.match(r.liveStats, /tok\/s/);
    assert.match(r.stats, /stopped by you/);
    assert.is(r.after, r.stopped, "text kept coming after Stop");
    console.log(`  isolated: ${r.threads}; ${r.stats}`);
  });

  test("page without COOP/COEP: one thread, the reason shown, streaming and Stop still work", async () => {
    const r = await demo(plain, "browser-not-isolated.png", "&threads=2");
    assert.is(r.count, 1);
    assert.match(r.threads, /not cross-origin isolated/);
    assert.match(r.threads, /Cross-Origin-Embedder-Policy/);
    assert.match(r.stats, /stopped by you/);
    assert.is(r.after, r.stopped, "text kept coming after Stop");
    console.log(`  not isolated: ${r.threads.slice(0, 60)}…; ${r.stats}`);
  });

  test("greedy ids in Chromium equal Node's (f32 GGUF and fdb2 .dbllm; 1 and 2 threads; SIMD and relaxed SIMD)", async () => {
    const prompt = "Once upon a time", maxTokens = 40;
    const page = await context.newPage();
    await page.goto(`${isolated.url}/examples/browser/`);
    // relaxed SIMD (fused multiply-add) rounds differently from plain SIMD, so each build is compared with
    // the same build in Node (Node 20 runs relaxed SIMD behind a flag)
    const script = path.join(dir, "node-ids.mts");
    writeFileSync(script, `import { loadModel } from ${JSON.stringify(pathToFileURL(path.join(root, "src/index.ts")).href)};
const out = {};
for (const f of ${JSON.stringify([gguf, dbllm])}) {
  const m = await loadModel(f, { threads: 1, simd: "relaxed", cache: false });
  out[f] = (await m.generate(${JSON.stringify(prompt)}, { temperature: 0, maxTokens: ${maxTokens} }).done()).tokens;
  m.dispose();
}
console.log(JSON.stringify(out));\n`);
    const child = spawnSync(process.execPath, ["--experimental-wasm-relaxed-simd", "--import", "tsx", script], { cwd: root, encoding: "utf8" });
    assert.is(child.status, 0, child.stderr);
    const relaxedIds = JSON.parse(child.stdout.trim().split("\n").pop()!) as Record<string, number[]>;
    try {
      for (const [file, url] of [[gguf, "/models/model.gguf"], [dbllm, "/models/model.dbllm"]]) {
        const m = await loadModel(file, { threads: 1, simd: "simd" });
        const want = (await m.generate(prompt, { temperature: 0, maxTokens }).done()).tokens;
        m.dispose();
        assert.is(want.length, maxTokens, "the reference stopped early; pick another prompt");
        for (const threads of [1, 2]) {
          const got = await pageLoad(page, url, { threads, simd: "simd", generate: { prompt, maxTokens } });
          assert.ok(got.ok, got.message);
          assert.is(got.threads!.count, threads);
          assert.equal(got.ids, want, `${url}, ${threads} thread(s), simd build: browser ids differ from Node's`);
          const relaxed = await pageLoad(page, url, { threads, simd: "relaxed", generate: { prompt, maxTokens } });
          assert.ok(relaxed.ok, relaxed.message);
          assert.match(relaxed.build!, /^relaxed/);
          assert.equal(relaxed.ids, relaxedIds[file], `${url}, ${threads} thread(s), relaxed build: browser ids differ from Node's`);
        }
      }
    } finally {
      await page.close();
    }
  });

  test("bundle imported from another origin (a CDN): the model worker and its pool worker still start (through same-origin blob: modules)", async () => {
    const page = await context.newPage();
    await page.goto(`${isolated.url}/examples/browser/`);
    try {
      const bundle = `${cdn.url}/dist/browser/index.js`;
      const r = await pageLoad(page, "/models/model.dbllm", { bundle, threads: 2, generate: { prompt: "Once upon a time", maxTokens: 12 } });
      assert.ok(r.ok, r.message);
      assert.ok(r.threads!.count >= 2, `expected worker threads, got: ${r.threads!.reason}`);
      const same = await pageLoad(page, "/models/model.dbllm", { threads: r.threads!.count, simd: r.build!.startsWith("relaxed") ? "relaxed" : "simd", generate: { prompt: "Once upon a time", maxTokens: 12 } });
      assert.equal(r.ids, same.ids);
      assert.ok(r.runsIn!.worker, r.runsIn!.reason);
      assert.ok(cdn.requests.some((q) => q.path === "/dist/browser/model-worker.js" && q.status === 200), "the model worker's script was not fetched from the bundle's origin");
      assert.ok(cdn.requests.some((q) => q.path === "/dist/browser/pool-worker.js" && q.status === 200), "the pool worker's script was not fetched from the bundle's origin");
    } finally {
      await page.close();
    }
  });

  test("cache: a second load comes from the Cache API; a changed file is downloaded again", async () => {
    const page = await context.newPage();
    await page.goto(`${isolated.url}/examples/browser/`);
    const url = "/models/changing.gguf";
    const count = () => {
      const r = isolated.requests.filter((q) => q.path === url);
      return { get: r.filter((q) => q.method === "GET").length, head: r.filter((q) => q.method === "HEAD").length };
    };
    const ids = async () => {
      const r = await pageLoad(page, url, { generate: { prompt: "Hello", maxTokens: 8 } });
      assert.ok(r.ok, r.message);
      return r;
    };
    try {
      const first = await ids();
      assert.equal(count(), { get: 1, head: 0 });
      const second = await ids();
      assert.equal(count(), { get: 1, head: 1 }, "the second load downloaded the file again");
      assert.equal(second.ids, first.ids);
      assert.ok(second.progress.length > 2, "no progress reports when loading from the cache");
      assert.ok(await page.evaluate(async (u) => !!(await (await caches.open("dbllm-models-v1")).match(new URL(u, location.href).href)), url));
      // same size, other weights, new ETag/Last-Modified
      const before = statSync(changing).size;
      copyFileSync(other, changing);
      const t = new Date(Date.now() + 5000);
      (await import("node:fs")).utimesSync(changing, t, t);
      assert.is(statSync(changing).size, before);
      const third = await ids();
      assert.equal(count(), { get: 2, head: 2 }, "a file with a new ETag was served from the stale cache entry");
      assert.not.equal(third.ids, first.ids, "the changed file's model generated the old model's ids");
      const fourth = await ids();
      assert.equal(count(), { get: 2, head: 3 });
      assert.equal(fourth.ids, third.ids);
      // a different size (the .dbllm file at the same URL)
      copyFileSync(dbllm, changing);
      await ids();
      assert.equal(count(), { get: 3, head: 4 }, "a file of another size was served from the stale cache entry");
      // cache: false neither reads nor writes the cache
      const noCache = "/models/nocache.gguf";
      for (let i = 0; i < 2; i++) assert.ok((await pageLoad(page, noCache, { cache: false })).ok);
      assert.is(isolated.requests.filter((q) => q.path === noCache && q.method === "GET").length, 2);
      assert.is(await page.evaluate(async (u) => (await (await caches.open("dbllm-models-v1")).match(new URL(u, location.href).href)) === undefined, noCache), true);
    } finally {
      await page.close();
    }
  });

  test("cache in OPFS (cache: 'opfs'): stored, then reused", async () => {
    const page = await context.newPage();
    await page.goto(`${isolated.url}/examples/browser/`);
    const url = "/models/opfs.gguf";
    try {
      for (let i = 0; i < 2; i++) { const r = await pageLoad(page, url, { cache: "opfs" }); assert.ok(r.ok, r.message); }
      const r = isolated.requests.filter((q) => q.path === url);
      assert.equal(r.map((q) => q.method), ["GET", "HEAD"]);
      const files = await page.evaluate(async () => {
        const d = await (await navigator.storage.getDirectory()).getDirectoryHandle("dbllm-models-v1");
        const out: string[] = [];
        for await (const k of (d as unknown as { keys(): AsyncIterable<string> }).keys()) out.push(k);
        return out.sort();
      });
      assert.is(files.length, 2, files.join(", "));
      assert.ok(files[0].endsWith(".bin") && files[1].endsWith(".json"));
    } finally {
      await page.close();
    }
  });

  test("progress arrives during the download; AbortSignal aborts the fetch and the load (ABORTED); partial downloads are never cached", async () => {
    const page = await context.newPage();
    await page.goto(`${plain.url}/examples/browser/`);
    // the .dbllm file: its header is read exactly, so tensors stream in while the download runs (a GGUF
    // header is parsed from a growing prefix of 1 MiB: this tiny GGUF would arrive whole before the first tensor)
    const url = "/models/model.dbllm?slow";
    const size = statSync(dbllm).size;
    const gets = () => plain.requests.filter((q) => q.path === url && q.method === "GET");
    try {
      const aborted = await pageLoad(page, url, { abortOnProgress: true });
      assert.is(aborted.ok, false);
      assert.is(aborted.code, "ABORTED", aborted.message);
      await new Promise((r) => setTimeout(r, 100));
      const g = gets();
      assert.is(g.length, 1);
      assert.ok(g[0].aborted && g[0].bytes < size, `the download went on after the abort (${g[0].bytes} of ${size} bytes sent)`);
      // the next load downloads again (the aborted one left no entry) and reports progress while it arrives
      const r = await pageLoad(page, url);
      assert.ok(r.ok, r.message);
      assert.is(gets().length, 2, "an aborted download was served from the cache");
      const during = r.progress.filter(([, loaded, total]) => loaded > 0 && loaded < total);
      assert.ok(during.length >= 5, `only ${during.length} progress reports during the download`);
      const spread = during[during.length - 1][0] - during[0][0];
      assert.ok(spread > 100, `progress reports came within ${spread.toFixed(0)} ms of each other, not while the throttled download ran`);
      assert.is(r.progress[r.progress.length - 1][1], r.progress[r.progress.length - 1][2]);
      // a download that breaks off half-way fails the load and leaves nothing in the cache
      const cut = "/models/model.dbllm?truncate";
      const broken = await pageLoad(page, cut);
      assert.is(broken.ok, false);
      assert.ok(broken.code === "IO" || broken.code === "TRUNCATED_FILE", `${broken.code}: ${broken.message}`);
      assert.is(await page.evaluate(async (u) => (await (await caches.open("dbllm-models-v1")).match(new URL(u, location.href).href)) === undefined, cut), true);
    } finally {
      await page.close();
    }
  });

  test("cache: a full quota only turns caching off (the load succeeds from memory)", async () => {
    const page = await context.newPage();
    await page.goto(`${isolated.url}/examples/browser/`);
    const url = "/models/quota.gguf";
    const gets = () => isolated.requests.filter((q) => q.path === url && q.method === "GET").length;
    const cdp = await context.newCDPSession(page);
    await cdp.send("Storage.overrideQuotaForOrigin", { origin: isolated.url, quotaSize: 64 << 10 });
    try {
      // 1. the quota estimate says it cannot fit: caching is skipped up front
      assert.ok((await pageLoad(page, url)).ok);
      // 2. the estimate is wrong (as it can be): cache.put fails with QuotaExceededError mid-download. The wrong
      // estimate is patched into the page, so the model loads on the page (a worker has its own navigator)
      await page.evaluate(() => { navigator.storage.estimate = async () => ({ quota: 1e12, usage: 0 }); });
      const lines = consoleLines.length;
      const r = await pageLoad(page, url, { generate: { prompt: "Hi", maxTokens: 4 }, worker: false });
      assert.ok(r.ok, r.message);
      assert.is(r.ids!.length, 4);
      assert.ok(consoleLines.slice(lines).some((l) => /QuotaExceeded/.test(l) && /not caching/.test(l)), `no quota warning: ${consoleLines.slice(lines).join(" | ")}`);
      assert.ok((await pageLoad(page, url)).ok);
      assert.is(gets(), 3, "a load was served from a cache entry that did not fit the quota");
    } finally {
      await cdp.send("Storage.overrideQuotaForOrigin", { origin: isolated.url });
      await page.close();
    }
  });
}
