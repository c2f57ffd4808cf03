/**
 * The uploads' OpenAPI entries. Their bodies are streams (multipart/form-data, tus PATCH bodies)
 * that the handlers read themselves, so the entries are registered by hand instead of through
 * `createRoute`, which would validate (and buffer) the body.
 */
import { z } from "@hono/zod-openapi";
import { openApiErrorResponses } from "../../app/errors";
import { API_KEY_SECURITY } from "../../app/openapi";
import type { AppOpenAPI } from "../../app/types";
import { TUS_PATH } from "../../uploads/tus";
import { VideoSchema } from "../../videos/videos.schema";

const tusHeaders = {
  "Tus-Resumable": z.literal("1.0.0").openapi({ description: "The protocol version" }),
};

export function registerUploadDocs(app: AppOpenAPI) {
  const errors = {
    400: openApiErrorResponses[400],
    401: openApiErrorResponses[401],
    413: { ...openApiErrorResponses[400], description: "Larger than MAX_UPLOAD_SIZE or the storage quota." },
    415: { ...openApiErrorResponses[400], description: "Not an accepted video type, or the bytes are not a video." },
    429: openApiErrorResponses[429],
  };
  app.openAPIRegistry.registerPath({
    method: "post",
    path: "/api/videos/upload",
    tags: ["Uploads"],
    summary: "Upload a video in one request",
    description:
      "`multipart/form-data` with `file` and `title` (and optionally `description`, `visibility`, `max_resolution`). " +
      "The body is read as a stream. Requests are limited by the platform's request-body limit (100 MB on " +
      "Cloudflare's Free and Pro plans); larger files go through the resumable endpoint.",
    security: API_KEY_SECURITY,
    request: {
      body: {
        required: true,
        content: {
          "multipart/form-data": {
            schema: z.object({
              file: z.string().openapi({ type: "string", format: "binary" }),
              title: z.string().min(1).max(200),
              description: z.string().optional(),
              visibility: z.enum(["public", "unlisted", "private"]).optional(),
              max_resolution: z.string().optional().openapi({ example: "1080p" }),
            }),
          },
        },
      },
    },
    responses: {
      201: {
        description: "Stored and queued for transcoding",
        content: { "application/json": { schema: VideoSchema } },
      },
      ...errors,
    },
  });
  app.openAPIRegistry.registerPath({
    method: "post",
    path: TUS_PATH,
    tags: ["Uploads"],
    summary: "Start a resumable upload (tus 1.0)",
    description:
      "tus 1.0 creation (and creation-with-upload). `Upload-Length` is required; `Upload-Metadata` carries " +
      "`filename`, `title`, `filetype`, and optionally `description`, `visibility`, `max_resolution`. The " +
      "`Location` of the upload ends with the new video's id, also given as `Video-Id`. Continue with PATCH " +
      "requests to that URL (each body below the platform's request limit), HEAD to learn the offset, DELETE to cancel.",
    security: API_KEY_SECURITY,
    request: {
      headers: z.object({
        ...tusHeaders,
        "Upload-Length": z.string().openapi({ example: "1048576" }),
        "Upload-Metadata": z
          .string()
          .openapi({ example: "filename bXkubXA0,title TXkgdmlkZW8=,filetype dmlkZW8vbXA0" }),
      }),
    },
    responses: { 201: { description: "Created; `Location` and `Video-Id` name it" }, ...errors },
  });
  for (const method of ["patch", "head", "delete"] as const) {
    app.openAPIRegistry.registerPath({
      method,
      path: `${TUS_PATH}/{id}`,
      tags: ["Uploads"],
      summary: { patch: "Send bytes at Upload-Offset", head: "Current offset", delete: "Cancel the upload" }[method],
      security: API_KEY_SECURITY,
      request: { params: z.object({ id: z.string() }), headers: z.object(tusHeaders) },
      responses: {
        204: { description: method === "head" ? "`Upload-Offset` and `Upload-Length`" : "Done" },
        404: openApiErrorResponses[404],
        409: { ...openApiErrorResponses[400], description: "Upload-Offset does not match the stored offset" },
        ...errors,
      },
    });
  }
}
