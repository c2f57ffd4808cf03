/**
 * The whole pipeline as `npm start` runs it: upload → queued → processing → ready, the MPD in a
 * real DASH player (dash.js in Chromium) with forced rung switches, private playback through a
 * signed path, the runner crashing mid-encode, and a video's queue message delivered again.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type Account, signUp, uniqueName } from "../support/platform.ts";
import { makeClip, uploadVideo } from "../support/videos.ts";
import {
  adminAccount,
  getVideo,
  listRunners,
  type RunnerListing,
  storedObjects,
  type VideoState,
  waitForVideo,
} from "./api.ts";
import { launchBrowser, localOnlyContext } from "./browser.ts";
import { player } from "./dash-player.ts";

const api = inject("apiUrl");
const localRunner = inject("runnerUrl");
const work = mkdtempSync(join(tmpdir(), "streambuddy-e2e-pipeline-"));

/** A `seconds`-long 720p clip with stereo audio, made by ffmpeg. */
const clip = (seconds: number) => makeClip(join(work, `clip-${seconds}s.mp4`), { seconds, width: 1280, height: 720 });

const upload = (account: Account, path: string, title: string, extra: Record<string, string> = {}) =>
  uploadVideo(api, account, path, title, extra);

const runnerHealth = async () =>
  (await (await fetch(`${localRunner}/healthz`)).json()) as { pid: number; state: string };

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
    const p = await player(page, `${api}/api/videos/${ready.slug}/?format=mpd`, api);
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
    const p = await player(await context.newPage(), dash_url, api);
    await until(p.currentTime, (t) => t > 2, 90_000);
    expect(await p.errors()).toEqual([]);
    await context.close();
  });
});

describe("the pipeline under faults", () => {
  let admin: Account;
  beforeAll(async () => {
    admin = await adminAccount(api);
  });
  const local = async () => (await listRunners(api, admin)).find((r) => r.kind === "local") as RunnerListing;

  it("gives the unit of a runner that crashed mid-encode back when npm start restarts it, and completes it", async () => {
    const video = await upload(account, source, "Killed midway");
    const before = await runnerHealth();
    await waitForVideo(api, account, video.id, (v) => v.status === "processing" && v.progress >= 5, 120_000);
    const held = await local();
    expect(held.current_unit).toMatchObject({ video_id: video.id, attempt: 1 });
    process.kill(before.pid, "SIGKILL");
    const states = await waitForVideo(
      api,
      account,
      video.id,
      (v) => v.status === "ready" || v.status === "failed",
      240_000,
    );
    expect(states.at(-1)?.status).toBe("ready");
    // The restarted runner's first claim gave the unit back (a lost attempt), and it ran again.
    const after = await runnerHealth();
    expect(after.pid).not.toBe(before.pid);
    const now = await local();
    expect(now.units_failed).toBe(held.units_failed + 1);
    expect(now.units_done).toBe(held.units_done + 1);
  });

  it("makes one job of a video whose queue message is delivered again while its unit runs", async () => {
    const video = await upload(account, source, "Asked twice");
    await waitForVideo(api, account, video.id, (v) => v.status === "processing", 120_000);
    const before = await local();
    for (let i = 0; i < 3; i++) {
      // The same version asked for again: the same {videoId} message goes on the queue.
      const res = await fetch(`${api}/api/videos/${video.id}/reprocess/`, { method: "POST", headers: account.auth });
      expect(res.status).toBe(202);
    }
    await waitForVideo(api, account, video.id, (v) => v.status === "ready", 240_000);
    expect((await getVideo(api, account, video.id)).status).toBe("ready");
    const after = await local();
    expect(after.units_done).toBe(before.units_done + 1);
    expect(after.units_failed).toBe(before.units_failed);
    // One version folder: one job made it.
    const versions = new Set(
      (await storedObjects(api, admin, video.id))
        .filter((key) => key.startsWith(`videos/${video.id}/`))
        .map((key) => key.split("/")[2]),
    );
    expect(versions.size).toBe(1);
  });
});
