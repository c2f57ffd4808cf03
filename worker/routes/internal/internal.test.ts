import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import type { ClaimAnswer } from "../../../shared/protocol";
import { renditions, videos, workUnits } from "../../db/schema";
import { versionPrefix } from "../../storage/keys";
import { callApp, signedInUser } from "../../testing/api";
import { testDb } from "../../testing/seed";
import {
  appRequest,
  claimRequest,
  clearPending,
  completedEvent,
  seedClaimedUnit,
  seedRunner,
  testDeps,
  unitEvent,
  unitRow,
} from "../../testing/units";
import { createUnits, reprocess } from "../../transcode/lifecycle";

const SOURCE = new Uint8Array(Array.from({ length: 1000 }, (_, i) => i % 251));

const call = (path: string, token: string | null, init: RequestInit = {}) => appRequest(path, token, init);

let ctx: Awaited<ReturnType<typeof seedClaimedUnit>>;
beforeEach(async () => {
  ctx = await seedClaimedUnit({}, SOURCE);
});

const base = () => `/internal/units/${ctx.unitId}`;

describe("internal unit API: authentication", () => {
  it("refuses requests without a token, or with a token for another unit", async () => {
    expect((await call(`${base()}/source`, null)).status).toBe(401);
    const other = await seedClaimedUnit();
    expect((await call(`${base()}/source`, other.token)).status).toBe(401);
    expect((await call(`${base()}/source`, "not.a-token")).status).toBe(401);
    // A runner token opens no unit either.
    expect((await call(`${base()}/source`, ctx.runnerToken)).status).toBe(401);
  });

  it("refuses a superseded attempt's token with 410", async () => {
    await testDb()
      .update(workUnits)
      .set({ attempt: ctx.assignment.attempt + 1 })
      .where(eq(workUnits.id, ctx.unitId));
    const res = await call(`${base()}/source`, ctx.token);
    expect(res.status).toBe(410);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("gone");
  });
});

describe("internal unit API: source", () => {
  it("serves the whole source", async () => {
    const res = await call(`${base()}/source`, ctx.token);
    expect(res.status).toBe(200);
    expect(res.headers.get("accept-ranges")).toBe("bytes");
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(SOURCE);
  });

  it("serves a byte range with 206 and Content-Range", async () => {
    const res = await call(`${base()}/source`, ctx.token, { headers: { range: "bytes=100-199" } });
    expect(res.status).toBe(206);
    expect(res.headers.get("content-range")).toBe("bytes 100-199/1000");
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(SOURCE.slice(100, 200));
  });

  it("answers a range past the end with 416", async () => {
    const res = await call(`${base()}/source`, ctx.token, { headers: { range: "bytes=5000-" } });
    expect(res.status).toBe(416);
    expect(res.headers.get("content-range")).toBe("bytes */1000");
  });
});

describe("internal unit API: files", () => {
  it("stores a file under the job's version with its content type", async () => {
    const res = await call(`${base()}/files/manifest.mpd`, ctx.token, { method: "PUT", body: "<MPD/>" });
    expect(res.status).toBe(201);
    const stored = await env.MEDIA.get(`${versionPrefix(ctx.video.id, ctx.job.version)}manifest.mpd`);
    expect(await stored?.text()).toBe("<MPD/>");
    expect(stored?.httpMetadata?.contentType).toBe("application/dash+xml");
  });

  it.each(["..%2Fescape.m4s", "%2E%2E.mpd", "script.sh", ".hidden.mpd", "a.mpd.exe"])(
    "refuses the name %s",
    async (name) => {
      const res = await call(`${base()}/files/${name}`, ctx.token, { method: "PUT", body: "x" });
      expect([400, 404]).toContain(res.status);
      const listed = await env.MEDIA.list({ prefix: `videos/${ctx.video.id}/` });
      expect(listed.objects).toEqual([]);
    },
  );

  it("reads back a file the job stored, whole and by range, and 404s one it did not", async () => {
    const body = new Uint8Array(Array.from({ length: 300 }, (_, i) => i % 256));
    expect((await call(`${base()}/files/chunk-0-00001.m4s`, ctx.token, { method: "PUT", body })).status).toBe(201);
    const whole = await call(`${base()}/files/chunk-0-00001.m4s`, ctx.token);
    expect(whole.status).toBe(200);
    expect(new Uint8Array(await whole.arrayBuffer())).toEqual(body);
    const part = await call(`${base()}/files/chunk-0-00001.m4s`, ctx.token, { headers: { range: "bytes=10-19" } });
    expect(part.status).toBe(206);
    expect(new Uint8Array(await part.arrayBuffer())).toEqual(body.slice(10, 20));
    const missing = await call(`${base()}/files/chunk-0-00002.m4s`, ctx.token);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe("not_found");
  });

  it("reads back only the job's own version, and only with the unit's token", async () => {
    const other = await seedClaimedUnit();
    await env.MEDIA.put(`${versionPrefix(other.video.id, other.job.version)}manifest.mpd`, "theirs");
    expect((await call(`${base()}/files/manifest.mpd`, ctx.token)).status).toBe(404);
    expect((await call(`/internal/units/${other.unitId}/files/manifest.mpd`, ctx.token)).status).toBe(401);
    expect((await call(`/internal/units/${other.unitId}/files/manifest.mpd`, null)).status).toBe(401);
    expect((await call(`${base()}/files/..%2Fsource.m4s`, ctx.token)).status).toBeGreaterThanOrEqual(400);
  });

  it("requires a length, so the body can stream into storage", async () => {
    const body = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode("abc"));
        c.close();
      },
    });
    const res = await call(`${base()}/files/a.m4s`, ctx.token, { method: "PUT", body });
    expect(res.status).toBe(411);
  });
});

describe("internal unit API: events", () => {
  it("records progress, renews the lease and moves the video to processing", async () => {
    const before = await unitRow(ctx.unitId);
    const res = await unitEvent(ctx.unitId, ctx.token, { type: "progress", progress: 42.7 });
    expect(res.status).toBe(200);
    const video = await testDb().select().from(videos).where(eq(videos.id, ctx.video.id)).get();
    expect(video).toMatchObject({ status: "processing", progress: 42 });
    const after = await unitRow(ctx.unitId);
    expect(after.progress).toBe(42);
    expect(after.startedAt).not.toBeNull();
    expect(after.leaseUntil?.getTime()).toBeGreaterThanOrEqual(before.leaseUntil?.getTime() ?? 0);
  });

  it("refuses an invalid event with 400", async () => {
    const res = await unitEvent(ctx.unitId, ctx.token, { type: "progress", progress: 250 });
    expect(res.status).toBe(400);
  });

  it("refuses a completion whose files were never stored, changing nothing", async () => {
    const res = await unitEvent(ctx.unitId, ctx.token, completedEvent(["manifest.mpd", "poster.jpg"]));
    expect(res.status).toBe(409);
    const video = await testDb().select().from(videos).where(eq(videos.id, ctx.video.id)).get();
    expect(video?.status).toBe("processing");
    expect((await unitRow(ctx.unitId)).status).toBe("running");
  });

  it("publishes a completed unit: renditions, ready, new version; the old version is deleted", async () => {
    const db = testDb();
    await db.update(videos).set({ version: "vold" }).where(eq(videos.id, ctx.video.id));
    await env.MEDIA.put(`${versionPrefix(ctx.video.id, "vold")}manifest.mpd`, "old");
    for (const name of ["manifest.mpd", "poster.jpg"]) {
      await call(`${base()}/files/${name}`, ctx.token, { method: "PUT", body: name });
    }
    const res = await unitEvent(ctx.unitId, ctx.token, completedEvent(["manifest.mpd", "poster.jpg"]));
    expect(res.status).toBe(200);
    const video = await db.select().from(videos).where(eq(videos.id, ctx.video.id)).get();
    expect(video).toMatchObject({ status: "ready", progress: 100, version: ctx.job.version, width: 1280, height: 720 });
    const rows = await db.select().from(renditions).where(eq(renditions.videoId, ctx.video.id)).all();
    expect(rows.map((r) => r.representationId).sort()).toEqual(["0", "1"]);
    expect((await env.MEDIA.list({ prefix: versionPrefix(ctx.video.id, "vold") })).objects).toEqual([]);
    // The unit is done: its token opens nothing more but a repeat of its completion.
    expect((await unitEvent(ctx.unitId, ctx.token, { type: "progress", progress: 1 })).status).toBe(409);
    expect((await call(`${base()}/source`, ctx.token)).status).toBe(410);
  });

  it("refuses every call for a unit whose video was deleted with 410, so its runner stops", async () => {
    const owner = await signedInUser();
    const mine = await seedClaimedUnit({ ownerId: owner.id });
    const res = await callApp(`/api/videos/${mine.video.id}/`, { method: "DELETE", headers: owner.auth });
    expect(res.status).toBe(204);
    const progress = await unitEvent(mine.unitId, mine.token, { type: "progress", progress: 50 });
    expect(progress.status).toBe(410);
    expect(((await progress.json()) as { error: { message: string } }).error.message).toMatch(/deleted/);
    expect((await call(`/internal/units/${mine.unitId}/source`, mine.token)).status).toBe(410);
    const put = await call(`/internal/units/${mine.unitId}/files/chunk-0-00001.m4s`, mine.token, {
      method: "PUT",
      body: "late",
    });
    expect(put.status).toBe(410);
    expect((await env.MEDIA.list({ prefix: `videos/${mine.video.id}/` })).objects).toEqual([]);
  });

  it("refuses the next event of a unit cancelled by a reprocess with other settings, with 410", async () => {
    const owner = await signedInUser();
    const mine = await seedClaimedUnit({ ownerId: owner.id });
    const res = await callApp(`/api/videos/${mine.video.id}/reprocess/`, {
      method: "POST",
      headers: { ...owner.auth, "content-type": "application/json" },
      body: JSON.stringify({ max_resolution: "720p" }),
    });
    expect(res.status).toBe(202);
    const progress = await unitEvent(mine.unitId, mine.token, { type: "progress", progress: 50 });
    expect(progress.status).toBe(410);
    expect(((await progress.json()) as { error: { message: string } }).error.message).toMatch(/cancelled/);
  });

  it("answers a repeated completion ok, publishing nothing twice", async () => {
    await call(`${base()}/files/manifest.mpd`, ctx.token, { method: "PUT", body: "m" });
    const done = completedEvent(["manifest.mpd"]);
    expect(await (await unitEvent(ctx.unitId, ctx.token, done)).json()).toEqual({ ok: true });
    const again = await unitEvent(ctx.unitId, ctx.token, done);
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ ok: true, duplicate: true });
    expect((await unitRow(ctx.unitId)).status).toBe("done");
  });

  it("fails the video with the runner's reason and deletes partial outputs", async () => {
    await call(`${base()}/files/chunk-0-1.m4s`, ctx.token, { method: "PUT", body: "partial" });
    const res = await unitEvent(ctx.unitId, ctx.token, {
      type: "failed",
      code: "not_video",
      message: "No video stream",
    });
    expect(res.status).toBe(200);
    const video = await testDb().select().from(videos).where(eq(videos.id, ctx.video.id)).get();
    expect(video).toMatchObject({ status: "failed", errorCode: "not_video", errorMessage: "No video stream" });
    expect((await env.MEDIA.list({ prefix: `videos/${ctx.video.id}/` })).objects).toEqual([]);
    expect((await unitEvent(ctx.unitId, ctx.token, { type: "progress", progress: 5 })).status).toBe(410);
  });
});

describe("internal unit API: storyboards, thumbnails and downloads", () => {
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
  const store = (unitId: string, token: string, names: string[]) =>
    Promise.all(
      names.map((name) => call(`/internal/units/${unitId}/files/${name}`, token, { method: "PUT", body: name })),
    );

  it("stores the index and the audio download with their content types", async () => {
    for (const res of await store(ctx.unitId, ctx.token, files)) expect(res.status).toBe(201);
    const prefix = versionPrefix(ctx.video.id, ctx.job.version);
    expect((await env.MEDIA.head(`${prefix}storyboard.vtt`))?.httpMetadata?.contentType).toBe(
      "text/vtt; charset=utf-8",
    );
    expect((await env.MEDIA.head(`${prefix}download-audio.m4a`))?.httpMetadata?.contentType).toBe("audio/mp4");
  });

  it("keeps the storyboard layout the completion announces, and a version without one clears it", async () => {
    await store(ctx.unitId, ctx.token, files);
    const res = await unitEvent(ctx.unitId, ctx.token, { ...completedEvent(files), storyboard: layout });
    expect(res.status).toBe(200);
    const db = testDb();
    const ready = await db.select().from(videos).where(eq(videos.id, ctx.video.id)).get();
    expect(ready?.storyboard).toEqual(layout);

    // A later version made without a storyboard: the old layout does not describe it.
    const next = await claimNextVersion(ctx.video.id);
    await store(next.unitId, next.token, ["manifest.mpd"]);
    expect((await unitEvent(next.unitId, next.token, completedEvent(["manifest.mpd"]))).status).toBe(200);
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
    await store(ctx.unitId, ctx.token, ["manifest.mpd"]);
    const res = await unitEvent(ctx.unitId, ctx.token, { ...completedEvent(["manifest.mpd"]), storyboard });
    expect(res.status).toBe(400);
    expect((await unitRow(ctx.unitId)).status).toBe("running");
    const video = await testDb().select().from(videos).where(eq(videos.id, ctx.video.id)).get();
    expect(video?.storyboard).toBeNull();
  });
});

/** A new version of a ready video, its unit claimed by a runner: what a reprocess leads to. */
async function claimNextVersion(videoId: string) {
  const { deps } = testDeps();
  await clearPending();
  const { job } = await reprocess(deps, videoId);
  await createUnits(deps, videoId);
  const { token: runnerToken } = await seedRunner();
  const res = await claimRequest(runnerToken, { wait_seconds: 0, running: [] });
  const { unit } = (await res.json()) as ClaimAnswer;
  if (unit.videoId !== videoId) throw new Error("the claim took another video's unit");
  return { job, unitId: unit.unitId, token: unit.token };
}
