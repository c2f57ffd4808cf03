/**
 * The downloads' OpenAPI entry. Downloads are playback files with signed twins under
 * `/v/{id}/t/{token}/`, answered by a plain handler, so the entry is registered by hand.
 */
import { z } from "@hono/zod-openapi";
import { openApiErrorResponses } from "../../app/errors";
import { API_KEY_SECURITY, PRIVATE_PLAYBACK_NOTE } from "../../app/openapi";
import type { AppOpenAPI } from "../../app/types";

export function registerDownloadDocs(app: AppOpenAPI) {
  app.openAPIRegistry.registerPath({
    method: "get",
    path: "/v/{id}/download/{file}",
    tags: ["Playback"],
    summary: "Download the video as MP4, or its audio as M4A",
    description:
      "`{file}` is `<height>p.mp4` (a rung of the video's `renditions`, with its audio: a standard MP4 with " +
      "its index first, made from the stored segments without re-encoding) or `audio.m4a` (the audio alone). " +
      "Answered as an attachment (`Content-Disposition`, named after the video's slug) with Range. 404 unless " +
      `the owner made the video \`downloadable\` and the encode stored that file. ${PRIVATE_PLAYBACK_NOTE}`,
    security: [...API_KEY_SECURITY, {}],
    request: {
      params: z.object({
        id: z.string().min(1).max(200).openapi({ description: "The video's id" }),
        file: z.string().openapi({ description: "`<height>p.mp4` or `audio.m4a`", example: "720p.mp4" }),
      }),
    },
    responses: {
      200: {
        description: "The file",
        content: {
          "video/mp4": { schema: z.string().openapi({ format: "binary" }) },
          "audio/mp4": { schema: z.string().openapi({ format: "binary" }) },
        },
      },
      206: { description: "A byte range of it" },
      404: openApiErrorResponses[404],
      416: { ...openApiErrorResponses[404], description: "No byte of the range lies within the file" },
      429: openApiErrorResponses[429],
    },
  });
}
