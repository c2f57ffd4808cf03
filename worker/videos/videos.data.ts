/** Video rows: creation with a unique slug, lookups, and the public JSON shape. */
import { and, eq, or } from "drizzle-orm";
import type { Database } from "../db/client";
import { type Caption, type Rendition, renditions, type Video, type Visibility, videos } from "../db/schema";
import { captionUrl, type PlaybackUrls } from "../playback/urls";
import { NOT_WAITING, type QueueStanding } from "../transcode/scheduler";
import { slugCandidates } from "./slug";

export interface NewVideo {
  id?: string;
  ownerId: string;
  title: string;
  description: string;
  visibility: Visibility;
  maxResolution: number;
  filename: string | null;
  contentType: string | null;
  size: number | null;
}

const isUniqueViolation = (err: unknown): boolean =>
  /UNIQUE constraint failed: videos\.slug/i.test(String(err)) ||
  (err instanceof Error && err.cause !== undefined && isUniqueViolation(err.cause));

/** Inserts the video as `uploading`, retrying the slug with a suffix when it is taken. */
export async function createVideo(db: Database, input: NewVideo): Promise<Video> {
  const id = input.id ?? crypto.randomUUID();
  for (const slug of slugCandidates(input.title)) {
    try {
      const [row] = await db
        .insert(videos)
        .values({ ...input, id, slug, status: "uploading" })
        .returning();
      if (row) return row;
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
    }
  }
  throw new Error("could not find a free slug");
}

export async function findVideo(db: Database, idOrSlug: string): Promise<Video | undefined> {
  return db
    .select()
    .from(videos)
    .where(or(eq(videos.id, idOrSlug), eq(videos.slug, idOrSlug)))
    .get();
}

export async function deleteVideoRow(db: Database, id: string) {
  await db.delete(videos).where(eq(videos.id, id));
}

export async function renditionsOf(db: Database, video: Video): Promise<Rendition[]> {
  if (!video.version) return [];
  return db
    .select()
    .from(renditions)
    .where(and(eq(renditions.videoId, video.id), eq(renditions.version, video.version)))
    .all();
}

/**
 * The video's JSON. `base` is the playback folder this caller reaches it under (null while it
 * cannot play), which the caption URLs hang off like the other playback URLs.
 */
export function serializeVideo(
  video: Video,
  rungs: Rendition[],
  owner: { id: string; username: string },
  urls: PlaybackUrls,
  tracks: { captions: Caption[]; base: string | null } = { captions: [], base: null },
  standing: QueueStanding = NOT_WAITING,
  playable = video.version !== null,
) {
  return {
    id: video.id,
    slug: video.slug,
    title: video.title,
    description: video.description,
    visibility: video.visibility,
    status: video.status,
    progress: video.progress,
    error: video.errorCode ? { code: video.errorCode, message: video.errorMessage ?? "" } : null,
    duration: video.duration,
    width: video.width,
    height: video.height,
    size: video.size,
    max_resolution: `${video.maxResolution}p`,
    renditions: rungs
      .filter((r) => r.kind === "video")
      .sort((a, b) => (b.height ?? 0) - (a.height ?? 0))
      .map((r) => ({ height: r.height, width: r.width, bandwidth: r.bandwidth, codecs: r.codecs })),
    ...urls,
    playable,
    poster_time: video.posterTime,
    captions: tracks.captions.map((t) => ({
      lang: t.lang,
      label: t.label,
      url: tracks.base === null ? null : captionUrl(tracks.base, t.lang),
    })),
    downloadable: video.downloadable,
    queue_position: standing.queuePosition,
    estimated_start_at: standing.estimatedStartAt,
    owner: { id: owner.id, username: owner.username },
    created_at: video.createdAt.toISOString(),
    updated_at: video.updatedAt.toISOString(),
  };
}

export type VideoJson = ReturnType<typeof serializeVideo>;
