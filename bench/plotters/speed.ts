// Plotters for the speed reports: tok/s per engine and thread count (bench/e2e.ts, bench/e2e-f32.ts,
// bench/threads.ts) and GOPS per kernel (bench/gemv.ts).
import { markdownTable } from "../lib/markdown-table.ts";
import { fixed, times } from "../lib/number-format.ts";
import type { JsonNode } from "../lib/plot-input.ts";
import type { BarChart } from "../lib/plot-svg.ts";
import { DECODE, PREFILL, provenance, type Plot, type Plotter } from "./plotter.ts";

const tokS = fixed(1);

function expectBenchmark(j: JsonNode, name: string): void {
  const b = j.get("benchmark");
  if (b.str() !== name) b.fail(`expected "${name}", got "${b.str()}"`);
}

/** A prefill/decode chart over rows of one panel. */
function tokChart(title: string, rows: { label: string; prefill: number; decode: number }[], axis = "tokens per second (median)"): BarChart {
  return {
    title, axis, format: tokS,
    categories: rows.map((r) => r.label),
    series: [
      { name: "prefill", values: rows.map((r) => r.prefill), color: PREFILL },
      { name: "decode", values: rows.map((r) => r.decode), color: DECODE },
    ],
  };
}

/** bench/e2e.ts: bench/results/e2e.json, e2e-threads.json and any other --name (not the f32 report's files). */
export const e2e: Plotter = {
  files: /^e2e(-(?!f32-)[\w.-]+)?\.json$/,
  plot(j): Plot {
    expectBenchmark(j, "e2e");
    const s = j.opt("settings");
    const threads = s?.opt("threads")?.text();
    const models = j.entries().filter(([, v]) => v.isObject() && v.has("medians"));
    if (!models.length) j.fail("no model with medians (expected e.g. \"TinyLlama-1.1B\": { medians: … })");
    const charts: BarChart[] = [];
    const tables: string[] = [];
    let llamaThreadsUnrecorded = false;
    for (const [model, m] of models) {
      const group = m.opt("group")?.num();
      const title = `${model}-shaped${group ? `, FDB g${group}` : ""}`;
      const ratios = m.opt("ratioToQ2K");
      const rows = m.get("medians").entries().map(([engine, e]) => {
        const first = e.opt("runs")?.items()[0];
        const count = first?.opt("threads")?.opt("count")?.num();
        if (count === undefined && engine.startsWith("llama.cpp")) llamaThreadsUnrecorded = true;
        const r = ratios?.opt(engine);
        return { label: engine, prefill: e.get("prefill").num(), decode: e.get("decode").num(), threads: count, ratio: r && { prefill: r.get("prefill").num(), decode: r.get("decode").num() } };
      });
      charts.push(tokChart(title, rows));
      const withRatio = rows.some((r) => r.ratio);
      tables.push(`**${title}**\n\n` + markdownTable(
        ["engine", "threads", "prefill tok/s", "decode tok/s", ...(withRatio ? ["prefill ÷ llama.cpp Q2_K", "decode ÷ llama.cpp Q2_K"] : [])],
        rows.map((r) => [r.label, r.threads === undefined ? (r.label.startsWith("llama.cpp") ? "1*" : "–") : String(r.threads), tokS(r.prefill), tokS(r.decode),
          ...(withRatio ? [r.ratio ? times(r.ratio.prefill) : "–", r.ratio ? times(r.ratio.decode) : "–"] : [])]),
        ["l", "r", "r", "r", "r", "r"],
      ));
    }
    const how = s ? `prompt ${s.opt("prompt")?.text() ?? "?"} tokens, decode ${s.opt("decode")?.text() ?? "?"}, kernels ${s.opt("kernels")?.text() ?? "?"}, threads ${threads ?? "?"}, median of ${s.opt("reps")?.text() ?? "?"} reps` : undefined;
    return {
      figure: {
        title: `End to end: prefill and decode tok/s per engine${threads?.includes(",") ? " and thread count" : ""}`,
        subtitle: [provenance(j), how].filter(Boolean).join(" · "),
        charts,
        note: "Random weights of the real shapes; configurations interleaved in one run, each in a fresh process. Longer is faster.",
      },
      tables: tables.join("\n\n") + (llamaThreadsUnrecorded ? "\n\n\\* llama.cpp runs one thread in bench/e2e.ts; its runs do not record a thread count." : ""),
    };
  },
};

/** bench/e2e-f32.ts: bench/results/e2e-f32-<build>.json. */
export const f32: Plotter = {
  files: /^e2e-f32-[\w.-]+\.json$/,
  plot(j): Plot {
    expectBenchmark(j, "e2e-f32");
    const s = j.opt("settings");
    const d = j.get("dbllm"), l = j.get("llamaCpp");
    const build = s?.opt("kernels")?.text();
    const rows = [
      { label: `dbllm f32${build ? ` (${build} build)` : ""}`, prefill: d.get("prefillTokPerSec").num(), decode: d.get("decodeTokPerSec").num() },
      { label: `llama.cpp F32${l.opt("version") ? ` (${l.get("version").str()})` : ""}`, prefill: l.get("prefillTokPerSec").num(), decode: l.get("decodeTokPerSec").num() },
    ];
    const threads = s?.opt("threads")?.text();
    const how = s ? `prompt ${s.opt("promptTokens")?.text() ?? "?"} tokens, decode ${s.opt("decodeTokens")?.text() ?? "?"}, ${threads ?? "?"} thread${threads === "1" ? "" : "s"} each, median of ${s.opt("reps")?.text() ?? "?"} reps` : undefined;
    const model = j.opt("model");
    return {
      figure: {
        title: "f32 path vs llama.cpp: prefill and decode tok/s",
        subtitle: [provenance(j), how].filter(Boolean).join(" · "),
        charts: [tokChart(model ? `${model.opt("file")?.text() ?? "model"}, dim ${model.opt("dim")?.text() ?? "?"}, ${model.opt("nLayers")?.text() ?? "?"} layers` : "f32 model", rows)],
      },
      tables: markdownTable(
        ["engine", "prefill tok/s (median)", "decode tok/s (median)"],
        [...rows.map((r) => [r.label, tokS(r.prefill), tokS(r.decode)]),
          ["**dbllm ÷ llama.cpp**", times(rows[0].prefill / rows[1].prefill), times(rows[0].decode / rows[1].decode)]],
      ),
    };
  },
};

/** bench/threads.ts: bench/results/threads.json (models → conditions → configurations). */
export const threads: Plotter = {
  files: /^threads\.json$/,
  plot(j): Plot {
    const models = j.entries().filter(([k, v]) => k !== "machine" && v.isObject());
    if (!models.length) j.fail("no model (expected e.g. \"TinyLlama-1.1B\": { idle: { \"1 thread\": … } })");
    const charts: BarChart[] = [];
    const rows: string[][] = [];
    for (const [model, m] of models) {
      const bars: { label: string; prefill: number; decode: number }[] = [];
      for (const [condition, c] of m.entries()) {
        for (const [config, r] of c.entries()) {
          const prefill = r.get("prefill").num(), decode = r.get("decode").num();
          bars.push({ label: `${condition} · ${config}`, prefill, decode });
          rows.push([model, condition, config, tokS(prefill), tokS(decode), r.opt("prefillVsOne") ? times(r.get("prefillVsOne").num()) : "–", r.opt("decodeVsOne") ? times(r.get("decodeVsOne").num()) : "–"]);
        }
      }
      charts.push(tokChart(`${model}-shaped`, bars));
    }
    const busy = j.opt("busy")?.str();
    return {
      figure: {
        title: "Threads, idle and with a core taken: tok/s per thread count",
        subtitle: provenance(j),
        charts,
        note: busy ? `"one core busy": ${busy}.` : undefined,
      },
      tables: markdownTable(["model", "condition", "threads", "prefill tok/s", "decode tok/s", "prefill ÷ 1 thread", "decode ÷ 1 thread"], rows, ["l", "l", "l", "r", "r", "r", "r"]),
    };
  },
};

/** The kernel build's colours: dark for hot (weights in cache), light for cold (streamed). */
const BUILD_COLORS = [["#4e79a7", "#a0cbe8"], ["#f28e2b", "#ffbe7d"], ["#59a14f", "#8cd17d"], ["#b07aa1", "#d4a6c8"]];

/** bench/gemv.ts: bench/results/gemv.json (builds → matrix shapes → kernels → hot/cold GOPS). */
export const gemv: Plotter = {
  files: /^gemv\.json$/,
  plot(j): Plot {
    expectBenchmark(j, "gemv");
    const builds = j.get("runs").entries();
    if (!builds.length) j.get("runs").fail("no kernel build");
    const shapes: string[] = [], kernels: string[] = [];
    const at = new Map<string, { hot: number; cold: number; bytes?: number }>();
    const key = (b: string, s: string, k: string) => JSON.stringify([b, s, k]);
    for (const [build, b] of builds) {
      for (const [shape, sh] of b.entries()) {
        if (!shapes.includes(shape)) shapes.push(shape);
        for (const [kernel, k] of sh.entries()) {
          if (!kernels.includes(kernel)) kernels.push(kernel);
          at.set(key(build, shape, kernel), { hot: k.get("hot").num(), cold: k.get("cold").num(), bytes: k.opt("bytes")?.num() });
        }
      }
    }
    const unit = j.opt("unit")?.str() ?? "GOPS";
    const charts: BarChart[] = shapes.map((shape) => ({
      title: `${shape.replace("x", "×")} matrix, one thread`,
      axis: `${unit} (hot: the same matrix again, in cache; cold: a new copy each call)`,
      format: fixed(1),
      categories: kernels,
      series: builds.flatMap(([build], bi) => (["hot", "cold"] as const).map((hc, i) => ({
        name: `${build} ${hc}`,
        color: BUILD_COLORS[bi % BUILD_COLORS.length][i],
        values: kernels.map((k) => at.get(key(build, shape, k))?.[hc] ?? null),
      }))),
    }));
    // The cold run of the largest shape as DRAM bandwidth: bytes per call ÷ (ops per call ÷ GOPS) = bytes · GOPS ÷ ops GB/s.
    const sized = shapes.map((s) => ({ s, mk: /^(\d+)x(\d+)$/.exec(s) })).filter((x) => x.mk).map((x) => ({ s: x.s, ops: 2 * Number(x.mk![1]) * Number(x.mk![2]) }));
    const largest = sized.sort((a, b) => b.ops - a.ops)[0];
    const rows: string[][] = [];
    for (const [build] of builds) {
      for (const kernel of kernels) {
        const cells = shapes.flatMap((s) => {
          const v = at.get(key(build, s, kernel));
          return v ? [fixed(1)(v.hot), fixed(1)(v.cold)] : ["–", "–"];
        });
        const big = largest && at.get(key(build, largest.s, kernel));
        const gbs = big?.bytes !== undefined ? fixed(1)((big.bytes * big.cold) / largest.ops) : "–";
        rows.push([kernel, build, ...cells, ...(largest ? [gbs] : [])]);
      }
    }
    return {
      figure: { title: "GEMV kernels: GOPS per kernel, hot and cold, per wasm build", subtitle: provenance(j), charts, note: `${unit}; T = 1. Longer is faster.` },
      tables: markdownTable(
        ["kernel", "build", ...shapes.flatMap((s) => [`${s.replace("x", "×")} hot`, `${s.replace("x", "×")} cold`]), ...(largest ? [`cold GB/s (${largest.s.replace("x", "×")})`] : [])],
        rows, ["l", "l"],
      ) + `\n\n${unit}, one thread.`,
    };
  },
};

/** bench/browser.ts: bench/results/browser.json (dbllm vs wllama in Chromium, per thread count). */
export const browser: Plotter = {
  files: /^browser\.json$/,
  plot(j): Plot {
    const configs = j.get("configs").items();
    if (!configs.length) j.get("configs").fail("no configuration");
    const counts = [...new Set(configs.map((c) => c.get("threads").num()))].sort((a, b) => a - b);
    const charts = counts.map((n) => tokChart(`${n} thread${n === 1 ? "" : "s"}`, configs.filter((c) => c.get("threads").num() === n)
      .map((c) => ({ label: c.get("label").str(), prefill: c.get("prefill").num(), decode: c.get("decode").num() }))));
    const rows = configs.map((c) => [c.get("label").str(), c.get("threads").text(), tokS(c.get("prefill").num()), tokS(c.get("decode").num())]);
    const ratios = j.opt("ratios")?.items() ?? [];
    const ratioRows = ratios.map((r) => [r.get("threads").text(), tokS(r.get("dbllmDecode").num()), times(r.get("vsQ2K").num()), `${times(r.get("vsFastest").num())} (${r.get("fastestWllama").str()})`]);
    return {
      figure: {
        title: "Browser (headless Chromium): dbllm vs wllama, tok/s per engine and thread count",
        subtitle: [provenance(j), `Chromium ${j.opt("chromium")?.text() ?? "?"}`, j.opt("wllama")?.opt("package")?.text()].filter(Boolean).join(" · "),
        charts,
        note: "SmolLM2-135M-Instruct: dbllm's embedded 2-bit model, wllama on GGUFs llama.cpp made from the same teacher. Medians over reps, each in a fresh page. Longer is faster.",
      },
      tables: markdownTable(["configuration", "threads", "prefill tok/s", "decode tok/s"], rows, ["l", "r", "r", "r"])
        + (ratioRows.length ? "\n\n" + markdownTable(["threads", "dbllm decode tok/s", "÷ wllama Q2_K", "÷ wllama's fastest"], ratioRows, ["r", "r", "r", "l"]) : ""),
    };
  },
};

/** bench/profile.ts: bench/results/profile.json (ms per token per kernel, prefill and decode, per build). */
export const profile: Plotter = {
  files: /^profile\.json$/,
  plot(j): Plot {
    expectBenchmark(j, "profile");
    const runs = j.entries().filter(([, v]) => v.isObject() && v.has("macsPerToken"));
    if (!runs.length) j.fail("no run (expected e.g. \"TinyLlama-1.1B simd\": { prefill: …, decode: … })");
    const charts: BarChart[] = [];
    const rows: string[][] = [];
    for (const [run, r] of runs) {
      const share = (phase: string) => new Map(r.get(phase).get("rows").items().map((x) => [x.get("fn").str(), x.get("msPerToken").num()]));
      const pre = share("prefill"), dec = share("decode");
      // the functions that take at least 1 % of either phase, largest decode first
      const fns = [...new Set([...dec.keys(), ...pre.keys()])].filter((f) => (dec.get(f) ?? 0) >= 0.01 * r.get("decode").get("msPerToken").num() || (pre.get(f) ?? 0) >= 0.01 * r.get("prefill").get("msPerToken").num())
        .sort((a, b) => (dec.get(b) ?? 0) - (dec.get(a) ?? 0));
      charts.push({
        title: run, axis: "ms per token (V8 sampling profiler, self time)", format: fixed(2), categories: fns,
        series: [{ name: "prefill", values: fns.map((f) => pre.get(f) ?? 0), color: PREFILL }, { name: "decode", values: fns.map((f) => dec.get(f) ?? 0), color: DECODE }],
      });
      for (const phase of ["prefill", "decode"]) {
        const p = r.get(phase), g = p.get("gops");
        rows.push([run, phase, tokS(p.get("tokensPerSecond").num()), fixed(2)(p.get("msPerToken").num()),
          g.opt("blocks") ? tokS(g.get("blocks").num()) : "–", g.opt("head") && phase === "decode" ? tokS(g.get("head").num()) : "–"]);
      }
    }
    return {
      figure: { title: "Where a token's time goes: ms per token per function, one thread", subtitle: provenance(j), charts, note: "Self time per wasm kernel (named from the module's exports) and for JavaScript by file. Longer takes more time." },
      tables: markdownTable(["run", "phase", "tok/s", "profiled ms/token", "block matrices GOPS", "output head GOPS"], rows, ["l", "l", "r", "r", "r", "r"]),
    };
  },
};
