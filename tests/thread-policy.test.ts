// How the pool decides to split a job (src/engine/adaptive.ts) and how the default thread count reads a
// container's CPU quota (src/platform/cgroup.ts): the pure logic, on synthetic timings and files.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ModeChooser, type Mode } from "../src/engine/adaptive.ts";
import { cgroupCpuQuota } from "../src/platform/cgroup.ts";

/** Runs `n` jobs cycling through three kinds whose times split / alone are `pooled[i]` / `solo[i]` ms. */
function drive(c: ModeChooser, n: number, pooled: number[], solo: number[]): Mode[] {
  const out: Mode[] = [];
  for (let i = 0; i < n; i++) {
    const k = i % 3;
    const m = c.choose();
    c.record(`kind${k}`, m, m === "pooled" ? pooled[k] : solo[k]);
    out.push(m);
  }
  return out;
}

const share = (modes: Mode[], m: Mode) => modes.filter((x) => x === m).length / modes.length;
const IDLE = { pooled: [0.6, 0.3, 0.05], solo: [1.0, 0.5, 0.04] }; // splitting wins overall (not for the smallest kind)
const BUSY = { pooled: [3.0, 2.0, 0.5], solo: [1.0, 0.5, 0.04] }; // a worker keeps getting descheduled

test("splits when that is faster overall, runs alone when it is not, and probes the other way less and less", () => {
  const idle = drive(new ModeChooser(), 20000, IDLE.pooled, IDLE.solo);
  console.log(`  split faster: ${(100 * share(idle, "pooled")).toFixed(1)} % of jobs split`);
  assert.ok(share(idle, "pooled") > 0.96);
  const c = new ModeChooser();
  const busy = drive(c, 20000, BUSY.pooled, BUSY.solo);
  const late = busy.slice(10000).filter((m) => m === "pooled").length;
  console.log(`  split slower: ${(100 * share(busy, "solo")).toFixed(1)} % alone; ${late} split in the last 10,000 jobs (probes)`);
  assert.ok(share(busy, "solo") > 0.93); // the first 512 jobs run split before the first probe
  assert.ok(late <= 2 * 128, `${late}: probes should have backed off`);
  assert.is(c.stats().mode, "solo");
});

test("follows a change of conditions", () => {
  const c = new ModeChooser();
  drive(c, 6000, BUSY.pooled, BUSY.solo); // contended
  assert.is(c.stats().mode, "solo");
  const freed = drive(c, 40000, IDLE.pooled, IDLE.solo);
  const first = freed.indexOf("pooled");
  console.log(`  core freed: first split window after ${first} jobs; mode now ${c.stats().mode}`);
  assert.is(c.stats().mode, "pooled");
  assert.ok(share(freed.slice(-10000), "pooled") > 0.95);
  const taken = drive(c, 1000, BUSY.pooled, BUSY.solo); // taken again: the slow jobs bring a probe forward
  console.log(`  core taken again: alone from job ${taken.indexOf("solo")} on`);
  assert.is(c.stats().mode, "solo");
  assert.ok(taken.indexOf("solo") < 100);
});

test("a probe of kinds never measured the usual way decides nothing", () => {
  const c = new ModeChooser();
  for (let i = 0; i < 600; i++) {
    const m = c.choose();
    c.record(m === "pooled" ? "seen-pooled" : `new-${i}`, m, m === "pooled" ? 5 : 0.1);
  }
  assert.is(c.stats().mode, "pooled");
  assert.is(c.stats().switches, 0);
});

test("CPU quota from cgroup v2 and v1 files", () => {
  const files = (m: Record<string, string>) => (f: string) => m[f];
  assert.is(cgroupCpuQuota(files({ "/sys/fs/cgroup/cpu.max": "150000 100000\n" })), 1.5);
  assert.is(cgroupCpuQuota(files({ "/sys/fs/cgroup/cpu.max": "max 100000\n" })), undefined);
  assert.is(cgroupCpuQuota(files({ "/sys/fs/cgroup/cpu/cpu.cfs_quota_us": "200000\n", "/sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000\n" })), 2);
  assert.is(cgroupCpuQuota(files({ "/sys/fs/cgroup/cpu/cpu.cfs_quota_us": "-1\n", "/sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000\n" })), undefined);
  assert.is(cgroupCpuQuota(files({})), undefined);
  assert.is(cgroupCpuQuota(files({ "/sys/fs/cgroup/cpu.max": "garbage" })), undefined);
});

test.run();
