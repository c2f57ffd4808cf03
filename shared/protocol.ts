/**
 * The job protocol between the Worker and the transcoder: one module, imported by both sides.
 *
 * Worker → transcoder: `POST /jobs` with a {@link TranscodeJob}.
 * Transcoder → Worker (internal job API, authenticated by the job's token only):
 *   GET  {apiBase}/source             the uploaded source, with Range
 *   PUT  {apiBase}/files/{name}       one output file ({@link OUTPUT_FILE_NAME})
 *   POST {apiBase}/events             a {@link JobEvent}
 */
import { z } from "zod";
import type { StoryboardLayout } from "./storyboard-index.ts";

/** The queue message that asks for a video to be transcoded. */
export const TranscodeMessageSchema = z.object({
  videoId: z.string().min(1).max(64),
});
export type TranscodeMessage = z.infer<typeof TranscodeMessageSchema>;

export const TranscodeJobSchema = z.object({
  jobId: z.string().min(1).max(64),
  videoId: z.string().min(1).max(64),
  /** Output version: files land under `videos/<videoId>/<version>/`. */
  version: z.string().regex(/^[A-Za-z0-9-]{1,64}$/),
  /** Base URL of the internal job API for this job, e.g. `https://host/internal/jobs/<jobId>`. */
  apiBase: z.url(),
  /** Bearer token for the internal job API; expires, and opens only this job. */
  token: z.string().min(16).max(1024),
  /** The highest rung to produce, as a height (the upload's max_resolution). */
  maxHeight: z.number().int().min(144).max(4320),
  /** Sources longer than this fail with `too_long`. */
  maxDurationSeconds: z.number().positive(),
});
export type TranscodeJob = z.infer<typeof TranscodeJobSchema>;

export const JOB_STATES = ["accepted", "running", "completed", "failed", "cancelled"] as const;
export type JobState = (typeof JOB_STATES)[number];

/** What `POST /jobs` answers (202) and `GET /jobs/{id}` reports. */
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
    type: z.literal("failed"),
    code: z.enum(FAILURE_CODES),
    message: z.string().min(1).max(2000),
  }),
]);
export type JobEvent = z.infer<typeof JobEventSchema>;
