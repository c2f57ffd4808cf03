/** The Worker's entry: HTTP, queue consumer, cron, and the Durable Object / Container classes. */
import { app } from "./app";
import { runScheduledSweep } from "./cron/sweep";
import { handleQueueBatch } from "./queue/consumer";

// The container reaches the internal job API through this entrypoint (outbound interception).
export { ContainerProxy } from "@cloudflare/containers";
export { RateLimiter } from "./durable/rate-limiter";
export { RunnerHub } from "./durable/runner-hub";
export { UploadLock } from "./durable/upload-lock";
export { Transcoder } from "./transcode/container";

export default {
  fetch: app.fetch,
  queue: handleQueueBatch,
  scheduled: runScheduledSweep,
} satisfies ExportedHandler<Env>;
