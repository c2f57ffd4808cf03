import { createRoute, z } from "@hono/zod-openapi";
import { openApiErrorResponses } from "../../app/errors";
import { API_KEY_SECURITY } from "../../app/openapi";
import { RUNNER_KINDS } from "../../db/schema";
import { requireAdmin } from "../../middleware/auth";

export const RunnerSchema = z
  .object({
    id: z.string().openapi({ example: "2d0b8f4e-6c1a-4f0e-9a57-2a3f1b7c9d10" }),
    name: z.string().openapi({ example: "gpu-box" }),
    kind: z.enum(RUNNER_KINDS).openapi({
      description: "`remote`: issued here; `container`: started by the platform; `local`: the runner of `npm start`",
    }),
    created_at: z.string(),
    last_contact_at: z.string().nullable().openapi({ description: "Its last claim or event" }),
    revoked_at: z.string().nullable(),
    current_unit: z
      .object({
        id: z.string(),
        job_id: z.string(),
        video_id: z.string(),
        kind: z.string().openapi({ example: "encode" }),
        attempt: z.number().int(),
        progress: z.number().int(),
        lease_until: z.string().nullable(),
      })
      .nullable()
      .openapi({ description: "The unit it claimed last, while it holds it" }),
    units_running: z.number().int().openapi({ description: "Units it holds now" }),
    units_done: z.number().int(),
    units_failed: z.number().int().openapi({ description: "Attempts that failed or whose lease it lost" }),
    encode_seconds: z.number().openapi({ description: "Wall seconds from claim to completion over its done units" }),
    seconds_per_unit: z.number().nullable().openapi({ description: "Its mean time per done unit" }),
    speed: z.number().nullable().openapi({ description: "Seconds of video per second of work over its done units" }),
  })
  .openapi("Runner");

const params = z.object({ id: z.string().regex(/^[A-Za-z0-9-]{1,64}$/) });

export const createRunner = createRoute({
  method: "post",
  path: "/api/admin/runners",
  tags: ["Admin"],
  summary: "Issue a runner token (admins only)",
  description:
    "A remote runner adds transcoding capacity from any machine: it claims work from the Worker with this token " +
    "(docs/runner-protocol.md). The token is shown once; only its hash is kept.",
  middleware: [requireAdmin()] as const,
  security: API_KEY_SECURITY,
  request: {
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z.object({
            name: z
              .string()
              .trim()
              .min(1)
              .max(100)
              .refine((name) => !/\p{Cc}/u.test(name), "must not contain control characters")
              .openapi({ example: "gpu-box" }),
          }),
        },
      },
    },
  },
  responses: {
    201: {
      description: "The runner, and its token (shown this once)",
      content: {
        "application/json": {
          schema: RunnerSchema.extend({
            token: z.string().openapi({ example: `sbr_${"0".repeat(64)}` }),
          }).openapi("NewRunner"),
        },
      },
    },
    ...openApiErrorResponses,
  },
});

export const listRunners = createRoute({
  method: "get",
  path: "/api/admin/runners",
  tags: ["Admin"],
  summary: "Every runner with its status and throughput (admins only)",
  middleware: [requireAdmin()] as const,
  security: API_KEY_SECURITY,
  responses: {
    200: {
      description: "Runners, newest first, revoked ones included",
      content: { "application/json": { schema: z.object({ results: z.array(RunnerSchema) }) } },
    },
    ...openApiErrorResponses,
  },
});

export const revokeRunner = createRoute({
  method: "delete",
  path: "/api/admin/runners/{id}",
  tags: ["Admin"],
  summary: "Revoke a runner's token (admins only)",
  description:
    "Its next claim or event is refused with 401, and the units it holds go back to pending at once. " +
    "A container runner is stopped; the platform starts it again with a new token when work waits.",
  middleware: [requireAdmin()] as const,
  security: API_KEY_SECURITY,
  request: { params },
  responses: {
    204: { description: "Revoked (also when it was already)" },
    ...openApiErrorResponses,
  },
});
