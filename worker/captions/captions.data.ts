/**
 * Caption rows in D1 (the files themselves are at `captionKey`): listed for the video JSON and the
 * manifests, written by the captions API. Functions take the db they work on.
 */
import { and, asc, eq, inArray } from "drizzle-orm";
import type { Database } from "../db/client";
import { type Caption, type CaptionKind, captions } from "../db/schema";

/** The caption tracks of one video, by language tag. */
export async function captionsOf(db: Database, videoId: string): Promise<Caption[]> {
  return db.select().from(captions).where(eq(captions.videoId, videoId)).orderBy(asc(captions.lang)).all();
}

/** The caption tracks of several videos at once (a page of the list), by video id. */
export async function captionsByVideo(db: Database, videoIds: readonly string[]): Promise<Map<string, Caption[]>> {
  const byVideo = new Map<string, Caption[]>(videoIds.map((id) => [id, []]));
  if (videoIds.length === 0) return byVideo;
  const rows = await db
    .select()
    .from(captions)
    .where(inArray(captions.videoId, [...videoIds]))
    .orderBy(asc(captions.lang))
    .all();
  for (const row of rows) byVideo.get(row.videoId)?.push(row);
  return byVideo;
}

/** Adds a track, or replaces the one in the same language; returns the row and whether it is new. */
export async function saveCaption(
  db: Database,
  track: { videoId: string; lang: string; label: string; kind: CaptionKind; size: number },
  now = new Date(),
): Promise<{ caption: Caption; created: boolean }> {
  const existing = await db
    .select({ lang: captions.lang })
    .from(captions)
    .where(and(eq(captions.videoId, track.videoId), eq(captions.lang, track.lang)))
    .get();
  const [caption] = await db
    .insert(captions)
    .values({ ...track, createdAt: now, updatedAt: now })
    .onConflictDoUpdate({
      target: [captions.videoId, captions.lang],
      set: { label: track.label, kind: track.kind, size: track.size, updatedAt: now },
    })
    .returning();
  if (!caption) throw new Error(`caption ${track.lang} of ${track.videoId} was not written`);
  return { caption, created: !existing };
}

/** Removes a track's row; false when the video had none in that language. */
export async function removeCaption(db: Database, videoId: string, lang: string): Promise<boolean> {
  const removed = await db
    .delete(captions)
    .where(and(eq(captions.videoId, videoId), eq(captions.lang, lang)))
    .returning({ lang: captions.lang });
  return removed.length > 0;
}
