// Reading a results JSON for the plots (bench/plots.ts) without trusting its shape: every access names the file
// and the path inside it when the value is missing or of the wrong kind, so a malformed or foreign file ends in
// one PlotInputError ("bench/results/e2e.json: TinyLlama-1.1B.medians: expected an object, got a string")
// instead of a TypeError or a NaN drawn as a bar.

/** A results file the plots cannot read: not JSON, or not the shape its plotter knows. */
export class PlotInputError extends Error {
  constructor(readonly file: string, readonly detail: string) {
    super(`${file}: ${detail}`);
    this.name = "PlotInputError";
  }
}

const kind = (v: unknown): string => (v === null ? "null" : Array.isArray(v) ? "an array" : `a ${typeof v}`);

/** One value of a results file and where it sits in it; accessors check the kind and throw PlotInputError. */
export class JsonNode {
  constructor(readonly file: string, readonly value: unknown, readonly where = "") {}

  /** Parses `text` (the contents of `file`). */
  static parse(file: string, text: string): JsonNode {
    try {
      return new JsonNode(file, JSON.parse(text));
    } catch (e) {
      throw new PlotInputError(file, `not JSON (${(e as Error).message})`);
    }
  }

  fail(detail: string): never {
    throw new PlotInputError(this.file, this.where ? `${this.where}: ${detail}` : detail);
  }

  private object(): Record<string, unknown> {
    if (typeof this.value !== "object" || this.value === null || Array.isArray(this.value)) this.fail(`expected an object, got ${kind(this.value)}`);
    return this.value as Record<string, unknown>;
  }

  private child(key: string, value: unknown): JsonNode {
    return new JsonNode(this.file, value, this.where ? `${this.where}.${key}` : key);
  }

  isObject(): boolean {
    return typeof this.value === "object" && this.value !== null && !Array.isArray(this.value);
  }

  has(key: string): boolean {
    return Object.hasOwn(this.object(), key) && this.object()[key] !== null;
  }

  /** The member `key`; missing (or null) is an error. */
  get(key: string): JsonNode {
    if (!this.has(key)) this.fail(`no "${key}"`);
    return this.child(key, this.object()[key]);
  }

  /** The member `key`, or undefined when it is missing or null. */
  opt(key: string): JsonNode | undefined {
    return this.has(key) ? this.get(key) : undefined;
  }

  /** The members of an object, in the file's order. */
  entries(): [string, JsonNode][] {
    return Object.entries(this.object()).map(([k, v]) => [k, this.child(k, v)]);
  }

  /** The elements of an array. */
  items(): JsonNode[] {
    if (!Array.isArray(this.value)) this.fail(`expected an array, got ${kind(this.value)}`);
    return (this.value as unknown[]).map((v, i) => new JsonNode(this.file, v, `${this.where}[${i}]`));
  }

  /** A finite number. */
  num(): number {
    if (typeof this.value !== "number" || !Number.isFinite(this.value)) this.fail(`expected a finite number, got ${kind(this.value)}`);
    return this.value as number;
  }

  str(): string {
    if (typeof this.value !== "string") this.fail(`expected a string, got ${kind(this.value)}`);
    return this.value as string;
  }

  /** A string or a number, as text (settings such as threads: "1,2" or 1). */
  text(): string {
    return typeof this.value === "number" ? String(this.value) : this.str();
  }
}
