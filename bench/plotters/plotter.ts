// What a plotter is (bench/plots.ts keeps the registry): for the results files of one report, a figure for
// docs/plots/<file>.svg and the markdown tables for docs/plots/<file>.md, both from the same parsed JSON.
import type { JsonNode } from "../lib/plot-input.ts";
import type { Figure } from "../lib/plot-svg.ts";

export interface Plot {
  figure: Figure;
  /** Markdown: the tables (and their footnotes) of this results file. */
  tables: string;
}

export interface Plotter {
  /** The results files (names in bench/results/) this plotter draws, one plot each. */
  files: RegExp;
  /** Results files whose numbers reach the plots through another file (distill-summary.json), not drawn alone. */
  through?: RegExp;
  /** Reads one results file; a shape it does not know throws PlotInputError (JsonNode's accessors do). */
  plot(json: JsonNode): Plot;
}

/** Series colours used across the speed plots, so prefill and decode look the same everywhere. */
export const PREFILL = "#4e79a7";
export const DECODE = "#f28e2b";

/** Where a result comes from: the file, the machine, the date (whichever of them the file records). */
export function provenance(j: JsonNode): string {
  const parts = [j.file];
  const m = j.opt("machine");
  if (m?.isObject()) {
    const cpu = m.opt("cpu")?.text();
    const cores = m.opt("cores") ?? m.opt("cpus");
    const hw = [cpu, cores && `${cores.text()} cores`].filter(Boolean).join(", ");
    if (hw) parts.push(hw);
    const rt = m.opt("node") ? `Node ${m.get("node").text()}` : m.opt("python") ? `Python ${m.get("python").text()}` : undefined;
    if (rt) parts.push(rt);
  }
  const date = m?.isObject() ? m.opt("date") ?? j.opt("date") : j.opt("date");
  if (date) parts.push(date.text().slice(0, 10));
  return parts.join(" · ");
}
