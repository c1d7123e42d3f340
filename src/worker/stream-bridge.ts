// Bytes the page holds, read by the model worker as a ReadableStream: a ReadableStream or Response passed to
// loadModel, the body of a response the page's `fetch` option returned, an ArrayBuffer. The worker pulls one
// chunk at a time (`pull` → `bytes`), so nothing is read ahead of the loader, which consumes each chunk into wasm
// memory; an ArrayBuffer goes over in slices, so the page never copies it whole (one long task, twice the memory).
import type { FromWorker, ToWorker } from "./protocol.ts";
import { errorFromWire, errorToWire } from "./protocol.ts";

/** Slices of a lent ArrayBuffer: copied one at a time (about a millisecond each). */
const SLICE_BYTES = 1 << 20;

type PostToWorker = (m: ToWorker, transfer?: Transferable[]) => void;
type PostToPage = (m: FromWorker, transfer?: Transferable[]) => void;

interface Lent {
  read(): Promise<{ value?: Uint8Array; done: boolean }>;
  cancel(): void;
}

/** The page's side: the streams and buffers lent to the worker, read when it asks. */
export class StreamLender {
  private next = 1;
  private readonly lent = new Map<number, Lent>();

  constructor(private readonly post: PostToWorker) {}

  /**
   * Lends `stream`. `own`: its chunks belong to dbllm (a body it fetched) and are transferred; a caller's
   * chunks are copied, since the caller may still hold them.
   */
  lendStream(stream: ReadableStream<Uint8Array>, own: boolean): number {
    const reader = stream.getReader();
    return this.add({
      read: async () => {
        const { value, done } = await reader.read();
        return { done, value: value && (own ? value : value.slice()) };
      },
      cancel: () => { reader.cancel().catch(() => {}); },
    });
  }

  /** Lends `bytes`, read in slices (copies: the caller keeps its buffer). */
  lendBytes(bytes: Uint8Array): number {
    let at = 0;
    return this.add({
      read: async () => {
        if (at >= bytes.byteLength) return { done: true };
        const value = bytes.slice(at, at + SLICE_BYTES);
        at += value.byteLength;
        return { value, done: false };
      },
      cancel: () => { at = bytes.byteLength; },
    });
  }

  /** Answers the worker's `pull` with the next chunk, the end, or the read's error. */
  async pull(id: number): Promise<void> {
    const s = this.lent.get(id);
    if (!s) return this.post({ type: "bytes", stream: id, error: { name: "Error", message: "the stream is gone (cancelled or never lent)" } });
    try {
      const { value, done } = await s.read();
      if (done || !value) {
        this.lent.delete(id);
        this.post({ type: "bytes", stream: id, done: true });
      } else {
        // a chunk that is all of its buffer moves; one that shares it (a view into more) is copied first
        const whole = value.byteOffset === 0 && value.byteLength === value.buffer.byteLength && value.buffer instanceof ArrayBuffer;
        const chunk = whole ? value : value.slice();
        this.post({ type: "bytes", stream: id, chunk }, [chunk.buffer as ArrayBuffer]);
      }
    } catch (e) {
      this.lent.delete(id);
      this.post({ type: "bytes", stream: id, error: errorToWire(e) });
    }
  }

  cancel(id: number): void {
    this.lent.get(id)?.cancel();
    this.lent.delete(id);
  }

  /** Cancels everything still lent (the worker is gone). */
  cancelAll(): void {
    for (const id of [...this.lent.keys()]) this.cancel(id);
  }

  private add(s: Lent): number {
    const id = this.next++;
    this.lent.set(id, s);
    return id;
  }
}

/** The worker's side: streams over what the page lent, pulled as the reader asks. */
export class StreamBorrower {
  private readonly waiting = new Map<number, (m: Extract<ToWorker, { type: "bytes" }>) => void>();

  constructor(private readonly post: PostToPage) {}

  borrow(id: number): ReadableStream<Uint8Array> {
    return new ReadableStream<Uint8Array>({
      pull: (controller) => new Promise<void>((resolve) => {
        this.waiting.set(id, (m) => {
          if (m.error) controller.error(errorFromWire(m.error));
          else if (m.done || !m.chunk) controller.close();
          else controller.enqueue(m.chunk);
          resolve();
        });
        this.post({ type: "pull", stream: id });
      }),
      cancel: () => {
        this.waiting.delete(id);
        this.post({ type: "cancel", stream: id });
      },
    });
  }

  /** A `bytes` message from the page: the answer to the pull in flight. */
  deliver(m: Extract<ToWorker, { type: "bytes" }>): void {
    const answer = this.waiting.get(m.stream);
    this.waiting.delete(m.stream);
    answer?.(m);
  }
}
