// Stop strings over streamed text: text is released only once it can no longer be the start of a stop
// string, and generation ends at the first complete stop string (which is not emitted).
export class StopMatcher {
  private pending = "";
  constructor(private readonly stops: readonly string[]) {}

  /** Adds text; returns what may be emitted now, and whether a stop string completed. */
  push(text: string): { emit: string; stopped: boolean } {
    this.pending += text;
    if (!this.stops.length) { const emit = this.pending; this.pending = ""; return { emit, stopped: false }; }
    let first = -1;
    for (const s of this.stops) {
      const i = this.pending.indexOf(s);
      if (i >= 0 && (first < 0 || i < first)) first = i;
    }
    if (first >= 0) {
      const emit = this.pending.slice(0, first);
      this.pending = "";
      return { emit, stopped: true };
    }
    // hold back the longest suffix that is a proper prefix of some stop string
    let hold = 0;
    for (const s of this.stops) {
      for (let n = Math.min(s.length - 1, this.pending.length); n > hold; n--) {
        if (this.pending.endsWith(s.slice(0, n))) { hold = n; break; }
      }
    }
    const emit = this.pending.slice(0, this.pending.length - hold);
    this.pending = this.pending.slice(this.pending.length - hold);
    return { emit, stopped: false };
  }

  /** Text held back at the end of a generation that stopped for another reason. */
  flush(): string { const t = this.pending; this.pending = ""; return t; }
}
