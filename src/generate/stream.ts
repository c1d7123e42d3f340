// The object generate()/chat() return: an async iterable of chunks that runs lazily (nothing is computed until
// it is iterated or awaited), with the final text and stats available afterwards.
import { DbllmError } from "../errors.ts";
import type { GenerationChunk, GenerationResult, GenerationStats } from "./options.ts";

export class GenerationStream implements AsyncIterable<GenerationChunk> {
  private started = false;
  private resolve!: (r: GenerationResult) => void;
  private reject!: (e: unknown) => void;
  private readonly finished: Promise<GenerationResult>;
  /** Stats of the finished generation (undefined until it ends). */
  stats: GenerationStats | undefined;

  constructor(private readonly start: () => AsyncGenerator<GenerationChunk, GenerationResult>) {
    this.finished = new Promise((res, rej) => { this.resolve = res; this.reject = rej; });
    this.finished.catch(() => {}); // rejection is reported to whoever iterates or awaits
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<GenerationChunk, GenerationResult> {
    if (this.started) throw new DbllmError("INVALID_ARGUMENT", "a generation can be iterated only once");
    this.started = true;
    const gen = this.start();
    try {
      for (;;) {
        const r = await gen.next();
        if (r.done) { this.stats = r.value.stats; this.resolve(r.value); return r.value; }
        yield r.value;
      }
    } catch (e) {
      this.reject(e);
      throw e;
    } finally {
      await gen.return(undefined as never).catch(() => {});
      this.reject(new DbllmError("ABORTED", "the generation was abandoned before it finished"));
    }
  }

  /** Runs the generation to the end (if nobody iterates it) and returns the text, tokens and stats. */
  async done(): Promise<GenerationResult> {
    if (!this.started) for await (const _ of this) void _;
    return this.finished;
  }

  /** The whole generated text. */
  async text(): Promise<string> { return (await this.done()).text; }
}
