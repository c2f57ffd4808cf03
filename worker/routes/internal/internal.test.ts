import { env, exports } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import { DEV_JOB_TOKEN_SECRET } from "../../app/settings";
import { jobs, renditions, videos } from "../../db/schema";
import { sourceKey, versionPrefix } from "../../storage/keys";
import { seedVideo, testDb } from "../../testing/seed";
import { mintJobToken } from "../../transcode/job-token";
import { claimJob, newVersion } from "../../transcode/jobs";

const SOURCE = new Uint8Array(Array.from({ length: 1000 }, (_, i) => i % 251));

async function runningJob(overrides: { version?: string } = {}) {
  const video = await seedVideo({ status: "queued" });
  return { video, ...(await runningJobFor(video.id, overrides)) };
}

/** A claimed job, with its token, for a video that exists. */
async function runningJobFor(videoId: string, overrides: { version?: string } = {}) {
  const db = testDb();
  await db.insert(jobs).values({ id: crypto.randomUUID(), videoId, version: overrides.version ?? newVersion() });
  const job = await claimJob(db, videoId, 120);
  if (!job) throw new Error("claim failed");
  await env.MEDIA.put(sourceKey(videoId), SOURCE);
  const token = await mintJobToken(DEV_JOB_TOKEN_SECRET, {
    jobId: job.id,
    attempt: job.attempts,
    expiresAt: Math.floor(Date.now() / 1000) + 600,
  });
  return { job, token };
}

const call = (path: string, token: string | null, init: RequestInit = {}) => {
  const headers = new Headers(init.headers);
  if (token) headers.set("authorization", `Bearer ${token}`);
  return exports.default.fetch(new Request(`http://api.test${path}`, { ...init, headers }));
};

const event = (jobId: string, token: string, body: unknown) =>
  call(`/internal/jobs/${jobId}/events`, token, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

const completed = (files: string[]) => ({
  type: "completed",
  duration: 10,
  width: 1280,
  height: 720,
  renditions: [
    { id: "0", kind: "video", width: 1280, height: 720, bandwidth: 3_000_000, codecs: "avc1.640020" },
    { id: "1", kind: "audio", width: null, height: null, bandwidth: 128_000, codecs: "mp4a.40.2" },
  ],
  files,
  poster: "poster.jpg",
});

let ctx: Awaited<ReturnType<typeof runningJob>>;
beforeEach(async () => {
  ctx = await runningJob();
});

describe("internal job API: authentication", () => {
  it("refuses requests without a token, or with a token for another job", async () => {
    expect((await call(`/internal/jobs/${ctx.job.id}/source`, null)).status).toBe(401);
    const other = await runningJob();
    expect((await call(`/internal/jobs/${ctx.job.id}/source`, other.token)).status).toBe(401);
    expect((await call(`/internal/jobs/${ctx.job.id}/source`, "not.a-token")).status).toBe(401);
  });

  it("refuses a superseded attempt's token with 410", async () => {
    await testDb()
      .update(jobs)
      .set({ attempts: ctx.job.attempts + 1 })
      .where(eq(jobs.id, ctx.job.id));
    const res = await call(`/internal/jobs/${ctx.job.id}/source`, ctx.token);
    expect(res.status).toBe(410);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("gone");
  });
});

describe("internal job API: source", () => {
  it("serves the whole source", async () => {
    const res = await call(`/internal/jobs/${ctx.job.id}/source`, ctx.token);
    expect(res.status).toBe(200);
    expect(res.headers.get("accept-ranges")).toBe("bytes");
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(SOURCE);
  });

  it("serves a byte range with 206 and Content-Range", async () => {
    const res = await call(`/internal/jobs/${ctx.job.id}/source`, ctx.token, { headers: { range: "bytes=100-199" } });
    expect(res.status).toBe(206);
    expect(res.headers.get("content-range")).toBe("bytes 100-199/1000");
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(SOURCE.slice(100, 200));
  });

  it("answers a range past the end with 416", async () => {
    const res = await call(`/internal/jobs/${ctx.job.id}/source`, ctx.token, { headers: { range: "bytes=5000-" } });
    expect(res.status).toBe(416);
    expect(res.headers.get("content-range")).toBe("bytes */1000");
  });
});

describe("internal job API: files", () => {
  it("stores a file under the job's version with its content type", async () => {
    const res = await call(`/internal/jobs/${ctx.job.id}/files/manifest.mpd`, ctx.token, {
      method: "PUT",
      body: "<MPD/>",
    });
    expect(res.status).toBe(201);
    const stored = await env.MEDIA.get(`${versionPrefix(ctx.video.id, ctx.job.version)}manifest.mpd`);
    expect(await stored?.text()).toBe("<MPD/>");
    expect(stored?.httpMetadata?.contentType).toBe("application/dash+xml");
  });

  it.each(["..%2Fescape.m4s", "%2E%2E.mpd", "script.sh", ".hidden.mpd", "a.mpd.exe"])(
    "refuses the name %s",
    async (name) => {
      const res = await call(`/internal/jobs/${ctx.job.id}/files/${name}`, ctx.token, { method: "PUT", body: "x" });
      expect([400, 404]).toContain(res.status);
      const listed = await env.MEDIA.list({ prefix: `videos/${ctx.video.id}/` });
      expect(listed.objects).toEqual([]);
    },
  );

  it("requires a length, so the body can stream into storage", async () => {
    const body = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode("abc"));
        c.close();
      },
    });
    const res = await call(`/internal/jobs/${ctx.job.id}/files/a.m4s`, ctx.token, { method: "PUT", body });
    expect(res.status).toBe(411);
  });
});

describe("internal job API: events", () => {
  it("records progress and moves the video to processing", async () => {
    const res = await event(ctx.job.id, ctx.token, { type: "progress", progress: 42.7 });
    expect(res.status).toBe(200);
    const video = await testDb().select().from(videos).where(eq(videos.id, ctx.video.id)).get();
    expect(video).toMatchObject({ status: "processing", progress: 42 });
  });

  it("refuses an invalid event with 400", async () => {
    const res = await event(ctx.job.id, ctx.token, { type: "progress", progress: 250 });
    expect(res.status).toBe(400);
  });

  it("refuses a completion whose files were never stored", async () => {
    const res = await event(ctx.job.id, ctx.token, completed(["manifest.mpd", "poster.jpg"]));
    expect(res.status).toBe(409);
    const video = await testDb().select().from(videos).where(eq(videos.id, ctx.video.id)).get();
    expect(video?.status).toBe("queued");
  });

  it("publishes a completed job: renditions, ready, new version; the old version is deleted", async () => {
    const db = testDb();
    await db.update(videos).set({ version: "vold" }).where(eq(videos.id, ctx.video.id));
    await env.MEDIA.put(`${versionPrefix(ctx.video.id, "vold")}manifest.mpd`, "old");
    for (const name of ["manifest.mpd", "poster.jpg"]) {
      await call(`/internal/jobs/${ctx.job.id}/files/${name}`, ctx.token, { method: "PUT", body: name });
    }
    const res = await event(ctx.job.id, ctx.token, completed(["manifest.mpd", "poster.jpg"]));
    expect(res.status).toBe(200);
    const video = await db.select().from(videos).where(eq(videos.id, ctx.video.id)).get();
    expect(video).toMatchObject({ status: "ready", progress: 100, version: ctx.job.version, width: 1280, height: 720 });
    const rows = await db.select().from(renditions).where(eq(renditions.videoId, ctx.video.id)).all();
    expect(rows.map((r) => r.representationId).sort()).toEqual(["0", "1"]);
    expect((await env.MEDIA.list({ prefix: versionPrefix(ctx.video.id, "vold") })).objects).toEqual([]);
    // The job has ended: its token opens nothing any more.
    expect((await event(ctx.job.id, ctx.token, { type: "progress", progress: 1 })).status).toBe(410);
  });

  it("fails the video with the transcoder's reason and deletes partial outputs", async () => {
    await call(`/internal/jobs/${ctx.job.id}/files/chunk-0-1.m4s`, ctx.token, { method: "PUT", body: "partial" });
    const res = await event(ctx.job.id, ctx.token, { type: "failed", code: "not_video", message: "No video stream" });
    expect(res.status).toBe(200);
    const video = await testDb().select().from(videos).where(eq(videos.id, ctx.video.id)).get();
    expect(video).toMatchObject({ status: "failed", errorCode: "not_video", errorMessage: "No video stream" });
    expect((await env.MEDIA.list({ prefix: `videos/${ctx.video.id}/` })).objects).toEqual([]);
  });
});

describe("internal job API: storyboards, thumbnails and downloads", () => {
  const layout = {
    interval: 2,
    tileWidth: 160,
    tileHeight: 90,
    columns: 10,
    rows: 10,
    thumbnails: { interval: 2, sizes: [{ width: 320, height: 180 }] },
    parts: [0],
  };
  const files = ["manifest.mpd", "storyboard-0.jpg", "thumb-320-0.jpg", "storyboard.vtt", "download-audio.m4a"];

  it("stores the index and the audio download with their content types", async () => {
    for (const name of files) {
      const res = await call(`/internal/jobs/${ctx.job.id}/files/${name}`, ctx.token, { method: "PUT", body: name });
      expect(res.status, name).toBe(201);
    }
    const prefix = versionPrefix(ctx.video.id, ctx.job.version);
    expect((await env.MEDIA.head(`${prefix}storyboard.vtt`))?.httpMetadata?.contentType).toBe(
      "text/vtt; charset=utf-8",
    );
    expect((await env.MEDIA.head(`${prefix}download-audio.m4a`))?.httpMetadata?.contentType).toBe("audio/mp4");
  });

  it("keeps the storyboard layout the completion announces, and a version without one clears it", async () => {
    for (const name of files) {
      await call(`/internal/jobs/${ctx.job.id}/files/${name}`, ctx.token, { method: "PUT", body: name });
    }
    const res = await event(ctx.job.id, ctx.token, { ...completed(files), storyboard: layout });
    expect(res.status).toBe(200);
    const db = testDb();
    const ready = await db.select().from(videos).where(eq(videos.id, ctx.video.id)).get();
    expect(ready?.storyboard).toEqual(layout);

    // A later version made without a storyboard: the old layout does not describe it.
    await db.update(jobs).set({ status: "completed" }).where(eq(jobs.id, ctx.job.id));
    const next = await runningJobFor(ctx.video.id);
    await call(`/internal/jobs/${next.job.id}/files/manifest.mpd`, next.token, { method: "PUT", body: "x" });
    expect((await event(next.job.id, next.token, completed(["manifest.mpd"]))).status).toBe(200);
    const after = await db.select().from(videos).where(eq(videos.id, ctx.video.id)).get();
    expect(after?.version).toBe(next.job.version);
    expect(after?.storyboard).toBeNull();
  });

  it.each([
    ["no parts", { ...layout, parts: [] }],
    ["a zero interval", { ...layout, interval: 0 }],
    ["no thumbnail sizes", { ...layout, thumbnails: { interval: 2, sizes: [] } }],
    ["a fractional tile", { ...layout, tileWidth: 160.5 }],
  ])("refuses a storyboard layout with %s", async (_, storyboard) => {
    await call(`/internal/jobs/${ctx.job.id}/files/manifest.mpd`, ctx.token, { method: "PUT", body: "x" });
    const res = await event(ctx.job.id, ctx.token, { ...completed(["manifest.mpd"]), storyboard });
    expect(res.status).toBe(400);
    const video = await testDb().select().from(videos).where(eq(videos.id, ctx.video.id)).get();
    expect(video?.status).toBe("queued");
  });
});
