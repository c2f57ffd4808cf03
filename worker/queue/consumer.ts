import { TranscodeMessageSchema } from "../../shared/protocol";
import { createLogger } from "../app/logger";
import { logSettingsError, SettingsError } from "../app/settings";
import { createServices, type Services } from "../services";
import { createUnits } from "../transcode/lifecycle";
import { deliverWebhook } from "../webhooks/delivery";
import { WEBHOOK_QUEUE } from "../webhooks/webhooks";

export const DEAD_LETTER_QUEUE = "transcode-dlq";

/** Seconds before the n-th retry of a message whose handling threw (D1 unreachable, …). */
export const retryDelaySeconds = (attempts: number, baseSeconds = 10) =>
  Math.min(300, baseSeconds * 2 ** Math.max(0, attempts - 1));

/**
 * One `{videoId}` message: the video's unfinished job gets its units, once (a duplicate delivery
 * creates nothing), and runners are woken. The units then wait for a runner to claim them;
 * waiting for capacity never fails anything.
 */
export async function admitTranscode(message: Message<unknown>, services: Services) {
  const parsed = TranscodeMessageSchema.safeParse(message.body);
  if (!parsed.success) {
    services.logger.warn("dropping malformed queue message", { messageId: message.id });
    return message.ack();
  }
  const { videoId } = parsed.data;
  const { job, created } = await createUnits(services, videoId);
  if (!job) {
    services.logger.info("nothing to transcode: the video has no unfinished job", { videoId, messageId: message.id });
  } else if (created === 0) {
    services.logger.info("units exist already: a repeated message", { videoId, jobId: job.id, messageId: message.id });
  }
  message.ack();
}

/**
 * A message whose handling kept throwing: nothing about its video is decided here (the video did
 * nothing wrong). One more try to create its units; whatever happens, the sweep admits jobs that
 * still have none.
 */
export async function recoverFromDeadLetter(message: Message<unknown>, services: Services) {
  const parsed = TranscodeMessageSchema.safeParse(message.body);
  if (parsed.success) {
    try {
      await createUnits(services, parsed.data.videoId);
    } catch (err) {
      services.logger.error("dead-lettered message could not be handled", {
        videoId: parsed.data.videoId,
        messageId: message.id,
        error: String(err),
      });
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
    // As for HTTP: production without its secrets would sign unit tokens with development keys.
    logSettingsError(createLogger({ queue: batch.queue }), err, "refusing to consume");
    return batch.retryAll({ delaySeconds: 300 });
  }
  const handle = { transcode: admitTranscode, deadLetter: recoverFromDeadLetter, webhooks: deliverWebhook }[
    queueRole(batch.queue)
  ];
  for (const message of batch.messages) {
    try {
      await handle(message, services);
    } catch (err) {
      services.logger.error("queue message failed", { messageId: message.id, error: String(err) });
      message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
    }
  }
}
