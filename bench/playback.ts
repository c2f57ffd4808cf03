/**
 * Segment requests through the Worker's playback route (video lookup in D1, version check, R2 or
 * the Cache API, headers) against a bare Worker returning the same R2 object, same runtime; and
 * (`playback-s3`) the same routes on the S3 backend beside the R2 binding.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type RunningWorker, root, signUp, startWrangler } from "../test/support/platform.ts";
import { fmt, type LoadResult, load, printTable, sideBySide } from "./lib.ts";
import { benchRunnerToken, claimUnit, completeUnit } from "./publish.ts";
import { startS3Process } from "./s3-process.ts";

/** The app as the playback benchmarks run it, with a stand-in runner's token to publish with. */
async function startPlaybackApp(port: number, extraArgs: string[] = []) {
  const runnerToken = benchRunnerToken();
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
      ...extraArgs,
    ],
    { migrate: true },
  );
  return { app, runnerToken };
}

/**
 * Publishes a public video whose version holds `segment` as chunk-0-00001.m4s: a classic upload
 * of the tiny fixture, then a stand-in runner stores the files through the unit's API. Answers
 * the segment's URLs: `versioned` (what players fetch; the Cache API in front of storage) and
 * `current` (`/v/{id}/{file}`, read from storage on every request).
 */
async function publishSegment(appUrl: string, runnerToken: string, segment: Uint8Array) {
  const key = (await signUp(appUrl, "viewer")).key;
  const form = new FormData();
  form.append("title", "bench video");
  form.append(
    "file",
    new Blob([readFileSync(join(root, "test", "fixtures", "tiny.mp4"))], { type: "video/mp4" }),
    "t.mp4",
  );
  const uploaded = await fetch(`${appUrl}/api/videos/upload/`, {
    method: "POST",
    headers: { authorization: `Token ${key}` },
    body: form,
  });
  if (uploaded.status !== 201) throw new Error(`upload failed: ${uploaded.status} ${await uploaded.text()}`);
  const video = (await uploaded.json()) as { id: string };
  const job = await claimUnit(appUrl, runnerToken);
  if (job.videoId !== video.id) throw new Error("the stand-in runner claimed another video");
  await completeUnit(job, { "manifest.mpd": "<MPD/>", "chunk-0-00001.m4s": segment });
  const urls = {
    versioned: `${appUrl}/v/${video.id}/${job.version}/chunk-0-00001.m4s`,
    current: `${appUrl}/v/${video.id}/chunk-0-00001.m4s`,
  };
  for (const url of Object.values(urls)) {
    const check = await fetch(url);
    if (check.status !== 200 || (await check.arrayBuffer()).byteLength !== segment.length) {
      throw new Error(`the app does not serve the segment at ${url}: ${check.status}`);
    }
  }
  return urls;
}

const SEGMENT = new Uint8Array(256 * 1024).map((_, i) => i % 251);

const loadResult = (r: LoadResult) =>
  `${fmt(r.rps)} req/s, ${fmt(r.p50, 2)} ms, ${fmt(r.p99, 2)} ms (errors ${r.errors})`;

export async function benchPlayback(options: { requests: number; concurrency: number; rounds: number }) {
  const { app, runnerToken } = await startPlaybackApp(18851);
  const bare = await startWrangler(join(root, "bench", "bare", "wrangler.toml"), 18852);
  try {
    const appUrl = (await publishSegment(app.url, runnerToken, SEGMENT)).versioned;
    await fetch(`${bare.url}/r2/segment.m4s`, { method: "PUT", body: SEGMENT });
    const run = (url: string) => () => load(() => fetch(url), options.requests, options.concurrency);
    await run(appUrl)();
    await run(`${bare.url}/r2/segment.m4s`)();
    const { a, b } = await sideBySide(run(appUrl), run(`${bare.url}/r2/segment.m4s`), options.rounds);
    printTable("Segment requests (256 KiB): playback route vs bare Worker returning the R2 object", [
      ["requests per round", `${options.requests} at concurrency ${options.concurrency}, ${options.rounds} rounds`],
      ["playback req/s, p50, p99", loadResult(a)],
      ["bare     req/s, p50, p99", loadResult(b)],
      ["throughput ratio playback/bare (target ≥ 0.8)", fmt(a.rps / b.rps, 2)],
      ["p99 ratio playback/bare", fmt(a.p99 / b.p99, 2)],
    ]);
  } finally {
    await app.stop();
    await bare.stop();
  }
}

/**
 * The same segment through the playback routes of two apps side by side, one on the R2 binding
 * and one on the S3 backend (s3rver in a process of its own), each seeded the same way: from
 * storage on every request, and through the versioned route with the Cache API in front.
 */
export async function benchPlaybackStorage(options: { requests: number; concurrency: number; rounds: number }) {
  const s3 = await startS3Process();
  const started: RunningWorker[] = [];
  try {
    const r2 = await startPlaybackApp(18853);
    started.push(r2.app);
    const onS3 = await startPlaybackApp(18854, s3.workerArgs);
    started.push(onS3.app);
    const r2Urls = await publishSegment(r2.app.url, r2.runnerToken, SEGMENT);
    const s3Urls = await publishSegment(onS3.app.url, onS3.runnerToken, SEGMENT);
    const run = (url: string) => () => load(() => fetch(url), options.requests, options.concurrency);
    const rows: [string, string][] = [
      ["requests per round", `${options.requests} at concurrency ${options.concurrency}, ${options.rounds} rounds`],
    ];
    for (const [route, label] of [
      ["current", "/v/{id}/{file}, from storage"],
      ["versioned", "/v/{id}/{version}/{file}, Cache API"],
    ] as const) {
      await run(r2Urls[route])();
      await run(s3Urls[route])();
      const { a, b } = await sideBySide(run(s3Urls[route]), run(r2Urls[route]), options.rounds);
      rows.push(
        [`${label}: S3 req/s, p50, p99`, loadResult(a)],
        [`${label}: R2 req/s, p50, p99`, loadResult(b)],
        [`${label}: throughput ratio s3/r2`, fmt(a.rps / b.rps, 2)],
        [`${label}: p99 ratio s3/r2`, fmt(a.p99 / b.p99, 2)],
      );
    }
    printTable("Segment requests (256 KiB): S3 backend (s3rver) vs the R2 binding (same playback routes)", rows);
  } finally {
    for (const app of started) await app.stop();
    await s3.stop();
  }
}
