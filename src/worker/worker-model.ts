// The page's view of a model that lives in a dedicated Web Worker: the same API as Model and Session, every call
// a message. Generation streams the same chunks (remote-generation.ts); the tokenizer is rebuilt on the page from
// the worker's serialized copy when first used, so tokenizer calls stay synchronous; info() and session.tokens
// are what the worker reported at the end of the last operation (so they do not move during one).
import { DbllmError, invalidArgument } from "../errors.ts";
import type { ModelConfig } from "../config/model-config.ts";
import { resolveOptions, type ContextFullPolicy, type GenerateOptions } from "../generate/options.ts";
import type { GenerationStream } from "../generate/stream.ts";
import type { ModelApi, SessionApi } from "../model/model-api.ts";
import type { ModelInfo } from "../model/model.ts";
import type { ChatOptions, SessionOptions } from "../model/session.ts";
import { Tokenizer, type ChatMessage } from "../tokenizer/index.ts";
import type { WorkerConnection } from "./connection.ts";
import type { WireState } from "./protocol.ts";
import { remoteGeneration, remoteLogits } from "./remote-generation.ts";

/** What a generate/chat request sends: the options without the signal, which stays on the page. */
function withoutSignal<T extends GenerateOptions>(options: T): Omit<T, "signal"> {
  const { signal: _signal, ...rest } = options;
  return rest;
}

/** Generation calls on a session of the worker (0: the model's default session). */
class RemoteTarget {
  constructor(protected readonly conn: WorkerConnection, protected readonly sessionId: number) {}

  generate(prompt: string | readonly number[], options: GenerateOptions = {}): GenerationStream {
    this.usable();
    resolveOptions(options, {}, "stop"); // invalid options throw here, at the call, as they do on a Model
    return remoteGeneration(this.conn, (id) => ({ type: "generate", id, session: this.sessionId, prompt, options: withoutSignal(options) }), options.signal);
  }

  chat(messages: ChatMessage[], options: ChatOptions = {}): GenerationStream {
    this.usable();
    resolveOptions(options, {}, "stop");
    return remoteGeneration(this.conn, (id) => ({ type: "chat", id, session: this.sessionId, messages, options: withoutSignal(options) }), options.signal);
  }

  /** Throws when the call cannot be made (the model was disposed). */
  protected usable(): void {}
}

export class WorkerSession extends RemoteTarget implements SessionApi {
  private held: number[] = [];

  constructor(conn: WorkerConnection, id: number, readonly capacity: number, readonly onContextFull: ContextFullPolicy) {
    super(conn, id);
  }

  get tokens(): readonly number[] { return this.held; }
  get length(): number { return this.held.length; }

  evaluate(ids: readonly number[]): Promise<Float32Array> {
    return remoteLogits(this.conn, (id) => ({ type: "evaluate", id, session: this.sessionId, ids }));
  }

  reset(): void {
    this.held = [];
    if (this.conn.alive) this.conn.post({ type: "reset", session: this.sessionId });
  }

  dispose(): void {
    this.held = [];
    if (this.conn.alive) this.conn.post({ type: "dispose-session", session: this.sessionId });
  }

  /** The worker's tokens after an operation on this session. */
  mirror(tokens: number[]): void { this.held = tokens; }
}

export class WorkerModel extends RemoteTarget implements ModelApi {
  private snapshot: ModelInfo;
  private tokenizerCopy: Tokenizer | undefined;
  private serializedTokenizer: string;
  private readonly sessions = new Map<number, WeakRef<WorkerSession>>();
  private nextSession = 1;
  private disposed = false;

  constructor(conn: WorkerConnection, info: ModelInfo, tokenizer: string) {
    super(conn, 0);
    this.snapshot = info;
    this.serializedTokenizer = tokenizer;
    conn.onState = (s) => this.mirror(s);
  }

  /** The model's tokenizer, rebuilt on this thread the first time it is asked for. */
  get tokenizer(): Tokenizer {
    if (!this.tokenizerCopy) {
      this.tokenizerCopy = Tokenizer.deserialize(this.serializedTokenizer, "the model worker's tokenizer");
      this.serializedTokenizer = "";
    }
    return this.tokenizerCopy;
  }

  get config(): ModelConfig { return this.snapshot.config; }

  /** As the worker reported it at the end of the last load, generation or evaluation. */
  info(): ModelInfo {
    return { ...this.snapshot, threads: { ...this.snapshot.threads, jobs: { ...this.snapshot.threads.jobs } } };
  }

  createSession(options: SessionOptions = {}): WorkerSession {
    this.usable();
    const n = options.contextLength ?? this.snapshot.contextLength;
    if (!Number.isSafeInteger(n) || n < 1) throw invalidArgument(`contextLength must be a positive integer, got ${n}`);
    const id = this.nextSession++;
    // the worker creates it when this message arrives; a failure there (OUT_OF_MEMORY) is the answer to the
    // session's first operation
    this.conn.post({ type: "session", session: id, options });
    const session = new WorkerSession(this.conn, id, n, options.onContextFull ?? "stop");
    this.sessions.set(id, new WeakRef(session));
    return session;
  }

  /** Terminates the worker, which ends its thread pool and frees its memory; calls in flight fail with DISPOSED. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.conn.terminate(new DbllmError("DISPOSED", "this model was disposed"));
  }

  protected override usable(): void {
    if (this.disposed) throw new DbllmError("DISPOSED", "this model was disposed");
  }

  private mirror(s: WireState): void {
    this.snapshot = s.info;
    if (s.tokens) {
      const session = this.sessions.get(s.session)?.deref();
      if (session) session.mirror(s.tokens);
      else this.sessions.delete(s.session);
    }
  }
}
