/**
 * Imports that cannot be: refusals at the request (400, 401, 413, 429 in the error envelope), and
 * sources that end the video `failed` with the reason (not a video, too large, stopped without
 * Range support, resumed at the wrong byte, an error status). A failed import keeps nothing but
 * its video, which says why.
 */
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { sweepExpiredUploads } from "../../cron/sweep";
import { uploads, videos } from "../../db/schema";
import { admitImport, IMPORT_MAX_ATTEMPTS } from "../../queue/consumer";
import { createServices } from "../../services";
import { sourceKey } from "../../storage/keys";
import { createR2Store } from "../../storage/r2";
import { testBindings } from "../../testing/api";
import { importer, originRequests, originUrl, PRIVATE_HOSTS_ALLOWED, seriesKey } from "../../testing/imports";
import { testDb, tinyMp4 } from "../../testing/seed";
import { createTestBucket, s3Vars } from "../../testing/storage";
import { IMPORT_LIMITS } from "../../uploads/import";

const MiB = 1024 * 1024;
const r2 = createR2Store(env.MEDIA);

/** Only the failed video is left: no source object, no session, nothing sent to transcode. */
async function expectNothingKept(t: Awaited<ReturnType<typeof importer>>, videoId: string) {
  expect(await r2.head(sourceKey(videoId))).toBeNull();
  expect(await testDb().select().from(uploads).where(eq(uploads.videoId, videoId)).all()).toEqual([]);
  expect(t.transcode.sent).toEqual([]);
}

describe("an import the source does not allow fails the video with the reason", () => {
  it("refuses an HTML page: not a video", async () => {
    const t = await importer(PRIVATE_HOSTS_ALLOWED);
    const video = await t.importUrl(originUrl("/page.html"));
    expect(video.status).toBe("failed");
    expect(video.error?.code).toBe("not_video");
    expect(video.error?.message).toMatch(/not a video/);
    expect(video.error?.message).toContain("text/html");
    await expectNothingKept(t, video.id);
  });

  it("refuses a Content-Length above MAX_UPLOAD_SIZE before reading the body: too large", async () => {
    const t = await importer({ ...PRIVATE_HOSTS_ALLOWED, MAX_UPLOAD_SIZE: String(MiB) });
    const video = await t.importUrl(originUrl(`/video.mp4?size=${2 * MiB}`));
    expect(video.error).toEqual({ code: "too_large", message: `An upload is at most ${MiB} bytes` });
    await expectNothingKept(t, video.id);
  });

  it("refuses a declared 11 GiB on its word, whatever the body", async () => {
    const t = await importer(PRIVATE_HOSTS_ALLOWED);
    const video = await t.importUrl(originUrl(`/video.mp4?declare=${11 * 1024 ** 3}`));
    expect(video.error?.code).toBe("too_large");
    await expectNothingKept(t, video.id);
  });

  it("stops a body without a length once it grows past MAX_UPLOAD_SIZE", async () => {
    const t = await importer({ ...PRIVATE_HOSTS_ALLOWED, MAX_UPLOAD_SIZE: String(3 * MiB) });
    const video = await t.importUrl(originUrl(`/video.mp4?size=${12 * MiB}&chunked=1`));
    expect(video.error).toEqual({ code: "too_large", message: `An upload is at most ${3 * MiB} bytes` });
    await expectNothingKept(t, video.id);
  });

  it("refuses a file that would not fit the owner's storage quota", async () => {
    const t = await importer({ ...PRIVATE_HOSTS_ALLOWED, USER_STORAGE_QUOTA_BYTES: String(MiB) });
    const video = await t.importUrl(originUrl(`/video.mp4?size=${2 * MiB}`));
    expect(video.error?.code).toBe("too_large");
    expect(video.error?.message).toMatch(/quota/);
    await expectNothingKept(t, video.id);
  });

  it("fails a source that stops midway and does not take Range requests", async () => {
    const t = await importer(PRIVATE_HOSTS_ALLOWED);
    const key = seriesKey();
    const video = await t.importUrl(originUrl(`/video.mp4?size=${6 * MiB}&cut=${3 * MiB}&ranges=no&key=${key}`));
    expect(video.error?.code).toBe("import_failed");
    expect(video.error?.message).toMatch(/^The source stopped after \d+ bytes and does not take Range requests/);
    expect(await originRequests(key)).toHaveLength(1);
    await expectNothingKept(t, video.id);
  });

  it("fails a source that resumes at another byte than the one asked for", async () => {
    const t = await importer(PRIVATE_HOSTS_ALLOWED);
    const key = seriesKey();
    const video = await t.importUrl(originUrl(`/video.mp4?size=${6 * MiB}&cut=${3 * MiB}&shift=7&key=${key}`));
    const asked = Number(/^bytes=(\d+)-$/.exec((await originRequests(key))[1]?.range ?? "")?.[1]);
    expect(video.error).toEqual({
      code: "import_failed",
      message: `The source could not resume at byte ${asked}: it sent bytes from ${asked + 7} instead`,
    });
    await expectNothingKept(t, video.id);
  });

  it.each([
    [404, /^The source answered 404/],
    [403, /^The source answered 403/],
  ])("fails a source that answers %i", async (status, message) => {
    const t = await importer(PRIVATE_HOSTS_ALLOWED);
    const video = await t.importUrl(originUrl(`/status/${status}`));
    expect(video.error?.code).toBe("import_failed");
    expect(video.error?.message).toMatch(message);
    await expectNothingKept(t, video.id);
  });

  it("tries a source that keeps answering 503 a few times, then fails it", async () => {
    const t = await importer(PRIVATE_HOSTS_ALLOWED);
    const res = await t.start({ url: originUrl("/status/503"), title: "Down" });
    const { id } = (await res.json()) as { id: string };
    const outcome = await t.runWith({ videoId: id }, { ...IMPORT_LIMITS, maxReconnects: 2, reconnectDelayMs: () => 1 });
    expect(outcome).toBe("failed");
    const video = await t.video(id);
    expect(video.error?.message).toBe("The source answered 503 Service Unavailable; gave up after 2 more tries");
  });

  it("fails the video once the platform's own failures have used up IMPORT_MAX_ATTEMPTS runs", async () => {
    // The upload session is made in one bucket; the runs find another one, which has no such upload.
    const bucket = await createTestBucket("import-attempts");
    const t = await importer({ ...PRIVATE_HOSTS_ALLOWED, ...s3Vars(bucket) });
    const res = await t.start({ url: originUrl(`/video.mp4?size=${11 * MiB}`), title: "Unlucky" });
    const { id } = (await res.json()) as { id: string };
    const services = createServices(testBindings(undefined, { ...PRIVATE_HOSTS_ALLOWED, ...s3Vars() }));
    const run = async (attempts: number) => {
      const state = { acked: false, retried: false };
      const message = {
        id: crypto.randomUUID(),
        timestamp: new Date(),
        attempts,
        body: { videoId: id },
        ack: () => {
          state.acked = true;
        },
        retry: () => {
          state.retried = true;
        },
      } as unknown as Message<unknown>;
      await admitImport(message, services).catch(() => {
        state.retried = true;
      });
      return state;
    };
    expect(await run(1)).toEqual({ acked: false, retried: true });
    expect((await t.video(id)).status).toBe("uploading");
    expect(await run(IMPORT_MAX_ATTEMPTS)).toEqual({ acked: true, retried: false });
    const video = await t.video(id);
    expect(video.status).toBe("failed");
    expect(video.error?.message).toMatch(
      new RegExp(`^The import failed ${IMPORT_MAX_ATTEMPTS} times on the platform's side`),
    );
  });
});

describe("an import that never finished", () => {
  it("fails its video when its session expires, rather than vanishing", async () => {
    const t = await importer(PRIVATE_HOSTS_ALLOWED);
    const res = await t.start({ url: originUrl("/video.mp4"), title: "Never ran" });
    const { id } = (await res.json()) as { id: string };
    const session = await testDb().select().from(uploads).where(eq(uploads.videoId, id)).get();
    const later = (session?.expiresAt.getTime() ?? 0) + 1000;
    await sweepExpiredUploads(createServices(testBindings()), later);
    const video = await t.video(id);
    expect(video.error).toEqual({
      code: "import_failed",
      message: "The import did not finish before it expired (UPLOAD_EXPIRY_HOURS)",
    });
    await expectNothingKept(t, id);
    // Its message, delivered late, finds nothing to do.
    expect(await t.drain()).toEqual([{ acked: true, retried: false }]);
    expect((await t.video(id)).status).toBe("failed");
  });
});

describe("POST /api/videos/import/ refusals", () => {
  it("answers 401 without a key, creating nothing", async () => {
    const t = await importer(PRIVATE_HOSTS_ALLOWED);
    const res = await t.start({ url: originUrl("/video.mp4"), title: "Anon" }, {});
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("unauthorized");
    expect(t.imports.sent).toEqual([]);
  });

  it.each([
    ["no title", { url: "https://media.example.com/a.mp4" }, "title"],
    ["a title of 201 characters", { url: "https://media.example.com/a.mp4", title: "x".repeat(201) }, "title"],
    ["9000p", { url: "https://media.example.com/a.mp4", title: "Ok", max_resolution: "9000p" }, "max_resolution"],
    ["no URL", { title: "No URL" }, "url"],
    ["a relative URL", { url: "media.example.com/a.mp4", title: "Relative" }, "url"],
    ["a URL of 2100 characters", { url: `https://media.example.com/${"a".repeat(2100)}`, title: "Long" }, "url"],
  ])("answers %s with 400 naming the field, creating nothing", async (_, body, field) => {
    const t = await importer();
    const res = await t.start(body);
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as { error: { code: string; details: { path: string }[] } };
    expect(error.code).toBe("validation_error");
    expect(error.details.map((d) => d.path)).toContain(field);
    expect(t.imports.sent).toEqual([]);
    expect(await testDb().select().from(videos).where(eq(videos.ownerId, t.user.id)).all()).toEqual([]);
  });

  it("answers 413 when the owner's quota is used up already", async () => {
    const t = await importer({ ...PRIVATE_HOSTS_ALLOWED, USER_STORAGE_QUOTA_BYTES: String(tinyMp4().length) });
    const first = await t.importUrl(originUrl("/video.mp4"));
    expect(first.status).toBe("queued");
    const res = await t.start({ url: originUrl("/video.mp4"), title: "One more" });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("payload_too_large");
  });

  it("counts an import as an upload against RATE_LIMIT_UPLOADS_PER_DAY", async () => {
    const t = await importer({ ...PRIVATE_HOSTS_ALLOWED, RATE_LIMIT_UPLOADS_PER_DAY: "1" });
    expect((await t.start({ url: originUrl("/video.mp4"), title: "First" })).status).toBe(202);
    const second = await t.start({ url: originUrl("/video.mp4"), title: "Second" });
    expect(second.status).toBe(429);
    expect(second.headers.get("retry-after")).toBeTruthy();
    expect(t.imports.sent).toHaveLength(1);
  });
});
