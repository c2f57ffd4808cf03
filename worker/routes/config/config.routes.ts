import { createRoute, z } from "@hono/zod-openapi";
import { openApiErrorResponses } from "../../app/errors";

export const ConfigSchema = z
  .object({
    max_upload_size: z.number().int().openapi({ description: "MAX_UPLOAD_SIZE: the largest upload, in bytes" }),
    direct_uploads: z.boolean().openapi({
      description:
        "Whether `POST /api/videos/direct-upload/` is offered (storage with the S3 API); without it, clients upload " +
        "through tus (`/api/uploads/`), which always works",
    }),
    imports: z.literal(true).openapi({ description: "`POST /api/videos/import/` is offered" }),
  })
  .openapi("Config");

export const getConfig = createRoute({
  method: "get",
  path: "/api/config",
  tags: ["Config"],
  summary: "What this deployment offers clients",
  description: "Read by the web app to choose how it uploads: straight to the bucket when it can, else tus.",
  responses: {
    200: { content: { "application/json": { schema: ConfigSchema } }, description: "The deployment's offer" },
    ...openApiErrorResponses,
  },
});
