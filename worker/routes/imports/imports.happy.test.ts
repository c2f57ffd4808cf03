/**
 * Imports that work: the Worker fetches from a real HTTP origin (test/import-origin.ts) into
 * storage, byte for byte, and the video goes to the transcode queue as after an upload; a source
 * cut midway is resumed with Range; a slow one shows its progress; a long one goes on in a new run.
 */
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { jobs, uploads } from "../../db/schema";
import { sourceKey } from "../../storage/keys";
import { createR2Store } from "../../storage/r2";
import type { ObjectStore } from "../../storage/store";
import {
  importer,
  originBytes,
  originRequests,
  originUrl,
  PRIVATE_HOSTS_ALLOWED,
  publicOriginUrl,
  releaseOrigin,
  seriesKey,
} from "../../testing/imports";
import { sha256, testDb, tinyMp4 } from "../../testing/seed";
import { appBackends } from "../../testing/storage";
import { IMPORT_LIMITS } from "../../uploads/import";

const MiB = 1024 * 1024;

async function stored(store: ObjectStore, videoId: string): Promise<string | null> {
  const object = await store.get(sourceKey(videoId));
  return object ? sha256(await object.arrayBuffer()) : null;
}

async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, what: string): Promise<T> {
  for (let i = 0; i < 400; i++) {
    const value = await read();
    if (ok(value)) return value;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`gave up waiting for ${what}`);
}

describe.each(appBackends())("import from a URL on the $name backend", ({ vars, store }) => {
  it("answers 202 with the uploading video, fetches the file byte for byte and queues it for transcoding", async () => {
    const t = await importer({ ...vars, ...PRIVATE_HOSTS_ALLOWED });
    const key = seriesKey();
    const res = await t.start({
      url: originUrl(`/video.mp4?key=${key}`),
      title: "From the web",
      visibility: "unlisted",
    });
    expect(res.status).toBe(202);
    const created = (await res.json()) as { id: string; status: string; visibility: string; progress: number };
    expect(created).toMatchObject({ status: "uploading", visibility: "unlisted", progress: 0 });
    expect(res.headers.get("location")).toBe(`http://api.test/api/videos/${created.id}/`);
    expect(t.imports.sent).toEqual([{ videoId: created.id }]);
    // Nothing is fetched before the queue's consumer runs.
    expect(await originRequests(key)).toEqual([]);

    expect(await t.drain()).toEqual([{ acked: true, retried: false }]);
    const video = await t.video(created.id);
    expect(video).toMatchObject({ status: "queued", size: tinyMp4().length, error: null });
    expect(await stored(store, created.id)).toBe(await sha256(tinyMp4()));
    expect(t.transcode.sent).toEqual([{ videoId: created.id }]);
    expect((await testDb().select().from(jobs).where(eq(jobs.videoId, created.id)).get())?.status).toBe("queued");
    // The session is complete: its row is the upload's record, and no held bytes are left.
    const session = await testDb().select().from(uploads).where(eq(uploads.videoId, created.id)).get();
    expect(session).toMatchObject({ offset: tinyMp4().length, length: tinyMp4().length });
    const [request] = await originRequests(key);
    expect(request).toMatchObject({ range: null, acceptEncoding: "identity" });
  });
});

describe("import from a URL", () => {
  const r2 = createR2Store(env.MEDIA);

  it("resumes a source that stops midway with Range from the bytes it stored, and stores the whole file", async () => {
    const t = await importer(PRIVATE_HOSTS_ALLOWED);
    const key = seriesKey();
    const size = 12 * MiB + 12_345;
    const cut = 11 * MiB;
    const video = await t.importUrl(originUrl(`/video.mp4?size=${size}&cut=${cut}&key=${key}`));
    expect(video).toMatchObject({ status: "queued", size });
    expect(await stored(r2, video.id)).toBe(await sha256(originBytes(size)));
    const requests = await originRequests(key);
    expect(requests).toHaveLength(2);
    expect(requests[0]?.range).toBeNull();
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(requests[1]?.range ?? "")?.[1]);
    // From where the stored bytes end: past the first whole part, at most where the cut came.
    expect(resumedAt).toBeGreaterThan(10 * MiB);
    expect(resumedAt).toBeLessThanOrEqual(cut);
    expect(requests[1]?.ifRange).toBe('"tiny-v1"');
    expect(t.transcode.sent).toEqual([{ videoId: video.id }]);
  });

  it("shows the share of the file fetched while a slow source sends it", async () => {
    const t = await importer(PRIVATE_HOSTS_ALLOWED);
    const key = seriesKey();
    const size = 4 * MiB;
    const res = await t.start({ url: originUrl(`/video.mp4?size=${size}&hold=${2 * MiB}&key=${key}`), title: "Slow" });
    const { id } = (await res.json()) as { id: string };
    const running = t.drain();
    // The origin sends half the file, then waits.
    const midway = await until(
      () => t.video(id),
      (v) => v.progress > 0,
      "progress",
    );
    expect(midway).toMatchObject({ status: "uploading", size });
    expect(midway.progress).toBeLessThanOrEqual(50);
    await releaseOrigin(key);
    await running;
    const done = await t.video(id);
    expect(done).toMatchObject({ status: "queued", size });
    expect(await stored(r2, id)).toBe(await sha256(originBytes(size)));
  });

  it("takes a source that does not say its length (chunked), the size counting up as it arrives", async () => {
    const t = await importer(PRIVATE_HOSTS_ALLOWED);
    const size = 3 * MiB + 7;
    const video = await t.importUrl(originUrl(`/video.mp4?size=${size}&chunked=1`));
    expect(video).toMatchObject({ status: "queued", size });
    expect(await stored(r2, video.id)).toBe(await sha256(originBytes(size)));
  });

  it.each([301, 302, 303, 307, 308])("follows a %i redirect on a public host to the file", async (status) => {
    const t = await importer();
    const target = encodeURIComponent(publicOriginUrl("/video.mp4"));
    const video = await t.importUrl(publicOriginUrl(`/redirect?status=${status}&to=${target}`));
    expect(video.status, JSON.stringify(video.error)).toBe("queued");
    expect(await stored(r2, video.id)).toBe(await sha256(tinyMp4()));
  });

  it("goes on in a new run, from the stored bytes, when one run's time is up", async () => {
    const t = await importer(PRIVATE_HOSTS_ALLOWED);
    const key = seriesKey();
    const size = 6 * MiB;
    const res = await t.start({ url: originUrl(`/video.mp4?size=${size}&key=${key}`), title: "Long" });
    const { id } = (await res.json()) as { id: string };
    t.imports.sent.length = 0;
    // A run with no time: it stores what its first bytes were and hands over.
    expect(await t.runWith({ videoId: id }, { ...IMPORT_LIMITS, sliceMs: 0 })).toBe("continued");
    expect(t.imports.sent).toEqual([{ videoId: id, resume: { length: size, validator: '"tiny-v1"' } }]);
    expect((await t.video(id)).status).toBe("uploading");

    expect(await t.drain()).toEqual([{ acked: true, retried: false }]);
    expect(await t.video(id)).toMatchObject({ status: "queued", size });
    expect(await stored(r2, id)).toBe(await sha256(originBytes(size)));
    const requests = await originRequests(key);
    expect(requests).toHaveLength(2);
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(requests[1]?.range ?? "")?.[1]);
    expect(resumedAt).toBeGreaterThan(0);
    expect(resumedAt).toBeLessThan(size);
    expect(requests[1]?.ifRange).toBe('"tiny-v1"');
  });
});
