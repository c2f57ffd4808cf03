/**
 * The tus 1.0 server (@tus/server) wired to this platform: a DataStore over upload sessions
 * (./session.ts) checked by the upload policy (./policy.ts), and a Locker over the UploadLock
 * Durable Object.
 * The upload id is the video id, so the `Location` of a new upload names its video.
 */

import type { Readable } from "node:stream";
import { Server } from "@tus/server";
import { DataStore, ERRORS, type Lock, type Locker, TUS_RESUMABLE, TUS_VERSION, Upload } from "@tus/utils";
import { ApiError } from "../app/errors";
import type { Logger } from "../app/logger";
import type { Settings } from "../app/settings";
import type { Database } from "../db/client";
import type { ObjectStore } from "../storage/store";
import type { BufferPool } from "./buffer-pool";
import { checkUploadFields, loadUploadPolicy } from "./policy";
import { type SessionStore, UploadSession } from "./session";
import { dropVideoUpload, queueVideoUpload, startVideoUpload, uploadExpiryMs } from "./video-upload";

export const TUS_PATH = "/api/uploads";

/** A tus error: `@tus/server` answers `status_code` with `body`. */
const tusError = (status_code: number, code: string, message: string, details?: unknown) => ({
  status_code,
  body: JSON.stringify({ error: { code, message, ...(details === undefined ? {} : { details }) } }),
});

/** A refusal of the upload policy (or the session writer), as @tus/server answers it. */
const asTusError = (err: ApiError) => tusError(err.status, err.code, err.message, err.details);

/**
 * The refusals @tus/server answers differently from the tus 1.0 specification, made here before it
 * runs: a missing or other `Tus-Resumable` is 412 with `Tus-Version` (it answers another version
 * 400), a PATCH without `Content-Type: application/offset+octet-stream` is 415 (it answers 400, or
 * 403 without the header), and a PATCH without `Upload-Offset` is 400 (it answers 403).
 */
export function tusProtocolError(req: Request): ApiError | null {
  if (req.method === "OPTIONS" || req.method === "GET") return null;
  const headers = { "Tus-Resumable": TUS_RESUMABLE };
  if (req.headers.get("tus-resumable") !== TUS_RESUMABLE) {
    const message = `Send Tus-Resumable: ${TUS_RESUMABLE}, the protocol version spoken here`;
    return new ApiError("precondition_failed", message, {
      headers: { ...headers, "Tus-Version": TUS_VERSION.join(",") },
    });
  }
  if (req.method !== "PATCH") return null;
  if (req.headers.get("content-type") !== "application/offset+octet-stream") {
    const message = "PATCH bodies are sent as Content-Type: application/offset+octet-stream";
    return new ApiError("unsupported_media_type", message, { headers });
  }
  if (req.headers.get("upload-offset") === null) {
    return new ApiError("bad_request", "PATCH requires Upload-Offset", { headers });
  }
  return null;
}

export interface TusContext {
  db: Database;
  storage: ObjectStore;
  queue: Queue;
  locks: DurableObjectNamespace<import("../durable/upload-lock").UploadLock>;
  settings: Settings;
  logger: Logger;
  userId: string;
  /** Where the request body's chunks go back once stored (the body was read through `coalesce`). */
  chunks?: BufferPool;
}

/** At most this much of a refused request is read (and discarded) before answering. */
const DRAIN_LIMIT = 128 * 1024 * 1024;

async function drain(iterator: AsyncIterator<Uint8Array>, limit: number) {
  let read = 0;
  try {
    while (read < limit) {
      const { value, done } = await iterator.next();
      if (done) return;
      read += value.length;
    }
  } catch {
    // The client went away: nothing left to drain.
  }
}

export class R2TusStore extends DataStore {
  private readonly ctx: TusContext;
  private readonly store: SessionStore;
  /** The refusal of the content of this request, if any (see write). */
  refusal: { status_code: number; body: string } | undefined;

  constructor(ctx: TusContext) {
    super();
    this.ctx = ctx;
    this.store = { db: ctx.db, storage: ctx.storage };
    this.extensions = ["creation", "creation-with-upload", "termination", "expiration"];
  }

  override getExpiration(): number {
    return uploadExpiryMs(this.ctx.settings);
  }

  private async ownSession(id: string) {
    const session = await UploadSession.find(this.store, id);
    // Another user's upload is reported as missing, never as forbidden; so are a direct upload,
    // whose bytes go to the bucket, and an import, whose bytes the Worker fetches itself.
    const via = session?.metadata.via;
    if (!session || session.userId !== this.ctx.userId || via === "direct" || via === "import")
      throw ERRORS.FILE_NOT_FOUND;
    this.ctx.logger.annotate({ videoId: session.videoId });
    return session;
  }

  override async create(upload: Upload): Promise<Upload> {
    const { settings, userId } = this.ctx;
    const meta = upload.metadata ?? {};
    // onUploadCreate accepted these; parsed again for their values.
    const fields = checkUploadFields(meta, "metadata", settings);
    await startVideoUpload(this.store, settings, {
      id: upload.id,
      userId,
      fields,
      filename: meta.filename ?? null,
      contentType: meta.filetype ?? null,
      length: upload.size ?? 0,
      metadata: meta,
    });
    upload.creation_date = new Date().toISOString();
    return upload;
  }

  override async getUpload(id: string): Promise<Upload> {
    const session = await this.ownSession(id);
    return new Upload({
      id,
      size: session.length ?? undefined,
      offset: session.offset,
      metadata: session.metadata,
      creation_date: session.createdAt.toISOString(),
    });
  }

  override async write(stream: Readable, id: string, offset: number): Promise<number> {
    const { db, settings, userId, queue, logger } = this.ctx;
    const session = await this.ownSession(id);
    if (session.offset !== offset) throw ERRORS.INVALID_OFFSET;
    const policy = await loadUploadPolicy(db, settings, userId, { except: session.videoId });
    // Read through an iterator that a refusal does not close, so the rest of the body can be
    // drained: a client gets the answer only once it has finished sending.
    const iterator = (stream as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
    const chunks: AsyncIterable<Uint8Array> = { [Symbol.asyncIterator]: () => ({ next: () => iterator.next() }) };
    let newOffset: number;
    try {
      newOffset = await session.write(chunks, {
        consumed: (chunk) => this.ctx.chunks?.give(chunk),
        checks: policy.writeChecks(session.metadata.filetype),
      });
    } catch (err) {
      if (err instanceof ApiError) {
        // Refused content keeps nothing: no parts, no row, no video.
        await dropVideoUpload(this.store, session);
        logger.info("upload refused", { videoId: session.videoId, reason: err.message });
        await drain(iterator, DRAIN_LIMIT);
        // Kept as well as thrown: when the client is still sending, @tus/server reports the broken
        // request stream ("aborted") rather than this error, and the answer must be the refusal.
        this.refusal = asTusError(err);
        throw this.refusal;
      }
      throw err;
    }
    if (session.complete) await queueVideoUpload({ db, queue, logger }, session, "tus");
    return newOffset;
  }

  override async remove(id: string): Promise<void> {
    const session = await this.ownSession(id);
    if (session.complete) throw tusError(400, "bad_request", "A finished upload is deleted with its video");
    await dropVideoUpload(this.store, session);
  }

  override async declareUploadLength(): Promise<void> {
    throw ERRORS.UNSUPPORTED_CREATION_DEFER_LENGTH_EXTENSION;
  }
}

const LEASE_MS = 60_000;

/** tus locks held in the UploadLock Durable Object of each upload. */
export class DurableObjectLocker implements Locker {
  private readonly ns: TusContext["locks"];
  constructor(ns: TusContext["locks"]) {
    this.ns = ns;
  }

  newLock(id: string): Lock {
    const stub = this.ns.get(this.ns.idFromName(id));
    const holder = crypto.randomUUID();
    let renew: ReturnType<typeof setInterval> | undefined;
    return {
      async lock(signal: AbortSignal) {
        let wait = 50;
        for (;;) {
          if (signal.aborted) throw ERRORS.ERR_LOCK_TIMEOUT;
          if (await stub.acquire(holder, LEASE_MS)) break;
          await new Promise((r) => setTimeout(r, wait));
          wait = Math.min(wait * 2, 1000);
        }
        renew = setInterval(() => {
          stub.acquire(holder, LEASE_MS).catch(() => {});
        }, LEASE_MS / 3);
      },
      async unlock() {
        if (renew) clearInterval(renew);
        await stub.release(holder);
      },
    };
  }
}

export function createTusServer(ctx: TusContext): Server {
  return new Server({
    path: TUS_PATH,
    datastore: new R2TusStore(ctx),
    locker: new DurableObjectLocker(ctx.locks),
    // Advertised and applied to PATCH bodies; a new upload's length is the upload policy's to
    // refuse (in onUploadCreate), with the same answer as any other way in.
    maxSize: (req) => (req.method === "POST" ? 0 : ctx.settings.maxUploadSize),
    respectForwardedHeaders: false,
    disableTerminationForFinishedUploads: true,
    namingFunction: () => crypto.randomUUID(),
    async onUploadCreate(_req, upload) {
      const meta = upload.metadata ?? {};
      try {
        const policy = await loadUploadPolicy(ctx.db, ctx.settings, ctx.userId);
        policy.checkFields(meta, "metadata");
        policy.checkType(meta.filetype);
        if (!upload.size || upload.size <= 0) {
          throw new ApiError("bad_request", "Upload-Length is required and must be above 0");
        }
        policy.checkSize(upload.size);
      } catch (err) {
        throw err instanceof ApiError ? asTusError(err) : err;
      }
      return { metadata: meta };
    },
  });
}
