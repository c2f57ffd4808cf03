import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { jobs, videos } from "../db/schema";
import { createServices } from "../services";
import { recordingQueue } from "../testing/api";
import { importer, publicOriginUrl } from "../testing/imports";
import { seedVideo, testDb } from "../testing/seed";
import { unitsOf } from "../testing/units";
import { requestTranscode } from "../transcode/lifecycle";
import { DurableObjectLocker } from "../uploads/tus";
import {
  admitImport,
  admitTranscode,
  DEAD_LETTER_QUEUE,
  handleQueueBatch,
  queueRole,
  recoverFromDeadLetter,
} from "./consumer";

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

/** A finished upload: its video queued with a job, and the message not yet consumed. */
async function queuedVideo(maxResolution = 1080) {
  const video = await seedVideo({ status: "uploading", maxResolution });
  await requestTranscode(testDb(), recordingQueue().queue, video.id);
  return video;
}

const services = () => createServices(env);

describe("transcode queue consumer", () => {
  it("creates the job's unit with the upload's top rung, and acks", async () => {
    const video = await queuedVideo(720);
    const { msg, state } = message(video.id);
    await admitTranscode(msg, services());
    expect(state.acked).toBe(true);
    const units = await unitsOf(video.id);
    expect(units).toMatchObject([{ kind: "encode", status: "pending", attempt: 0 }]);
    const job = await testDb().select().from(jobs).where(eq(jobs.videoId, video.id)).get();
    expect(job).toMatchObject({ status: "queued", maxHeight: 720 });
    expect((await testDb().select().from(videos).where(eq(videos.id, video.id)).get())?.status).toBe("queued");
  });

  it("creates one job and one unit for a message delivered twice", async () => {
    const video = await queuedVideo();
    const first = message(video.id);
    const duplicate = message(video.id);
    await Promise.all([admitTranscode(first.msg, services()), admitTranscode(duplicate.msg, services())]);
    expect(await unitsOf(video.id)).toHaveLength(1);
    expect(await testDb().select().from(jobs).where(eq(jobs.videoId, video.id)).all()).toHaveLength(1);
    expect(first.state.acked && duplicate.state.acked).toBe(true);
  });

  it("never fails a video because no runner is there: its unit just waits", async () => {
    const video = await queuedVideo();
    const { msg, state } = message(video.id, 5);
    await admitTranscode(msg, services());
    expect(state.acked).toBe(true);
    expect(state.retried).toBeUndefined();
    const row = await testDb().select().from(videos).where(eq(videos.id, video.id)).get();
    expect(row).toMatchObject({ status: "queued", errorCode: null });
  });

  it("acks a message for a video without an unfinished job, creating nothing", async () => {
    const video = await seedVideo({ status: "ready" });
    const { msg, state } = message(video.id);
    await admitTranscode(msg, services());
    expect(state.acked).toBe(true);
    expect(await unitsOf(video.id)).toEqual([]);
  });

  it("acks malformed messages instead of retrying them forever", async () => {
    const { msg, state } = message(42);
    await admitTranscode(msg, services());
    expect(state.acked).toBe(true);
  });

  it("never fails the video of a dead-lettered message: its units are created instead", async () => {
    const video = await queuedVideo();
    const { msg, state } = message(video.id, 6);
    await recoverFromDeadLetter(msg, services());
    expect(state.acked).toBe(true);
    const row = await testDb().select().from(videos).where(eq(videos.id, video.id)).get();
    expect(row).toMatchObject({ status: "queued", errorCode: null });
    expect(await unitsOf(video.id)).toHaveLength(1);
  });

  it("runs as the Worker's queue handler: the message is acked once the units exist", async () => {
    const video = await queuedVideo();
    const batch = createMessageBatch("transcode", [
      { id: "m1", timestamp: new Date(), attempts: 1, body: { videoId: video.id } },
    ]);
    const ctx = createExecutionContext();
    await handleQueueBatch(batch, env, ctx);
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks).toEqual(["m1"]);
    expect(result.retryMessages).toEqual([]);
    expect(await unitsOf(video.id)).toHaveLength(1);
    expect(DEAD_LETTER_QUEUE).toBe("transcode-dlq");
  });
});

describe("transcode queue consumer in production without its secrets", () => {
  it("creates nothing and keeps every message for later", async () => {
    const video = await queuedVideo();
    const batch = createMessageBatch("transcode", [
      { id: "m1", timestamp: new Date(), attempts: 1, body: { videoId: video.id } },
    ]);
    const ctx = createExecutionContext();
    const production = { ...env, ENVIRONMENT: "production", JOB_TOKEN_SECRET: "", PLAYBACK_SIGNING_KEYS: "" };
    await handleQueueBatch(batch, production as unknown as Env, ctx);
    const result = await getQueueResult(batch, ctx);
    expect(result.retryBatch.retry).toBe(true);
    expect(await unitsOf(video.id)).toEqual([]);
    const row = await testDb().select().from(jobs).where(eq(jobs.videoId, video.id)).get();
    expect(row).toMatchObject({ status: "queued" });
  });
});

describe("import queue consumer", () => {
  const importMessage = (body: unknown) => {
    const state = { acked: false, retried: undefined as undefined | { delaySeconds?: number } };
    const msg = {
      id: crypto.randomUUID(),
      timestamp: new Date(),
      attempts: 1,
      body,
      ack: () => {
        state.acked = true;
      },
      retry: (o?: { delaySeconds?: number }) => {
        state.retried = o ?? {};
      },
    } as unknown as Message<unknown>;
    return { msg, state };
  };

  it("takes the batches of the import queue, in every environment", () => {
    expect(queueRole("import")).toBe("import");
    expect(queueRole("import-staging")).toBe("import");
    expect(queueRole("transcode-staging")).toBe("transcode");
  });

  it("acks a malformed message and one whose video is gone, fetching nothing", async () => {
    for (const body of [{ videoId: 42 }, { videoId: crypto.randomUUID() }]) {
      const { msg, state } = importMessage(body);
      await admitImport(msg, services());
      expect(state).toEqual({ acked: true, retried: undefined });
    }
  });

  it("asks again in a minute while another run holds the import", async () => {
    const t = await importer();
    const res = await t.start({ url: publicOriginUrl("/video.mp4"), title: "Held" });
    const { id } = (await res.json()) as { id: string };
    const held = new DurableObjectLocker(env.UPLOAD_LOCKS).newLock(id);
    await held.lock(AbortSignal.timeout(1000), () => {});
    try {
      const { msg, state } = importMessage({ videoId: id });
      await admitImport(msg, services());
      expect(state).toEqual({ acked: false, retried: { delaySeconds: 60 } });
      expect((await t.video(id)).status).toBe("uploading");
    } finally {
      await held.unlock();
    }
  });
});
