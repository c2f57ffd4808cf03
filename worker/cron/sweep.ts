import { lt } from "drizzle-orm";
import { createLogger, type Logger } from "../app/logger";
import { logSettingsError, type Settings, SettingsError } from "../app/settings";
import type { Database } from "../db/client";
import { uploads } from "../db/schema";
import { createServices, type Services } from "../services";
import { versionPrefix } from "../storage/keys";
import { deletePrefix } from "../storage/prefix";
import type { TranscoderDispatcher } from "../transcode/dispatcher";
import { failJob, requeueJob, staleJobs } from "../transcode/jobs";
import { mediaSessions, UploadSession } from "../uploads/session";
import { dropVideoUpload } from "../uploads/video-upload";

interface SweepDeps {
  db: Database;
  media: R2Bucket;
  queue: Queue;
  /** The webhooks queue. */
  events?: Queue;
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
      await failJob(db, job, "transcode_failed", reason, { now, events: deps.events });
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

/**
 * Upload sessions past their expiry (a tus upload's `Upload-Expires`, or a classic upload whose
 * request never ended): the R2 multipart upload is aborted and the held bytes, the upload row and
 * its never-finished video are deleted. Finished uploads only lose their row (their video lives on).
 */
export async function sweepExpiredUploads(deps: Pick<SweepDeps, "db" | "media" | "logger">, now = Date.now()) {
  const { db, media, logger } = deps;
  const expired = await db
    .select()
    .from(uploads)
    .where(lt(uploads.expiresAt, new Date(now)))
    .limit(100)
    .all();
  let aborted = 0;
  const store = mediaSessions(db, media);
  for (const row of expired) {
    const session = new UploadSession(store, row);
    if (session.complete) {
      await session.abort();
      continue;
    }
    await dropVideoUpload(store, session);
    logger.info("upload expired", { videoId: session.videoId, offset: session.offset, length: session.length });
    aborted++;
  }
  return { expired: expired.length, aborted };
}

/** The periodic sweep (wrangler.toml [triggers]). */
export async function runScheduledSweep(controller: ScheduledController, env: Env, _ctx: ExecutionContext) {
  let services: Services;
  try {
    services = createServices(env, { cron: controller.cron });
  } catch (err) {
    if (!(err instanceof SettingsError)) throw err;
    logSettingsError(createLogger({ cron: controller.cron }), err, "refusing to sweep");
    return;
  }
  const deps: SweepDeps = {
    db: services.db,
    media: services.media,
    queue: services.queues.transcode,
    events: services.queues.webhooks,
    settings: services.settings,
    dispatcher: services.dispatcher,
    logger: services.logger,
  };
  const jobsResult = await sweepStaleJobs(deps);
  const uploadsResult = await sweepExpiredUploads(deps);
  services.logger.info("sweep", { jobs: jobsResult, uploads: uploadsResult });
}
