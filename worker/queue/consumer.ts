import { TranscodeMessageSchema } from "../../shared/protocol";
import { createLogger, type Logger } from "../app/logger";
import { logSettingsError, type Settings, SettingsError } from "../app/settings";
import type { Database } from "../db/client";
import { createServices, type Services } from "../services";
import { DispatchError, type TranscoderDispatcher } from "../transcode/dispatcher";
import { mintJobToken } from "../transcode/job-token";
import { activeJobFor, claimJob, failJob, releaseClaim } from "../transcode/jobs";
import { deliverWebhook } from "../webhooks/delivery";
import { WEBHOOK_QUEUE } from "../webhooks/webhooks";

export const DEAD_LETTER_QUEUE = "transcode-dlq";

/** Seconds before the n-th retry of a dispatch that could not reach a transcoder. */
export const retryDelaySeconds = (attempts: number, baseSeconds = 10) =>
  Math.min(300, baseSeconds * 2 ** Math.max(0, attempts - 1));

interface ConsumerDeps {
  db: Database;
  settings: Settings;
  dispatcher: TranscoderDispatcher;
  logger: Logger;
  /** The webhooks queue. */
  events?: Queue;
}

/**
 * One `{videoId}` message: claim the video's job (a lease, so a duplicate delivery never starts
 * a second encode), mint its token, hand it to a transcoder, acknowledge. The consumer does not
 * wait for the encode; the transcoder reports through the internal job API.
 */
export async function dispatchTranscode(message: Message<unknown>, deps: ConsumerDeps) {
  const { db, settings, dispatcher, logger } = deps;
  const parsed = TranscodeMessageSchema.safeParse(message.body);
  if (!parsed.success) {
    logger.warn("dropping malformed queue message", { messageId: message.id });
    return message.ack();
  }
  const { videoId } = parsed.data;
  const log = logger.child({ videoId, messageId: message.id, delivery: message.attempts });
  const job = await claimJob(db, videoId, settings.jobs.staleAfterSeconds);
  if (!job) {
    log.info("nothing to dispatch: no waiting job, or its encode is already running");
    return message.ack();
  }
  if (job.attempts > settings.jobs.maxAttempts) {
    const reason = `Transcoding was tried ${job.attempts - 1} times and never finished`;
    await failJob(db, job, "transcode_failed", reason, { events: deps.events });
    log.warn("job failed", { jobId: job.id, code: "transcode_failed", reason });
    return message.ack();
  }
  const expiresAt = Math.floor(Date.now() / 1000) + settings.jobs.tokenTtlSeconds;
  const token = await mintJobToken(settings.jobs.tokenSecret, { jobId: job.id, attempt: job.attempts, expiresAt });
  try {
    await dispatcher.dispatch({
      jobId: job.id,
      videoId,
      version: job.version,
      apiBase: dispatcher.apiBaseFor(job.id),
      token,
      maxHeight: await maxHeightOf(db, videoId, settings),
      maxDurationSeconds: settings.jobs.maxDurationSeconds,
    });
  } catch (err) {
    await releaseClaim(db, job);
    const retryable = !(err instanceof DispatchError) || err.retryable;
    const delaySeconds = retryDelaySeconds(message.attempts, settings.jobs.retryBaseSeconds);
    log.warn("dispatch failed", { jobId: job.id, error: String(err), retryable, retryInSeconds: delaySeconds });
    if (!retryable) {
      await failJob(db, job, "transcode_failed", `The transcoder refused the job: ${String(err)}`, {
        events: deps.events,
      });
      return message.ack();
    }
    return message.retry({ delaySeconds });
  }
  log.info("job dispatched", { jobId: job.id, attempt: job.attempts, via: dispatcher.kind, version: job.version });
  message.ack();
}

async function maxHeightOf(db: Database, videoId: string, settings: Settings): Promise<number> {
  const row = await db.query.videos.findFirst({
    where: (v, { eq }) => eq(v.id, videoId),
    columns: { maxResolution: true },
  });
  return Math.min(row?.maxResolution ?? settings.defaultVideoQuality, settings.maxVideoQuality);
}

/** A message that exhausted its retries: no transcoder could be reached. The video fails. */
export async function failFromDeadLetter(message: Message<unknown>, deps: ConsumerDeps) {
  const parsed = TranscodeMessageSchema.safeParse(message.body);
  if (parsed.success) {
    const job = await activeJobFor(deps.db, parsed.data.videoId);
    if (job && job.status === "queued") {
      const reason = `No transcoder could be reached after ${message.attempts} deliveries; try again later`;
      await failJob(deps.db, job, "transcode_failed", reason, { events: deps.events });
      deps.logger.warn("job failed", { videoId: job.videoId, jobId: job.id, code: "transcode_failed", reason });
    }
  }
  message.ack();
}

/** Which queue a batch comes from; environments name theirs with a suffix (`transcode-staging`). */
export function queueRole(name: string): "transcode" | "deadLetter" | "webhooks" {
  if (name.startsWith(DEAD_LETTER_QUEUE)) return "deadLetter";
  if (name.startsWith(WEBHOOK_QUEUE)) return "webhooks";
  return "transcode";
}

/** The `transcode` queue, its dead-letter queue, and the `webhooks` queue. */
export async function handleQueueBatch(batch: MessageBatch<unknown>, env: Env, _ctx: ExecutionContext) {
  let services: Services;
  try {
    services = createServices(env, { queue: batch.queue });
  } catch (err) {
    if (!(err instanceof SettingsError)) throw err;
    // As for HTTP: production without its secrets would sign jobs with development keys.
    logSettingsError(createLogger({ queue: batch.queue }), err, "refusing to consume");
    return batch.retryAll({ delaySeconds: 300 });
  }
  const deps: ConsumerDeps = {
    db: services.db,
    settings: services.settings,
    dispatcher: services.dispatcher,
    logger: services.logger,
    events: services.queues.webhooks,
  };
  const handle = { transcode: dispatchTranscode, deadLetter: failFromDeadLetter, webhooks: deliverWebhook }[
    queueRole(batch.queue)
  ];
  for (const message of batch.messages) {
    try {
      await handle(message, deps);
    } catch (err) {
      deps.logger.error("queue message failed", { messageId: message.id, error: String(err) });
      message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
    }
  }
}
