/** CPU time from /proc (Linux): of this process, and of the workerd processes under a wrangler. */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

const clockTicks = (() => {
  const n = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout?.trim());
  return Number.isFinite(n) && n > 0 ? n : 100;
})();

/** A /proc/<pid>/stat line's name and the fields after it (state is fields[0]). */
function procStat(pid: number | "self"): { comm: string; fields: string[] } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    const close = text.lastIndexOf(")");
    return { comm: text.slice(text.indexOf("(") + 1, close), fields: text.slice(close + 2).split(" ") };
  } catch {
    return undefined; // the process ended meanwhile
  }
}

// utime, stime, cutime, cstime are fields[11..14].
const ticksToMs = (fields: string[], indexes: number[]) =>
  (indexes.reduce((sum, i) => sum + Number(fields[i]), 0) / clockTicks) * 1000;

/**
 * CPU milliseconds (user + system) of this process plus the children it has waited for, from
 * /proc/self/stat (Linux): a delta around a child's life is that child's CPU, its own children
 * included.
 */
export function selfAndChildrenCpuMs(): number {
  return ticksToMs(procStat("self")?.fields ?? [], [11, 12, 13, 14]);
}

/**
 * CPU milliseconds (user + system, every thread) of the workerd processes descending from `pid`
 * (a `wrangler dev` process): the runtime that runs the Worker and its local simulators.
 */
export function workerdCpuMs(pid: number): number {
  const children = new Map<number, number[]>();
  const stats = new Map<number, { comm: string; fields: string[] }>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(Number(entry));
    if (!stat) continue;
    stats.set(Number(entry), stat);
    const parent = Number(stat.fields[1]);
    children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
  }
  let total = 0;
  const pending = [...(children.get(pid) ?? [])];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const stat = stats.get(next);
    if (stat?.comm.startsWith("workerd")) total += ticksToMs(stat.fields, [11, 12]);
    pending.push(...(children.get(next) ?? []));
  }
  return total;
}
