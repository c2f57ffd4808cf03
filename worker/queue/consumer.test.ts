import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { TranscodeJob } from "../../shared/protocol";
import { createLogger } from "../app/logger";
import { DEV_JOB_TOKEN_SECRET, loadSettings } from "../app/settings";
import { jobs, videos } from "../db/schema";
import { seedVideo, testDb } from "../testing/seed";
import { DispatchError, type TranscoderDispatcher } from "../transcode/dispatcher";
import { verifyJobToken } from "../transcode/job-token";
import { newVersion } from "../transcode/jobs";
import { DEAD_LETTER_QUEUE, dispatchTranscode, failFromDeadLetter, handleQueueBatch } from "./consumer";

/** A transcoder that records what it was handed, or refuses as told. */
function recordingDispatcher(answer: "accept" | "busy" | "refuse" = "accept") {
  const dispatched: TranscodeJob[] = [];
  const dispatcher: TranscoderDispatcher = {
    kind: "http",
    apiBaseFor: (id) => `http://api.test/internal/jobs/${id}`,
    async dispatch(job) {
      if (answer === "busy") throw new DispatchError("busy", true);
      if (answer === "refuse") throw new DispatchError("bad job", false);
      dispatched.push(job);
    },
    async heartbeat() {},
    async release() {},
  };
  return { dispatcher, dispatched };
}

function message(videoId: unknown, attempts = 1) {
  const state = { acked: false, retried: undefined as undefined | { delaySeconds?: number } };
  const msg = {
    id: crypto.randomUUID(),
    timestamp: new Date(),
    attempts,
    body: { videoId },
    ack: () => {
      state.acked = true;
    },
    retry: (o?: { delaySeconds?: number }) => {
      state.retried = o ?? {};
    },
  } as unknown as Message<unknown>;
  return { msg, state };
}

async function queuedVideo(maxResolution = 1080) {
  const video = await seedVideo({ status: "queued", maxResolution });
  await testDb().insert(jobs).values({ id: crypto.randomUUID(), videoId: video.id, version: newVersion() });
  return video;
}

const deps = (dispatcher: TranscoderDispatcher) => ({
  db: testDb(),
  settings: loadSettings({ ...env, JOB_MAX_ATTEMPTS: "2" } as unknown as Record<string, unknown>),
  dispatcher,
  logger: createLogger({}, "error"),
});

describe("transcode queue consumer", () => {
  it("claims the job, hands it over with a valid token and the upload's top rung, and acks", async () => {
    const video = await queuedVideo(720);
    const { dispatcher, dispatched } = recordingDispatcher();
    const { msg, state } = message(video.id);
    await dispatchTranscode(msg, deps(dispatcher));
    expect(state.acked).toBe(true);
    expect(dispatched).toHaveLength(1);
    const [job] = dispatched;
    expect(job).toMatchObject({ videoId: video.id, maxHeight: 720 });
    const claims = await verifyJobToken(DEV_JOB_TOKEN_SECRET, job?.token ?? "");
    expect(claims).toMatchObject({ jobId: job?.jobId, attempt: 1 });
    const row = await testDb().select().from(jobs).where(eq(jobs.videoId, video.id)).get();
    expect(row).toMatchObject({ status: "dispatched", attempts: 1 });
  });

  it("never starts a second encode for a duplicate delivery", async () => {
    const video = await queuedVideo();
    const { dispatcher, dispatched } = recordingDispatcher();
    const first = message(video.id);
    const duplicate = message(video.id);
    await Promise.all([
      dispatchTranscode(first.msg, deps(dispatcher)),
      dispatchTranscode(duplicate.msg, deps(dispatcher)),
    ]);
    expect(dispatched).toHaveLength(1);
    expect(first.state.acked && duplicate.state.acked).toBe(true);
  });

  it("retries with a back-off when the transcoder is busy or unreachable, without spending an attempt", async () => {
    const video = await queuedVideo();
    const { msg, state } = message(video.id, 3);
    await dispatchTranscode(msg, deps(recordingDispatcher("busy").dispatcher));
    expect(state.acked).toBe(false);
    expect(state.retried?.delaySeconds).toBe(40);
    const row = await testDb().select().from(jobs).where(eq(jobs.videoId, video.id)).get();
    expect(row).toMatchObject({ status: "queued", attempts: 0 });
  });

  it("fails the video when the transcoder refuses the job outright", async () => {
    const video = await queuedVideo();
    const { msg, state } = message(video.id);
    await dispatchTranscode(msg, deps(recordingDispatcher("refuse").dispatcher));
    expect(state.acked).toBe(true);
    const row = await testDb().select().from(videos).where(eq(videos.id, video.id)).get();
    expect(row).toMatchObject({ status: "failed", errorCode: "transcode_failed" });
  });

  it("fails the video once the attempts are used up", async () => {
    const video = await queuedVideo();
    await testDb().update(jobs).set({ attempts: 2 }).where(eq(jobs.videoId, video.id));
    const { dispatcher, dispatched } = recordingDispatcher();
    await dispatchTranscode(message(video.id).msg, deps(dispatcher));
    expect(dispatched).toHaveLength(0);
    const row = await testDb().select().from(videos).where(eq(videos.id, video.id)).get();
    expect(row?.status).toBe("failed");
    expect(row?.errorMessage).toMatch(/tried 2 times/);
  });

  it("acks malformed messages instead of retrying them forever", async () => {
    const { msg, state } = message(42);
    await dispatchTranscode(msg, deps(recordingDispatcher().dispatcher));
    expect(state.acked).toBe(true);
  });

  it("fails the video with a readable reason when a message reaches the dead-letter queue", async () => {
    const video = await queuedVideo();
    const { msg, state } = message(video.id, 6);
    await failFromDeadLetter(msg, deps(recordingDispatcher().dispatcher));
    expect(state.acked).toBe(true);
    const row = await testDb().select().from(videos).where(eq(videos.id, video.id)).get();
    expect(row).toMatchObject({ status: "failed", errorCode: "transcode_failed" });
    expect(row?.errorMessage).toMatch(/No transcoder could be reached after 6/);
  });

  it("runs as the Worker's queue handler: an unreachable transcoder means a retry", async () => {
    const video = await queuedVideo();
    const batch = createMessageBatch("transcode", [
      { id: "m1", timestamp: new Date(), attempts: 1, body: { videoId: video.id } },
    ]);
    const ctx = createExecutionContext();
    await handleQueueBatch(batch, env, ctx);
    const result = await getQueueResult(batch, ctx);
    expect(result.retryMessages).toEqual([expect.objectContaining({ msgId: "m1" })]);
    expect(result.explicitAcks).toEqual([]);
    expect(DEAD_LETTER_QUEUE).toBe("transcode-dlq");
  });
});

describe("transcode queue consumer in production without its secrets", () => {
  it("dispatches nothing and keeps every message for later", async () => {
    const video = await queuedVideo();
    const batch = createMessageBatch("transcode", [
      { id: "m1", timestamp: new Date(), attempts: 1, body: { videoId: video.id } },
    ]);
    const ctx = createExecutionContext();
    const production = { ...env, ENVIRONMENT: "production", JOB_TOKEN_SECRET: "", PLAYBACK_SIGNING_KEYS: "" };
    await handleQueueBatch(batch, production as unknown as Env, ctx);
    const result = await getQueueResult(batch, ctx);
    expect(result.retryBatch.retry).toBe(true);
    const row = await testDb().select().from(jobs).where(eq(jobs.videoId, video.id)).get();
    expect(row).toMatchObject({ status: "queued", attempts: 0 });
  });
});
