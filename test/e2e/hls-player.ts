/** hls.js from the deployment under test (public/vendor/hls.js), driven in a Chromium page. */
import type { Page } from "playwright-core";

/** Loads hls.js from this deployment into a page and plays `master` muted; returns helpers to drive it. */
export async function hlsPlayer(page: Page, master: string, api: string) {
  await page.goto(`${api}/`);
  await page.addScriptTag({
    type: "module",
    content: 'import Hls from "/vendor/hls.js/hls.min.mjs"; window.sbHls = Hls;',
  });
  await page.waitForFunction(() => "sbHls" in window);
  await page.evaluate((src) => {
    const Hls = (window as unknown as { sbHls: unknown }).sbHls as {
      new (): {
        loadSource(s: string): void;
        attachMedia(v: HTMLVideoElement): void;
        on(e: string, f: (event: string, data: { fatal?: boolean; details?: string }) => void): void;
      };
      Events: { ERROR: string };
    };
    const video = document.createElement("video");
    video.muted = true;
    document.body.replaceChildren(video);
    const errors: string[] = [];
    const hls = new Hls();
    hls.on(Hls.Events.ERROR, (_event, data) => {
      if (data.fatal) errors.push(String(data.details));
    });
    hls.loadSource(src);
    hls.attachMedia(video);
    void video.play();
    Object.assign(window, { sbHlsVideo: video, sbHlsErrors: errors });
  }, master);
  return {
    reach: (seconds: number, timeoutMs = 120_000) =>
      page.waitForFunction(
        (t) => (window as unknown as { sbHlsVideo: HTMLVideoElement }).sbHlsVideo.currentTime > t,
        seconds,
        { timeout: timeoutMs, polling: 100 },
      ),
    seek: (seconds: number) =>
      page.evaluate((t) => {
        (window as unknown as { sbHlsVideo: HTMLVideoElement }).sbHlsVideo.currentTime = t;
      }, seconds),
    /** hls.js's fatal errors. */
    errors: () => page.evaluate(() => (window as unknown as { sbHlsErrors: string[] }).sbHlsErrors),
  };
}
