import { createRoute, z } from "@hono/zod-openapi";
import { openApiErrorResponses } from "../../app/errors";
import { API_KEY_SECURITY } from "../../app/openapi";
import { VIDEO_STATUSES, VISIBILITIES } from "../../db/schema";
import { requireUser } from "../../middleware/auth";
import { VideoSchema } from "../../videos/videos.schema";

const tags = ["Videos"];
const IdParams = z.object({ id: z.string().min(1).max(200).openapi({ description: "The video's id" }) });

export const VideoPageSchema = z
  .object({
    count: z.number().int(),
    next: z.string().nullable(),
    previous: z.string().nullable(),
    results: z.array(VideoSchema),
  })
  .openapi("VideoPage");

export const listVideos = createRoute({
  method: "get",
  path: "/api/videos",
  tags,
  summary: "List videos",
  description:
    "Newest first. Without `mine`, the public videos that are ready to play; with `mine=1` (authenticated), " +
    "all of the caller's own videos in every state. Private and unlisted videos never appear in others' lists.",
  request: {
    query: z.object({
      page: z.coerce.number().int().min(1).max(100_000).optional().default(1),
      page_size: z.coerce.number().int().min(1).max(100).optional().default(20),
      search: z.string().trim().max(200).optional(),
      status: z.enum(VIDEO_STATUSES).optional(),
      mine: z.enum(["0", "1", "true", "false"]).optional(),
    }),
  },
  security: [...API_KEY_SECURITY, {}],
  responses: {
    200: { description: "A page of videos", content: { "application/json": { schema: VideoPageSchema } } },
    400: openApiErrorResponses[400],
    401: openApiErrorResponses[401],
    429: openApiErrorResponses[429],
  },
});

export const getVideo = createRoute({
  method: "get",
  path: "/api/videos/{title}",
  tags,
  summary: "Stream video: the video by slug or id",
  description:
    "`{title}` is the video's slug or id. Answers the video with its playback URLs (signed ones for the owner " +
    "of a private video). With `Accept: application/dash+xml` or `?format=mpd` it answers the MPD itself, so a " +
    "DASH player can be pointed straight at this URL.",
  request: {
    params: z.object({ title: z.string().min(1).max(200) }),
    query: z.object({ format: z.enum(["json", "mpd"]).optional() }),
  },
  security: [...API_KEY_SECURITY, {}],
  responses: {
    200: {
      description: "The video, or its MPD",
      content: {
        "application/json": { schema: VideoSchema },
        "application/dash+xml": { schema: z.string() },
      },
    },
    404: openApiErrorResponses[404],
    409: { ...openApiErrorResponses[404], description: "The MPD was asked for but the video is not ready yet" },
    429: openApiErrorResponses[429],
  },
});

export const patchVideo = createRoute({
  method: "patch",
  path: "/api/videos/{id}",
  tags,
  summary: "Change a video's title, description, visibility, poster or downloads (owner only)",
  description:
    "`poster_time` picks the poster among the frames the encode stored (the nearest one to that second), without " +
    "a new encode; `null` goes back to the encode's own poster. It is refused 409 while the served version has " +
    "no stored frames, and 400 past the end. `downloadable: true` lets anyone who may watch the video download " +
    "it as MP4 (each rung with its audio) and the audio as M4A.",
  middleware: [requireUser()] as const,
  security: API_KEY_SECURITY,
  request: {
    params: IdParams,
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z
            .object({
              title: z.string().optional(),
              description: z.string().max(5000).optional(),
              visibility: z.enum(VISIBILITIES).optional(),
              poster_time: z
                .number()
                .min(0)
                .nullable()
                .optional()
                .openapi({ description: "Seconds into the video; null: the encode's own poster", example: 12.5 }),
              downloadable: z.boolean().optional(),
            })
            .openapi("VideoUpdate"),
        },
      },
    },
  },
  responses: {
    200: { description: "The updated video", content: { "application/json": { schema: VideoSchema } } },
    409: { ...openApiErrorResponses[404], description: "A poster time for a version without stored frames" },
    ...openApiErrorResponses,
  },
});

export const deleteVideo = createRoute({
  method: "delete",
  path: "/api/videos/{id}",
  tags,
  summary: "Delete a video and every stored object of it (owner only)",
  middleware: [requireUser()] as const,
  security: API_KEY_SECURITY,
  request: { params: IdParams },
  responses: { 204: { description: "Deleted" }, ...openApiErrorResponses },
});

export const PlaybackTokenSchema = z
  .object({
    token: z.string(),
    expires_at: z.string().openapi({ format: "date-time" }),
    dash_url: z.string(),
    hls_url: z.string(),
    poster_url: z.string().nullable().openapi({ description: "Null while the video plays still processing" }),
    storyboard_url: z.string().nullable(),
    embed_url: z.string().openapi({ description: "The embed page with this token, for an iframe" }),
  })
  .openapi("PlaybackToken");

export const createPlaybackToken = createRoute({
  method: "post",
  path: "/api/videos/{id}/playback-token",
  tags,
  summary: "Signed, expiring playback URLs (owner only)",
  description:
    "For a private video (or any of the owner's videos): the token sits in the path of the playback URLs, so " +
    "the segment URLs inside the manifests carry it too. `ttl_seconds` defaults to PLAYBACK_TOKEN_TTL_SECONDS " +
    "(1 h) and is capped by PLAYBACK_TOKEN_MAX_TTL_SECONDS (24 h).",
  middleware: [requireUser()] as const,
  security: API_KEY_SECURITY,
  request: {
    params: IdParams,
    body: {
      required: false,
      content: {
        "application/json": { schema: z.object({ ttl_seconds: z.number().int().min(60).optional() }) },
      },
    },
  },
  responses: {
    201: { description: "Signed URLs", content: { "application/json": { schema: PlaybackTokenSchema } } },
    409: { ...openApiErrorResponses[404], description: "The video is not ready to play yet" },
    ...openApiErrorResponses,
  },
});

export const downloadSource = createRoute({
  method: "get",
  path: "/api/videos/{id}/source",
  tags,
  summary: "Download the original upload (owner only)",
  description: "The uploaded file as it was received, with Range support.",
  middleware: [requireUser()] as const,
  security: API_KEY_SECURITY,
  request: { params: IdParams },
  responses: {
    200: { description: "The original file", content: { "application/octet-stream": { schema: z.string() } } },
    206: { description: "A byte range of it" },
    ...openApiErrorResponses,
  },
});

export const reprocessVideo = createRoute({
  method: "post",
  path: "/api/videos/{id}/reprocess",
  tags,
  summary: "Transcode the video again (owner only)",
  description:
    "Starts a new output version from the stored original; the video keeps playing its current version until " +
    "the new one is complete, then switches and the old one is deleted. While an encode is already under way " +
    "this changes nothing (no second encode starts). `max_resolution` may be raised up to MAX_VIDEO_QUALITY.",
  middleware: [requireUser()] as const,
  security: API_KEY_SECURITY,
  request: {
    params: IdParams,
    body: {
      required: false,
      content: { "application/json": { schema: z.object({ max_resolution: z.string().optional() }) } },
    },
  },
  responses: {
    202: { description: "Queued (or already under way)", content: { "application/json": { schema: VideoSchema } } },
    409: { ...openApiErrorResponses[404], description: "The upload has not finished" },
    ...openApiErrorResponses,
  },
});
