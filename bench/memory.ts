/** Peak resident memory of the workerd processes started by one `wrangler dev` process group. */
import { readdirSync, readFileSync } from "node:fs";

function workerdPids(groupId: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      const comm = stat.slice(stat.indexOf("(") + 1, close);
      const fields = stat.slice(close + 2).split(" ");
      if (Number(fields[2]) === groupId && comm.startsWith("workerd")) pids.push(Number(entry));
    } catch {}
  }
  return pids;
}

const rssBytes = (pid: number) => {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
};

/** Samples the group's workerd RSS every `intervalMs` while `work` runs; returns the peak. */
export async function peakRss<T>(groupId: number, work: () => Promise<T>, intervalMs = 50) {
  let peak = 0;
  const sample = () => {
    const total = workerdPids(groupId).reduce((sum, pid) => sum + rssBytes(pid), 0);
    peak = Math.max(peak, total);
  };
  sample();
  const before = peak;
  const timer = setInterval(sample, intervalMs);
  try {
    const result = await work();
    sample();
    return { result, peak, before };
  } finally {
    clearInterval(timer);
  }
}
