// The benchmark plots (bench/plots.ts, bench/lib/plot-svg.ts): bars as long as their values (linear and log
// axes), labels escaped, the SVG well-formed XML, the same bytes every time, a malformed results file named in a
// PlotInputError and skipped while the others are drawn, and docs/plots/ in step with bench/results/.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { DEFAULT_PATHS, PLOTTERS, plotFile, plotReports } from "../bench/plots.ts";
import { PlotInputError } from "../bench/lib/plot-input.ts";
import { axisScale, renderFigure, type BarChart } from "../bench/lib/plot-svg.ts";
import { workDir } from "./helpers/workdir.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** Problems that keep `xml` from being well-formed: unbalanced or malformed tags, bare & or <, several roots. */
function xmlProblems(xml: string): string[] {
  const problems: string[] = [];
  const body = xml.replace(/^<\?xml[^?]*\?>\s*/, "");
  const stack: string[] = [];
  let roots = 0;
  const entity = /&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/;
  for (const [token] of body.matchAll(/<[^<>]*>|[^<]+|</g)) {
    if (!token.startsWith("<")) {
      if (entity.test(token)) problems.push(`bare & in text: ${JSON.stringify(token.slice(0, 60))}`);
      if (!stack.length && token.trim()) problems.push(`text outside the root: ${JSON.stringify(token.slice(0, 60))}`);
      continue;
    }
    if (token === "<") { problems.push("a < that opens no tag"); continue; }
    const end = /^<\/([A-Za-z_][\w:.-]*)\s*>$/.exec(token);
    if (end) {
      const open = stack.pop();
      if (open !== end[1]) problems.push(`</${end[1]}> closes <${open ?? "nothing"}>`);
      continue;
    }
    const start = /^<([A-Za-z_][\w:.-]*)((?:\s+[A-Za-z_][\w:.-]*="[^"<]*")*)\s*(\/?)>$/.exec(token);
    if (!start) { problems.push(`malformed tag ${token.slice(0, 80)}`); continue; }
    const names = [...start[2].matchAll(/([A-Za-z_][\w:.-]*)="([^"]*)"/g)];
    for (const [, , value] of names) if (entity.test(value)) problems.push(`bare & in an attribute of <${start[1]}>`);
    if (new Set(names.map((n) => n[1])).size !== names.length) problems.push(`an attribute twice in <${start[1]}>`);
    if (!stack.length) roots++;
    if (!start[3]) stack.push(start[1]);
  }
  if (stack.length) problems.push(`unclosed: ${stack.join(" > ")}`);
  if (roots !== 1) problems.push(`${roots} root elements`);
  return problems;
}

const unescape = (s: string) => s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, "&");

/** Every bar of an SVG: its category, series and drawn width. */
function bars(svg: string): { category: string; series: string; width: number }[] {
  return [...svg.matchAll(/<rect class="bar" [^>]*>/g)].map(([tag]) => {
    const attr = (name: string) => {
      const m = new RegExp(`\\s${name}="([^"]*)"`).exec(tag);
      if (!m) throw new Error(`bar without ${name}: ${tag}`);
      return unescape(m[1]);
    };
    return { category: attr("data-category"), series: attr("data-series"), width: Number(attr("width")) };
  });
}

const ENGINES = ["dbllm <fast> & \"co\"", "llama.cpp Q2_K", "tiny", "none for decode"];
const SPEED: BarChart = {
  title: "tok/s <per> engine & thread", axis: "tokens per second",
  categories: ENGINES,
  series: [
    { name: "prefill", values: [27.63, 23.63, 0.37, 125.7] },
    { name: "decode", values: [18.25, 16.54, 0.011, null] },
  ],
};

/** The largest relative deviation of width ÷ expected over all bars, with the expected length for each value. */
function maxRelativeDifference(chart: BarChart, svg: string, expected: (v: number) => number): number {
  const drawn = bars(svg);
  let worst = 0, seen = 0;
  const ratios: number[] = [];
  for (const s of chart.series) {
    for (const [i, v] of s.values.entries()) {
      const b = drawn.filter((x) => x.category === chart.categories[i] && x.series === s.name);
      if (v === null) { assert.is(b.length, 0, `no bar for a missing value (${chart.categories[i]}, ${s.name})`); continue; }
      assert.is(b.length, 1, `one bar for ${chart.categories[i]} / ${s.name}`);
      ratios.push(b[0].width / expected(v));
      seen++;
    }
  }
  assert.is(drawn.length, seen, "no bar beyond the values");
  const mean = ratios.reduce((a, b) => a + b, 0) / ratios.length;
  for (const r of ratios) worst = Math.max(worst, Math.abs(r / mean - 1));
  return worst;
}

test("bar lengths are proportional to the values (linear axis from 0)", () => {
  const svg = renderFigure({ title: "fixture", charts: [SPEED] });
  const worst = maxRelativeDifference(SPEED, svg, (v) => v);
  console.log(`  linear: max relative difference of width/value over ${bars(svg).length} bars: ${worst.toExponential(2)}`);
  assert.ok(worst <= 1e-6, `bars not proportional to values: ${worst}`);
  const scale = axisScale(SPEED);
  assert.is(scale.lo, 0);
  assert.ok(scale.hi >= 125.7 && scale.hi <= 150, `axis ends at a round number above the largest value (${scale.hi})`);
});

test("bar lengths are proportional to log(value / axis start) on a log axis", () => {
  const chart: BarChart = { ...SPEED, scale: "log", series: [{ name: "perplexity", values: [54.97, 7631, 7.1e7, 12.5] }] };
  const scale = axisScale(chart);
  assert.is(scale.lo, 10, "the axis starts at the power of ten under the smallest value");
  assert.is(scale.hi, 1e8);
  const svg = renderFigure({ title: "fixture", charts: [chart] });
  const worst = maxRelativeDifference(chart, svg, (v) => Math.log10(v / scale.lo));
  console.log(`  log: max relative difference of width/log10(value/lo): ${worst.toExponential(2)}`);
  assert.ok(worst <= 1e-6, `log bars not proportional: ${worst}`);
  assert.throws(() => renderFigure({ title: "bad", charts: [{ ...chart, series: [{ name: "p", values: [0, 1, 2, 3] }] }] }), /above 0/);
});

test("labels are escaped and the SVG is well-formed XML, byte for byte the same each time", () => {
  // The checker itself must see broken XML.
  assert.ok(xmlProblems("<a><b></a>").length > 0);
  assert.ok(xmlProblems("<a>x & y</a>").length > 0);
  assert.ok(xmlProblems("<a x=\"1\" x=\"2\"/>").length > 0);
  assert.ok(xmlProblems("<a/><b/>").length > 0);
  assert.equal(xmlProblems("<?xml version=\"1.0\"?>\n<a k=\"&lt;\"><b/>t &amp; u</a>\n"), []);

  const fig = { title: "A <title> & more", subtitle: "from <bench/results/x.json> & co", charts: [SPEED, { ...SPEED, title: "second & last" }], note: "note <b>" };
  const svg = renderFigure(fig);
  assert.equal(xmlProblems(svg), [], "well-formed");
  assert.ok(svg.includes("dbllm &lt;fast&gt; &amp; &quot;co&quot;"), "engine label escaped");
  assert.ok(svg.includes("tok/s &lt;per&gt; engine &amp; thread"), "chart title escaped");
  assert.not.ok(svg.includes("<fast>"), "no raw < from a label");
  assert.ok(bars(svg).some((b) => b.category === ENGINES[0]), "the escaped label reads back as the engine name");
  assert.is(renderFigure(fig), svg, "deterministic");
});

test("a malformed results file is a PlotInputError naming the file; the other reports are still drawn", () => {
  const dir = workDir("plots");
  const results = path.join(dir, "results"), out = path.join(dir, "out");
  workDir("plots/results");
  writeFileSync(path.join(results, "e2e.json"), "{ \"benchmark\": \"e2e\", ");
  writeFileSync(path.join(results, "threads.json"), JSON.stringify({ M: { idle: { "1 thread": { prefill: 40.8, decode: 32 } } } }));
  writeFileSync(path.join(results, "gemv.json"), JSON.stringify({ benchmark: "gemv", runs: { simd: { "64x64": { "fdb2 <lut> & co": { hot: "fast", cold: 1 } } } } }));

  try {
    plotFile(PLOTTERS.e2e, path.join(results, "e2e.json"), dir);
    assert.unreachable("malformed JSON was plotted");
  } catch (e) {
    assert.instance(e, PlotInputError);
    assert.is((e as PlotInputError).file, "results/e2e.json");
    assert.match((e as Error).message, /^results\/e2e\.json: not JSON/);
    console.log(`  ${(e as Error).message}`);
  }
  try {
    plotFile(PLOTTERS.gemv, path.join(results, "gemv.json"), dir);
    assert.unreachable("a string was drawn as a bar");
  } catch (e) {
    assert.instance(e, PlotInputError);
    assert.is((e as Error).message, "results/gemv.json: runs.simd.64x64.fdb2 <lut> & co.hot: expected a finite number, got a string");
    console.log(`  ${(e as Error).message}`);
  }

  const run = plotReports([], { results, out, root: dir });
  assert.equal(run.failed.map((f) => f.file).sort(), ["results/e2e.json", "results/gemv.json"]);
  assert.equal(run.written, ["out/threads.svg", "out/threads.md"]);
  assert.equal(xmlProblems(readFileSync(path.join(out, "threads.svg"), "utf8")), []);
  assert.match(readFileSync(path.join(out, "threads.md"), "utf8"), /\| M \| idle \| 1 thread \| 40\.8 \| 32\.0 \| – \| – \|/);
  assert.equal(plotReports(["chat-probe"], { results, out, root: dir }).notes, ["no plot for chat-probe"]);
});

test("docs/plots/ is what bench/results/ draws (npm run bench -- plots regenerates it)", () => {
  const out = workDir("plots-current");
  const run = plotReports([], { ...DEFAULT_PATHS, out });
  assert.equal(run.failed, [], "every committed results file plots");
  assert.ok(run.written.length >= 2, "something was drawn");
  const stale: string[] = [];
  for (const rel of run.written) {
    const name = path.basename(rel);
    const fresh = readFileSync(path.join(out, name), "utf8");
    if (name.endsWith(".svg")) assert.equal(xmlProblems(fresh), [], `${name} is well-formed`);
    let committed = "";
    try { committed = readFileSync(path.join(ROOT, "docs", "plots", name), "utf8"); } catch { /* missing counts as stale */ }
    if (committed !== fresh) stale.push(`docs/plots/${name}`);
  }
  assert.equal(stale, [], `out of date with bench/results/ (run npm run bench -- plots): ${stale.join(", ")}`);
});

test.run();
