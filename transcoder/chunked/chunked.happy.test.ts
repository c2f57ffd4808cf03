/**
 * Chunked encoding against the one-pass encode, with real ffmpeg, on a 16.5 s 720p30 fixture with
 * temporal noise in four chunks (4 s, then 4 s each, and a 4.5 s tail): the units read the source
 * over HTTP from the fake job API, two at a time. What the chunks make together must be the
 * one-pass encode's frames exactly, continuous across boundaries, with the same init segments,
 * no visible seam, manifests that parse, and playback in dash.js through a boundary.
 */
import { copyFile, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser } from "../../test/e2e/browser.ts";
import {
  type ChunkedRun,
  encodeBothWays,
  ensureVendoredDashJs,
  framePtsOf,
  packetsOf,
  serveDirectory,
  ssimPerFrame,
} from "../../test/transcoder/chunked.ts";
import { fixture } from "../../test/transcoder/fixtures.ts";
import { decodeAll, joinRepresentation } from "../../test/transcoder/harness.ts";
import { MANIFEST_NAME } from "../encode.ts";
import { parseMpd } from "../manifest.ts";
import { audioRepresentationId } from "./command.ts";
import { readMediaSegment } from "./fmp4.ts";
import { assemblePresentation, buildManifests, mpdTimeline, predictPresentation } from "./manifests.ts";
import { frameTime } from "./plan.ts";

const SOURCE = fixture("chunks-720p-16s.mp4");
let both: ChunkedRun;
let representationIds: string[];

beforeAll(async () => {
  both = await encodeBothWays(SOURCE, { maxHeight: 720, chunking: { firstChunkSeconds: 4, chunkSeconds: 4 } });
  representationIds = [...both.plan.rungs.map((_, i) => String(i)), audioRepresentationId(both.plan)];
  const presentation = assemblePresentation(both.plan, both.chunks, both.chunkOutputs, both.audioOutput);
  for (const [name, text] of buildManifests(presentation, MANIFEST_NAME)) {
    await writeFile(join(both.chunkedDir, name), text);
  }
}, 300_000);
afterAll(async () => {
  await both?.cleanup();
});

describe("chunked encoding matches the one-pass encode", () => {
  it("plans four chunks on the grid and gives each its own segments", () => {
    expect(both.chunks.chunks.map((c) => [c.start, c.end, c.startFrame, c.endFrame])).toEqual([
      [0, 4, 0, 120],
      [4, 8, 120, 240],
      [8, 12, 240, 360],
      [12, null, 360, null],
    ]);
    expect(both.chunkOutputs.map((o) => o.representations[0]?.segments.map((s) => s.number))).toEqual([
      [1],
      [2],
      [3],
      [4, 5],
    ]);
    expect(both.chunkOutputs.map((o) => o.poster)).toEqual(["poster.jpg", null, null, null]);
  });

  it("has, per rung, the one-pass encode's packets: count, pts, dts, durations and keyframes", async () => {
    for (const id of both.plan.rungs.map((_, i) => String(i))) {
      const onePass = await packetsOf(await joinRepresentation(both.onePassDir, id));
      const chunked = await packetsOf(await joinRepresentation(both.chunkedDir, id));
      expect(onePass).toHaveLength(495);
      expect(chunked).toEqual(onePass);
      expect(chunked.filter((p) => p.key).map((p) => p.pts / 512)).toEqual([0, 60, 120, 180, 240, 300, 360, 420, 480]);
    }
  });

  it("has, per rung, the one-pass encode's decoded frames at the same presentation times", async () => {
    const onePass = await framePtsOf(await joinRepresentation(both.onePassDir, "0"));
    const chunked = await framePtsOf(await joinRepresentation(both.chunkedDir, "0"));
    expect(chunked).toHaveLength(495);
    expect(chunked).toEqual(onePass);
    expect(chunked).toEqual(chunked.map((_, i) => i * 512));
  });

  it("numbers segments for their place and continues decode times across boundaries (no gap, no overlap)", async () => {
    for (const id of representationIds) {
      const names = (await readdir(both.chunkedDir)).filter((n) => n.startsWith(`chunk-${id}-`)).sort();
      expect(names).toEqual([1, 2, 3, 4, 5].map((n) => `chunk-${id}-0000${n}.m4s`));
      let end: number | null = null;
      for (const [i, name] of names.entries()) {
        const info = readMediaSegment(await readFile(join(both.chunkedDir, name)));
        expect(info.sequenceNumber).toBe(i + 1);
        if (end !== null) expect(info.baseMediaDecodeTime).toBe(end);
        end = info.baseMediaDecodeTime + info.duration;
      }
    }
  });

  it("makes byte-identical init segments in every chunk, the same as the one-pass encode's", async () => {
    for (const id of both.plan.rungs.map((_, i) => String(i))) {
      const hashes = new Set(both.chunkOutputs.map((o) => o.representations.find((r) => r.id === id)?.initSha256));
      expect(hashes.size).toBe(1);
      const chunked = await readFile(join(both.chunkedDir, `init-${id}.m4s`));
      expect(chunked.equals(await readFile(join(both.onePassDir, `init-${id}.m4s`)))).toBe(true);
    }
  });

  it("encodes the audio once, packet for packet as the one-pass encode, starting with the same encoder delay", async () => {
    const id = audioRepresentationId(both.plan);
    const onePass = await packetsOf(await joinRepresentation(both.onePassDir, id), true);
    const chunked = await packetsOf(await joinRepresentation(both.chunkedDir, id), true);
    expect(chunked).toEqual(onePass);
    expect(chunked[0]?.pts).toBe(-1024);
    const init = both.audioOutput?.representations[0]?.init;
    expect(init).toMatchObject({ editMediaTime: 1024, sampleRate: 48000, channels: 2, codecs: "mp4a.40.2" });
  });

  it("stores with the first chunk the start of the audio (the first two chunks' worth), as the audio unit makes it", async () => {
    const id = audioRepresentationId(both.plan);
    const start = both.chunkOutputs[0]?.representations.find((r) => r.id === id);
    const whole = both.audioOutput?.representations[0];
    expect(start?.segments.map((s) => s.number)).toEqual([1, 2]);
    expect(start?.initSha256).toBe(whole?.initSha256);
    expect(start?.segments).toEqual(whole?.segments.slice(0, 2));
    expect(both.chunkOutputs.slice(1).every((o) => o.representations.every((r) => r.id !== id))).toBe(true);
  });

  it("shows no seam: SSIM within 1 s of a boundary is within 0.005 of the whole video's", async () => {
    const rate = both.chunks.frameRate ?? { num: 30, den: 1 };
    const boundaries = both.chunks.chunks.slice(1).map((c) => c.start);
    const chunked = await ssimPerFrame(await joinRepresentation(both.chunkedDir, "0"), SOURCE);
    expect(chunked).toHaveLength(495);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const nearBoundary = chunked.filter((_, k) => boundaries.some((b) => Math.abs(frameTime(k, rate) - b) <= 1));
    expect(nearBoundary.length).toBe(3 * 61);
    expect(Math.abs(mean(nearBoundary) - mean(chunked))).toBeLessThanOrEqual(0.005);
  });
});

describe("manifests of the chunked encode", () => {
  it("parse like the one-pass MPD, with the same Representations and the same video timeline", async () => {
    const onePass = parseMpd(await readFile(join(both.onePassDir, MANIFEST_NAME), "utf8"));
    const chunked = parseMpd(await readFile(join(both.chunkedDir, MANIFEST_NAME), "utf8"));
    expect(chunked.type).toBe("static");
    expect(chunked.adaptationSets).toEqual(onePass.adaptationSets);
    const shape = (r: (typeof onePass.representations)[number]) => ({
      id: r.id,
      kind: r.kind,
      codecs: r.codecs,
      width: r.width,
      height: r.height,
      sar: r.sar,
      timescale: r.timescale,
    });
    expect(chunked.representations.map(shape)).toEqual(onePass.representations.map(shape));
    for (const id of both.plan.rungs.map((_, i) => String(i))) {
      const segments = (m: typeof onePass) => m.representations.find((r) => r.id === id)?.segments;
      expect(segments(chunked)).toEqual(segments(onePass));
    }
    const audio = (m: typeof onePass) => m.representations.find((r) => r.kind === "audio")?.segments ?? [];
    const end = (s: { start: number; duration: number }[]) => (s.at(-1)?.start ?? 0) + (s.at(-1)?.duration ?? 0);
    expect(end(audio(chunked))).toBe(end(audio(onePass)));
    expect(audio(chunked)).toHaveLength(audio(onePass).length);
  });

  it("announce measured peaks, and the manifest published while processing has the same timeline but the end", async () => {
    const done = assemblePresentation(both.plan, both.chunks, both.chunkOutputs, both.audioOutput);
    const inits = new Map(
      [...(both.chunkOutputs[0]?.representations ?? []), ...(both.audioOutput?.representations ?? [])].map((r) => [
        r.id,
        r.init,
      ]),
    );
    const early = predictPresentation(both.plan, both.chunks, inits);
    for (const [i, track] of done.video.entries()) {
      const predicted = mpdTimeline(early.video[i]?.segments ?? []);
      const measured = mpdTimeline(track.segments);
      expect(predicted.slice(0, -1)).toEqual(measured.slice(0, -1));
      expect(predicted.at(-1)?.start).toBe(measured.at(-1)?.start);
      expect(early.video[i]?.bandwidth).toBe(both.plan.rungs[i]?.maxrate);
    }
    expect(mpdTimeline(early.audio?.segments ?? []).slice(0, -1)).toEqual(
      mpdTimeline(done.audio?.segments ?? []).slice(0, -1),
    );
  });

  it("decode completely with ffmpeg, as DASH and as HLS", async () => {
    await decodeAll(join(both.chunkedDir, MANIFEST_NAME));
    await decodeAll(join(both.chunkedDir, "master.m3u8"));
  });
});

/** A page that plays `mpd` in dash.js and records errors and where playback waited for data. */
const dashPage = (mpd: string) => `<!doctype html><video muted></video><script type="module">
  import { MediaPlayer } from "/vendor/dashjs/dash.mediaplayer.min.js";
  const video = document.querySelector("video");
  window.sbWaiting = [];
  window.sbErrors = [];
  video.addEventListener("waiting", () => window.sbWaiting.push(video.currentTime));
  const player = MediaPlayer().create();
  player.on("error", (e) => window.sbErrors.push(JSON.stringify(e)));
  player.initialize(video, "/${mpd}", true);
  window.sbVideo = video;
</script>`;

type PageWindow = { sbVideo: HTMLVideoElement; sbWaiting: number[]; sbErrors: string[] };

describe("playback in dash.js", () => {
  let browser: Browser;
  beforeAll(async () => {
    await ensureVendoredDashJs();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });

  async function open(url: string) {
    const page = await browser.newPage();
    await page.goto(`${url}/`);
    return {
      reach: (t: number) =>
        page.waitForFunction((target) => (window as unknown as PageWindow).sbVideo.currentTime > target, t, {
          timeout: 60_000,
        }),
      seek: (t: number) =>
        page.evaluate((target) => {
          (window as unknown as PageWindow).sbVideo.currentTime = target;
        }, t),
      waiting: () => page.evaluate(() => (window as unknown as PageWindow).sbWaiting),
      errors: () => page.evaluate(() => (window as unknown as PageWindow).sbErrors),
    };
  }

  it("plays the finished output through chunk boundaries without stalling, from the start and after a seek", async () => {
    const server = await serveDirectory(both.chunkedDir, { pages: { "/": dashPage(MANIFEST_NAME) } });
    try {
      const player = await open(server.url);
      await player.reach(5);
      await player.seek(7);
      await player.reach(9);
      expect((await player.waiting()).filter((t) => [4, 8].some((b) => Math.abs(t - b) < 0.5))).toEqual([]);
      expect(await player.errors()).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it("plays from the start while later chunks are still missing: the early manifest is complete, missing segments are waited for", async () => {
    const early = join(both.chunkedDir, "..", "early");
    await mkdir(early);
    const inits = new Map(
      [...(both.chunkOutputs[0]?.representations ?? []), ...(both.audioOutput?.representations ?? [])].map((r) => [
        r.id,
        r.init,
      ]),
    );
    for (const [name, text] of buildManifests(predictPresentation(both.plan, both.chunks, inits), MANIFEST_NAME)) {
      await writeFile(join(early, name), text);
    }
    const release = (files: string[]) =>
      Promise.all(files.map((f) => copyFile(join(both.chunkedDir, f), join(early, f))));
    // What the first chunk stores: its video and the start of the audio.
    await release(both.chunkOutputs[0]?.files ?? []);

    const server = await serveDirectory(early, { pages: { "/": dashPage(MANIFEST_NAME) }, holdMissingMs: 20_000 });
    try {
      const player = await open(server.url);
      // The later chunks "finish" one after another, ahead of playback.
      for (const [i, output] of both.chunkOutputs.slice(1).entries()) {
        await new Promise((r) => setTimeout(r, 2500));
        await release([...output.files, ...(i === 0 ? (both.audioOutput?.files ?? []) : [])]);
      }
      await player.reach(15);
      expect(server.held.length).toBeGreaterThan(0);
      expect(await player.errors()).toEqual([]);
    } finally {
      await server.close();
    }
  });
});
