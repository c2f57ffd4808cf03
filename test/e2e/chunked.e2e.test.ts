/**
 * Chunked encoding end to end, on a platform of its own as `npm start` starts it with
 * CHUNKED_ENCODING on and 8 s chunks: an upload becomes a probe unit, chunk units, an audio unit
 * and a finalize unit, worked by the local runner in the scheduler's order, and the video is
 * `ready` and plays in dash.js across its chunk boundaries.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { localRunnerLines, type Platform, signUp, startPlatform, uniqueName } from "../support/platform.ts";
import { makeClip, uploadVideo } from "../support/videos.ts";
import { settledVideo, until } from "./api.ts";
import { launchBrowser, localOnlyContext } from "./browser.ts";

const work = mkdtempSync(join(tmpdir(), "streambuddy-e2e-chunked-"));
let platform: Platform;
let browser: Browser;

beforeAll(async () => {
  platform = await startPlatform({
    apiPort: 38787,
    transcoderPort: 38788,
    env: { VAR_CHUNKED_ENCODING: "true", VAR_CHUNK_SECONDS: "8" },
  });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await platform?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe("a chunked encode", () => {
  it("turns a 26 s upload into probe, three chunks, audio and finalize, then ready, playing through its boundaries", async () => {
    const clip = makeClip(join(work, "clip.mp4"), { seconds: 26, width: 640, height: 360 });
    const account = await signUp(platform.apiUrl, uniqueName("chunked"));
    const video = await uploadVideo(platform.apiUrl, account, clip, "Chunked");
    const last = await settledVideo(platform.apiUrl, account, video.id, 280_000);
    expect(last.status, JSON.stringify(last.error)).toBe("ready");
    expect(last.renditions.map((r) => r.height)).toEqual([360]);

    const lines = localRunnerLines(platform).filter((l) => l.videoId === video.id);
    const started = lines.filter((l) => l.msg === "unit started").map((l) => String(l.kind));
    // 0–8, 8–16, 16–26 s: the 2 s tail joins the last chunk.
    expect([...started].sort()).toEqual(["audio", "chunk", "chunk", "chunk", "finalize", "probe"]);
    expect(started[0]).toBe("probe");
    expect(started.at(-1)).toBe("finalize");
    const finished = lines.filter((l) => l.msg === "unit finished").map((l) => l.outcome);
    expect(finished).toEqual(Array(6).fill("completed"));

    const { context } = await localOnlyContext(browser);
    const page = await context.newPage();
    await page.goto(`${platform.apiUrl}/`);
    await page.addScriptTag({
      type: "module",
      content:
        'import { MediaPlayer } from "/vendor/dashjs/dash.mediaplayer.min.js"; window.sbMediaPlayer = MediaPlayer;',
    });
    await page.waitForFunction(() => "sbMediaPlayer" in window);
    await page.evaluate(
      (url) => {
        const w = window as unknown as Record<string, unknown>;
        const MediaPlayer = w.sbMediaPlayer as () => {
          create(): {
            on(e: string, f: (e: unknown) => void): void;
            initialize(v: HTMLVideoElement, u: string, a: boolean): void;
          };
        };
        const v = document.createElement("video");
        v.muted = true;
        document.body.append(v);
        const errors: string[] = [];
        const p = MediaPlayer().create();
        p.on("error", (e) => errors.push(JSON.stringify(e)));
        p.initialize(v, url, true);
        Object.assign(w, { sbVideo: v, sbErrors: errors });
      },
      new URL(last.dash_url as string, platform.apiUrl).href,
    );
    const time = () => page.evaluate(() => (window as unknown as { sbVideo: HTMLVideoElement }).sbVideo.currentTime);
    // Past both boundaries (8 s and 16 s).
    await until(async () => ((await time()) > 17 ? true : undefined), "playback past 17 s", 120_000);
    expect(await page.evaluate(() => (window as unknown as { sbErrors: string[] }).sbErrors)).toEqual([]);
    await context.close();
  });
});
