/**
 * Shaka Player (the shaka-player package, a devDependency: the deployment's own pages use
 * dash.js and hls.js) driven in a Chromium page of this deployment.
 */
import { join } from "node:path";
import type { Page } from "playwright-core";
import { root } from "../support/platform.ts";

const SHAKA = join(root, "node_modules", "shaka-player", "dist", "shaka-player.compiled.js");

/** Loads Shaka Player into a page of `api` and plays `mpd` muted; returns helpers to drive it. */
export async function shakaPlayer(page: Page, mpd: string, api: string) {
  await page.goto(`${api}/`);
  await page.addScriptTag({ path: SHAKA });
  await page.waitForFunction(() => "shaka" in window);
  await page.evaluate(async (src) => {
    const { shaka } = window as unknown as {
      shaka: {
        polyfill: { installAll(): void };
        Player: new () => {
          attach(v: HTMLVideoElement): Promise<void>;
          load(u: string): Promise<void>;
          addEventListener(e: string, f: (event: { detail?: { code?: number } }) => void): void;
        };
      };
    };
    shaka.polyfill.installAll();
    const video = document.createElement("video");
    video.muted = true;
    document.body.replaceChildren(video);
    const errors: string[] = [];
    const player = new shaka.Player();
    player.addEventListener("error", (event) => errors.push(`shaka error ${event.detail?.code}`));
    Object.assign(window, { sbShakaVideo: video, sbShakaErrors: errors });
    await player.attach(video);
    await player.load(src).catch((err: { code?: number }) => errors.push(`load failed ${err.code}`));
    void video.play();
  }, mpd);
  return {
    reach: (seconds: number, timeoutMs = 120_000) =>
      page.waitForFunction(
        (t) => (window as unknown as { sbShakaVideo: HTMLVideoElement }).sbShakaVideo.currentTime > t,
        seconds,
        { timeout: timeoutMs, polling: 100 },
      ),
    seek: (seconds: number) =>
      page.evaluate((t) => {
        (window as unknown as { sbShakaVideo: HTMLVideoElement }).sbShakaVideo.currentTime = t;
      }, seconds),
    /** What Shaka reported as errors (its error codes). */
    errors: () => page.evaluate(() => (window as unknown as { sbShakaErrors: string[] }).sbShakaErrors),
  };
}
