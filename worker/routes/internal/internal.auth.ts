/**
 * Who may call the internal job API: the bearer of a job token for this job's current attempt.
 * The token opens nothing else; user keys open nothing here.
 */
import { createMiddleware } from "hono/factory";
import { OUTPUT_FILE_NAME } from "../../../shared/protocol";
import { ApiError } from "../../app/errors";
import type { AppEnv } from "../../app/types";
import type { Job } from "../../db/schema";
import { verifyJobToken } from "../../transcode/job-token";
import { currentAttempt } from "../../transcode/jobs";

export interface InternalEnv extends AppEnv {
  Variables: AppEnv["Variables"] & { job: Job };
}

/** Bearer job token → the job, if the token is valid, for this job, and its attempt is current. */
export const requireJobToken = createMiddleware<InternalEnv>(async function requireJobToken(c, next) {
  const header = c.req.header("authorization") ?? "";
  const token = /^Bearer ([A-Za-z0-9_.-]+)$/.exec(header)?.[1];
  if (!token) throw new ApiError("unauthorized", "A job token is required");
  const claims = await verifyJobToken(c.var.settings.jobs.tokenSecret, token);
  if (!claims || claims.jobId !== c.req.param("job")) throw new ApiError("unauthorized", "The job token is not valid");
  const job = await currentAttempt(c.var.db, claims.jobId, claims.attempt);
  if (!job) throw new ApiError("gone", "This job attempt has ended or was superseded");
  c.set("job", job);
  c.var.logger.annotate({ jobId: job.id, videoId: job.videoId, attempt: job.attempts });
  await next();
});

/** Output file names: letters, digits, '-' and '_' with a known extension; nothing else is stored. */
export const requireOutputFileName = createMiddleware<InternalEnv>(async function requireOutputFileName(c, next) {
  if (!OUTPUT_FILE_NAME.test(c.req.param("name") ?? "")) {
    throw new ApiError("bad_request", "File names are letters, digits, '-' and '_' with a known extension");
  }
  await next();
});
