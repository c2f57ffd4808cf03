/**
 * Chunked encoding end to end, on a platform of its own as `npm start` starts it with
 * CHUNKED_ENCODING on, an 8 s first chunk and 24 s chunks after it, and short leases:
 *
 * - an upload becomes a probe unit, chunk units, an audio unit and a finalize unit, worked by the
 *   local runner in the scheduler's order, and plays in dash.js across its chunk boundaries;
 * - a 3-minute 1080p upload plays in dash.js from its start while it is still processing, on
 *   across a chunk boundary, and once ready in hls.js, Shaka Player and dash.js, with seeks;
 * - a second runner killed in the middle of a chunk costs that chunk only.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Account,
  issueRunnerToken,
  type LogLine,
  localRunnerLines,
  type Platform,
  type RunnerProcess,
  signUp,
  startPlatform,
  startRunnerProcess,
  uniqueName,
  workerLines,
} from "../support/platform.ts";
import { makeClip, makeLongClip, uploadVideo } from "../support/videos.ts";
import { adminAccount, getVideo, settledVideo, until, type VideoState } from "./api.ts";
import { launchBrowser, localOnlyContext } from "./browser.ts";
import { player } from "./dash-player.ts";
import { hlsPlayer } from "./hls-player.ts";
import { shakaPlayer } from "./shaka-player.ts";

const FIRST_CHUNK = 8;
const CHUNK = 24;
const LEASE_SECONDS = 10;
const work = mkdtempSync(join(tmpdir(), "streambuddy-e2e-chunked-"));
let platform: Platform;
let browser: Browser;
const handStarted: RunnerProcess[] = [];

beforeAll(async () => {
  platform = await startPlatform({
    apiPort: 38787,
    transcoderPort: 38788,
    env: {
      VAR_CHUNKED_ENCODING: "true",
      VAR_CHUNK_SECONDS: String(CHUNK),
      VAR_UNIT_LEASE_SECONDS: String(LEASE_SECONDS),
    },
  });
  browser = await launchBrowser();
});
afterAll(async () => {
  await Promise.all(handStarted.map((r) => r.stop()));
  await browser?.close();
  await platform?.stop();
  rmSync(work, { recursive: true, force: true });
});

async function ready(account: Account, id: string) {
  // One runner encodes three minutes of 1080p here at about realtime, slower on a busy machine.
  const last = await settledVideo(platform.apiUrl, account, id, 540_000);
  expect(last.status, JSON.stringify(last.error)).toBe("ready");
  return last;
}

const absolute = (url: string | null) => new URL(url as string, platform.apiUrl).href;

/** A page of its own for `play`, closed afterwards whatever happens (a page left playing costs CPU). */
async function playing(play: (page: Page) => Promise<void>) {
  const { context } = await localOnlyContext(browser);
  try {
    await play(await context.newPage());
  } finally {
    await context.close();
  }
}

/** Each unit of a video as the runner logged it, in order: its kind and its seconds. */
function unitTimes(videoId: string, lines: LogLine[]) {
  const kinds = new Map(lines.filter((l) => l.msg === "unit started").map((l) => [l.unitId, l.kind]));
  return lines
    .filter((l) => l.msg === "unit finished" && l.videoId === videoId)
    .map((l) => `${kinds.get(l.unitId)} ${Number(l.seconds).toFixed(1)} s`)
    .join(", ");
}

describe("a chunked encode", () => {
  it("turns a 40 s upload into probe, three chunks, audio and finalize, then ready, playing through its boundaries", async () => {
    const clip = makeClip(join(work, "clip.mp4"), { seconds: 40, width: 640, height: 360 });
    const account = await signUp(platform.apiUrl, uniqueName("chunked"));
    const video = await uploadVideo(platform.apiUrl, account, clip, "Chunked");
    const last = await ready(account, video.id);
    expect(last.renditions.map((r) => r.height)).toEqual([360]);

    const lines = localRunnerLines(platform).filter((l) => l.videoId === video.id);
    const started = lines.filter((l) => l.msg === "unit started").map((l) => String(l.kind));
    // 0–8, 8–32, 32–40 s; the audio after the second chunk (the first made the audio's start).
    expect(started).toEqual(["probe", "chunk", "chunk", "audio", "chunk", "finalize"]);
    const finished = lines.filter((l) => l.msg === "unit finished").map((l) => l.outcome);
    expect(finished).toEqual(Array(6).fill("completed"));

    await playing(async (page) => {
      const dash = await player(page, absolute(last.dash_url), platform.apiUrl);
      // Past both boundaries (8 s and 32 s).
      await dash.seek(30);
      await dash.reach(34);
      expect(await dash.errors()).toEqual([]);
    });
  });
});

describe("a long upload, playable while processing", () => {
  const SECONDS = 180;
  let account: Account;
  let id: string;
  /** The MPD served while it processed, and its caching. */
  let predicted: { text: string; cacheControl: string | null };

  it("plays a 3-minute 1080p upload in dash.js from its start while it is processing, on across a chunk boundary", async () => {
    const clip = makeLongClip(join(work, "long-1080p.mp4"), { seconds: SECONDS, width: 1920, height: 1080 });
    account = await signUp(platform.apiUrl, uniqueName("long"));
    const uploaded = await uploadVideo(platform.apiUrl, account, clip, "Three minutes");
    const uploadedAt = Date.now();
    id = uploaded.id;

    // The first state in which it plays.
    const playable = await until(
      async () => {
        const v = await getVideo(platform.apiUrl, account, id);
        return v.playable || v.status === "ready" || v.status === "failed" ? v : undefined;
      },
      "the video to be playable",
      120_000,
    );
    const playableAfter = (Date.now() - uploadedAt) / 1000;
    expect(playable).toMatchObject({ status: "processing", playable: true });
    expect(playable.dash_url).toBe(`${platform.apiUrl}/v/${id}/manifest.mpd`);
    const early = await fetch(absolute(playable.dash_url));
    predicted = { text: await early.text(), cacheControl: early.headers.get("cache-control") };
    expect(predicted.cacheControl).toBe("public, no-cache");

    await playing(async (page) => {
      const dash = await player(page, absolute(playable.dash_url), platform.apiUrl);
      await dash.reach(0.5);
      const whenPlaying: VideoState = await getVideo(platform.apiUrl, account, id);
      const firstFrameAfter = (Date.now() - uploadedAt) / 1000;
      expect(whenPlaying.status).toBe("processing");
      expect((await dash.heights()).sort((a, b) => b - a)).toEqual([1080, 720, 480]);

      // On across the first chunk's end and the second's (8 s, 32 s), the encode still going on.
      await dash.reach(FIRST_CHUNK + CHUNK + 2, 180_000);
      const meanwhile = await getVideo(platform.apiUrl, account, id);
      expect(await dash.errors()).toEqual([]);
      const logged = workerLines(platform).find((l) => l.msg === "video playable" && l.videoId === id);
      console.log(
        `3-minute 1080p upload: playable ${playableAfter.toFixed(1)} s after the upload (Worker: ${logged?.secondsSinceRequest} s after the request), ` +
          `first frame at ${firstFrameAfter.toFixed(1)} s; at ${FIRST_CHUNK + CHUNK + 2} s of playback it was ${meanwhile.status} ` +
          `(${meanwhile.progress}%); playback waited at ${JSON.stringify((await dash.waitedAt()).map((t) => Math.round(t)))} s`,
      );
    });

    // The watch page plays it too, with a note of where it stands.
    await playing(async (page) => {
      await page.goto(`${platform.apiUrl}/watch?v=${uploaded.slug}`);
      await page.waitForFunction(() => (document.querySelector("video")?.currentTime ?? 0) > 2, null, {
        timeout: 60_000,
      });
      const note = await page.textContent("#notice");
      const now = await getVideo(platform.apiUrl, account, id);
      // Still processing at this point on this machine, unless the encode is unusually quick.
      if (now.status === "processing") {
        expect(note).toMatch(
          /^This video is still processing \(\d+%\): it plays from the start while the rest is encoded\.$/,
        );
      } else {
        expect(now.status).toBe("ready");
      }
      console.log(`watch page at ${now.status} (${now.progress}%): "${note}"`);
    });
  }, 300_000);

  it("plays it once ready in hls.js, in Shaka Player, and in dash.js after a seek near its end", async () => {
    const last = await ready(account, id);
    expect(last.playable).toBe(true);
    console.log(`3-minute 1080p upload, its units: ${unitTimes(id, localRunnerLines(platform))}`);
    expect(last.renditions.map((r) => r.height)).toEqual([1080, 720, 480]);
    // The finished manifests, with measured peaks, replaced the predicted ones, cached as usual.
    const finished = await fetch(absolute(last.dash_url));
    expect(finished.headers.get("cache-control")).toBe("public, max-age=60");
    const bandwidths = (mpd: string) => [...mpd.matchAll(/bandwidth="(\d+)"/g)].map((m) => Number(m[1]));
    const measured = bandwidths(await finished.text());
    expect(measured).toHaveLength(4);
    expect(measured).not.toEqual(bandwidths(predicted.text));

    await playing(async (page) => {
      const hls = await hlsPlayer(page, absolute(last.hls_url), platform.apiUrl);
      await hls.reach(3);
      await hls.seek(100);
      await hls.reach(103);
      expect(await hls.errors()).toEqual([]);
    });
    await playing(async (page) => {
      const shaka = await shakaPlayer(page, absolute(last.dash_url), platform.apiUrl);
      await shaka.reach(3);
      await shaka.seek(130);
      await shaka.reach(133);
      expect(await shaka.errors()).toEqual([]);
    });
    await playing(async (page) => {
      const dash = await player(page, absolute(last.dash_url), platform.apiUrl);
      await dash.reach(0.5);
      await dash.seek(SECONDS - 10);
      await dash.reach(SECONDS - 6);
      expect(await dash.errors()).toEqual([]);
    });
  }, 600_000);
});

describe("a runner killed in the middle of a chunk", () => {
  it("costs that chunk only: it is requeued, the video ends ready and plays through that chunk", async () => {
    const admin = await adminAccount(platform.apiUrl);
    const issued = await issueRunnerToken(platform.apiUrl, admin, "second-box");
    const second = await startRunnerProcess({ apiUrl: platform.apiUrl, token: issued.token });
    handStarted.push(second);
    const clip = makeClip(join(work, "minute.mp4"), { seconds: 60, width: 1280, height: 720 });
    const account = await signUp(platform.apiUrl, uniqueName("killed"));
    const video = await uploadVideo(platform.apiUrl, account, clip, "Killed mid-chunk");

    // The second runner's first chunk of this video, once its ffmpeg runs.
    const taken = await until(
      () => second.lines().find((l) => l.msg === "unit started" && l.videoId === video.id && l.kind === "chunk"),
      "the second runner to take a chunk",
    );
    await until(
      () => second.lines().find((l) => l.msg === "ffmpeg started" && l.unitId === taken.unitId),
      "the second runner's encode",
    );
    second.kill("SIGKILL");
    await second.exited;

    const last = await ready(account, video.id);
    const requeued = workerLines(platform).filter((l) => l.msg === "unit requeued" && l.videoId === video.id);
    expect(requeued).toHaveLength(1);
    expect(requeued[0]).toMatchObject({
      unitId: taken.unitId,
      kind: "chunk",
      reason: "lease_expired",
      runnerId: issued.id,
      attempt: 1,
    });
    const sequence = Number(requeued[0]?.sequence);
    // Only that chunk ran twice; every other unit once.
    const starts = [...localRunnerLines(platform), ...second.lines()]
      .filter((l) => l.msg === "unit started" && l.videoId === video.id)
      .sort((a, b) => Date.parse(a.ts) - Date.parse(b.ts));
    expect(starts.filter((l) => l.unitId === taken.unitId).map((l) => l.attempt)).toEqual([1, 2]);
    expect(starts.filter((l) => l.unitId !== taken.unitId).every((l) => l.attempt === 1)).toBe(true);
    expect(starts).toHaveLength(7);

    // Playback through the boundary at that chunk's start (its end, for the first chunk).
    const boundary = sequence === 0 ? FIRST_CHUNK : FIRST_CHUNK + CHUNK * (sequence - 1);
    await playing(async (page) => {
      const dash = await player(page, absolute(last.dash_url), platform.apiUrl);
      await dash.reach(0.2);
      await dash.seek(boundary - 3);
      await dash.reach(boundary + 3);
      expect(await dash.errors()).toEqual([]);
    });
  });
});
