import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import { jobs, renditions, runners, videos, workUnits } from "../db/schema";
import { versionPrefix } from "../storage/keys";
import { seedVideo, testDb } from "../testing/seed";
import { clearUnits, seedPendingVideo, seedRunner, testDeps, unitRow, unitsOf } from "../testing/units";
import {
  cancelJob,
  claimUnit,
  completeUnit,
  createUnits,
  expireLeases,
  failUnit,
  loadUnitContext,
  type Publication,
  recordProgress,
  reprocess,
  requestTranscode,
  returnUnitsOf,
  revokeRunner,
} from "./lifecycle";

const publication: Publication = {
  duration: 12,
  width: 1280,
  height: 720,
  renditions: [
    { id: "0", kind: "video", width: 1280, height: 720, bandwidth: 3_000_000, codecs: "avc1.640020" },
    { id: "1", kind: "audio", width: null, height: null, bandwidth: 128_000, codecs: "mp4a.40.2" },
  ],
};

const videoRow = (id: string) => testDb().select().from(videos).where(eq(videos.id, id)).get();
const jobRow = (id: string) => testDb().select().from(jobs).where(eq(jobs.id, id)).get();

/** A pending video and a runner that has claimed its unit. */
async function claimed(vars: Record<string, string> = {}) {
  const t = testDeps(vars);
  const seeded = await seedPendingVideo(t.deps);
  const { runner, token } = await seedRunner();
  const claim = await claimUnit(t.deps, runner);
  if (!claim || claim.unit.videoId !== seeded.video.id) throw new Error("the claim took another unit");
  return { ...t, ...seeded, runner, runnerToken: token, claim };
}

const contextOf = async (unitId: string) => {
  const ctx = await loadUnitContext(testDb(), unitId);
  if (!ctx) throw new Error(`no unit ${unitId}`);
  return ctx;
};

beforeEach(clearUnits);

describe("requested and created", () => {
  it("makes one job per request, queues the video, sends one message per request", async () => {
    const { deps, sent } = testDeps();
    const video = await seedVideo({ status: "uploading", maxResolution: 720 });
    const job = await requestTranscode(deps.db, deps.queues.transcode, video.id);
    expect(job).toMatchObject({ status: "queued", maxHeight: 720 });
    expect((await videoRow(video.id))?.status).toBe("queued");
    // Asked again while unfinished: the same job.
    const again = await requestTranscode(deps.db, deps.queues.transcode, video.id);
    expect(again.id).toBe(job.id);
    expect(await testDb().select().from(jobs).where(eq(jobs.videoId, video.id)).all()).toHaveLength(1);
    expect(sent.transcode).toEqual([{ videoId: video.id }, { videoId: video.id }]);
  });

  it("creates the job's units once: a repeated message inserts nothing", async () => {
    const { deps } = testDeps();
    const video = await seedVideo({ status: "uploading" });
    await requestTranscode(deps.db, deps.queues.transcode, video.id);
    const [first, second] = await Promise.all([createUnits(deps, video.id), createUnits(deps, video.id)]);
    expect(first.created + second.created).toBe(1);
    const units = await unitsOf(video.id);
    expect(units).toMatchObject([
      { kind: "encode", sequence: 0, status: "pending", attempt: 0, ownerId: video.ownerId },
    ]);
    expect((await createUnits(deps, video.id)).created).toBe(0);
  });

  it("creates nothing for a video without an unfinished job", async () => {
    const { deps } = testDeps();
    const video = await seedVideo({ status: "ready" });
    expect(await createUnits(deps, video.id)).toEqual({ job: undefined, created: 0 });
  });
});

describe("claimed", () => {
  it("gives the unit a new attempt under a lease, and starts the job and the video", async () => {
    const { claim, video, job, runner } = await claimed();
    expect(claim.unit).toMatchObject({ status: "running", attempt: 1, runnerId: runner.id });
    expect(claim.unit.leaseUntil?.getTime()).toBeGreaterThan(Date.now() + 50_000);
    expect((await jobRow(job.id))?.status).toBe("running");
    expect(await videoRow(video.id)).toMatchObject({ status: "processing", progress: 0 });
    const row = await testDb().select().from(runners).where(eq(runners.id, runner.id)).get();
    expect(row?.currentUnitId).toBe(claim.unit.id);
    expect(row?.lastContactAt).not.toBeNull();
  });

  it("never gives one unit to two runners claiming at once", async () => {
    const { deps } = testDeps();
    const { unit } = await seedPendingVideo(deps);
    const a = await seedRunner();
    const b = await seedRunner();
    const results = await Promise.all([claimUnit(deps, a.runner), claimUnit(deps, b.runner)]);
    const got = results.filter((r) => r !== null);
    expect(got).toHaveLength(1);
    expect(got[0]?.unit.id).toBe(unit.id);
  });

  it("finds nothing when no unit waits", async () => {
    const { deps } = testDeps();
    const { runner } = await seedRunner();
    expect(await claimUnit(deps, runner)).toBeNull();
  });
});

describe("lease renewed", () => {
  it("renews the lease with each progress event; the job and the video follow", async () => {
    const t = await claimed();
    const before = (await unitRow(t.unit.id)).leaseUntil?.getTime() ?? 0;
    const later = Date.now() + 30_000;
    expect(await recordProgress(t.deps, await contextOf(t.unit.id), 37.9, later)).toBe(true);
    const unit = await unitRow(t.unit.id);
    expect(unit.progress).toBe(37);
    expect(unit.leaseUntil?.getTime()).toBe(later + 60_000);
    expect(unit.leaseUntil?.getTime()).toBeGreaterThan(before);
    expect((await jobRow(t.job.id))?.progress).toBe(37);
    expect(await videoRow(t.video.id)).toMatchObject({ status: "processing", progress: 37 });
  });

  it("refuses a stale attempt's progress", async () => {
    const t = await claimed();
    const stale = await contextOf(t.unit.id);
    await testDb().update(workUnits).set({ attempt: 2 }).where(eq(workUnits.id, t.unit.id));
    expect(await recordProgress(t.deps, stale, 50)).toBe(false);
    expect((await unitRow(t.unit.id)).progress).toBe(0);
    expect((await videoRow(t.video.id))?.progress).toBe(0);
  });
});

describe("unit done, job completed", () => {
  it("publishes the version, announces video.ready, counts the runner's throughput", async () => {
    const t = await claimed();
    const outcome = await completeUnit(t.deps, await contextOf(t.unit.id), { result: { ok: 1 }, publication });
    expect(outcome).toBe("completed");
    expect(await videoRow(t.video.id)).toMatchObject({
      status: "ready",
      progress: 100,
      version: t.job.version,
      duration: 12,
      width: 1280,
    });
    expect(await jobRow(t.job.id)).toMatchObject({ status: "completed", progress: 100 });
    expect(await unitRow(t.unit.id)).toMatchObject({ status: "done", progress: 100, result: '{"ok":1}' });
    const rungs = await testDb().select().from(renditions).where(eq(renditions.videoId, t.video.id)).all();
    expect(rungs.map((r) => r.representationId).sort()).toEqual(["0", "1"]);
    expect(t.sent.webhooks).toEqual([expect.objectContaining({ type: "video.ready", videoId: t.video.id })]);
    const runner = await testDb().select().from(runners).where(eq(runners.id, t.runner.id)).get();
    expect(runner).toMatchObject({ unitsDone: 1, unitsFailed: 0, mediaSeconds: 12, currentUnitId: null });
  });

  it("refuses a second completion: nothing is published twice", async () => {
    const t = await claimed();
    const ctx = await contextOf(t.unit.id);
    expect(await completeUnit(t.deps, ctx, { result: {}, publication })).toBe("completed");
    expect(await completeUnit(t.deps, ctx, { result: {}, publication })).toBe("refused");
    expect(t.sent.webhooks).toHaveLength(1);
    const runner = await testDb().select().from(runners).where(eq(runners.id, t.runner.id)).get();
    expect(runner?.unitsDone).toBe(1);
  });

  it("deletes the superseded version once the new one is published", async () => {
    const t = await claimed();
    await testDb().update(videos).set({ version: "vold", status: "ready" }).where(eq(videos.id, t.video.id));
    await env.MEDIA.put(`${versionPrefix(t.video.id, "vold")}manifest.mpd`, "old");
    await completeUnit(t.deps, await contextOf(t.unit.id), { result: {}, publication });
    expect((await videoRow(t.video.id))?.version).toBe(t.job.version);
    expect((await env.MEDIA.list({ prefix: versionPrefix(t.video.id, "vold") })).objects).toEqual([]);
  });
});

describe("unit failed", () => {
  it("puts an encoding failure back to pending while attempts remain; the video waits again", async () => {
    const t = await claimed({ UNIT_MAX_ATTEMPTS: "2" });
    const outcome = await failUnit(t.deps, await contextOf(t.unit.id), {
      code: "transcode_failed",
      message: "ffmpeg exited with code 1",
    });
    expect(outcome).toBe("requeued");
    expect(await unitRow(t.unit.id)).toMatchObject({
      status: "pending",
      failures: 1,
      leaseExpiries: 0,
      runnerId: null,
    });
    expect(await videoRow(t.video.id)).toMatchObject({ status: "queued", errorCode: null });
    expect((await jobRow(t.job.id))?.status).toBe("queued");
    const runner = await testDb().select().from(runners).where(eq(runners.id, t.runner.id)).get();
    expect(runner?.unitsFailed).toBe(1);
    // And it is claimable again, as a new attempt.
    const again = await claimUnit(t.deps, t.runner);
    expect(again?.unit).toMatchObject({ id: t.unit.id, attempt: 2 });
  });

  it("fails the video on the last attempt, with the reason, and deletes the version's objects", async () => {
    const t = await claimed({ UNIT_MAX_ATTEMPTS: "1" });
    await env.MEDIA.put(`${versionPrefix(t.video.id, t.job.version)}chunk-0-00001.m4s`, "partial");
    const outcome = await failUnit(t.deps, await contextOf(t.unit.id), {
      code: "transcode_failed",
      message: "ffmpeg exited with code 1",
    });
    expect(outcome).toBe("failed");
    const video = await videoRow(t.video.id);
    expect(video).toMatchObject({ status: "failed", errorCode: "transcode_failed" });
    expect(video?.errorMessage).toBe("ffmpeg exited with code 1 (encoding failed once; giving up)");
    expect(await jobRow(t.job.id)).toMatchObject({ status: "failed", errorCode: "transcode_failed" });
    expect((await unitRow(t.unit.id)).status).toBe("failed");
    expect(t.sent.webhooks).toEqual([expect.objectContaining({ type: "video.failed", videoId: t.video.id })]);
    expect((await env.MEDIA.list({ prefix: `videos/${t.video.id}/` })).objects).toEqual([]);
  });

  it.each(["not_video", "unsupported", "too_long"] as const)("fails the video at once for %s", async (code) => {
    const t = await claimed({ UNIT_MAX_ATTEMPTS: "5" });
    expect(await failUnit(t.deps, await contextOf(t.unit.id), { code, message: "the video's own fault" })).toBe(
      "failed",
    );
    expect(await videoRow(t.video.id)).toMatchObject({ status: "failed", errorCode: code });
  });

  it("keeps a video that already plays ready when its new version fails", async () => {
    const t = await claimed({ UNIT_MAX_ATTEMPTS: "1" });
    await testDb().update(videos).set({ version: "vold", status: "ready" }).where(eq(videos.id, t.video.id));
    await failUnit(t.deps, await contextOf(t.unit.id), { code: "not_video", message: "No video stream" });
    expect(await videoRow(t.video.id)).toMatchObject({ status: "ready", version: "vold", errorCode: null });
    expect(t.sent.webhooks).toEqual([]);
  });
});

describe("lease expired", () => {
  it("puts the unit back to pending, where it is claimed again and completed", async () => {
    const t = await claimed();
    const lease = (await unitRow(t.unit.id)).leaseUntil?.getTime() ?? 0;
    expect(await expireLeases(t.deps, lease - 1)).toEqual({ requeued: 0, failed: 0 });
    expect(await expireLeases(t.deps, lease + 1)).toEqual({ requeued: 1, failed: 0 });
    expect(await unitRow(t.unit.id)).toMatchObject({
      status: "pending",
      leaseExpiries: 1,
      failures: 0,
      runnerId: null,
    });
    expect((await videoRow(t.video.id))?.status).toBe("queued");
    const other = await seedRunner();
    const again = await claimUnit(t.deps, other.runner);
    expect(again?.unit).toMatchObject({ id: t.unit.id, attempt: 2, runnerId: other.runner.id });
    expect(await completeUnit(t.deps, await contextOf(t.unit.id), { result: {}, publication })).toBe("completed");
    expect((await videoRow(t.video.id))?.status).toBe("ready");
  });

  it("fails the video with an honest reason after too many lost leases", async () => {
    const t = await claimed({ UNIT_MAX_LEASE_EXPIRIES: "2", UNIT_LEASE_SECONDS: "60" });
    const expireNow = async () => expireLeases(t.deps, ((await unitRow(t.unit.id)).leaseUntil?.getTime() ?? 0) + 1);
    expect(await expireNow()).toEqual({ requeued: 1, failed: 0 });
    await claimUnit(t.deps, t.runner);
    expect(await expireNow()).toEqual({ requeued: 0, failed: 1 });
    const video = await videoRow(t.video.id);
    expect(video).toMatchObject({ status: "failed", errorCode: "transcode_failed" });
    expect(video?.errorMessage).toMatch(/runner stopped reporting 2 times \(no word for 60 s/);
    expect(await unitRow(t.unit.id)).toMatchObject({ status: "failed", leaseExpiries: 1 });
  });

  it("counts lost leases apart from the unit's own failures", async () => {
    const t = await claimed({ UNIT_MAX_ATTEMPTS: "2", UNIT_MAX_LEASE_EXPIRIES: "5" });
    await failUnit(t.deps, await contextOf(t.unit.id), { code: "transcode_failed", message: "x" });
    await claimUnit(t.deps, t.runner);
    await expireLeases(t.deps, ((await unitRow(t.unit.id)).leaseUntil?.getTime() ?? 0) + 1);
    expect(await unitRow(t.unit.id)).toMatchObject({ status: "pending", failures: 1, leaseExpiries: 1 });
  });
});

describe("runner lost or revoked", () => {
  it("returns the units a runner no longer reports, at once", async () => {
    const t = await claimed();
    expect(await returnUnitsOf(t.deps, t.runner.id, "lost", [t.unit.id])).toBe(0);
    expect(await returnUnitsOf(t.deps, t.runner.id, "lost", [])).toBe(1);
    expect(await unitRow(t.unit.id)).toMatchObject({ status: "pending", leaseExpiries: 1 });
  });

  it("revokes the runner: its unit goes back to pending without counting against it", async () => {
    const t = await claimed();
    const runner = await revokeRunner(t.deps, t.runner.id);
    expect(runner?.revokedAt).not.toBeNull();
    expect(await unitRow(t.unit.id)).toMatchObject({ status: "pending", leaseExpiries: 0, failures: 0 });
    expect(await revokeRunner(t.deps, "no-such-runner")).toBeUndefined();
  });
});

describe("cancelled", () => {
  it("a reprocess with other parameters cancels the unfinished job and replaces it", async () => {
    const t = await claimed();
    await env.MEDIA.put(`${versionPrefix(t.video.id, t.job.version)}chunk-0-00001.m4s`, "partial");
    await testDb().update(videos).set({ maxResolution: 720 }).where(eq(videos.id, t.video.id));
    const { job, replaced } = await reprocess(t.deps, t.video.id);
    expect(replaced?.id).toBe(t.job.id);
    expect(job.id).not.toBe(t.job.id);
    expect(job.maxHeight).toBe(720);
    expect((await jobRow(t.job.id))?.status).toBe("cancelled");
    expect((await unitRow(t.unit.id)).status).toBe("cancelled");
    expect((await env.MEDIA.list({ prefix: versionPrefix(t.video.id, t.job.version) })).objects).toEqual([]);
    // The cancelled attempt can no longer finish.
    expect(await completeUnit(t.deps, await contextOf(t.unit.id), { result: {}, publication })).toBe("refused");
    expect((await videoRow(t.video.id))?.status).toBe("queued");
  });

  it("a reprocess with the same parameters keeps the unfinished job", async () => {
    const t = await claimed();
    const { job, replaced } = await reprocess(t.deps, t.video.id);
    expect(job.id).toBe(t.job.id);
    expect(replaced).toBeNull();
    expect((await unitRow(t.unit.id)).status).toBe("running");
  });

  it("cancels pending units with their job", async () => {
    const { deps } = testDeps();
    const { job, unit } = await seedPendingVideo(deps);
    expect(await cancelJob(deps, job, "the video was deleted")).toBe(true);
    expect(await cancelJob(deps, job, "again")).toBe(false);
    expect((await unitRow(unit.id)).status).toBe("cancelled");
    const { runner } = await seedRunner();
    expect(await claimUnit(deps, runner)).toBeNull();
  });
});
