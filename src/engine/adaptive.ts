// Whether pool jobs run split across all threads or on the calling thread alone, decided by measuring both.
// Splitting only pays when the workers are actually running: on a machine where another process holds a core, a
// worker descheduled while it holds part of a job makes the caller wait for a time slice, and a token that takes
// 30 ms alone takes 50. The decision is one for all jobs, made over windows of consecutive jobs: deciding job by
// job misleads, because running some jobs alone lets the workers fall asleep, and the next split job then pays
// their wake-up and looks slower than it is. So the pool runs in one way, and now and then runs a window of jobs
// the other way; per kind of job (kernel, shape, tokens) it compares the window's times with the usual way's
// running means, and switches when the other way was faster by more than HYSTERESIS. Probes come more rarely
// while the usual way keeps winning, and at once when the usual way's jobs turn slow.

export type Mode = "solo" | "pooled";

const ALPHA = 0.2; // weight of the newest time in a kind's running mean
const HYSTERESIS = 0.05;
const PROBE_JOBS = 128; // jobs run the other way per probe (a token or two)
const MIN_PERIOD = 1024; // jobs between probes: doubles while the other way keeps losing
const MAX_PERIOD = 65536;
const FIRST_PROBE = 512; // after a few tokens: a short prompt's prefill runs undisturbed
const SLOW_FACTOR = 2; // a job this many times slower than its kind's mean counts as slow
const SLOW_DECAY = 0.98; // the slow count forgets over ~50 jobs
const SLOW_TRIGGER = 8; // about 8 slow jobs among the last 50 bring the next probe forward

export class ModeChooser {
  private mode: Mode = "pooled";
  private readonly means = new Map<string, number>(); // per kind, the current way (ms)
  private period = MIN_PERIOD;
  private untilProbe = FIRST_PROBE;
  private probe: { left: number; observed: number; expected: number } | null = null;
  private counts = { solo: 0, pooled: 0 };
  /** Jobs of the usual way much slower than their kind's mean, decaying: when conditions worsen (a core is taken),
   * probe now instead of at the end of a long period. */
  private slow = 0;
  private switches = 0;

  /** The way to run the next job. */
  choose(): Mode {
    if (!this.probe && --this.untilProbe <= 0) this.probe = { left: PROBE_JOBS, observed: 0, expected: 0 };
    const m: Mode = this.probe ? other(this.mode) : this.mode;
    this.counts[m]++;
    return m;
  }

  /** Records how long a job of kind `key` took run `mode`. */
  record(key: string, mode: Mode, ms: number): void {
    if (mode === this.mode) {
      const m = this.means.get(key);
      this.means.set(key, m === undefined ? ms : m + ALPHA * (ms - m));
      if (m !== undefined) {
        this.slow = this.slow * SLOW_DECAY + (ms > SLOW_FACTOR * m ? 1 : 0);
        if (this.slow > SLOW_TRIGGER && !this.probe) {
          this.slow = 0;
          this.period = MIN_PERIOD;
          this.untilProbe = Math.min(this.untilProbe, 1);
        }
      }
      return;
    }
    const p = this.probe;
    if (!p) return;
    const usual = this.means.get(key);
    if (usual !== undefined) { // only kinds measured both ways count
      p.observed += ms;
      p.expected += usual;
    }
    if (--p.left > 0) return;
    this.probe = null;
    if (p.expected === 0) { // nothing comparable ran (new kinds of job): try again soon
      this.untilProbe = PROBE_JOBS;
      return;
    }
    if (p.observed < (1 - HYSTERESIS) * p.expected) {
      this.mode = other(this.mode);
      this.means.clear(); // the new way's means start afresh (those of the old way would mislead the next probe)
      this.period = MIN_PERIOD;
      this.switches++;
    } else {
      this.period = Math.min(MAX_PERIOD, this.period * 2);
    }
    this.untilProbe = this.period;
  }

  /** Counts a job run `mode` without choosing (splitting forced on): returns `mode`. */
  count(mode: Mode): Mode {
    this.counts[mode]++;
    return mode;
  }

  /** How many jobs ran each way so far, the way in use, and how often it changed. */
  stats(): { solo: number; pooled: number; mode: Mode; switches: number } {
    return { ...this.counts, mode: this.mode, switches: this.switches };
  }
}

function other(m: Mode): Mode {
  return m === "pooled" ? "solo" : "pooled";
}
