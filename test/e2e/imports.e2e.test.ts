/**
 * An import as `npm start` runs it: a clip made by ffmpeg is served by a local HTTP origin that
 * cuts the connection midway once; the platform fetches it (the `import` queue's consumer in
 * wrangler dev, resuming with Range), transcodes it, and dash.js plays the result. The stored
 * source is the served file, byte for byte.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type ImportOrigin, type RecordedRequest, startImportOrigin } from "../import-origin.ts";
import { signUp } from "../support/platform.ts";
import { makeClip } from "../support/videos.ts";
import { sha256File, sha256Response, type VideoState, waitForVideo } from "./api.ts";
import { launchBrowser } from "./browser.ts";
import { playPast } from "./dash-player.ts";

const api = inject("apiUrl");
const work = mkdtempSync(join(tmpdir(), "streambuddy-e2e-imports-"));

let browser: Browser;
let origin: ImportOrigin;
let clip: string;
beforeAll(async () => {
  clip = makeClip(join(work, "clip.mp4"), { seconds: 8, width: 854, height: 480 });
  origin = await startImportOrigin({ files: { "clip.mp4": clip } });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await origin?.close();
  rmSync(work, { recursive: true, force: true });
});

describe("an import from a URL on the platform as npm start runs it", () => {
  it("fetches a source that stops midway, resumes it, transcodes it to ready and plays it", async () => {
    const account = await signUp(api);
    const size = (await stat(clip)).size;
    const key = crypto.randomUUID();
    const url = `${origin.url}/files/clip.mp4?key=${key}&cut=${Math.floor(size / 2)}`;
    const res = await fetch(`${api}/api/videos/import/`, {
      method: "POST",
      headers: { ...account.auth, "content-type": "application/json" },
      body: JSON.stringify({ url, title: "Imported clip" }),
    });
    expect(res.status).toBe(202);
    const created = (await res.json()) as VideoState;
    expect(created.status).toBe("uploading");

    const states = await waitForVideo(api, account, created.id, (v) => v.status === "ready" || v.status === "failed");
    const ready = states.at(-1) as VideoState;
    expect(ready.status, JSON.stringify(ready.error)).toBe("ready");
    expect(ready.renditions.map((r) => r.height)).toEqual([480]);

    // Asked twice: the whole file, then the rest from where the stored bytes ended.
    const requests = (await (await fetch(`${origin.url}/requests?key=${key}`)).json()) as RecordedRequest[];
    expect(requests.map((r) => r.range?.replace(/\d+/, "N") ?? null)).toEqual([null, "bytes=N-"]);
    const source = await fetch(`${api}/api/videos/${created.id}/source/`, { headers: account.auth });
    expect(await sha256Response(source)).toBe(await sha256File(clip));

    const played = await playPast(browser, api, `${api}/v/${created.id}/manifest.mpd`);
    expect(played.currentTime).toBeGreaterThan(3);
    expect(played.errors).toEqual([]);
    expect(played.blocked).toEqual([]);
  });
});
