import { TranscodeMessageSchema } from "../../shared/protocol";
import { createLogger } from "../app/logger";
import { logSettingsError, SettingsError } from "../app/settings";
import { createServices, type Services } from "../services";
import { createUnits } from "../transcode/lifecycle";
import { failImport, ImportFailure, ImportMessageSchema, runImport } from "../uploads/import";
import { deliverWebhook } from "../webhooks/delivery";
import { WEBHOOK_QUEUE } from "../webhooks/webhooks";

export const DEAD_LETTER_QUEUE = "transcode-dlq";
export const IMPORT_QUEUE = "import";
/** Runs of one import message that may fail on the platform's side before its video fails. */
export const IMPORT_MAX_ATTEMPTS = 3;
/** A run that finds another holding the import asks again once that one's lease could have lapsed. */
const IMPORT_BUSY_DELAY_SECONDS = 60;

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

/**
 * One `import` message: the import's fetch runs (or goes on). The source's faults fail the video
 * inside; the platform's own (storage, D1) are retried with back-off, and fail the video with
 * what went wrong once IMPORT_MAX_ATTEMPTS runs have failed.
 */
export async function admitImport(message: Message<unknown>, services: Services) {
  const parsed = ImportMessageSchema.safeParse(message.body);
  if (!parsed.success) {
    services.logger.warn("dropping malformed import message", { messageId: message.id });
    return message.ack();
  }
  let outcome: Awaited<ReturnType<typeof runImport>>;
  try {
    outcome = await runImport(services, parsed.data);
  } catch (err) {
    if (message.attempts < IMPORT_MAX_ATTEMPTS) throw err;
    const reason = `The import failed ${IMPORT_MAX_ATTEMPTS} times on the platform's side (${String(err)})`;
    await failImport(services, parsed.data.videoId, new ImportFailure("import_failed", reason));
    return message.ack();
  }
  if (outcome === "busy") return message.retry({ delaySeconds: IMPORT_BUSY_DELAY_SECONDS });
  message.ack();
}

/** Which queue a batch comes from; environments name theirs with a suffix (`transcode-staging`). */
export function queueRole(name: string): "transcode" | "deadLetter" | "webhooks" | "import" {
  if (name.startsWith(DEAD_LETTER_QUEUE)) return "deadLetter";
  if (name.startsWith(WEBHOOK_QUEUE)) return "webhooks";
  if (name.startsWith(IMPORT_QUEUE)) return "import";
  return "transcode";
}

/** The `transcode` queue, its dead-letter queue, the `webhooks` queue and the `import` queue. */
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
  const handle = {
    transcode: admitTranscode,
    deadLetter: recoverFromDeadLetter,
    webhooks: deliverWebhook,
    import: admitImport,
  }[queueRole(batch.queue)];
  for (const message of batch.messages) {
    try {
      await handle(message, services);
    } catch (err) {
      services.logger.error("queue message failed", { messageId: message.id, error: String(err) });
      message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
    }
  }
}
