/**
 * Resumable uploads into one R2 multipart upload per video, with the exact offset in D1.
 *
 * Bytes of any chunking are re-cut into parts of `partSize` (R2 wants every part but the last the
 * same size). Whatever does not make a whole part when a request ends (or breaks) is kept as a
 * temporary object and joined with the next request's bytes, so the offset is exact after an
 * interrupted request or a crash: D1 only ever records bytes that are durable in R2.
 */
import { eq, sql } from "drizzle-orm";
import type { Database } from "../db/client";
import { type Upload, uploads } from "../db/schema";
import { sourceKey, tailKey } from "../storage/keys";
import { PartAccumulator } from "./parts";
import { SNIFF_BYTES } from "./sniff";

export const DEFAULT_PART_SIZE = 10 * 1024 * 1024;

interface StoredPart {
  partNumber: number;
  etag: string;
}

export class UploadRefused extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export interface NewSession {
  id: string;
  videoId: string;
  userId: string;
  length: number;
  partSize?: number;
  metadata: Record<string, string | null>;
  expiresAt: Date;
}

export async function createSession(db: Database, bucket: R2Bucket, input: NewSession): Promise<Upload> {
  const multipart = await bucket.createMultipartUpload(sourceKey(input.videoId));
  const [row] = await db
    .insert(uploads)
    .values({
      id: input.id,
      videoId: input.videoId,
      userId: input.userId,
      length: input.length,
      offset: 0,
      r2UploadId: multipart.uploadId,
      partSize: input.partSize ?? DEFAULT_PART_SIZE,
      metadata: JSON.stringify(input.metadata),
      expiresAt: input.expiresAt,
    })
    .returning();
  if (!row) throw new Error("upload row not created");
  return row;
}

export async function findSession(db: Database, id: string): Promise<Upload | undefined> {
  return db.select().from(uploads).where(eq(uploads.id, id)).get();
}

export const isComplete = (session: Upload) => session.length !== null && session.offset === session.length;

export interface AppendOptions {
  /** Sees the first bytes of the upload once (at least SNIFF_BYTES, or all of a smaller file); throw to refuse. */
  checkHead?: (head: Uint8Array) => void;
  /** Called with each chunk once its bytes are copied out of it: the caller may reuse it. */
  consumed?: (chunk: Uint8Array) => void;
}

/**
 * Appends a request's bytes at the session's offset; returns the new offset. Persists what was
 * received even when the stream breaks, then rethrows. Completes the R2 upload at the end.
 */
export async function appendToSession(
  db: Database,
  bucket: R2Bucket,
  session: Upload,
  chunks: AsyncIterable<Uint8Array>,
  options: AppendOptions = {},
): Promise<number> {
  const length = session.length ?? Number.POSITIVE_INFINITY;
  const partSize = session.partSize;
  const parts = JSON.parse(session.parts) as StoredPart[];
  const tailSize = session.offset - parts.length * partSize;
  const key = sourceKey(session.videoId);
  const multipart = bucket.resumeMultipartUpload(key, session.r2UploadId ?? "");

  let tail: Uint8Array | undefined;
  if (tailSize > 0) {
    const stored = await bucket.get(tailKey(session.id), { range: { offset: 0, length: tailSize } });
    if (!stored) throw new Error(`the held-back bytes of upload ${session.id} are missing`);
    tail = new Uint8Array(await stored.arrayBuffer());
  }
  const acc = new PartAccumulator(partSize, tail);
  const needHead = Math.min(SNIFF_BYTES, length);
  let head: Uint8Array | null = session.offset < needHead ? (tail ?? new Uint8Array(0)) : null;
  let received = session.offset;
  let refused = false;

  // One part more in the row: SQLite appends it to the stored list, so the Worker sends a few bytes
  // per part rather than the whole list again (which grew with the upload: quadratic in its size).
  // The offset is counted from the stored list itself, so the two always agree.
  const recordPart = async (part: StoredPart) => {
    await db
      .update(uploads)
      .set({
        parts: sql`json_insert(${uploads.parts}, '$[#]', json(${JSON.stringify(part)}))`,
        offset: sql`(json_array_length(${uploads.parts}) + 1) * ${partSize}`,
        updatedAt: new Date(),
      })
      .where(eq(uploads.id, session.id));
  };

  // One part uploads while the next fills: receiving and storing overlap, and memory stays at
  // two parts whatever the upload's size.
  let inflight: Promise<void> = Promise.resolve();
  let nextPart = parts.length + 1;
  const uploadPart = async (partNumber: number, bytes: Uint8Array) => {
    const uploaded = await multipart.uploadPart(partNumber, bytes);
    acc.recycle(bytes);
    const part = { partNumber, etag: uploaded.etag };
    await recordPart(part);
    parts.push(part);
  };

  try {
    for await (const chunk of chunks) {
      if (received + chunk.length > length) {
        refused = true;
        throw new UploadRefused(413, `The upload would exceed its declared length of ${length} bytes`);
      }
      received += chunk.length;
      if (head && options.checkHead) {
        const merged = new Uint8Array(Math.min(needHead, head.length + chunk.length));
        merged.set(head.subarray(0, merged.length));
        if (merged.length > head.length) merged.set(chunk.subarray(0, merged.length - head.length), head.length);
        head = merged;
        if (head.length >= needHead) {
          try {
            options.checkHead(head);
          } catch (err) {
            refused = true;
            throw err;
          }
          head = null;
        }
      }
      const full = acc.push(chunk);
      options.consumed?.(chunk);
      for (const part of full) {
        await inflight;
        inflight = uploadPart(nextPart++, part);
      }
    }
  } finally {
    const partsStored = await inflight.then(
      () => true,
      () => false,
    );
    try {
      if (!partsStored) {
        // A part failed: the offset falls back to the parts that are stored; the rest is resent.
        await db
          .update(uploads)
          .set({ offset: sql`json_array_length(${uploads.parts}) * ${partSize}`, updatedAt: new Date() })
          .where(eq(uploads.id, session.id));
      } else if (!refused) {
        await persistTail();
      }
    } finally {
      // No part is uploading any more and the tail is copied out: the buffer can serve others.
      acc.release();
    }
  }
  await inflight;
  return received;

  async function persistTail() {
    const rest = acc.drain();
    const durable = parts.length * partSize;
    if (received === length) {
      if (head && options.checkHead) options.checkHead(head);
      if (rest.length > 0) {
        const partNumber = parts.length + 1;
        const uploaded = await multipart.uploadPart(partNumber, rest);
        parts.push({ partNumber, etag: uploaded.etag });
      }
      await multipart.complete(parts);
      await bucket.delete(tailKey(session.id));
      await db
        .update(uploads)
        .set({ parts: JSON.stringify(parts), offset: length, updatedAt: new Date() })
        .where(eq(uploads.id, session.id));
      return;
    }
    if (rest.length > 0) {
      // The object first, then the offset: D1 never counts bytes R2 does not hold.
      await bucket.put(tailKey(session.id), rest);
    }
    received = durable + rest.length;
    await db.update(uploads).set({ offset: received, updatedAt: new Date() }).where(eq(uploads.id, session.id));
  }
}

/** Drops everything an unfinished upload holds: the R2 multipart upload, the tail, the row. */
export async function discardSession(db: Database, bucket: R2Bucket, session: Upload) {
  if (!isComplete(session) && session.r2UploadId) {
    await bucket
      .resumeMultipartUpload(sourceKey(session.videoId), session.r2UploadId)
      .abort()
      .catch(() => {});
  }
  await bucket.delete(tailKey(session.id));
  await db.delete(uploads).where(eq(uploads.id, session.id));
}
