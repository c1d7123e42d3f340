// How the pool decides to split a job (src/engine/adaptive.ts) and how the default thread count reads a
// container's CPU quota (src/platform/cgroup.ts): the pure logic, on synthetic timings and files.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ModeChooser, type Mode } from "../src/engine/adaptive.ts";
import { cgroupCpuQuota } from "../src/platform/cgroup.ts";

/** Runs `n` jobs of one kind where splitting takes `pooled` ms and running alone `solo` ms; returns the modes. */
function drive(c: ModeChooser, n: number, pooled: number, solo: number): Mode[] {
  const out: Mode[] = [];
  for (let i = 0; i < n; i++) {
    const m = c.choose("k");
    c.record("k", m, m === "pooled" ? pooled : solo);
    out.push(m);
  }
  return out;
}

const share = (modes: Mode[], m: Mode) => modes.filter((x) => x === m).length / modes.length;

test("splits where splitting is faster, runs alone where it is not, and probes the other way less and less", () => {
  const fast = new ModeChooser();
  const a = drive(fast, 2000, 0.6, 1.0);
  console.log(`  split faster: ${(100 * share(a, "pooled")).toFixed(1)} % split`);
  assert.ok(share(a, "pooled") > 0.99);
  const slow = new ModeChooser();
  const b = drive(slow, 2000, 5.0, 1.0); // a worker keeps getting descheduled: 5× slower split
  const probes = b.slice(100).filter((m) => m === "pooled").length;
  console.log(`  split 5× slower: ${(100 * share(b, "solo")).toFixed(1)} % alone, ${probes} probes in the last 1900 jobs`);
  assert.ok(share(b, "solo") > 0.99);
  assert.ok(probes <= 8, `${probes} probes: the probe period should have backed off`);
});

test("follows a change of conditions within a bounded number of jobs", () => {
  const c = new ModeChooser();
  drive(c, 3000, 5.0, 1.0); // contended: runs alone, probes rarely
  const after = drive(c, 1200, 0.5, 1.0); // the core is free again
  const firstSplit = after.indexOf("pooled");
  const tail = after.slice(firstSplit + 20);
  console.log(`  core freed: first split after ${firstSplit} jobs, then ${(100 * share(tail, "pooled")).toFixed(1)} % split`);
  assert.ok(firstSplit >= 0 && firstSplit <= 512);
  assert.ok(share(tail, "pooled") > 0.95);
  const back = drive(c, 200, 5.0, 1.0); // taken again: the next split measures 5 ms and it goes back to alone
  assert.ok(share(back.slice(10), "solo") > 0.9);
});

test("kinds are measured separately", () => {
  const c = new ModeChooser();
  for (let i = 0; i < 500; i++) {
    for (const [key, pooled, solo] of [["big", 1, 3], ["small", 0.05, 0.02]] as const) {
      const m = c.choose(key);
      c.record(key, m, m === "pooled" ? pooled : solo);
    }
  }
  const last = (key: string) => c.choose(key);
  assert.is(last("big"), "pooled");
  assert.is(last("small"), "solo");
  assert.is(c.stats().kinds, 2);
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
