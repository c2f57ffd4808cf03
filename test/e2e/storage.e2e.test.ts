/**
 * The pipeline on the storage backend the platform was started with (E2E_STORAGE_BACKEND: the R2
 * binding by default, or an S3-compatible server selected by VAR_STORAGE_BACKEND=s3): a tus
 * upload, its transcode, playback in dash.js, and a delete that leaves nothing behind — checked
 * through the admin listing and, on S3, in the bucket itself.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AwsClient } from "aws4fetch";
import type { Browser } from "playwright-core";
import { Upload } from "tus-js-client";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { signUp } from "../support/platform.ts";
import { makeClip } from "../support/videos.ts";
import { adminAccount, sha256File, sha256Response, storedObjects, waitForVideo } from "./api.ts";
import { launchBrowser } from "./browser.ts";
import { playPast } from "./dash-player.ts";

const api = inject("apiUrl");
const backend = inject("storageBackend");
const s3 = inject("s3Bucket");
const work = mkdtempSync(join(tmpdir(), "streambuddy-e2e-storage-"));

/** Every key in the S3 test bucket that belongs to `videoId`, read from the bucket directly. */
async function bucketKeysOf(videoId: string): Promise<string[]> {
  if (!s3) return [];
  const client = new AwsClient({ ...s3, service: "s3", region: "us-east-1" });
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const url = new URL(`${s3.endpoint}/${s3.bucket}`);
    url.searchParams.set("list-type", "2");
    if (token) url.searchParams.set("continuation-token", token);
    const res = await client.fetch(url.toString());
    const xml = await res.text();
    if (!res.ok) throw new Error(`listing the bucket: ${res.status} ${xml}`);
    keys.push(...[...xml.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1] as string));
    token = /<NextContinuationToken>([^<]*)</.exec(xml)?.[1];
  } while (token);
  return keys.filter((key) => key.includes(videoId));
}

function tusUpload(file: string, key: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const upload = new Upload(readFileSync(file), {
      endpoint: `${api}/api/uploads/`,
      chunkSize: 5 * 1024 * 1024,
      headers: { Authorization: `Token ${key}` },
      metadata: { filename: "clip.mp4", filetype: "video/mp4", title: `Stored in ${backend}` },
      onError: reject,
      onSuccess: () => resolve(upload.url ?? ""),
    });
    upload.start();
  });
}

let browser: Browser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  rmSync(work, { recursive: true, force: true });
});

describe(`the pipeline on the ${backend} storage backend`, () => {
  it("takes a tus upload to a played video, and its delete leaves no object", async () => {
    const account = await signUp(api);
    const admin = await adminAccount(api);
    const file = makeClip(join(work, "clip.mp4"), { seconds: 8, width: 854, height: 480 });
    const url = await tusUpload(file, account.key);
    const videoId = url.slice(url.lastIndexOf("/") + 1);

    const states = await waitForVideo(api, account, videoId, (v) => v.status === "ready" || v.status === "failed");
    const ready = states.at(-1);
    expect(ready?.status, JSON.stringify(ready?.error)).toBe("ready");
    const source = await fetch(`${api}/api/videos/${videoId}/source/`, { headers: account.auth });
    expect(await sha256Response(source)).toBe(await sha256File(file));
    if (s3) {
      // The bytes are in the bucket, not in the R2 binding: the admin listing reads the same store.
      expect(await bucketKeysOf(videoId)).toEqual(expect.arrayContaining(await storedObjects(api, admin, videoId)));
      expect((await bucketKeysOf(videoId)).some((key) => key.endsWith("manifest.mpd"))).toBe(true);
    }

    const played = await playPast(browser, api, `${api}/v/${videoId}/manifest.mpd`);
    expect(played.currentTime).toBeGreaterThan(3);
    expect(played.errors).toEqual([]);
    expect(played.blocked).toEqual([]);

    const deleted = await fetch(`${api}/api/videos/${videoId}/`, { method: "DELETE", headers: account.auth });
    expect(deleted.status).toBe(204);
    expect(await storedObjects(api, admin, videoId)).toEqual([]);
    expect(await bucketKeysOf(videoId)).toEqual([]);
  });
});
