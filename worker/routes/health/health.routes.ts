import { createRoute, z } from "@hono/zod-openapi";

export const HealthSchema = z.object({ ok: z.literal(true) }).openapi("Health");

export const healthz = createRoute({
  method: "get",
  path: "/healthz",
  tags: ["Health"],
  summary: "Liveness",
  description: "Answers as long as the Worker serves requests.",
  responses: {
    200: { content: { "application/json": { schema: HealthSchema } }, description: "The Worker is up" },
  },
});

export type HealthzRoute = typeof healthz;
