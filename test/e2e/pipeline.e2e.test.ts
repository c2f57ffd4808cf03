/**
 * The whole pipeline as `npm start` runs it: upload → queued → processing → ready, the MPD in a
 * real DASH player (dash.js in Chromium) with forced rung switches, private playback through a
 * signed path, a transcoder killed mid-encode, and duplicate dispatches.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type Account, signUp, uniqueName } from "../support/platform.ts";
import { getVideo, type VideoState, waitForVideo } from "./api.ts";
import { launchBrowser, localOnlyContext } from "./browser.ts";

const api = inject("apiUrl");
const transcoder = inject("transcoderUrl");
const work = mkdtempSync(join(tmpdir(), "streambuddy-e2e-pipeline-"));

/** A `seconds`-long 720p clip with stereo audio, made by ffmpeg. */
function clip(seconds: number): string {
  const path = join(work, `clip-${seconds}s.mp4`);
  execFileSync("ffmpeg", [
    ...["-hide_banner", "-loglevel", "error", "-y"],
    ...["-f", "lavfi", "-i", `testsrc2=size=1280x720:rate=30:duration=${seconds}`],
    ...["-f", "lavfi", "-i", `sine=frequency=440:sample_rate=48000:duration=${seconds}`],
    ...["-ac", "2", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", path],
  ]);
  return path;
}

async function upload(account: Account, path: string, title: string, extra: Record<string, string> = {}) {
  const form = new FormData();
  form.append("title", title);
  for (const [k, v] of Object.entries(extra)) form.append(k, v);
  form.append("file", new Blob([readFileSync(path)], { type: "video/mp4" }), "clip.mp4");
  const res = await fetch(`${api}/api/videos/upload/`, { method: "POST", headers: account.auth, body: form });
  expect(res.status).toBe(201);
  return (await res.json()) as VideoState & { slug: string };
}

const transcoderHealth = async () =>
  (await (await fetch(`${transcoder}/healthz`)).json()) as { running: number; accepted: number; pid: number };

/** Loads dash.js from this deployment into a page and plays `mpd`; returns helpers to drive it. */
async function player(page: Page, mpd: string) {
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
    p.on("error", (e: unknown) => errors.push(JSON.stringify(e)));
    p.initialize(video, url, true);
    Object.assign(window, { sbPlayer: p, sbVideo: video, sbErrors: errors });
  }, mpd);
  return {
    currentTime: () => page.evaluate(() => (window as unknown as { sbVideo: HTMLVideoElement }).sbVideo.currentTime),
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

async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out; last value ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

let browser: Browser;
let account: Account;
let source: string;
beforeAll(async () => {
  browser = await launchBrowser();
  account = await signUp(api, uniqueName("pipe"));
  source = clip(24);
});
afterAll(async () => {
  await browser?.close();
  rmSync(work, { recursive: true, force: true });
});

describe("the transcoding pipeline", () => {
  let ready: VideoState & { slug: string };

  it("takes an upload through queued and processing (progress rising) to ready with its ladder", async () => {
    const video = await upload(account, source, "Pipeline clip");
    expect(video.status).toBe("queued");
    const states = await waitForVideo(api, account, video.id, (v) => v.status === "ready" || v.status === "failed");
    const last = states.at(-1) as VideoState;
    expect(last.status, JSON.stringify(last.error)).toBe("ready");
    const processing = states.filter((s) => s.status === "processing").map((s) => s.progress);
    expect(processing.length).toBeGreaterThan(0);
    for (let i = 1; i < processing.length; i++)
      expect(processing[i]).toBeGreaterThanOrEqual(processing[i - 1] as number);
    expect(last.renditions.map((r) => r.height)).toEqual([720, 480]);
    ready = { ...last, slug: video.slug };
  });

  it("plays the MPD from the old service's stream endpoint in dash.js, switching to the lowest and then the highest rung", async () => {
    const { context, blocked } = await localOnlyContext(browser);
    const page = await context.newPage();
    const p = await player(page, `${api}/api/videos/${ready.slug}/?format=mpd`);
    await until(p.currentTime, (t) => t > 5, 90_000);
    expect(await p.heights()).toEqual(expect.arrayContaining([720, 480]));
    await p.force(480);
    await until(p.videoHeight, (h) => h === 480);
    await p.force(720);
    await until(p.videoHeight, (h) => h === 720);
    expect(await p.errors()).toEqual([]);
    expect(blocked).toEqual([]);
    await context.close();
  });

  it("plays a private video only through its signed path", async () => {
    const patched = await fetch(`${api}/api/videos/${ready.id}/`, {
      method: "PATCH",
      headers: { ...account.auth, "content-type": "application/json" },
      body: JSON.stringify({ visibility: "private" }),
    });
    expect(patched.status).toBe(200);
    expect((await fetch(`${api}/v/${ready.id}/manifest.mpd`)).status).toBe(404);
    const token = await fetch(`${api}/api/videos/${ready.id}/playback-token/`, {
      method: "POST",
      headers: account.auth,
    });
    const { dash_url } = (await token.json()) as { dash_url: string };
    expect(dash_url).toContain("/t/");
    const { context } = await localOnlyContext(browser);
    const p = await player(await context.newPage(), dash_url);
    await until(p.currentTime, (t) => t > 2, 90_000);
    expect(await p.errors()).toEqual([]);
    await context.close();
  });
});

describe("the pipeline under faults", () => {
  it("retries a job whose transcoder was killed mid-encode, and completes it", async () => {
    const video = await upload(account, source, "Killed midway");
    const before = await transcoderHealth();
    await waitForVideo(api, account, video.id, (v) => v.status === "processing" && v.progress >= 5, 120_000);
    process.kill(before.pid, "SIGKILL");
    const states = await waitForVideo(
      api,
      account,
      video.id,
      (v) => v.status === "ready" || v.status === "failed",
      240_000,
    );
    const statuses = states.map((s) => s.status);
    expect(statuses.at(-1)).toBe("ready");
    // The job went back in line once its transcoder fell silent.
    expect(statuses.indexOf("queued")).toBeGreaterThan(statuses.indexOf("processing"));
    const after = await transcoderHealth();
    expect(after.pid).not.toBe(before.pid);
  });

  it("never starts a second encode for a duplicate request while one runs", async () => {
    const video = await upload(account, source, "Asked twice");
    await waitForVideo(api, account, video.id, (v) => v.status === "processing", 120_000);
    const { accepted } = await transcoderHealth();
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${api}/api/videos/${video.id}/reprocess/`, { method: "POST", headers: account.auth });
      expect(res.status).toBe(202);
    }
    await waitForVideo(api, account, video.id, (v) => v.status === "ready", 240_000);
    expect((await transcoderHealth()).accepted).toBe(accepted);
    expect((await getVideo(api, account, video.id)).status).toBe("ready");
  });
});
