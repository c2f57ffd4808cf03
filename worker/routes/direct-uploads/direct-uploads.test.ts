/**
 * Direct uploads through the API on the S3 backend (the test S3 server, a bucket per test): the
 * client PUTs parts to the presigned URLs and completes with their ETags; refusals leave nothing
 * in the bucket or D1; without the S3 API the route answers 501.
 */
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../app/logger";
import { sweepExpiredUploads } from "../../cron/sweep";
import { jobs, uploads, videos } from "../../db/schema";
import { sourceKey } from "../../storage/keys";
import { listPrefix } from "../../storage/prefix";
import { createS3Store } from "../../storage/s3";
import { callApp, recordingQueue, signedInUser } from "../../testing/api";
import { mp4Like } from "../../testing/http";
import { sha256, testDb } from "../../testing/seed";
import { createTestBucket, s3Vars, testS3Config } from "../../testing/storage";

const MiB = 1024 * 1024;

interface Started {
  video: { id: string; status: string };
  upload_id: string;
  part_size: number;
  part_count: number;
  parts: { number: number; url: string }[];
  parts_url: string;
  complete_url: string;
}

async function setup(name: string) {
  const bucket = await createTestBucket(name);
  const store = createS3Store(testS3Config({ bucket }));
  const vars = s3Vars(bucket);
  const user = await signedInUser();
  const { queue, sent } = recordingQueue();
  const json = (path: string, method: string, body?: unknown, auth = user.auth) =>
    callApp(
      new URL(path, "http://api.test").pathname + new URL(path, "http://api.test").search,
      {
        method,
        headers: { ...auth, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      },
      queue,
      vars,
    );
  const start = (fields: Record<string, unknown>) => json("/api/videos/direct-upload/", "POST", fields);
  const putParts = async (started: Started, data: Uint8Array) => {
    const out: { number: number; etag: string }[] = [];
    for (const { number, url } of started.parts) {
      const res = await fetch(url, {
        method: "PUT",
        body: data.slice((number - 1) * started.part_size, number * started.part_size),
      });
      expect(res.status).toBe(200);
      out.push({ number, etag: res.headers.get("etag") ?? "" });
    }
    return out;
  };
  const keys = async () => {
    const all: string[] = [];
    for await (const o of listPrefix(store, "")) all.push(o.key);
    return all;
  };
  const rows = async () => ({
    videos: (await testDb().select().from(videos).where(eq(videos.ownerId, user.id)).all()).length,
    uploads: (await testDb().select().from(uploads).where(eq(uploads.userId, user.id)).all()).length,
  });
  return { store, vars, user, sent, json, start, putParts, keys, rows };
}

describe("direct upload: POST /api/videos/direct-upload/", () => {
  it("hands out part URLs, completes from the parts' ETags, and queues the video", async () => {
    const t = await setup("direct-happy");
    const data = mp4Like(23 * MiB + 5);
    const res = await t.start({ title: "Straight in", size: data.length, type: "video/mp4", filename: "a.mp4" });
    expect(res.status).toBe(201);
    const started = (await res.json()) as Started;
    expect(started.video.status).toBe("uploading");
    expect(started.part_size).toBe(10 * MiB);
    expect(started.part_count).toBe(3);
    expect(started.parts.map((p) => p.number)).toEqual([1, 2, 3]);
    expect(started.complete_url).toBe(`http://api.test/api/videos/direct-upload/${started.upload_id}/complete`);
    // More URLs on request (here: the last part again).
    const more = await t.json(`${started.parts_url}?from=3&count=5`, "GET");
    expect(((await more.json()) as { parts: { number: number }[] }).parts.map((p) => p.number)).toEqual([3]);

    const parts = await t.putParts(started, data);
    const done = await t.json(started.complete_url, "POST", { parts });
    expect(done.status).toBe(200);
    expect(((await done.json()) as { status: string }).status).toBe("queued");
    expect(t.sent).toEqual([{ videoId: started.video.id }]);
    expect(await t.keys()).toEqual([sourceKey(started.video.id)]);
    const stored = await t.store.get(sourceKey(started.video.id));
    expect(await sha256(await (stored as NonNullable<typeof stored>).arrayBuffer())).toBe(await sha256(data));
    expect((await testDb().select().from(jobs).where(eq(jobs.videoId, started.video.id)).get())?.status).toBe("queued");
  });

  it("refuses a renamed text file with 415 on completion, leaving nothing in the bucket or D1", async () => {
    const t = await setup("direct-text");
    const text = new TextEncoder().encode("just words\n".repeat(2000));
    const started = (await (await t.start({ title: "Fake", size: text.length, type: "video/mp4" })).json()) as Started;
    const res = await t.json(started.complete_url, "POST", { parts: await t.putParts(started, text) });
    expect(res.status).toBe(415);
    expect(await t.keys()).toEqual([]);
    expect(await t.rows()).toEqual({ videos: 0, uploads: 0 });
  });

  it("refuses wrong ETags with 400, leaving nothing", async () => {
    const t = await setup("direct-etag");
    const data = mp4Like(6 * MiB);
    const started = (await (await t.start({ title: "Bad tags", size: data.length })).json()) as Started;
    const parts = (await t.putParts(started, data)).map((p) => ({ ...p, etag: `"${"0".repeat(32)}"` }));
    const res = await t.json(started.complete_url, "POST", { parts });
    expect(res.status).toBe(400);
    expect(await t.keys()).toEqual([]);
    expect(await t.rows()).toEqual({ videos: 0, uploads: 0 });
  });

  it("refuses a file above MAX_UPLOAD_SIZE with 413 before anything exists", async () => {
    const t = await setup("direct-large");
    const res = await t.start({ title: "Huge", size: 11 * 1024 ** 3 });
    expect(res.status).toBe(413);
    expect(await t.keys()).toEqual([]);
    expect(await t.rows()).toEqual({ videos: 0, uploads: 0 });
  });

  it("answers someone else's upload id with 404, and lets its owner abort it to nothing", async () => {
    const t = await setup("direct-other");
    const started = (await (await t.start({ title: "Mine", size: 6 * MiB })).json()) as Started;
    const other = await signedInUser();
    const path = `/api/videos/direct-upload/${started.upload_id}`;
    expect((await t.json(`${path}/complete`, "POST", { parts: [{ number: 1, etag: "x" }] }, other.auth)).status).toBe(
      404,
    );
    expect((await t.json(path, "DELETE", undefined, other.auth)).status).toBe(404);
    expect(await t.rows()).toEqual({ videos: 1, uploads: 1 });
    expect((await t.json(path, "DELETE")).status).toBe(204);
    expect(await t.keys()).toEqual([]);
    expect(await t.rows()).toEqual({ videos: 0, uploads: 0 });
  });

  it("refuses a part URL past its expiry at the bucket and the late completion with 410; the sweep leaves nothing", async () => {
    const t = await setup("direct-expired");
    const data = mp4Like(12 * MiB);
    const started = (await (await t.start({ title: "Too late", size: data.length })).json()) as Started;
    const [first] = await t.putParts({ ...started, parts: started.parts.slice(0, 1) }, data);
    // The upload now ends within two seconds, so the URLs asked for now are signed for one second.
    await testDb()
      .update(uploads)
      .set({ expiresAt: new Date(Date.now() + 1500) })
      .where(eq(uploads.id, started.upload_id));
    const more = (await (await t.json(`${started.parts_url}?from=2`, "GET")).json()) as Started;
    const signed = new URL(more.parts[0]?.url ?? "");
    expect(signed.searchParams.get("X-Amz-Expires")).toBe("1");
    await new Promise((resolve) => setTimeout(resolve, 2500));

    const late = await fetch(signed, { method: "PUT", body: data.slice(10 * MiB) });
    expect(late.status).toBe(403);
    expect(await late.text()).toMatch(/Request has expired/);
    const complete = await t.json(started.complete_url, "POST", { parts: [first, { number: 2, etag: '"late"' }] });
    expect(complete.status).toBe(410);
    expect(((await complete.json()) as { error: { code: string } }).error.code).toBe("gone");
    expect((await t.json(started.parts_url, "GET")).status).toBe(410);
    expect(t.sent).toEqual([]);

    const row = await testDb().select().from(uploads).where(eq(uploads.id, started.upload_id)).get();
    const swept = await sweepExpiredUploads({
      db: testDb(),
      storage: t.store,
      logger: createLogger({}, "error"),
      queues: { webhooks: recordingQueue().queue },
    });
    expect(swept.aborted).toBeGreaterThanOrEqual(1);
    expect(await t.keys()).toEqual([]);
    expect(await t.rows()).toEqual({ videos: 0, uploads: 0 });
    // The bucket no longer knows the multipart upload: the part stored in time is gone with it.
    const upload = t.store.resumeMultipartUpload(sourceKey(started.video.id), row?.r2UploadId ?? "");
    await expect(upload.uploadPart(1, new Uint8Array(10))).rejects.toMatchObject({ status: 404, code: "NoSuchUpload" });
  });

  it("answers 501 saying what to set when storage has no S3 API", async () => {
    const user = await signedInUser();
    const res = await callApp("/api/videos/direct-upload/", {
      method: "POST",
      headers: { ...user.auth, "content-type": "application/json" },
      body: JSON.stringify({ title: "Nope", size: 1000 }),
    });
    expect(res.status).toBe(501);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("not_implemented");
    expect(body.error.message).toMatch(/STORAGE_BACKEND=s3/);
    expect((await testDb().select().from(videos).where(eq(videos.ownerId, user.id)).all()).length).toBe(0);
  });
});
