import { TranscodeMessageSchema } from "../../transcoder/protocol";
import { createLogger } from "../lib/logger";

/**
 * The `transcode` queue and its dead-letter queue. Malformed messages are acknowledged and logged
 * (retrying cannot fix them); the rest are handed to the dispatcher.
 */
export async function handleQueueBatch(batch: MessageBatch<unknown>, env: Env, _ctx: ExecutionContext) {
  const logger = createLogger({ queue: batch.queue });
  for (const message of batch.messages) {
    const parsed = TranscodeMessageSchema.safeParse(message.body);
    if (!parsed.success) {
      logger.warn("dropping malformed queue message", { messageId: message.id });
      message.ack();
      continue;
    }
    logger.info("transcode requested", { videoId: parsed.data.videoId, attempts: message.attempts });
    // Dispatch is not wired yet: keep the message for a later attempt rather than lose it.
    message.retry({ delaySeconds: 60 });
  }
  void env;
}
