import { createRoute, z } from "@hono/zod-openapi";
import { and, count, eq, gt, inArray, sql } from "drizzle-orm";
import { JOB_STATUSES, jobs, users, VIDEO_STATUSES, videos } from "../../db/schema";
import { API_KEY_SECURITY, currentUser, requireUser } from "../../lib/auth";
import { createRouter } from "../../lib/create-app";
import { ApiError, openApiErrorResponses } from "../../lib/errors";

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

export const adminRouter = createRouter().openapi(stats, async (c) => {
  const user = currentUser(c);
  const admins = c.var.settings.adminUsernames.map((u) => u.toLowerCase());
  if (!user.isAdmin && !admins.includes(user.username.toLowerCase())) {
    throw new ApiError("forbidden", "Only admins may see platform statistics");
  }
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
