/** The Worker's entry: HTTP, queue consumer, cron, and the Durable Object / Container classes. */
import { app } from "./app";
import { runScheduledSweep } from "./cron/sweep";
import { handleQueueBatch } from "./queue/consumer";

export { RateLimiter } from "./durable/rate-limiter";
export { Transcoder } from "./transcode/container";

export default {
  fetch: app.fetch,
  queue: handleQueueBatch,
  scheduled: runScheduledSweep,
} satisfies ExportedHandler<Env>;
