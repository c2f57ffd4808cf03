/**
 * Direct uploads against the test S3 server: parts PUT by a client to presigned URLs, completed
 * with their ETags; the refusals (wrong ETags, a renamed text file, fewer bytes than announced)
 * leave nothing in the bucket or D1.
 */
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { loadSettings } from "../app/settings";
import { uploads, videos } from "../db/schema";
import { sourceKey } from "../storage/keys";
import { listPrefix } from "../storage/prefix";
import { createR2Store } from "../storage/r2";
import { createS3Store } from "../storage/s3";
import type { UploadedPart } from "../storage/store";
import { signedInUser } from "../testing/api";
import { mp4Like } from "../testing/http";
import { sha256, testDb } from "../testing/seed";
import { createTestBucket, testS3Config } from "../testing/storage";
import { completeDirectUpload, planParts, presignParts, requirePresigning } from "./direct";
import { loadUploadPolicy } from "./policy";
import { startVideoUpload } from "./video-upload";

const MiB = 1024 * 1024;
const settings = loadSettings(env as unknown as Record<string, unknown>);
let store: ReturnType<typeof createS3Store>;
beforeAll(async () => {
  store = createS3Store(testS3Config({ bucket: await createTestBucket("direct") }));
});

const bucketKeys = async () => {
  const keys: string[] = [];
  for await (const o of listPrefix(store, "")) keys.push(o.key);
  return keys;
};

/** A session for `length` bytes, and the client's side: its parts PUT to presigned URLs. */
async function directUpload(length: number, filetype = "video/mp4") {
  const user = await signedInUser();
  const sessions = { db: testDb(), storage: store };
  const { video, session } = await startVideoUpload(sessions, settings, {
    userId: user.id,
    fields: { title: "Direct", description: "", visibility: "public", maxResolution: 1080 },
    filename: "a.mp4",
    contentType: filetype,
    length,
    metadata: { filetype },
  });
  const { partSize, partCount } = planParts(length, 5 * MiB);
  const urls = await presignParts(
    store,
    session,
    [...Array(partCount).keys()].map((i) => i + 1),
    600,
  );
  const put = async (data: Uint8Array): Promise<UploadedPart[]> => {
    const parts: UploadedPart[] = [];
    for (const { number, url } of urls) {
      const res = await fetch(url, { method: "PUT", body: data.slice((number - 1) * partSize, number * partSize) });
      expect(res.status).toBe(200);
      parts.push({ partNumber: number, etag: res.headers.get("etag") ?? "" });
    }
    return parts;
  };
  const policy = await loadUploadPolicy(testDb(), settings, user.id, { except: video.id });
  const complete = (parts: UploadedPart[]) => completeDirectUpload(sessions, session, parts, policy, partSize);
  const nothingLeft = async () => {
    expect(await bucketKeys()).not.toContain(sourceKey(video.id));
    expect(await testDb().select().from(videos).where(eq(videos.id, video.id)).get()).toBeUndefined();
    expect(await testDb().select().from(uploads).where(eq(uploads.videoId, video.id)).get()).toBeUndefined();
    await expect(
      store.resumeMultipartUpload(sourceKey(video.id), session.uploadId).uploadPart(1, new Uint8Array(1)),
    ).rejects.toMatchObject({ code: "NoSuchUpload" });
  };
  return { video, session, urls, put, complete, nothingLeft };
}

describe("planning the parts", () => {
  it("keeps parts at least 5 MiB, in whole MiB, and at most 10,000 of them", () => {
    expect(planParts(12 * MiB + 1, 5 * MiB)).toEqual({ partSize: 5 * MiB, partCount: 3 });
    expect(planParts(100, 1)).toEqual({ partSize: 5 * MiB, partCount: 1 });
    const huge = planParts(200 * 1024 ** 3);
    expect(huge.partCount).toBeLessThanOrEqual(10_000);
    expect(huge.partSize % MiB).toBe(0);
    expect(huge.partSize * huge.partCount).toBeGreaterThanOrEqual(200 * 1024 ** 3);
  });
});

describe("a direct upload", () => {
  it("completes from parts the client PUT to presigned URLs, byte for byte", async () => {
    const data = mp4Like(12 * MiB + 1);
    const up = await directUpload(data.length);
    expect(up.urls.map((u) => u.number)).toEqual([1, 2, 3]);
    await up.complete(await up.put(data));
    expect(up.session.complete).toBe(true);
    const stored = await store.get(sourceKey(up.video.id));
    expect(await sha256(await (stored as NonNullable<typeof stored>).arrayBuffer())).toBe(await sha256(data));
  });

  it("refuses wrong ETags with 400 and drops the upload", async () => {
    const data = mp4Like(6 * MiB);
    const up = await directUpload(data.length);
    const parts = await up.put(data);
    const wrong = parts.map((p) => ({ ...p, etag: '"0123456789abcdef0123456789abcdef"' }));
    await expect(up.complete(wrong)).rejects.toMatchObject({ status: 400, code: "validation_error" });
    await up.nothingLeft();
  });

  it("refuses a part list that skips a part with 400 and drops the upload", async () => {
    const data = mp4Like(11 * MiB);
    const up = await directUpload(data.length);
    const parts = await up.put(data);
    await expect(up.complete([parts[0], parts[2]] as UploadedPart[])).rejects.toMatchObject({ status: 400 });
    await up.nothingLeft();
  });

  it("refuses a renamed text file with 415 after completing it, and deletes its object", async () => {
    const text = new TextEncoder().encode("not a video at all\n".repeat(1000));
    const up = await directUpload(text.length);
    await expect(up.complete(await up.put(text))).rejects.toMatchObject({ status: 415 });
    await up.nothingLeft();
  });

  it("refuses parts that hold fewer bytes than announced with 400, and deletes the object", async () => {
    const data = mp4Like(6 * MiB);
    const up = await directUpload(data.length + 1000);
    await expect(up.complete(await up.put(data))).rejects.toMatchObject({ status: 400 });
    await up.nothingLeft();
  });
});

describe("a store without the S3 API", () => {
  it("refuses direct uploads with 501, saying what to set", () => {
    expect(() => requirePresigning(createR2Store(env.MEDIA))).toThrow(/STORAGE_BACKEND=s3/);
    try {
      requirePresigning(createR2Store(env.MEDIA));
    } catch (err) {
      expect(err).toMatchObject({ status: 501, code: "not_implemented" });
    }
  });
});
