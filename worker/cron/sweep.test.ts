import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import { createLogger } from "../app/logger";
import { jobs, videos, workUnits } from "../db/schema";
import { versionPrefix } from "../storage/keys";
import { createR2Store } from "../storage/r2";
import { recordingQueue } from "../testing/api";
import { seedVideo, testDb } from "../testing/seed";
import { clearUnits, seedPendingVideo, seedRunner, testDeps, unitRow, unitsOf } from "../testing/units";
import { claimUnit, requestTranscode } from "../transcode/lifecycle";
import { STRANDED_JOB_MS, sweepTranscoding } from "./sweep";

/** A video whose unit a runner claimed and then went silent: its lease runs out at `leaseUntil`. */
async function silentUnit(vars: Record<string, string>) {
  const t = testDeps(vars);
  const seeded = await seedPendingVideo(t.deps);
  const { runner } = await seedRunner();
  await claimUnit(t.deps, runner);
  const leaseUntil = (await unitRow(seeded.unit.id)).leaseUntil?.getTime() ?? 0;
  return { ...t, ...seeded, leaseUntil };
}

beforeEach(clearUnits);

describe("the transcoding sweep", () => {
  it("puts a silent unit with lost leases to spare back to pending; the video waits again", async () => {
    const t = await silentUnit({ UNIT_MAX_LEASE_EXPIRIES: "2" });
    expect(await sweepTranscoding(t.deps, t.leaseUntil + 1)).toMatchObject({ requeued: 1, failed: 0, pending: 1 });
    expect(await unitRow(t.unit.id)).toMatchObject({ status: "pending", leaseExpiries: 1, runnerId: null });
    expect((await testDb().select().from(jobs).where(eq(jobs.id, t.job.id)).get())?.status).toBe("queued");
    const video = await testDb().select().from(videos).where(eq(videos.id, t.video.id)).get();
    expect(video?.status).toBe("queued");
  });

  it("leaves a unit alone while its lease holds", async () => {
    const t = await silentUnit({});
    expect(await sweepTranscoding(t.deps, t.leaseUntil - 1)).toMatchObject({ requeued: 0, failed: 0 });
    expect((await unitRow(t.unit.id)).status).toBe("running");
  });

  it("fails the video with a readable reason after too many lost leases, and deletes partial outputs", async () => {
    const t = await silentUnit({ UNIT_MAX_LEASE_EXPIRIES: "1" });
    await env.MEDIA.put(`${versionPrefix(t.video.id, t.job.version)}chunk-0-1.m4s`, "partial");
    expect(await sweepTranscoding(t.deps, t.leaseUntil + 1)).toMatchObject({ requeued: 0, failed: 1 });
    const video = await testDb().select().from(videos).where(eq(videos.id, t.video.id)).get();
    expect(video).toMatchObject({ status: "failed", errorCode: "transcode_failed" });
    expect(video?.errorMessage).toMatch(/The runner stopped reporting once \(no word for 60 s/);
    expect((await env.MEDIA.list({ prefix: `videos/${t.video.id}/` })).objects).toEqual([]);
  });

  it("creates the units of a queued job whose message was lost", async () => {
    const { deps } = testDeps();
    const video = await seedVideo({ status: "uploading" });
    const job = await requestTranscode(deps.db, recordingQueue().queue, video.id);
    expect(await unitsOf(video.id)).toEqual([]);
    const result = await sweepTranscoding(deps, job.createdAt.getTime() + STRANDED_JOB_MS + 1);
    expect(result.admitted).toBe(1);
    expect(await unitsOf(video.id)).toMatchObject([{ status: "pending" }]);
    expect(
      (await testDb().select().from(workUnits).where(eq(workUnits.jobId, job.id)).all()).map((u) => u.kind),
    ).toEqual(["encode"]);
  });
});

describe("the expired-upload sweep", () => {
  it("aborts unfinished uploads past their expiry and deletes their video; leaves live ones", async () => {
    const { sweepExpiredUploads } = await import("./sweep");
    const { UploadSession } = await import("../uploads/session");
    const { tailKey } = await import("../storage/keys");
    const { uploads } = await import("../db/schema");
    const db = testDb();
    const make = async (expiresAt: number) => {
      const video = await seedVideo({ status: "uploading" });
      const session = await UploadSession.open(
        { db, storage: createR2Store(env.MEDIA) },
        {
          id: video.id,
          videoId: video.id,
          userId: video.ownerId,
          length: 1000,
          metadata: {},
          expiresAt: new Date(expiresAt),
        },
      );
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
    const result = await sweepExpiredUploads(
      {
        db,
        storage: createR2Store(env.MEDIA),
        logger: createLogger({}, "error"),
        queues: { webhooks: env.WEBHOOK_QUEUE },
      },
      now,
    );
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
    const t = await silentUnit({});
    await testDb()
      .update(workUnits)
      .set({ leaseUntil: new Date(Date.now() - 1000) })
      .where(eq(workUnits.id, t.unit.id));
    const production = { ...env, ENVIRONMENT: "production", JOB_TOKEN_SECRET: "", PLAYBACK_SIGNING_KEYS: "" };
    await runScheduledSweep(
      createScheduledController({ cron: "*/5 * * * *" }),
      production as unknown as Env,
      createExecutionContext(),
    );
    expect((await unitRow(t.unit.id)).status).toBe("running");
    const row = await testDb().select().from(jobs).where(eq(jobs.id, t.job.id)).get();
    expect(row?.status).toBe("running");
  });
});
