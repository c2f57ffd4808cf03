/** dash.js from the deployment under test, driven in a Chromium page. */
import type { Browser, Page } from "playwright-core";
import { localOnlyContext } from "./browser.ts";

/** Loads dash.js from this deployment into a page and plays `mpd`; returns helpers to drive it. */
export async function player(page: Page, mpd: string, api: string) {
  await page.goto(`${api}/`);
  // A module script from this deployment's own files (a string, so the test runner leaves it be).
  await page.addScriptTag({
    type: "module",
    content:
      'import { MediaPlayer } from "/vendor/dashjs/dash.mediaplayer.min.js"; window.sbMediaPlayer = MediaPlayer;',
  });
  await page.waitForFunction(() => "sbMediaPlayer" in window);
  await page.evaluate(async (url) => {
    const { sbMediaPlayer: MediaPlayer } = window as unknown as { sbMediaPlayer: () => { create(): never } };
    const video = document.createElement("video");
    video.muted = true;
    document.body.append(video);
    const p = MediaPlayer().create() as {
      on(e: string, f: (e: unknown) => void): void;
      initialize(v: HTMLVideoElement, u: string, a: boolean): void;
    };
    const errors: string[] = [];
    const waiting: number[] = [];
    p.on("error", (e: unknown) => errors.push(JSON.stringify(e)));
    video.addEventListener("waiting", () => waiting.push(video.currentTime));
    p.initialize(video, url, true);
    Object.assign(window, { sbPlayer: p, sbVideo: video, sbErrors: errors, sbWaiting: waiting });
  }, mpd);
  return {
    currentTime: () => page.evaluate(() => (window as unknown as { sbVideo: HTMLVideoElement }).sbVideo.currentTime),
    /** Resolves once playback is past `seconds`. */
    reach: (seconds: number, timeoutMs = 120_000) =>
      page.waitForFunction(
        (t) => (window as unknown as { sbVideo: HTMLVideoElement }).sbVideo.currentTime > t,
        seconds,
        {
          timeout: timeoutMs,
          polling: 100,
        },
      ),
    seek: (seconds: number) =>
      page.evaluate((t) => {
        (window as unknown as { sbVideo: HTMLVideoElement }).sbVideo.currentTime = t;
      }, seconds),
    /** Where playback stopped to wait for data (the video element's `waiting` events), in seconds. */
    waitedAt: () => page.evaluate(() => (window as unknown as { sbWaiting: number[] }).sbWaiting),
    videoHeight: () => page.evaluate(() => (window as unknown as { sbVideo: HTMLVideoElement }).sbVideo.videoHeight),
    errors: () => page.evaluate(() => (window as unknown as { sbErrors: string[] }).sbErrors),
    heights: () =>
      page.evaluate(() => {
        const p = (window as unknown as { sbPlayer: { getRepresentationsByType(t: string): { height: number }[] } })
          .sbPlayer;
        return p.getRepresentationsByType("video").map((r) => r.height);
      }),
    force: (height: number) =>
      page.evaluate((h) => {
        const p = (
          window as unknown as {
            sbPlayer: {
              updateSettings(s: unknown): void;
              getRepresentationsByType(t: string): { id: string; height: number }[];
              setRepresentationForTypeById(t: string, id: string, force: boolean): void;
            };
          }
        ).sbPlayer;
        p.updateSettings({ streaming: { abr: { autoSwitchBitrate: { video: false } } } });
        const rep = p.getRepresentationsByType("video").find((r) => r.height === h);
        if (!rep) throw new Error(`no ${h}p representation`);
        p.setRepresentationForTypeById("video", rep.id, true);
      }, height),
  };
}

/**
 * Plays `mpd` in a fresh page that may reach nothing but this machine, until it is past `seconds`
 * (or 90 s went by); what the player got to and complained of, and what the page tried to fetch
 * from elsewhere.
 */
export async function playPast(browser: Browser, api: string, mpd: string, seconds = 3) {
  const { context, blocked } = await localOnlyContext(browser);
  try {
    const p = await player(await context.newPage(), mpd, api);
    const deadline = Date.now() + 90_000;
    while ((await p.currentTime()) <= seconds && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    return { currentTime: await p.currentTime(), errors: await p.errors(), blocked };
  } finally {
    await context.close();
  }
}
