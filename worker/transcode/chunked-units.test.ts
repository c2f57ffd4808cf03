import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import type { ProbeResult } from "../../shared/protocol";
import { jobs, videos, workUnits } from "../db/schema";
import { sourceKey } from "../storage/keys";
import { seedUser, seedVideo, testDb } from "../testing/seed";
import { clearUnits, seedRunner, testDeps, unitEvent, unitRow, unitsOf, unitToken } from "../testing/units";
import {
  assignedInput,
  cancelJobsOf,
  claimUnit,
  completeUnit,
  createUnits,
  loadUnitContext,
  type Publication,
  requestTranscode,
  type TranscodeDeps,
  unitsAfterProbe,
} from "./lifecycle";

const CHUNKED = { CHUNKED_ENCODING: "true", CHUNK_SECONDS: "20" };

const probeResult = (chunks: number, audio = true): ProbeResult => ({
  source: { duration: 40, video: { width: 1280, height: 720 } },
  chunks,
  audio,
});

const publication: Publication = {
  duration: 40,
  width: 1280,
  height: 720,
  renditions: [
    { id: "0", kind: "video", width: 1280, height: 720, bandwidth: 2_500_000, codecs: "avc1.64001f" },
    { id: "1", kind: "audio", width: null, height: null, bandwidth: 130_000, codecs: "mp4a.40.2" },
  ],
};

const videoRow = (id: string) => testDb().select().from(videos).where(eq(videos.id, id)).get();
const jobRow = (id: string) => testDb().select().from(jobs).where(eq(jobs.id, id)).get();

async function contextOf(unitId: string) {
  const ctx = await loadUnitContext(testDb(), unitId);
  if (!ctx) throw new Error(`no unit ${unitId}`);
  return ctx;
}

/** A video of a chunked encode whose probe unit is pending. */
async function chunkedVideo(deps: TranscodeDeps, ownerId?: string) {
  const video = await seedVideo({ status: "uploading", ...(ownerId ? { ownerId } : {}) });
  await env.MEDIA.put(sourceKey(video.id), new Uint8Array(100).fill(1));
  const job = await requestTranscode(deps.db, deps.queues.transcode, video.id);
  await createUnits(deps, video.id);
  return { video, job };
}

/** Claims the next unit and checks it is the expected one. */
async function claimNext(deps: TranscodeDeps, runner: { id: string }, what: { videoId: string; kind: string }) {
  const claim = await claimUnit(deps, runner);
  expect(claim && { videoId: claim.unit.videoId, kind: claim.unit.kind }).toEqual(what);
  if (!claim) throw new Error("nothing claimed");
  return claim;
}

/** The probe of this video claimed and done with `chunks` chunks. */
async function probed(deps: TranscodeDeps, videoId: string, runner: { id: string }, chunks = 3, audio = true) {
  const probe = await claimNext(deps, runner, { videoId, kind: "probe" });
  const input = JSON.parse(probe.unit.input);
  const outcome = await completeUnit(deps, probe, {
    result: probeResult(chunks, audio),
    followUps: unitsAfterProbe(input, probeResult(chunks, audio)),
  });
  expect(outcome).toBe("unit_done");
  return probe;
}

const done = (deps: TranscodeDeps, ctx: Awaited<ReturnType<typeof claimUnit>>, result: unknown = { ok: true }) => {
  if (!ctx) throw new Error("nothing claimed");
  return completeUnit(deps, ctx, { result });
};

beforeEach(clearUnits);

describe("a chunked encode's units", () => {
  it("starts a job with one probe unit that carries the chunking; without the setting, one encode unit", async () => {
    const chunked = testDeps(CHUNKED).deps;
    const { video } = await chunkedVideo(chunked);
    const units = await unitsOf(video.id);
    expect(units.map((u) => u.kind)).toEqual(["probe"]);
    expect(JSON.parse(units[0]?.input ?? "")).toEqual({ firstChunkSeconds: 8, chunkSeconds: 20 });

    const { video: plain } = await chunkedVideo(testDeps().deps);
    expect((await unitsOf(plain.id)).map((u) => u.kind)).toEqual(["encode"]);

    // A message delivered again after the setting changed leaves each job with the units it has.
    await createUnits(testDeps().deps, video.id);
    await createUnits(chunked, plain.id);
    expect((await unitsOf(video.id)).map((u) => u.kind)).toEqual(["probe"]);
    expect((await unitsOf(plain.id)).map((u) => u.kind)).toEqual(["encode"]);
  });

  it("makes, from the probe's result, a unit per chunk, one audio unit and a finalize unit, once", async () => {
    const { deps } = testDeps(CHUNKED);
    const { video } = await chunkedVideo(deps);
    const { runner } = await seedRunner();
    const probe = await probed(deps, video.id, runner, 3);
    const units = await unitsOf(video.id);
    const made = units.filter((u) => u.kind !== "probe");
    expect(made.map((u) => `${u.kind}:${u.sequence}:${u.status}`).sort()).toEqual([
      "audio:0:pending",
      "chunk:0:pending",
      "chunk:1:pending",
      "chunk:2:pending",
      "finalize:0:pending",
    ]);
    const chunk2 = made.find((u) => u.kind === "chunk" && u.sequence === 2);
    expect(JSON.parse(chunk2?.input ?? "")).toMatchObject({ chunk: 2, chunkSeconds: 20, source: { duration: 40 } });
    expect((await videoRow(video.id))?.status).toBe("processing");

    // The same completion again (a retried request) is refused and creates nothing more.
    const again = await completeUnit(deps, probe, {
      result: probeResult(3),
      followUps: unitsAfterProbe({ firstChunkSeconds: 8, chunkSeconds: 20 }, probeResult(3)),
    });
    expect(again).toBe("refused");
    expect(await unitsOf(video.id)).toHaveLength(units.length);
  });

  it("makes every unit of a long video, more than one statement can bind", async () => {
    const { deps } = testDeps(CHUNKED);
    const { video } = await chunkedVideo(deps);
    await probed(deps, video.id, (await seedRunner()).runner, 60);
    const chunks = (await unitsOf(video.id)).filter((u) => u.kind === "chunk");
    expect(chunks.map((u) => u.sequence)).toEqual(Array.from({ length: 60 }, (_, i) => i));
    expect(new Set(chunks.map((u) => u.id)).size).toBe(60);
  });

  it("makes no audio unit for a silent source", async () => {
    const { deps } = testDeps(CHUNKED);
    const { video } = await chunkedVideo(deps);
    await probed(deps, video.id, (await seedRunner()).runner, 1, false);
    expect((await unitsOf(video.id)).map((u) => u.kind).sort()).toEqual(["chunk", "finalize", "probe"]);
  });

  it("creates nothing when the job was cancelled before its probe reported", async () => {
    const { deps } = testDeps(CHUNKED);
    const { video } = await chunkedVideo(deps);
    const { runner } = await seedRunner();
    const probe = await claimNext(deps, runner, { videoId: video.id, kind: "probe" });
    await cancelJobsOf(deps, video.id);
    const outcome = await completeUnit(deps, probe, {
      result: probeResult(2),
      followUps: unitsAfterProbe({ firstChunkSeconds: 8, chunkSeconds: 20 }, probeResult(2)),
    });
    expect(outcome).toBe("refused");
    expect((await unitsOf(video.id)).map((u) => u.kind)).toEqual(["probe"]);
  });
});

describe("the order of a chunked encode's units", () => {
  it("holds finalize back until every chunk and the audio are done, and gives it their results", async () => {
    const { deps } = testDeps(CHUNKED);
    const { video, job } = await chunkedVideo(deps);
    const { runner } = await seedRunner();
    await probed(deps, video.id, runner, 2);
    const claims = [];
    for (let i = 0; i < 3; i++) {
      const claim = await claimUnit(deps, runner);
      expect(claim?.unit.kind).not.toBe("finalize");
      claims.push(claim);
    }
    // Everything else is running: finalize is not claimable yet.
    expect(await claimUnit(deps, runner)).toBeNull();
    for (const [i, claim] of claims.entries()) {
      await done(deps, claim, { representations: [], files: [], poster: null, n: i });
    }
    const finalize = await claimNext(deps, runner, { videoId: video.id, kind: "finalize" });
    const input = (await assignedInput(testDb(), finalize.unit)) as { outputs: { kind: string; sequence: number }[] };
    expect(input.outputs.map((o) => `${o.kind}:${o.sequence}`)).toEqual(["audio:0", "chunk:0", "chunk:1"]);

    // Finalize publishes the version: the video is ready and the job completed.
    expect(await completeUnit(deps, finalize, { result: {}, publication })).toBe("completed");
    expect(await videoRow(video.id)).toMatchObject({ status: "ready", version: job.version, duration: 40 });
    expect(await jobRow(job.id)).toMatchObject({ status: "completed", progress: 100 });
  });

  it("hands out one video's units in their place: the first chunk, the second, the audio, the other chunks, finalize", async () => {
    const { deps } = testDeps(CHUNKED);
    const { runner } = await seedRunner();
    const { video } = await chunkedVideo(deps);
    await probed(deps, video.id, runner, 4);
    const order: string[] = [];
    for (let claim = await claimUnit(deps, runner); claim; claim = await claimUnit(deps, runner)) {
      order.push(`${claim.unit.kind}:${claim.unit.sequence}`);
      await done(deps, claim);
    }
    // The first chunk makes the audio's start, which lasts until the third chunk's time.
    expect(order).toEqual(["chunk:0", "chunk:1", "audio:0", "chunk:2", "chunk:3", "finalize:0"]);
  });

  it("puts a newer video's probe and first chunk before an older video's later units, even of one owner", async () => {
    const { deps } = testDeps(CHUNKED);
    const owner = await seedUser();
    const { runner } = await seedRunner();
    const a = await chunkedVideo(deps, owner.id);
    await probed(deps, a.video.id, runner, 4);
    // A's start runs; then B is uploaded.
    const aFirst = await claimUnit(deps, runner);
    expect(`${aFirst?.unit.kind}:${aFirst?.unit.sequence}`).toBe("chunk:0");
    await done(deps, aFirst);
    const b = await chunkedVideo(deps, owner.id);
    await probed(deps, b.video.id, runner, 4);
    const next = await claimUnit(deps, runner);
    expect(next && { video: next.unit.videoId, kind: next.unit.kind, sequence: next.unit.sequence }).toEqual({
      video: b.video.id,
      kind: "chunk",
      sequence: 0,
    });
    await done(deps, next);
    // Then the later units in their place, the older video first.
    const later = await claimUnit(deps, runner);
    expect(later && { video: later.unit.videoId, kind: later.unit.kind, sequence: later.unit.sequence }).toEqual({
      video: a.video.id,
      kind: "chunk",
      sequence: 1,
    });
  });
});

describe("a chunked encode cancelled", () => {
  it("cancels every pending chunk, audio and finalize unit when the video is deleted", async () => {
    const { deps } = testDeps(CHUNKED);
    const { video, job } = await chunkedVideo(deps);
    await probed(deps, video.id, (await seedRunner()).runner, 3);
    await cancelJobsOf(deps, video.id);
    const units = await unitsOf(video.id);
    expect(units.filter((u) => u.kind !== "probe").every((u) => u.status === "cancelled")).toBe(true);
    expect((await jobRow(job.id))?.status).toBe("cancelled");
    expect(await claimUnit(deps, (await seedRunner()).runner)).toBeNull();
  });
});

describe("a probe's unit_done event", () => {
  it("makes the units through the unit API and refuses a result that names no chunks", async () => {
    const { deps } = testDeps(CHUNKED);
    const { video } = await chunkedVideo(deps);
    const { runner } = await seedRunner();
    const probe = await claimNext(deps, runner, { videoId: video.id, kind: "probe" });
    const token = await unitToken(probe.unit, runner.id);

    const bad = await unitEvent(probe.unit.id, token, { type: "unit_done", result: { chunks: 0 }, files: [] });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe("validation_error");
    expect((await unitRow(probe.unit.id)).status).toBe("running");

    const good = await unitEvent(probe.unit.id, token, { type: "unit_done", result: probeResult(2), files: [] });
    expect(good.status).toBe(200);
    expect((await unitRow(probe.unit.id)).status).toBe("done");
    expect((await unitsOf(video.id)).filter((u) => u.kind === "chunk")).toHaveLength(2);
    const stored = await testDb().select().from(workUnits).where(eq(workUnits.id, probe.unit.id)).get();
    expect(JSON.parse(stored?.result ?? "")).toMatchObject({ chunks: 2, audio: true });
    expect((await contextOf(probe.unit.id)).unit.status).toBe("done");
  });
});
