// Plotters for the distillation results (Python, bench/distill/): perplexity per quantization method and
// training (run.py's distill-summary.json), the loss ablation (ablation.py) and training throughput (throughput.py).
import { markdownTable } from "../lib/markdown-table.ts";
import { fixed, gib, grouped, percent, perplexity } from "../lib/number-format.ts";
import type { JsonNode } from "../lib/plot-input.ts";
import type { BarChart } from "../lib/plot-svg.ts";
import { provenance, type Plot, type Plotter } from "./plotter.ts";

const heldout = (j: JsonNode): string | undefined => j.opt("heldout")?.str();

/** bench/distill/run.py: distill-summary.json (one row per model; the per-model distill-<name>.json hold the same numbers). */
export const distill: Plotter = {
  files: /^distill-summary\.json$/,
  through: /^distill-(?!summary\.|ablation-|throughput-)[\w.-]+\.json$/,
  plot(j): Plot {
    const rows = j.get("rows").items().map((r) => ({
      name: r.get("name").str(),
      ppl: r.get("perplexity").num(),
      group: r.opt("group_size")?.text(),
      tokens: r.opt("budget")?.opt("tokens")?.num(),
      seconds: r.opt("budget")?.opt("train_seconds")?.num(),
    }));
    if (!rows.length) j.get("rows").fail("no rows");
    rows.sort((a, b) => a.ppl - b.ppl || (a.name < b.name ? -1 : 1));
    const chart: BarChart = {
      title: `Perplexity per model${heldout(j) ? ` on the ${heldout(j)}` : ""}`,
      axis: "perplexity (log scale; shorter is better)",
      scale: "log",
      format: perplexity,
      categories: rows.map((r) => r.name),
      series: [{ name: "perplexity", values: rows.map((r) => r.ppl) }],
    };
    const how = [j.opt("kernel") && `kernel ${j.get("kernel").text()}`, j.opt("ctx") && `${j.get("ctx").text()}-token windows`, j.opt("teacher")?.str()].filter(Boolean).join(", ");
    return {
      figure: { title: "Distillation: held-out perplexity per quantization and training", subtitle: [provenance(j), how].filter(Boolean).join(" · "), charts: [chart] },
      tables: markdownTable(
        ["model", "group", "perplexity", "training tokens", "training seconds"],
        rows.map((r) => [r.name, r.group ?? "–", perplexity(r.ppl), r.tokens === undefined ? "–" : grouped(r.tokens), r.seconds === undefined ? "–" : grouped(r.seconds)]),
      ),
    };
  },
};

/** bench/distill/ablation.py: distill-ablation-<device>.json, one row per loss variant, perplexity per held-out text. */
export const distillAblation: Plotter = {
  files: /^distill-ablation-[\w.-]+\.json$/,
  plot(j): Plot {
    const rows = j.get("rows").items();
    if (!rows.length) j.get("rows").fail("no rows");
    const texts: string[] = [];
    for (const r of rows) for (const [t] of r.get("perplexity").entries()) if (!texts.includes(t)) texts.push(t);
    const textName = (t: string) => t.replace(/\.(npy|txt)$/, "");
    const ppl = (r: JsonNode, t: string) => r.get("perplexity").opt(t)?.num() ?? null;
    const s = j.opt("settings");
    const how = s ? [s.opt("steps") && `${s.get("steps").text()} steps`, s.opt("batch_size") && s.opt("seq_len") && `batch ${s.get("batch_size").text()} × ${s.get("seq_len").text()}`, s.opt("device")?.text()].filter(Boolean).join(", ") : "";
    const best = j.opt("best")?.str();
    return {
      figure: {
        title: "Distillation losses: held-out perplexity per variant, same data and steps",
        subtitle: [provenance(j), how].filter(Boolean).join(" · "),
        charts: [{
          title: "Perplexity per held-out text",
          axis: "perplexity (shorter is better)",
          format: fixed(2),
          categories: rows.map((r) => r.get("variant").str()),
          series: texts.map((t) => ({ name: textName(t), values: rows.map((r) => ppl(r, t)) })),
        }],
        note: best ? `Best (geometric mean over the texts): ${best}.` : undefined,
      },
      tables: markdownTable(
        ["variant", "γ", "weighting", ...texts.map(textName), "vs KD (geometric mean)"],
        rows.map((r) => [r.get("variant").str(), r.opt("gamma")?.text() ?? "–", r.opt("weighting")?.text() ?? "–",
          ...texts.map((t) => { const v = ppl(r, t); return v === null ? "–" : fixed(2)(v); }),
          r.opt("vs_kd") ? percent(r.get("vs_kd").num()) : "–"]),
        ["l", "r", "l"],
      ) + (best ? `\n\nBest: ${best}.` : ""),
    };
  },
};

/** bench/distill/throughput.py: distill-throughput-<device>.json, tokens/s of full training steps per batch size. */
export const distillThroughput: Plotter = {
  files: /^distill-throughput-[\w.-]+\.json$/,
  plot(j): Plot {
    const rows = j.get("rows").items().map((r) => ({
      label: `batch ${r.get("batch").text()} × ${r.get("seq_len").text()}${r.opt("compiled")?.value === true ? ", compiled" : ""}`,
      tps: r.opt("tokens_per_s")?.num() ?? null,
      step: r.opt("median_step_s")?.num(),
      memory: r.opt("peak_memory_bytes")?.num(),
      error: r.opt("error")?.str(),
    }));
    if (!rows.length) j.get("rows").fail("no rows");
    const device = j.opt("device")?.str();
    return {
      figure: {
        title: "Distillation training throughput: tokens/s per batch",
        subtitle: [provenance(j), device, j.opt("precision")?.str(), j.opt("shape") && `${j.get("shape").text()} shape`].filter(Boolean).join(" · "),
        charts: [{
          title: device ?? "training steps",
          axis: "training tokens per second (median step)",
          format: fixed(1),
          categories: rows.map((r) => r.label),
          series: [{ name: "tokens/s", values: rows.map((r) => r.tps) }],
        }],
      },
      tables: markdownTable(
        ["batch × tokens", "tokens/s", "step", "peak memory"],
        rows.map((r) => [r.label, r.tps === null ? (r.error ?? "–") : fixed(1)(r.tps), r.step === undefined ? "–" : `${fixed(1)(r.step)} s`, r.memory === undefined ? "–" : gib(r.memory)]),
      ),
    };
  },
};
