/**
 * An upload as a video: the video row (`uploading`) and its session are made together and dropped
 * together, whichever way the bytes come in. The session's expiry is what lets the sweep drop
 * both when an upload never finishes (an abandoned tus upload, a Worker that died mid-request).
 */
import { and, eq, sql } from "drizzle-orm";
import type { Logger } from "../app/logger";
import type { Settings } from "../app/settings";
import type { Database } from "../db/client";
import { type Video, videos } from "../db/schema";
import { sourceKey } from "../storage/keys";
import { requestTranscode } from "../transcode/lifecycle";
import { slugCandidates } from "../videos/slug";
import { createVideo, deleteVideoRow } from "../videos/videos.data";
import type { UploadFields } from "./fields";
import { type SessionStore, UploadSession } from "./session";

export interface NewVideoUpload {
  /** The video's id, also the session's (a tus upload's Location names its video). */
  id?: string;
  userId: string;
  fields: UploadFields;
  filename: string | null;
  contentType: string | null;
  /** The declared length, or null when the upload's end is known only when it is finished. */
  length: number | null;
  metadata?: Record<string, string | null>;
  /** The multipart upload's part size (a direct upload's plan); the session's default otherwise. */
  partSize?: number;
}

/** The video row and its session; the session expires after UPLOAD_EXPIRY_HOURS. */
export async function startVideoUpload(
  store: SessionStore,
  settings: Settings,
  input: NewVideoUpload,
): Promise<{ video: Video; session: UploadSession }> {
  const video = await createVideo(store.db, {
    id: input.id,
    ownerId: input.userId,
    ...input.fields,
    filename: input.filename,
    contentType: input.contentType,
    size: input.length,
  });
  try {
    const session = await UploadSession.open(store, {
      id: video.id,
      videoId: video.id,
      userId: input.userId,
      length: input.length,
      metadata: input.metadata,
      contentType: input.contentType,
      partSize: input.partSize,
      expiresAt: new Date(Date.now() + uploadExpiryMs(settings)),
    });
    return { video, session };
  } catch (err) {
    await deleteVideoRow(store.db, video.id);
    throw err;
  }
}

export const uploadExpiryMs = (settings: Settings) => settings.uploadExpiryHours * 3600 * 1000;

/**
 * An upload that will not be a video (refused, cancelled, expired, or failed after its bytes were
 * in): its session, its source object if it was completed, and its video row go.
 */
export async function dropVideoUpload(store: SessionStore, session: UploadSession): Promise<void> {
  await session.abort();
  await store.storage.delete(sourceKey(session.videoId));
  await deleteVideoRow(store.db, session.videoId);
}

/** A finished upload's video goes to the transcode queue. */
export async function queueVideoUpload(
  deps: { db: Database; queue: Queue; logger: Logger },
  session: UploadSession,
  via: "classic" | "tus" | "direct" | "import",
): Promise<void> {
  await requestTranscode(deps.db, deps.queue, session.videoId);
  deps.logger.info("upload complete", { videoId: session.videoId, userId: session.userId, size: session.offset, via });
}

/**
 * Gives a video the fields its upload ended with (a form may send its title after the file).
 * A changed title gets the first free slug of its own, as a new video's would.
 */
export async function describeVideo(
  db: Database,
  video: Video,
  update: { fields: UploadFields; size: number },
): Promise<Video> {
  const values = { ...update.fields, size: update.size };
  const slugs = update.fields.title === video.title ? [video.slug] : slugCandidates(update.fields.title);
  for (const slug of slugs) {
    const [row] = await db
      .update(videos)
      .set({ ...values, slug, updatedAt: new Date() })
      .where(
        and(
          eq(videos.id, video.id),
          sql`not exists (select 1 from ${videos} as taken where taken.slug = ${slug} and taken.id != ${video.id})`,
        ),
      )
      .returning();
    if (row) return row;
  }
  throw new Error("could not find a free slug");
}
