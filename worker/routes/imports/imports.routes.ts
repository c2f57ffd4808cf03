import { createRoute, z } from "@hono/zod-openapi";
import { openApiErrorResponses } from "../../app/errors";
import { API_KEY_SECURITY } from "../../app/openapi";
import { VISIBILITIES } from "../../db/schema";
import { requireUser } from "../../middleware/auth";
import { VideoSchema } from "../../videos/videos.schema";

export const ImportRequestSchema = z
  .object({
    url: z.string().openapi({ example: "https://media.example.com/holiday.mp4" }),
    title: z.string().optional(),
    description: z.string().optional(),
    visibility: z.enum(VISIBILITIES).optional(),
    max_resolution: z.string().optional().openapi({ example: "1080p" }),
  })
  .openapi("ImportRequest");

export const createImport = createRoute({
  method: "post",
  path: "/api/videos/import",
  tags: ["Imports"],
  summary: "Import a video from a URL",
  description:
    "The Worker fetches the URL (http or https, on a public host; redirects followed up to 5 times, each hop " +
    "checked) into storage after answering: the video is `uploading` with `progress` the share of the source's " +
    "Content-Length fetched (or `size` the bytes so far when it has none), then `queued` for transcoding as after " +
    "an upload. The same fields, limits and checks as an upload; what only the source can tell (not a video, " +
    "larger than MAX_UPLOAD_SIZE or the quota, unreachable, stopped midway without Range support) ends the video " +
    "`failed` with `error` saying why (`not_video`, `unsupported`, `too_large`, `import_failed`).",
  middleware: [requireUser()] as const,
  security: API_KEY_SECURITY,
  request: {
    body: { required: true, content: { "application/json": { schema: ImportRequestSchema } } },
  },
  responses: {
    202: {
      description: "The video, `uploading`; its bytes are fetched after this answer. `Location` names it.",
      content: { "application/json": { schema: VideoSchema } },
    },
    ...openApiErrorResponses,
    413: { ...openApiErrorResponses[400], description: "The caller's storage quota is used up." },
  },
});
