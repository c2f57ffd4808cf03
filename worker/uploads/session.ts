/**
 * An upload session: one multipart upload at the video's source key, in an ObjectStore (the R2
 * binding or an S3-compatible bucket), and a row in D1 with the exact offset, the stored parts
 * and an expiry (past which the sweep aborts it). Every way in writes through it: tus (one write
 * per PATCH, complete when the declared length is reached) and the classic form (one write of
 * unknown length, then `finish()` once the form is accepted).
 *
 * Bytes of any chunking are re-cut into parts of `partSize` (R2's rule, the stricter: every part
 * but the last the same size). Whatever does not make a whole part when a write ends (or breaks)
 * is kept as a temporary object and joined with the next write's bytes, so the offset is exact
 * after an interrupted request or a crash: D1 only ever records bytes that are durable in
 * storage. A write marked `last` keeps that tail in memory for `finish()` instead, so a
 * one-request upload never stores and reads back a tail.
 */
import { eq, sql } from "drizzle-orm";
import { ApiError } from "../app/errors";
import type { Database } from "../db/client";
import { type Upload, uploads } from "../db/schema";
import { sourceKey, tailKey } from "../storage/keys";
import type { MultipartUpload, ObjectStore, UploadedPart } from "../storage/store";
import { PartAccumulator } from "./parts";
import { SNIFF_BYTES } from "./sniff";

export const DEFAULT_PART_SIZE = 10 * 1024 * 1024;

/** Where sessions live: their rows in D1, their bytes in an object store (the services' `storage`). */
export interface SessionStore {
  db: Database;
  storage: ObjectStore;
}

export interface NewSession {
  /** The session's id (tus: the upload id, which is the video id). */
  id: string;
  videoId: string;
  userId: string;
  /** Bytes the upload will have, or null when its end is known only by `finish()`. */
  length: number | null;
  partSize?: number;
  /** What the client said of the upload (tus `Upload-Metadata`), returned by `metadata`. */
  metadata?: Record<string, string | null>;
  /** The content type the source object is stored with. */
  contentType?: string | null;
  expiresAt: Date;
}

/**
 * Rules a write applies to the bytes as they arrive (the upload policy's); each throws to refuse.
 * A refused write stores nothing more, and its error is rethrown: the caller aborts the session.
 */
export interface WriteChecks {
  /** Sees the upload's first bytes once: SNIFF_BYTES of them, or all of a smaller upload. */
  head?(head: Uint8Array): void;
  /** Sees the upload's size so far before each chunk is taken. */
  size?(bytes: number): void;
}

export interface WriteOptions {
  checks?: WriteChecks;
  /** Called with each chunk once its bytes are copied out of it: the caller may reuse it. */
  consumed?: (chunk: Uint8Array) => void;
  /**
   * These are the upload's last bytes (a session of unknown length): the length is recorded, and
   * what does not fill a part stays in memory for `finish()` or `abort()`, which must follow on
   * the same session in the same request.
   */
  last?: boolean;
}

export class UploadSession {
  private readonly store: SessionStore;
  private row: Upload;
  private readonly parts: UploadedPart[];
  /** The unfilled part after a `last` write, waiting for `finish()`. */
  private held: PartAccumulator | undefined;
  /** Bytes taken, held ones included (the row's offset counts only durable bytes). */
  private received: number;

  /** A session from its row (e.g. one the sweep selected). */
  constructor(store: SessionStore, row: Upload) {
    this.store = store;
    this.row = row;
    this.parts = JSON.parse(row.parts) as UploadedPart[];
    this.received = row.offset;
  }

  /** Starts the multipart upload and records the session. */
  static async open(store: SessionStore, input: NewSession): Promise<UploadSession> {
    const multipart = await store.storage.createMultipartUpload(sourceKey(input.videoId), {
      contentType: input.contentType || "application/octet-stream",
    });
    try {
      const [row] = await store.db
        .insert(uploads)
        .values({
          id: input.id,
          videoId: input.videoId,
          userId: input.userId,
          length: input.length,
          offset: 0,
          r2UploadId: multipart.uploadId,
          partSize: input.partSize ?? DEFAULT_PART_SIZE,
          metadata: JSON.stringify(input.metadata ?? {}),
          expiresAt: input.expiresAt,
        })
        .returning();
      if (!row) throw new Error("upload row not created");
      return new UploadSession(store, row);
    } catch (err) {
      await multipart.abort().catch(() => {});
      throw err;
    }
  }

  static async find(store: SessionStore, id: string): Promise<UploadSession | undefined> {
    const row = await store.db.select().from(uploads).where(eq(uploads.id, id)).get();
    return row ? new UploadSession(store, row) : undefined;
  }

  get id(): string {
    return this.row.id;
  }
  get videoId(): string {
    return this.row.videoId;
  }
  get userId(): string {
    return this.row.userId;
  }
  get createdAt(): Date {
    return this.row.createdAt;
  }
  /** The multipart upload's id in the store (what presigned part URLs are made for). */
  get uploadId(): string {
    return this.row.r2UploadId ?? "";
  }
  /** The declared length; for a session of unknown length, null until a `last` write ends. */
  get partSize(): number {
    return this.row.partSize;
  }

  get expiresAt(): Date {
    return this.row.expiresAt;
  }

  get length(): number | null {
    return this.row.length;
  }
  /** Bytes received: durable ones, and after a `last` write the ones held for `finish()`. */
  get offset(): number {
    return this.received;
  }
  get metadata(): Record<string, string | null> {
    return JSON.parse(this.row.metadata) as Record<string, string | null>;
  }
  /** Every byte is in the source object. */
  get complete(): boolean {
    return this.row.length !== null && this.row.offset === this.row.length;
  }

  /**
   * Appends bytes at the offset; returns the new offset. A session of known length completes
   * when its last byte arrives. When the stream breaks, what was received is made durable (the
   * offset stays exact) and the error is rethrown; a refusal by `checks` stores nothing more.
   */
  async write(chunks: AsyncIterable<Uint8Array>, options: WriteOptions = {}): Promise<number> {
    if (this.complete || this.held) throw new Error(`upload ${this.id} takes no more bytes`);
    const { db } = this.store;
    const { checks = {} } = options;
    const length = this.row.length ?? Number.POSITIVE_INFINITY;
    const partSize = this.row.partSize;
    const parts = this.parts;
    const multipart = this.multipart();
    const tail = await this.storedTail();
    const acc = new PartAccumulator(partSize, tail);
    const needHead = Math.min(SNIFF_BYTES, length);
    let head: Uint8Array | null = this.row.offset < needHead ? (tail ?? new Uint8Array(0)) : null;
    let received = this.row.offset;
    const partsBefore = parts.length;
    let refused = false;
    let ended = false;
    let kept = false;
    const refuse = (check: () => void) => {
      try {
        check();
      } catch (err) {
        refused = true;
        throw err;
      }
    };

    // One part more in the row: SQLite appends it to the stored list, so the Worker sends a few
    // bytes per part rather than the whole list again (which grew with the upload: quadratic in
    // its size). The offset is counted from the stored list itself, so the two always agree.
    const recordPart = async (part: UploadedPart) => {
      await db
        .update(uploads)
        .set({
          parts: sql`json_insert(${uploads.parts}, '$[#]', json(${JSON.stringify(part)}))`,
          offset: sql`(json_array_length(${uploads.parts}) + 1) * ${partSize}`,
          updatedAt: new Date(),
        })
        .where(eq(uploads.id, this.id));
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
          refuse(() => {
            throw new ApiError("payload_too_large", `The upload would exceed its declared length of ${length} bytes`);
          });
        }
        if (checks.size) refuse(() => checks.size?.(received + chunk.length));
        received += chunk.length;
        if (head && checks.head) {
          head = withHead(head, chunk, needHead);
          if (head.length >= needHead) {
            const full = head;
            refuse(() => checks.head?.(full));
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
      const end = head;
      // The whole upload is smaller than the sniffed head: it is checked once its end is known.
      if (end && checks.head && (received === length || options.last)) refuse(() => checks.head?.(end));
      ended = true;
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
            .where(eq(uploads.id, this.id));
          this.row = { ...this.row, offset: parts.length * partSize };
          this.received = this.row.offset;
        } else if (!refused) {
          // Only a write that ended cleanly holds its tail: one that broke keeps it durable, so
          // the session can go on from its exact offset.
          kept = await this.keep(acc, received, ended && options.last === true);
        } else if (parts.length > partsBefore) {
          // Refused after some parts were stored: the row counts those (the caller aborts).
          this.row = { ...this.row, offset: parts.length * partSize };
          this.received = this.row.offset;
        }
      } finally {
        // No part is uploading any more and the tail is copied out (or held): the buffer can
        // serve others.
        if (!kept) acc.release();
      }
    }
    await inflight;
    return this.received;
  }

  /**
   * Completes the source object of a session of unknown length (after a `last` write, or in a
   * later request from its stored tail), recording its length; a complete session is left as it
   * is. `checks.head` sees a whole upload smaller than the sniffed head that no write checked.
   */
  async finish(checks: WriteChecks = {}): Promise<void> {
    if (this.complete) return;
    if (this.row.length !== null && this.received !== this.row.length) {
      throw new Error(`upload ${this.id} has ${this.received} of its ${this.row.length} bytes`);
    }
    if (this.received === 0) throw new Error(`upload ${this.id} has no bytes to finish`);
    const acc = this.held ?? new PartAccumulator(this.row.partSize, await this.storedTail());
    this.held = undefined;
    try {
      const rest = acc.drain();
      if (this.received < SNIFF_BYTES && checks.head) checks.head(rest);
      await this.completeSource(rest, this.received);
    } finally {
      acc.release();
    }
  }

  /**
   * Completes a session whose parts someone else stored (a client, through presigned part URLs)
   * from their list, in place of any bytes written here; records the size the object has.
   */
  async finishWithParts(parts: UploadedPart[]): Promise<void> {
    if (this.complete) return;
    if (this.held || this.received > 0) throw new Error(`upload ${this.id} has bytes written through the Worker`);
    const object = await this.multipart().complete(parts);
    const done = { parts: JSON.stringify(parts), offset: object.size, length: object.size, updatedAt: new Date() };
    await this.store.db.update(uploads).set(done).where(eq(uploads.id, this.id));
    this.row = { ...this.row, ...done };
    this.parts.splice(0, this.parts.length, ...parts);
    this.received = object.size;
  }

  /**
   * Drops everything an unfinished session holds: the multipart upload, the tail, the row. A
   * complete session only loses its row (its object is the video's source).
   */
  async abort(): Promise<void> {
    const { db, storage } = this.store;
    this.held?.release();
    this.held = undefined;
    if (!this.complete && this.row.r2UploadId) {
      await this.multipart()
        .abort()
        .catch(() => {});
    }
    await storage.delete(tailKey(this.id));
    await db.delete(uploads).where(eq(uploads.id, this.id));
  }

  private multipart(): MultipartUpload {
    return this.store.storage.resumeMultipartUpload(sourceKey(this.videoId), this.row.r2UploadId ?? "");
  }

  /** The stored bytes past the last whole part, if any. */
  private async storedTail(): Promise<Uint8Array | undefined> {
    const size = this.row.offset - this.parts.length * this.row.partSize;
    if (size <= 0) return undefined;
    const stored = await this.store.storage.get(tailKey(this.id), { range: { offset: 0, length: size } });
    if (!stored) throw new Error(`the held-back bytes of upload ${this.id} are missing`);
    return new Uint8Array(await stored.arrayBuffer());
  }

  /**
   * After a write's bytes are in: completes a session that reached its length, holds the tail
   * of a `last` write (returns true: the accumulator is kept), or stores the tail so the next
   * write picks it up. The object first, then the offset: D1 never counts bytes storage does not hold.
   */
  private async keep(acc: PartAccumulator, received: number, last: boolean): Promise<boolean> {
    const durable = this.parts.length * this.row.partSize;
    if (received === this.row.length) {
      await this.completeSource(acc.drain(), received);
      return false;
    }
    this.received = received;
    if (last) {
      // The length is known now: recorded, so that no later request can finish the upload
      // without the held bytes (it would find fewer bytes than that; the sweep aborts it).
      await this.store.db
        .update(uploads)
        .set({ length: received, updatedAt: new Date() })
        .where(eq(uploads.id, this.id));
      this.row = { ...this.row, offset: durable, length: received };
      this.held = acc;
      return true;
    }
    const rest = acc.drain();
    if (rest.length > 0) await this.store.storage.put(tailKey(this.id), rest);
    const offset = durable + rest.length;
    await this.store.db.update(uploads).set({ offset, updatedAt: new Date() }).where(eq(uploads.id, this.id));
    this.row = { ...this.row, offset };
    return false;
  }

  /** Stores `rest` as the last part, completes the multipart upload and records the final length. */
  private async completeSource(rest: Uint8Array, length: number) {
    if (rest.length > 0) {
      const partNumber = this.parts.length + 1;
      const uploaded = await this.multipart().uploadPart(partNumber, rest);
      this.parts.push({ partNumber, etag: uploaded.etag });
    }
    await this.multipart().complete(this.parts);
    await this.store.storage.delete(tailKey(this.id));
    const done = { parts: JSON.stringify(this.parts), offset: length, length, updatedAt: new Date() };
    await this.store.db.update(uploads).set(done).where(eq(uploads.id, this.id));
    this.row = { ...this.row, ...done };
    this.received = length;
  }
}

/** `head` extended by the start of `chunk`, up to `size` bytes. */
function withHead(head: Uint8Array, chunk: Uint8Array, size: number): Uint8Array {
  const merged = new Uint8Array(Math.min(size, head.length + chunk.length));
  merged.set(head.subarray(0, merged.length));
  if (merged.length > head.length) merged.set(chunk.subarray(0, merged.length - head.length), head.length);
  return merged;
}
