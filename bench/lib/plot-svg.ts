// Horizontal grouped bar charts as plain SVG text, for the benchmark plots in docs/plots/ (bench/plots.ts).
// No dependency and no randomness: the same figure gives the same bytes, so a regenerated plot only shows up in
// a diff when its numbers changed. A figure is a title and one or more panels stacked vertically; a panel has one
// group of bars per category (an engine, a kernel, a model) and one bar per series in each group (prefill and
// decode, hot and cold), a value label at the end of every bar, and an axis with ticks and its unit below.
// Bar lengths are exact (widths printed to 10 significant digits): linear bars start at 0, log bars (values over
// several decades, such as perplexity) at the power of ten under the smallest value.
// Text widths are estimated from DejaVu Sans' advance widths (a wide sans-serif, so narrower fonts also fit).
import { grouped, powerOfTen } from "./number-format.ts";

export interface Series {
  name: string;
  /** One value per category; null draws no bar. */
  values: readonly (number | null)[];
  /** A CSS colour; by default the series' place in PALETTE. */
  color?: string;
}

export interface BarChart {
  title: string;
  /** The axis label with its unit: "tok/s", "GOPS (2·M·K/s)", "perplexity (log scale)". */
  axis: string;
  categories: readonly string[];
  series: readonly Series[];
  scale?: "linear" | "log";
  /** How a value is printed at the end of its bar (default: 3 significant digits). */
  format?: (v: number) => string;
}

export interface Figure {
  title: string;
  /** A line under the title: where the numbers come from (file, machine, date). */
  subtitle?: string;
  charts: readonly BarChart[];
  /** A line under the last panel. */
  note?: string;
}

/** Colour-blind-friendly defaults (Tableau 10), one per series in order. */
export const PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#b07aa1", "#edc948", "#9c755f", "#ff9da7", "#bab0ac"];

const WIDTH = 960;
const MARGIN = 16;
const FONT = 12;
const VALUE_FONT = 11;
const TITLE_FONT = 16;
const PANEL_FONT = 13;
const BAR = 14;
const BAR_GAP = 2;
const GROUP_GAP = 10;
const LABEL_GAP = 8;
const LABEL_MAX = 380;
/** Room for fonts a little wider than the estimate. */
const LABEL_SLACK = 1.06;
const MIN_PLOT = 320;
const FONT_FAMILY = "DejaVu Sans, Verdana, Arial, Helvetica, sans-serif";

/** Text as XML character data or an attribute value. */
export function escapeXml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&apos;");
}

/** Advance width of one character in em, after DejaVu Sans. */
function charWidth(ch: string): number {
  if ("ijl.,:;!|'`".includes(ch)) return 0.28;
  if (" ·".includes(ch)) return 0.32;
  if ("frt()[]{}-/\"".includes(ch)) return 0.4;
  if ("mwMW%@".includes(ch)) return 0.95;
  if (/[0-9]/.test(ch)) return 0.64;
  if (/[a-z]/.test(ch)) return 0.61;
  if (/[A-Z]/.test(ch)) return 0.72;
  return 0.84; // ×, ÷, γ, superscripts and the rest: on the wide side
}

/** Estimated width in pixels of `s` at font size `size` (bold: 8 % wider). */
export function textWidth(s: string, size: number, bold = false): number {
  let em = 0;
  for (const ch of s) em += charWidth(ch);
  return em * size * (bold ? 1.08 : 1);
}

/** `s` cut with an ellipsis to fit `max` pixels. */
function fit(s: string, size: number, max: number): string {
  if (textWidth(s, size) <= max) return s;
  const chars = [...s];
  while (chars.length && textWidth(`${chars.join("")}…`, size) > max) chars.pop();
  return `${chars.join("")}…`;
}

/** Words of `s` in lines no wider than `max` pixels. */
function wrap(s: string, size: number, max: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of s.split(/\s+/).filter(Boolean)) {
    const next = line ? `${line} ${word}` : word;
    if (line && textWidth(next, size) > max) { lines.push(line); line = word; } else line = next;
  }
  if (line) lines.push(line);
  return lines;
}

/** A coordinate, to 1/100 px. */
const px = (x: number): string => String(Number(x.toFixed(2)));
/** A bar's length, to 10 significant digits (the test holds lengths proportional to values within 1e-6). */
const len = (x: number): string => String(Number(x.toPrecision(10)));

export interface Scale {
  kind: "linear" | "log";
  /** The axis starts at lo (0, or a power of ten) and ends at hi. */
  lo: number;
  hi: number;
  ticks: number[];
  /** Where v sits on the axis, 0 at lo and 1 at hi. */
  at(v: number): number;
  label(v: number): string;
}

function niceStep(raw: number): number {
  const p = 10 ** Math.floor(Math.log10(raw));
  const f = raw / p;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}

function tickText(v: number, step: number): string {
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  if (decimals > 0) return v.toFixed(decimals);
  return grouped(v);
}

/** The axis of a chart: from 0 to a round number above the largest value, or by decades for a log chart. */
export function axisScale(chart: BarChart): Scale {
  const values = chart.series.flatMap((s) => s.values).filter((v): v is number => v !== null);
  for (const v of values) if (!Number.isFinite(v)) throw new Error(`${chart.title}: the value ${v} cannot be drawn`);
  if (chart.scale === "log") {
    if (values.some((v) => v <= 0)) throw new Error(`${chart.title}: a log scale needs values above 0`);
    const min = values.length ? Math.min(...values) : 1, max = values.length ? Math.max(...values) : 10;
    let loK = Math.floor(Math.log10(min));
    if (10 ** loK >= min) loK -= 1; // the smallest bar keeps a visible length
    const hiK = Math.max(loK + 1, Math.ceil(Math.log10(max)));
    const ticks: number[] = [];
    for (let k = loK; k <= hiK; k++) ticks.push(10 ** k);
    return {
      kind: "log", lo: 10 ** loK, hi: 10 ** hiK, ticks,
      at: (v) => (Math.log10(v) - loK) / (hiK - loK),
      label: (v) => {
        const k = Math.round(Math.log10(v));
        return k >= 0 && k <= 3 ? grouped(10 ** k) : k < 0 && k >= -2 ? (10 ** k).toFixed(-k) : powerOfTen(k);
      },
    };
  }
  if (values.some((v) => v < 0)) throw new Error(`${chart.title}: negative values need a chart with a zero line, which this one is not`);
  const max = values.length ? Math.max(...values) : 0;
  const step = max > 0 ? niceStep(max / 5) : 1;
  const hi = max > 0 ? step * Math.ceil(max / step - 1e-9) : 1;
  const ticks: number[] = [];
  for (let i = 0; i * step <= hi * (1 + 1e-9); i++) ticks.push(i * step);
  return { kind: "linear", lo: 0, hi, ticks, at: (v) => v / hi, label: (v) => tickText(v, step) };
}

/** The default value label: three significant digits, thousands grouped. */
export function defaultFormat(v: number): string {
  if (Math.abs(v) >= 1e6) return v.toExponential(2);
  if (Math.abs(v) >= 100) return grouped(v);
  return Number(v.toPrecision(3)).toString();
}

/** The whole figure as an SVG document. */
export function renderFigure(fig: Figure): string {
  for (const c of fig.charts) {
    for (const s of c.series) {
      if (s.values.length !== c.categories.length) throw new Error(`${c.title}: series "${s.name}" has ${s.values.length} values for ${c.categories.length} categories`);
    }
  }
  const scales = fig.charts.map(axisScale);
  const formats = fig.charts.map((c) => c.format ?? defaultFormat);
  // One label column and one plot width for every panel, so the panels line up.
  const labelW = Math.min(LABEL_MAX, Math.max(40, ...fig.charts.flatMap((c) => c.categories.map((t) => textWidth(t, FONT) * LABEL_SLACK))));
  const valueW = Math.max(30, ...fig.charts.flatMap((c, i) => c.series.flatMap((s) => s.values.filter((v): v is number => v !== null).map((v) => textWidth(formats[i](v), VALUE_FONT)))));
  const x0 = MARGIN + labelW + LABEL_GAP;
  const width = Math.max(WIDTH, x0 + MIN_PLOT + 6 + valueW + MARGIN);
  const plotW = width - x0 - 6 - valueW - MARGIN;
  const textMax = width - 2 * MARGIN;

  const out: string[] = [];
  let y = MARGIN;
  const text = (x: number, baseline: number, s: string, attrs = "") => out.push(`<text x="${px(x)}" y="${px(baseline)}"${attrs}>${escapeXml(s)}</text>`);

  y += TITLE_FONT;
  text(MARGIN, y, fit(fig.title, TITLE_FONT, textMax / 1.08), ` font-size="${TITLE_FONT}" font-weight="bold"`);
  if (fig.subtitle) {
    for (const line of wrap(fig.subtitle, FONT, textMax)) { y += FONT + 5; text(MARGIN, y, line, ` fill="#555"`); }
  }
  y += 14;

  for (const [ci, chart] of fig.charts.entries()) {
    const scale = scales[ci], format = formats[ci];
    const colors = chart.series.map((s, i) => s.color ?? PALETTE[i % PALETTE.length]);
    out.push(`<g class="chart" data-title="${escapeXml(chart.title)}" data-scale="${scale.kind}">`);
    y += PANEL_FONT;
    text(MARGIN, y, fit(chart.title, PANEL_FONT, textMax / 1.08), ` font-size="${PANEL_FONT}" font-weight="bold"`);
    y += 8;

    // The legend: one swatch per series, flowing left to right from the start of the bars.
    if (chart.series.length > 1) {
      let lx = x0;
      y += 2;
      for (const [si, s] of chart.series.entries()) {
        const w = 14 + textWidth(s.name, FONT) + 18;
        if (lx > x0 && lx + w > width - MARGIN) { lx = x0; y += 18; }
        out.push(`<rect x="${px(lx)}" y="${px(y)}" width="10" height="10" fill="${colors[si]}"/>`);
        text(lx + 14, y + 9.5, s.name);
        lx += w;
      }
      y += 18;
    }

    const groupH = chart.series.length * BAR + Math.max(0, chart.series.length - 1) * BAR_GAP;
    const top = y + 2;
    const bottom = top + chart.categories.length * (groupH + GROUP_GAP);
    // Bands behind every other group, then the grid, so bars and labels sit on top.
    for (let i = 1; i < chart.categories.length; i += 2) {
      out.push(`<rect x="${px(MARGIN)}" y="${px(top + i * (groupH + GROUP_GAP))}" width="${px(width - 2 * MARGIN)}" height="${px(groupH + GROUP_GAP)}" fill="#f4f4f4"/>`);
    }
    for (const t of scale.ticks) {
      const x = x0 + scale.at(t) * plotW;
      out.push(`<line x1="${px(x)}" y1="${px(top)}" x2="${px(x)}" y2="${px(bottom)}" stroke="#ddd" stroke-width="1"/>`);
    }
    for (const [gi, category] of chart.categories.entries()) {
      const gy = top + gi * (groupH + GROUP_GAP) + GROUP_GAP / 2;
      const shown = fit(category, FONT, labelW);
      out.push(`<text x="${px(x0 - LABEL_GAP)}" y="${px(gy + groupH / 2 + FONT * 0.35)}" text-anchor="end">${escapeXml(shown)}${shown !== category ? `<title>${escapeXml(category)}</title>` : ""}</text>`);
      for (const [si, s] of chart.series.entries()) {
        const v = s.values[gi];
        if (v === null) continue;
        const by = gy + si * (BAR + BAR_GAP);
        const w = Math.max(0, scale.at(v)) * plotW;
        out.push(`<rect class="bar" x="${px(x0)}" y="${px(by)}" width="${len(w)}" height="${BAR}" fill="${colors[si]}" data-category="${escapeXml(category)}" data-series="${escapeXml(s.name)}"><title>${escapeXml(`${category} · ${s.name}: ${format(v)}`)}</title></rect>`);
        text(x0 + w + 4, by + BAR / 2 + VALUE_FONT * 0.35, format(v), ` font-size="${VALUE_FONT}" fill="#333"`);
      }
    }
    // The axis: a baseline, ticks with their values, and the unit.
    out.push(`<line x1="${px(x0)}" y1="${px(bottom)}" x2="${px(x0 + plotW)}" y2="${px(bottom)}" stroke="#333" stroke-width="1"/>`);
    out.push(`<line x1="${px(x0)}" y1="${px(top)}" x2="${px(x0)}" y2="${px(bottom)}" stroke="#333" stroke-width="1"/>`);
    for (const t of scale.ticks) {
      const x = x0 + scale.at(t) * plotW;
      out.push(`<line x1="${px(x)}" y1="${px(bottom)}" x2="${px(x)}" y2="${px(bottom + 4)}" stroke="#333" stroke-width="1"/>`);
      text(x, bottom + 16, scale.label(t), ` text-anchor="middle" font-size="${VALUE_FONT}"`);
    }
    text(x0 + plotW / 2, bottom + 33, chart.axis, ` text-anchor="middle"`);
    out.push("</g>");
    y = bottom + 33 + 22;
  }
  if (fig.note) {
    y -= 8;
    for (const line of wrap(fig.note, FONT, textMax)) { y += FONT + 5; text(MARGIN, y, line, ` fill="#555"`); }
  }
  const height = Math.ceil(y + MARGIN);
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="title" font-family="${FONT_FAMILY}" font-size="${FONT}" fill="#111">`,
    `<title id="title">${escapeXml(fig.title)}</title>`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    ...out,
    `</svg>`,
    "",
  ].join("\n");
}
