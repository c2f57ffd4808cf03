import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { jobs, uploads, videos } from "../../db/schema";
import { sourceKey } from "../../storage/keys";
import { callApp, recordingQueue, signedInUser } from "../../testing/api";
import { form, mp4Like, TUS, tusMetadata } from "../../testing/http";
import { sha256, testDb, tinyMp4 } from "../../testing/seed";

const MiB = 1024 * 1024;

describe("classic upload: POST /api/videos/upload/", () => {
  it("stores a real video byte for byte, queues it, and answers 201 with the video", async () => {
    const user = await signedInUser();
    const { queue, sent } = recordingQueue();
    const file = tinyMp4();
    const res = await callApp(
      "/api/videos/upload/",
      {
        method: "POST",
        headers: user.auth,
        body: form({
          title: "  My first video  ",
          description: "desc",
          visibility: "unlisted",
          file: new Blob([file], { type: "video/mp4" }),
        }),
      },
      queue,
    );
    expect(res.status).toBe(201);
    const video = (await res.json()) as { id: string; slug: string; status: string; title: string; size: number };
    expect(video).toMatchObject({
      title: "My first video",
      slug: "my-first-video",
      status: "queued",
      size: file.length,
    });
    expect(sent).toEqual([{ videoId: video.id }]);
    const row = await testDb().select().from(videos).where(eq(videos.id, video.id)).get();
    expect(row).toMatchObject({ status: "queued", visibility: "unlisted", maxResolution: 1080 });
    const job = await testDb().select().from(jobs).where(eq(jobs.videoId, video.id)).get();
    expect(job?.status).toBe("queued");
    const stored = await env.MEDIA.get(sourceKey(video.id));
    expect(await sha256(await (stored as R2ObjectBody).arrayBuffer())).toBe(await sha256(file));
  });

  it("accepts the file before the title, and gives the same title a unique slug", async () => {
    const user = await signedInUser();
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const body = new FormData();
      body.append("file", new Blob([tinyMp4()], { type: "video/mp4" }), "a.mp4");
      body.append("title", "Same title");
      const res = await callApp(
        "/api/videos/upload",
        { method: "POST", headers: user.auth, body },
        recordingQueue().queue,
      );
      expect(res.status).toBe(201);
      ids.push(((await res.json()) as { slug: string }).slug);
    }
    expect(ids[0]).toBe("same-title");
    expect(ids[1]).toMatch(/^same-title-[0-9a-f]{6}$/);
  });

  it("honours max_resolution up to the configured maximum", async () => {
    const user = await signedInUser();
    const res = await callApp(
      "/api/videos/upload/",
      {
        method: "POST",
        headers: user.auth,
        body: form({ title: "4k", max_resolution: "2160p", file: new Blob([tinyMp4()], { type: "video/mp4" }) }),
      },
      recordingQueue().queue,
    );
    expect(res.status).toBe(201);
    expect(((await res.json()) as { max_resolution: string }).max_resolution).toBe("2160p");
  });
});

describe("resumable upload: tus 1.0 at /api/uploads/", () => {
  async function create(user: { auth: Record<string, string> }, length: number, queue?: Queue) {
    const res = await callApp(
      "/api/uploads/",
      {
        method: "POST",
        headers: {
          ...user.auth,
          ...TUS,
          "upload-length": String(length),
          "upload-metadata": tusMetadata({ filename: "big.mp4", title: "Big one", filetype: "video/mp4" }),
        },
      },
      queue,
    );
    expect(res.status).toBe(201);
    const location = res.headers.get("location") ?? "";
    const videoId = res.headers.get("video-id") ?? "";
    expect(location.endsWith(`/api/uploads/${videoId}`)).toBe(true);
    return { path: new URL(location).pathname, videoId };
  }

  const patch = (user: { auth: Record<string, string> }, path: string, offset: number, body: BodyInit, queue?: Queue) =>
    callApp(
      path,
      {
        method: "PATCH",
        headers: {
          ...user.auth,
          ...TUS,
          "upload-offset": String(offset),
          "content-type": "application/offset+octet-stream",
        },
        body,
      },
      queue,
    );

  const head = async (user: { auth: Record<string, string> }, path: string) => {
    const res = await callApp(path, { method: "HEAD", headers: { ...user.auth, ...TUS } });
    return {
      status: res.status,
      offset: Number(res.headers.get("upload-offset")),
      length: res.headers.get("upload-length"),
    };
  };

  it("advertises the protocol and its extensions", async () => {
    const res = await callApp("/api/uploads/", { method: "OPTIONS", headers: TUS });
    expect(res.status).toBe(204);
    expect(res.headers.get("tus-version")).toContain("1.0.0");
    expect(res.headers.get("tus-extension")).toMatch(/creation.*termination.*expiration|creation/);
    expect(Number(res.headers.get("tus-max-size"))).toBe(10 * 1024 ** 3);
  });

  it("takes PATCHes of uneven sizes, reports exact offsets, and stores the file byte for byte", async () => {
    const user = await signedInUser();
    const { queue, sent } = recordingQueue();
    const data = mp4Like(20 * MiB + 12345);
    const { path, videoId } = await create(user, data.length, queue);
    expect(await head(user, path)).toMatchObject({ status: 200, offset: 0, length: String(data.length) });
    const cuts = [0, 7 * MiB + 3, 13 * MiB + 1, 13 * MiB + 2, data.length];
    for (let i = 0; i + 1 < cuts.length; i++) {
      const [from, to] = [cuts[i] as number, cuts[i + 1] as number];
      const res = await patch(user, path, from, data.slice(from, to), queue);
      expect(res.status).toBe(204);
      expect(Number(res.headers.get("upload-offset"))).toBe(to);
      expect((await head(user, path)).offset).toBe(to);
    }
    expect(sent).toEqual([{ videoId }]);
    const row = await testDb().select().from(videos).where(eq(videos.id, videoId)).get();
    expect(row?.status).toBe("queued");
    const stored = (await env.MEDIA.get(sourceKey(videoId))) as R2ObjectBody;
    expect(stored.size).toBe(data.length);
    expect(await sha256(await stored.arrayBuffer())).toBe(await sha256(data));
    // A finished upload still answers HEAD, so a client that resumes it learns it is done.
    expect(await head(user, path)).toMatchObject({ offset: data.length });
  });

  it("resumes an interrupted PATCH at the stored offset", async () => {
    const user = await signedInUser();
    const data = mp4Like(11 * MiB);
    const { path, videoId } = await create(user, data.length);
    const sentBeforeCut = 9 * MiB + 77;
    let at = 0;
    const broken = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (at >= sentBeforeCut) return controller.error(new Error("connection lost"));
        controller.enqueue(data.slice(at, Math.min(at + MiB, sentBeforeCut)));
        at += MiB;
      },
    });
    const cut = await Promise.resolve(patch(user, path, 0, broken)).catch(() => null);
    expect(cut?.status ?? 0).not.toBe(204);
    const { offset } = await head(user, path);
    expect(offset).toBeGreaterThan(0);
    // What was stored before the cut is kept; bytes still in flight are not claimed.
    expect(offset).toBeLessThanOrEqual(sentBeforeCut);
    const res = await patch(user, path, offset, data.slice(offset), recordingQueue().queue);
    expect(res.status).toBe(204);
    const stored = (await env.MEDIA.get(sourceKey(videoId))) as R2ObjectBody;
    expect(await sha256(await stored.arrayBuffer())).toBe(await sha256(data));
  });

  it("creation-with-upload takes the first bytes in the POST", async () => {
    const user = await signedInUser();
    const file = tinyMp4();
    const res = await callApp(
      "/api/uploads/",
      {
        method: "POST",
        headers: {
          ...user.auth,
          ...TUS,
          "upload-length": String(file.length),
          "upload-metadata": tusMetadata({ filename: "t.mp4", title: "Tiny", filetype: "video/mp4" }),
          "content-type": "application/offset+octet-stream",
        },
        body: file,
      },
      recordingQueue().queue,
    );
    expect(res.status).toBe(201);
    expect(Number(res.headers.get("upload-offset"))).toBe(file.length);
    const videoId = res.headers.get("video-id") ?? "";
    const row = await testDb().select().from(videos).where(eq(videos.id, videoId)).get();
    expect(row?.status).toBe("queued");
  });

  it("termination deletes the upload, its bytes and its video", async () => {
    const user = await signedInUser();
    const data = mp4Like(6 * MiB);
    const { path, videoId } = await create(user, 12 * MiB);
    expect((await patch(user, path, 0, data)).status).toBe(204);
    const res = await callApp(path, { method: "DELETE", headers: { ...user.auth, ...TUS } });
    expect(res.status).toBe(204);
    expect(await testDb().select().from(videos).where(eq(videos.id, videoId)).get()).toBeUndefined();
    expect(await testDb().select().from(uploads).where(eq(uploads.id, videoId)).get()).toBeUndefined();
    expect((await env.MEDIA.list({ prefix: `uploads/${videoId}` })).objects).toEqual([]);
    expect(await env.MEDIA.head(sourceKey(videoId))).toBeNull();
    expect((await head(user, path)).status).toBe(404);
  });
});

describe("resumable uploads and the general rate limit", () => {
  it("counts the creation, not each PATCH of the upload", async () => {
    const user = await signedInUser();
    const vars = { RATE_LIMIT_USER_PER_DAY: "3" };
    const file = tinyMp4();
    const created = await callApp(
      "/api/uploads/",
      {
        method: "POST",
        headers: {
          ...user.auth,
          ...TUS,
          "upload-length": String(file.length),
          "upload-metadata": tusMetadata({ title: "Counted once", filetype: "video/mp4" }),
        },
      },
      recordingQueue().queue,
      vars,
    );
    expect(created.status).toBe(201);
    const path = new URL(created.headers.get("location") ?? "").pathname;
    const chunk = 1000;
    for (let at = 0; at < file.length; at += chunk) {
      const res = await callApp(
        path,
        {
          method: "PATCH",
          headers: {
            ...user.auth,
            ...TUS,
            "upload-offset": String(at),
            "content-type": "application/offset+octet-stream",
          },
          body: file.slice(at, at + chunk),
        },
        recordingQueue().queue,
        vars,
      );
      expect(res.status, await res.clone().text()).toBe(204);
    }
  });
});
