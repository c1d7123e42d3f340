// The demo page: load a model (URL or local file) with a progress bar, then stream generations with a stop
// button and live tokens per second. Everything dbllm offers a page goes through its public API. The model runs
// in a dedicated Web Worker (loadModel's default on a page), so the page stays responsive while it generates:
// the stats show the longest task the page's main thread ran meanwhile (?worker=0 runs the model on the page).
import { loadModel } from "dbllm";

const $ = (id) => document.getElementById(id);
const ui = {
  url: $("model-url"), file: $("model-file"), cache: $("use-cache"), load: $("load"), progress: $("progress"),
  loadStatus: $("load-status"), threads: $("threads"), runsIn: $("runs-in"), prompt: $("prompt"), maxTokens: $("max-tokens"),
  temperature: $("temperature"), generate: $("generate"), stop: $("stop"), output: $("output"), stats: $("stats"),
};

let model; // the loaded Model
let running; // AbortController of the load or generation in progress
// ?model=<url> preselects a model; ?load loads it right away; ?threads=N asks for N threads; ?worker=0 keeps the
// model on the page's main thread
const params = new URLSearchParams(location.search);
const threads = params.has("threads") ? Number(params.get("threads")) : undefined;
const worker = params.get("worker") === "0" ? false : undefined;

const mib = (n) => `${(n / 2 ** 20).toFixed(1)} MiB`;
const setStatus = (el, text, cls = "muted") => { el.textContent = text; el.className = cls; };

function busy(controller) {
  running = controller;
  ui.stop.disabled = !controller;
  ui.load.disabled = !!controller;
  ui.file.disabled = !!controller;
  ui.generate.disabled = !!controller || !model;
}

async function load(source, label) {
  const controller = new AbortController();
  busy(controller);
  model?.dispose();
  model = undefined;
  ui.progress.value = 0;
  ui.threads.textContent = "";
  ui.runsIn.textContent = "";
  setStatus(ui.loadStatus, `Loading ${label}…`);
  const t0 = performance.now();
  try {
    model = await loadModel(source, {
      signal: controller.signal,
      cache: ui.cache.checked,
      threads, // undefined: dbllm's default (one thread for models under 128 MiB of weights)
      worker, // undefined: dbllm's default on a page, a dedicated Web Worker
      onProgress: (p) => {
        ui.progress.value = p.fraction;
        const s = (performance.now() - t0) / 1000;
        setStatus(ui.loadStatus, `Loading ${label}: ${mib(p.loaded)} of ${mib(p.total)} (${(p.loaded / 2 ** 20 / Math.max(s, 1e-3)).toFixed(1)} MiB/s)`);
      },
    });
    const info = model.info();
    const s = ((performance.now() - t0) / 1000).toFixed(2);
    setStatus(ui.loadStatus, `${info.name} — ${info.architecture}, ${(info.parameters / 1e6).toFixed(1)} M parameters, ` +
      `${mib(info.weightBytes)} of weights, kernels ${info.kernels.build} (fdb: ${info.kernels.fdb}); loaded in ${s} s` +
      (info.hasChatTemplate ? "; chat template" : ""));
    setStatus(ui.threads, `threads: ${info.threads.count} — ${info.threads.reason}`, info.threads.count > 1 ? "muted" : "warn");
    ui.threads.dataset.count = String(info.threads.count);
    setStatus(ui.runsIn, `runs in ${info.runsIn.reason}`, info.runsIn.worker ? "muted" : "warn");
    ui.runsIn.dataset.worker = String(info.runsIn.worker);
  } catch (e) {
    setStatus(ui.loadStatus, e.code === "ABORTED" ? "Loading stopped." : `Could not load ${label}: ${e.message}`, e.code === "ABORTED" ? "warn" : "error");
    ui.progress.value = 0;
  } finally {
    busy(undefined);
  }
}

async function generate() {
  const controller = new AbortController();
  busy(controller);
  ui.output.textContent = "";
  setStatus(ui.stats, "prefill…");
  const options = {
    signal: controller.signal,
    maxTokens: Number(ui.maxTokens.value) || 256,
    temperature: Number(ui.temperature.value),
    onContextFull: "slide", // keep going past the context (drops the older half) until max tokens or Stop
  };
  const prompt = ui.prompt.value;
  const stream = model.info().hasChatTemplate ? model.chat([{ role: "user", content: prompt }], options) : model.generate(prompt, options);
  let n = 0, first = 0;
  const blocked = watchMainThread();
  try {
    for await (const chunk of stream) {
      if (n++ === 0) first = performance.now();
      ui.output.textContent += chunk.text;
      const s = (performance.now() - first) / 1000;
      if (n > 1) setStatus(ui.stats, `${n} tokens · ${((n - 1) / s).toFixed(1)} tok/s`);
    }
    const st = stream.stats;
    setStatus(ui.stats, `${st.generatedTokens} tokens · ${st.decodeTokensPerSecond.toFixed(1)} tok/s · prompt ${st.promptTokens} tokens at ` +
      `${st.prefillTokensPerSecond.toFixed(0)} tok/s · stopped: ${st.stopReason}${blocked.text()}`);
  } catch (e) {
    const s = (performance.now() - first) / 1000;
    if (e.code === "ABORTED") setStatus(ui.stats, `${n} tokens${n > 1 ? ` · ${((n - 1) / s).toFixed(1)} tok/s` : ""} · stopped by you${blocked.text()}`, "warn");
    else setStatus(ui.stats, `error: ${e.message}`, "error");
  } finally {
    blocked.stop();
    ui.stats.dataset.done = "true";
    busy(undefined);
  }
}

/**
 * The longest task this page's main thread ran from now on (the Long Tasks API reports tasks over 50 ms; Chromium
 * has it, other browsers may not): what a user feels as a frozen page.
 */
function watchMainThread() {
  let longest = 0;
  let observer;
  try {
    observer = new PerformanceObserver((list) => { for (const e of list.getEntries()) longest = Math.max(longest, e.duration); });
    observer.observe({ type: "longtask" });
  } catch {
    observer = undefined; // no Long Tasks API here
  }
  return {
    text: () => (!observer ? "" : longest ? ` · the page was blocked for up to ${longest.toFixed(0)} ms` : " · the page never blocked (no task over 50 ms)"),
    stop: () => observer?.disconnect(),
  };
}

ui.load.addEventListener("click", () => {
  const url = ui.url.value.trim();
  if (url) void load(new URL(url, location.href).href, url);
});
ui.file.addEventListener("change", () => {
  const f = ui.file.files?.[0];
  if (f) void load(f, f.name);
});
ui.generate.addEventListener("click", () => {
  delete ui.stats.dataset.done;
  void generate();
});
ui.stop.addEventListener("click", () => running?.abort());
ui.prompt.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && !ui.generate.disabled) ui.generate.click();
});

if (params.get("model")) ui.url.value = params.get("model");
if (params.has("load")) ui.load.click();
