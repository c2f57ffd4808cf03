/**
 * The MP4 and M4A downloads made from the stored segments (transcoder/downloads.ts), played by
 * Chromium's own <video> and <audio> elements from a server that answers Range requests.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, localOnlyContext } from "../e2e/browser.ts";
import { encodeFixture, muxDownloads } from "../transcoder/encode-fixture.ts";
import { fixture } from "../transcoder/fixtures.ts";
import { type StaticServer, startStaticServer } from "./static-server.ts";

describe("downloads in Chromium", () => {
  let dir: string;
  let server: StaticServer;
  let browser: Browser;
  let mp4: string;
  let m4a: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "streambuddy-download-play-"));
    const downloads = await muxDownloads(await encodeFixture(fixture("small-720p.mp4"), dir, { maxHeight: 480 }));
    mp4 = basename(downloads.videos.get(480) as string);
    m4a = basename(downloads.audio as string);
    server = await startStaticServer(dir);
    server.route("/play.html", { body: "<!doctype html><title>play</title>", type: "text/html; charset=utf-8" });
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("the rung MP4 plays with picture and sound, for its whole duration, and seeks", async () => {
    const { context, blocked } = await localOnlyContext(browser);
    const page = await context.newPage();
    await page.goto(`${server.url}/play.html`);
    const result = await page.evaluate(async (src) => {
      const video = document.createElement("video");
      video.muted = true;
      document.body.append(video);
      video.src = src;
      await video.play();
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const playing = {
        time: video.currentTime,
        width: video.videoWidth,
        height: video.videoHeight,
        duration: video.duration,
      };
      // Jump near the end (a Range request into the file) and play to the end.
      video.currentTime = 8.5;
      await new Promise((resolve) => video.addEventListener("ended", resolve, { once: true }));
      const quality = video.getVideoPlaybackQuality();
      return {
        ...playing,
        ended: video.ended,
        endTime: video.currentTime,
        audioBytes: (video as HTMLVideoElement & { webkitAudioDecodedByteCount: number }).webkitAudioDecodedByteCount,
        frames: quality.totalVideoFrames,
        error: video.error?.message ?? null,
      };
    }, `/${mp4}`);
    expect(result.error).toBeNull();
    expect(result.time).toBeGreaterThan(0.5);
    expect([result.width, result.height]).toEqual([854, 480]);
    expect(result.duration).toBeCloseTo(10, 1);
    expect(result.ended).toBe(true);
    expect(result.endTime).toBeCloseTo(10, 1);
    expect(result.audioBytes).toBeGreaterThan(0);
    expect(result.frames).toBeGreaterThan(30);
    expect(blocked).toEqual([]);
    await context.close();
  });

  it("the M4A plays in an <audio> element to its end", async () => {
    const { context } = await localOnlyContext(browser);
    const page = await context.newPage();
    await page.goto(`${server.url}/play.html`);
    const result = await page.evaluate(async (src) => {
      const audio = document.createElement("audio");
      audio.muted = true;
      audio.src = src;
      await audio.play();
      audio.currentTime = 9;
      await new Promise((resolve) => audio.addEventListener("ended", resolve, { once: true }));
      return { duration: audio.duration, ended: audio.ended, error: audio.error?.message ?? null };
    }, `/${m4a}`);
    expect(result).toMatchObject({ ended: true, error: null });
    expect(result.duration).toBeCloseTo(10, 1);
    await context.close();
  });
});
