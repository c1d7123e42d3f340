// The host-side allocator of wasm linear memory. Kernels never allocate; the host places weights, KV caches
// and scratch buffers here. First-fit over a sorted free list with coalescing; memory grows on demand up to
// the wasm32 limit of 4 GiB. Views over memory must be re-made after growth (see Engine.f32 / Engine.u8).
import { DbllmError, internalError } from "../errors.ts";

const PAGE = 65536;
export const MAX_PAGES = 65536; // 4 GiB, the wasm32 limit

export class Arena {
  private free: { start: number; size: number }[] = [];
  private used = new Map<number, number>();
  private top: number;
  /** Bytes currently allocated (for reporting). */
  allocated = 0;
  /** Highest `top` ever reached: the peak linear memory the model needed. */
  peak = 0;

  constructor(private readonly memory: WebAssembly.Memory, base: number, private readonly maxPages = MAX_PAGES) {
    this.top = alignUp(base, 64);
    this.peak = this.top;
  }

  alloc(bytes: number, what: string, align = 64): number {
    if (!Number.isSafeInteger(bytes) || bytes < 0) throw new DbllmError("SIZE_LIMIT", `cannot allocate ${bytes} bytes for ${what}`);
    const size = alignUp(Math.max(bytes, 1), 64);
    for (let i = 0; i < this.free.length; i++) {
      const f = this.free[i];
      const start = alignUp(f.start, align);
      if (start + size <= f.start + f.size) {
        const before = start - f.start, after = f.start + f.size - (start + size);
        this.free.splice(i, 1, ...(before ? [{ start: f.start, size: before }] : []), ...(after ? [{ start: start + size, size: after }] : []));
        return this.take(start, size);
      }
    }
    const start = alignUp(this.top, align);
    this.ensure(start + size, what);
    if (start > this.top) this.release(this.top, start - this.top);
    this.top = start + size;
    this.peak = Math.max(this.peak, this.top);
    return this.take(start, size);
  }

  dealloc(ptr: number): void {
    const size = this.used.get(ptr);
    if (size === undefined) throw internalError(`free of unknown pointer ${ptr}`);
    this.used.delete(ptr);
    this.allocated -= size;
    this.release(ptr, size);
  }

  /** Grows linear memory so that [0, end) is addressable. */
  private ensure(end: number, what: string): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    const pages = Math.ceil((end - have) / PAGE);
    const total = have / PAGE + pages;
    if (total > this.maxPages) {
      throw new DbllmError("OUT_OF_MEMORY", `${what} needs wasm memory up to ${(end / 2 ** 20).toFixed(0)} MiB, beyond the ${(this.maxPages * PAGE / 2 ** 20).toFixed(0)} MiB limit`);
    }
    // Grow in larger steps when small, so that many small allocations do not grow page by page.
    const step = Math.min(this.maxPages - have / PAGE, Math.max(pages, Math.ceil(have / PAGE / 8)));
    try {
      this.memory.grow(step);
    } catch (e) {
      try { this.memory.grow(pages); } catch {
        throw new DbllmError("OUT_OF_MEMORY", `could not grow wasm memory to ${(end / 2 ** 20).toFixed(0)} MiB for ${what}`, { cause: e });
      }
    }
  }

  private take(start: number, size: number): number {
    this.used.set(start, size);
    this.allocated += size;
    return start;
  }

  private release(start: number, size: number): void {
    // insert sorted, then merge with neighbours; a block touching the top lowers the top instead
    let i = 0;
    while (i < this.free.length && this.free[i].start < start) i++;
    this.free.splice(i, 0, { start, size });
    if (i + 1 < this.free.length && start + size === this.free[i + 1].start) {
      this.free[i].size += this.free[i + 1].size;
      this.free.splice(i + 1, 1);
    }
    if (i > 0 && this.free[i - 1].start + this.free[i - 1].size === start) {
      this.free[i - 1].size += this.free[i].size;
      this.free.splice(i, 1);
      i--;
    }
    const last = this.free[this.free.length - 1];
    if (last && last.start + last.size === this.top) {
      this.top = last.start;
      this.free.pop();
    }
  }
}

export function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}
