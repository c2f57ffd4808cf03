/**
 * `npm run bench`: measurements side by side in one run, printed as ratios. Not tests: nothing
 * here fails the build. `npm run bench -- healthz` runs one entry; BENCH_QUICK=1 runs less.
 */
import { benchBurst } from "./burst.ts";
import { benchChunked, benchFirstFrames } from "./chunked.ts";
import { benchDirect } from "./direct.ts";
import { benchHealthz } from "./healthz.ts";
import { benchPlayback, benchPlaybackStorage } from "./playback.ts";
import { benchRateLimit } from "./rate-limit.ts";
import { benchQuality, benchTranscode } from "./transcode.ts";
import { benchUploads } from "./uploads.ts";

const quick = process.env.BENCH_QUICK === "1";
const entries: Record<string, () => Promise<unknown>> = {
  healthz: () => benchHealthz({ requests: quick ? 500 : 3000, concurrency: 16, rounds: quick ? 3 : 5 }),
  playback: () => benchPlayback({ requests: quick ? 500 : 2000, concurrency: 16, rounds: quick ? 3 : 5 }),
  "playback-s3": () => benchPlaybackStorage({ requests: quick ? 500 : 2000, concurrency: 16, rounds: quick ? 3 : 5 }),
  uploads: () =>
    benchUploads({
      throughputBytes: (quick ? 256 : 1024) * 1024 * 1024,
      rounds: quick ? 1 : 3,
      memorySizes: quick ? [256 * 1024 * 1024, 1024 ** 3] : [1024 ** 3, 4 * 1024 ** 3],
    }),
  direct: () => benchDirect({ bytes: (quick ? 256 : 1024) * 1024 * 1024, rounds: 3 }),
  "rate-limit": () => benchRateLimit({ requests: quick ? 500 : 3000, concurrency: 16, rounds: quick ? 3 : 5 }),
  quality: () => benchQuality(),
  transcode: () => benchTranscode({ rounds: quick ? 1 : 2 }),
  chunked: () => benchChunked({ quick }),
  "first-frames": () => benchFirstFrames({ quick }),
  burst: () => benchBurst({ uploads: 12, accounts: 3, emptyClaims: quick ? 50 : 200 }),
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
