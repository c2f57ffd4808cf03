import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { jobs, renditions, uploads, videos } from "../../db/schema";
import { sourceKey } from "../../storage/keys";
import { callApp, recordingQueue, signedInUser } from "../../testing/api";
import { seedReadyVideo, seedVideo, testDb } from "../../testing/seed";
import { newVersion } from "../../transcode/lifecycle";

interface VideoJson {
  id: string;
  slug: string;
  status: string;
  visibility: string;
  dash_url: string | null;
  hls_url: string | null;
  poster_url: string | null;
  renditions: { height: number }[];
  owner: { username: string };
}
interface Page {
  count: number;
  next: string | null;
  previous: string | null;
  results: VideoJson[];
}

const ip = () => ({ "cf-connecting-ip": `203.0.113.${Math.floor(Math.random() * 250)}` });
const get = (path: string, headers: Record<string, string> = {}) => callApp(path, { headers: { ...ip(), ...headers } });
const json = async <T>(res: Response | Promise<Response>) => (await (await res).json()) as T;

async function owner() {
  const user = await signedInUser();
  return { ...user, headers: { ...user.auth, ...ip() } };
}

describe("GET /api/videos/", () => {
  it("lists public ready videos newest first, never private or unlisted ones of others", async () => {
    const a = await owner();
    const pub = await seedReadyVideo({ ownerId: a.id, title: "Listed public" });
    await seedReadyVideo({ ownerId: a.id, visibility: "private", title: "Listed private" });
    await seedReadyVideo({ ownerId: a.id, visibility: "unlisted", title: "Listed unlisted" });
    await seedVideo({ ownerId: a.id, status: "processing", title: "Listed processing" });
    const page = await json<Page>(get("/api/videos/?search=Listed"));
    expect(page.results.map((v) => v.id)).toEqual([pub.id]);
    expect(page.results[0]?.dash_url).toMatch(new RegExp(`/v/${pub.id}/manifest.mpd$`));
    expect(page.results[0]?.renditions.map((r) => r.height)).toEqual([720, 480]);
  });

  it("lists all of the caller's own videos with mine=1", async () => {
    const a = await owner();
    await seedReadyVideo({ ownerId: a.id, title: "Mine 1" });
    await seedReadyVideo({ ownerId: a.id, visibility: "private", title: "Mine 2" });
    await seedVideo({
      ownerId: a.id,
      status: "failed",
      title: "Mine 3",
      errorCode: "not_video",
      errorMessage: "No video",
    });
    const page = await json<Page>(callApp("/api/videos/?mine=1", { headers: a.headers }));
    expect(page.count).toBe(3);
    const failed = await json<Page>(callApp("/api/videos/?mine=1&status=failed", { headers: a.headers }));
    expect(failed.results).toHaveLength(1);
    expect(failed.results[0]).toMatchObject({ status: "failed", error: { code: "not_video", message: "No video" } });
    expect((await get("/api/videos/?mine=1")).status).toBe(401);
  });

  it("pages with count, next and previous, at most 100 a page", async () => {
    const a = await owner();
    for (let i = 0; i < 5; i++) await seedReadyVideo({ ownerId: a.id, title: `Paged ${i}` });
    const first = await json<Page>(get("/api/videos/?search=Paged&page_size=2"));
    expect(first.count).toBe(5);
    expect(first.results).toHaveLength(2);
    expect(first.previous).toBeNull();
    expect(first.next).toContain("page=2");
    const last = await json<Page>(get("/api/videos/?search=Paged&page_size=2&page=3"));
    expect(last.results).toHaveLength(1);
    expect(last.next).toBeNull();
    expect((await get("/api/videos/?page_size=101")).status).toBe(400);
  });

  it("treats search text literally", async () => {
    const a = await owner();
    await seedReadyVideo({ ownerId: a.id, title: "100% literal_search" });
    await seedReadyVideo({ ownerId: a.id, title: "100 x literalXsearch" });
    const page = await json<Page>(get(`/api/videos/?search=${encodeURIComponent("100% literal_")}`));
    expect(page.results.map((v) => (v as unknown as { title: string }).title)).toEqual(["100% literal_search"]);
  });
});

describe("GET /api/videos/{title}/", () => {
  it("finds a video by slug or id, with its playback URLs", async () => {
    const v = await seedReadyVideo({ title: "Find me", slug: "find-me" });
    const bySlug = await json<VideoJson>(get("/api/videos/find-me/"));
    const byId = await json<VideoJson>(get(`/api/videos/${v.id}`));
    expect(bySlug.id).toBe(v.id);
    expect(byId.slug).toBe("find-me");
    expect(bySlug.hls_url).toMatch(/\/master\.m3u8$/);
  });

  it("answers the MPD itself, with absolute segment URLs, for ?format=mpd or Accept: application/dash+xml", async () => {
    const v = await seedReadyVideo();
    for (const res of [
      await get(`/api/videos/${v.slug}/?format=mpd`),
      await get(`/api/videos/${v.slug}/`, { accept: "application/dash+xml" }),
    ]) {
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("application/dash+xml");
      expect(await res.text()).toContain(`<BaseURL>http://api.test/v/${v.id}/${v.version}/</BaseURL>`);
    }
  });

  it("answers 409 for the MPD of a video that is not ready", async () => {
    const v = await seedVideo({ status: "processing" });
    expect((await get(`/api/videos/${v.id}/?format=mpd`)).status).toBe(409);
  });

  it("hides a private video from everyone but its owner, who gets signed URLs", async () => {
    const a = await owner();
    const b = await owner();
    const v = await seedReadyVideo({ ownerId: a.id, visibility: "private" });
    expect((await get(`/api/videos/${v.id}/`)).status).toBe(404);
    expect((await callApp(`/api/videos/${v.id}/`, { headers: b.headers })).status).toBe(404);
    const mine = await json<VideoJson>(callApp(`/api/videos/${v.id}/`, { headers: a.headers }));
    expect(mine.dash_url).toMatch(new RegExp(`/v/${v.id}/t/[^/]+/manifest\\.mpd$`));
    const play = await callApp(new URL(mine.dash_url ?? "").pathname, {});
    expect(play.status).toBe(200);
    const mpd = await callApp(`/api/videos/${v.id}/?format=mpd`, { headers: a.headers });
    expect(await mpd.text()).toMatch(new RegExp(`<BaseURL>http://api.test/v/${v.id}/t/[^/]+/${v.version}/</BaseURL>`));
  });
});

describe("a waiting video's place in line", () => {
  it("shows queue_position while it waits, in the video and in My videos, and null once it runs", async () => {
    const { clearUnits, seedPendingVideo, seedRunner, testDeps, claimRequest } = await import("../../testing/units");
    await clearUnits();
    const a = await owner();
    const { deps } = testDeps();
    const first = await seedPendingVideo(deps, { ownerId: a.id });
    const second = await seedPendingVideo(deps, { ownerId: a.id });
    type Waiting = VideoJson & { queue_position: number | null; estimated_start_at: string | null };
    const shown = await json<Waiting>(get(`/api/videos/${second.video.id}/`, a.headers));
    expect(shown).toMatchObject({ status: "queued", queue_position: 1 });
    const mine = await json<{ results: Waiting[] }>(get("/api/videos/?mine=1", a.headers));
    expect(mine.results.find((v) => v.id === first.video.id)?.queue_position).toBe(0);
    const { token } = await seedRunner();
    expect((await claimRequest(token, { wait_seconds: 0 })).status).toBe(200);
    const running = await json<Waiting>(get(`/api/videos/${first.video.id}/`, a.headers));
    expect(running).toMatchObject({ status: "processing", queue_position: null, estimated_start_at: null });
    expect((await json<Waiting>(get(`/api/videos/${second.video.id}/`, a.headers))).queue_position).toBe(0);
    const ready = await seedReadyVideo({ ownerId: a.id });
    expect((await json<Waiting>(get(`/api/videos/${ready.id}/`, a.headers))).queue_position).toBeNull();
  });
});

describe("PATCH and DELETE /api/videos/{id}/", () => {
  it("lets the owner change title, description and visibility", async () => {
    const a = await owner();
    const v = await seedReadyVideo({ ownerId: a.id });
    const res = await callApp(`/api/videos/${v.id}/`, {
      method: "PATCH",
      headers: { ...a.headers, "content-type": "application/json" },
      body: JSON.stringify({ title: " New title ", visibility: "unlisted", description: "d" }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ title: "New title", visibility: "unlisted", description: "d" });
  });

  it("refuses changes by others: 403 on a public video, 404 on a private one, 401 anonymously", async () => {
    const a = await owner();
    const b = await owner();
    const pub = await seedReadyVideo({ ownerId: a.id });
    const priv = await seedReadyVideo({ ownerId: a.id, visibility: "private" });
    const patch = (id: string, headers: Record<string, string>) =>
      callApp(`/api/videos/${id}/`, {
        method: "PATCH",
        headers: { ...headers, "content-type": "application/json" },
        body: JSON.stringify({ title: "hijacked" }),
      });
    expect((await patch(pub.id, b.headers)).status).toBe(403);
    expect((await patch(priv.id, b.headers)).status).toBe(404);
    expect((await patch(pub.id, ip())).status).toBe(401);
    expect((await callApp(`/api/videos/${pub.id}/`, { method: "DELETE", headers: b.headers })).status).toBe(403);
    expect((await testDb().select().from(videos).where(eq(videos.id, pub.id)).get())?.title).not.toBe("hijacked");
  });

  it("refuses an invalid title with 400", async () => {
    const a = await owner();
    const v = await seedReadyVideo({ ownerId: a.id });
    const res = await callApp(`/api/videos/${v.id}/`, {
      method: "PATCH",
      headers: { ...a.headers, "content-type": "application/json" },
      body: JSON.stringify({ title: "" }),
    });
    expect(res.status).toBe(400);
  });

  it("deletes every stored object and row of the video; its URLs answer 404 afterwards", async () => {
    const a = await owner();
    const v = await seedReadyVideo({ ownerId: a.id });
    await env.MEDIA.put(sourceKey(v.id), "source bytes");
    await testDb()
      .insert(jobs)
      .values({ id: crypto.randomUUID(), videoId: v.id, version: newVersion(), status: "running" });
    const res = await callApp(`/api/videos/${v.id}/`, { method: "DELETE", headers: a.headers });
    expect(res.status).toBe(204);
    expect((await env.MEDIA.list({ prefix: `videos/${v.id}/` })).objects).toEqual([]);
    expect(await env.MEDIA.head(sourceKey(v.id))).toBeNull();
    const db = testDb();
    expect(await db.select().from(videos).where(eq(videos.id, v.id)).all()).toEqual([]);
    expect(await db.select().from(renditions).where(eq(renditions.videoId, v.id)).all()).toEqual([]);
    expect(await db.select().from(jobs).where(eq(jobs.videoId, v.id)).all()).toEqual([]);
    expect(await db.select().from(uploads).where(eq(uploads.videoId, v.id)).all()).toEqual([]);
    for (const path of [`/v/${v.id}/manifest.mpd`, `/v/${v.id}/${v.version}/init-0.m4s`, `/api/videos/${v.id}/`]) {
      expect((await get(path)).status, path).toBe(404);
    }
  });
});

describe("POST /api/videos/{id}/playback-token/ and the original download", () => {
  it("gives the owner signed URLs that expire as asked, capped at the maximum", async () => {
    const a = await owner();
    const v = await seedReadyVideo({ ownerId: a.id, visibility: "private" });
    const res = await callApp(`/api/videos/${v.id}/playback-token/`, {
      method: "POST",
      headers: { ...a.headers, "content-type": "application/json" },
      body: JSON.stringify({ ttl_seconds: 10 * 86400 }),
    });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { token: string; expires_at: string; dash_url: string };
    const ttl = (Date.parse(body.expires_at) - Date.now()) / 1000;
    expect(ttl).toBeGreaterThan(86400 - 60);
    expect(ttl).toBeLessThanOrEqual(86400);
    expect(body.dash_url).toContain(`/t/${body.token}/manifest.mpd`);
    const b = await owner();
    expect((await callApp(`/api/videos/${v.id}/playback-token/`, { method: "POST", headers: b.headers })).status).toBe(
      404,
    );
  });

  it("serves the original upload to its owner only", async () => {
    const a = await owner();
    const v = await seedReadyVideo({ ownerId: a.id, filename: "holiday.mp4", contentType: "video/mp4" });
    await env.MEDIA.put(sourceKey(v.id), "original bytes");
    const res = await callApp(`/api/videos/${v.id}/source/`, { headers: a.headers });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-disposition")).toContain('filename="holiday.mp4"');
    expect(await res.text()).toBe("original bytes");
    const part = await callApp(`/api/videos/${v.id}/source/`, { headers: { ...a.headers, range: "bytes=0-7" } });
    expect(await part.text()).toBe("original");
    const b = await owner();
    expect((await callApp(`/api/videos/${v.id}/source/`, { headers: b.headers })).status).toBe(403);
  });
});

describe("POST /api/videos/{id}/reprocess/", () => {
  it("starts one new version while the current one keeps playing; asking again starts nothing more", async () => {
    const a = await owner();
    const v = await seedReadyVideo({ ownerId: a.id });
    const { queue, sent } = recordingQueue();
    const ask = () =>
      callApp(
        `/api/videos/${v.id}/reprocess/`,
        {
          method: "POST",
          headers: { ...a.headers, "content-type": "application/json" },
          body: JSON.stringify({ max_resolution: "720p" }),
        },
        queue,
      );
    const first = await ask();
    expect(first.status).toBe(202);
    expect(await first.json()).toMatchObject({ status: "ready", max_resolution: "720p" });
    expect((await ask()).status).toBe(202);
    const rows = await testDb().select().from(jobs).where(eq(jobs.videoId, v.id)).all();
    expect(rows).toHaveLength(1);
    expect(rows[0]?.version).not.toBe(v.version);
    expect(sent).toEqual([{ videoId: v.id }, { videoId: v.id }]);
    const still = await get(`/v/${v.id}/manifest.mpd`);
    expect(still.status).toBe(200);
  });

  it("is refused to others and before the upload finished", async () => {
    const a = await owner();
    const b = await owner();
    const v = await seedReadyVideo({ ownerId: a.id });
    expect((await callApp(`/api/videos/${v.id}/reprocess/`, { method: "POST", headers: b.headers })).status).toBe(403);
    const uploading = await seedVideo({ ownerId: a.id, status: "uploading" });
    expect(
      (await callApp(`/api/videos/${uploading.id}/reprocess/`, { method: "POST", headers: a.headers })).status,
    ).toBe(409);
  });
});
