/**
 * The units' API on the S3 backend (the test S3 server, a bucket of this file's own): the runner
 * reads the source by range from the bucket and writes its files into it, completion checks the
 * announced files there, and the version it replaces and a failed one's outputs are deleted there.
 */
import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { videos } from "../../db/schema";
import { sourceKey, versionPrefix } from "../../storage/keys";
import { listPrefix } from "../../storage/prefix";
import { createS3Store } from "../../storage/s3";
import { testDb } from "../../testing/seed";
import { createTestBucket, s3Vars, testS3Config } from "../../testing/storage";
import { appRequest, completedEvent, seedClaimedUnit } from "../../testing/units";

const SOURCE = new Uint8Array(Array.from({ length: 3000 }, (_, i) => (i * 7) % 251));

let vars: Record<string, string>;
let store: ReturnType<typeof createS3Store>;
beforeAll(async () => {
  const bucket = await createTestBucket("units");
  vars = s3Vars(bucket);
  store = createS3Store(testS3Config({ bucket }));
});

const keysUnder = async (prefix: string) => {
  const keys: string[] = [];
  for await (const o of listPrefix(store, prefix)) keys.push(o.key);
  return keys.sort();
};

/** Deletes run after the answer (the request's waitUntil): listings are read until they show them. */
const AFTER_THE_ANSWER = { timeout: 10_000, interval: 100 };

async function claimed() {
  const ctx = await seedClaimedUnit({}, SOURCE, vars);
  const call = (path: string, init: RequestInit = {}) =>
    appRequest(`/internal/units/${ctx.unitId}${path}`, ctx.token, init, vars);
  // Built by hand here (not by the runtime's fetch), so the length a runner sends is set explicitly.
  const putFile = (name: string, body: string | Uint8Array) => {
    const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
    return call(`/files/${name}`, { method: "PUT", body: bytes, headers: { "content-length": String(bytes.length) } });
  };
  return { ...ctx, call, putFile, prefix: versionPrefix(ctx.video.id, ctx.job.version) };
}

describe("internal unit API on the S3 backend", () => {
  it("serves the source from the bucket whole and by range, 416 past its end", async () => {
    const ctx = await claimed();
    expect(await keysUnder(sourceKey(ctx.video.id))).toEqual([sourceKey(ctx.video.id)]);
    const whole = await ctx.call("/source");
    expect(whole.status).toBe(200);
    expect(new Uint8Array(await whole.arrayBuffer())).toEqual(SOURCE);
    const part = await ctx.call("/source", { headers: { range: "bytes=1000-1999" } });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe("bytes 1000-1999/3000");
    expect(new Uint8Array(await part.arrayBuffer())).toEqual(SOURCE.slice(1000, 2000));
    const tail = await ctx.call("/source", { headers: { range: "bytes=-10" } });
    expect(new Uint8Array(await tail.arrayBuffer())).toEqual(SOURCE.slice(2990));
    const past = await ctx.call("/source", { headers: { range: "bytes=3000-" } });
    expect(past.status).toBe(416);
  });

  it("answers 404 in the envelope when the source is missing from the bucket", async () => {
    const ctx = await claimed();
    await store.delete(sourceKey(ctx.video.id));
    const res = await ctx.call("/source", { headers: { range: "bytes=0-9" } });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("not_found");
  });

  it("stores files in the bucket with their content type, and publishes once they are all there", async () => {
    const ctx = await claimed();
    const db = testDb();
    await db.update(videos).set({ version: "vold" }).where(eq(videos.id, ctx.video.id));
    await store.put(`${versionPrefix(ctx.video.id, "vold")}manifest.mpd`, "old");
    const put = await ctx.putFile("manifest.mpd", "<MPD/>");
    expect(put.status).toBe(201);
    expect(await put.json()).toEqual({ name: "manifest.mpd", size: 6 });
    const stored = await store.get(`${ctx.prefix}manifest.mpd`);
    expect(await stored?.text()).toBe("<MPD/>");
    expect(stored?.contentType).toBe("application/dash+xml");

    const event = (files: string[]) =>
      ctx.call("/events", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(completedEvent(files)),
      });
    // poster.jpg is announced but not in the bucket yet.
    expect((await event(["manifest.mpd", "poster.jpg"])).status).toBe(409);
    await ctx.putFile("poster.jpg", new Uint8Array([0xff, 0xd8, 0xff]));
    expect((await event(["manifest.mpd", "poster.jpg"])).status).toBe(200);
    expect((await db.select().from(videos).where(eq(videos.id, ctx.video.id)).get())?.status).toBe("ready");
    // The replaced version is deleted after the answer.
    await expect
      .poll(() => keysUnder(`videos/${ctx.video.id}/`), AFTER_THE_ANSWER)
      .toEqual([`${ctx.prefix}manifest.mpd`, `${ctx.prefix}poster.jpg`]);
  });

  it("deletes a failed unit's partial outputs from the bucket", async () => {
    const ctx = await claimed();
    expect((await ctx.putFile("chunk-0-00001.m4s", "partial")).status).toBe(201);
    expect(await keysUnder(ctx.prefix)).toEqual([`${ctx.prefix}chunk-0-00001.m4s`]);
    const res = await ctx.call("/events", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ type: "failed", code: "not_video", message: "No video stream" }),
    });
    expect(res.status).toBe(200);
    await expect.poll(() => keysUnder(`videos/${ctx.video.id}/`), AFTER_THE_ANSWER).toEqual([]);
  });
});
