/**
 * A classic upload is an upload session from its file's first byte: while the request runs, its
 * video (private, `uploading`) and its session row exist, so a Worker that dies mid-request leaves
 * an upload that the expired-upload sweep aborts, not an orphaned R2 multipart upload.
 */
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../app/logger";
import { sweepExpiredUploads } from "../../cron/sweep";
import { uploads, videos } from "../../db/schema";
import { sourceKey } from "../../storage/keys";
import { createR2Store } from "../../storage/r2";
import { callApp, recordingQueue, signedInUser } from "../../testing/api";
import { mp4Like } from "../../testing/http";
import { testDb } from "../../testing/seed";

const MiB = 1024 * 1024;
const BOUNDARY = "sweep-test-boundary";

/** A form whose file part sends `bytes`, then waits until `cut()` breaks the body. */
function stalledForm(bytes: Uint8Array) {
  const text = new TextEncoder();
  const head = text.encode(
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="title"\r\n\r\nNever finished\r\n` +
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\n` +
      "Content-Type: video/mp4\r\n\r\n",
  );
  let cut: (err: Error) => void = () => {};
  const stalled = new Promise<never>((_, reject) => {
    cut = reject;
  });
  let at = -1;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (at < 0) {
        controller.enqueue(head);
        at = 0;
      } else if (at < bytes.length) {
        controller.enqueue(bytes.slice(at, at + MiB));
        at += MiB;
      } else {
        await stalled.catch((err) => controller.error(err));
      }
    },
  });
  return { body, cut: () => cut(new Error("the Worker went away")) };
}

async function until<T>(probe: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error("the condition never held");
}

describe("a classic upload cut off mid-request", () => {
  it("has a private uploading video and a session while it runs, which the sweep aborts once expired", async () => {
    const user = await signedInUser();
    const form = stalledForm(mp4Like(12 * MiB));
    const answer = callApp(
      "/api/videos/upload/",
      {
        method: "POST",
        headers: { ...user.auth, "content-type": `multipart/form-data; boundary=${BOUNDARY}` },
        body: form.body,
        duplex: "half",
      } as RequestInit,
      recordingQueue().queue,
    );
    const db = testDb();
    // A whole part is stored: R2 holds an unfinished multipart upload for this video.
    const session = await until(async () => {
      const row = await db.select().from(uploads).where(eq(uploads.userId, user.id)).get();
      return row && row.offset >= 10 * MiB ? row : undefined;
    });
    expect(session).toMatchObject({ length: null, offset: 10 * MiB });
    expect(session.r2UploadId).toBeTruthy();
    const video = await db.select().from(videos).where(eq(videos.id, session.videoId)).get();
    expect(video).toMatchObject({ status: "uploading", visibility: "private", ownerId: user.id });

    // The Worker died here: only the sweep is left to clean up, once the session has expired.
    const later = session.expiresAt.getTime() + 1000;
    const swept = await sweepExpiredUploads(
      {
        db,
        storage: createR2Store(env.MEDIA),
        logger: createLogger({}, "error"),
        queues: { webhooks: env.WEBHOOK_QUEUE },
      },
      later,
    );
    expect(swept).toEqual({ expired: 1, aborted: 1 });
    expect(await db.select().from(videos).where(eq(videos.id, session.videoId)).get()).toBeUndefined();
    expect(await db.select().from(uploads).where(eq(uploads.id, session.id)).get()).toBeUndefined();
    const aborted = env.MEDIA.resumeMultipartUpload(sourceKey(session.videoId), session.r2UploadId as string);
    await expect(aborted.uploadPart(2, new Uint8Array(16))).rejects.toThrow();

    form.cut();
    const res = await answer;
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect((await env.MEDIA.list({ prefix: `uploads/${session.id}/` })).objects).toEqual([]);
    expect(await env.MEDIA.head(sourceKey(session.videoId))).toBeNull();
  });
});
