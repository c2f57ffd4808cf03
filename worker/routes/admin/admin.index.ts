import { createRoute, z } from "@hono/zod-openapi";
import { and, count, eq, gt, inArray, sql } from "drizzle-orm";
import type { Context } from "hono";
import { createRouter } from "../../app/create-app";
import { ApiError, openApiErrorResponses } from "../../app/errors";
import { API_KEY_SECURITY } from "../../app/openapi";
import type { AppEnv } from "../../app/types";
import { currentUser } from "../../auth/authenticate";
import { JOB_STATUSES, jobs, users, VIDEO_STATUSES, videos } from "../../db/schema";
import { requireUser } from "../../middleware/auth";
import { sourceKey } from "../../transcode/jobs";

const StatsSchema = z
  .object({
    videos: z.record(z.string(), z.number().int()),
    jobs: z.record(z.string(), z.number().int()),
    queue_depth: z.number().int().openapi({ description: "Jobs waiting for or holding a transcoder" }),
    failures_last_day: z.object({ jobs: z.number().int(), videos: z.number().int() }),
    users: z.number().int(),
    stored_source_bytes: z.number().int(),
  })
  .openapi("AdminStats");

const stats = createRoute({
  method: "get",
  path: "/api/admin/stats",
  tags: ["Admin"],
  summary: "Platform statistics (admins only)",
  description: "Admins are users marked `is_admin`, or named in the ADMIN_USERNAMES setting.",
  middleware: [requireUser()] as const,
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

const storage = createRoute({
  method: "get",
  path: "/api/admin/videos/{id}/storage",
  tags: ["Admin"],
  summary: "Every stored object of a video, existing or deleted (admins only)",
  description: "The original, every output version and any held-back upload bytes: for finding orphans.",
  middleware: [requireUser()] as const,
  security: API_KEY_SECURITY,
  request: { params: z.object({ id: z.string().regex(/^[A-Za-z0-9-]{1,64}$/) }) },
  responses: {
    200: { description: "Objects", content: { "application/json": { schema: StorageSchema } } },
    ...openApiErrorResponses,
  },
});

function requireAdmin(c: Context<AppEnv>) {
  const user = currentUser(c);
  const admins = c.var.settings.adminUsernames.map((u) => u.toLowerCase());
  if (!user.isAdmin && !admins.includes(user.username.toLowerCase())) {
    throw new ApiError("forbidden", "Only admins may do this");
  }
}

export const adminRouter = createRouter();

adminRouter.openapi(storage, async (c) => {
  requireAdmin(c);
  const { id } = c.req.valid("param");
  const objects: { key: string; size: number }[] = [];
  for (const prefix of [sourceKey(id), `videos/${id}/`, `uploads/${id}/`]) {
    let cursor: string | undefined;
    do {
      const page = await c.env.MEDIA.list({ prefix, cursor, limit: 1000 });
      for (const o of page.objects)
        if (prefix.endsWith("/") || o.key === prefix) objects.push({ key: o.key, size: o.size });
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
  }
  return c.json({ video_id: id, objects, bytes: objects.reduce((n, o) => n + o.size, 0) }, 200);
});

adminRouter.openapi(stats, async (c) => {
  requireAdmin(c);
  const db = c.var.db;
  const dayAgo = new Date(Date.now() - 86_400_000);
  const [byStatus, jobsByStatus, failedJobs, failedVideos, userCount, bytes] = await Promise.all([
    db.select({ status: videos.status, n: count() }).from(videos).groupBy(videos.status).all(),
    db.select({ status: jobs.status, n: count() }).from(jobs).groupBy(jobs.status).all(),
    db
      .select({ n: count() })
      .from(jobs)
      .where(and(eq(jobs.status, "failed"), gt(jobs.updatedAt, dayAgo)))
      .get(),
    db
      .select({ n: count() })
      .from(videos)
      .where(and(eq(videos.status, "failed"), gt(videos.updatedAt, dayAgo)))
      .get(),
    db.select({ n: count() }).from(users).get(),
    db
      .select({ n: sql<number>`coalesce(sum(${videos.size}), 0)` })
      .from(videos)
      .get(),
  ]);
  const tally = <T extends string>(names: readonly T[], rows: { status: string; n: number }[]) =>
    Object.fromEntries(names.map((name) => [name, rows.find((r) => r.status === name)?.n ?? 0])) as Record<T, number>;
  const jobTally = tally(JOB_STATUSES, jobsByStatus);
  const depth = await db
    .select({ n: count() })
    .from(jobs)
    .where(inArray(jobs.status, ["queued", "dispatched", "running"]))
    .get();
  return c.json(
    {
      videos: tally(VIDEO_STATUSES, byStatus),
      jobs: jobTally,
      queue_depth: depth?.n ?? 0,
      failures_last_day: { jobs: failedJobs?.n ?? 0, videos: failedVideos?.n ?? 0 },
      users: userCount?.n ?? 0,
      stored_source_bytes: Number(bytes?.n ?? 0),
    },
    200,
  );
});
