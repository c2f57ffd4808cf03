import { z } from "@hono/zod-openapi";
import { VIDEO_STATUSES, VISIBILITIES } from "../db/schema";

/** The video as the API shows it (see serializeVideo). */
export const VideoSchema = z
  .object({
    id: z.string().openapi({ example: "0f8fad5b-d9cb-469f-a165-70867728950e" }),
    slug: z.string().openapi({ example: "my-holiday" }),
    title: z.string(),
    description: z.string(),
    visibility: z.enum(VISIBILITIES),
    status: z.enum(VIDEO_STATUSES),
    progress: z.number().int().min(0).max(100),
    error: z
      .object({
        code: z.string().openapi({ example: "not_video" }),
        message: z.string(),
      })
      .nullable(),
    duration: z.number().nullable().openapi({ description: "Seconds" }),
    width: z.number().int().nullable(),
    height: z.number().int().nullable(),
    size: z.number().int().nullable().openapi({ description: "Bytes of the uploaded source" }),
    max_resolution: z.string().openapi({ example: "1080p" }),
    renditions: z.array(
      z.object({
        height: z.number().int().nullable(),
        width: z.number().int().nullable(),
        bandwidth: z.number().int(),
        codecs: z.string(),
      }),
    ),
    poster_url: z.string().nullable().openapi({
      description: "The poster: the frame the owner chose with `poster_time`, or the encode's own (10% in)",
    }),
    poster_time: z
      .number()
      .nullable()
      .openapi({ description: "Seconds into the video of the chosen poster; null: the encode's own poster" }),
    dash_url: z.string().nullable(),
    hls_url: z.string().nullable(),
    playable: z.boolean().openapi({
      description:
        "Whether the video plays now: it is ready, or still processing with its start encoded (a chunked encode), " +
        "when `dash_url` and `hls_url` play it from the start while the rest is encoded.",
    }),
    storyboard_url: z.string().nullable().openapi({
      description:
        "The WebVTT index of the seek-bar previews (`#xywh=` tiles of sprite sheets), when the encode made them",
    }),
    captions: z
      .array(
        z.object({
          lang: z.string().openapi({ description: "BCP 47 language tag", example: "en-US" }),
          label: z.string().openapi({ example: "American English" }),
          url: z.string().nullable().openapi({ description: "The WebVTT file; null until the video can be played" }),
        }),
      )
      .openapi({ description: "Caption tracks, also offered in the DASH and HLS manifests" }),
    downloadable: z.boolean().openapi({
      description: "Whether viewers may download it as MP4 (`/v/{id}/download/{height}p.mp4`) and M4A",
    }),
    queue_position: z
      .number()
      .int()
      .min(0)
      .nullable()
      .openapi({
        description:
          "While the video waits for a runner: how many waiting work units the scheduler's fair order puts before its " +
          "first one (0: it is next). Null when it is not waiting (uploading, processing, ready, failed), and until its " +
          "units exist, moments after the upload.",
        example: 3,
      }),
    estimated_start_at: z
      .string()
      .nullable()
      .openapi({
        description:
          "While it waits, when a runner should start on it: an estimate from the runners' mean time per unit, shared " +
          "among the runners that are alive. Null while it does not wait, or before any runner finished a unit.",
        example: "2026-05-04T10:15:00.000Z",
      }),
    owner: z.object({ id: z.string(), username: z.string() }),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("Video");
