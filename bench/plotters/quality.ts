// Plotters for the accuracy results: perplexity per model and kernel (bench/accuracy.ts) and the default model's
// held-out perplexities (bench/results/default-model.json, written when the default model changes).
import { markdownTable } from "../lib/markdown-table.ts";
import { perplexity } from "../lib/number-format.ts";
import type { JsonNode } from "../lib/plot-input.ts";
import type { BarChart } from "../lib/plot-svg.ts";
import { provenance, type Plot, type Plotter } from "./plotter.ts";

const EXACT = "#4e79a7", FAST = "#f28e2b";

/** Bits per weight as the file states them: 32, 8.5, 2.44; llama.cpp's are per parameter of the whole file. */
function bits(r: JsonNode): string {
  const linear = r.opt("linearBitsPerWeight")?.num();
  if (linear !== undefined) return String(Number(linear.toFixed(2)));
  const file = r.opt("fileBitsPerParameter")?.num();
  return file !== undefined ? `${Number(file.toFixed(2))} (file)` : "–";
}

/** bench/accuracy.ts: bench/results/accuracy-<model>.json — rows of one model per kernel, "…, exact kernel" / "…, fast kernel". */
export const accuracy: Plotter = {
  files: /^accuracy(-[\w.-]+)?\.json$/,
  plot(j): Plot {
    const models: { label: string; engine: string; bits: string; exact: number | null; fast: number | null }[] = [];
    for (const r of j.get("rows").items()) {
      const label = r.get("label").str();
      const fast = r.opt("kernel")?.str() === "lut";
      const name = label.replace(/,\s*(exact|fast) kernel$/, "");
      let m = models.find((x) => x.label === name);
      if (!m) models.push(m = { label: name, engine: r.get("engine").str(), bits: bits(r), exact: null, fast: null });
      m[fast ? "fast" : "exact"] = r.get("perplexity").num();
    }
    if (!models.length) j.get("rows").fail("no rows");
    const text = j.opt("text")?.str();
    const chart: BarChart = {
      title: `Perplexity per model and kernel${text ? `: ${text}` : ""}`,
      axis: "perplexity (log scale; shorter is better)",
      scale: "log",
      format: perplexity,
      categories: models.map((m) => m.engine === "dbllm" || m.label.includes(m.engine) ? m.label : `${m.label} (${m.engine})`),
      series: [
        { name: "exact kernel (lut-exact), or the model's only kernel", values: models.map((m) => m.exact), color: EXACT },
        { name: "fast kernel (lut, the default)", values: models.map((m) => m.fast), color: FAST },
      ],
    };
    const how = [j.opt("tokens") && `${j.get("tokens").text()} tokens`, j.opt("ctx") && `${j.get("ctx").text()}-token windows`, j.opt("teacher")?.opt("file")?.str()].filter(Boolean).join(", ");
    return {
      figure: { title: "Accuracy: held-out perplexity per model and kernel", subtitle: [provenance(j), how].filter(Boolean).join(" · "), charts: [chart] },
      tables: markdownTable(
        ["model", "engine", "bits / weight", "exact kernel", "fast kernel (default)"],
        models.map((m) => [m.label, m.engine, m.bits, m.exact === null ? "" : perplexity(m.exact), m.fast === null ? "" : perplexity(m.fast)]),
        ["l", "l"],
      ),
    };
  },
};

/** bench/results/default-model.json: held-out perplexities and chat-probe hits of the default model, its predecessor and the teacher. */
export const defaultModel: Plotter = {
  files: /^default-model\.json$/,
  plot(j): Plot {
    const models = j.get("results").entries();
    if (!models.length) j.get("results").fail("no model");
    const metrics: string[] = [];
    for (const [, m] of models) for (const [k] of m.entries()) if (!k.startsWith("chat_probe") && !metrics.includes(k)) metrics.push(k);
    const value = (m: JsonNode, k: string) => m.opt(k)?.num() ?? null;
    // Bars per held-out text: the default (fast) kernel's perplexity, or the only one a model has (the float
    // teacher), then the exact kernel's where measured. "moby-heldout-10 (fast)" → text "moby-heldout-10".
    const texts: string[] = [];
    for (const k of metrics) { const t = k.replace(/ \((fast|exact)\)$/, ""); if (!texts.includes(t)) texts.push(t); }
    const series = texts.flatMap((t) => {
      const main = { name: t, values: models.map(([, m]) => value(m, `${t} (fast)`) ?? value(m, t)) };
      const exact = models.map(([, m]) => value(m, `${t} (exact)`));
      return exact.some((v) => v !== null) ? [main, { name: `${t}, exact kernel`, values: exact }] : [main];
    });
    const chart: BarChart = {
      title: "Held-out perplexity per text (fast kernel, the default, unless marked exact)",
      axis: "perplexity (shorter is better)",
      format: perplexity,
      categories: models.map(([name]) => name),
      series,
    };
    const probe = models.some(([, m]) => m.has("chat_probe_hits"));
    const scored = j.opt("scored_tokens")?.text(), ctx = j.opt("ctx")?.text();
    return {
      figure: {
        title: "The default model: held-out perplexity",
        subtitle: [provenance(j), scored && `${scored} scored tokens`, ctx && `${ctx}-token windows`].filter(Boolean).join(" · "),
        charts: [chart],
      },
      tables: markdownTable(
        ["model", ...metrics, ...(probe ? ["chat probe hits"] : [])],
        models.map(([name, m]) => [name, ...metrics.map((k) => { const v = value(m, k); return v === null ? "" : perplexity(v); }),
          ...(probe ? [m.opt("chat_probe_hits")?.text() ?? ""] : [])]),
      ),
    };
  },
};
