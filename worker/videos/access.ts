/**
 * Who may reach a video, decided in one place for the API and for playback:
 *
 *   visibleVideo(c, idOrSlug)            the video if the caller may see it (private: its owner only)
 *   ownVideo(c, id)                      the video if the caller owns it (someone else's private
 *                                        one is 404, as if it did not exist; a public one 403)
 *   reachableVideo(c, id, token)         the video behind a playback path: a private one needs a
 *                                        valid playback token in the path, or its owner's key
 *   playableVideo(c, id, token)          the same, for a video with a published version
 *   playingVideo(c, id, token)           the same, with the version it plays: published, or
 *                                        provisional while its first version is processing
 *   playbackFor(c, video)                where this caller plays a video it may see, and its
 *                                        playback URLs there (signed for a private video's owner)
 */
import type { Context } from "hono";
import { ApiError } from "../app/errors";
import type { AppEnv } from "../app/types";
import { currentUser } from "../auth/authenticate";
import type { Video } from "../db/schema";
import { type ServedVersion, servedVersionOf } from "../playback/served-version";
import { parseSigningKeys, verifyPlaybackToken } from "../playback/tokens";
import {
  NO_PLAYBACK,
  type PlaybackUrls,
  playbackUrlsAt,
  provisionalUrlsAt,
  publicPlaybackBase,
  signedPlayback,
} from "../playback/urls";
import { findVideo } from "./videos.data";

type C = Context<AppEnv>;

const notFound = () => new ApiError("not_found", "No such video");

/** The video if the caller may see it: private videos exist only for their owner. */
export async function visibleVideo(c: C, idOrSlug: string): Promise<Video> {
  const video = await findVideo(c.var.db, idOrSlug);
  if (!video) throw notFound();
  if (video.visibility === "private" && c.var.user?.id !== video.ownerId) throw notFound();
  c.var.logger.annotate({ videoId: video.id });
  return video;
}

/** The video if the caller owns it; someone else's is 404 (never revealed), not 403. */
export async function ownVideo(c: C, id: string): Promise<Video> {
  const user = currentUser(c);
  const video = await findVideo(c.var.db, id);
  if (!video || video.id !== id) throw notFound();
  c.var.logger.annotate({ videoId: video.id });
  if (video.ownerId !== user.id) {
    if (video.visibility === "private") throw notFound();
    throw new ApiError("forbidden", "Only the owner may change this video");
  }
  return video;
}

/**
 * The video behind a playback path (`/v/{id}/…`, `/embed/{id}`), by id only. With a token (from
 * the path or the query) the token must be valid for this video; without one, a private video is
 * reached only by its owner's key and is 404 to everyone else.
 */
export async function reachableVideo(c: C, id: string, token: string | undefined): Promise<Video> {
  const video = await findVideo(c.var.db, id);
  if (!video || video.id !== id) throw new ApiError("not_found", "No such video file");
  c.var.logger.annotate({ videoId: video.id });
  if (token !== undefined) {
    const keys = parseSigningKeys(c.var.settings.playback.signingKeys);
    const check = await verifyPlaybackToken(keys, video.id, token);
    if (check === "expired") throw new ApiError("forbidden", "This playback link has expired");
    if (check !== "valid") throw new ApiError("forbidden", "This playback link is not valid");
  } else if (video.visibility === "private" && c.var.user?.id !== video.ownerId) {
    throw new ApiError("not_found", "No such video file");
  }
  return video;
}

/** The ready video behind a playback path, or 404: only a video with a published version. */
export async function playableVideo(c: C, id: string, token: string | undefined) {
  const video = await reachableVideo(c, id, token);
  if (!video.version) throw new ApiError("not_found", "No such video file");
  return video as Video & { version: string };
}

/**
 * The video behind a playback path with the version its manifests and segments come from: the
 * published one, or a provisional one while its first version is processing and its start is
 * stored; 404 when it has nothing to play.
 */
export async function playingVideo(c: C, id: string, token: string | undefined) {
  const video = await reachableVideo(c, id, token);
  const served = await servedVersionOf(c.var.db, video);
  if (!served) throw new ApiError("not_found", "No such video file");
  return { video, served };
}

/** Whether answers about this video may be cached by shared caches. */
export const isPublicPlayback = (video: Video, token: string | undefined) =>
  token === undefined && video.visibility !== "private";

/** This deployment's origin, as playback URLs name it. */
export const requestOrigin = (c: C) => c.var.settings.publicBaseUrl || new URL(c.req.url).origin;

export const signedUrls = (c: C, video: Video, ttlSeconds: number) =>
  signedPlayback(c.var.settings.playback.signingKeys, video, requestOrigin(c), ttlSeconds);

/**
 * Where this caller plays the video, and its URLs there: signed for the owner of a private video.
 * `provisional`: the version it plays while processing (provisionalVersions), if any.
 */
export async function playbackFor(
  c: C,
  video: Video,
  provisional: ServedVersion | null = null,
): Promise<{ urls: PlaybackUrls; base: string | null }> {
  const plays = video.status === "ready" || provisional !== null;
  const urlsAt = (base: string) => (provisional ? provisionalUrlsAt(base) : playbackUrlsAt(base, video));
  if (plays && video.visibility === "private" && c.var.user?.id === video.ownerId) {
    const signed = await signedUrls(c, video, c.var.settings.playback.tokenTtlSeconds);
    return { urls: urlsAt(signed.base), base: signed.base };
  }
  const base = publicPlaybackBase(video, requestOrigin(c), plays);
  return { urls: base === null ? NO_PLAYBACK : urlsAt(base), base };
}
