import { and, eq, lt, notExists, sql } from "drizzle-orm";
import { createLogger, type Logger } from "../app/logger";
import { logSettingsError, SettingsError } from "../app/settings";
import type { Database } from "../db/client";
import { jobs, uploads, workUnits } from "../db/schema";
import { createServices, type Services } from "../services";
import type { ObjectStore } from "../storage/index";
import { createUnits, expireLeases, type TranscodeDeps } from "../transcode/lifecycle";
import { backlog } from "../transcode/scheduler";
import { failImport, ImportFailure } from "../uploads/import";
import { UploadSession } from "../uploads/session";
import { dropVideoUpload } from "../uploads/video-upload";

/** A queued job older than this without units lost its queue message: the sweep creates them. */
export const STRANDED_JOB_MS = 5 * 60_000;

/**
 * Transcoding that needs a nudge: units whose lease ran out go back to pending (or fail their
 * video after too many lost leases); queued jobs whose message never got their units created
 * get them; and while units wait, runners are woken (the pool starts containers for them).
 */
export async function sweepTranscoding(deps: TranscodeDeps, now = Date.now()) {
  const leases = await expireLeases(deps, now);
  const stranded = await deps.db
    .select({ videoId: jobs.videoId })
    .from(jobs)
    .where(
      and(
        eq(jobs.status, "queued"),
        lt(jobs.createdAt, new Date(now - STRANDED_JOB_MS)),
        notExists(deps.db.select({ id: workUnits.id }).from(workUnits).where(sql`${workUnits.jobId} = ${jobs.id}`)),
      ),
    )
    .limit(100)
    .all();
  for (const { videoId } of stranded) await createUnits(deps, videoId, now);
  const waiting = await backlog(deps.db);
  if (waiting.pending > 0) await deps.runners.wake();
  return { ...leases, admitted: stranded.length, pending: waiting.pending, running: waiting.running };
}

/**
 * Upload sessions past their expiry (a tus upload's `Upload-Expires`, or a classic upload whose
 * request never ended): the multipart upload is aborted and the held bytes, the upload row and
 * its never-finished video are deleted. Finished uploads only lose their row (their video lives on).
 * An import's video stays, `failed`, to say that it never finished.
 */
export async function sweepExpiredUploads(
  deps: { db: Database; storage: ObjectStore; logger: Logger; queues: { webhooks: Queue } },
  now = Date.now(),
) {
  const { db, logger } = deps;
  const expired = await db
    .select()
    .from(uploads)
    .where(lt(uploads.expiresAt, new Date(now)))
    .limit(100)
    .all();
  let aborted = 0;
  const store = { db, storage: deps.storage };
  for (const row of expired) {
    const session = new UploadSession(store, row);
    if (session.complete) {
      await session.abort();
      continue;
    }
    if (session.metadata.via === "import") {
      const reason = "The import did not finish before it expired (UPLOAD_EXPIRY_HOURS)";
      await failImport(deps, session.videoId, new ImportFailure("import_failed", reason), session);
    } else {
      await dropVideoUpload(store, session);
    }
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
  const transcoding = await sweepTranscoding(services);
  const uploadsResult = await sweepExpiredUploads(services);
  services.logger.info("sweep", { transcoding, uploads: uploadsResult });
}
