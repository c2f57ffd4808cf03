/**
 * The embed page's and oEmbed's OpenAPI entries. Both answer outside the JSON API (an HTML page,
 * oEmbed's own JSON shape), with plain handlers, so the entries are registered by hand.
 */
import { z } from "@hono/zod-openapi";
import { openApiErrorResponses } from "../../app/errors";
import { API_KEY_SECURITY } from "../../app/openapi";
import type { AppOpenAPI } from "../../app/types";

export const OEmbedSchema = z
  .object({
    type: z.literal("video"),
    version: z.literal("1.0"),
    title: z.string(),
    author_name: z.string(),
    author_url: z.string(),
    provider_name: z.string(),
    provider_url: z.string(),
    cache_age: z.number().int(),
    html: z.string().openapi({ description: "The iframe of the embed page" }),
    width: z.number().int(),
    height: z.number().int(),
    thumbnail_url: z.string().optional(),
    thumbnail_width: z.number().int().optional(),
    thumbnail_height: z.number().int().optional(),
  })
  .openapi("OEmbed");

export function registerEmbedDocs(app: AppOpenAPI) {
  app.openAPIRegistry.registerPath({
    method: "get",
    path: "/embed/{id}",
    tags: ["Embeds"],
    summary: "The embeddable player page, for an iframe",
    description:
      "A bare player (poster, quality and captions menus) filling the frame. `?autoplay=1` (muted unless " +
      "`muted=0`: browsers start sound only after a gesture), `?muted=1`, `?start=S` (seconds), `?loop=1`. Other " +
      "sites may frame it as EMBED_ALLOWED_ORIGINS allows (its CSP `frame-ancestors`). A private video's embed " +
      "needs `?token=<playback token>` (the `embed_url` of `POST /api/videos/{id}/playback-token/`), which signs " +
      "its playback too, or its owner's key; without one it is 404, with a bad or expired one 403.",
    security: [...API_KEY_SECURITY, {}],
    request: {
      params: z.object({ id: z.string().min(1).max(200).openapi({ description: "The video's id" }) }),
      query: z.object({
        token: z.string().optional(),
        autoplay: z.enum(["0", "1"]).optional(),
        muted: z.enum(["0", "1"]).optional(),
        start: z.string().optional().openapi({ example: "30" }),
        loop: z.enum(["0", "1"]).optional(),
      }),
    },
    responses: {
      200: { description: "The page", content: { "text/html": { schema: z.string() } } },
      403: openApiErrorResponses[403],
      404: openApiErrorResponses[404],
    },
  });
  app.openAPIRegistry.registerPath({
    method: "get",
    path: "/oembed",
    tags: ["Embeds"],
    summary: "oEmbed 1.0 for a watch or embed page",
    description:
      "`url` is one of this site's watch (`/watch?v=<slug or id>`) or embed (`/embed/<id>`) URLs; the answer is " +
      "a `video` with the embed page's iframe, sized to `maxwidth`/`maxheight` keeping the video's shape, and the " +
      'largest stored still that fits. The watch page names it in a `<link rel="alternate" ' +
      'type="application/json+oembed">`. A URL of another site is 404, a format other than `json` 501, a private ' +
      "video 401.",
    request: {
      query: z.object({
        url: z.string().openapi({ example: "https://video.example.com/watch?v=my-holiday" }),
        format: z.literal("json").optional(),
        maxwidth: z.string().optional().openapi({ example: "480" }),
        maxheight: z.string().optional(),
      }),
    },
    responses: {
      200: { description: "The oEmbed answer", content: { "application/json": { schema: OEmbedSchema } } },
      400: openApiErrorResponses[400],
      401: { ...openApiErrorResponses[401], description: "The video is private." },
      404: openApiErrorResponses[404],
      501: { ...openApiErrorResponses[404], description: "A format other than json." },
    },
  });
}
