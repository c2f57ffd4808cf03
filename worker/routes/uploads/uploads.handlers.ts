import type { Context } from "hono";
import { ApiError, statusToCode } from "../../app/errors";
import type { AppEnv } from "../../app/types";
import { currentUser } from "../../auth/authenticate";
import { publicPlaybackUrls } from "../../playback/urls";
import { chunkBuffers } from "../../uploads/buffer-pool";
import { coalesce } from "../../uploads/coalesce";
import { boundaryOf, type FormPart, MultipartError, readMultipart } from "../../uploads/multipart-form";
import { loadUploadPolicy } from "../../uploads/policy";
import { createTusServer, type R2TusStore, tusProtocolError } from "../../uploads/tus";
import { describeVideo, dropVideoUpload, queueVideoUpload, startVideoUpload } from "../../uploads/video-upload";
import { serializeVideo } from "../../videos/videos.data";

type C = Context<AppEnv>;

const TEXT_FIELDS = new Set(["title", "description", "visibility", "max_resolution"]);
const TEXT_FIELD_LIMIT = 16 * 1024;
/** What a form holds besides its file (text fields, part headers, boundaries), at most. */
const FORM_ALLOWANCE = 64 * 1024;

/** Reads a `multipart/form-data` body as its parts, in order, each part's bytes as they arrive. */
export type FormReader = (body: ReadableStream<Uint8Array>, boundary: string) => AsyncIterable<FormPart>;

/**
 * POST /api/videos/upload/: one multipart/form-data request, read as a stream. The file's bytes
 * go through an upload session (as tus's do) into a multipart upload; nothing holds the whole
 * body. The video row and the session exist from the file's first byte, so a Worker that dies
 * mid-request leaves an upload the sweep aborts; the form's fields (the title may come after the
 * file) are the video's once the form is complete, and a refusal drops everything.
 */
export function classicUploadWith(readForm: FormReader) {
  return async function classicUpload(c: C) {
    const { db, settings, logger, services: store } = c.var;
    const user = currentUser(c);
    const policy = await loadUploadPolicy(db, settings, user.id);
    const requestLength = Number(c.req.header("content-length") ?? Number.NaN);
    // The file is at least the request less the rest of the form: refused before a byte is read.
    if (requestLength > FORM_ALLOWANCE) policy.checkSize(requestLength - FORM_ALLOWANCE);
    const boundary = boundaryOf(c.req.header("content-type"));
    if (!boundary || !c.req.raw.body) {
      throw new ApiError("unsupported_media_type", "Send multipart/form-data with a `file` field and a `title`");
    }
    const fields: Record<string, string> = {};
    let upload: Awaited<ReturnType<typeof startVideoUpload>> | undefined;
    let video: Awaited<ReturnType<typeof describeVideo>>;
    try {
      for await (const part of readForm(coalesce(c.req.raw.body), boundary)) {
        if (TEXT_FIELDS.has(part.name)) {
          fields[part.name] = await part.text(TEXT_FIELD_LIMIT);
          // Refuse a bad title before any byte of a later file is kept.
          if (part.name === "title") policy.checkFields({ title: fields.title }, "fields");
        } else if (part.name === "file" && !upload) {
          policy.checkType(part.contentType);
          const id = crypto.randomUUID();
          // Until the form is complete the video is private, titled by the fields so far (or its id).
          const known = policy.checkFields({ ...fields, title: fields.title ?? id }, "fields");
          upload = await startVideoUpload(store, settings, {
            id,
            userId: user.id,
            fields: { ...known, visibility: "private" },
            filename: part.filename,
            contentType: part.contentType,
            length: null,
          });
          await upload.session.write(part.body, { checks: policy.writeChecks(part.contentType), last: true });
        } else {
          await part.drain();
        }
      }
      if (!upload) {
        throw new ApiError("validation_error", "Invalid upload fields", {
          details: [{ path: "file", message: "A video file is required" }],
        });
      }
      const final = policy.checkFields(fields, "fields");
      await upload.session.finish();
      video = await describeVideo(db, upload.video, { fields: final, size: upload.session.offset });
    } catch (err) {
      if (upload) await dropVideoUpload(store, upload.session);
      if (err instanceof MultipartError) throw new ApiError("bad_request", `Malformed multipart body: ${err.message}`);
      throw err;
    }
    await queueVideoUpload({ db, queue: c.env.TRANSCODE_QUEUE, logger }, upload.session, "classic");
    const queued = { ...video, status: "queued" as const };
    return c.json(serializeVideo(queued, [], user, publicPlaybackUrls(queued, new URL(c.req.url).origin)), 201);
  };
}

// The form's chunks go back to the pool the body was read into once their bytes are stored.
export const classicUpload = classicUploadWith((body, boundary) =>
  readMultipart(body, boundary, { release: (chunk) => chunkBuffers.give(chunk) }),
);

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
    storage: c.var.services.storage,
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
