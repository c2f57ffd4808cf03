/**
 * Jobs, units and runners for Worker tests, made through the lifecycle itself: a video asks for
 * a version, its units are created as the queue consumer creates them, a runner claims one.
 */
import { env, exports } from "cloudflare:workers";
import { eq, inArray } from "drizzle-orm";
import type { ChunkingInput, ClaimAnswer, EncodedRendition, ProbeResult } from "../../shared/protocol";
import { DEV_JOB_TOKEN_SECRET } from "../app/settings";
import { type Video, type WorkUnit, workUnits } from "../db/schema";
import { createServices } from "../services";
import { sourceKey, versionPrefix } from "../storage/keys";
import {
  claimUnit,
  completeUnit,
  createUnits,
  requestTranscode,
  type TranscodeDeps,
  unitsAfterProbe,
} from "../transcode/lifecycle";
import { createRemoteRunner } from "../transcode/runners";
import { mintUnitToken } from "../transcode/unit-token";
import { callApp, recordingQueue } from "./api";
import { seedVideo, testDb } from "./seed";

/**
 * The services of the app with recording queues: `sent.transcode` and `sent.webhooks` hold what
 * the lifecycle sent. `vars` are settings for this test only (e.g. UNIT_MAX_ATTEMPTS).
 */
export function testDeps(vars: Record<string, string> = {}) {
  const transcode = recordingQueue();
  const webhooks = recordingQueue();
  const services = createServices({ ...env, ...vars } as unknown as Env);
  const deps: TranscodeDeps = {
    db: services.db,
    storage: services.storage,
    settings: services.settings,
    logger: services.logger,
    runners: services.runners,
    queues: { transcode: transcode.queue, webhooks: webhooks.queue },
  };
  return { deps, sent: { transcode: transcode.sent, webhooks: webhooks.sent } };
}

export async function seedRunner(name = `runner-${crypto.randomUUID().slice(0, 6)}`) {
  return createRemoteRunner(testDb(), name);
}

/** A video (queued, with its source in storage) whose job has its units, waiting for a runner. */
export async function seedPendingVideo(
  deps: TranscodeDeps,
  overrides: Partial<Video> = {},
  source: Uint8Array = new Uint8Array(1000).fill(7),
) {
  const video = await seedVideo({ status: "uploading", ...overrides });
  await deps.storage.put(sourceKey(video.id), source);
  const job = await requestTranscode(deps.db, deps.queues.transcode, video.id);
  await createUnits(deps, video.id);
  const units = await unitsOf(video.id);
  return { video, job, unit: units[0] as WorkUnit };
}

export const unitsOf = (videoId: string) =>
  testDb().select().from(workUnits).where(eq(workUnits.videoId, videoId)).orderBy(workUnits.sequence).all();

export const unitRow = async (unitId: string) =>
  testDb().select().from(workUnits).where(eq(workUnits.id, unitId)).get() as Promise<WorkUnit>;

/** A token for this attempt of the unit, as a claim would hand out. */
export function unitToken(unit: Pick<WorkUnit, "id" | "attempt">, runnerId: string, ttlSeconds = 600) {
  return mintUnitToken(DEV_JOB_TOKEN_SECRET, {
    unitId: unit.id,
    attempt: unit.attempt,
    runnerId,
    expiresAt: Math.floor(Date.now() / 1000) + ttlSeconds,
  });
}

/** A runner's claim through the app: `POST /internal/runners/claim`. */
export function claimRequest(token: string, body: unknown = { wait_seconds: 0 }, vars: Record<string, string> = {}) {
  return appRequest(
    "/internal/runners/claim",
    token,
    {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    },
    vars,
  );
}

/** A call of the internal API with a runner's or a unit's Bearer token (or none), through {@link callApp}. */
export function appRequest(
  path: string,
  token: string | null,
  init: RequestInit = {},
  vars: Record<string, string> = {},
) {
  const headers = new Headers(init.headers);
  if (token) headers.set("authorization", `Bearer ${token}`);
  return callApp(path, { ...init, headers }, undefined, vars);
}

/** A unit event through the app. */
export const unitEvent = (unitId: string, token: string, body: unknown) =>
  appRequest(`/internal/units/${unitId}/events`, token, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

/** A completed event announcing `files`, with two renditions. */
export const completedEvent = (files: string[], renditions?: EncodedRendition[]) => ({
  type: "completed",
  duration: 10,
  width: 1280,
  height: 720,
  renditions: renditions ?? [
    { id: "0", kind: "video", width: 1280, height: 720, bandwidth: 3_000_000, codecs: "avc1.640020" },
    { id: "1", kind: "audio", width: null, height: null, bandwidth: 128_000, codecs: "mp4a.40.2" },
  ],
  files,
  poster: "poster.jpg",
});

/**
 * Units left pending by earlier tests of a file (D1 lives as long as the file) are cancelled, so
 * the next claim takes what the test seeds.
 */
export async function clearPending() {
  await testDb().update(workUnits).set({ status: "cancelled" }).where(eq(workUnits.status, "pending"));
}

/** Every unit left waiting or running by earlier tests of a file is cancelled. */
export async function clearUnits() {
  await testDb()
    .update(workUnits)
    .set({ status: "cancelled" })
    .where(inArray(workUnits.status, ["pending", "running"]));
}

/**
 * A video whose only unit a runner has claimed through the claim route: the assignment it got
 * (token included), the runner and its token.
 */
export async function seedClaimedUnit(
  overrides: Partial<Video> = {},
  source?: Uint8Array,
  /** Settings for the seeding, e.g. a storage backend (its source is stored there). */
  vars: Record<string, string> = {},
) {
  const { deps } = testDeps(vars);
  await clearPending();
  const seeded = await seedPendingVideo(deps, overrides, source);
  const { runner, token: runnerToken } = await seedRunner();
  const res = await claimRequest(runnerToken, { wait_seconds: 0, running: [] });
  if (res.status !== 200) throw new Error(`claim answered ${res.status}: ${await res.text()}`);
  const { unit } = (await res.json()) as ClaimAnswer;
  if (unit.videoId !== seeded.video.id) throw new Error("the claim took another video's unit");
  return { ...seeded, runner, runnerToken, assignment: unit, token: unit.token, unitId: unit.unitId };
}

/** Settings of a chunked encode in Worker tests: an 8 s first chunk, then 20 s chunks. */
export const CHUNKED_SETTINGS = { CHUNKED_ENCODING: "true", CHUNK_SECONDS: "20" };

/**
 * A video of a chunked encode past its probe (`chunks` chunk units, an audio unit and finalize,
 * all pending), with its source in storage; other tests' pending units are cancelled first so
 * the next claims take this video's. `deps` needs {@link CHUNKED_SETTINGS}.
 */
export async function seedProbedVideo(deps: TranscodeDeps, chunks = 4, overrides: Partial<Video> = {}) {
  await clearUnits();
  const video = await seedVideo({ status: "uploading", duration: null, ...overrides });
  await deps.storage.put(sourceKey(video.id), new Uint8Array(1000).fill(7));
  const job = await requestTranscode(deps.db, deps.queues.transcode, video.id);
  await createUnits(deps, video.id);
  const { runner, token: runnerToken } = await seedRunner();
  const probe = await claimUnit(deps, runner);
  if (!probe || probe.unit.videoId !== video.id || probe.unit.kind !== "probe") throw new Error("no probe to claim");
  // One video rung (Representation 0); the audio is Representation 1.
  const result: ProbeResult = { source: { duration: 8 + 20 * (chunks - 1) }, chunks, audio: true, rungs: 1 };
  await completeUnit(deps, probe, {
    result,
    followUps: unitsAfterProbe(JSON.parse(probe.unit.input) as ChunkingInput, result),
  });
  return { video, job, runner, runnerToken };
}

/** What a first chunk reports when it is done: Representation 0 (video) and 1 (audio), whose start it made. */
export const firstChunkResult = () => ({
  representations: [
    { id: "0", init: { handler: "vide" }, segments: [{ number: 1 }, { number: 2 }] },
    { id: "1", init: { handler: "soun" }, segments: [{ number: 1 }, { number: 2 }] },
  ],
  files: [],
  poster: null,
});

/** The files a first chunk stores (its segments, the audio's start, the predicted manifests), stored under the job's version. */
export async function storeFirstChunkFiles(deps: TranscodeDeps, videoId: string, version: string) {
  const files: Record<string, string | Uint8Array> = {
    "init-0.m4s": new Uint8Array(100).fill(1),
    "chunk-0-00001.m4s": new Uint8Array(1000).fill(2),
    "chunk-0-00002.m4s": new Uint8Array(1000).fill(3),
    "init-1.m4s": new Uint8Array(100).fill(4),
    "chunk-1-00001.m4s": new Uint8Array(500).fill(5),
    "chunk-1-00002.m4s": new Uint8Array(500).fill(6),
    "media_0.m3u8": '#EXTM3U\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-MAP:URI="init-0.m4s"\n#EXTINF:4.0,\nchunk-0-00001.m4s\n',
    "media_1.m3u8": '#EXTM3U\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-MAP:URI="init-1.m4s"\n#EXTINF:4.0,\nchunk-1-00001.m4s\n',
    "master.m3u8": "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=6200000\nmedia_0.m3u8\n",
    "manifest.mpd": '<?xml version="1.0"?>\n<MPD type="static" mediaPresentationDuration="PT68S"><Period/></MPD>\n',
  };
  for (const [name, body] of Object.entries(files)) {
    await deps.storage.put(
      `${versionPrefix(videoId, version)}${name}`,
      typeof body === "string" ? new TextEncoder().encode(body) : body,
    );
  }
  return Object.keys(files);
}
