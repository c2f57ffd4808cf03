import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import { type ClaimAnswer, UnitAssignmentSchema } from "../../../shared/protocol";
import { DEV_JOB_TOKEN_SECRET } from "../../app/settings";
import { runners, workUnits } from "../../db/schema";
import { handleQueueBatch } from "../../queue/consumer";
import { seedVideo, testDb } from "../../testing/seed";
import {
  appRequest,
  claimRequest,
  clearUnits,
  seedPendingVideo,
  seedRunner,
  testDeps,
  unitEvent,
  unitRow,
} from "../../testing/units";
import { claimWithin } from "../../transcode/claim-wait";
import { requestTranscode, revokeRunner } from "../../transcode/lifecycle";
import { verifyUnitToken } from "../../transcode/unit-token";

beforeEach(clearUnits);

const claimed = async (res: Response) => {
  expect(res.status).toBe(200);
  return ((await res.json()) as ClaimAnswer).unit;
};

describe("POST /internal/runners/claim", () => {
  it("answers a claimable unit at once, with everything the runner needs", async () => {
    const { deps } = testDeps();
    const { video, job, unit } = await seedPendingVideo(deps, { maxResolution: 720 });
    const { runner, token } = await seedRunner();
    const assignment = await claimed(await claimRequest(token, { wait_seconds: 25, running: [], capacity: 1 }));
    expect(UnitAssignmentSchema.parse(assignment)).toMatchObject({
      unitId: unit.id,
      jobId: job.id,
      videoId: video.id,
      version: job.version,
      kind: "encode",
      attempt: 1,
      apiBase: `http://api.test/internal/units/${unit.id}`,
      leaseSeconds: 60,
      maxHeight: 720,
      maxDurationSeconds: 21600,
      input: {},
    });
    expect(await verifyUnitToken(DEV_JOB_TOKEN_SECRET, assignment.token)).toMatchObject({
      unitId: unit.id,
      attempt: 1,
      runnerId: runner.id,
    });
    const row = await testDb().select().from(runners).where(eq(runners.id, runner.id)).get();
    expect(row?.lastContactAt).not.toBeNull();
  });

  it("answers 204 when nothing is claimable within the wait, and records the contact", async () => {
    const { runner, token } = await seedRunner();
    const res = await claimRequest(token, { wait_seconds: 1 });
    expect(res.status).toBe(204);
    const row = await testDb().select().from(runners).where(eq(runners.id, runner.id)).get();
    expect(row?.lastContactAt).not.toBeNull();
  });

  it("returns the long poll with the unit a concurrent upload's message creates", async () => {
    const { token } = await seedRunner();
    const waiting = claimRequest(token, { wait_seconds: 25 });
    // The upload finishes while the claim waits: its job, then the queue consumer makes its unit.
    const video = await seedVideo({ status: "uploading" });
    await requestTranscode(testDb(), testDeps().deps.queues.transcode, video.id);
    const batch = createMessageBatch("transcode", [
      { id: "m1", timestamp: new Date(), attempts: 1, body: { videoId: video.id } },
    ]);
    const ctx = createExecutionContext();
    await handleQueueBatch(batch, env, ctx);
    expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual(["m1"]);
    const assignment = await claimed(await waiting);
    expect(assignment.videoId).toBe(video.id);
  });

  it("is woken by the lifecycle, not by looking again: a wait with no recheck still gets the unit", async () => {
    const { deps } = testDeps();
    const { runner } = await seedRunner();
    const waiting = claimWithin(deps, runner, { waitMs: 25_000, recheckMs: 60_000 });
    const seeded = await seedPendingVideo(deps);
    const got = await waiting;
    expect(got?.unit.id).toBe(seeded.unit.id);
  });

  it("takes back the units a runner no longer reports, and gives it nothing at capacity", async () => {
    const { deps } = testDeps();
    const { unit } = await seedPendingVideo(deps);
    const { token } = await seedRunner();
    const first = await claimed(await claimRequest(token, { wait_seconds: 0 }));
    expect(first.unitId).toBe(unit.id);
    // At capacity with it: nothing more, and it keeps its unit.
    expect((await claimRequest(token, { wait_seconds: 0, running: [unit.id], capacity: 1 })).status).toBe(204);
    expect((await unitRow(unit.id)).status).toBe("running");
    // Restarted, it reports nothing: the unit went back to pending and is claimed again at once.
    const again = await claimed(await claimRequest(token, { wait_seconds: 0, running: [] }));
    expect(again).toMatchObject({ unitId: unit.id, attempt: 2 });
    expect((await unitRow(unit.id)).leaseExpiries).toBe(1);
    expect((await unitEvent(unit.id, first.token, { type: "progress", progress: 5 })).status).toBe(410);
  });

  it("gives an expired lease's unit to the next claim", async () => {
    const { deps } = testDeps();
    const { unit } = await seedPendingVideo(deps);
    const dead = await seedRunner();
    await claimed(await claimRequest(dead.token, { wait_seconds: 0 }));
    await testDb()
      .update(workUnits)
      .set({ leaseUntil: new Date(Date.now() - 1) })
      .where(eq(workUnits.id, unit.id));
    const alive = await seedRunner();
    const assignment = await claimed(await claimRequest(alive.token, { wait_seconds: 0 }));
    expect(assignment).toMatchObject({ unitId: unit.id, attempt: 2 });
  });

  it("refuses a revoked runner's claim and its unit's events with 401; the unit is claimable again", async () => {
    const { deps } = testDeps();
    const { unit } = await seedPendingVideo(deps);
    const revoked = await seedRunner();
    const assignment = await claimed(await claimRequest(revoked.token, { wait_seconds: 0 }));
    await revokeRunner(deps, revoked.runner.id);
    expect((await claimRequest(revoked.token, { wait_seconds: 0 })).status).toBe(401);
    expect((await unitEvent(unit.id, assignment.token, { type: "progress", progress: 5 })).status).toBe(401);
    expect((await unitRow(unit.id)).status).toBe("pending");
    const other = await seedRunner();
    expect((await claimed(await claimRequest(other.token, { wait_seconds: 0 }))).unitId).toBe(unit.id);
  });

  it.each([
    ["a wait over 25 s", { wait_seconds: 26 }],
    ["a negative capacity", { capacity: -1 }],
    ["unit ids that are not strings", { running: [1, 2] }],
  ])("refuses %s with 400", async (_, body) => {
    const { token } = await seedRunner();
    const res = await claimRequest(token, body);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("validation_error");
  });

  it("accepts an empty body with the defaults", async () => {
    const { deps } = testDeps();
    await seedPendingVideo(deps);
    const { token } = await seedRunner();
    const res = await appRequest("/internal/runners/claim", token, { method: "POST" });
    expect(res.status).toBe(200);
  });
});

describe("the local runner's token", () => {
  const LOCAL = "local-runner-token-for-this-test-0123456789";

  it("is accepted where LOCAL_RUNNER_TOKEN names it, as the runner `local`", async () => {
    const res = await claimRequest(LOCAL, { wait_seconds: 0 }, { LOCAL_RUNNER_TOKEN: LOCAL });
    expect(res.status).toBe(204);
    const row = await testDb().select().from(runners).where(eq(runners.id, "local")).get();
    expect(row).toMatchObject({ kind: "local", name: "local" });
    expect(row?.tokenHash).not.toContain(LOCAL);
  });

  it("is refused where the setting does not name it", async () => {
    expect((await claimRequest(LOCAL, { wait_seconds: 0 })).status).toBe(401);
    const other = "another-local-runner-token-0123456789abcdef";
    expect((await claimRequest(other, { wait_seconds: 0 }, { LOCAL_RUNNER_TOKEN: LOCAL })).status).toBe(401);
  });
});
