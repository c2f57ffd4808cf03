/**
 * `npm run bench`: measurements side by side in one run, printed as ratios. Not tests: nothing
 * here fails the build. `npm run bench -- healthz` runs one entry; BENCH_QUICK=1 runs less.
 */
import { benchHealthz } from "./healthz.ts";
import { benchRateLimit } from "./rate-limit.ts";

const quick = process.env.BENCH_QUICK === "1";
const entries: Record<string, () => Promise<unknown>> = {
  healthz: () => benchHealthz({ requests: quick ? 500 : 3000, concurrency: 16, rounds: quick ? 3 : 5 }),
  "rate-limit": () => benchRateLimit({ requests: quick ? 500 : 3000, concurrency: 16, rounds: quick ? 3 : 5 }),
};

const wanted = process.argv.slice(2);
const names = wanted.length > 0 ? wanted : Object.keys(entries);
console.log(`# StreamBuddy Edge benchmarks (${new Date().toISOString()}, node ${process.version})`);
for (const name of names) {
  const entry = entries[name];
  if (!entry) {
    console.error(`unknown benchmark "${name}"; known: ${Object.keys(entries).join(", ")}`);
    process.exitCode = 2;
    continue;
  }
  await entry();
}
