/**
 * Imports: a video the Worker fetches from a URL into storage, as another way in beside the
 * classic form, tus and direct uploads. The request makes the video (`uploading`) and its upload
 * session at once, with the same checks as an upload, and queues a message; the `import` queue's
 * consumer fetches the URL and streams the body through the session writer into the multipart
 * upload, as tus's bytes go, then queues the video for transcoding as an upload's completion does.
 *
 * On the way: every hop of a redirect is checked against the public-host rules; the first bytes
 * are sniffed; a declared length above the limits is refused before the body is read, and a body
 * that grows past them is stopped; while it streams the video shows the share fetched. A source
 * that stops midway is asked for the rest (`Range: bytes=N-`, with `If-Range`) when it takes
 * ranges, a bounded number of times. An import longer than one consumer run (their wall time is
 * 15 minutes) makes its bytes durable and goes on in a message of its own. What the source does
 * wrong ends the video `failed` with the reason; the Worker's own failures (storage, D1) are
 * retried by the queue from the exact offset the session kept.
 */
import { and, eq } from "drizzle-orm";
import { z } from "zod";
import { sniffContainer } from "../../shared/sniff";
import { ApiError } from "../app/errors";
import type { Logger } from "../app/logger";
import type { Settings } from "../app/settings";
import type { Database } from "../db/client";
import { type Video, videos } from "../db/schema";
import { fetchPublic, OutboundRefusal } from "../outbound/fetch-public";
import { publicUrlProblem } from "../outbound/public-host";
import { sourceKey } from "../storage/keys";
import type { ObjectStore } from "../storage/store";
import { announce } from "../transcode/lifecycle";
import { findVideo } from "../videos/videos.data";
import { chunkBuffers } from "./buffer-pool";
import { coalesce } from "./coalesce";
import type { UploadFields } from "./fields";
import { loadUploadPolicy, type UploadPolicy } from "./policy";
import { type SessionStore, UploadSession, type WriteChecks } from "./session";
import { DurableObjectLocker } from "./tus";
import { dropVideoUpload, queueVideoUpload, startVideoUpload } from "./video-upload";

/** What the `import` queue carries: the video, and for a continued import what the first answer said. */
export const ImportMessageSchema = z.object({
  videoId: z.string().min(1),
  resume: z.object({ length: z.number().int().min(0).nullable(), validator: z.string().nullable() }).optional(),
});
export type ImportMessage = z.infer<typeof ImportMessageSchema>;

/** How an import behaves; tests shorten some. */
export interface ImportLimits {
  maxRedirects: number;
  /** New requests after the source stopped or could not be reached, before the import fails. */
  maxReconnects: number;
  /** No byte (or no answer) for this long counts as the source having stopped. */
  idleMs: number;
  /** After this long, a source that takes ranges is continued in a new message (queue wall time). */
  sliceMs: number;
  /** The video's progress is written at most this often. */
  progressIntervalMs: number;
  /** Pause before the n-th new request. */
  reconnectDelayMs: (n: number) => number;
}

export const IMPORT_LIMITS: ImportLimits = {
  maxRedirects: 5,
  maxReconnects: 5,
  idleMs: 60_000,
  sliceMs: 10 * 60_000,
  progressIntervalMs: 1000,
  reconnectDelayMs: (n) => Math.min(30_000, 1000 * 2 ** (n - 1)),
};

/** Why an import ended `failed`: the source's doing, so it is not retried. */
export type ImportFailureCode = "not_video" | "unsupported" | "too_large" | "import_failed";

export class ImportFailure extends Error {
  override name = "ImportFailure";
  readonly code: ImportFailureCode;
  constructor(code: ImportFailureCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** What an import works with; `Services` provides all of it. */
export interface ImportDeps {
  db: Database;
  storage: ObjectStore;
  settings: Settings;
  logger: Logger;
  queues: { transcode: Queue; webhooks: Queue; imports: Queue };
  env: Pick<Env, "UPLOAD_LOCKS">;
}

// ── The request ──────────────────────────────────────────────────────────────────────────────────

export interface ImportRequest {
  url: string;
  title?: string;
  description?: string;
  visibility?: string;
  max_resolution?: string;
}

const urlRefused = (message: string) =>
  new ApiError("validation_error", "Invalid import", { details: [{ path: "url", message }] });

/** The URL to import from, or 400 saying why it may not be fetched. */
export function importUrl(raw: string, settings: Settings): URL {
  if (raw.length > 2048) throw urlRefused("The URL is longer than 2048 characters");
  if (!URL.canParse(raw)) throw urlRefused("Not an absolute URL");
  const url = new URL(raw);
  url.hash = "";
  const problem = publicUrlProblem(url, { allowPrivate: settings.imports.allowPrivateHosts });
  if (problem) throw urlRefused(problem);
  return url;
}

/** The file name at the end of the URL's path, if it has one. */
function fileNameOf(url: URL): string | null {
  const last = url.pathname.split("/").pop() ?? "";
  try {
    return decodeURIComponent(last).slice(0, 255) || null;
  } catch {
    return last.slice(0, 255) || null;
  }
}

/**
 * Checks an import as an upload is checked (fields, the URL, the quota), makes its video and
 * session, and queues it; the video is `uploading` until its bytes are in.
 */
export async function startImport(deps: ImportDeps, userId: string, request: ImportRequest): Promise<Video> {
  const { db, settings, logger } = deps;
  const policy = await loadUploadPolicy(db, settings, userId);
  const fields: UploadFields = policy.checkFields(
    {
      title: request.title,
      description: request.description,
      visibility: request.visibility,
      max_resolution: request.max_resolution,
    },
    "fields",
  );
  const url = importUrl(request.url, settings);
  // The length is not known yet; at least its first byte must fit the quota.
  policy.checkSize(1);
  const { video, session } = await startVideoUpload(deps, settings, {
    userId,
    fields,
    filename: fileNameOf(url),
    contentType: null,
    length: null,
    metadata: { via: "import", url: url.href },
  });
  try {
    await deps.queues.imports.send({ videoId: video.id } satisfies ImportMessage);
  } catch (err) {
    await dropVideoUpload(deps, session);
    throw err;
  }
  logger.info("import started", { videoId: video.id, userId, host: url.host });
  return video;
}

// ── The consumer ─────────────────────────────────────────────────────────────────────────────────

/** Raised by the body when the run's time is up: the bytes so far are made durable. */
class SliceEnded extends Error {
  override name = "SliceEnded";
}

export type ImportOutcome = "imported" | "continued" | "failed" | "busy" | "gone";

/**
 * One message of the `import` queue: fetches the rest of the video's source. `busy` means
 * another run holds the import (ask again later); `gone` that there is nothing to do (deleted,
 * done already). Throws on the platform's own failures, for the queue to retry.
 */
export async function runImport(
  deps: ImportDeps,
  message: ImportMessage,
  limits: ImportLimits = IMPORT_LIMITS,
): Promise<ImportOutcome> {
  const store: SessionStore = deps;
  const video = await findVideo(deps.db, message.videoId);
  if (!video || video.id !== message.videoId || video.status !== "uploading") return "gone";
  const session = await UploadSession.find(store, video.id);
  if (session && session.metadata.via !== "import") return "gone";
  if (!session) {
    // Its session went without the video being failed (an earlier run stopped in between).
    await failImport(deps, video.id, new ImportFailure("import_failed", "The import was interrupted"));
    return "failed";
  }
  const lock = new DurableObjectLocker(deps.env.UPLOAD_LOCKS).newLock(session.id);
  try {
    // A live run renews its lease; a crashed one's lapses within a minute, and the queue asks again.
    await lock.lock(AbortSignal.timeout(1000), () => {});
  } catch {
    return "busy";
  }
  let next: ImportMessage | undefined;
  try {
    const fetched = session.complete ? "imported" : await fetchIntoSession(deps, session, message, limits);
    if (fetched === "imported") {
      await deps.db.update(videos).set({ size: session.offset, updatedAt: new Date() }).where(eq(videos.id, video.id));
      await queueVideoUpload({ db: deps.db, queue: deps.queues.transcode, logger: deps.logger }, session, "import");
      return "imported";
    }
    next = fetched;
  } catch (err) {
    if (!(err instanceof ImportFailure)) throw err;
    await failImport(deps, video.id, err, session);
    return "failed";
  } finally {
    await lock.unlock().catch((err: unknown) => deps.logger.warn("import lock not released", { error: String(err) }));
  }
  // Sent once the lock is free, so the next run can take it at once.
  await deps.queues.imports.send(next);
  deps.logger.info("import continues in a new run", { videoId: video.id, offset: session.offset });
  return "continued";
}

/** What the source said of itself in its first answer. */
interface SourceFacts {
  /** The whole length, when it said (and the body is not re-encoded on the way). */
  length: number | null;
  /** A strong ETag or a Last-Modified date, for `If-Range`. */
  validator: string | null;
  /** It takes `Range` requests. */
  ranges: boolean;
  contentType: string | null;
}

/**
 * Fetches the source from the session's offset to its end, resuming what can be resumed; or, when
 * this run's time is up, stops with the bytes durable and returns the message that goes on.
 */
async function fetchIntoSession(
  deps: ImportDeps,
  session: UploadSession,
  message: ImportMessage,
  limits: ImportLimits,
): Promise<"imported" | ImportMessage> {
  const { db, settings, logger } = deps;
  const source = session.metadata.url ?? "";
  if (!URL.canParse(source)) throw new ImportFailure("import_failed", "The import has no URL to fetch");
  const url = new URL(source);
  const policy = await loadUploadPolicy(db, settings, session.userId, { except: session.videoId });
  const deadline = Date.now() + limits.sliceMs;
  const progress = new ProgressWriter(db, session.videoId, limits.progressIntervalMs, logger);
  let facts: SourceFacts | null = message.resume
    ? { length: message.resume.length, validator: message.resume.validator, ranges: true, contentType: null }
    : null;
  if (facts) progress.length = facts.length;
  let reconnects = 0;
  const again = async (reason: string) => {
    reconnects += 1;
    if (reconnects > limits.maxReconnects) {
      throw new ImportFailure("import_failed", `${reason}; gave up after ${limits.maxReconnects} more tries`);
    }
    logger.info("import reconnecting", { videoId: session.videoId, offset: session.offset, reason, reconnects });
    await new Promise((resolve) => setTimeout(resolve, limits.reconnectDelayMs(reconnects)));
  };
  try {
    for (;;) {
      const offset = session.offset;
      const idle = new IdleTimer(limits.idleMs);
      try {
        let response: Response;
        try {
          ({ response } = await fetchPublic(url, {
            allowPrivate: settings.imports.allowPrivateHosts,
            maxRedirects: limits.maxRedirects,
            headers: sourceHeaders(offset, facts?.validator ?? null),
            signal: idle.signal,
          }));
        } catch (err) {
          if (err instanceof OutboundRefusal) {
            throw new ImportFailure("import_failed", `The URL cannot be imported: ${err.message}`);
          }
          await again(`The source could not be reached (${describeError(err, idle)})`);
          continue;
        }
        idle.pause();
        if (response.status >= 500 || response.status === 408 || response.status === 429) {
          await response.body?.cancel();
          await again(`The source answered ${statusText(response)}`);
          continue;
        }
        let known: SourceFacts;
        if (offset === 0) {
          known = await admit(response, policy);
          if (known.length !== null) {
            await db
              .update(videos)
              .set({ size: known.length, updatedAt: new Date() })
              .where(and(eq(videos.id, session.videoId), eq(videos.status, "uploading")));
          }
        } else {
          known = checkResumed(response, offset, facts);
        }
        facts = known;
        progress.length = known.length;
        if (!response.body)
          throw new ImportFailure("import_failed", `The source answered ${statusText(response)} with no body`);
        const body = meteredBody(response.body, {
          offset,
          idle,
          // Only a source that takes ranges can be continued by the next run.
          deadline: known.ranges ? deadline : Number.POSITIVE_INFINITY,
          seen: (bytes) => progress.seen(bytes),
        });
        try {
          await session.write(coalesce(body.stream, chunkBuffers), {
            checks: importChecks(policy, known.contentType),
            consumed: (chunk) => chunkBuffers.give(chunk),
            last: true,
          });
        } catch (err) {
          if (err instanceof SliceEnded) {
            return { videoId: session.videoId, resume: { length: known.length, validator: known.validator } };
          }
          if (!body.broke) throw err;
          if (!known.ranges) {
            throw new ImportFailure(
              "import_failed",
              `The source stopped after ${session.offset} bytes and does not take Range requests, so the rest cannot be asked for`,
            );
          }
          await again(`The source stopped after ${session.offset} bytes (${describeError(body.broke, idle)})`);
          continue;
        }
        if (known.length !== null && session.offset !== known.length) {
          throw new ImportFailure(
            "import_failed",
            `The source sent ${session.offset} of the ${known.length} bytes it announced`,
          );
        }
        await session.finish();
        return "imported";
      } finally {
        idle.clear();
      }
    }
  } finally {
    await progress.close();
  }
}

const USER_AGENT = "StreamBuddy-Import/1 (+https://github.com/streambuddy/streambuddy-edge)";

function sourceHeaders(offset: number, validator: string | null): Record<string, string> {
  // Bytes as stored, never re-encoded on the way: offsets and lengths must be the file's.
  const headers: Record<string, string> = { "user-agent": USER_AGENT, "accept-encoding": "identity", accept: "*/*" };
  if (offset > 0) {
    headers.range = `bytes=${offset}-`;
    // The rest of the same file or, if it changed, a 200 with the new one (refused below).
    if (validator) headers["if-range"] = validator;
  }
  return headers;
}

/** What `If-Range` can name: a strong ETag, or else the Last-Modified date. */
function validatorOf(response: Response): string | null {
  const etag = response.headers.get("etag");
  return etag && !etag.startsWith("W/") ? etag : response.headers.get("last-modified");
}

const statusText = (res: Response) => `${res.status}${res.statusText ? ` ${res.statusText}` : ""}`;

/** The first answer: a 200 whose declared length fits the limits; what it says of the source. */
async function admit(response: Response, policy: UploadPolicy): Promise<SourceFacts> {
  if (response.status !== 200) {
    await response.body?.cancel();
    throw new ImportFailure("import_failed", `The source answered ${statusText(response)}`);
  }
  if (!response.body) throw new ImportFailure("not_video", "The source answered with no body");
  const encoding = response.headers.get("content-encoding");
  const encoded = encoding !== null && encoding.toLowerCase() !== "identity";
  const declared = response.headers.get("content-length");
  const length = !encoded && declared !== null && /^\d+$/.test(declared) ? Number(declared) : null;
  const facts: SourceFacts = {
    length,
    validator: validatorOf(response),
    ranges: !encoded && /\bbytes\b/i.test(response.headers.get("accept-ranges") ?? ""),
    contentType: response.headers.get("content-type"),
  };
  if (length !== null) {
    try {
      // Refused on its word, before a byte of the body is read.
      policy.checkSize(length);
    } catch (err) {
      await response.body.cancel();
      throw asImportFailure(err, null, facts.contentType);
    }
  }
  return facts;
}

/**
 * A resumed answer must be a 206 starting where the stored bytes end, of the same file. What the
 * first answer said stands (a run that continues one that stopped unexpectedly learns it here).
 */
function checkResumed(response: Response, offset: number, facts: SourceFacts | null): SourceFacts {
  const refuse = (why: string) => {
    response.body?.cancel().catch(() => {});
    return new ImportFailure("import_failed", `The source could not resume at byte ${offset}: ${why}`);
  };
  if (response.status === 200) throw refuse("it sent the whole file again (it ignores ranges, or the file changed)");
  if (response.status !== 206) throw refuse(`it answered ${statusText(response)}`);
  const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(response.headers.get("content-range") ?? "");
  if (!range) throw refuse("its answer has no valid Content-Range");
  if (Number(range[1]) !== offset) throw refuse(`it sent bytes from ${range[1]} instead`);
  const total = range[3] === "*" ? null : Number(range[3]);
  if (facts?.length != null && total !== null && total !== facts.length) {
    throw refuse(`the file is now ${total} bytes, not ${facts.length}`);
  }
  return {
    length: facts?.length ?? total,
    validator: facts?.validator ?? validatorOf(response),
    ranges: true,
    contentType: response.headers.get("content-type"),
  };
}

/** The upload policy's head and size rules, failing the import with the reason when refused. */
function importChecks(policy: UploadPolicy, contentType: string | null): WriteChecks {
  return {
    // The bytes decide: what web servers call a file is less reliable than what an uploader says.
    head(head) {
      try {
        policy.checkHead(null, head);
      } catch (err) {
        throw asImportFailure(err, head, contentType);
      }
    },
    size(bytes) {
      try {
        policy.checkSize(bytes);
      } catch (err) {
        throw asImportFailure(err, null, contentType);
      }
    },
  };
}

function asImportFailure(err: unknown, head: Uint8Array | null, contentType: string | null): unknown {
  if (!(err instanceof ApiError)) return err;
  if (err.code === "payload_too_large") return new ImportFailure("too_large", err.message);
  const served = contentType ? ` (the URL served ${contentType.split(";")[0]?.trim()})` : "";
  if (err.code === "validation_error") return new ImportFailure("not_video", `The file is empty${served}`);
  const known = head ? sniffContainer(head) : null;
  return new ImportFailure(known ? "unsupported" : "not_video", `${err.message}${served}`);
}

function describeError(err: unknown, idle: IdleTimer): string {
  if (idle.fired) return `no data for ${Math.round(idle.ms / 1000)} s`;
  return err instanceof Error ? err.message : String(err);
}

/** Aborts the request when the source was waited on for `ms` without an answer or a byte. */
class IdleTimer {
  readonly ms: number;
  private readonly controller = new AbortController();
  private timer: ReturnType<typeof setTimeout> | undefined;
  fired = false;

  constructor(ms: number) {
    this.ms = ms;
    this.touch();
  }
  get signal(): AbortSignal {
    return this.controller.signal;
  }
  /** Waiting on the source starts (again). */
  touch() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.fired = true;
      this.controller.abort(new Error(`no data for ${this.ms} ms`));
    }, this.ms);
  }
  /** The source answered; time spent storing what it sent does not count. */
  pause() {
    clearTimeout(this.timer);
  }
  clear() {
    clearTimeout(this.timer);
  }
}

/**
 * The response body as it arrives: each chunk counts towards the progress and keeps the idle
 * timer from firing. A read that fails is recorded in `broke` (the source stopped, as opposed to
 * a refusal or a storage failure downstream); past `deadline` (and past its first chunk) the
 * stream ends with SliceEnded.
 */
function meteredBody(
  body: ReadableStream<Uint8Array>,
  options: { offset: number; idle: IdleTimer; deadline: number; seen: (bytes: number) => void },
) {
  const reader = body.getReader();
  let received = options.offset;
  const state: { stream: ReadableStream<Uint8Array>; broke: unknown } = {
    stream: undefined as never,
    broke: undefined,
  };
  state.stream = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        // Every run moves the import forward by at least one chunk, however late it started.
        if (received > options.offset && Date.now() >= options.deadline) {
          await reader.cancel().catch(() => {});
          controller.error(new SliceEnded("time is up for this run"));
          return;
        }
        let chunk: ReadableStreamReadResult<Uint8Array>;
        options.idle.touch();
        try {
          chunk = await reader.read();
        } catch (err) {
          state.broke = err ?? new Error("the connection broke");
          controller.error(err);
          return;
        }
        if (chunk.done) {
          controller.close();
          return;
        }
        options.idle.pause();
        received += chunk.value.byteLength;
        options.seen(received);
        controller.enqueue(chunk.value);
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  );
  return state;
}

/**
 * The video's progress while its bytes arrive: the share of the declared length fetched, or,
 * when the source did not say its length, the bytes so far as its size. Written at most once per
 * interval with the latest figure, off the path of the bytes.
 */
class ProgressWriter {
  length: number | null = null;
  private latest = 0;
  private lastAt = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Database,
    private readonly videoId: string,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  seen(bytes: number) {
    this.latest = bytes;
    if (this.timer !== undefined) return;
    const wait = Math.max(0, this.lastAt + this.intervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.lastAt = Date.now();
      const bytes = this.latest;
      this.writing = this.writing.then(() => this.write(bytes));
    }, wait);
  }

  private async write(bytes: number) {
    const update =
      this.length !== null
        ? { progress: Math.min(99, Math.floor((bytes * 100) / Math.max(1, this.length))) }
        : { size: bytes };
    await this.db
      .update(videos)
      .set({ ...update, updatedAt: new Date() })
      .where(and(eq(videos.id, this.videoId), eq(videos.status, "uploading")))
      .catch((err: unknown) => this.logger.warn("import progress not written", { error: String(err) }));
  }

  async close() {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.writing;
  }
}

// ── Failure ──────────────────────────────────────────────────────────────────────────────────────

/**
 * The import ends `failed` with its reason: its session (parts, held bytes, row) and any source
 * object go, the video stays to say why, and the owner's webhook hears `video.failed`.
 */
export async function failImport(
  deps: Pick<ImportDeps, "db" | "storage" | "logger"> & { queues: { webhooks: Queue } },
  videoId: string,
  failure: ImportFailure,
  session?: UploadSession,
): Promise<void> {
  const { db, storage } = deps;
  const open = session ?? (await UploadSession.find({ db, storage }, videoId));
  await open?.abort();
  await storage.delete(sourceKey(videoId));
  const [failed] = await db
    .update(videos)
    .set({
      status: "failed",
      progress: 0,
      errorCode: failure.code,
      errorMessage: failure.message,
      updatedAt: new Date(),
    })
    .where(and(eq(videos.id, videoId), eq(videos.status, "uploading")))
    .returning();
  if (!failed) return;
  deps.logger.warn("import failed", { videoId, code: failure.code, reason: failure.message });
  await announce(deps, "video.failed", failed, Date.now());
}
