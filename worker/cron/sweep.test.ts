import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createLogger } from "../app/logger";
import { loadSettings } from "../app/settings";
import { jobs, videos } from "../db/schema";
import { versionPrefix } from "../storage/keys";
import { seedVideo, testDb } from "../testing/seed";
import type { TranscoderDispatcher } from "../transcode/dispatcher";
import { newVersion } from "../transcode/jobs";
import { sweepStaleJobs } from "./sweep";

function setup() {
  const released: string[] = [];
  const sent: unknown[] = [];
  const dispatcher: TranscoderDispatcher = {
    kind: "container",
    apiBaseFor: (id) => id,
    async dispatch() {},
    async heartbeat() {},
    async release(id) {
      released.push(id);
    },
  };
  const queue = { send: async (body: unknown) => void sent.push(body) } as unknown as Queue;
  const deps = {
    db: testDb(),
    media: env.MEDIA,
    queue,
    settings: loadSettings({ ...env, JOB_MAX_ATTEMPTS: "2", JOB_STALE_SECONDS: "60" } as unknown as Record<
      string,
      unknown
    >),
    dispatcher,
    logger: createLogger({}, "error"),
  };
  return { deps, released, sent };
}

async function runningJob(attempts: number, leaseUntil: number) {
  const video = await seedVideo({ status: "processing" });
  const id = crypto.randomUUID();
  const version = newVersion();
  await testDb()
    .insert(jobs)
    .values({ id, videoId: video.id, version, status: "running", attempts, leaseUntil: new Date(leaseUntil) });
  return { video, id, version };
}

describe("the stale-job sweep", () => {
  it("re-queues a silent job that has attempts left, and frees its transcoder", async () => {
    const now = Date.now();
    const job = await runningJob(1, now - 1000);
    const { deps, released, sent } = setup();
    expect(await sweepStaleJobs(deps, now)).toEqual({ requeued: 1, failed: 0 });
    expect(sent).toEqual([{ videoId: job.video.id }]);
    expect(released).toEqual([job.id]);
    const row = await testDb().select().from(jobs).where(eq(jobs.id, job.id)).get();
    expect(row?.status).toBe("queued");
    const video = await testDb().select().from(videos).where(eq(videos.id, job.video.id)).get();
    expect(video?.status).toBe("queued");
  });

  it("leaves a job alone while its lease holds", async () => {
    const now = Date.now();
    await runningJob(1, now + 60_000);
    const { deps } = setup();
    expect(await sweepStaleJobs(deps, now)).toEqual({ requeued: 0, failed: 0 });
  });

  it("fails the video with a readable reason after the last attempt, and deletes partial outputs", async () => {
    const now = Date.now();
    const job = await runningJob(2, now - 1000);
    await env.MEDIA.put(`${versionPrefix(job.video.id, job.version)}chunk-0-1.m4s`, "partial");
    const { deps, sent } = setup();
    expect(await sweepStaleJobs(deps, now)).toEqual({ requeued: 0, failed: 1 });
    expect(sent).toEqual([]);
    const video = await testDb().select().from(videos).where(eq(videos.id, job.video.id)).get();
    expect(video).toMatchObject({ status: "failed", errorCode: "transcode_failed" });
    expect(video?.errorMessage).toMatch(/stopped reporting 2 times/);
    expect((await env.MEDIA.list({ prefix: `videos/${job.video.id}/` })).objects).toEqual([]);
  });
});

describe("the expired-upload sweep", () => {
  it("aborts unfinished uploads past their expiry and deletes their video; leaves live ones", async () => {
    const { sweepExpiredUploads } = await import("./sweep");
    const { mediaSessions, UploadSession } = await import("../uploads/session");
    const { tailKey } = await import("../storage/keys");
    const { uploads } = await import("../db/schema");
    const db = testDb();
    const make = async (expiresAt: number) => {
      const video = await seedVideo({ status: "uploading" });
      const session = await UploadSession.open(mediaSessions(db, env.MEDIA), {
        id: video.id,
        videoId: video.id,
        userId: video.ownerId,
        length: 1000,
        metadata: {},
        expiresAt: new Date(expiresAt),
      });
      await session.write(
        (async function* () {
          yield new Uint8Array(100);
        })(),
      );
      return video;
    };
    const now = Date.now();
    const stale = await make(now - 1000);
    const live = await make(now + 3_600_000);
    const result = await sweepExpiredUploads({ db, media: env.MEDIA, logger: setup().deps.logger }, now);
    expect(result).toEqual({ expired: 1, aborted: 1 });
    expect(await db.select().from(videos).where(eq(videos.id, stale.id)).get()).toBeUndefined();
    expect(await db.select().from(uploads).where(eq(uploads.id, stale.id)).get()).toBeUndefined();
    expect(await env.MEDIA.head(tailKey(stale.id))).toBeNull();
    expect(await db.select().from(videos).where(eq(videos.id, live.id)).get()).toBeDefined();
    expect(await env.MEDIA.head(tailKey(live.id))).not.toBeNull();
  });
});

describe("the scheduled sweep in production without its secrets", () => {
  it("refuses to run, as HTTP and the queue consumer do, and changes nothing", async () => {
    const { createScheduledController, createExecutionContext } = await import("cloudflare:test");
    const { runScheduledSweep } = await import("./sweep");
    const job = await runningJob(1, Date.now() - 1000);
    const production = { ...env, ENVIRONMENT: "production", JOB_TOKEN_SECRET: "", PLAYBACK_SIGNING_KEYS: "" };
    await runScheduledSweep(
      createScheduledController({ cron: "*/5 * * * *" }),
      production as unknown as Env,
      createExecutionContext(),
    );
    const row = await testDb().select().from(jobs).where(eq(jobs.id, job.id)).get();
    expect(row?.status).toBe("running");
  });
});
