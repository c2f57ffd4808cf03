/**
 * The storyboards' OpenAPI entries. They are playback files with signed twins under
 * `/v/{id}/t/{token}/`, answered by plain handlers, so the entries are registered by hand.
 */
import { z } from "@hono/zod-openapi";
import { openApiErrorResponses } from "../../app/errors";
import { API_KEY_SECURITY, PRIVATE_PLAYBACK_NOTE } from "../../app/openapi";
import type { AppOpenAPI } from "../../app/types";

const params = z.object({ id: z.string().min(1).max(200).openapi({ description: "The video's id" }) });

export function registerStoryboardDocs(app: AppOpenAPI) {
  app.openAPIRegistry.registerPath({
    method: "get",
    path: "/v/{id}/storyboard.vtt",
    tags: ["Playback"],
    summary: "The storyboard: seek-bar previews as a WebVTT index",
    description:
      "One cue per stored frame (every few seconds), whose text is a sprite sheet and the frame's tile in it, " +
      "`<version>/storyboard-0.jpg#xywh=x,y,w,h` (Mux's storyboard.vtt convention), relative to this file. " +
      `404 when the encode made no storyboard (the video's \`storyboard_url\` is null then). ${PRIVATE_PLAYBACK_NOTE}`,
    security: [...API_KEY_SECURITY, {}],
    request: { params },
    responses: {
      200: { description: "The index", content: { "text/vtt": { schema: z.string() } } },
      304: { description: "Not modified (If-None-Match)" },
      404: openApiErrorResponses[404],
      429: openApiErrorResponses[429],
    },
  });
  app.openAPIRegistry.registerPath({
    method: "get",
    path: "/v/{id}/thumbnail.jpg",
    tags: ["Playback"],
    summary: "The stored frame nearest a time",
    description:
      "A JPEG of the frame the encode kept nearest `time` (frames are kept every few seconds, at a few widths: " +
      "`width` picks the stored width nearest it, by default the smallest). No frame is made on request. " +
      `400 for a time that is malformed or past the end, 404 when the encode kept no frames. ${PRIVATE_PLAYBACK_NOTE}`,
    security: [...API_KEY_SECURITY, {}],
    request: {
      params,
      query: z.object({
        time: z.string().openapi({ description: "Seconds from the start, e.g. `12.5`", example: "2" }),
        width: z.string().optional().openapi({ description: "Pixels, e.g. `640`", example: "640" }),
      }),
    },
    responses: {
      200: {
        description: "The frame",
        content: { "image/jpeg": { schema: z.string().openapi({ format: "binary" }) } },
      },
      400: openApiErrorResponses[400],
      404: openApiErrorResponses[404],
    },
  });
}
