// The CPU quota a Linux container imposes (cgroup v2 `cpu.max`, or v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`):
// logical-core counts ignore it, so a container limited to one CPU on a 32-core host would otherwise start
// threads that can never run at once. Pure parsing here; the Node platform supplies the file reader.

/** CPUs per period the quota allows (e.g. 1.5), or undefined when there is none or it cannot be read. */
export function cgroupCpuQuota(read: (file: string) => string | undefined): number | undefined {
  const v2 = read("/sys/fs/cgroup/cpu.max");
  if (v2 !== undefined) {
    const [quota, period] = v2.trim().split(/\s+/);
    return ratio(quota, period);
  }
  return ratio(read("/sys/fs/cgroup/cpu/cpu.cfs_quota_us")?.trim(), read("/sys/fs/cgroup/cpu/cpu.cfs_period_us")?.trim());
}

function ratio(quota: string | undefined, period: string | undefined): number | undefined {
  if (quota === undefined || period === undefined || quota === "max" || quota === "-1") return undefined;
  const q = Number(quota), p = Number(period);
  return Number.isFinite(q) && Number.isFinite(p) && q > 0 && p > 0 ? q / p : undefined;
}
