import { createRoute, z } from "@hono/zod-openapi";
import { openApiErrorResponses } from "../../app/errors";
import { API_KEY_SECURITY } from "../../app/openapi";
import { requireAdmin } from "../../middleware/auth";
import { RunnerSchema } from "./runners.routes";

const StatsSchema = z
  .object({
    videos: z.record(z.string(), z.number().int()),
    jobs: z.record(z.string(), z.number().int()),
    queue_depth: z.number().int().openapi({ description: "Jobs not finished: waiting for a runner or running" }),
    backlog: z.object({
      pending_units: z.number().int().openapi({ description: "Work units waiting for a runner" }),
      running_units: z.number().int().openapi({ description: "Work units a runner holds" }),
      oldest_pending_since: z.string().nullable().openapi({ description: "When the longest-waiting unit was created" }),
    }),
    runners: z.array(RunnerSchema).openapi({ description: "Runners not revoked, with their throughput" }),
    failures_last_day: z.object({ jobs: z.number().int(), videos: z.number().int() }),
    users: z.number().int(),
    stored_source_bytes: z.number().int(),
  })
  .openapi("AdminStats");

export const stats = createRoute({
  method: "get",
  path: "/api/admin/stats",
  tags: ["Admin"],
  summary: "Platform statistics (admins only)",
  description: "Admins are users marked `is_admin`, or named in the ADMIN_USERNAMES setting.",
  middleware: [requireAdmin()] as const,
  security: API_KEY_SECURITY,
  responses: {
    200: { description: "Counts", content: { "application/json": { schema: StatsSchema } } },
    ...openApiErrorResponses,
  },
});

const StorageSchema = z
  .object({
    video_id: z.string(),
    objects: z.array(z.object({ key: z.string(), size: z.number().int() })),
    bytes: z.number().int(),
  })
  .openapi("VideoStorage");

export const storage = createRoute({
  method: "get",
  path: "/api/admin/videos/{id}/storage",
  tags: ["Admin"],
  summary: "Every stored object of a video, existing or deleted (admins only)",
  description: "The original, every output version and any held-back upload bytes: for finding orphans.",
  middleware: [requireAdmin()] as const,
  security: API_KEY_SECURITY,
  request: { params: z.object({ id: z.string().regex(/^[A-Za-z0-9-]{1,64}$/) }) },
  responses: {
    200: { description: "Objects", content: { "application/json": { schema: StorageSchema } } },
    ...openApiErrorResponses,
  },
});
