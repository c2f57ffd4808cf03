import { createRoute, z } from "@hono/zod-openapi";
import { errorResponse, openApiErrorResponses } from "../../app/errors";
import { API_KEY_SECURITY } from "../../app/openapi";
import { VISIBILITIES } from "../../db/schema";
import { requireUser } from "../../middleware/auth";
import { VideoSchema } from "../../videos/videos.schema";

const tags = ["Direct uploads"];
const IdParams = z.object({ id: z.string().min(1).max(200).openapi({ description: "The upload's id (its video's)" }) });

const PartUrlSchema = z.object({ number: z.number().int(), url: z.string() }).openapi("DirectUploadPartUrl");

export const DirectUploadSchema = z
  .object({
    video: VideoSchema,
    upload_id: z.string(),
    part_size: z.number().int().openapi({ description: "Every part but the last has exactly this many bytes" }),
    part_count: z.number().int(),
    parts: z.array(PartUrlSchema).openapi({ description: "Presigned PUT URLs for the first parts" }),
    parts_url: z.string().openapi({ description: "GET with `from` (and `count`) for more part URLs" }),
    complete_url: z.string(),
    expires_at: z.string().openapi({ description: "When the URLs stop working and the upload is dropped" }),
  })
  .openapi("DirectUpload");

export const createDirectUpload = createRoute({
  method: "post",
  path: "/api/videos/direct-upload",
  tags,
  summary: "Start an upload straight to the bucket",
  description:
    "The same fields and checks as a tus creation. Answers presigned URLs to PUT the parts to (the bucket " +
    "needs a CORS rule for browsers; see the README), then POST `complete_url` with each part's ETag. Needs " +
    "the S3 API (STORAGE_BACKEND=s3, or the R2 bucket's S3 endpoint and keys); 501 otherwise.",
  middleware: [requireUser()] as const,
  security: API_KEY_SECURITY,
  request: {
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z
            .object({
              title: z.string().optional(),
              description: z.string().optional(),
              visibility: z.enum(VISIBILITIES).optional(),
              max_resolution: z.string().optional(),
              filename: z.string().max(255).optional(),
              type: z.string().max(200).optional(),
              size: z.number().int().min(1),
            })
            .openapi("DirectUploadRequest"),
        },
      },
    },
  },
  responses: {
    201: { description: "Upload started", content: { "application/json": { schema: DirectUploadSchema } } },
    ...openApiErrorResponses,
  },
});

export const directUploadParts = createRoute({
  method: "get",
  path: "/api/videos/direct-upload/{id}/parts",
  tags,
  summary: "More presigned part URLs of a direct upload",
  middleware: [requireUser()] as const,
  security: API_KEY_SECURITY,
  request: {
    params: IdParams,
    query: z.object({
      from: z.coerce.number().int().min(1).optional().default(1),
      count: z.coerce.number().int().min(1).max(1000).optional().default(100),
    }),
  },
  responses: {
    200: {
      description: "Part URLs",
      content: { "application/json": { schema: z.object({ parts: z.array(PartUrlSchema) }) } },
    },
    ...openApiErrorResponses,
    410: errorResponse("The upload expired before it was completed."),
  },
});

export const completeDirectUpload = createRoute({
  method: "post",
  path: "/api/videos/direct-upload/{id}/complete",
  tags,
  summary: "Complete a direct upload with its parts' ETags",
  description:
    "Joins the parts, checks the size and the first bytes (a renamed non-video is 415 and deleted), then " +
    "queues the video. Any refusal drops the upload.",
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
              parts: z
                .array(z.object({ number: z.number().int().min(1).max(10_000), etag: z.string().min(1).max(200) }))
                .max(10_000)
                // Checked by the handler, after the upload is known to be the caller's.
                .optional()
                .default([]),
            })
            .openapi("DirectUploadCompletion"),
        },
      },
    },
  },
  responses: {
    200: { description: "Stored and queued", content: { "application/json": { schema: VideoSchema } } },
    ...openApiErrorResponses,
    410: errorResponse("The upload expired before it was completed."),
  },
});

export const abortDirectUpload = createRoute({
  method: "delete",
  path: "/api/videos/direct-upload/{id}",
  tags,
  summary: "Abort a direct upload",
  middleware: [requireUser()] as const,
  security: API_KEY_SECURITY,
  request: { params: IdParams },
  responses: { 204: { description: "Aborted; nothing of it is kept" }, ...openApiErrorResponses },
});
