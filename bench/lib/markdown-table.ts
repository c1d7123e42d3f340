// GitHub markdown tables for the generated docs/plots/*.md (bench/plots.ts).

/** Column alignment: "l" left (labels), "r" right (numbers). */
export type Align = "l" | "r";

/** A cell's text with the characters that would break the row escaped. */
export function cell(s: string): string {
  return s.replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
}

/** One table: a header row, the alignment row, then `rows` (each as long as `head`). */
export function markdownTable(head: readonly string[], rows: readonly (readonly string[])[], align: readonly Align[] = []): string {
  for (const [i, r] of rows.entries()) {
    if (r.length !== head.length) throw new Error(`markdownTable: row ${i} has ${r.length} cells, the header ${head.length}`);
  }
  const line = (cells: readonly string[]) => `| ${cells.map(cell).join(" | ")} |`;
  const rule = `|${head.map((_, i) => ((align[i] ?? (i === 0 ? "l" : "r")) === "r" ? "---:" : "---")).join("|")}|`;
  return [line(head), rule, ...rows.map(line)].join("\n");
}
