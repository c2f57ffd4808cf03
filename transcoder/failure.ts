/**
 * Why a job ends `failed`: every phase throws a {@link JobFailure} for a reason of its own, and
 * {@link asJobFailure} gives anything else (the platform refusing a request, a bug) a code and a
 * message the uploader can read.
 */

import type { FailureCode } from "../shared/protocol.ts";
import { JobApiError } from "./job-api.ts";

/** A reason to end the job `failed`, with the code and message the uploader will see. */
export class JobFailure extends Error {
  readonly code: FailureCode;
  constructor(code: FailureCode, message: string) {
    super(message);
    this.name = "JobFailure";
    this.code = code;
  }
}

export function asJobFailure(err: unknown): JobFailure {
  if (err instanceof JobFailure) return err;
  if (err instanceof JobApiError) {
    return new JobFailure("transcode_failed", `The platform did not accept the results (${err.message}).`);
  }
  return new JobFailure("transcode_failed", "The transcoder stopped unexpectedly.");
}
