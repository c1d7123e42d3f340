// Whether a pool job runs on all threads or on the calling thread alone, decided per kind of job from how long
// each way has recently taken. Splitting only pays when the workers are actually running: on a machine where
// another process holds a core, a worker that is descheduled while it holds part of a job makes the caller wait
// for a whole time slice, and a job that would take 50 µs alone takes milliseconds. Measuring both ways per job
// kind (the same matrix product recurs in every layer of every token) lets the pool use threads where they help
// and leave them idle where they do not, including small matrices that never profit from a split.

/** Running estimates for one kind of job. */
interface Kind {
  solo: number; // exponentially weighted mean time alone (ms), NaN until measured
  pooled: number; // the same on all threads
  /** The way in use; it changes only when the other way is faster by more than HYSTERESIS (timing noise must
   * not flip it: every switch to running alone lets the workers fall asleep, which the next split pays for). */
  current: Mode;
  /** Runs of the currently worse way are made once every `period` runs, to notice when it becomes better. */
  period: number;
  sinceProbe: number;
}

const ALPHA = 0.25; // weight of the newest measurement
const MIN_PERIOD = 8;
const MAX_PERIOD = 512;
const HYSTERESIS = 0.1;

export type Mode = "solo" | "pooled";

export class ModeChooser {
  private readonly kinds = new Map<string, Kind>();
  private counts = { solo: 0, pooled: 0 };

  /** The way to run the next job of this kind. */
  choose(key: string): Mode {
    let k = this.kinds.get(key);
    if (!k) {
      k = { solo: NaN, pooled: NaN, current: "pooled", period: MIN_PERIOD, sinceProbe: 0 };
      this.kinds.set(key, k);
    }
    let mode: Mode;
    if (Number.isNaN(k.pooled)) mode = "pooled"; // measure both ways first
    else if (Number.isNaN(k.solo)) mode = "solo";
    else {
      const better = k.current;
      mode = better;
      if (++k.sinceProbe >= k.period) {
        k.sinceProbe = 0;
        mode = better === "pooled" ? "solo" : "pooled";
      }
    }
    this.counts[mode]++;
    return mode;
  }

  /** Records how long a job of this kind took run that way. */
  record(key: string, mode: Mode, ms: number): void {
    const k = this.kinds.get(key);
    if (!k) return;
    const measured = !Number.isNaN(k.solo) && !Number.isNaN(k.pooled);
    // a probe replaces the stale estimate of the worse way outright (conditions change: a core is freed or taken)
    const probe = measured && mode !== k.current;
    k[mode] = Number.isNaN(k[mode]) || probe ? ms : k[mode] + ALPHA * (ms - k[mode]);
    if (Number.isNaN(k.solo) || Number.isNaN(k.pooled)) return;
    const other: Mode = k.current === "pooled" ? "solo" : "pooled";
    const switched = k[other] < (1 - HYSTERESIS) * k[k.current];
    if (switched) k.current = other;
    // after a probe: if the other way stayed worse, probe less often; if it won, probe back soon
    if (probe) k.period = switched ? MIN_PERIOD : Math.min(MAX_PERIOD, k.period * 2);
  }

  /** Counts a job run `mode` without asking (splitting forced on): returns `mode`. */
  count(mode: Mode): Mode {
    this.counts[mode]++;
    return mode;
  }

  /** How many jobs ran each way so far (for info() and benchmarks). */
  stats(): { solo: number; pooled: number; kinds: number } {
    return { ...this.counts, kinds: this.kinds.size };
  }
}
