/**
 * Which version a video's playback paths serve: the published one (`videos.version`), or, for a
 * video that has none yet, the version its unfinished job is making once the start of it is
 * stored with manifests for the whole (`jobs.playable_at`, set by a chunked encode's first chunk).
 * Such a version is provisional: its manifests are predicted and replaced when the job completes,
 * and some of its segments are still being encoded.
 */
import { and, inArray, isNotNull } from "drizzle-orm";
import type { Database } from "../db/client";
import { ACTIVE_JOB_STATUSES, jobs, type Video } from "../db/schema";

export interface ServedVersion {
  version: string;
  /** True while the version is still being made: it plays, but not all of it is stored yet. */
  provisional: boolean;
  /** The job making a provisional version; null for a published one. */
  jobId: string | null;
}

/** For those of these videos that have no published version: the version they play while processing, by video. */
export async function provisionalVersions(
  db: Database,
  videos: Pick<Video, "id" | "version">[],
): Promise<Map<string, ServedVersion>> {
  const unpublished = videos.filter((v) => v.version === null).map((v) => v.id);
  const served = new Map<string, ServedVersion>();
  if (unpublished.length === 0) return served;
  const rows = await db
    .select({ id: jobs.id, videoId: jobs.videoId, version: jobs.version })
    .from(jobs)
    .where(
      and(inArray(jobs.videoId, unpublished), inArray(jobs.status, ACTIVE_JOB_STATUSES), isNotNull(jobs.playableAt)),
    )
    .all();
  for (const row of rows) served.set(row.videoId, { version: row.version, provisional: true, jobId: row.id });
  return served;
}

/** The version a video's playback serves, or null while it has nothing to play. */
export async function servedVersionOf(
  db: Database,
  video: Pick<Video, "id" | "version">,
): Promise<ServedVersion | null> {
  if (video.version) return { version: video.version, provisional: false, jobId: null };
  return (await provisionalVersions(db, [video])).get(video.id) ?? null;
}

/** Whether the video plays: it has a published version, or a provisional one. */
export const isPlayable = (video: Pick<Video, "version">, provisional: ServedVersion | undefined | null) =>
  video.version !== null || (provisional ?? null) !== null;

/**
 * How long a manifest may be kept: a minute for a published version's; a provisional version's
 * is revalidated on every use (its ETag changes when the finished manifests replace it).
 */
export const manifestCacheControl = (privately: boolean, provisional: boolean) =>
  `${privately ? "private" : "public"}, ${provisional ? "no-cache" : "max-age=60"}`;
