/**
 * A video that plays while it is processing: once a chunked encode's first chunk has stored the
 * start of the video with manifests predicted for the whole of it, the video is `playable`, its
 * manifests are served from the version being made (never cached as final), its stored segments
 * as usual, and a segment still being encoded is waited for, with its chunk moved to the front
 * of the claim order, then answered 503 for the player to ask again.
 */
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { jobs, workUnits } from "../../db/schema";
import { versionPrefix } from "../../storage/keys";
import { callApp, type Envelope, type VideoJson } from "../../testing/api";
import { seedReadyVideo, testDb } from "../../testing/seed";
import {
  CHUNKED_SETTINGS,
  firstChunkResult,
  seedProbedVideo,
  storeFirstChunkFiles,
  testDeps,
  unitEvent,
  unitsOf,
  unitToken,
} from "../../testing/units";
import { claimUnit, completeUnit, failUnit, type TranscodeDeps } from "../../transcode/lifecycle";
import { WATCHED_PRIORITY } from "../../transcode/scheduler";

const get = (path: string, headers: Record<string, string> = {}, vars?: Record<string, string>) =>
  callApp(path, { headers }, undefined, vars);
const videoJson = async (id: string) => (await (await get(`/api/videos/${id}/`)).json()) as VideoJson;

/**
 * A chunked video whose first chunk a runner has claimed: `playable()` stores the start and says
 * so through the unit API, `done()` reports the chunk done.
 */
async function firstChunkRunning(deps: TranscodeDeps, chunks = 4) {
  const seeded = await seedProbedVideo(deps, chunks);
  const chunk = await claimUnit(deps, seeded.runner);
  if (chunk?.unit.kind !== "chunk" || chunk.unit.sequence !== 0) throw new Error("the first chunk was not next");
  const token = await unitToken(chunk.unit, seeded.runner.id);
  let files: string[] = [];
  const playable = async () => {
    files = await storeFirstChunkFiles(deps, seeded.video.id, seeded.job.version);
    return unitEvent(chunk.unit.id, token, { type: "playable", files });
  };
  const done = async () => {
    const res = await unitEvent(chunk.unit.id, token, { type: "unit_done", result: firstChunkResult(), files });
    expect(res.status).toBe(200);
  };
  return { ...seeded, chunk, token, playable, done };
}

describe("a chunked video whose start is stored", () => {
  it("is playable while still processing, with its manifests' URLs; not before", async () => {
    const { deps } = testDeps(CHUNKED_SETTINGS);
    const { video, job, playable } = await firstChunkRunning(deps);
    const before = await videoJson(video.id);
    expect(before).toMatchObject({ status: "processing", playable: false, dash_url: null, hls_url: null });
    expect((await get(`/v/${video.id}/manifest.mpd`)).status).toBe(404);

    expect((await playable()).status).toBe(200);
    expect((await testDb().select().from(jobs).where(eq(jobs.id, job.id)).get())?.playableAt).toBeInstanceOf(Date);
    const now = await videoJson(video.id);
    expect(now).toMatchObject({
      status: "processing",
      playable: true,
      dash_url: `http://api.test/v/${video.id}/manifest.mpd`,
      hls_url: `http://api.test/v/${video.id}/master.m3u8`,
      poster_url: null,
      storyboard_url: null,
    });
    expect(now.progress).toBeGreaterThan(0);
    expect(now.progress).toBeLessThan(100);
  });

  it("refuses a start whose files are not all stored, and a start from any unit but the first chunk", async () => {
    const { deps } = testDeps(CHUNKED_SETTINGS);
    const { video, chunk, token, runner } = await firstChunkRunning(deps);
    const early = await unitEvent(chunk.unit.id, token, { type: "playable", files: ["manifest.mpd"] });
    expect(early.status).toBe(409);
    expect(((await early.json()) as Envelope).error.message).toMatch(/never stored: manifest.mpd/);
    const second = await claimUnit(deps, runner);
    expect(second?.unit).toMatchObject({ kind: "chunk", sequence: 1 });
    if (!second) throw new Error("no second chunk");
    await storeFirstChunkFiles(deps, video.id, second.job.version);
    const other = await unitEvent(second.unit.id, await unitToken(second.unit, runner.id), {
      type: "playable",
      files: ["manifest.mpd"],
    });
    expect(other.status).toBe(409);
    expect(await videoJson(video.id)).toMatchObject({ status: "processing", playable: false, dash_url: null });
  });

  it("is not playable from a first chunk done without saying so", async () => {
    const { deps } = testDeps(CHUNKED_SETTINGS);
    const { video, done } = await firstChunkRunning(deps);
    await done();
    expect(await videoJson(video.id)).toMatchObject({ status: "processing", playable: false, dash_url: null });
  });

  it("serves the predicted manifests from the version being made, revalidated on every use, then the finished ones", async () => {
    const { deps } = testDeps(CHUNKED_SETTINGS);
    const { video, job, runner, playable, done } = await firstChunkRunning(deps, 2);
    await playable();
    const mpd = await get(`/v/${video.id}/manifest.mpd`);
    expect(mpd.status).toBe(200);
    expect(mpd.headers.get("cache-control")).toBe("public, no-cache");
    expect(await mpd.text()).toContain(`<BaseURL>${job.version}/</BaseURL>`);
    const predictedTag = mpd.headers.get("etag") ?? "";
    expect((await get(`/v/${video.id}/manifest.mpd`, { "if-none-match": predictedTag })).status).toBe(304);
    const media = await get(`/v/${video.id}/${job.version}/media_0.m3u8`);
    expect(media.status).toBe(200);
    expect(media.headers.get("cache-control")).toBe("public, no-cache");
    const master = await get(`/v/${video.id}/master.m3u8`);
    expect(await master.text()).toContain(`${job.version}/media_0.m3u8`);

    // The rest is encoded; finalize stores the finished manifests and publishes the version.
    await done();
    for (let claim = await claimUnit(deps, runner); claim; claim = await claimUnit(deps, runner)) {
      if (claim.unit.kind !== "finalize") {
        await completeUnit(deps, claim, { result: {} });
        continue;
      }
      await deps.storage.put(
        `${versionPrefix(video.id, job.version)}manifest.mpd`,
        new TextEncoder().encode('<?xml version="1.0"?>\n<MPD type="static" mediaPresentationDuration="PT27.9S"/>\n'),
      );
      const outcome = await completeUnit(deps, claim, {
        result: {},
        publication: {
          duration: 27.9,
          width: 1280,
          height: 720,
          renditions: [{ id: "0", kind: "video", width: 1280, height: 720, bandwidth: 2_000_000, codecs: "avc1" }],
        },
      });
      expect(outcome).toBe("completed");
    }
    expect(await videoJson(video.id)).toMatchObject({ status: "ready", playable: true });
    const finished = await get(`/v/${video.id}/manifest.mpd`, { "if-none-match": predictedTag });
    expect(finished.status).toBe(200);
    expect(finished.headers.get("cache-control")).toBe("public, max-age=60");
    expect(finished.headers.get("etag")).not.toBe(predictedTag);
    expect(await finished.text()).toContain("PT27.9S");
  });

  it("serves its stored segments as final and waits for one being encoded, answering it once stored", async () => {
    const { deps } = testDeps(CHUNKED_SETTINGS);
    const { video, job, playable } = await firstChunkRunning(deps);
    await playable();
    const stored = await get(`/v/${video.id}/${job.version}/chunk-0-00001.m4s`);
    expect(stored.status).toBe(200);
    expect(stored.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");

    // Segment 3 (8–12 s) belongs to the second chunk, stored a moment after it is asked for.
    const path = `/v/${video.id}/${job.version}/chunk-0-00003.m4s`;
    const asked = get(path, {}, { PLAYBACK_SEGMENT_WAIT_SECONDS: "5" });
    await new Promise((r) => setTimeout(r, 1200));
    await deps.storage.put(`${versionPrefix(video.id, job.version)}chunk-0-00003.m4s`, new Uint8Array(777).fill(9));
    const res = await asked;
    expect(res.status).toBe(200);
    expect((await res.arrayBuffer()).byteLength).toBe(777);
    expect(res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
  });

  it("answers 503 with Retry-After for a segment not stored in time, and moves the chunk making it to the front", async () => {
    const { deps } = testDeps(CHUNKED_SETTINGS);
    const { video, job, runner, playable } = await firstChunkRunning(deps, 4);
    await playable();
    // Segment 10 (36–40 s): the third chunk (28–48 s).
    const res = await get(
      `/v/${video.id}/${job.version}/chunk-0-00010.m4s`,
      {},
      { PLAYBACK_SEGMENT_WAIT_SECONDS: "1" },
    );
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(((await res.json()) as Envelope).error.code).toBe("service_unavailable");
    const units = await unitsOf(video.id);
    const third = units.find((u) => u.kind === "chunk" && u.sequence === 2);
    expect(third?.priority).toBe(WATCHED_PRIORITY);
    expect(units.filter((u) => u.priority === WATCHED_PRIORITY)).toHaveLength(1);
    // The next claim takes it, before the second chunk and the audio.
    expect((await claimUnit(deps, runner))?.unit.id).toBe(third?.id);

    // The audio's segments come from the audio unit, which is moved the same way.
    await get(`/v/${video.id}/${job.version}/chunk-1-00005.m4s`, {}, { PLAYBACK_SEGMENT_WAIT_SECONDS: "0" });
    const audio = (await unitsOf(video.id)).find((u) => u.kind === "audio");
    expect(audio?.priority).toBe(WATCHED_PRIORITY);
  });

  it("plays no more once its job failed, and a ready video's missing segment is 404 at once", async () => {
    const { deps } = testDeps({ ...CHUNKED_SETTINGS, UNIT_MAX_ATTEMPTS: "1" });
    const { video, job, runner, playable } = await firstChunkRunning(deps);
    await playable();
    const second = await claimUnit(deps, runner);
    if (!second) throw new Error("no second chunk");
    expect(await failUnit(deps, second, { code: "transcode_failed", message: "ffmpeg went wrong" })).toBe("failed");
    expect(await videoJson(video.id)).toMatchObject({ status: "failed", playable: false, dash_url: null });
    expect((await get(`/v/${video.id}/manifest.mpd`)).status).toBe(404);
    expect((await get(`/v/${video.id}/${job.version}/chunk-0-00001.m4s`)).status).toBe(404);

    // A published version has all its segments: one that is missing is not waited for.
    const ready = await seedReadyVideo();
    const missing = await get(
      `/v/${ready.id}/${ready.version}/chunk-0-00099.m4s`,
      {},
      { PLAYBACK_SEGMENT_WAIT_SECONDS: "9" },
    );
    expect(missing.status).toBe(404);
    expect(
      (await testDb().select().from(workUnits).where(eq(workUnits.jobId, job.id)).all()).every(
        (u) => u.priority < WATCHED_PRIORITY,
      ),
    ).toBe(true);
  });
});
