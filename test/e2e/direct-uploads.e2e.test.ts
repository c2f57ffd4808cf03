/**
 * Uploads straight to the bucket as `npm start` runs them on the S3 backend (`npm run
 * test:e2e:s3`): the client PUTs the parts of a real clip to the presigned URLs, which point at
 * the S3-compatible server itself (the Worker never carries the bytes), completes with their
 * ETags, and the video is transcoded to ready and played in dash.js. The web app in Chromium
 * uploads the same way when the platform offers it, and through tus when the bucket is out of its
 * reach. On the R2 binding without the S3 API, the route says what to set.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type Account, signUp } from "../support/platform.ts";
import { sha256File, sha256Response, type VideoState, waitForVideo } from "./api.ts";
import { launchBrowser, localOnlyContext } from "./browser.ts";
import { playPast } from "./dash-player.ts";

const api = inject("apiUrl");
const backend = inject("storageBackend");
const s3 = inject("s3Bucket");
const work = mkdtempSync(join(tmpdir(), "streambuddy-e2e-direct-"));

interface DirectUpload {
  video: VideoState;
  upload_id: string;
  part_size: number;
  part_count: number;
  parts: { number: number; url: string }[];
  complete_url: string;
}

/** An 8 s 720p clip encoded losslessly, so that it is more than one 10 MiB part. */
function largeClip(path: string) {
  execFileSync("ffmpeg", [
    ...["-hide_banner", "-loglevel", "error", "-y"],
    ...["-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30:duration=8"],
    ...["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=8", "-ac", "2", "-c:a", "aac"],
    ...["-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-pix_fmt", "yuv420p", "-shortest", path],
  ]);
  return path;
}

let browser: Browser;
let clip: string;
beforeAll(async () => {
  if (backend !== "s3") return;
  clip = largeClip(join(work, "clip.mp4"));
  browser = await launchBrowser();
});

/** The web app's upload page, signed in as `account`, with every request it makes recorded. */
async function uploadPage(account: Account) {
  const user = await (await fetch(`${api}/api/auth/user/`, { headers: account.auth })).json();
  const { context, blocked } = await localOnlyContext(browser);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (err) => errors.push(err.message));
  const requests: string[] = [];
  page.on("request", (req) => requests.push(`${req.method()} ${req.url()}`));
  await page.goto(`${api}/`);
  await page.evaluate((session) => localStorage.setItem("streambuddy.session", JSON.stringify(session)), {
    key: account.key,
    user,
  });
  await page.goto(`${api}/upload`);
  return { context, page, blocked, errors, requests };
}

/** Picks the clip, submits, and waits for the upload and then the processing to end. */
async function uploadThroughPage(page: Page, title: string) {
  await page.locator("#file").setInputFiles(clip);
  await page.getByLabel("Title").fill(title);
  await page.getByRole("button", { name: "Upload", exact: true }).click();
  await page.locator('#transfer[data-state="done"]').waitFor({ timeout: 120_000 });
  expect(await page.locator("#upload-progress").getAttribute("data-percent")).toBe("100");
  await page.locator('#processing[data-status="ready"], #processing[data-status="failed"]').waitFor({
    timeout: 240_000,
  });
  expect(await page.locator("#processing").getAttribute("data-status")).toBe("ready");
  return (await page.locator("#processing").getAttribute("data-video-id")) ?? "";
}
afterAll(async () => {
  await browser?.close();
  rmSync(work, { recursive: true, force: true });
});

describe("direct uploads to the bucket", () => {
  it.runIf(backend === "s3")(
    "takes parts PUT straight to the bucket to a played video, the source byte for byte",
    async () => {
      const account = await signUp(api);
      const file = clip;
      const bytes = readFileSync(file);
      const json = { ...account.auth, "content-type": "application/json" };
      const res = await fetch(`${api}/api/videos/direct-upload/`, {
        method: "POST",
        headers: json,
        body: JSON.stringify({ title: "Straight in", size: bytes.length, type: "video/mp4", filename: "clip.mp4" }),
      });
      expect(res.status).toBe(201);
      const started = (await res.json()) as DirectUpload;
      expect(started.video.status).toBe("uploading");
      expect(started.part_count).toBeGreaterThan(1);
      expect(started.parts).toHaveLength(started.part_count);

      const parts: { number: number; etag: string }[] = [];
      for (const { number, url } of started.parts) {
        // Straight to the S3-compatible server, not through the Worker.
        expect(new URL(url).origin).toBe(s3?.endpoint);
        const body = bytes.subarray((number - 1) * started.part_size, number * started.part_size);
        const put = await fetch(url, { method: "PUT", body });
        expect(put.status).toBe(200);
        parts.push({ number, etag: put.headers.get("etag") ?? "" });
      }
      const done = await fetch(started.complete_url, {
        method: "POST",
        headers: json,
        body: JSON.stringify({ parts }),
      });
      expect(done.status, await done.clone().text()).toBe(200);
      expect(((await done.json()) as VideoState).status).toBe("queued");

      const states = await waitForVideo(api, account, started.video.id, (v) => ["ready", "failed"].includes(v.status));
      const ready = states.at(-1) as VideoState;
      expect(ready.status, JSON.stringify(ready.error)).toBe("ready");
      expect(ready.renditions.map((r) => r.height)).toEqual([720, 480]);
      const source = await fetch(`${api}/api/videos/${started.video.id}/source/`, { headers: account.auth });
      expect(await sha256Response(source)).toBe(await sha256File(file));

      const played = await playPast(browser, api, `${api}/v/${started.video.id}/manifest.mpd`);
      expect(played.currentTime).toBeGreaterThan(3);
      expect(played.errors).toEqual([]);
      expect(played.blocked).toEqual([]);
    },
  );

  it.runIf(backend === "s3")("the web app uploads straight to the bucket when the platform offers it", async () => {
    const account = await signUp(api);
    const session = await uploadPage(account);
    const videoId = await uploadThroughPage(session.page, "From the page, straight in");
    expect(await session.page.locator("#transfer").getAttribute("data-via")).toBe("direct");
    const puts = session.requests.filter((r) => r.startsWith(`PUT ${s3?.endpoint}/`));
    expect(puts.length).toBeGreaterThan(1);
    expect(session.requests.filter((r) => r.includes("/api/uploads"))).toEqual([]);
    const source = await fetch(`${api}/api/videos/${videoId}/source/`, { headers: account.auth });
    expect(await sha256Response(source)).toBe(await sha256File(clip));
    expect(session.blocked).toEqual([]);
    expect(session.errors).toEqual([]);
    await session.context.close();
  });

  it.runIf(backend === "s3")("the web app falls back to tus when the bucket is out of its reach", async () => {
    const account = await signUp(api);
    const session = await uploadPage(account);
    // As a bucket without a CORS rule for this origin looks to the page: every PUT fails.
    await session.context.route(`${s3?.endpoint}/**`, (route) => route.abort());
    const videoId = await uploadThroughPage(session.page, "From the page, the long way");
    expect(await session.page.locator("#transfer").getAttribute("data-via")).toBe("tus");
    // The direct upload it started was dropped; tus carried the file.
    expect(session.requests.filter((r) => /^DELETE .*\/api\/videos\/direct-upload\//.test(r))).toHaveLength(1);
    expect(session.requests.filter((r) => r.startsWith(`POST ${api}/api/uploads`))).toHaveLength(1);
    const source = await fetch(`${api}/api/videos/${videoId}/source/`, { headers: account.auth });
    expect(await sha256Response(source)).toBe(await sha256File(clip));
    const mine = await (await fetch(`${api}/api/videos/?mine=1`, { headers: account.auth })).json();
    expect((mine as { count: number }).count).toBe(1);
    expect(session.errors).toEqual([]);
    await session.context.close();
  });

  it.runIf(backend === "r2")("is 501 on the R2 binding without the S3 API, naming the settings", async () => {
    const account = await signUp(api);
    const res = await fetch(`${api}/api/videos/direct-upload/`, {
      method: "POST",
      headers: { ...account.auth, "content-type": "application/json" },
      body: JSON.stringify({ title: "Nowhere", size: 1024 }),
    });
    expect(res.status).toBe(501);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/STORAGE_BACKEND=s3/);
  });
});
