import { createDb, type Database } from "../db/client";
import { createLogger, type Logger, parseLogLevel } from "../lib/logger";
import { loadSettings, type Settings } from "../lib/settings";
import { createDispatcher, type TranscoderDispatcher } from "../transcode/dispatcher";
import { deletePrefix, failJob, requeueJob, staleJobs, versionPrefix } from "../transcode/jobs";

interface SweepDeps {
  db: Database;
  media: R2Bucket;
  queue: Queue;
  settings: Settings;
  dispatcher: TranscoderDispatcher;
  logger: Logger;
}

/**
 * Jobs whose transcoder stopped reporting (the lease ran out): back in the queue while attempts
 * remain, `failed` with a readable reason after the last one.
 */
export async function sweepStaleJobs(deps: SweepDeps, now = Date.now()) {
  const { db, settings, logger } = deps;
  let requeued = 0;
  let failed = 0;
  for (const job of await staleJobs(db, now)) {
    const log = logger.child({ jobId: job.id, videoId: job.videoId, attempt: job.attempts });
    await deps.dispatcher.release(job.id).catch(() => {});
    if (job.attempts >= settings.jobs.maxAttempts) {
      const minutes = Math.round(settings.jobs.staleAfterSeconds / 60);
      const reason = `The transcoder stopped reporting ${job.attempts} times (no word for ${minutes || 1} min each); giving up`;
      await failJob(db, job, "transcode_failed", reason, now);
      await deletePrefix(deps.media, versionPrefix(job.videoId, job.version));
      log.warn("job failed", { code: "transcode_failed", reason });
      failed++;
    } else if (await requeueJob(db, job, now)) {
      await deps.queue.send({ videoId: job.videoId });
      log.warn("job retried", { reason: "no event before the lease ran out" });
      requeued++;
    }
  }
  return { requeued, failed };
}

/** The periodic sweep (wrangler.toml [triggers]). */
export async function runScheduledSweep(controller: ScheduledController, env: Env, _ctx: ExecutionContext) {
  const settings = loadSettings(env as unknown as Record<string, unknown>);
  const logger = createLogger({ cron: controller.cron }, parseLogLevel(settings.logLevel));
  const result = await sweepStaleJobs({
    db: createDb(env.DB),
    media: env.MEDIA,
    queue: env.TRANSCODE_QUEUE,
    settings,
    dispatcher: createDispatcher(env, settings),
    logger,
  });
  logger.info("sweep", result);
}
