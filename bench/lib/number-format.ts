// How the plots and their tables print numbers (bench/plots.ts): the conventions of docs/BENCHMARKS.md, in one
// place, so a value reads the same beside its bar and in its table.

const SUPERSCRIPT = "⁰¹²³⁴⁵⁶⁷⁸⁹";

/** 10 to the power k, as "10⁷" (k ≥ 0) or "10⁻²". */
export function powerOfTen(k: number): string {
  const digits = String(Math.abs(k)).split("").map((d) => SUPERSCRIPT[Number(d)]).join("");
  return `10${k < 0 ? "⁻" : ""}${digits}`;
}

/** An integer with thousands separators: 12,790. */
export function grouped(n: number): string {
  const s = Math.round(Math.abs(n)).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return n < 0 && Math.round(Math.abs(n)) !== 0 ? `-${s}` : s;
}

/** `d` decimals: tok/s and GOPS as fixed(1). */
export const fixed = (d: number) => (v: number): string => v.toFixed(d);

/** A speed ratio: 1.17×. */
export const times = (v: number): string => `${v.toFixed(2)}×`;

/** A relative difference: +9.77 %, −0.20 %. */
export const percent = (fraction: number): string => {
  const p = fraction * 100;
  return `${p > 0 ? "+" : p < 0 ? "−" : ""}${Math.abs(p).toFixed(2)} %`;
};

/** Perplexity, which spans 50 to 10⁸ in these results: 54.97, 821.4, 12,790, 7.1 × 10⁷. */
export function perplexity(v: number): string {
  if (v >= 1e6) {
    const k = Math.floor(Math.log10(v));
    let m = v / 10 ** k;
    let e = k;
    if (Number(m.toFixed(1)) >= 10) { m /= 10; e += 1; }
    return `${m.toFixed(1)} × ${powerOfTen(e)}`;
  }
  if (v >= 1000) return grouped(v);
  if (v >= 100) return v.toFixed(1);
  return v.toFixed(2);
}

/** Bytes as GiB with two decimals. */
export const gib = (bytes: number): string => `${(bytes / 2 ** 30).toFixed(2)} GiB`;
