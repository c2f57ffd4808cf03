/**
 * The upload paths and the delete on the S3 backend, against the test S3 server: each test has a
 * bucket of its own, so "nothing left" compares every key the bucket holds. The R2 binding must
 * stay untouched meanwhile.
 */
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { uploads, videos } from "../../db/schema";
import { sourceKey } from "../../storage/keys";
import { listPrefix } from "../../storage/prefix";
import { createS3Store } from "../../storage/s3";
import { callApp, recordingQueue, signedInUser } from "../../testing/api";
import { form, mp4Like, TUS, tusMetadata } from "../../testing/http";
import { sha256, testDb, tinyMp4 } from "../../testing/seed";
import { createTestBucket, s3Vars, testS3Config } from "../../testing/storage";

const MiB = 1024 * 1024;
const TEXT = new TextEncoder().encode("plain text that calls itself an mp4\n".repeat(300));

async function s3Backend(name: string) {
  const bucket = await createTestBucket(name);
  const store = createS3Store(testS3Config({ bucket }));
  const keys = async () => {
    const all: string[] = [];
    for await (const o of listPrefix(store, "")) all.push(o.key);
    return all.sort();
  };
  return { vars: s3Vars(bucket), store, keys };
}

const inR2 = async (videoId: string) => {
  const keys: string[] = [];
  for (const prefix of [sourceKey(videoId), `uploads/${videoId}`, `videos/${videoId}/`]) {
    keys.push(...(await env.MEDIA.list({ prefix })).objects.map((o) => o.key));
  }
  return keys;
};

async function tusPatch(
  auth: Record<string, string>,
  path: string,
  offset: number,
  body: Uint8Array,
  vars: Record<string, string>,
) {
  return callApp(
    path,
    {
      method: "PATCH",
      headers: { ...auth, ...TUS, "upload-offset": String(offset), "content-type": "application/offset+octet-stream" },
      body,
    },
    recordingQueue().queue,
    vars,
  );
}

describe("uploads on the S3 backend", () => {
  it("stores a classic upload in the bucket byte for byte, and its delete leaves the bucket empty", async () => {
    const s3 = await s3Backend("classic");
    const user = await signedInUser();
    const { queue, sent } = recordingQueue();
    const file = tinyMp4();
    const res = await callApp(
      "/api/videos/upload/",
      {
        method: "POST",
        headers: user.auth,
        body: form({ title: "On S3", file: new Blob([file], { type: "video/mp4" }) }),
      },
      queue,
      s3.vars,
    );
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    expect(sent).toEqual([{ videoId: id }]);
    expect(await s3.keys()).toEqual([sourceKey(id)]);
    const stored = await s3.store.get(sourceKey(id));
    expect(await sha256(await (stored as NonNullable<typeof stored>).arrayBuffer())).toBe(await sha256(file));
    expect(await inR2(id)).toEqual([]);

    // The owner downloads the source from the bucket, by range too.
    const part = await callApp(
      `/api/videos/${id}/source/`,
      { headers: { ...user.auth, range: "bytes=4-11" } },
      undefined,
      s3.vars,
    );
    expect(part.status).toBe(206);
    expect(new Uint8Array(await part.arrayBuffer())).toEqual(file.slice(4, 12));

    const deleted = await callApp(`/api/videos/${id}/`, { method: "DELETE", headers: user.auth }, undefined, s3.vars);
    expect(deleted.status).toBe(204);
    expect(await s3.keys()).toEqual([]);
    expect(await testDb().select().from(videos).where(eq(videos.id, id)).get()).toBeUndefined();
  });

  it("takes a tus upload in uneven PATCHes through a multipart upload in the bucket, leaving only the source", async () => {
    const s3 = await s3Backend("tus");
    const user = await signedInUser();
    const data = mp4Like(12 * MiB + 777);
    const created = await callApp(
      "/api/uploads/",
      {
        method: "POST",
        headers: {
          ...user.auth,
          ...TUS,
          "upload-length": String(data.length),
          "upload-metadata": tusMetadata({ title: "tus on S3", filetype: "video/mp4", filename: "a.mp4" }),
        },
      },
      recordingQueue().queue,
      s3.vars,
    );
    expect(created.status).toBe(201);
    const path = new URL(created.headers.get("location") ?? "").pathname;
    const videoId = path.slice(path.lastIndexOf("/") + 1);
    const cuts = [0, 3 * MiB + 5, 9 * MiB + 1, data.length];
    for (let i = 0; i + 1 < cuts.length; i++) {
      const [from, to] = [cuts[i] as number, cuts[i + 1] as number];
      const res = await tusPatch(user.auth, path, from, data.slice(from, to), s3.vars);
      expect(res.status).toBe(204);
      expect(Number(res.headers.get("upload-offset"))).toBe(to);
    }
    expect((await testDb().select().from(videos).where(eq(videos.id, videoId)).get())?.status).toBe("queued");
    expect(await s3.keys()).toEqual([sourceKey(videoId)]);
    const stored = await s3.store.get(sourceKey(videoId));
    expect(stored?.size).toBe(data.length);
    expect(await sha256(await (stored as NonNullable<typeof stored>).arrayBuffer())).toBe(await sha256(data));
    expect(await inR2(videoId)).toEqual([]);
  });

  it("refuses a text file sent through tus with 415 and leaves nothing in the bucket or D1", async () => {
    const s3 = await s3Backend("refused");
    const user = await signedInUser();
    const created = await callApp(
      "/api/uploads/",
      {
        method: "POST",
        headers: {
          ...user.auth,
          ...TUS,
          "upload-length": String(TEXT.length),
          "upload-metadata": tusMetadata({ title: "Sneaky", filetype: "video/mp4", filename: "a.mp4" }),
        },
      },
      recordingQueue().queue,
      s3.vars,
    );
    expect(created.status).toBe(201);
    const path = new URL(created.headers.get("location") ?? "").pathname;
    const res = await tusPatch(user.auth, path, 0, TEXT, s3.vars);
    expect(res.status).toBe(415);
    expect(await s3.keys()).toEqual([]);
    expect(await testDb().select().from(videos).where(eq(videos.ownerId, user.id)).all()).toEqual([]);
    expect(await testDb().select().from(uploads).where(eq(uploads.userId, user.id)).all()).toEqual([]);
  });

  it("aborts an unfinished tus upload on DELETE, leaving no object and no multipart upload behind", async () => {
    const s3 = await s3Backend("abort");
    const user = await signedInUser();
    const data = mp4Like(8 * MiB);
    const created = await callApp(
      "/api/uploads/",
      {
        method: "POST",
        headers: {
          ...user.auth,
          ...TUS,
          "upload-length": String(data.length),
          "upload-metadata": tusMetadata({ title: "Given up", filetype: "video/mp4", filename: "a.mp4" }),
        },
      },
      recordingQueue().queue,
      s3.vars,
    );
    const path = new URL(created.headers.get("location") ?? "").pathname;
    expect((await tusPatch(user.auth, path, 0, data.slice(0, 6 * MiB), s3.vars)).status).toBe(204);
    const row = await testDb().select().from(uploads).where(eq(uploads.userId, user.id)).get();
    const res = await callApp(path, { method: "DELETE", headers: { ...user.auth, ...TUS } }, undefined, s3.vars);
    expect(res.status).toBe(204);
    expect(await s3.keys()).toEqual([]);
    // The bucket no longer knows the multipart upload: its parts are gone with it.
    const upload = s3.store.resumeMultipartUpload(sourceKey(row?.videoId ?? ""), row?.r2UploadId ?? "");
    await expect(upload.uploadPart(1, new Uint8Array(10))).rejects.toMatchObject({ status: 404, code: "NoSuchUpload" });
  });
});
