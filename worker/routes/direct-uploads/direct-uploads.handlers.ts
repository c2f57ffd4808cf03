import type { Context } from "hono";
import { ApiError } from "../../app/errors";
import type { AppEnv, AppRouteHandler } from "../../app/types";
import { currentUser } from "../../auth/authenticate";
import { publicPlaybackUrls } from "../../playback/urls";
import { completeDirectUpload, planParts, presignParts, requirePresigning } from "../../uploads/direct";
import { loadUploadPolicy } from "../../uploads/policy";
import { UploadSession } from "../../uploads/session";
import { dropVideoUpload, queueVideoUpload, startVideoUpload } from "../../uploads/video-upload";
import { findVideo, serializeVideo } from "../../videos/videos.data";
import type * as routes from "./direct-uploads.routes";

/** URLs handed out at once; more come from `parts_url`. */
const FIRST_PARTS = 100;

const notFound = () => new ApiError("not_found", "No such upload");

const secondsUntil = (date: Date) => Math.max(1, Math.floor((date.getTime() - Date.now()) / 1000));

export const createDirectUpload: AppRouteHandler<typeof routes.createDirectUpload> = async (c) => {
  const { db, settings, logger, services } = c.var;
  requirePresigning(services.storage);
  const user = currentUser(c);
  const body = c.req.valid("json");
  const policy = await loadUploadPolicy(db, settings, user.id);
  const raw = {
    title: body.title,
    description: body.description,
    visibility: body.visibility,
    max_resolution: body.max_resolution,
  };
  const fields = policy.checkFields(raw, "fields");
  policy.checkType(body.type);
  policy.checkSize(body.size);
  const { partSize, partCount } = planParts(body.size);
  const { video, session } = await startVideoUpload(services, settings, {
    userId: user.id,
    fields,
    filename: body.filename ?? null,
    contentType: body.type ?? null,
    length: body.size,
    metadata: { filename: body.filename ?? null, filetype: body.type ?? null, via: "direct" },
    partSize,
  });
  const first = Array.from({ length: Math.min(partCount, FIRST_PARTS) }, (_, i) => i + 1);
  const parts = await presignParts(services.storage, session, first, secondsUntil(session.expiresAt));
  const base = `${new URL(c.req.url).origin}/api/videos/direct-upload/${session.id}`;
  logger.info("direct upload started", { videoId: video.id, size: body.size, parts: partCount });
  return c.json(
    {
      video: serializeVideo(video, [], user, publicPlaybackUrls(video, new URL(c.req.url).origin)),
      upload_id: session.id,
      part_size: partSize,
      part_count: partCount,
      parts,
      parts_url: `${base}/parts`,
      complete_url: `${base}/complete`,
      expires_at: session.expiresAt.toISOString(),
    },
    201,
  );
};

/**
 * The caller's own unfinished direct upload, still open for parts: past its expiry its part URLs
 * stopped working too, and the sweep drops what is left of it (or its owner, by aborting).
 */
async function openDirectUpload(c: Context<AppEnv>, id: string) {
  const session = await ownDirectUpload(c, id);
  if (session.complete) throw new ApiError("conflict", "The upload is complete");
  if (session.expiresAt.getTime() <= Date.now()) {
    throw new ApiError("gone", "The upload expired before it was completed; start a new one");
  }
  return session;
}

/** The caller's own direct upload; anyone else's is "no such upload". */
async function ownDirectUpload(c: Context<AppEnv>, id: string) {
  const user = currentUser(c);
  const session = await UploadSession.find(c.var.services, id);
  if (!session || session.userId !== user.id || session.metadata.via !== "direct") throw notFound();
  return session;
}

export const directUploadParts: AppRouteHandler<typeof routes.directUploadParts> = async (c) => {
  const { id } = c.req.valid("param");
  const { from, count } = c.req.valid("query");
  const session = await openDirectUpload(c, id);
  const partCount = Math.max(1, Math.ceil((session.length ?? 0) / session.partSize));
  if (from > partCount) throw new ApiError("bad_request", `The upload has ${partCount} parts`);
  const numbers = Array.from({ length: Math.min(count, partCount - from + 1) }, (_, i) => from + i);
  const parts = await presignParts(c.var.services.storage, session, numbers, secondsUntil(session.expiresAt));
  return c.json({ parts }, 200);
};

export const completeUpload: AppRouteHandler<typeof routes.completeDirectUpload> = async (c) => {
  const { id } = c.req.valid("param");
  const { db, settings, logger, services } = c.var;
  const session = await openDirectUpload(c, id);
  const policy = await loadUploadPolicy(db, settings, session.userId, { except: session.videoId });
  const parts = c.req.valid("json").parts.map((p) => ({ partNumber: p.number, etag: p.etag }));
  if (parts.length === 0) {
    throw new ApiError("validation_error", "Invalid request: parts", {
      details: [{ path: "parts", message: "List every part with its ETag" }],
    });
  }
  try {
    await completeDirectUpload(services, session, parts, policy, session.partSize);
  } catch (err) {
    if (err instanceof ApiError) logger.info("upload refused", { videoId: session.videoId, reason: err.message });
    throw err;
  }
  await queueVideoUpload({ db, queue: c.env.TRANSCODE_QUEUE, logger }, session, "direct");
  const video = await findVideo(db, session.videoId);
  if (!video) throw notFound();
  const user = currentUser(c);
  return c.json(serializeVideo(video, [], user, publicPlaybackUrls(video, new URL(c.req.url).origin)), 200);
};

export const abortUpload: AppRouteHandler<typeof routes.abortDirectUpload> = async (c) => {
  const { id } = c.req.valid("param");
  const session = await ownDirectUpload(c, id);
  if (session.complete) throw new ApiError("conflict", "The upload is complete; delete its video instead");
  await dropVideoUpload(c.var.services, session);
  return c.body(null, 204);
};
