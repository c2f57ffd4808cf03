/**
 * `npm run bench -- chunked`: chunked encoding of bench-1080p-120s.mp4 (the full fixture set,
 * made here if missing) side by side with the one-pass encode, all from local files:
 *
 * - CPU (user + system of the ffmpeg processes, and of this process moving segments into place) of
 *   the chunked encode (every chunk and the audio unit, one after another, ffmpeg's own threading)
 *   against the one-pass encode of the same source (target ≤ 1.08);
 * - wall time of the whole chunked encode by 2 runners at once, each unit with one thread (decoder,
 *   filters and every x264 instance), against 1 such runner (target ≤ 0.55 on a 2-core machine).
 *   Runners take units as the scheduler hands them out: the first chunk, the audio, then the rest
 *   in order.
 *
 * - through `npm start`, the time from an upload's end (the classic endpoint's answer) to the
 *   video's first playable moment: `ready` for the one-pass encode, `playable` (still
 *   processing) for the chunked one, each on a platform of its own with its one local runner,
 *   the same 2-minute 1080p upload (40 s with BENCH_QUICK), CHUNK_SECONDS at its default.
 *
 * BENCH_QUICK=1 uses the first 40 s and 16 s chunks. TRANSCODER_X264_PRESET applies, as in the
 * service.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { signUp, startPlatform, uniqueName } from "../test/support/platform.ts";
import { makeLongClip, uploadVideo } from "../test/support/videos.ts";
import { ensureFixtures, fixture } from "../test/transcoder/fixtures.ts";
import { type ChunkingOptions, planChunks } from "../transcoder/chunked/plan.ts";
import { startAudioEncode, startChunkEncode, type UnitOutput } from "../transcoder/chunked/run.ts";
import { buildEncodeCommand, type EncodePlan, planEncode } from "../transcoder/encode.ts";
import { probeMedia, startFfmpeg } from "../transcoder/ffmpeg.ts";
import { settingsFromEnv } from "../transcoder/settings.ts";
import { assessSource } from "../transcoder/source.ts";
import { selfAndChildrenCpuMs } from "./cpu.ts";
import { fmt, printTable } from "./lib.ts";

const run = promisify(execFile);

interface Measured {
  wallMs: number;
  cpuMs: number;
}

/** Wall and CPU time of `work`, CPU counted over this process and every child it waits for. */
async function measure(work: () => Promise<unknown>): Promise<Measured> {
  const cpu0 = selfAndChildrenCpuMs();
  const t0 = performance.now();
  await work();
  return { wallMs: performance.now() - t0, cpuMs: selfAndChildrenCpuMs() - cpu0 };
}

interface Setup {
  source: string;
  duration: number | null;
  plan: EncodePlan;
  chunking: ChunkingOptions;
  preset: string;
}

/** A fresh output directory for one encode, removed afterwards. */
async function inScratch<T>(work: (dirs: { outDir: string; workDir: string }) => Promise<T>): Promise<T> {
  const root = await mkdtemp(join(tmpdir(), "streambuddy-bench-chunked-"));
  const outDir = join(root, "out");
  const workDir = join(root, "work");
  await Promise.all([mkdir(outDir), mkdir(workDir)]);
  try {
    return await work({ outDir, workDir });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

const chunksOf = (s: Setup) => planChunks({ duration: s.duration, frameRate: s.plan.frameRate }, s.chunking);

const onePass = (s: Setup) =>
  inScratch(({ outDir }) =>
    measure(() => startFfmpeg(buildEncodeCommand(s.plan, { input: s.source, outDir, x264Preset: s.preset })).done),
  );

/** Every unit of the chunked encode, in the order the scheduler hands them out, by `runners` at once. */
function chunked(s: Setup, runners: number, threads?: number) {
  return inScratch(async ({ outDir, workDir }) => {
    const chunks = chunksOf(s);
    const common = { input: s.source, workDir, outDir, threads };
    const units: { name: string; start: () => Promise<UnitOutput> }[] = chunks.chunks.map((chunk) => ({
      name: `chunk ${chunk.index} [${chunk.start}, ${chunk.end ?? "end"})`,
      start: () => startChunkEncode(s.plan, chunks, chunk, { ...common, x264Preset: s.preset }).done,
    }));
    if (s.plan.audioStreamIndex !== null) {
      units.splice(1, 0, { name: "audio", start: () => startAudioEncode(s.plan, common).done });
    }
    const times: { name: string; wallMs: number }[] = [];
    let next = 0;
    const runner = async () => {
      while (next < units.length) {
        const unit = units[next++] as (typeof units)[number];
        const t0 = performance.now();
        await unit.start();
        times.push({ name: unit.name, wallMs: performance.now() - t0 });
      }
    };
    const total = await measure(() => Promise.all(Array.from({ length: runners }, runner)));
    return { ...total, units: times };
  });
}

export async function benchChunked(options: { quick: boolean }) {
  ensureFixtures("full");
  const scratch = await mkdtemp(join(tmpdir(), "streambuddy-bench-chunked-src-"));
  try {
    let source = fixture("bench-1080p-120s.mp4");
    if (options.quick) {
      const excerpt = join(scratch, "excerpt-40s.mp4");
      await run("ffmpeg", ["-v", "error", "-y", "-i", source, "-t", "40", "-c", "copy", excerpt]);
      source = excerpt;
    }
    const verdict = assessSource(await probeMedia(source, []), { maxDurationSeconds: Number.POSITIVE_INFINITY });
    if (!verdict.ok) throw new Error(verdict.message);
    const setup: Setup = {
      source,
      duration: verdict.source.duration,
      plan: planEncode(verdict.source, 1080),
      chunking: options.quick ? { firstChunkSeconds: 8, chunkSeconds: 16 } : {},
      preset: settingsFromEnv(process.env).x264Preset,
    };
    const seconds = (ms: number) => `${fmt(ms / 1000, 1)} s`;

    // A B B A: drift on a shared machine hits both sides alike.
    const one1 = await onePass(setup);
    const chunked1 = await chunked(setup, 1);
    const chunked2 = await chunked(setup, 1);
    const one2 = await onePass(setup);
    const oneCpu = (one1.cpuMs + one2.cpuMs) / 2;
    const chunkedCpu = (chunked1.cpuMs + chunked2.cpuMs) / 2;

    const single = await chunked(setup, 1, 1);
    const double = await chunked(setup, 2, 1);

    const label = options.quick ? "first 40 s of bench-1080p-120s.mp4" : "bench-1080p-120s.mp4";
    printTable(`chunked encoding of ${label} (1080p30, ${setup.plan.rungs.length} rungs + audio)`, [
      [
        "preset, chunks",
        `${setup.preset}, ${chunksOf(setup)
          .chunks.map((c) => `[${c.start}, ${c.end ?? "end"})`)
          .join(" ")}`,
      ],
      [
        "one-pass wall, CPU",
        `${seconds((one1.wallMs + one2.wallMs) / 2)}, ${seconds(oneCpu)} (each ${seconds(one1.cpuMs)}, ${seconds(one2.cpuMs)})`,
      ],
      [
        "chunked wall, CPU",
        `${seconds((chunked1.wallMs + chunked2.wallMs) / 2)}, ${seconds(chunkedCpu)} (each ${seconds(chunked1.cpuMs)}, ${seconds(chunked2.cpuMs)}), units one after another`,
      ],
      ["CPU ratio chunked/one-pass", `${fmt(chunkedCpu / oneCpu, 3)} (target ≤ 1.08)`],
      [
        "1 runner, 1 thread: wall",
        `${seconds(single.wallMs)} (${single.units.map((u) => `${u.name} ${seconds(u.wallMs)}`).join(", ")})`,
      ],
      [
        "2 runners, 1 thread each: wall",
        `${seconds(double.wallMs)} (${double.units.map((u) => `${u.name} ${seconds(u.wallMs)}`).join(", ")})`,
      ],
      ["wall ratio 2 runners / 1 runner", `${fmt(double.wallMs / single.wallMs, 3)} (target ≤ 0.55)`],
      ["encode speed, 1 thread", `${fmt((setup.duration ?? 0) / (single.wallMs / 1000), 2)}× realtime`],
    ]);
    printOneHourProjection(setup, single, double);
    const playable = await benchTimeToPlayable(options);
    const firstFrames = await benchFirstFrames(options);
    return { cpuRatio: chunkedCpu / oneCpu, wallRatio: double.wallMs / single.wallMs, ...playable, ...firstFrames };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

type UnitTimes = Awaited<ReturnType<typeof chunked>>;

/**
 * Time to `ready` of a one-hour 1080p upload on K Containers of 4 vCPU, from the units measured
 * here with one thread each: a chunk of CHUNK_SECONDS costs what the measured chunks cost per
 * second of video, each vCPU works one unit at a time as fast as one of the two runners above
 * did (so the efficiency of two at once on this machine is counted in), the audio unit runs
 * beside the chunks, and the probe and finalize take what they take here through npm start
 * (a second or two; left out).
 */
function printOneHourProjection(setup: Setup, single: UnitTimes, double: UnitTimes) {
  const chunkUnits = single.units.filter((u) => u.name.startsWith("chunk"));
  const chunkSeconds = 60; // CHUNK_SECONDS' default
  const videoSeconds = setup.duration ?? 0;
  const perVideoSecondMs = chunkUnits.reduce((sum, u) => sum + u.wallMs, 0) / videoSeconds;
  // Two at once on two cores: each unit is this much slower than alone.
  const slowdown = (double.wallMs * 2) / single.wallMs;
  const hour = 3600;
  const plan = planChunks({ duration: hour, frameRate: setup.plan.frameRate }, { chunkSeconds });
  const audio = single.units.find((u) => u.name === "audio");
  const audioMs = audio ? (audio.wallMs / videoSeconds) * hour * slowdown : 0;
  const rows: [string, string][] = [
    [
      "from the units above",
      `${fmt(perVideoSecondMs / 1000, 3)} s of one thread per second of 1080p video; two at once ${fmt(slowdown, 2)}× as long each; ${plan.chunks.length} chunks of ≤ ${chunkSeconds} s`,
    ],
  ];
  for (const containers of [1, 2, 4, 8, 16]) {
    const slots = containers * 4;
    // Units are handed out in order to whichever slot is free first.
    const free = Array.from({ length: slots }, () => 0);
    for (const chunk of plan.chunks) {
      const length = (chunk.end ?? hour) - chunk.start;
      const i = free.indexOf(Math.min(...free));
      free[i] = (free[i] ?? 0) + perVideoSecondMs * length * slowdown;
    }
    const readyMs = Math.max(...free, audioMs);
    rows.push([
      `${containers} × 4 vCPU`,
      `ready after ${fmt(readyMs / 60_000, 1)} min (${fmt(hour / (readyMs / 1000), 1)}× realtime)`,
    ]);
  }
  printTable("projected: a one-hour 1080p upload, chunked, time to ready", rows);
}

/**
 * `npm run bench -- chunked`, its first-frames part: a 3-minute and a 20-minute 1080p upload
 * (1 minute with BENCH_QUICK), chunked, each on a platform of its own through npm start with its
 * one local runner; the time from the upload's answer until a player has the start through the
 * manifest, and until the API says `playable`. The platform stops there; the rest is not waited for.
 */
export async function benchFirstFrames(options: { quick: boolean }) {
  const scratch = await mkdtemp(join(tmpdir(), "streambuddy-bench-first-frames-"));
  try {
    const rows: [string, string][] = [];
    const worst: number[] = [];
    for (const seconds of options.quick ? [60] : [180, 1200]) {
      const clip = makeLongClip(join(scratch, `upload-${seconds}s.mp4`), { seconds, width: 1920, height: 1080 });
      const megabytes = (await stat(clip)).size / 1e6;
      const measured = await uploadToFirstFrames(clip);
      await rm(clip, { force: true });
      worst.push(measured.firstFrames);
      rows.push([
        `${seconds / 60} min of 1080p30 (${fmt(megabytes, 0)} MB)`,
        `first frames ${fmt(measured.firstFrames, 1)} s after the upload (target ≤ 10 s); playable in the API at ${fmt(measured.playable, 1)} s`,
      ]);
    }
    printTable("time from upload to first frames through the manifest, chunked (one local runner)", rows);
    return { firstFramesSeconds: Math.max(...worst) };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

async function uploadToFirstFrames(clip: string) {
  const platform = await startPlatform({
    apiPort: 18871,
    transcoderPort: 18872,
    env: { VAR_RATE_LIMIT_ENABLED: "false", VAR_CHUNKED_ENCODING: "true" },
  });
  try {
    const account = await signUp(platform.apiUrl, uniqueName("frames"));
    const video = await uploadVideo(platform.apiUrl, account, clip, "First frames");
    const t0 = performance.now();
    const since = () => (performance.now() - t0) / 1000;
    let playable: number | null = null;
    for (;;) {
      const res = await fetch(`${platform.apiUrl}/api/videos/${video.id}/`, { headers: account.auth });
      const v = (await res.json()) as { status: string; playable: boolean; dash_url: string | null };
      if (v.status === "failed") throw new Error(`video ${video.id} failed`);
      if (v.playable && playable === null) playable = since();
      if (v.dash_url && (await startServed(new URL(v.dash_url, platform.apiUrl)))) {
        return { firstFrames: since(), playable: playable ?? since() };
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await platform.stop();
  }
}

/**
 * What a player fetches to show the first frames: the MPD, then the init and first media segment
 * of the lowest video rung and of the audio. True when every one is answered 200 (a segment not
 * encoded yet is waited for by the Worker, then 503 with Retry-After).
 */
async function startServed(mpdUrl: URL): Promise<boolean> {
  const res = await fetch(mpdUrl);
  if (!res.ok) return false;
  const mpd = await res.text();
  const base = new URL(/<BaseURL>([^<]*)<\/BaseURL>/.exec(mpd)?.[1] ?? "", mpdUrl);
  const representations = mpd
    .split("<Representation ")
    .slice(1)
    .map((xml) => ({
      id: /^id="([^"]+)"/.exec(xml)?.[1] ?? "",
      kind: /mimeType="(\w+)\//.exec(xml)?.[1],
      bandwidth: Number(/bandwidth="(\d+)"/.exec(xml)?.[1]),
      init: /initialization="([^"]+)"/.exec(xml)?.[1] ?? "",
      media: /media="([^"]+)"/.exec(xml)?.[1] ?? "",
      first: Number(/startNumber="(\d+)"/.exec(xml)?.[1] ?? 1),
    }));
  const video = representations.filter((r) => r.kind === "video").sort((a, b) => a.bandwidth - b.bandwidth)[0];
  const audio = representations.find((r) => r.kind === "audio");
  const urls = [video, audio].flatMap((r) => {
    if (!r) return [];
    const fill = (template: string) =>
      template
        .replace("$RepresentationID$", r.id)
        .replace(/\$Number%0(\d+)d\$/, (_, width: string) => String(r.first).padStart(Number(width), "0"))
        .replace("$Number$", String(r.first));
    return [new URL(fill(r.init), base), new URL(fill(r.media), base)];
  });
  if (!video) return false;
  for (const url of urls) {
    const segment = await fetch(url);
    await segment.arrayBuffer();
    if (segment.status !== 200) return false;
  }
  return true;
}

/** The time-to-playable part of `npm run bench -- chunked`. */
export async function benchTimeToPlayable(options: { quick: boolean }) {
  const scratch = await mkdtemp(join(tmpdir(), "streambuddy-bench-playable-"));
  try {
    const playable = await timesToPlayable(scratch, options.quick ? 40 : 120);
    printTable("time from upload to first playable, through npm start (one local runner)", [
      ["upload", `${playable.seconds} s of 1080p30 (${fmt(playable.megabytes, 1)} MB), classic endpoint`],
      [
        "one-pass: ready (plays)",
        `${fmt(playable.onePass.playable, 1)} s after the upload (ready at ${fmt(playable.onePass.ready, 1)} s)`,
      ],
      [
        "chunked: playable, processing",
        `${fmt(playable.chunked.playable, 1)} s after the upload (ready at ${fmt(playable.chunked.ready, 1)} s)`,
      ],
      ["ratio chunked/one-pass, to playable", fmt(playable.chunked.playable / playable.onePass.playable, 3)],
      ["ratio chunked/one-pass, to ready", fmt(playable.chunked.ready / playable.onePass.ready, 3)],
    ]);
    return {
      playableRatio: playable.chunked.playable / playable.onePass.playable,
      readyRatio: playable.chunked.ready / playable.onePass.ready,
    };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Seconds from the upload's answer until the video plays (`playable` or `ready`), and until it is ready. */
async function uploadToPlayable(env: Record<string, string>, clip: string) {
  const platform = await startPlatform({
    apiPort: 18871,
    transcoderPort: 18872,
    env: { VAR_RATE_LIMIT_ENABLED: "false", ...env },
  });
  try {
    const account = await signUp(platform.apiUrl, uniqueName("playable"));
    const video = await uploadVideo(platform.apiUrl, account, clip, "Time to playable");
    const t0 = performance.now();
    let playable: number | null = null;
    for (;;) {
      const res = await fetch(`${platform.apiUrl}/api/videos/${video.id}/`, { headers: account.auth });
      const v = (await res.json()) as { status: string; playable: boolean };
      if (v.status === "failed") throw new Error(`video ${video.id} failed`);
      if (v.playable && playable === null) playable = (performance.now() - t0) / 1000;
      if (v.status === "ready") return { playable: playable ?? 0, ready: (performance.now() - t0) / 1000 };
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await platform.stop();
  }
}

async function timesToPlayable(scratch: string, seconds: number) {
  const clip = makeLongClip(join(scratch, `upload-${seconds}s.mp4`), { seconds, width: 1920, height: 1080 });
  const megabytes = (await stat(clip)).size / 1e6;
  const onePass = await uploadToPlayable({ VAR_CHUNKED_ENCODING: "false" }, clip);
  const chunked = await uploadToPlayable({ VAR_CHUNKED_ENCODING: "true" }, clip);
  return { seconds, megabytes, onePass, chunked };
}
