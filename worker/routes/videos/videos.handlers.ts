import { and, count, desc, eq, type SQL, sql } from "drizzle-orm";
import type { Context } from "hono";
import { laterFor } from "../../app/background";
import { ApiError } from "../../app/errors";
import type { AppEnv, AppRouteHandler } from "../../app/types";
import { currentUser } from "../../auth/authenticate";

import { captionsByVideo, captionsOf } from "../../captions/captions.data";
import { type Caption, users, type Video, videos } from "../../db/schema";
import { servedMpd } from "../../playback/served-manifests";
import {
  isPlayable,
  manifestCacheControl,
  provisionalVersions,
  type ServedVersion,
  servedVersionOf,
} from "../../playback/served-version";
import { embedUrl, playbackBase, provisionalUrlsAt } from "../../playback/urls";
import { serveObject } from "../../storage/index";
import { sourceKey, versionPrefix, videoPrefix } from "../../storage/keys";
import { deletePrefix } from "../../storage/prefix";
import { cancelJobsOf, reprocess } from "../../transcode/lifecycle";
import { NOT_WAITING, type QueueStanding, queueStandings } from "../../transcode/scheduler";
import { parseUploadFields } from "../../uploads/fields";

import { UploadSession } from "../../uploads/session";
import { ownVideo, playbackFor, requestOrigin, signedUrls, visibleVideo } from "../../videos/access";
import { findVideo, renditionsOf, serializeVideo } from "../../videos/videos.data";
import type * as routes from "./videos.routes";

type C = Context<AppEnv>;

const notFound = () => new ApiError("not_found", "No such video");

async function ownerOf(c: C, video: Video) {
  if (c.var.user?.id === video.ownerId) return { id: c.var.user.id, username: c.var.user.username };
  const row = await c.var.db
    .select({ id: users.id, username: users.username })
    .from(users)
    .where(eq(users.id, video.ownerId))
    .get();
  return row ?? { id: video.ownerId, username: "" };
}

async function serializeFor(
  c: C,
  video: Video,
  owner: { id: string; username: string },
  captions: Caption[],
  standing: QueueStanding,
  provisional: ServedVersion | null,
) {
  const { urls, base } = await playbackFor(c, video, provisional);
  return serializeVideo(
    video,
    await renditionsOf(c.var.db, video),
    owner,
    urls,
    { captions, base },
    standing,
    isPlayable(video, provisional),
  );
}

/** Where waiting videos stand in line; the others are not waiting. */
async function standingsOf(c: C, list: Video[]): Promise<Map<string, QueueStanding>> {
  const waiting = list.filter((v) => v.status === "queued").map((v) => v.id);
  return waiting.length > 0 ? queueStandings(c.var.db, waiting) : new Map();
}

async function videoJson(c: C, video: Video) {
  const [standings, provisional] = await Promise.all([standingsOf(c, [video]), provisionalVersions(c.var.db, [video])]);
  return serializeFor(
    c,
    video,
    await ownerOf(c, video),
    await captionsOf(c.var.db, video.id),
    standings.get(video.id) ?? NOT_WAITING,
    provisional.get(video.id) ?? null,
  );
}

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (ch) => `\\${ch}`);

export const listVideos: AppRouteHandler<typeof routes.listVideos> = async (c) => {
  const { page, page_size, search, status, mine } = c.req.valid("query");
  const db = c.var.db;
  const wantMine = mine === "1" || mine === "true";
  const filters: SQL[] = [];
  if (wantMine) {
    filters.push(eq(videos.ownerId, currentUser(c).id));
    if (status) filters.push(eq(videos.status, status));
  } else {
    filters.push(eq(videos.visibility, "public"), eq(videos.status, status ?? "ready"));
  }
  if (search) filters.push(sql`${videos.title} like ${`%${escapeLike(search)}%`} escape '\\'`);
  const where = and(...filters);
  const [total] = await db.select({ n: count() }).from(videos).where(where);
  const rows = await db
    .select({ video: videos, owner: { id: users.id, username: users.username } })
    .from(videos)
    .innerJoin(users, eq(users.id, videos.ownerId))
    .where(where)
    .orderBy(desc(videos.createdAt), desc(videos.id))
    .limit(page_size)
    .offset((page - 1) * page_size)
    .all();
  const ids = rows.map((r) => r.video.id);
  const listed = rows.map((r) => r.video);
  const [tracks, standings, provisional] = await Promise.all([
    captionsByVideo(db, ids),
    standingsOf(c, listed),
    provisionalVersions(db, listed),
  ]);
  const results = await Promise.all(
    rows.map(({ video, owner }) =>
      serializeFor(
        c,
        video,
        owner,
        tracks.get(video.id) ?? [],
        standings.get(video.id) ?? NOT_WAITING,
        provisional.get(video.id) ?? null,
      ),
    ),
  );
  const n = total?.n ?? 0;
  const pageUrl = (p: number) => {
    const url = new URL(c.req.url);
    url.searchParams.set("page", String(p));
    return url.toString();
  };
  return c.json(
    {
      count: n,
      next: page * page_size < n ? pageUrl(page + 1) : null,
      previous: page > 1 ? pageUrl(page - 1) : null,
      results,
    },
    200,
  );
};

export const getVideo: AppRouteHandler<typeof routes.getVideo> = async (c) => {
  const { title } = c.req.valid("param");
  const { format } = c.req.valid("query");
  const video = await visibleVideo(c, title);
  const wantsMpd =
    format === "mpd" || (format !== "json" && /application\/dash\+xml/i.test(c.req.header("accept") ?? ""));
  if (!wantsMpd) return c.json(await videoJson(c, video), 200);
  const served = await servedVersionOf(c.var.db, video);
  if (!served) {
    throw new ApiError("conflict", `The video is ${video.status}; its MPD exists once it can be played`);
  }
  const object = await c.var.services.storage.get(`${versionPrefix(video.id, served.version)}manifest.mpd`);
  if (!object) throw notFound();
  const base =
    video.visibility === "private"
      ? (await signedUrls(c, video, c.var.settings.playback.tokenTtlSeconds)).base
      : playbackBase(requestOrigin(c), video.id);
  const mpd = servedMpd(await object.text(), `${base}/${served.version}/`, await captionsOf(c.var.db, video.id));
  return c.body(mpd, 200, {
    "content-type": "application/dash+xml",
    "cache-control": manifestCacheControl(video.visibility === "private", served.provisional),
    vary: "Accept",
  });
};

export const patchVideo: AppRouteHandler<typeof routes.patchVideo> = async (c) => {
  const { id } = c.req.valid("param");
  const body = c.req.valid("json");
  const video = await ownVideo(c, id);
  const changes: Partial<Video> = {};
  if (body.title !== undefined) {
    const parsed = parseUploadFields({ title: body.title }, c.var.settings);
    if (!parsed.ok) throw new ApiError("validation_error", "Invalid video fields", { details: parsed.errors });
    changes.title = parsed.value.title;
  }
  if (body.description !== undefined) changes.description = body.description;
  if (body.visibility !== undefined) changes.visibility = body.visibility;
  if (body.downloadable !== undefined) changes.downloadable = body.downloadable;
  if (body.poster_time !== undefined) changes.posterTime = checkPosterTime(video, body.poster_time);
  const [updated] = await c.var.db
    .update(videos)
    .set({ ...changes, updatedAt: new Date() })
    .where(eq(videos.id, video.id))
    .returning();
  return c.json(await videoJson(c, updated ?? video), 200);
};

/** A poster time the served version can show: within the video, with stored frames to pick from. */
function checkPosterTime(video: Video, time: number | null): number | null {
  if (time === null) return null;
  if (!video.storyboard || video.duration === null || video.status !== "ready") {
    throw new ApiError("conflict", "This video has no stored frames to pick a poster from (yet)");
  }
  if (time > video.duration) {
    throw new ApiError("validation_error", `The poster time is past the end of the video (${video.duration} s)`, {
      details: [{ path: "poster_time", message: `must be at most ${video.duration}`, code: "too_big" }],
    });
  }
  return time;
}

export const deleteVideo: AppRouteHandler<typeof routes.deleteVideo> = async (c) => {
  const { id } = c.req.valid("param");
  const video = await ownVideo(c, id);
  const { db, logger, services } = c.var;
  const { storage } = services;
  // Its runner's next event is refused, so it stops working on a video that is going away.
  await cancelJobsOf({ ...services, later: laterFor(c) }, video.id);
  await (await UploadSession.find(c.var.services, video.id))?.abort();
  // Storage first: if this fails half-way the row remains, and deleting again finishes the job.
  const removed = await deletePrefix(storage, videoPrefix(video.id));
  await storage.delete(sourceKey(video.id));
  await db.delete(videos).where(eq(videos.id, video.id));
  logger.info("video deleted", { videoId: video.id, objects: removed + 1 });
  return c.body(null, 204);
};

export const createPlaybackToken: AppRouteHandler<typeof routes.createPlaybackToken> = async (c) => {
  const { id } = c.req.valid("param");
  const video = await ownVideo(c, id);
  const served = await servedVersionOf(c.var.db, video);
  if (!served) throw new ApiError("conflict", `The video is ${video.status}; it cannot be played yet`);
  let requested: number | undefined;
  try {
    requested = ((await c.req.json()) as { ttl_seconds?: number })?.ttl_seconds;
  } catch {}
  const { tokenTtlSeconds, tokenMaxTtlSeconds } = c.var.settings.playback;
  const ttl = Math.min(Math.max(60, requested ?? tokenTtlSeconds), tokenMaxTtlSeconds);
  const signed = await signedUrls(c, video, ttl);
  return c.json(
    {
      token: signed.token,
      expires_at: new Date(signed.expiresAt * 1000).toISOString(),
      ...(served.provisional ? provisionalUrlsAt(signed.base) : signed.urls),
      embed_url: embedUrl(requestOrigin(c), video.id, signed.token),
    },
    201,
  );
};

export const downloadSource: AppRouteHandler<typeof routes.downloadSource> = async (c) => {
  const { id } = c.req.valid("param");
  const video = await ownVideo(c, id);
  const filename = (video.filename ?? `${video.slug}`).replace(/[^A-Za-z0-9._-]/g, "_");
  const res = await serveObject(c.var.services.storage, sourceKey(video.id), c.req.raw, {
    contentType: video.contentType ?? "application/octet-stream",
    cacheControl: "private, no-store",
    headers: { "content-disposition": `attachment; filename="${filename}"` },
  });
  if (!res || video.status === "uploading") throw notFound();
  return res as never;
};

export const reprocessVideo: AppRouteHandler<typeof routes.reprocessVideo> = async (c) => {
  const { id } = c.req.valid("param");
  const video = await ownVideo(c, id);
  const { db, settings, logger } = c.var;
  if (video.status === "uploading") throw new ApiError("conflict", "The upload has not finished yet");
  let body: { max_resolution?: string } = {};
  try {
    body = (await c.req.json()) as typeof body;
  } catch {}
  if (body.max_resolution !== undefined) {
    const parsed = parseUploadFields({ title: video.title, max_resolution: body.max_resolution }, settings);
    if (!parsed.ok) throw new ApiError("validation_error", "Invalid video fields", { details: parsed.errors });
    await db.update(videos).set({ maxResolution: parsed.value.maxResolution }).where(eq(videos.id, video.id));
  }
  const { job, replaced } = await reprocess({ ...c.var.services, later: laterFor(c) }, video.id);
  logger.info("reprocess requested", { videoId: video.id, jobId: job.id, replaced: replaced?.id ?? null });
  const fresh = (await findVideo(db, video.id)) ?? video;
  return c.json(await videoJson(c, fresh), 202);
};
