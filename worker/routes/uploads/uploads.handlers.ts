import type { Context } from "hono";
import { ApiError, statusToCode } from "../../app/errors";
import type { AppEnv } from "../../app/types";
import { currentUser } from "../../auth/authenticate";
import { publicPlaybackUrls } from "../../playback/urls";
import { sourceKey } from "../../storage/keys";
import { requestTranscode } from "../../transcode/lifecycle";
import { chunkBuffers } from "../../uploads/buffer-pool";
import { coalesce } from "../../uploads/coalesce";
import { declaredTypeError, parseUploadFields } from "../../uploads/fields";
import { boundaryOf, type FormPart, MultipartError, readMultipart } from "../../uploads/multipart-form";
import { PartAccumulator } from "../../uploads/parts";
import { DEFAULT_PART_SIZE } from "../../uploads/resumable";
import { checkDeclaredType, SNIFF_BYTES } from "../../uploads/sniff";
import { createTusServer, type R2TusStore, storedBytes, tusProtocolError } from "../../uploads/tus";
import { createVideo, serializeVideo } from "../../videos/videos.data";

type C = Context<AppEnv>;

const TEXT_FIELDS = new Set(["title", "description", "visibility", "max_resolution"]);

/** Reads the first bytes of a part (up to `n`), returning them and the rest of the stream. */
async function splitHead(body: AsyncIterable<Uint8Array>, n: number) {
  const iterator = body[Symbol.asyncIterator]();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (size < n) {
    const { value, done } = await iterator.next();
    if (done) break;
    chunks.push(value);
    size += value.length;
  }
  const head = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    head.set(c, at);
    at += c.length;
  }
  async function* rest() {
    for (;;) {
      const { value, done } = await iterator.next();
      if (done) return;
      yield value;
    }
  }
  return { head, rest: rest() };
}

/**
 * POST /api/videos/upload/: one multipart/form-data request, read as a stream. The file's bytes
 * go straight into an R2 multipart upload in fixed-size parts; nothing holds the whole body.
 */
export async function classicUpload(c: C) {
  const { db, settings, logger } = c.var;
  const user = currentUser(c);
  const declaredLength = Number(c.req.header("content-length") ?? Number.NaN);
  if (declaredLength > settings.maxUploadSize + 64 * 1024) {
    throw new ApiError("payload_too_large", `An upload is at most ${settings.maxUploadSize} bytes`);
  }
  const boundary = boundaryOf(c.req.header("content-type"));
  if (!boundary || !c.req.raw.body) {
    throw new ApiError("unsupported_media_type", "Send multipart/form-data with a `file` field and a `title`");
  }
  const quota = settings.userStorageQuotaBytes;
  const used = quota > 0 ? await storedBytes(db, user.id) : 0;
  const fields: Record<string, string> = {};
  const videoId = crypto.randomUUID();
  let multipart: R2MultipartUpload | undefined;
  let file: { size: number; filename: string | null; contentType: string | null } | undefined;
  const parts: R2UploadedPart[] = [];

  try {
    for await (const part of readMultipart(coalesce(c.req.raw.body), boundary)) {
      if (TEXT_FIELDS.has(part.name)) {
        fields[part.name] = await part.text(16 * 1024);
        if (part.name === "title") {
          // Refuse a bad title before any byte of a later file is kept.
          const early = parseUploadFields({ title: fields.title }, settings);
          if (!early.ok) throw new ApiError("validation_error", "Invalid upload fields", { details: early.errors });
        }
      } else if (part.name === "file" && !file) {
        file = await storeFile(part);
      } else {
        await part.drain();
      }
    }
  } catch (err) {
    await multipart?.abort().catch(() => {});
    if (err instanceof MultipartError) throw new ApiError("bad_request", `Malformed multipart body: ${err.message}`);
    throw err;
  }

  if (!file || !multipart) {
    throw new ApiError("validation_error", "Invalid upload fields", {
      details: [{ path: "file", message: "A video file is required" }],
    });
  }
  const parsed = parseUploadFields(fields, settings);
  if (!parsed.ok) {
    await multipart.abort().catch(() => {});
    throw new ApiError("validation_error", "Invalid upload fields", { details: parsed.errors });
  }
  await multipart.complete(parts);
  const video = await createVideo(db, {
    id: videoId,
    ownerId: user.id,
    ...parsed.value,
    filename: file.filename,
    contentType: file.contentType,
    size: file.size,
  });
  await requestTranscode(db, c.env.TRANSCODE_QUEUE, video.id);
  logger.info("upload complete", { videoId, userId: user.id, size: file.size, via: "classic" });
  const queued = { ...video, status: "queued" as const };
  return c.json(serializeVideo(queued, [], user, publicPlaybackUrls(queued, new URL(c.req.url).origin)), 201);

  async function storeFile(part: FormPart) {
    const typeError = declaredTypeError(part.contentType);
    if (typeError) throw new ApiError("unsupported_media_type", typeError);
    const { head, rest } = await splitHead(part.body, SNIFF_BYTES);
    if (head.length === 0) {
      throw new ApiError("validation_error", "Invalid upload fields", {
        details: [{ path: "file", message: "The file is empty" }],
      });
    }
    const check = checkDeclaredType(part.contentType, head);
    if (!check.ok) throw new ApiError("unsupported_media_type", check.message);
    const upload = await c.env.MEDIA.createMultipartUpload(sourceKey(videoId), {
      httpMetadata: { contentType: part.contentType ?? "application/octet-stream" },
    });
    multipart = upload;
    const acc = new PartAccumulator(DEFAULT_PART_SIZE);
    let size = 0;
    const put = async (bytes: Uint8Array) => {
      parts.push(await upload.uploadPart(parts.length + 1, bytes));
    };
    const add = async (chunk: Uint8Array) => {
      size += chunk.length;
      if (size > settings.maxUploadSize) {
        throw new ApiError("payload_too_large", `An upload is at most ${settings.maxUploadSize} bytes`);
      }
      if (quota > 0 && used + size > quota) {
        throw new ApiError("payload_too_large", `This upload would exceed your storage quota of ${quota} bytes`);
      }
      for (const full of acc.push(chunk)) {
        await put(full);
        acc.recycle(full);
      }
    };
    await add(head);
    for await (const chunk of rest) await add(chunk);
    const tail = acc.drain();
    acc.release();
    if (tail.length > 0) await put(tail);
    return { size, filename: part.filename, contentType: part.contentType };
  }
}

/** CORS is apiCors()'s: the tus server's own headers would allow any origin. */
function withoutTusCors(res: Response): Response {
  const headers = new Headers(res.headers);
  for (const name of [...headers.keys()]) if (name.startsWith("access-control-")) headers.delete(name);
  return new Response(res.body, { status: res.status, headers });
}

/** Headers a tus answer carries beyond the protocol's own. */
function withVideoId(res: Response): Response {
  const location = res.headers.get("location");
  if (!location) return res;
  const headers = new Headers(res.headers);
  headers.set("Video-Id", location.slice(location.lastIndexOf("/") + 1));
  return new Response(res.body, { status: res.status, headers });
}

/** A tus error (plain text, or our JSON) as the API's error envelope. */
async function inEnvelope(c: C, res: Response): Promise<Response> {
  if (res.status < 400) return res;
  const text = await res.text();
  let code = statusToCode(res.status);
  let message = text.trim() || code;
  let details: unknown;
  try {
    const parsed = JSON.parse(text) as { error?: { code?: string; message?: string; details?: unknown } };
    if (parsed.error?.message) {
      code = (parsed.error.code as typeof code) ?? code;
      message = parsed.error.message;
      details = parsed.error.details;
    }
  } catch {}
  const headers = new Headers(res.headers);
  headers.set("content-type", "application/json");
  headers.delete("content-length");
  const body = { error: { code, message, ...(details === undefined ? {} : { details }), requestId: c.var.requestId } };
  return new Response(JSON.stringify(body), { status: res.status, headers });
}

/** Every tus request: handed to @tus/server with this request's user and services. */
export async function tusUpload(c: C) {
  const { db, settings, logger } = c.var;
  const user = c.req.method === "OPTIONS" ? undefined : currentUser(c);
  const refusal = tusProtocolError(c.req.raw);
  if (refusal) throw refusal;
  const server = createTusServer({
    db,
    bucket: c.env.MEDIA,
    queue: c.env.TRANSCODE_QUEUE,
    locks: c.env.UPLOAD_LOCKS,
    settings,
    logger,
    userId: user?.id ?? "",
    chunks: chunkBuffers,
  });
  // The body in large chunks: @tus/server passes every chunk through several Node streams.
  const body = c.req.raw.body;
  const res = await server.handleWeb(body ? new Request(c.req.raw, { body: coalesce(body, chunkBuffers) }) : c.req.raw);
  const refused = (server.datastore as R2TusStore).refusal;
  if (refused) {
    return inEnvelope(
      c,
      new Response(refused.body, { status: refused.status_code, headers: { "tus-resumable": "1.0.0" } }),
    );
  }
  return inEnvelope(c, withVideoId(withoutTusCors(res)));
}
