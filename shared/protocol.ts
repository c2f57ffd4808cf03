/**
 * The runner protocol between the Worker and the runners that transcode: one module, imported by
 * both sides (docs/runner-protocol.md tells the whole story).
 *
 * A runner asks for work with its runner token, and long-polls:
 *   POST /internal/runners/claim      a {@link ClaimRequest} → 200 {@link ClaimAnswer}, or 204 after the wait
 * A claimed unit is then worked through its own API, authenticated by the unit's token only:
 *   GET  {apiBase}/source             the uploaded source, with Range
 *   PUT  {apiBase}/files/{name}       one output file ({@link OUTPUT_FILE_NAME})
 *   GET  {apiBase}/files/{name}       a file the job stored, read back (Range)
 *   POST {apiBase}/events             a {@link JobEvent}: progress renews the lease
 * where `apiBase` is `<origin>/internal/units/<unitId>`.
 */
import { z } from "zod";
import type { StoryboardLayout } from "./storyboard-index.ts";

/** The queue message that asks for a video to be transcoded. */
export const TranscodeMessageSchema = z.object({
  videoId: z.string().min(1).max(64),
});
export type TranscodeMessage = z.infer<typeof TranscodeMessageSchema>;

/** What an encode needs to know about its job; a unit assignment carries all of it. */
export const TranscodeJobSchema = z.object({
  jobId: z.string().min(1).max(64),
  videoId: z.string().min(1).max(64),
  /** Output version: files land under `videos/<videoId>/<version>/`. */
  version: z.string().regex(/^[A-Za-z0-9-]{1,64}$/),
  /** Base URL of the unit's API, e.g. `https://host/internal/units/<unitId>`. */
  apiBase: z.url(),
  /** Bearer token for the unit's API; expires, and opens only this attempt of this unit. */
  token: z.string().min(16).max(1024),
  /** The highest rung to produce, as a height (the upload's max_resolution). */
  maxHeight: z.number().int().min(144).max(4320),
  /** Sources longer than this fail with `too_long`. */
  maxDurationSeconds: z.number().positive(),
});
export type TranscodeJob = z.infer<typeof TranscodeJobSchema>;

export const JOB_STATES = ["accepted", "running", "completed", "failed", "cancelled"] as const;
export type JobState = (typeof JOB_STATES)[number];

/** A runner's own account of a unit it works on (its `/healthz`). */
export const RunnerJobStateSchema = z.object({
  jobId: z.string(),
  state: z.enum(JOB_STATES),
  progress: z.number().min(0).max(100),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
});
export type RunnerJobState = z.infer<typeof RunnerJobStateSchema>;

/**
 * Output file names: no directories, no traversal, a short list of extensions. `vtt` is the
 * storyboard index (storyboard.vtt), `m4a` the audio download (download-audio.m4a).
 */
export const OUTPUT_FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}\.(mpd|m3u8|m4s|mp4|m4a|jpg|vtt)$/;
/** A media segment of Representation `$1`, number `$2` (from 1) in the whole video. */
export const MEDIA_SEGMENT_NAME = /^chunk-(\d+)-(\d+)\.m4s$/;
/** The init segment of Representation `$1`. */
export const INIT_SEGMENT_NAME = /^init-(\d+)\.m4s$/;

const CONTENT_TYPES: Record<string, string> = {
  mpd: "application/dash+xml",
  m3u8: "application/vnd.apple.mpegurl",
  m4s: "video/iso.segment",
  mp4: "video/mp4",
  m4a: "audio/mp4",
  jpg: "image/jpeg",
  vtt: "text/vtt; charset=utf-8",
};

/** The Content-Type of an output file, by its extension: sent by the transcoder, served by the Worker. */
export const contentTypeOf = (name: string): string =>
  CONTENT_TYPES[name.slice(name.lastIndexOf(".") + 1)] ?? "application/octet-stream";

export const FAILURE_CODES = ["not_video", "unsupported", "too_large", "too_long", "transcode_failed"] as const;
export type FailureCode = (typeof FAILURE_CODES)[number];

export const EncodedRenditionSchema = z.object({
  /** Representation id inside the MPD. */
  id: z.string().min(1).max(32),
  kind: z.enum(["video", "audio"]),
  width: z.number().int().positive().nullable(),
  height: z.number().int().positive().nullable(),
  /** Peak bits per second, as announced in the MPD. */
  bandwidth: z.number().int().positive(),
  codecs: z.string().min(1).max(64),
});
export type EncodedRendition = z.infer<typeof EncodedRenditionSchema>;

const pixels = z.number().int().min(1).max(8192);

/**
 * The storyboard an encode made (shared/storyboard-index.ts): the layout of its sheets and
 * thumbnails, and `parts`, the first storyboard frame of each encode that wrote sheets (`[0]` for
 * one whole-video encode; one entry per chunk otherwise), which names the sheet files.
 */
export const StoryboardSchema = z.object({
  interval: z.number().positive().max(3600),
  tileWidth: pixels,
  tileHeight: pixels,
  columns: z.number().int().min(1).max(100),
  rows: z.number().int().min(1).max(100),
  thumbnails: z.object({
    interval: z.number().positive().max(3600),
    sizes: z
      .array(z.object({ width: pixels, height: pixels }))
      .min(1)
      .max(8),
  }),
  parts: z.array(z.number().int().nonnegative()).min(1).max(10_000),
}) satisfies z.ZodType<StoryboardLayout & { parts: number[] }>;
export type Storyboard = z.infer<typeof StoryboardSchema>;

export const JobEventSchema = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("progress"),
    progress: z.number().min(0).max(100),
    stage: z.enum(["probing", "encoding", "uploading"]).optional(),
  }),
  z.object({
    type: z.literal("completed"),
    duration: z.number().nonnegative(),
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    renditions: z.array(EncodedRenditionSchema).min(1),
    /** Every file the transcoder PUT, so the Worker can check the set is complete. */
    files: z.array(z.string().regex(OUTPUT_FILE_NAME)).min(1),
    poster: z.string().regex(OUTPUT_FILE_NAME).nullable(),
    /** Absent when the encode made no storyboard (its sheets and thumbnails are among `files`). */
    storyboard: StoryboardSchema.optional(),
  }),
  z.object({
    /** A unit that publishes nothing by itself (probe, chunk, audio) is done; its result feeds later units. */
    type: z.literal("unit_done"),
    result: z.record(z.string(), z.unknown()),
    /** Every file the unit PUT, checked as for `completed`. */
    files: z.array(z.string().regex(OUTPUT_FILE_NAME)).max(100_000),
  }),
  z.object({
    /**
     * A chunked encode's first chunk, while it runs: the start of the video is stored (the first
     * chunk of every rung, the audio's first segments) with manifests predicted for the whole of
     * it, so it plays from now on. `files` is checked as for `completed`; renews the lease.
     */
    type: z.literal("playable"),
    files: z.array(z.string().regex(OUTPUT_FILE_NAME)).min(1).max(10_000),
  }),
  z.object({
    type: z.literal("failed"),
    code: z.enum(FAILURE_CODES),
    message: z.string().min(1).max(2000),
  }),
]);
export type JobEvent = z.infer<typeof JobEventSchema>;

// ── Runners ──────────────────────────────────────────────────────────────────────────────────────

/** A runner token: `sbr_` and 64 hex digits when the platform makes one. */
export const RUNNER_TOKEN_PATTERN = /^[A-Za-z0-9_.-]{32,256}$/;

/** Virtual host a Transcoder container reaches the Worker at; answered by the Worker itself. */
export const INTERNAL_API_HOST = "streambuddy.internal";

/**
 * The environment a container runner starts with: where to claim work, its runner token, and its
 * name. Any runner reads the same variables (transcoder/settings.ts).
 */
export function containerRunnerEnv(runnerId: string, token: string): Record<string, string> {
  return { RUNNER_ID: runnerId, RUNNER_TOKEN: token, RUNNER_API_BASE: `http://${INTERNAL_API_HOST}` };
}

// ── Claims ───────────────────────────────────────────────────────────────────────────────────────

/** The longest a claim may wait for work before it is answered 204. */
export const CLAIM_WAIT_MAX_SECONDS = 25;

/** `POST /internal/runners/claim`, sent with `Authorization: Bearer <runner token>`. */
export const ClaimRequestSchema = z.object({
  /** How long to wait for a unit when none is claimable now (0: answer at once). */
  wait_seconds: z.number().int().min(0).max(CLAIM_WAIT_MAX_SECONDS).default(CLAIM_WAIT_MAX_SECONDS),
  /**
   * Every unit the runner holds right now. A unit the Worker thinks it holds but that is missing
   * here is taken as lost (the runner restarted) and goes back to pending at once.
   */
  running: z.array(z.string().min(1).max(64)).max(64).default([]),
  /** Units the runner works on at once; at capacity it is given nothing. */
  capacity: z.number().int().min(1).max(64).default(1),
});
export type ClaimRequest = z.input<typeof ClaimRequestSchema>;

/**
 * `encode`: the whole video in one pass. Chunked encoding: `probe` (reads the source and says how
 * many chunks it makes), then one `chunk` per time range (sequence = chunk index) and one
 * `audio`, then `finalize` (the manifests from their outputs; claimable once all of them are done).
 */
export const UNIT_KINDS = ["encode", "probe", "chunk", "audio", "finalize"] as const;
export type UnitKind = (typeof UNIT_KINDS)[number];

/** The input of every unit of a chunked encode: how to cut it (seconds, multiples of 4). */
export const ChunkingInputSchema = z.object({
  firstChunkSeconds: z.number().int().positive(),
  chunkSeconds: z.number().int().positive(),
});
export type ChunkingInput = z.infer<typeof ChunkingInputSchema>;

/** The result of a `probe` unit: what the Worker makes the other units from. */
export const ProbeResultSchema = z.object({
  /** The probed source as the transcoder describes it; copied into every later unit's input. */
  source: z.record(z.string(), z.unknown()),
  chunks: z.number().int().min(1).max(100_000),
  audio: z.boolean(),
  /** The ladder's video rungs: Representations 0 … rungs − 1, and the audio's is `rungs`. */
  rungs: z.number().int().min(1).max(16).optional(),
});
export type ProbeResult = z.infer<typeof ProbeResultSchema>;

/** What a later unit of a chunked encode gets: the chunking, the probed source, and its chunk. */
export type ChunkedUnitInput = ChunkingInput & {
  source: Record<string, unknown>;
  /** For a `chunk` unit: its index. */
  chunk?: number;
  /** For `finalize`, added when it is claimed: the results of the job's chunk and audio units. */
  outputs?: { kind: UnitKind; sequence: number; result: unknown }[];
};

/** A claimed unit: the job it belongs to, and the lease and token for this attempt. */
export const UnitAssignmentSchema = TranscodeJobSchema.extend({
  unitId: z.string().min(1).max(64),
  kind: z.enum(UNIT_KINDS),
  /** This claim's attempt; the token opens only this attempt. */
  attempt: z.number().int().min(1),
  /** The lease ends this long after the claim and after every event; then the unit is claimed again. */
  leaseSeconds: z.number().int().positive(),
  /** Kind-specific input (e.g. a time range); `{}` for `encode`. */
  input: z.record(z.string(), z.unknown()),
});
export type UnitAssignment = z.infer<typeof UnitAssignmentSchema>;

/** 200 answer of a claim. (204, no body: nothing was claimable within `wait_seconds`.) */
export const ClaimAnswerSchema = z.object({ unit: UnitAssignmentSchema });
export type ClaimAnswer = z.infer<typeof ClaimAnswerSchema>;

/** 200 answer of `POST {apiBase}/events`. `duplicate`: this completion had been recorded already. */
export const UnitEventAnswerSchema = z.object({
  ok: z.literal(true),
  duplicate: z.boolean().optional(),
});
export type UnitEventAnswer = z.infer<typeof UnitEventAnswerSchema>;
