/**
 * Who may call the internal API. A claim needs a runner token (not revoked); a unit's source,
 * files and events need that unit's token, for its current attempt, from a runner that is not
 * revoked. User keys open nothing here.
 */
import { createMiddleware } from "hono/factory";
import { OUTPUT_FILE_NAME } from "../../../shared/protocol";
import { ApiError } from "../../app/errors";
import type { AppEnv } from "../../app/types";
import type { Runner } from "../../db/schema";
import { loadUnitContext, type UnitContext } from "../../transcode/lifecycle";
import { authenticateRunner } from "../../transcode/runners";
import { type UnitTokenClaims, verifyUnitToken } from "../../transcode/unit-token";

/** Where a unit stands for the attempt that calls: its own and running, or finished by it. */
export type UnitStanding = "current" | "done";

export interface RunnerEnv extends AppEnv {
  Variables: AppEnv["Variables"] & { runner: Runner };
}

export interface UnitEnv extends AppEnv {
  Variables: AppEnv["Variables"] & { unit: UnitContext; claims: UnitTokenClaims; standing: UnitStanding };
}

const bearer = (header: string | undefined) => /^Bearer ([A-Za-z0-9_.-]+)$/.exec(header ?? "")?.[1];

/** Bearer runner token → the runner. Unknown and revoked tokens are 401. */
export const requireRunnerToken = createMiddleware<RunnerEnv>(async function requireRunnerToken(c, next) {
  const token = bearer(c.req.header("authorization"));
  if (!token) throw new ApiError("unauthorized", "A runner token is required");
  const found = await authenticateRunner(c.var.db, c.var.settings, token);
  if (!found.ok) {
    throw new ApiError(
      "unauthorized",
      found.reason === "revoked" ? "This runner's token was revoked" : "The runner token is not valid",
    );
  }
  c.set("runner", found.runner);
  c.var.logger.annotate({ runnerId: found.runner.id });
  await next();
});

/**
 * Bearer unit token → the unit, its job and its video. 401: no token, a bad one, another unit's,
 * or a revoked runner's. 410 (the runner should stop): the unit is gone with its video, was
 * cancelled, failed, or is no longer this attempt's (its lease ran out, it was claimed again).
 * A unit this attempt finished passes as `done`, for its completion to be repeated safely.
 */
export const requireUnitToken = createMiddleware<UnitEnv>(async function requireUnitToken(c, next) {
  const token = bearer(c.req.header("authorization"));
  if (!token) throw new ApiError("unauthorized", "A unit token is required");
  const claims = await verifyUnitToken(c.var.settings.jobs.tokenSecret, token);
  if (!claims || claims.unitId !== c.req.param("unit"))
    throw new ApiError("unauthorized", "The unit token is not valid");
  const ctx = await loadUnitContext(c.var.db, claims.unitId, claims.runnerId);
  if (!ctx) throw new ApiError("gone", "This unit no longer exists: its video was deleted");
  if (!ctx.runner || ctx.runner.revokedAt) throw new ApiError("unauthorized", "This runner's token was revoked");
  c.var.logger.annotate({ unitId: ctx.unit.id, jobId: ctx.job.id, videoId: ctx.video.id, attempt: claims.attempt });
  const { unit } = ctx;
  if (unit.attempt !== claims.attempt) {
    throw new ApiError("gone", "This attempt was superseded: the unit was claimed again");
  }
  if (unit.status === "pending") {
    throw new ApiError("gone", "The lease of this attempt ran out; the unit went back to pending");
  }
  // The attempt was claimed by another runner than the token names: not a token this Worker gave out.
  if (unit.runnerId !== claims.runnerId) throw new ApiError("unauthorized", "The unit token is not valid");
  if (unit.status === "cancelled") {
    throw new ApiError("gone", "The unit was cancelled: its video was deleted or is made again with other settings");
  }
  if (unit.status === "failed") throw new ApiError("gone", "The unit has failed");
  c.set("unit", ctx);
  c.set("claims", claims);
  c.set("standing", unit.status === "done" ? "done" : "current");
  await next();
});

/** The unit's source and files are for its running attempt only. */
export const requireRunningUnit = createMiddleware<UnitEnv>(async function requireRunningUnit(c, next) {
  if (c.var.standing !== "current") throw new ApiError("gone", "The unit is done");
  await next();
});

/** Output file names: letters, digits, '-' and '_' with a known extension; nothing else is stored. */
export const requireOutputFileName = createMiddleware<UnitEnv>(async function requireOutputFileName(c, next) {
  if (!OUTPUT_FILE_NAME.test(c.req.param("name") ?? "")) {
    throw new ApiError("bad_request", "File names are letters, digits, '-' and '_' with a known extension");
  }
  await next();
});
