// Who generates when. The handler owns `parallel` slots, each with its own Session (its own KV cache, created on
// first use); a request holds one slot from the start of its generation to its end, so no two requests ever
// share a KV cache. Requests beyond the free slots wait in a bounded FIFO queue (arrival order); when the queue
// is full the request is refused at once (503) instead of waiting without bound. A free slot is handed to the
// queue's head the moment it is released. Slots keep their cache between requests, so a client that continues
// a conversation reuses the prefix it already paid for (the most recently used free slot is taken first).
import type { SessionApi as Session } from "../model/model-api.ts";
import { DbllmError } from "../errors.ts";
import { HttpError } from "./errors.ts";

export interface Lease {
  readonly session: Session;
  readonly slot: number;
  /** Gives the slot back (idempotent). */
  release(): void;
}

interface Slot { index: number; session: Session | undefined; busy: boolean; lastUsed: number }
interface Waiter { resolve(slot: Slot): void; reject(e: unknown): void; signal?: AbortSignal; onAbort: () => void }

export class Scheduler {
  private readonly slots: Slot[];
  private readonly waiting: Waiter[] = [];
  private clock = 0;

  constructor(private readonly makeSession: () => Session, parallel: number, private readonly maxQueue: number) {
    this.slots = Array.from({ length: parallel }, (_, index) => ({ index, session: undefined, busy: false, lastUsed: 0 }));
  }

  get active(): number { return this.slots.filter((s) => s.busy).length; }
  get queued(): number { return this.waiting.length; }

  /** Waits for a free slot (in arrival order); rejects with 503 when the queue is full, ABORTED when `signal` fires. */
  async acquire(signal?: AbortSignal): Promise<Lease> {
    if (signal?.aborted) throw new DbllmError("ABORTED", "the request was aborted while waiting");
    let slot = this.waiting.length === 0 ? this.freeSlot() : undefined;
    if (!slot) {
      if (this.waiting.length >= this.maxQueue) {
        throw new HttpError(503, `the server is busy: ${this.active} request(s) generating and ${this.waiting.length} waiting (the queue holds ${this.maxQueue}); retry later`, "server_error", null, "server_busy", { "retry-after": "1" });
      }
      slot = await new Promise<Slot>((resolve, reject) => {
        const w: Waiter = {
          resolve, reject, signal,
          onAbort: () => {
            const i = this.waiting.indexOf(w);
            if (i >= 0) this.waiting.splice(i, 1);
            reject(new DbllmError("ABORTED", "the request was aborted while waiting"));
          },
        };
        signal?.addEventListener("abort", w.onAbort, { once: true });
        this.waiting.push(w);
      });
    }
    slot.busy = true;
    try {
      slot.session ??= this.makeSession();
    } catch (e) {
      this.release(slot);
      throw e;
    }
    let released = false;
    return {
      session: slot.session,
      slot: slot.index,
      release: () => { if (!released) { released = true; this.release(slot); } },
    };
  }

  /** Rejects every waiting request with `error` (shutdown). */
  rejectWaiting(error: unknown): void {
    for (const w of this.waiting.splice(0)) {
      w.signal?.removeEventListener("abort", w.onAbort);
      w.reject(error);
    }
  }

  /** Frees every slot's KV cache (the slots must be idle). */
  dispose(): void {
    for (const s of this.slots) { s.session?.dispose(); s.session = undefined; }
  }

  private freeSlot(): Slot | undefined {
    let best: Slot | undefined;
    for (const s of this.slots) if (!s.busy && (!best || s.lastUsed > best.lastUsed)) best = s;
    return best;
  }

  private release(slot: Slot): void {
    slot.lastUsed = ++this.clock;
    const next = this.waiting.shift();
    if (next) {
      next.signal?.removeEventListener("abort", next.onAbort);
      next.resolve(slot); // stays busy: handed straight to the queue's head
    } else {
      slot.busy = false;
    }
  }
}
