/**
 * `npm run bench -- burst`: 12 short uploads from 3 accounts at once against the platform as
 * `npm start` runs it, with its one local runner. The time to drain them all (the first upload
 * accepted → the last unit finished) beside the sum of the units' own times (each from the
 * runner's `unit started` to its `unit finished` line): capacity that never idles while work
 * waits keeps the ratio near 1. Then the claim round trip: the claims that handed the runner its
 * units (from its log), and bare claims that find nothing (`wait_seconds: 0`, answered 204).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  issueRunnerToken,
  type LogLine,
  localRunnerLines,
  signUp,
  startPlatform,
  uniqueName,
} from "../test/support/platform.ts";
import { makeClip, uploadVideo } from "../test/support/videos.ts";
import { fmt, printTable } from "./lib.ts";

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;

export async function benchBurst(options: { uploads: number; accounts: number; emptyClaims: number }) {
  const work = mkdtempSync(join(tmpdir(), "streambuddy-bench-burst-"));
  const platform = await startPlatform({
    apiPort: 18861,
    transcoderPort: 18862,
    env: { VAR_RATE_LIMIT_ENABLED: "false", VAR_ADMIN_USERNAMES: "benchadmin" },
  });
  try {
    const clip = makeClip(join(work, "burst.mp4"), { seconds: 3, width: 640, height: 360 });
    const admin = await signUp(platform.apiUrl, "benchadmin");
    const accounts = await Promise.all(
      Array.from({ length: options.accounts }, () => signUp(platform.apiUrl, uniqueName("burst"))),
    );
    const t0 = Date.now();
    const accepted: number[] = [];
    const videos = await Promise.all(
      Array.from({ length: options.uploads }, async (_, i) => {
        const account = accounts[i % accounts.length] as (typeof accounts)[number];
        const video = await uploadVideo(platform.apiUrl, account, clip, `Burst ${i}`);
        accepted.push(Date.now());
        return { account, id: video.id };
      }),
    );
    const ids = new Set(videos.map((v) => v.id));
    for (const { account, id } of videos) {
      for (;;) {
        const res = await fetch(`${platform.apiUrl}/api/videos/${id}/`, { headers: account.auth });
        const { status } = (await res.json()) as { status: string };
        if (status === "failed") throw new Error(`video ${id} failed`);
        if (status === "ready") break;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    const lines = localRunnerLines(platform).filter((l) => ids.has(String(l.videoId)));
    const at = (l: LogLine) => Date.parse(l.ts);
    const starts = lines.filter((l) => l.msg === "unit started");
    const ends = lines.filter((l) => l.msg === "unit finished");
    const unitSeconds = ends.reduce((sum, l) => sum + Number(l.seconds), 0);
    const firstAccepted = Math.min(...accepted);
    const lastEnd = Math.max(...ends.map(at));
    const drainSeconds = (lastEnd - firstAccepted) / 1000;
    const startTimes = starts.map(at).sort((a, b) => a - b);
    const gaps = ends
      .map(at)
      .map((end) => (startTimes.find((t) => t >= end) ?? Number.NaN) - end)
      .filter(Number.isFinite)
      .sort((a, b) => a - b);
    // The first claim waited for the first upload; the others found their unit waiting.
    const handed = [...starts]
      .sort((a, b) => at(a) - at(b))
      .slice(1)
      .map((l) => Number(l.claimMs))
      .sort((a, b) => a - b);

    // Bare claims: a runner of its own that finds nothing claimable and is answered at once.
    const { token } = await issueRunnerToken(platform.apiUrl, admin, "bench-claims");
    const empty: number[] = [];
    for (let i = 0; i < options.emptyClaims; i++) {
      const c0 = performance.now();
      const res = await fetch(`${platform.apiUrl}/internal/runners/claim`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ wait_seconds: 0, running: [], capacity: 1 }),
      });
      await res.arrayBuffer();
      if (res.status !== 204) throw new Error(`bare claim answered ${res.status}`);
      empty.push(performance.now() - c0);
    }
    empty.sort((a, b) => a - b);

    printTable(`Burst: ${options.uploads} uploads of a 3 s 360p clip from ${options.accounts} accounts, one runner`, [
      ["uploads accepted", `${fmt((Math.max(...accepted) - t0) / 1000)} s after the first was sent`],
      ["drain (first accepted → last done)", `${fmt(drainSeconds)} s`],
      ["sum of unit times", `${fmt(unitSeconds)} s over ${ends.length} units`],
      ["drain / sum of unit times", `${fmt(drainSeconds / unitSeconds, 3)} (target ≤ 1.10)`],
      ["first upload accepted → first unit started", `${fmt((Math.min(...startTimes) - firstAccepted) / 1000, 2)} s`],
      [
        "idle between units (p50 / max)",
        `${fmt(percentile(gaps, 50), 0)} / ${fmt(gaps.at(-1) ?? Number.NaN, 0)} ms over ${gaps.length} gaps`,
      ],
      [
        "claim round trip, handing a unit (p50 / p99)",
        `${fmt(percentile(handed, 50), 0)} / ${fmt(percentile(handed, 99), 0)} ms (${handed.length} claims after the first)`,
      ],
      [
        "claim round trip, nothing claimable (p50 / p99)",
        `${fmt(percentile(empty, 50), 1)} / ${fmt(percentile(empty, 99), 1)} ms (${empty.length} claims)`,
      ],
    ]);
    return { drainSeconds, unitSeconds, ratio: drainSeconds / unitSeconds, gaps, handed, empty };
  } finally {
    await platform.stop();
    rmSync(work, { recursive: true, force: true });
  }
}
