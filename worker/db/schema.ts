import { sql } from "drizzle-orm";
import { index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { type Storyboard, UNIT_KINDS } from "../../shared/protocol";

const now = sql`(unixepoch('subsec') * 1000)`;
const timestamps = {
  createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull().default(now),
  updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull().default(now),
};

export const users = sqliteTable(
  "users",
  {
    id: text("id").primaryKey(),
    username: text("username").notNull(),
    email: text("email").notNull(),
    /** PBKDF2 parameters and hash in one string: `pbkdf2_sha256$<iterations>$<salt b64>$<hash b64>`. */
    passwordHash: text("password_hash").notNull(),
    firstName: text("first_name").notNull().default(""),
    lastName: text("last_name").notNull().default(""),
    isAdmin: integer("is_admin", { mode: "boolean" }).notNull().default(false),
    /** Where `video.ready` / `video.failed` events are POSTed, signed with `webhookSecret`. */
    webhookUrl: text("webhook_url"),
    webhookSecret: text("webhook_secret"),
    ...timestamps,
  },
  (t) => [
    uniqueIndex("users_username_nocase").on(sql`lower(${t.username})`),
    uniqueIndex("users_email_nocase").on(sql`lower(${t.email})`),
  ],
);

/** API keys: only the SHA-256 of the key is stored; the key itself is shown once. */
export const authKeys = sqliteTable(
  "auth_keys",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    keyHash: text("key_hash").notNull(),
    createdAt: timestamps.createdAt,
    lastUsedAt: integer("last_used_at", { mode: "timestamp_ms" }),
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }),
  },
  (t) => [uniqueIndex("auth_keys_hash").on(t.keyHash), index("auth_keys_user").on(t.userId)],
);

export const VIDEO_STATUSES = ["uploading", "queued", "processing", "ready", "failed"] as const;
export type VideoStatus = (typeof VIDEO_STATUSES)[number];
export const VISIBILITIES = ["public", "unlisted", "private"] as const;
export type Visibility = (typeof VISIBILITIES)[number];

export const videos = sqliteTable(
  "videos",
  {
    id: text("id").primaryKey(),
    slug: text("slug").notNull(),
    ownerId: text("owner_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    title: text("title").notNull(),
    description: text("description").notNull().default(""),
    visibility: text("visibility", { enum: VISIBILITIES }).notNull().default("public"),
    status: text("status", { enum: VIDEO_STATUSES }).notNull().default("uploading"),
    /** 0–100 while processing. */
    progress: integer("progress").notNull().default(0),
    errorCode: text("error_code"),
    errorMessage: text("error_message"),
    /** Seconds. */
    duration: real("duration"),
    width: integer("width"),
    height: integer("height"),
    /** Bytes of the uploaded source. */
    size: integer("size"),
    /** The highest rung this upload may get, as a height (e.g. 1080). */
    maxResolution: integer("max_resolution").notNull().default(1080),
    filename: text("filename"),
    contentType: text("content_type"),
    /** The output version being served (`videos/<id>/<version>/`); null until the first is ready. */
    version: text("version"),
    /**
     * The served version's storyboard and thumbnail layout (the `completed` event's `storyboard`,
     * as JSON: shared/protocol.ts StoryboardSchema); null when that encode made none.
     */
    storyboard: text("storyboard", { mode: "json" }).$type<Storyboard>(),
    /** Seconds into the video of the poster the owner chose among the thumbnails; null: the encode's poster. */
    posterTime: real("poster_time"),
    /** Whether viewers may download the MP4 and M4A files (`/v/<id>/download/…`). */
    downloadable: integer("downloadable", { mode: "boolean" }).notNull().default(false),
    ...timestamps,
  },
  (t) => [
    uniqueIndex("videos_slug").on(t.slug),
    index("videos_owner").on(t.ownerId, t.createdAt),
    index("videos_status").on(t.status, t.createdAt),
    index("videos_visibility").on(t.visibility, t.createdAt),
  ],
);

export const renditions = sqliteTable(
  "renditions",
  {
    videoId: text("video_id")
      .notNull()
      .references(() => videos.id, { onDelete: "cascade" }),
    version: text("version").notNull(),
    /** Representation id inside the MPD (e.g. `v1080`, `a0`). */
    representationId: text("representation_id").notNull(),
    kind: text("kind", { enum: ["video", "audio"] }).notNull(),
    width: integer("width"),
    height: integer("height"),
    bandwidth: integer("bandwidth").notNull(),
    codecs: text("codecs").notNull(),
  },
  (t) => [primaryKey({ columns: [t.videoId, t.version, t.representationId] })],
);

export const CAPTION_KINDS = ["subtitles", "captions"] as const;
export type CaptionKind = (typeof CAPTION_KINDS)[number];

/**
 * Caption tracks: one per video and language, the WebVTT file at `videos/<id>/captions/<lang>.vtt`,
 * outside every output version, so captions come and go without an encode and outlive reprocessing.
 */
export const captions = sqliteTable(
  "captions",
  {
    videoId: text("video_id")
      .notNull()
      .references(() => videos.id, { onDelete: "cascade" }),
    /** A BCP 47 tag in canonical case (worker/captions/language.ts). */
    lang: text("lang").notNull(),
    label: text("label").notNull(),
    kind: text("kind", { enum: CAPTION_KINDS }).notNull().default("subtitles"),
    /** Bytes of the stored WebVTT file. */
    size: integer("size").notNull(),
    ...timestamps,
  },
  (t) => [primaryKey({ columns: [t.videoId, t.lang] })],
);

/** Resumable (tus) uploads in progress: the R2 multipart upload and the exact offset. */
export const uploads = sqliteTable(
  "uploads",
  {
    id: text("id").primaryKey(),
    videoId: text("video_id")
      .notNull()
      .references(() => videos.id, { onDelete: "cascade" }),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    length: integer("length"),
    offset: integer("offset").notNull().default(0),
    r2UploadId: text("r2_upload_id"),
    partSize: integer("part_size").notNull(),
    /** JSON array of `{partNumber, etag}` of the parts written so far. */
    parts: text("parts").notNull().default("[]"),
    metadata: text("metadata").notNull().default("{}"),
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }).notNull(),
    ...timestamps,
  },
  (t) => [index("uploads_expires").on(t.expiresAt)],
);

export const JOB_STATUSES = ["queued", "running", "completed", "failed", "cancelled"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
/** A job in these states is the video's unfinished job: at most one per video. */
export const ACTIVE_JOB_STATUSES = ["queued", "running"] as const;

/** One output version of a video: the request, its parameters and its outcome. Its work is in `work_units`. */
export const jobs = sqliteTable(
  "jobs",
  {
    id: text("id").primaryKey(),
    videoId: text("video_id")
      .notNull()
      .references(() => videos.id, { onDelete: "cascade" }),
    version: text("version").notNull(),
    status: text("status", { enum: JOB_STATUSES }).notNull().default("queued"),
    /** The highest rung this version may get, as a height: the upload's max_resolution when it was asked for. */
    maxHeight: integer("max_height").notNull().default(1080),
    /** Copied to the job's units: higher is claimed first within a round of the fair order. */
    priority: integer("priority").notNull().default(0),
    /** 0–100: the mean of its units' progress. */
    progress: integer("progress").notNull().default(0),
    errorCode: text("error_code"),
    errorMessage: text("error_message"),
    /**
     * When the start of this version was stored with manifests for the whole of it (a chunked
     * encode's first chunk): from then on it plays while the rest is encoded.
     */
    playableAt: integer("playable_at", { mode: "timestamp_ms" }),
    finishedAt: integer("finished_at", { mode: "timestamp_ms" }),
    ...timestamps,
  },
  (t) => [
    index("jobs_video").on(t.videoId),
    index("jobs_status").on(t.status),
    // At most one unfinished job per video: a duplicate request can never start a second version.
    uniqueIndex("jobs_one_active_per_video").on(t.videoId).where(sql`${t.status} in ('queued', 'running')`),
  ],
);

export const RUNNER_KINDS = ["remote", "container", "local"] as const;
export type RunnerKind = (typeof RUNNER_KINDS)[number];

/** Whoever claims work: an admin-issued remote runner, a platform container, or `npm start`'s local runner. */
export const runners = sqliteTable(
  "runners",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    kind: text("kind", { enum: RUNNER_KINDS }).notNull(),
    /** SHA-256 of the runner token; the token itself is shown once (or handed to a container at its start). */
    tokenHash: text("token_hash").notNull(),
    createdAt: timestamps.createdAt,
    lastContactAt: integer("last_contact_at", { mode: "timestamp_ms" }),
    /** Set: every claim and event of this runner is refused. */
    revokedAt: integer("revoked_at", { mode: "timestamp_ms" }),
    /** The unit it claimed last, while it holds it. */
    currentUnitId: text("current_unit_id"),
    unitsDone: integer("units_done").notNull().default(0),
    unitsFailed: integer("units_failed").notNull().default(0),
    /** Wall seconds from claim to completion of its done units, and the media seconds they covered. */
    encodeSeconds: real("encode_seconds").notNull().default(0),
    mediaSeconds: real("media_seconds").notNull().default(0),
  },
  (t) => [uniqueIndex("runners_token_hash").on(t.tokenHash), index("runners_kind").on(t.kind, t.lastContactAt)],
);

export const UNIT_STATUSES = ["pending", "running", "done", "failed", "cancelled"] as const;
export type UnitStatus = (typeof UNIT_STATUSES)[number];

/** The work of a job, claimed by runners one unit at a time under a lease. */
export const workUnits = sqliteTable(
  "work_units",
  {
    id: text("id").primaryKey(),
    jobId: text("job_id")
      .notNull()
      .references(() => jobs.id, { onDelete: "cascade" }),
    videoId: text("video_id")
      .notNull()
      .references(() => videos.id, { onDelete: "cascade" }),
    /** The video's owner: claims are fair across owners. */
    ownerId: text("owner_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    kind: text("kind", { enum: UNIT_KINDS }).notNull(),
    /** Its place within the job (chunk 0, 1, …). */
    sequence: integer("sequence").notNull().default(0),
    priority: integer("priority").notNull().default(0),
    status: text("status", { enum: UNIT_STATUSES }).notNull().default("pending"),
    /** The runner holding it while it runs. */
    runnerId: text("runner_id").references(() => runners.id, { onDelete: "set null" }),
    leaseUntil: integer("lease_until", { mode: "timestamp_ms" }),
    /** Claims so far: each claim is a new attempt, and unit tokens are bound to it. */
    attempt: integer("attempt").notNull().default(0),
    /** Attempts that ended in the unit's own failure (counted against UNIT_MAX_ATTEMPTS). */
    failures: integer("failures").notNull().default(0),
    /** Attempts whose runner stopped reporting (counted apart, against UNIT_MAX_LEASE_EXPIRIES). */
    leaseExpiries: integer("lease_expiries").notNull().default(0),
    /** 0–100 within the unit. */
    progress: integer("progress").notNull().default(0),
    /** When the latest attempt was claimed, when its runner first reported progress, when the unit ended. */
    claimedAt: integer("claimed_at", { mode: "timestamp_ms" }),
    startedAt: integer("started_at", { mode: "timestamp_ms" }),
    finishedAt: integer("finished_at", { mode: "timestamp_ms" }),
    /** What the runner needs besides the job (JSON; e.g. a time range for a chunk). */
    input: text("input").notNull().default("{}"),
    /** What the runner reported on completion (JSON). */
    result: text("result"),
    errorCode: text("error_code"),
    errorMessage: text("error_message"),
    ...timestamps,
  },
  (t) => [
    // A job's units are created once: a duplicate delivery inserts nothing.
    uniqueIndex("work_units_job_kind_sequence").on(t.jobId, t.kind, t.sequence),
    // The claim: pending units in order, each owner's running count and last claim.
    index("work_units_status_order").on(t.status, t.priority, t.createdAt),
    index("work_units_owner_status").on(t.ownerId, t.status),
    index("work_units_owner_claimed").on(t.ownerId, t.claimedAt),
    // The sweep: running units whose lease ran out.
    index("work_units_status_lease").on(t.status, t.leaseUntil),
    index("work_units_runner").on(t.runnerId, t.status),
    index("work_units_video").on(t.videoId),
  ],
);

export type User = typeof users.$inferSelect;
export type Video = typeof videos.$inferSelect;
export type Rendition = typeof renditions.$inferSelect;
export type Upload = typeof uploads.$inferSelect;
export type Job = typeof jobs.$inferSelect;
export type Caption = typeof captions.$inferSelect;
export type WorkUnit = typeof workUnits.$inferSelect;
export type Runner = typeof runners.$inferSelect;
