// A load progress bar on stderr (a single rewritten line on a terminal, a few percent steps otherwise).
import type { LoadProgress } from "../model/loader.ts";

export function progressBar(label: string, stream: NodeJS.WriteStream = process.stderr): { update(p: LoadProgress): void; done(): void } {
  const tty = stream.isTTY;
  let lastPct = -1;
  const t0 = Date.now();
  return {
    update(p) {
      const pct = Math.floor(p.fraction * 100);
      if (pct === lastPct) return;
      lastPct = pct;
      const mb = (n: number) => (n / 2 ** 20).toFixed(0);
      if (tty) {
        const width = 30, fill = Math.round(p.fraction * width);
        stream.write(`\r${label} [${"#".repeat(fill)}${" ".repeat(width - fill)}] ${pct}% ${mb(p.loaded)}/${mb(p.total)} MiB`);
      } else if (pct % 25 === 0) stream.write(`${label} ${pct}%\n`);
    },
    done() {
      if (tty) stream.write(`\r${label} done in ${((Date.now() - t0) / 1000).toFixed(1)} s${" ".repeat(40)}\n`);
    },
  };
}
