// A bounded memo for per-word results (BPE of a word depends on nothing else). Emptied when full: simple, and
// real text re-fills it with its frequent words at once.
export class WordCache<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly capacity = 1 << 16, private readonly maxWordLength = 256) {}
  get(word: string): V | undefined { return this.map.get(word); }
  set(word: string, value: V): void {
    if (word.length > this.maxWordLength) return;
    if (this.map.size >= this.capacity) this.map.clear();
    this.map.set(word, value);
  }
}
