/**
 * Jobs, units and runners for Worker tests, made through the lifecycle itself: a video asks for
 * a version, its units are created as the queue consumer creates them, a runner claims one.
 */
import { env, exports } from "cloudflare:workers";
import { eq, inArray } from "drizzle-orm";
import type { ClaimAnswer, EncodedRendition } from "../../shared/protocol";
import { DEV_JOB_TOKEN_SECRET } from "../app/settings";
import { type Video, type WorkUnit, workUnits } from "../db/schema";
import { createServices } from "../services";
import { sourceKey } from "../storage/keys";
import { createUnits, requestTranscode, type TranscodeDeps } from "../transcode/lifecycle";
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
