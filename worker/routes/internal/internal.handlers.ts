import type { Context } from "hono";
import { contentTypeOf, JobEventSchema } from "../../../shared/protocol";
import { runAfterResponse } from "../../app/background";
import { ApiError } from "../../app/errors";
import { serveR2Object } from "../../playback/object-response";
import { sourceKey, versionPrefix } from "../../storage/keys";
import { deletePrefix, missingFiles } from "../../storage/prefix";
import { createDispatcher } from "../../transcode/dispatcher";
import { completeJob, failJob, recordProgress } from "../../transcode/jobs";
import type { InternalEnv } from "./internal.auth";

type C = Context<InternalEnv>;

/** GET source: the uploaded bytes, with single-range support so ffprobe/ffmpeg can seek. */
export async function readJobSource(c: C) {
  const res = await serveR2Object(c.env.MEDIA, sourceKey(c.var.job.videoId), c.req.raw);
  if (!res) throw new ApiError("not_found", "The source of this video is gone");
  return res;
}

/** PUT files/{name}: streamed into R2 under the job's version prefix. */
export async function putJobFile(c: C) {
  const job = c.var.job;
  const name = c.req.param("name") as string;
  const length = Number(c.req.header("content-length") ?? Number.NaN);
  if (!Number.isInteger(length) || length < 0) {
    throw new ApiError("length_required", "Content-Length is required");
  }
  if (length > c.var.settings.jobs.maxFileSize) {
    throw new ApiError("payload_too_large", `An output file is at most ${c.var.settings.jobs.maxFileSize} bytes`);
  }
  const body = c.req.raw.body ?? new Uint8Array(0);
  // A fixed-length stream lets R2 take the body as it arrives instead of buffering it.
  const { readable, writable } = new FixedLengthStream(length);
  const piping = body instanceof ReadableStream ? body.pipeTo(writable) : new Response(body).body?.pipeTo(writable);
  const [stored] = await Promise.all([
    c.env.MEDIA.put(`${versionPrefix(job.videoId, job.version)}${name}`, readable, {
      httpMetadata: { contentType: contentTypeOf(name) },
    }),
    piping,
  ]);
  return c.json({ name, size: stored?.size ?? length }, 201);
}

/** POST events: progress, completion (flip to the new version), failure. */
export async function handleJobEvent(c: C) {
  const job = c.var.job;
  const { db, settings, logger } = c.var;
  let raw: unknown;
  try {
    raw = await c.req.json();
  } catch {
    throw new ApiError("invalid_json", "The event is not valid JSON");
  }
  const parsed = JobEventSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ApiError("validation_error", "The event is not valid", {
      details: parsed.error.issues.map((i) => ({ path: i.path.join("."), message: i.message })),
    });
  }
  const event = parsed.data;
  const dispatcher = createDispatcher(c.env, settings);
  const log = logger.child({ jobId: job.id, videoId: job.videoId, attempt: job.attempts });

  if (event.type === "progress") {
    await recordProgress(db, job, event.progress, settings.jobs.staleAfterSeconds);
    await dispatcher.heartbeat(job.id).catch((err: unknown) => log.warn("heartbeat failed", { error: String(err) }));
    log.debug("job progress", { progress: event.progress, stage: event.stage });
    return c.json({ ok: true });
  }

  if (event.type === "completed") {
    const prefix = versionPrefix(job.videoId, job.version);
    const missing = await missingFiles(c.env.MEDIA, prefix, event.files);
    if (missing.length > 0) {
      throw new ApiError("conflict", `Some files were announced but never stored: ${missing.slice(0, 5).join(", ")}`, {
        details: { missing: missing.length },
      });
    }
    const { previousVersion, video } = await completeJob(db, job, event, { events: c.env.WEBHOOK_QUEUE });
    if (!video) {
      // The video was deleted while it was being transcoded: nothing to publish.
      await deletePrefix(c.env.MEDIA, prefix);
      return c.json({ ok: true });
    }
    log.info("job completed", { version: job.version, renditions: event.renditions.length, duration: event.duration });
    await runAfterResponse(
      c,
      "cleanup after the job",
      Promise.all([
        previousVersion ? deletePrefix(c.env.MEDIA, versionPrefix(job.videoId, previousVersion)) : null,
        dispatcher.release(job.id),
      ]),
    );
    return c.json({ ok: true });
  }

  await failJob(db, job, event.code, event.message, { events: c.env.WEBHOOK_QUEUE });
  log.warn("job failed", { code: event.code, reason: event.message });
  await runAfterResponse(
    c,
    "cleanup after the job",
    Promise.all([deletePrefix(c.env.MEDIA, versionPrefix(job.videoId, job.version)), dispatcher.release(job.id)]),
  );
  return c.json({ ok: true });
}
