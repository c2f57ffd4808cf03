import type { Context } from "hono";
import {
  ChunkingInputSchema,
  ClaimRequestSchema,
  contentTypeOf,
  JobEventSchema,
  ProbeResultSchema,
  type UnitAssignment,
  type UnitEventAnswer,
} from "../../../shared/protocol";
import { laterFor } from "../../app/background";
import { ApiError } from "../../app/errors";
import { serveObject } from "../../storage/index";
import { sourceKey, versionPrefix } from "../../storage/keys";
import { missingFiles } from "../../storage/prefix";
import { claimWithin } from "../../transcode/claim-wait";
import {
  assignedInput,
  completeUnit,
  failUnit,
  loadUnitContext,
  markPlayable,
  type PlannedUnit,
  recordProgress,
  returnUnitsOf,
  type TranscodeDeps,
  type UnitContext,
  unitsAfterProbe,
} from "../../transcode/lifecycle";
import { recordContact } from "../../transcode/runners";
import { mintUnitToken } from "../../transcode/unit-token";
import type { RunnerEnv, UnitEnv } from "./internal.auth";

const depsOf = <E extends RunnerEnv | UnitEnv>(c: Context<E>): TranscodeDeps => ({
  ...c.var.services,
  later: laterFor(c),
});

/** A JSON body checked against a schema; an empty body is `{}`. */
async function jsonBody<T>(
  c: Context,
  parse: (
    raw: unknown,
  ) => { success: true; data: T } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } },
) {
  const text = await c.req.text();
  let raw: unknown = {};
  if (text.trim() !== "") {
    try {
      raw = JSON.parse(text);
    } catch {
      throw new ApiError("invalid_json", "The body is not valid JSON");
    }
  }
  const parsed = parse(raw);
  if (!parsed.success) {
    throw new ApiError("validation_error", "The body is not valid", {
      details: parsed.error.issues.map((i) => ({ path: i.path.join("."), message: i.message })),
    });
  }
  return parsed.data;
}

/** What a runner gets for a claimed unit: the job's parameters, and this attempt's token and lease. */
async function assignmentFor(c: Context<RunnerEnv>, { unit, job }: UnitContext): Promise<UnitAssignment> {
  const { settings } = c.var;
  const expiresAt = Math.floor(Date.now() / 1000) + settings.jobs.tokenTtlSeconds;
  // The runner reaches the unit's API where it reached the claim: a public origin, the local
  // Worker, or a container's internal host.
  const origin = new URL(c.req.url).origin;
  return {
    unitId: unit.id,
    jobId: job.id,
    videoId: unit.videoId,
    version: job.version,
    kind: unit.kind,
    attempt: unit.attempt,
    apiBase: `${origin}/internal/units/${unit.id}`,
    token: await mintUnitToken(settings.jobs.tokenSecret, {
      unitId: unit.id,
      attempt: unit.attempt,
      runnerId: c.var.runner.id,
      expiresAt,
    }),
    leaseSeconds: settings.units.leaseSeconds,
    maxHeight: Math.min(job.maxHeight, settings.maxVideoQuality),
    maxDurationSeconds: settings.jobs.maxDurationSeconds,
    input: await assignedInput(c.var.db, unit),
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * POST /internal/runners/claim: the runner's units are reconciled with what it reports (those it
 * no longer has go back to pending), then it gets a unit as soon as one is claimable, or 204
 * after `wait_seconds`.
 */
export async function claimWork(c: Context<RunnerEnv>) {
  const request = await jsonBody(c, (raw) => ClaimRequestSchema.safeParse(raw));
  const { db } = c.var;
  const runner = c.var.runner;
  const deps = depsOf(c);
  await recordContact(db, runner.id);
  await returnUnitsOf(deps, runner.id, "lost", request.running);
  if (request.running.length >= request.capacity) {
    await sleep(request.wait_seconds * 1000);
    return c.body(null, 204);
  }
  const claimed = await claimWithin(deps, runner, { waitMs: request.wait_seconds * 1000, signal: c.req.raw.signal });
  if (!claimed) return c.body(null, 204);
  await deps.later?.("keeping the runner awake", deps.runners.pool.touch(runner.id));
  return c.json({ unit: await assignmentFor(c, claimed) }, 200);
}

/** GET source: the uploaded bytes, with single-range support so ffprobe/ffmpeg can seek. */
export async function readUnitSource(c: Context<UnitEnv>) {
  const res = await serveObject(c.var.services.storage, sourceKey(c.var.unit.video.id), c.req.raw);
  if (!res) throw new ApiError("not_found", "The source of this video is gone");
  return res;
}

/**
 * GET files/{name}: a file this job's version has stored, read back (with Range), so a step that
 * works from stored outputs (the downloads, made from the segments) needs no copy of its own.
 */
export async function readUnitFile(c: Context<UnitEnv>) {
  const { job, video } = c.var.unit;
  const name = c.req.param("name") as string;
  const res = await serveObject(c.var.services.storage, `${versionPrefix(video.id, job.version)}${name}`, c.req.raw);
  if (!res) throw new ApiError("not_found", `No file ${name} is stored for this job`);
  return res;
}

/** PUT files/{name}: streamed into storage under the job's version prefix. */
export async function putUnitFile(c: Context<UnitEnv>) {
  const { job, video } = c.var.unit;
  const name = c.req.param("name") as string;
  const length = Number(c.req.header("content-length") ?? Number.NaN);
  if (!Number.isInteger(length) || length < 0) {
    throw new ApiError("length_required", "Content-Length is required");
  }
  if (length > c.var.settings.jobs.maxFileSize) {
    throw new ApiError("payload_too_large", `An output file is at most ${c.var.settings.jobs.maxFileSize} bytes`);
  }
  // Streamed as it arrives: the store is told the exact length up front.
  const key = `${versionPrefix(video.id, job.version)}${name}`;
  const body = c.req.raw.body;
  const stored = body
    ? await c.var.services.storage.put(key, body, { contentType: contentTypeOf(name), length })
    : await c.var.services.storage.put(key, new Uint8Array(0), { contentType: contentTypeOf(name) });
  return c.json({ name, size: stored.size }, 201);
}

/** The units a finished unit asks for: a probe's result makes the rest of a chunked encode. */
function followUpsOf(ctx: UnitContext, result: Record<string, unknown>): PlannedUnit[] | undefined {
  if (ctx.unit.kind !== "probe") return undefined;
  const probe = ProbeResultSchema.safeParse(result);
  const chunking = ChunkingInputSchema.safeParse(JSON.parse(ctx.unit.input));
  if (!probe.success || !chunking.success) {
    throw new ApiError("validation_error", "A probe's result names its chunks, its audio and the probed source", {
      details: (probe.error ?? chunking.error)?.issues.map((i) => ({ path: i.path.join("."), message: i.message })),
    });
  }
  return unitsAfterProbe(chunking.data, probe.data);
}

const ok = (c: Context<UnitEnv>, answer: UnitEventAnswer = { ok: true }) => c.json(answer, 200);

/** Announced files missing from the job's version folder: refused, nothing changes. */
async function refuseMissing(c: Context<UnitEnv>, files: string[]) {
  const ctx = c.var.unit;
  const missing = await missingFiles(c.var.services.storage, versionPrefix(ctx.video.id, ctx.job.version), files);
  if (missing.length > 0) {
    throw new ApiError("conflict", `Some files were announced but never stored: ${missing.slice(0, 5).join(", ")}`, {
      details: { missing: missing.length },
    });
  }
}

/**
 * POST events: progress renews the lease; a first chunk's `playable` makes the video play while
 * processing; completion publishes the version when it finishes the job (a repeated completion of
 * this attempt answers ok with `duplicate`); failure retries the unit or fails the video.
 */
export async function handleUnitEvent(c: Context<UnitEnv>) {
  const event = await jsonBody(c, (raw) => JobEventSchema.safeParse(raw));
  const deps = depsOf(c);
  const ctx = c.var.unit;
  if (c.var.standing === "done") {
    if (event.type === "completed" || event.type === "unit_done") return ok(c, { ok: true, duplicate: true });
    throw new ApiError("conflict", "The unit is done already");
  }
  const lost = () => new ApiError("gone", "The lease of this attempt ran out; the unit went back to pending");

  if (event.type === "progress") {
    if (!(await recordProgress(deps, ctx, event.progress))) throw lost();
    if (ctx.runner?.kind === "container") {
      await deps.later?.("keeping the runner awake", deps.runners.pool.touch(ctx.runner.id));
    }
    deps.logger.debug("unit progress", { progress: event.progress, stage: event.stage });
    return ok(c);
  }

  if (event.type === "playable") {
    if (ctx.unit.kind !== "chunk" || ctx.unit.sequence !== 0) {
      throw new ApiError(
        "conflict",
        "Only the first chunk of a chunked encode makes a video playable while processing",
      );
    }
    await refuseMissing(c, event.files);
    if (!(await markPlayable(deps, ctx))) throw lost();
    return ok(c);
  }

  if (event.type === "completed" || event.type === "unit_done") {
    await refuseMissing(c, event.files);
    let outcome: Awaited<ReturnType<typeof completeUnit>>;
    if (event.type === "completed") {
      const { files, ...summary } = event;
      outcome = await completeUnit(deps, ctx, {
        result: { ...summary, fileCount: files.length },
        publication: {
          duration: event.duration,
          width: event.width,
          height: event.height,
          renditions: event.renditions,
          storyboard: event.storyboard,
        },
      });
    } else {
      outcome = await completeUnit(deps, ctx, { result: event.result, followUps: followUpsOf(ctx, event.result) });
    }
    if (outcome !== "refused") return ok(c);
    // Someone was quicker: the same completion sent twice at once, or the lease ran out meanwhile.
    const now = await loadUnitContext(deps.db, ctx.unit.id);
    if (now?.unit.status === "done" && now.unit.attempt === ctx.unit.attempt)
      return ok(c, { ok: true, duplicate: true });
    throw lost();
  }

  const outcome = await failUnit(deps, ctx, { code: event.code, message: event.message });
  if (outcome === "refused") throw lost();
  return ok(c);
}
