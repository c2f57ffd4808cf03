/**
 * Segment requests through the Worker's playback route (video lookup in D1, version check, R2 or
 * the Cache API, headers) against a bare Worker returning the same R2 object, same runtime.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { root, signUp, startWrangler } from "../test/support/platform.ts";
import { fmt, load, printTable, sideBySide } from "./lib.ts";
import { benchRunnerToken, claimUnit, completeUnit } from "./publish.ts";

export async function benchPlayback(options: { requests: number; concurrency: number; rounds: number }) {
  const runnerToken = benchRunnerToken();
  const port = 18851;
  const app = await startWrangler(
    join(root, "wrangler.toml"),
    port,
    [
      "--var",
      "LOG_LEVEL:error",
      "--var",
      "RATE_LIMIT_ENABLED:false",
      "--var",
      `LOCAL_RUNNER_TOKEN:${runnerToken}`,
      "--var",
      `PUBLIC_BASE_URL:http://127.0.0.1:${port}`,
    ],
    { migrate: true },
  );
  const bare = await startWrangler(join(root, "bench", "bare", "wrangler.toml"), 18852);
  try {
    const segment = new Uint8Array(256 * 1024).map((_, i) => i % 251);
    const key = (await signUp(app.url, "viewer")).key;
    const form = new FormData();
    form.append("title", "bench video");
    form.append(
      "file",
      new Blob([readFileSync(join(root, "test", "fixtures", "tiny.mp4"))], { type: "video/mp4" }),
      "t.mp4",
    );
    const uploaded = await fetch(`${app.url}/api/videos/upload/`, {
      method: "POST",
      headers: { authorization: `Token ${key}` },
      body: form,
    });
    if (uploaded.status !== 201) throw new Error(`upload failed: ${uploaded.status} ${await uploaded.text()}`);
    const video = (await uploaded.json()) as { id: string };
    const job = await claimUnit(app.url, runnerToken);
    if (job.videoId !== video.id) throw new Error("the stand-in runner claimed another video");
    await completeUnit(job, { "manifest.mpd": "<MPD/>", "chunk-0-00001.m4s": segment });
    await fetch(`${bare.url}/r2/segment.m4s`, { method: "PUT", body: segment });
    const appUrl = `${app.url}/v/${video.id}/${job.version}/chunk-0-00001.m4s`;
    const check = await fetch(appUrl);
    if (check.status !== 200 || (await check.arrayBuffer()).byteLength !== segment.length) {
      throw new Error(`the app does not serve the segment: ${check.status}`);
    }
    const run = (url: string) => () => load(() => fetch(url), options.requests, options.concurrency);
    await run(appUrl)();
    await run(`${bare.url}/r2/segment.m4s`)();
    const { a, b } = await sideBySide(run(appUrl), run(`${bare.url}/r2/segment.m4s`), options.rounds);
    printTable("Segment requests (256 KiB): playback route vs bare Worker returning the R2 object", [
      ["requests per round", `${options.requests} at concurrency ${options.concurrency}, ${options.rounds} rounds`],
      [
        "playback req/s, p50, p99",
        `${fmt(a.rps)} req/s, ${fmt(a.p50, 2)} ms, ${fmt(a.p99, 2)} ms (errors ${a.errors})`,
      ],
      [
        "bare     req/s, p50, p99",
        `${fmt(b.rps)} req/s, ${fmt(b.p50, 2)} ms, ${fmt(b.p99, 2)} ms (errors ${b.errors})`,
      ],
      ["throughput ratio playback/bare (target ≥ 0.8)", fmt(a.rps / b.rps, 2)],
      ["p99 ratio playback/bare", fmt(a.p99 / b.p99, 2)],
    ]);
  } finally {
    await app.stop();
    await bare.stop();
  }
}
